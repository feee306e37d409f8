"""Three-valued evaluation of checked rule conditions over one household, recording what it read.

durable_rules decides which rules fire; this evaluator computes what durable_rules cannot
(counts, sums, policy-table look-ups, built-in functions: the compiler's "slots"), and records the
values each condition read, so that findings carry evidence and `explain` can say why a rule did
not fire. Missing values are explicit: a condition that reads one is UNKNOWN, never true or false.
"""

from __future__ import annotations

import datetime as _dt
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dangka import contract
from dangka.dsl import ast

TRUE = "true"
FALSE = "false"
UNKNOWN = "unknown"


class Missing:
    """A value that could not be read; `paths` says which inputs were missing (empty when not recording)."""

    __slots__ = ("paths",)

    def __init__(self, paths: tuple[str, ...]):
        self.paths = paths

    def __repr__(self) -> str:
        return f"Missing({', '.join(self.paths)})"


@dataclass
class Household:
    """Everything the rules may read about one household."""

    records: dict[str, list[contract.Record]]  # base entity key → records in dossier order
    policy: Mapping[str, object]               # parameter key → value for the household's year/province
    policy_refs: dict[str, str]                # parameter key → reference text
    policies: object                           # dangka.policy.Policies, for table look-ups
    derived: set[str] = field(default_factory=set)
    year: int | None = None
    province: str | None = None
    # table key → row key → column key → value in force for the year and province (shared, read-only)
    tables: Mapping[str, Mapping[str, Mapping]] = field(init=False, repr=False)
    _of: dict[str, list] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.tables = self.policies.tables_in_force(self.year, self.province)

    def of(self, entity_key: str) -> list[contract.Record]:
        """The records of an entity or a view, in dossier order."""
        found = self._of.get(entity_key)
        if found is None:
            entity = contract.ENTITIES[entity_key]
            found = self.records.get(entity.base or entity.key, [])
            if entity.filter is not None:
                key, word = entity.filter
                found = [record for record in found if record.values.get(key) == word]
            self._of[entity_key] = found
        return found

    def first(self, entity_key: str) -> contract.Record | None:
        records = self.of(entity_key)
        return records[0] if records else None

    def cell(self, table: str, row: str, column: str) -> object:
        """A policy-table cell for the household's year and province (cells may follow a
        parameter by year, such as microcredit's maximum age); None when the row is not the table's.
        A list comes as a tuple."""
        key = self.policies.tables[table].row_key(row)
        return None if key is None else self.tables[table][key][column]


@dataclass
class Reads:
    """The values an evaluation read (for evidence) and the inputs it found missing."""

    values: dict[str, object] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    witnesses: dict[str, contract.Record] = field(default_factory=dict)  # what each 存在 found first
    recording: bool = True  # False when only the result matters (slots): no paths are built

    def read(self, path: str, value: object) -> None:
        self.values.setdefault(path, value)

    def lack(self, path: str) -> None:
        if path not in self.missing:
            self.missing.append(path)


def field_path(record: contract.Record, field_key: str) -> str:
    """The dossier path of a field of a record, e.g. members[0].age or income.transfer.pension."""
    return contract.value_path(record, contract.ENTITIES[record.entity].field(field_key))


def json_value(value: object) -> object:
    """A value as it appears in JSON evidence."""
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(json_value(item) for item in value)
    return value


_MOBILE = re.compile(r"1[3-9]\d{9}")

# The rule language's built-in functions (dsl/check.py BUILTINS names and types them).
FUNCTIONS = {
    "days": lambda start, end: (end - start).days,
    "is_mobile": lambda number: bool(_MOBILE.fullmatch(str(number))),
    "id_valid": lambda number: contract.id_number_valid(str(number)),
    "contains": lambda text, word: str(word) in str(text),
    "length": lambda text: len(str(text)),
}


class Evaluator:
    """Evaluates expressions of one rule against one household with a binding of entities."""

    def __init__(self, household: Household, derivations: Mapping[str, Sequence[ast.Rule]] | None = None):
        self.household = household
        # conclusion → the rules that conclude it (Knowledge.derivations): a conclusion read as evidence
        # brings the facts it was drawn from
        self.derivations = derivations or {}

    # -- entry points --
    def condition(self, node: ast.Node, binding: dict[str, contract.Record], reads: Reads) -> str:
        value = self.eval(node, binding, reads)
        if isinstance(value, Missing):
            return UNKNOWN
        return TRUE if value is True else FALSE if value is False else UNKNOWN

    def eval(self, node: ast.Node, binding: dict[str, contract.Record], reads: Reads):
        return getattr(self, "e_" + type(node).__name__)(node, binding, reads)

    # -- values --
    def e_Literal(self, node: ast.Literal, binding, reads):
        return node.value

    def e_Path(self, node: ast.Path, binding, reads):
        if node.entity is None:
            return node.parts[0]
        if node.entity == "derived":
            present = node.field in self.household.derived
            reads.read(f"derived.{node.field}", present)
            if present and reads.recording:
                self._grounds(node.field, reads)
            return present
        if node.entity == "policy":
            value = self.household.policy.get(node.field)
            path = f"policy.{node.field}"
            if value is None:
                reads.lack(path)
                return Missing((path,))
            reads.read(path, json_value(value))
            return value
        record = self.record(node.entity, binding)
        if not reads.recording:
            value = record.values.get(node.field) if record is not None else None
            return _UNRECORDED if value is None else value
        if record is None:
            path = contract.ENTITIES[node.entity].label
            reads.lack(path)
            return Missing((path,))
        path = field_path(record, node.field)
        value = record.values.get(node.field)
        if value is None:
            reads.lack(path)
            return Missing((path,))
        reads.read(path, json_value(value))
        return value

    def _grounds(self, conclusion: str, reads: Reads) -> None:
        """The facts a conclusion holding for the household was drawn from: the reads of the first rule
        (and record, for a rule 对每个) that concludes it."""
        for rule in self.derivations.get(conclusion, ()):
            scope = rule.scope_entity
            for binding in ([{scope: record} for record in self.household.of(scope)] if scope else [{}]):
                drawn = Reads()
                if self.condition(rule.condition, binding, drawn) == TRUE:
                    for path, value in drawn.values.items():
                        reads.read(path, value)
                    return

    def record(self, entity_key: str, binding) -> contract.Record | None:
        """The record an entity name stands for: the bound one, else the first of a single or a view."""
        if entity_key in binding:
            return binding[entity_key]
        return self.household.first(entity_key)

    def e_Lookup(self, node: ast.Lookup, binding, reads):
        key = self.eval(node.key, binding, reads)
        if isinstance(key, Missing):
            return key
        value = self.household.cell(node.table_key, key, node.column_key)
        if reads.recording:
            path = f"policy.{node.table_key}[{key}].{node.column_key}"
            if value is None:
                reads.lack(path)
            else:
                # A list's evidence keeps the table's order (json_value would sort a tuple).
                reads.read(path, list(value) if isinstance(value, tuple) else json_value(value))
        if value is None:
            return Missing((path,)) if reads.recording else _UNRECORDED
        return frozenset(value) if isinstance(value, tuple) else value

    def e_Call(self, node: ast.Call, binding, reads):
        args = [self.eval(arg, binding, reads) for arg in node.args]
        missing = [arg for arg in args if isinstance(arg, Missing)]
        if missing:
            return Missing(tuple(path for arg in missing for path in arg.paths))
        return FUNCTIONS[node.function](*args)

    def e_SetLiteral(self, node: ast.SetLiteral, binding, reads):
        values = [self.eval(item, binding, reads) for item in node.items]
        return frozenset(value for value in values if not isinstance(value, Missing))

    def both(self, left_node: ast.Node, right_node: ast.Node, binding, reads, combine):
        """combine(left, right) of two values, or what was missing of either."""
        left = self.eval(left_node, binding, reads)
        right = self.eval(right_node, binding, reads)
        if isinstance(left, Missing) or isinstance(right, Missing):
            return Missing(_paths(left) + _paths(right))
        return combine(left, right)

    def e_Binary(self, node: ast.Binary, binding, reads):
        return self.both(node.left, node.right, binding, reads, lambda left, right: arithmetic(node.op, left, right))

    def e_Negative(self, node: ast.Negative, binding, reads):
        value = self.eval(node.operand, binding, reads)
        return value if isinstance(value, Missing) else -value

    # -- conditions --
    def e_Compare(self, node: ast.Compare, binding, reads):
        return self.both(node.left, node.right, binding, reads, lambda left, right: compare(node.op, left, right))

    def e_MemberOf(self, node: ast.MemberOf, binding, reads):
        return self.both(node.item, node.collection, binding, reads,
                         lambda item, collection: (item in collection) != node.negated)

    def e_IsEmpty(self, node: ast.IsEmpty, binding, reads):
        """Not filled in: no value, and none written that could not be read (that one is a 格式问题)."""
        path: ast.Path = node.operand
        record = self.record(path.entity, binding)
        if reads.recording:
            if record is None:
                reads.read(contract.ENTITIES[path.entity].label, None)
            else:
                value = record.values.get(path.field)
                reads.read(field_path(record, path.field),
                           json_value(value) if value is not None else record.unreadable.get(path.field))
        return (record is None or not record.filled(path.field)) != node.negated

    def e_Not(self, node: ast.Not, binding, reads):
        value = self.eval(node.operand, binding, reads)
        return value if isinstance(value, Missing) else not value

    def e_And(self, node: ast.And, binding, reads):
        return self.junction(node.items, False, binding, reads)

    def e_Or(self, node: ast.Or, binding, reads):
        return self.junction(node.items, True, binding, reads)

    def junction(self, items, decisive: bool, binding, reads):
        """Kleene's 并且 (decided by a false part) and 或者 (decided by a true part)."""
        unknown = None
        for item in items:
            value = self.eval(item, binding, reads)
            if value is decisive:
                return decisive
            if isinstance(value, Missing):
                unknown = Missing((unknown.paths if unknown else ()) + value.paths)
        return unknown if unknown else not decisive

    def absent_singles(self, node: ast.Node, binding, reads) -> Missing | None:
        """What a quantifier or aggregate needs before it looks at any record.

        Every single record its body names must exist, and every field its body reads from an
        outer record must be known (an emptiness test excepted): the engine joins those first, so
        a missing one leaves the whole quantifier undecided even when there is no record to look at.
        """
        absent: list[str] = []
        for target, under_empty in _paths_of(node):
            if target.entity in ("policy", "derived", None):
                continue
            record = binding.get(target.entity)
            if record is not None:
                if not under_empty and record.values.get(target.field) is None:
                    absent.append(field_path(record, target.field))
            elif target.entity not in binding and not _is_collection(target.entity) \
                    and self.household.first(target.entity) is None:
                absent.append(contract.ENTITIES[target.entity].label)
        if not absent:
            return None
        for label in absent:
            reads.lack(label)
        return Missing(tuple(dict.fromkeys(absent)))

    def e_Quantifier(self, node: ast.Quantifier, binding, reads):
        absent = self.absent_singles(node.where, {**binding, node.entity: None}, reads)
        if absent:
            return absent
        unknown = None
        for record in self.household.of(node.entity):
            inner = {**binding, node.entity: record}
            value = self.eval(node.where, inner, reads)
            if isinstance(value, Missing):
                unknown = Missing((unknown.paths if unknown else ()) + value.paths)
            elif node.kind == "any" and value is True:
                reads.witnesses.setdefault(node.entity, record)
                return True
            elif node.kind == "all" and value is False:
                return False
            elif node.kind == "none" and value is True:
                return False
        if unknown:
            return unknown
        return node.kind != "any"

    def e_Count(self, node: ast.Count, binding, reads):
        return self._total(node.entity, node.where, None, binding, reads)

    def e_Sum(self, node: ast.Sum, binding, reads):
        return self._total(node.entity, node.where, node.path, binding, reads)

    def _total(self, entity: str, where: ast.Node | None, term: ast.Node | None, binding, reads):
        """The records of `entity` satisfying `where`: how many (no term), or the sum of `term` over them."""
        if where is not None:
            absent = self.absent_singles(where, {**binding, entity: None}, reads)
            if absent:
                return absent
        total = 0
        unknown = None
        for record in self.household.of(entity):
            inner = {**binding, entity: record}
            if where is not None:
                keep = self.eval(where, inner, reads)
                if isinstance(keep, Missing):
                    unknown = Missing((unknown.paths if unknown else ()) + keep.paths)
                    continue
                if keep is not True:
                    continue
            value = 1 if term is None else self.eval(term, inner, reads)
            if isinstance(value, Missing):
                unknown = Missing((unknown.paths if unknown else ()) + value.paths)
            else:
                total += value
        return unknown if unknown else total


_UNRECORDED = Missing(())
_PATHS_CACHE: dict[int, tuple[ast.Node, list[tuple[ast.Path, bool]]]] = {}


def _paths_of(node: ast.Node) -> list[tuple[ast.Path, bool]]:
    """_paths_in, computed once per node (rules are evaluated for every household)."""
    cached = _PATHS_CACHE.get(id(node))
    if cached is None or cached[0] is not node:
        cached = (node, list(_paths_in(node)))
        _PATHS_CACHE[id(node)] = cached
    return cached[1]


def _paths_in(node: ast.Node, under_empty: bool = False):
    """Every bound field path below a node, with whether an emptiness test reads it."""
    if isinstance(node, ast.Path):
        yield node, under_empty
        return
    for child in ast.children(node):
        yield from _paths_in(child, under_empty or isinstance(node, ast.IsEmpty))


def _is_collection(entity_key: str) -> bool:
    entity = contract.ENTITIES[entity_key]
    return entity.many and entity.base is None


def _paths(value) -> tuple[str, ...]:
    return value.paths if isinstance(value, Missing) else ()


def arithmetic(op: str, left, right):
    if isinstance(left, _dt.date) and isinstance(right, _dt.date):
        return (left - right).days
    if isinstance(left, _dt.date):
        try:
            return left + _dt.timedelta(days=right) if op == "+" else left - _dt.timedelta(days=right)
        except OverflowError:
            return Missing(("日期超出公元 1—9999 年",))
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        return Missing(("除数为零",))
    return left / right


# The comparisons of the rule language, by canonical operator (the compiled slots use them too).
COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}


def compare(op: str, left, right) -> bool:
    return COMPARISONS[op](left, right)
