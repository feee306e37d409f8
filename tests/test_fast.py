"""The compiled slot conditions agree with the tracing evaluator on every slot and household."""

from __future__ import annotations

import copy

from dangka import synth
from dangka.engine.evaluate import FALSE, TRUE, Evaluator, Reads
from dangka.engine.fast import compile_condition
from dangka.engine.knowledge import Knowledge
from dangka.engine.run import Engine


def test_every_slot_of_the_knowledge_base_agrees_with_the_evaluator(clean_dossier, cooking_dossier):
    knowledge = Knowledge.load()
    engine = Engine(knowledge)
    slots = [slot for compiled in knowledge.rules for slot in compiled.slots]
    assert slots
    damaged = copy.deepcopy(cooking_dossier)
    for member in damaged["members"]:
        member.pop("labor", None)
        member.pop("id_number", None)
    damaged.pop("procedure", None)
    dossiers = [clean_dossier, cooking_dossier, damaged, *synth.generate(60, seed=31, defect_rate=0.8)]
    expected = {TRUE: True, FALSE: False, "unknown": None}
    for dossier in dossiers:
        household = engine.household(dossier)
        evaluator = Evaluator(household)
        for slot in slots:
            condition = compile_condition(slot.expr)
            records = [{}] if slot.anchor is None else [{slot.anchor: record} for record in household.of(slot.anchor)]
            for binding in records:
                slow = evaluator.condition(slot.expr, binding, Reads(recording=False))
                assert condition(household, binding) is expected[slow], (slot.name, dossier["id"])


def test_each_comparison_and_membership_agrees_with_the_evaluator(clean_dossier):
    """Every operator, with a constant or a computed right side, against evaluate.compare and 属于."""
    import datetime as dt

    from dangka.dsl import ast
    from dangka.engine.evaluate import compare

    household = Engine(Knowledge.load()).household(clean_dossier)
    values = [0, 1, 2.5, -3, "a", "b", dt.date(2017, 1, 1), dt.date(2018, 6, 30)]
    for left in values:
        for right in values:
            if type(left) is not type(right) and not all(isinstance(value, (int, float)) for value in (left, right)):
                continue
            for op in ("==", "!=", "<", "<=", ">", ">="):
                constant = ast.Compare(op, ast.Literal(left, ast.NO_SPAN), ast.Literal(right, ast.NO_SPAN), ast.NO_SPAN)
                computed = ast.Compare(op, ast.Literal(left, ast.NO_SPAN),
                                       ast.Negative(ast.Literal(-right, ast.NO_SPAN), ast.NO_SPAN)
                                       if isinstance(right, (int, float)) else ast.Literal(right, ast.NO_SPAN),
                                       ast.NO_SPAN)
                for node in (constant, computed):
                    assert compile_condition(node)(household, {}) is compare(op, left, right), (left, op, right)
            for negated in (False, True):
                node = ast.MemberOf(ast.Literal(left, ast.NO_SPAN),
                                    ast.SetLiteral((ast.Literal(right, ast.NO_SPAN),), ast.NO_SPAN), negated, ast.NO_SPAN)
                assert compile_condition(node)(household, {}) is ((left == right) != negated)


def test_a_date_moved_out_of_the_calendar_is_undecided_in_slots_and_evaluator(clean_dossier):
    import datetime as dt

    from dangka.dsl import ast
    from dangka.engine.evaluate import UNKNOWN

    household = Engine(Knowledge.load()).household(clean_dossier)
    for op, days in (("-", 10**11), ("+", 10**7), ("+", 10**30)):
        moved = ast.Binary(op, ast.Literal(dt.date(2017, 1, 1), ast.NO_SPAN), ast.Literal(days, ast.NO_SPAN), ast.NO_SPAN)
        node = ast.Compare(">", moved, ast.Literal(dt.date(2000, 1, 1), ast.NO_SPAN), ast.NO_SPAN)
        assert compile_condition(node)(household, {}) is None
        reads = Reads()
        assert Evaluator(household).condition(node, {}, reads) == UNKNOWN
