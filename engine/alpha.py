"""durable_rules' alpha network, as it will be built from a ruleset's patterns, kept within its fixed limits.

durable_rules 2.0.28 turns the fact patterns of a ruleset into one tree of alpha nodes
(src/rules/rete.c, createAlpha and findAlpha): each condition of a pattern's `$and` is a node
under the previous one, and identical conditions under one node are one node; an `$or` makes
a node per alternative under the current node, all leading on to one new node. Its limits are
compiled in, and a ruleset that passes one fails in ways a user cannot act on:

- while one fact is matched (src/rules/events.c, handleAlpha), every node it passes puts the
  children it also passes on a stack of 64 (MAX_STACK_SIZE); one more and the whole assert fails
  with error 303. That happens while households are checked, on whichever household passes the
  most conditions at once: seventy rules "成员.年龄 > n" in one ruleset fail on anyone over seventy;
- one node takes at most 256 patterns ending at it (BETA_LIST_LENGTH, error 108 at registration),
  128 `$nex` children (NEXT_LIST_LENGTH, error 107) and 512 other children (NEXT_BUCKET_LENGTH);
- one ruleset takes at most 4096 rules (MAX_ACTIONS);
- one fact pattern keeps at most 31 entries in its expression sequence (rete.h
  MAX_SEQUENCE_EXPRESSIONS, error 113 at registration): two for each `$and` and `$or`, and one for each
  comparison with a value of another fact. A rule comparing forty fields of a member with the
  household's is refused with a message that says so, instead of failing when it is registered;
- one match joins at most 16 facts (state.h MAX_MESSAGE_FRAMES; negated patterns add none): a rule
  with seventeen 存在 clauses failed with error 304 on every household that had the records.

`AlphaNetwork` builds the same tree from the definitions dangka gives durable_rules and bounds
the stack for any fact: along a path of nodes a fact passes, each node adds at most the
children the fact can pass at once, where children testing one field for equality with
different values count once (a field has one value). The planner (compile.plan_rulesets) cuts
the rules into rulesets that keep every bound with a margin, so no household can hit them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

ALPHA_STACK = 64           # events.c MAX_STACK_SIZE
PATTERNS_PER_NODE = 256    # rete.c BETA_LIST_LENGTH
ABSENCE_TESTS_PER_NODE = 128  # rete.c NEXT_LIST_LENGTH ($nex children)
CHILDREN_PER_NODE = 512    # rete.c NEXT_BUCKET_LENGTH
RULES_PER_RULESET = 4096   # rete.c MAX_ACTIONS
EXPRESSIONS_PER_PATTERN = 32  # rete.h MAX_SEQUENCE_EXPRESSIONS (the 32nd entry already fails)
FACTS_PER_MATCH = 16       # state.h MAX_MESSAGE_FRAMES

# What dangka allows itself: a margin below each limit. The stack's margin also covers the root and
# the observer rule every ruleset gets (engine/run.py), which adds one child to each fact type's node.
STACK_LIMIT = ALPHA_STACK - 8
PATTERN_LIMIT = PATTERNS_PER_NODE - 16
ABSENCE_LIMIT = ABSENCE_TESTS_PER_NODE - 8
CHILD_LIMIT = CHILDREN_PER_NODE - 32
EXPRESSION_LIMIT = EXPRESSIONS_PER_PATTERN - 1
RULE_LIMIT = RULES_PER_RULESET // 4   # rulesets of more than a few hundred rules have not been tried

_OPERATORS = {"$lt", "$lte", "$gt", "$gte", "$neq", "$ex", "$nex", "$mt", "$imt", "$iall", "$iany"}


@dataclass(eq=False)
class _Node:
    children: dict[tuple, "_Node"] = field(default_factory=dict)
    patterns: int = 0    # patterns (rule parts) ending here: durable_rules' beta list


def _literal(value: object) -> bool:
    return not isinstance(value, (dict, list))


def _child_key(condition: dict) -> tuple:
    """How findAlpha tells children apart: field, operator and value; a value read from another
    fact or computed is kept apart from every other (counting it twice can only over-count)."""
    (key, value), = condition.items()
    if key in _OPERATORS:
        (name, operand), = value.items()
        operator = key
    else:
        name, operand, operator = key, value, "=="
    if not _literal(operand):
        return (operator, name, "ref", id(condition))
    return (operator, name, json.dumps(operand, sort_keys=True))


class AlphaNetwork:
    """The alpha tree of one ruleset, grown rule by rule; a rule that would break a limit is taken back."""

    def __init__(self) -> None:
        self.root = _Node()
        self.rules = 0
        self._log: list[tuple[_Node, tuple | None]] = []   # (parent, key of a new child) or (node, None): a pattern
        self._depth: dict[int, int] = {}   # id of a node under the root → deepest stack from it

    def add(self, definitions: list[dict]) -> list[str]:
        """Add one rule's durable_rules definitions; the limits they break, in Chinese (nothing is kept then)."""
        mark = len(self._log)
        tops = []
        longest = joined = 0
        for definition in definitions:
            joined = max(joined, sum(1 for part in definition["all"] if not next(iter(part)).endswith("$not")))
            for part in definition["all"]:
                (_alias, condition), = part.items()
                top, end = self._pattern(condition)
                self._end(end)
                tops.append(top)
                longest = max(longest, _expressions(condition))
        self.rules += len(definitions)
        self._forget(tops)
        problems = self._problems(self._log[mark:])
        if joined > FACTS_PER_MATCH:
            problems.append(f"一次匹配要连接 {joined} 条记录，超过 {FACTS_PER_MATCH}")
        if longest > EXPRESSION_LIMIT:
            problems.append(f"一个模式中与其他记录的比较和组合共 {longest} 项，超过 {EXPRESSION_LIMIT}")
        if problems:
            self._undo(mark)
            self.rules -= len(definitions)
            self._forget(tops)
        return problems

    def _pattern(self, condition: dict) -> tuple[_Node | None, _Node]:
        """Insert one fact pattern: (the node directly under the root it passes, or None if several; its end)."""
        (key, value), = condition.items()
        items = value if key == "$and" else [condition]
        node = self._insert(self.root, items[0])
        top = node if next(iter(items[0])) not in ("$and", "$or") else None
        for item in items[1:]:
            node = self._insert(node, item)
        return top, node

    def _forget(self, tops: list[_Node | None]) -> None:
        """Drop the measured depths the change may have made wrong: below the nodes under the root it went through."""
        if any(top is None for top in tops):
            self._depth.clear()
        for top in tops:
            if top is not None:
                self._depth.pop(id(top), None)

    # -- building, as rete.c does --
    def _insert(self, node: _Node, condition: dict) -> _Node:
        (key, value), = condition.items()
        if key == "$and":
            for item in value:
                node = self._insert(node, item)
            return node
        if key == "$or":
            # rete.c links the $or's forward node below each alternative's end, once per alternative:
            # an alternative written twice shares its end node and links the forward node twice.
            onward = _Node()
            for number, alternative in enumerate(value):
                end = self._insert(node, alternative)
                self._child(end, ("onward", id(onward), number), onward)
            return onward
        return self._child(node, _child_key(condition), None)

    def _child(self, parent: _Node, key: tuple, node: _Node | None) -> _Node:
        found = parent.children.get(key)
        if found is None:
            found = parent.children[key] = node if node is not None else _Node()
            self._log.append((parent, key))
        return found

    def _end(self, node: _Node) -> None:
        node.patterns += 1
        self._log.append((node, None))

    def _undo(self, mark: int) -> None:
        while len(self._log) > mark:
            node, key = self._log.pop()
            if key is None:
                node.patterns -= 1
            else:
                del node.children[key]

    # -- the limits --
    def stack(self) -> int:
        """The most alpha nodes any one fact can leave waiting on durable_rules' stack."""
        return _passable(self.root) + max((self._deepest(child) for child in self.root.children.values()), default=0)

    def _deepest(self, top: _Node) -> int:
        found = self._depth.get(id(top))
        if found is None:
            found = self._depth[id(top)] = _deepest_below(top)
        return found

    def _problems(self, changes: list[tuple[_Node, tuple | None]]) -> list[str]:
        problems = []
        if self.rules > RULE_LIMIT:
            problems.append(f"一个规则集 {self.rules} 条，超过 {RULE_LIMIT}")
        for node in {id(node): node for node, _key in changes}.values():
            absence = sum(1 for key in node.children if key[0] == "$nex")
            if node.patterns > PATTERN_LIMIT:
                problems.append(f"同一条件后接 {node.patterns} 个模式，超过 {PATTERN_LIMIT}")
            if absence > ABSENCE_LIMIT:
                problems.append(f"同一条件后接 {absence} 个“为空”判断，超过 {ABSENCE_LIMIT}")
            if len(node.children) - absence > CHILD_LIMIT:
                problems.append(f"同一条件后接 {len(node.children) - absence} 个条件，超过 {CHILD_LIMIT}")
        stack = self.stack()
        if stack > STACK_LIMIT:
            problems.append(f"一条记录可能同时满足 {stack} 层条件，超过 {STACK_LIMIT}")
        return problems


def _deepest_below(top: _Node) -> int:
    """The most nodes one fact can leave on the stack from `top` down. Walked with a list, not by
    recursion: a rule of hundreds of conditions joined by 并且 is a chain deeper than Python recurses."""
    memo: dict[int, int] = {}
    waiting = [top]
    while waiting:
        node = waiting[-1]
        if id(node) in memo:
            waiting.pop()
            continue
        children = node.children.values()
        unknown = [child for child in children if id(child) not in memo]
        if unknown:
            waiting.extend(unknown)
            continue
        waiting.pop()
        memo[id(node)] = _passable(node) + max((memo[id(child)] for child in children), default=0)
    return memo[id(top)]


def _expressions(condition: dict) -> int:
    """Entries of the pattern's expression sequence in durable_rules: 2 per $and and $or, 1 per comparison
    with another fact's value (rete.c createAlpha and findAlpha)."""
    (key, value), = condition.items()
    if key in ("$and", "$or"):
        return 2 + sum(_expressions(item) for item in value)
    return 0 if _child_key(condition)[2] != "ref" else 1


def _passable(node: _Node) -> int:
    """How many children one fact can pass at once: equality tests of one field with constants count once."""
    fields_tested_for_equality = set()
    count = 0
    for key in node.children:
        if key[0] == "==" and key[2] != "ref":
            fields_tested_for_equality.add(key[1])
        else:
            count += 1
    return count + len(fields_tested_for_equality)
