"""Checked rules → durable_rules ruleset definitions, plus the slots the evaluator fills in facts.

Each rule becomes one durable_rules rule per disjunct of its condition (in disjunctive normal
form, so a disjunct only joins the records it reads). A comparison the engine can do itself (a
field against a value, a field of another joined record, a policy value, arithmetic on those)
becomes part of a fact pattern; a quantifier becomes a join (存在) or a negated pattern (没有/所有).
What durable_rules cannot express (counts, sums, policy-table look-ups, built-in functions) becomes
a *slot*: a boolean the evaluator computes once per household (or per record) and puts on a fact,
which the pattern then tests. Missing values follow three-valued logic: a positive pattern needs
the value present; inside a negated pattern a missing value counts as "might match", so a rule
never fires on a guess.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import itertools
import json
from dataclasses import dataclass, field

from dangka import contract
from dangka.dsl import ast
from dangka.dsl.check import DERIVED, HOUSEHOLD, POLICY
from dangka.engine.alpha import AlphaNetwork

GO = "_go"
DERIVED_FACT = "_derived"
MAX_DISJUNCTS = 32
# durable_rules keeps at most 255 keys of a fact (src/rules/state.h MAX_OBJECT_PROPERTIES); a fact
# type's keys in one ruleset stay well below that, with room for id, t and sid. The other limits of a
# ruleset are its alpha network's (engine/alpha.py).
MAX_FACT_FIELDS = 200

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_DURABLE_OP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_DURABLE_ARITH = {"+": "$add", "-": "$sub", "*": "$mul", "/": "$div"}


class CompileError(Exception):
    """A rule the engine cannot run as written; reported by lint like any rule error."""

    def __init__(self, message_zh: str, message_en: str, span: ast.Span):
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en
        self.span = span


@dataclass(frozen=True)
class Slot:
    """A boolean the evaluator computes before the facts go to the engine."""

    name: str            # fact key, e.g. "_s12"
    anchor: str | None   # entity key whose records carry it; None: the household fact
    expr: ast.Node


@dataclass
class CompiledRule:
    rule: ast.Rule
    index: int
    stratum: int
    definitions: list[dict]            # one durable_rules rule (without "run") per disjunct
    slots: list[Slot]
    fields: dict[str, set[str]]        # fact type → keys its patterns read
    derived_reads: set[str]
    ruleset: int = 0


# A fact key that is no field of the record starts with a prefix saying where its value comes from.
_POLICY_PREFIX, _FIRST_PREFIX, _SLOT_PREFIX, _FILLED_PREFIX = "_p_", "_f_", "_s", "_e_"
POLICY_VALUE, FIRST_OF_VIEW, SLOT_VALUE, RECORD_VALUE = "policy", "first", "slot", "record"
FILLED_FLAG = "filled"


def policy_key(parameter: str) -> str:
    """The fact key of a policy parameter's value, carried by the household fact."""
    return _POLICY_PREFIX + parameter


def first_flag(view: str) -> str:
    """The fact key that marks the first record of a view (a single read from many records)."""
    return _FIRST_PREFIX + view


def filled_flag(field_key: str) -> str:
    """The fact key that marks a field as filled in (不为空), for rules that test only that: it has a value,
    or one was written that could not be read (Record.unreadable), which has no value yet is not 为空.
    One key keeps 为空 one condition of durable_rules' network, as a test of the value itself was."""
    return _FILLED_PREFIX + field_key


def key_source(key: str) -> tuple[str, str]:
    """Where a fact key's value comes from, as (kind, name): (POLICY_VALUE, parameter),
    (FIRST_OF_VIEW, view), (SLOT_VALUE, slot name), (FILLED_FLAG, field) or (RECORD_VALUE, field)."""
    if key.startswith(_POLICY_PREFIX):
        return POLICY_VALUE, key[len(_POLICY_PREFIX):]
    if key.startswith(_FIRST_PREFIX):
        return FIRST_OF_VIEW, key[len(_FIRST_PREFIX):]
    if key.startswith(_FILLED_PREFIX):
        return FILLED_FLAG, key[len(_FILLED_PREFIX):]
    if key.startswith(_SLOT_PREFIX):
        return SLOT_VALUE, key
    return RECORD_VALUE, key


def fact_value(value: object) -> object:
    """A value as durable_rules sees it: dates become day numbers so that arithmetic works."""
    if isinstance(value, _dt.date):
        return value.toordinal()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value)
    return value


# ---- negation normal form and disjunctive normal form -----------------------------------------


def push_not(node: ast.Node, negate: bool = False) -> ast.Node:
    """Negation normal form: 并非 moves inward until it rests on a derived fact or a slot."""
    if isinstance(node, ast.Not):
        return push_not(node.operand, not negate)
    if isinstance(node, (ast.And, ast.Or)):
        items = tuple(push_not(item, negate) for item in node.items)
        flip = isinstance(node, ast.And) == negate
        return ast.Or(items, node.span) if flip else ast.And(items, node.span)
    if isinstance(node, ast.Quantifier):
        kind = node.kind
        where = node.where
        if kind == "all":
            kind, where = "none", ast.Not(where, where.span)
        if negate:
            kind = "none" if kind == "any" else "any"
        return dataclasses.replace(node, kind=kind, where=push_not(where))
    if not negate:
        return node
    if isinstance(node, ast.Compare):
        return dataclasses.replace(node, op=_NEGATE[node.op])
    if isinstance(node, ast.MemberOf):
        return dataclasses.replace(node, negated=not node.negated)
    if isinstance(node, ast.IsEmpty):
        return dataclasses.replace(node, negated=not node.negated)
    if isinstance(node, ast.Literal):
        return dataclasses.replace(node, value=not node.value)
    if isinstance(node, ast.Path) and node.entity not in (DERIVED, None):
        return ast.Compare("==", node, ast.Literal(False, node.span), node.span)
    return ast.Not(node, node.span)


def disjuncts(node: ast.Node) -> list[list[ast.Node]]:
    """The top level of a condition as a list of conjunctions (quantifier bodies are not expanded)."""
    if isinstance(node, ast.And):
        result = [[]]
        for item in node.items:
            result = [left + right for left, right in itertools.product(result, disjuncts(item))]
            if len(result) > MAX_DISJUNCTS:
                raise CompileError(f"条件展开后超过 {MAX_DISJUNCTS} 种情形，请拆成几条规则",
                                   f"the condition expands to more than {MAX_DISJUNCTS} cases: split the rule",
                                   node.span)
        return result
    if isinstance(node, ast.Or):
        return [conj for item in node.items for conj in disjuncts(item)]
    return [[node]]


# ---- one disjunct → one durable_rules rule --------------------------------------------------


class _Pattern:
    """The facts one durable_rules rule joins, in order, each with its conditions."""

    def __init__(self, compiler: "_RuleCompiler"):
        self.compiler = compiler
        self.order: list[str] = []                 # alias names in join order
        self.type_of: dict[str, str] = {}          # alias → fact type
        self.conditions: dict[str, list[dict]] = {}
        self.negated: list[tuple[str, dict]] = []  # (name, pattern) for none(...)
        self.alias_of: dict[str, str] = {}         # entity key (as written) → alias
        # The records the rule's patterns stand for, as (entity key, positive): see _RuleCompiler.clashes.
        self.records: list[tuple[str, bool]] = []

    def add(self, alias: str, fact_type: str, conditions: list[dict]) -> str:
        # A joined record must reach the ruleset even when no field of it is read.
        self.compiler.fields.setdefault(fact_type, set())
        self.order.append(alias)
        self.type_of[alias] = fact_type
        self.conditions[alias] = [{"t": fact_type}] + conditions
        return alias

    def definitions(self) -> list[dict]:
        """The durable_rules rules of this join: more than one when a disjunction reads another record.

        durable_rules 2.0.28 fails (error 311) on an $or that compares with a field of another
        joined fact when the compared field is absent, and misjudges other $or in such patterns;
        their disjunctions are split instead: into one rule per alternative for a joined fact,
        and into one negated pattern per alternative for a none(...), since "none of (A or B)" is
        "none of A and none of B".
        """
        aliases = set(self.order) | {name for name, _ in self.negated}
        choices = []
        for alias in self.order:
            conditions = self.conditions[alias]
            condition = flatten(conditions[0] if len(conditions) == 1 else {"$and": conditions})
            choices.append([(alias, _conjunction(alternative)) for alternative in _alternatives(condition, aliases)])
        negated = []
        for name, pattern in self.negated:
            for number, alternative in enumerate(_alternatives(flatten(pattern), aliases)):
                negated.append({f"{name}_{number}$not": _conjunction(alternative)})
        # A rule that needs every fact of the household in place waits for the fact that starts its
        # stratum (it comes last in a batch): one with a negated pattern (durable_rules does not
        # take back a match when a fact that negates it arrives later in the same batch) and one of
        # a later stratum (it must see every derived fact). Every other rule matches as the facts
        # arrive: with the start fact first in every rule, durable_rules took about a quarter longer.
        stratum = self.compiler.stratum
        start = [{GO: {"$and": [{"t": GO}, {"k": stratum}]}}] if stratum or negated else []
        if _count(choices) > MAX_DISJUNCTS:
            raise CompileError(f"条件展开后超过 {MAX_DISJUNCTS} 种情形，请拆成几条规则",
                                   f"the condition expands to more than {MAX_DISJUNCTS} cases: split the rule",
                                   self.compiler.rule.span)
        return [{"all": start + [{alias: condition} for alias, condition in combination] + negated}
                for combination in itertools.product(*choices)]


def _count(choices: list[list]) -> int:
    total = 1
    for choice in choices:
        total *= len(choice)
    return total


def _refers(condition: object, aliases: set[str]) -> bool:
    """Whether a condition compares with a field of another joined fact."""
    if isinstance(condition, dict):
        if len(condition) == 1:
            (key, value), = condition.items()
            if key in aliases and isinstance(value, str):
                return True
        return any(_refers(value, aliases) for value in condition.values())
    if isinstance(condition, list):
        return any(_refers(item, aliases) for item in condition)
    return False


def _alternatives(condition: dict, aliases: set[str]) -> list[list[dict]]:
    """The condition as alternatives (each a list of conditions all to hold).

    A pattern that compares with another fact keeps no $or at all: durable_rules 2.0.28 misjudges
    such patterns when an $or stands in them, even an $or of plain values ("health in {…} and
    age < policy + 7" matched a 16-year-old). Patterns of one fact alone keep their $or.
    """
    return _split(condition, _refers(condition, aliases))


def _split(condition: dict, split_all: bool) -> list[list[dict]]:
    if isinstance(condition, dict) and len(condition) == 1:
        (key, value), = condition.items()
        if key == "$and":
            result = [[]]
            for item in value:
                result = [left + right for left in result for right in _split(item, split_all)]
            return result
        if key == "$or" and split_all:
            return [alternative for item in value for alternative in _split(item, split_all)]
    return [[condition]]


def _conjunction(conditions: list[dict]) -> dict:
    return conditions[0] if len(conditions) == 1 else flatten({"$and": conditions})


def flatten(condition: dict) -> dict:
    """Splice $or into $or and $and into $and.

    durable_rules 2.0.28 evaluates an $or nested directly in another $or wrongly (it matched a
    member of age 50 against "age > 60 or labour in {...}"); a flat list means the same and is
    evaluated right. tests/test_compile.py pins this.
    """
    if not isinstance(condition, dict) or len(condition) != 1:
        return condition
    (key, value), = condition.items()
    if key not in ("$and", "$or"):
        return condition
    items = []
    for item in value:
        item = flatten(item)
        if isinstance(item, dict) and len(item) == 1 and key in item:
            items.extend(item[key])
        else:
            items.append(item)
    # The same condition twice means it once; in an $or, durable_rules would pass a fact through it twice.
    unique: dict[str, dict] = {}
    for item in items:
        unique.setdefault(json.dumps(item, sort_keys=True, default=str), item)
    return {key: list(unique.values())}


class SlotNames:
    """Names of the slots of one knowledge base: the same condition on the same records is one slot.

    Syntax nodes compare without their spans, so a condition written in several rules (or twice in
    one) is computed once per household and carried once per fact.
    """

    def __init__(self) -> None:
        self._names: dict[tuple[ast.Node, str | None], str] = {}

    def name(self, node: ast.Node, anchor: str | None) -> str:
        return self._names.setdefault((node, anchor), f"{_SLOT_PREFIX}{len(self._names)}")


class _NeedsSlot(Exception):
    """Raised inside a quantifier body whose atom reads two collections at once."""


class _RuleCompiler:
    def __init__(self, rule: ast.Rule, index: int, stratum: int, slot_names: SlotNames):
        self.rule = rule
        self.index = index
        self.stratum = stratum
        self.slot_names = slot_names
        self.slots: list[Slot] = []
        self.fields: dict[str, set[str]] = {}
        self.derived_reads: set[str] = set()

    # -- bookkeeping --
    def use(self, fact_type: str, key: str) -> None:
        self.fields.setdefault(fact_type, set()).add(key)

    def fact_type(self, entity_key: str) -> str:
        entity = contract.ENTITIES[entity_key]
        return entity.base or entity.key

    def filter_conditions(self, entity_key: str, single: bool) -> list[dict]:
        entity = contract.ENTITIES[entity_key]
        conditions = []
        if entity.filter is not None:
            key, word = entity.filter
            self.use(entity.base, key)
            conditions.append({key: word})
            if single:
                self.use(entity.base, first_flag(entity_key))
                conditions.append({first_flag(entity_key): True})
        return conditions

    # -- the rule --
    def compile(self) -> CompiledRule:
        condition = push_not(self.rule.condition)
        definitions = []
        for conjunction in disjuncts(condition):
            if any(isinstance(item, ast.Literal) and item.value is False for item in conjunction):
                continue
            definitions.extend(self.conjunction(conjunction))
        return CompiledRule(self.rule, self.index, self.stratum, definitions, self.slots, self.fields,
                            self.derived_reads)

    def conjunction(self, items: list[ast.Node]) -> list[dict]:
        pattern = _Pattern(self)
        household = pattern.add("h", HOUSEHOLD, self.applicability())
        pattern.alias_of[HOUSEHOLD] = household
        scope = self.rule.scope_entity
        if scope:
            pattern.alias_of[scope] = pattern.add("s", self.fact_type(scope), self.filter_conditions(scope, single=False))
            pattern.records.append((scope, True))
        for entity_key in self.singles(items):
            # A single record that could be the scope's record is read through slots instead of a join.
            if entity_key not in pattern.alias_of and not self.clashes(pattern, entity_key, positive=True):
                alias = pattern.add(f"e{len(pattern.order)}", self.fact_type(entity_key),
                                    self.filter_conditions(entity_key, single=True))
                pattern.alias_of[entity_key] = alias
                pattern.records.append((entity_key, True))
        for item in items:
            self.literal(pattern, item)
        return pattern.definitions()

    def applicability(self) -> list[dict]:
        conditions = []
        if self.rule.years:
            start, end = self.rule.years
            self.use(HOUSEHOLD, "year")
            if start is not None:
                conditions.append({"$gte": {"year": start}})
            if end is not None:
                conditions.append({"$lte": {"year": end}})
        if self.rule.regions:
            self.use(HOUSEHOLD, "province")
            self.use(HOUSEHOLD, "county")
            conditions.append({"$or": [{key: region} for region in self.rule.regions
                                       for key in ("province", "county")]})
        return conditions

    def singles(self, items: list[ast.Node]) -> list[str]:
        """Single records the conjunction reads (apart from emptiness tests), in order of mention."""
        found: list[str] = []
        bound = {self.rule.scope_entity}
        for item in items:
            self._singles(item, bound, found, top=True)
        return found

    def _singles(self, node: ast.Node, bound: set, found: list, top: bool) -> None:
        if isinstance(node, ast.IsEmpty) and not node.negated and top:
            return  # a top-level emptiness test does not need the record to exist
        if isinstance(node, ast.Path):
            entity = node.entity
            if entity and entity not in (POLICY, DERIVED, HOUSEHOLD) and entity not in bound \
                    and not _is_collection(entity) and entity not in found:
                found.append(entity)
            return
        if isinstance(node, (ast.Quantifier, ast.Count, ast.Sum)):
            bound = bound | {node.entity}
            top = False
        for child in ast.children(node):
            self._singles(child, bound, found, top and isinstance(node, (ast.And,)))

    # -- literals of a conjunction --
    def literal(self, pattern: _Pattern, node: ast.Node) -> None:
        if isinstance(node, ast.Literal):
            return  # a literal 是 adds nothing; 否 dropped the disjunct already
        if isinstance(node, ast.Path) and node.entity == DERIVED:
            self.derived_reads.add(node.field)
            pattern.add(f"d{len(pattern.order)}", DERIVED_FACT, [{"name": node.field}])
            return
        if isinstance(node, ast.Not) and isinstance(node.operand, ast.Path) and node.operand.entity == DERIVED:
            self.derived_reads.add(node.operand.field)
            pattern.negated.append((f"n{len(pattern.negated)}", {"$and": [{"t": DERIVED_FACT},
                                                                         {"name": node.operand.field}]}))
            return
        if isinstance(node, ast.IsEmpty) and not node.negated and node.operand.entity not in pattern.alias_of \
                and node.operand.entity != self.rule.scope_entity \
                and not self.clashes(pattern, node.operand.entity, positive=False):
            self.absent_single(pattern, node.operand)
            pattern.records.append((node.operand.entity, False))
            return
        if isinstance(node, ast.Quantifier):
            self.quantifier(pattern, node)
            return
        alias, condition = self.atom(pattern, node, possibly=False)
        pattern.conditions[alias].append(condition)

    def absent_single(self, pattern: _Pattern, path: ast.Path) -> None:
        """X.f 为空 on a single record not otherwise joined: no such record has the field filled."""
        fact_type = self.fact_type(path.entity)
        self.use(fact_type, filled_flag(path.field))
        conditions = [{"t": fact_type}] + self.filter_conditions(path.entity, single=True) + \
            [{"$ex": {filled_flag(path.field): 1}}]
        pattern.negated.append((f"n{len(pattern.negated)}", {"$and": conditions}))

    def clashes(self, pattern: _Pattern, entity_key: str, positive: bool) -> bool:
        """Whether a pattern for this entity could meet a record another pattern of the rule already stands for.

        durable_rules binds a fact to at most one pattern of a rule, and leaves the facts a match has
        bound out of its negated patterns (tests/test_compile.py pins both): "存在 成员 满足 (A) 并且
        存在 成员 满足 (B)" would miss a member who is both, "存在 成员 满足 (A) 并且 没有 成员 满足 (B)"
        would overlook the member the first found, and "对每个 成员 … 户主.年龄" would never pair the
        head with himself. Such a pattern is computed by the evaluator as a slot instead. Records of
        one kind that filters keep apart (村级公示 and 乡级公示) cannot be the same record: they join.
        Two negated patterns never clash: neither binds a fact.
        """
        fact_type = self.fact_type(entity_key)
        return any(self.fact_type(other) == fact_type and (positive or other_positive)
                   and not _exclusive(entity_key, other)
                   for other, other_positive in pattern.records)

    def quantifier(self, pattern: _Pattern, node: ast.Quantifier) -> None:
        fact_type = self.fact_type(node.entity)
        if self.clashes(pattern, node.entity, positive=node.kind == "any"):
            alias, condition = self.slot_condition(pattern, node, possibly=False)
            pattern.conditions[alias].append(condition)
            return
        conditions = self.filter_conditions(node.entity, single=False)
        name = f"q{len(pattern.order) + len(pattern.negated)}"
        saved = dict(pattern.alias_of)
        pattern.alias_of[node.entity] = name
        try:
            body = self.body(pattern, node.where, name, possibly=node.kind == "none")
        except _NeedsSlot:
            pattern.alias_of = saved
            alias, condition = self.slot_condition(pattern, node, possibly=False)
            pattern.conditions[alias].append(condition)
            return
        finally:
            if node.entity in saved:
                pattern.alias_of[node.entity] = saved[node.entity]
            else:
                pattern.alias_of.pop(node.entity, None)
        self.fields.setdefault(fact_type, set())
        pattern.records.append((node.entity, node.kind == "any"))
        if node.kind == "any":
            pattern.order.append(name)
            pattern.type_of[name] = fact_type
            pattern.conditions[name] = [{"t": fact_type}] + conditions + [body]
        else:
            pattern.negated.append((name, {"$and": [{"t": fact_type}] + conditions + [body]}))

    def body(self, pattern: _Pattern, node: ast.Node, alias: str, possibly: bool) -> dict:
        """A quantifier's condition as one fact pattern of the quantified record."""
        if isinstance(node, (ast.And, ast.Or)):
            key = "$and" if isinstance(node, ast.And) else "$or"
            return {key: [self.body(pattern, item, alias, possibly) for item in node.items]}
        if isinstance(node, ast.Literal):
            return {"$ex": {"t": 1}} if node.value else {"t": "_never"}
        where, condition = self.atom(pattern, node, possibly, inside=alias)
        if where != alias:
            raise _NeedsSlot()
        return condition

    # -- atoms --
    def atom(self, pattern: _Pattern, node: ast.Node, possibly: bool, inside: str | None = None) -> tuple[str, dict]:
        """(alias, condition) for one comparison-like node; a slot when the engine cannot do it."""
        native = self.native(pattern, node, possibly, inside)
        if native is not None:
            return native
        return self.slot_condition(pattern, node, possibly, inside)

    def native(self, pattern, node, possibly, inside):
        if isinstance(node, ast.Compare):
            return self.compare(pattern, node, possibly, inside)
        if isinstance(node, ast.MemberOf) and isinstance(node.collection, ast.SetLiteral) and node.collection.items \
                and all(isinstance(item, ast.Literal) for item in node.collection.items) \
                and self.joined(pattern, node.item):
            alias, key = self.subject(pattern, node.item)
            if inside is not None and alias != inside:
                return None
            # A set names each word once; written twice, it would make durable_rules pass a fact
            # through the same $or twice (engine/alpha.py).
            words = list(dict.fromkeys(fact_value(item.value) for item in node.collection.items))
            if node.negated:
                condition = {"$and": [{"$neq": {key: word}} for word in words]}
            else:
                condition = {"$or": [{key: word} for word in words]}
            return alias, self.maybe(condition, [key], possibly)
        if isinstance(node, ast.IsEmpty) and self.joined(pattern, node.operand):
            alias = pattern.alias_of[node.operand.entity]
            if inside is not None and alias != inside:
                return None
            flag = filled_flag(node.operand.field)
            self.use(pattern.type_of.get(alias) or self.fact_type(node.operand.entity), flag)
            return alias, {"$ex" if node.negated else "$nex": {flag: 1}}
        if isinstance(node, ast.Path) and self.joined(pattern, node) and node.type == "bool":
            alias, key = self.subject(pattern, node)
            if inside is not None and alias != inside:
                return None
            return alias, self.maybe({key: True}, [key], possibly)
        return None

    def is_field(self, node: ast.Node) -> bool:
        return isinstance(node, ast.Path) and node.entity not in (None, POLICY, DERIVED)

    def joined(self, pattern: _Pattern, node: ast.Node) -> bool:
        """A field of a record the rule joins (a single record read through slots is not joined)."""
        return self.is_field(node) and node.entity in pattern.alias_of

    def subject(self, pattern: _Pattern, path: ast.Path) -> tuple[str, str]:
        alias = pattern.alias_of[path.entity]
        self.use(pattern.type_of.get(alias) or self.fact_type(path.entity), path.field)
        return alias, path.field

    def compare(self, pattern, node: ast.Compare, possibly, inside):
        order = self.aliases_in_order(pattern, inside)
        for subject, other, op in ((node.left, node.right, node.op), (node.right, node.left, _FLIP[node.op])):
            if not self.is_field(subject):
                continue
            alias = self.alias_for(pattern, subject.entity)
            if alias is None:
                continue
            other_aliases = self.value_aliases(pattern, other)
            if other_aliases is None:
                continue
            if any(order.index(other_alias) > order.index(alias) for other_alias in other_aliases
                   if other_alias in order and alias in order):
                continue
            if inside is not None and alias != inside:
                continue
            _, key = self.subject(pattern, subject)
            same_fact = []
            value = self.value(pattern, other, alias, same_fact)
            condition = {key: value} if op == "==" else {_DURABLE_OP[op]: {key: value}}
            if same_fact and not possibly:
                # durable_rules takes an absent field of the same fact as "not equal to anything"
                condition = {"$and": [condition] + [{"$ex": {other: 1}} for other in dict.fromkeys(same_fact)]}
            return alias, self.maybe(condition, [key] + same_fact, possibly)
        return None

    def aliases_in_order(self, pattern: _Pattern, inside: str | None) -> list[str]:
        order = list(pattern.order)
        if inside is not None and inside not in order:
            order.append(inside)
        return order

    def alias_for(self, pattern: _Pattern, entity_key: str) -> str | None:
        return pattern.alias_of.get(entity_key)

    def value_aliases(self, pattern: _Pattern, node: ast.Node) -> list[str] | None:
        """The aliases a value expression reads, or None when the engine cannot compute it."""
        if isinstance(node, ast.Literal):
            return [] if not isinstance(node.value, str) or True else []
        if isinstance(node, ast.Path):
            if node.entity is None:
                return []
            if node.entity == POLICY:
                return ["h"]
            if node.entity == DERIVED:
                return None
            alias = self.alias_for(pattern, node.entity)
            return [alias] if alias else None
        if isinstance(node, ast.Binary):
            left = self.value_aliases(pattern, node.left)
            right = self.value_aliases(pattern, node.right)
            return None if left is None or right is None else left + right
        if isinstance(node, ast.Negative):
            return self.value_aliases(pattern, node.operand)
        return None

    def value(self, pattern: _Pattern, node: ast.Node, subject_alias: str, same_fact: list) -> object:
        if isinstance(node, ast.Literal):
            return fact_value(node.value)
        if isinstance(node, ast.Path):
            if node.entity is None:
                return node.parts[0]
            if node.entity == POLICY:
                alias, key = "h", policy_key(node.field)
                self.use(HOUSEHOLD, key)
            else:
                alias = pattern.alias_of[node.entity]
                key = node.field
                self.use(pattern.type_of.get(alias) or self.fact_type(node.entity), key)
            if alias == subject_alias:
                same_fact.append(key)
                return {"$m": key}
            # durable_rules fails hard when a referenced field is absent: the referenced record
            # must have it, which is also what three-valued logic asks of a positive join.
            pattern.conditions[alias].append({"$ex": {key: 1}})
            return {alias: key}
        if isinstance(node, ast.Negative):
            return {"$mul": {"$l": self.value(pattern, node.operand, subject_alias, same_fact), "$r": -1}}
        left = self.value(pattern, node.left, subject_alias, same_fact)
        right = self.value(pattern, node.right, subject_alias, same_fact)
        return {_DURABLE_ARITH[node.op]: {"$l": left, "$r": right}}

    def maybe(self, condition: dict, keys: list[str], possibly: bool) -> dict:
        """Inside a negated pattern a missing value might match: the pattern must not rule it out."""
        if not possibly:
            return condition
        return {"$or": [{"$nex": {key: 1}} for key in dict.fromkeys(keys)] + [condition]}

    # -- slots --
    def slot_condition(self, pattern: _Pattern, node: ast.Node, possibly: bool, inside: str | None = None):
        anchor = self.anchor(pattern, node, inside)
        if any(isinstance(inner, ast.Path) and inner.entity == DERIVED for inner in ast.walk(node)):
            raise CompileError("推出的事实只能直接写在条件里，不能放在计数、合计、函数或政策表查询中",
                               "a derived fact can only stand directly in a condition", node.span)
        name = self.slot_names.name(node, anchor)
        if all(slot.name != name for slot in self.slots):
            self.slots.append(Slot(name, anchor, node))
        alias = pattern.alias_of[anchor] if anchor is not None else "h"
        self.use(pattern.type_of.get(alias, HOUSEHOLD) if anchor is None else self.fact_type(anchor), name)
        return alias, self.maybe({name: True}, [name], possibly)

    def anchor(self, pattern: _Pattern, node: ast.Node, inside: str | None) -> str | None:
        """The one collection record the slot's value depends on; None when it is household-wide."""
        collections = []
        bound_inside: set[str] = set()
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Quantifier, ast.Count, ast.Sum)):
                bound_inside.add(inner.entity)
        for inner in ast.walk(node):
            if isinstance(inner, ast.Path) and inner.entity in pattern.alias_of and inner.entity not in bound_inside \
                    and inner.entity != HOUSEHOLD and _is_bound_collection(inner.entity, pattern, self.rule):
                if inner.entity not in collections:
                    collections.append(inner.entity)
        if len(collections) > 1:
            if inside is not None:
                raise _NeedsSlot()
            raise CompileError("这个条件同时依赖两类多条记录，无法计算，请拆分或改写",
                               "this condition depends on two kinds of repeated records at once: rewrite it",
                               node.span)
        return collections[0] if collections else None


def _exclusive(entity_key: str, other_key: str) -> bool:
    """Two kinds of record one record cannot both be: views filtering one field for different words."""
    entity, other = contract.ENTITIES[entity_key].filter, contract.ENTITIES[other_key].filter
    return entity is not None and other is not None and entity[0] == other[0] and entity[1] != other[1]


def _is_collection(entity_key: str) -> bool:
    entity = contract.ENTITIES[entity_key]
    return entity.many and entity.base is None


def _is_bound_collection(entity_key: str, pattern: _Pattern, rule: ast.Rule) -> bool:
    """A record bound by 对每个 or a quantifier (not a single record or view read as one)."""
    alias = pattern.alias_of.get(entity_key, "")
    return entity_key == rule.scope_entity or alias.startswith("q")


def compile_rule(rule: ast.Rule, index: int, stratum: int, slot_names: SlotNames) -> CompiledRule:
    return _RuleCompiler(rule, index, stratum, slot_names).compile()


@dataclass
class RulesetPlan:
    """Which compiled rules share one durable_rules ruleset, and which facts it needs."""

    index: int
    rules: list[CompiledRule] = field(default_factory=list)
    fields: dict[str, set[str]] = field(default_factory=dict)
    network: AlphaNetwork = field(default_factory=AlphaNetwork, repr=False, compare=False)

    def take(self, rule: CompiledRule) -> list[str]:
        """Add the rule if the ruleset stays within durable_rules' limits; else what it would break."""
        too_many = [f"{fact_type} 记录的字段 {len(self.fields.get(fact_type, set()) | keys)} 个，超过 {MAX_FACT_FIELDS}"
                    for fact_type, keys in rule.fields.items()
                    if len(self.fields.get(fact_type, set()) | keys) > MAX_FACT_FIELDS]
        problems = too_many or self.network.add(rule.definitions)
        if not problems:
            rule.ruleset = self.index
            self.rules.append(rule)
            for fact_type, keys in rule.fields.items():
                self.fields.setdefault(fact_type, set()).update(keys)
        return problems


def plan_rulesets(rules: list[CompiledRule]) -> list[RulesetPlan]:
    """Cut the rules into as few rulesets as durable_rules' limits allow (each fact goes to every
    ruleset that reads its type, so fewer rulesets send fewer facts)."""
    plans: list[RulesetPlan] = []
    for rule in rules:
        # take() answers what the rule would break in that ruleset: nothing when it took the rule.
        if any(not plan.take(rule) for plan in plans):
            continue
        plan = RulesetPlan(len(plans))
        problems = plan.take(rule)
        if problems:
            raise CompileError(f"规则 {rule.rule.id} 条件过多，超出推理引擎 durable_rules 的限制（{'；'.join(problems)}），请拆分",
                               f"rule {rule.rule.id} exceeds durable_rules' limits ({'; '.join(problems)}): split it",
                               rule.rule.span)
        plans.append(plan)
    return plans
