"""durable_rules' alpha network: its stack limit as durable_rules shows it, the model of it, and the planner."""

from __future__ import annotations

import copy
import json
import random

import durable_rules_engine
import orjson
import pytest
from durable_host import QuietHost

from dangka.engine import alpha
from dangka.engine.alpha import ALPHA_STACK, STACK_LIMIT, AlphaNetwork
from dangka.engine.knowledge import Knowledge
from dangka.engine.run import Engine



def _never(closure):
    raise AssertionError("matches are taken from the queue")


_names = iter(range(10**6))


def _durable(definitions: list[dict]) -> int:
    """A durable_rules ruleset of these rules; its handle."""
    host = QuietHost()
    name = f"alpha_test_{next(_names)}"
    host.register_rulesets({name: {f"r{number}": dict(definition, run=_never)
                                   for number, definition in enumerate(definitions)}})
    return host.get_ruleset(name)._handle


def _assert_and_drain(handle: int, fact: dict) -> int:
    """Assert one fact and take every match; how many there were. The fact is retracted again."""
    durable_rules_engine.assert_facts(handle, orjson.dumps([fact]).decode())
    matches = 0
    while pending := durable_rules_engine.start_action(handle):
        message, action = pending[1], pending[2]
        while message:
            matches += 1
            message = durable_rules_engine.complete_and_start_action(handle, action)
    durable_rules_engine.retract_facts(handle, orjson.dumps([{key: fact[key] for key in ("sid", "id", "t")}]).decode())
    return matches


def _age_rules(count: int) -> list[dict]:
    return [{"all": [{"m": {"$and": [{"t": "member"}, {"$gt": {"age": n}}]}}]} for n in range(count)]


def _network(definitions: list[dict]) -> AlphaNetwork:
    network = AlphaNetwork()
    for definition in definitions:
        network.add([definition])
    return network


def test_durable_rules_fails_a_fact_that_passes_more_alpha_nodes_than_its_stack_holds():
    # The limit the model exists for (durable_rules 2.0.28, events.c MAX_STACK_SIZE): seventy
    # "age > n" tests under one node, and a member of 100 passes them all at once.
    handle = _durable(_age_rules(70))
    with pytest.raises(durable_rules_engine.error, match="303"):
        _assert_and_drain(handle, {"sid": "1", "id": "a", "t": "member", "age": 100})
    # Fifty fit: the same member matches every rule.
    assert _assert_and_drain(_durable(_age_rules(50)), {"sid": "1", "id": "a", "t": "member", "age": 100}) == 50


def test_the_model_counts_tests_a_fact_can_pass_at_once():
    assert _network(_age_rules(50)).stack() == 1 + 50   # the fact type's node, then its fifty children
    assert AlphaNetwork().add(_age_rules(70)) == [f"一条记录可能同时满足 71 层条件，超过 {STACK_LIMIT}"]
    assert STACK_LIMIT < ALPHA_STACK
    # Equality with different values of one field: a fact passes one of them at most.
    kinds = [{"all": [{"m": {"$and": [{"t": "member"}, {"kind": f"k{n}"}]}}]} for n in range(200)]
    assert _network(kinds).stack() == 1 + 1
    assert _assert_and_drain(_durable(kinds), {"sid": "1", "id": "a", "t": "member", "kind": "k5"}) == 1


def test_a_rule_that_would_break_a_limit_is_refused_and_taken_back():
    network = _network(_age_rules(STACK_LIMIT - 2))
    before = network.stack()
    assert network.add(_age_rules(STACK_LIMIT + 10)[STACK_LIMIT - 2:STACK_LIMIT + 10]) != []
    assert network.stack() == before
    assert network.rules == STACK_LIMIT - 2
    # Something else still fits after the refusal.
    assert network.add([{"all": [{"h": {"$and": [{"t": "household"}, {"year": 2016}]}}]}]) == []


def test_patterns_ending_at_one_node_are_bounded(monkeypatch):
    monkeypatch.setattr(alpha, "PATTERN_LIMIT", 3)
    network = AlphaNetwork()
    same = {"all": [{"h": {"t": "household"}}]}
    assert [network.add([same]) for _ in range(3)] == [[], [], []]
    assert "模式" in network.add([same])[0]


def _random_rules(rng: random.Random, count: int, fields: int) -> list[dict]:
    rules = []
    for _ in range(count):
        conditions: list[dict] = [{"t": "m"}]
        for _ in range(rng.randint(1, 3)):
            name, value = f"k{rng.randrange(fields)}", rng.randrange(4)
            other = {f"k{rng.randrange(fields)}": rng.randrange(4)}
            conditions.append(rng.choice([{name: value}, {"$gt": {name: value}}, {"$lt": {name: value}},
                                          {"$neq": {name: value}}, {"$or": [{name: value}, other]}]))
        rules.append({"all": [{"m": {"$and": conditions}}]})
    return rules


def test_rulesets_the_model_accepts_never_overflow_durable_rules():
    rng = random.Random(7)
    accepted = 0
    for _trial in range(40):
        network = AlphaNetwork()
        rules = [rule for rule in _random_rules(rng, rng.randint(20, 90), 12) if network.add([rule]) == []]
        accepted += len(rules)
        handle = _durable(rules)
        for sid in range(20):
            fact = {"sid": str(sid), "id": "a", "t": "m", **{f"k{n}": rng.randrange(4) for n in range(12)}}
            _assert_and_drain(handle, fact)   # raises durable_rules_engine.error on an overflow
    assert accepted > 1000


def _age_knowledge(folder, rules: list[tuple[str, str, int]]) -> Knowledge:
    """Knowledge of rules "对每个 成员 如果 成员.年龄 <op> <n>", one per (rule id, op, n), written in `folder`."""
    folder.mkdir(exist_ok=True)
    (folder / "age.rules").write_text("\n".join(
        f'规则 {rule_id} "年龄与 {n} 岁比较"\n  类别 form.inconsistent\n  严重程度 低\n  依据 "测试"\n'
        f'  对每个 成员\n  如果 成员.年龄 {op} {n}\n' for rule_id, op, n in rules), encoding="utf-8")
    return Knowledge.load([folder])


@pytest.fixture
def overflowing(tmp_path, monkeypatch):
    """Knowledge planned without the stack bound: eighty age rules in one ruleset overflow on anyone over 32."""
    monkeypatch.setattr(alpha, "STACK_LIMIT", 10_000)
    knowledge = _age_knowledge(tmp_path / "rules", [(f"GEN-B{len(op)}-{n:03d}", op, n)
                                                    for n in range(40) for op in (">", ">=")])
    assert len(knowledge.plans) == 1
    return knowledge


def test_the_planner_cuts_many_similar_rules_into_rulesets_that_run(tmp_path, clean_dossier):
    knowledge = _age_knowledge(tmp_path / "rules", [(f"GEN-A-{n:03d}", ">", n) for n in reversed(range(70))])
    assert len(knowledge.plans) == 2
    assert all(plan.network.stack() <= STACK_LIMIT for plan in knowledge.plans)
    engine = Engine(knowledge)
    oldest = max(member.values["age"] for member in engine.household(clean_dossier).of("member"))
    # The rules come oldest first, so the second ruleset holds the lowest ages: both fire.
    assert 20 < oldest < 70
    findings = engine.check(clean_dossier).findings
    assert {finding.rule.ruleset for finding in findings} == {0, 1}
    fired = {finding.rule.rule.id for finding in findings}
    assert fired == {f"GEN-A-{n:03d}" for n in range(min(oldest, 70))}


def test_a_failure_of_durable_rules_is_a_message_not_a_traceback(overflowing, clean_dossier):
    from dangka.engine.run import EngineError
    # Planned without the stack bound, the eighty age rules share one ruleset and overflow durable_rules.
    knowledge = overflowing
    assert len(knowledge.plans) == 1
    with pytest.raises(EngineError, match="推理引擎 durable_rules 出错.*303"):
        Engine(knowledge).check(clean_dossier)


def _young(dossier: dict) -> dict:
    """The household with every member born in 2010 (so younger than any of the age rules' limits)."""
    young = copy.deepcopy(dossier)
    young["id"] = dossier["id"] + "-Y"
    for member in young["members"]:
        member["id_number"] = member["id_number"][:6] + "2010" + member["id_number"][10:]
    return young


def test_after_durable_rules_failed_the_next_household_is_checked_on_fresh_rulesets(overflowing, clean_dossier):
    from dangka.engine.run import EngineError
    engine = Engine(overflowing)
    young = _young(clean_dossier)
    expected = {finding.rule.rule.id for finding in engine.check(young).findings}
    assert expected   # the young household passes some rules: the children are over 0
    with pytest.raises(EngineError, match="303"):
        engine.check(clean_dossier)
    # Facts the failed assert left in durable_rules' sessions must not join the next household's.
    assert {finding.rule.rule.id for finding in engine.check(young).findings} == expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_household_the_engine_fails_on_is_an_error_and_the_others_are_checked(overflowing, clean_dossier, tmp_path, jobs):
    from dangka.engine.batch import check_paths
    young = _young(clean_dossier)
    path = tmp_path / "households.jsonl"
    path.write_text("\n".join(json.dumps(item, ensure_ascii=False, default=str) for item in (young, clean_dossier, young | {"id": "Y2"}))
                    + "\n", encoding="utf-8")
    outcomes = list(check_paths([str(path)], None, overflowing, jobs=jobs))
    assert [outcome.entry is not None for outcome in outcomes] == [True, False, True]
    error = outcomes[1].error
    assert error["category"] == "engine.failed" and error["source"] == str(path) and error["line"] == 2
    assert error["message"].startswith(f"户 {clean_dossier['id']} 未能核查：推理引擎 durable_rules 出错")
    assert outcomes[0].entry["findings"] == outcomes[2].entry["findings"] != []


def test_check_reports_the_failed_household_and_exits_1(overflowing, clean_dossier, tmp_path, capsys):
    from dangka.cli import main
    path = tmp_path / "households.jsonl"
    lines = (_young(clean_dossier), clean_dossier)
    path.write_text("\n".join(json.dumps(item, ensure_ascii=False, default=str) for item in lines) + "\n", encoding="utf-8")
    assert main(["check", str(path), "--rules", str(tmp_path / "rules"), "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert f"■ 未能核查的档案\n  ✗ {path}:2：[核查出错] 户 {clean_dossier['id']} 未能核查：推理引擎 durable_rules 出错" in out
    assert "共核查 1 户，1 户有问题；1 户核查出错" in out and "核查出错 1" in out


def test_a_dask_partition_reports_the_household_the_engine_fails_on(overflowing, clean_dossier, tmp_path):
    from dangka.engine.distributed import KnowledgeSpec, Partition, check_partition
    from dangka.engine.graph import ResponsibilityGraph
    dossiers = [_young(clean_dossier), clean_dossier]
    graph = ResponsibilityGraph(None)
    for dossier in dossiers:
        graph.add_household(dossier)
    spec = KnowledgeSpec((str(tmp_path / "rules"),), None, overflowing.digest)
    (young_index, entry, no_error), (index, no_entry, error) = [
        (outcome.index, outcome.entry, outcome.error)
        for outcome in check_partition(Partition("封丘县", [0, 1], ["a.yaml", "b.yaml"], dossiers), graph, spec, None)]
    assert (young_index, index) == (0, 1) and no_error is None and no_entry is None
    assert entry["findings"] and error["category"] == "engine.failed" and error["source"] == "b.yaml"


def _comparisons(count: int) -> dict:
    """One rule whose member pattern compares `count` fields with the household's."""
    member = {"$and": [{"t": "member"}] + [{"$gt": {f"k{n}": {"h": f"k{n}"}}} for n in range(count)]}
    return {"all": [{"h": {"t": "household"}}, {"m": member}]}


def test_a_pattern_with_too_many_comparisons_with_other_facts_is_refused_as_durable_rules_would():
    # durable_rules (rete.h MAX_SEQUENCE_EXPRESSIONS): the $and's two entries and one per comparison, under 32.
    _durable([_comparisons(29)])
    with pytest.raises(durable_rules_engine.error, match="113"):
        _durable([_comparisons(30)])
    assert AlphaNetwork().add([_comparisons(29)]) == []
    assert AlphaNetwork().add([_comparisons(30)]) == ["一个模式中与其他记录的比较和组合共 32 项，超过 31"]


def test_a_rule_durable_rules_could_not_register_is_a_rule_error(tmp_path):
    from dangka.dsl.parse import RuleErrors
    comparisons = " 并且 ".join(f"成员.年龄 > 户.家庭人数 + {n}" for n in range(40))
    (tmp_path / "many.rules").write_text(f'规则 GEN-C-001 "很多比较"\n  类别 form.inconsistent\n  严重程度 低\n'
                                         f'  依据 "测试"\n  如果 存在 成员 满足 ({comparisons})\n', encoding="utf-8")
    with pytest.raises(RuleErrors, match=r"many.rules:1:1: .*GEN-C-001 条件过多，超出推理引擎 durable_rules 的限制"):
        Knowledge.load([tmp_path])


def _joins(count: int) -> dict:
    return {"all": [{f"a{n}": {"t": f"T{n}"}} for n in range(count)] + [{"n$not": {"t": "T0"}}]}


def test_a_rule_joining_more_facts_than_a_durable_rules_match_holds_is_refused():
    # durable_rules (state.h MAX_MESSAGE_FRAMES): a match of 16 facts works, 17 fail when asserted.
    def assert_all(count: int) -> None:
        handle = _durable([_joins(count)])
        facts = [{"sid": "1", "id": f"f{n}", "t": f"T{n}"} for n in range(count)]
        durable_rules_engine.assert_facts(handle, orjson.dumps(facts).decode())

    assert_all(16)
    with pytest.raises(durable_rules_engine.error, match="304"):
        assert_all(17)
    assert AlphaNetwork().add([_joins(16)]) == []
    assert AlphaNetwork().add([_joins(17)]) == ["一次匹配要连接 17 条记录，超过 16"]


def _repeated_alternatives(count: int) -> dict:
    return {"all": [{"m": {"$and": [{"t": "member"}, {"$or": [{"health": "病"}] * count}]}}]}


def test_an_alternative_written_twice_is_passed_twice_and_the_model_counts_it():
    # rete.c links an $or's forward node below each alternative's end, even when two alternatives
    # share their end node: a fact then waits on the stack once per copy.
    fact = {"sid": "1", "id": "a", "t": "member", "health": "病"}
    with pytest.raises(durable_rules_engine.error, match="303"):
        _assert_and_drain(_durable([_repeated_alternatives(70)]), fact)
    assert _network([_repeated_alternatives(50)]).stack() == 1 + 1 + 50
    assert AlphaNetwork().add([_repeated_alternatives(70)]) == [f"一条记录可能同时满足 72 层条件，超过 {STACK_LIMIT}"]


def _one_rule(tmp_path, condition: str) -> Knowledge:
    (tmp_path / "one.rules").write_text(f'规则 GEN-D-001 "测试"\n  类别 form.inconsistent\n  严重程度 低\n  依据 "测试"\n'
                                        f'  如果 {condition}\n', encoding="utf-8")
    return Knowledge.load([tmp_path])


@pytest.mark.parametrize("condition", [
    "户.主要致贫原因 属于 {" + ", ".join(["因病"] * 200) + "}",
    " 或者 ".join(["户.主要致贫原因 == 因病"] * 200),
], ids=["set", "or"])
def test_a_word_or_condition_written_many_times_counts_once(tmp_path, clean_dossier, condition):
    engine = Engine(_one_rule(tmp_path, condition))
    assert engine.knowledge.plans[0].network.stack() < 10
    cause = engine.household(clean_dossier).first("household").values["primary_cause"]
    assert [finding.rule.rule.id for finding in engine.check(clean_dossier).findings] == (["GEN-D-001"] if cause == "因病" else [])


def test_a_chain_of_a_thousand_conditions_is_refused_without_recursing(tmp_path):
    from dangka.dsl.parse import RuleErrors
    with pytest.raises(RuleErrors, match=r"一条记录可能同时满足 1200 层条件"):
        _one_rule(tmp_path, " 并且 ".join(f"户.年度 > {n}" for n in range(1, 1200)))
