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
