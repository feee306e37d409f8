"""Slot conditions compiled to Python closures: the evaluator's three-valued semantics, without tracing.

A slot (a value durable_rules cannot compute: a count, a policy-table look-up, a function) is
computed for every household, often for every record of it. engine/evaluate.py interprets the
syntax tree and records what it reads, for evidence and `explain`; here the same tree becomes
nested closures once, and evaluation only computes. The two must agree on every input: the
tests compare them (tests/test_fast.py) and the engine-versus-explain property tests cover
every slot of the knowledge base.
"""

from __future__ import annotations

from collections.abc import Callable

from dangka import contract
from dangka.dsl import ast
from dangka.dsl.check import DERIVED, POLICY
from dangka.engine.evaluate import COMPARISONS, FUNCTIONS, Household, Missing, _paths_of, arithmetic

MISSING = object()

Value = Callable[[Household, dict], object]  # a value, True/False for conditions, or MISSING


def compile_condition(node: ast.Node) -> Callable[[Household, dict], bool | None]:
    """True or False, or None when a value it needs is missing."""
    value = _compile(node)

    def condition(household: Household, binding: dict) -> bool | None:
        result = value(household, binding)
        return result if result is True or result is False else None

    return condition


def _compile(node: ast.Node) -> Value:
    return _COMPILERS[type(node).__name__](node)


def _literal(node: ast.Literal) -> Value:
    value = node.value
    return lambda household, binding: value


_UNBOUND = object()


def _field(entity: str, key: str, absent: object) -> Value:
    """A field of the record an entity name stands for (Evaluator.record: the bound one, else the
    first of a single or a view), or `absent` when there is no record or no value.

    The callers differ only in what stands for an absent value, so that each reads a field in one
    call: fields are the values slots read most.
    """
    def field(household: Household, binding: dict):
        record = binding.get(entity, _UNBOUND)
        if record is _UNBOUND:
            record = household.first(entity)
        value = record.values.get(key) if record is not None else None
        return absent if value is None else value

    return field


def _path(node: ast.Path) -> Value:
    if node.entity is None:
        word = node.parts[0]
        return lambda household, binding: word
    key = node.field
    if node.entity == DERIVED:
        return lambda household, binding: key in household.derived
    if node.entity == POLICY:
        def policy(household: Household, binding: dict):
            value = household.policy.get(key)
            return MISSING if value is None else value
        return policy
    return _field(node.entity, key, MISSING)


def _lookup(node: ast.Lookup) -> Value:
    key_of = _compile(node.key)
    table, column = node.table_key, node.column_key

    def lookup(household: Household, binding: dict):
        key = key_of(household, binding)
        if key is MISSING:
            return MISSING
        value = household.cell(table, key, column)
        if value is None:
            return MISSING
        return frozenset(value) if isinstance(value, tuple) else value

    return lookup


def _call(node: ast.Call) -> Value:
    args_of = [_compile(arg) for arg in node.args]
    function = FUNCTIONS[node.function]

    def call(household: Household, binding: dict):
        args = [arg(household, binding) for arg in args_of]
        return MISSING if any(arg is MISSING for arg in args) else function(*args)

    return call


def _set(node: ast.SetLiteral) -> Value:
    items = [_compile(item) for item in node.items]

    def members(household: Household, binding: dict):
        return frozenset(value for value in (item(household, binding) for item in items) if value is not MISSING)

    return members


def _both(left: ast.Node, right: ast.Node, combine: Callable[[object, object], object]) -> Value:
    """combine(left, right) once both are known; a constant right side is taken as it is."""
    left_of = _compile(left)
    if isinstance(right, ast.Literal):
        constant = right.value

        def with_constant(household: Household, binding: dict):
            first = left_of(household, binding)
            return MISSING if first is MISSING else combine(first, constant)

        return with_constant
    right_of = _compile(right)

    def both(household: Household, binding: dict):
        first = left_of(household, binding)
        if first is MISSING:
            return MISSING
        second = right_of(household, binding)
        return MISSING if second is MISSING else combine(first, second)

    return both


def _binary(node: ast.Binary) -> Value:
    op = node.op

    def combine(left, right):
        result = arithmetic(op, left, right)
        return MISSING if isinstance(result, Missing) else result

    return _both(node.left, node.right, combine)


def _compare(node: ast.Compare) -> Value:
    # Looked up once per node instead of once per value.
    return _both(node.left, node.right, COMPARISONS[node.op])


def _member_of(node: ast.MemberOf) -> Value:
    if node.negated:
        return _both(node.item, node.collection, lambda item, collection: item not in collection)
    return _both(node.item, node.collection, lambda item, collection: item in collection)


def _negative(node: ast.Negative) -> Value:
    operand = _compile(node.operand)

    def negative(household: Household, binding: dict):
        value = operand(household, binding)
        return value if value is MISSING else -value

    return negative


def _is_empty(node: ast.IsEmpty) -> Value:
    """Evaluator.e_IsEmpty: no value, and none written that could not be read."""
    entity, key, negated = node.operand.entity, node.operand.field, node.negated

    def is_empty(household: Household, binding: dict):
        record = binding.get(entity, _UNBOUND)
        if record is _UNBOUND:
            record = household.first(entity)
        return (record is None or not record.filled(key)) != negated

    return is_empty


def _not(node: ast.Not) -> Value:
    operand = _compile(node.operand)

    def negation(household: Household, binding: dict):
        value = operand(household, binding)
        return value if value is MISSING else not value

    return negation


def _junction(items: tuple[ast.Node, ...], decisive: bool) -> Value:
    """Kleene's 并且 (decided by a false part) and 或者 (decided by a true part)."""
    parts = [_compile(item) for item in items]

    def junction(household: Household, binding: dict):
        unknown = False
        for part in parts:
            value = part(household, binding)
            if value is decisive:
                return decisive
            if value is MISSING:
                unknown = True
        return MISSING if unknown else not decisive

    return junction


def _and(node: ast.And) -> Value:
    return _junction(node.items, False)


def _or(node: ast.Or) -> Value:
    return _junction(node.items, True)


def _needs(where: ast.Node, entity: str) -> Callable[[Household, dict], bool]:
    """What the quantifier needs before looking at records (Evaluator.absent_singles): True if absent."""
    paths = [(target.entity, target.field, under_empty) for target, under_empty in _paths_of(where)
             if target.entity not in (POLICY, DERIVED, None) and target.entity != entity]
    singles = {name for name, _field, _empty in paths}
    collections = {name for name in singles if _is_collection(name)}

    def absent(household: Household, binding: dict) -> bool:
        for name, key, under_empty in paths:
            record = binding.get(name)
            if record is not None:
                if not under_empty and record.values.get(key) is None:
                    return True
            elif name not in binding and name not in collections and household.first(name) is None:
                return True
        return False

    return absent


def _is_collection(entity_key: str) -> bool:
    entity = contract.ENTITIES[entity_key]
    return entity.many and entity.base is None


def _quantifier(node: ast.Quantifier) -> Value:
    entity, kind = node.entity, node.kind
    where = _compile(node.where)
    absent = _needs(node.where, entity)

    def quantifier(household: Household, binding: dict):
        if absent(household, binding):
            return MISSING
        unknown = False
        inner = dict(binding)   # one binding, rebound per record: the body keeps no reference to it
        for record in household.of(entity):
            inner[entity] = record
            value = where(household, inner)
            if value is MISSING:
                unknown = True
            elif kind == "any" and value is True:
                return True
            elif (kind == "all" and value is False) or (kind == "none" and value is True):
                return False
        if unknown:
            return MISSING
        return kind != "any"

    return quantifier


def _count(node: ast.Count) -> Value:
    return _total(node.entity, node.where, None)


def _sum(node: ast.Sum) -> Value:
    return _total(node.entity, node.where, node.path)


def _total(entity: str, where_node: ast.Node | None, term_node: ast.Node | None) -> Value:
    """Evaluator._total compiled: how many records satisfy the condition, or the sum of a term over them."""
    where = _compile(where_node) if where_node is not None else None
    absent = _needs(where_node, entity) if where_node is not None else None
    term = _compile(term_node) if term_node is not None else None

    def total(household: Household, binding: dict):
        records = household.of(entity)
        if where is None and term is None:
            return len(records)
        if absent is not None and absent(household, binding):
            return MISSING
        result, unknown = 0, False
        inner = dict(binding)   # one binding, rebound per record: the body keeps no reference to it
        for record in records:
            inner[entity] = record
            if where is not None:
                keep = where(household, inner)
                if keep is MISSING:
                    unknown = True
                    continue
                if keep is not True:
                    continue
            value = 1 if term is None else term(household, inner)
            if value is MISSING:
                unknown = True
            else:
                result += value
        return MISSING if unknown else result

    return total


_COMPILERS = {
    "Literal": _literal, "Path": _path, "Lookup": _lookup, "Call": _call, "SetLiteral": _set,
    "Binary": _binary, "Negative": _negative, "Compare": _compare, "MemberOf": _member_of,
    "IsEmpty": _is_empty, "Not": _not, "And": _and, "Or": _or, "Quantifier": _quantifier,
    "Count": _count, "Sum": _sum,
}
