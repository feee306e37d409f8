"""Households through durable_rules: findings, evidence, derived facts, missing values, engine limits."""

from __future__ import annotations


from dangka.engine.knowledge import Knowledge
from dangka.engine.run import Engine


def fired(engine, dossier, links=None):
    return sorted(engine.check(dossier, links).fired)


def test_clean_household_gives_nothing(sample_engine, clean_dossier):
    result = sample_engine.check(clean_dossier)
    assert result.findings == [] and result.fired == set()


def test_field_case_gives_cause_and_capacity_findings(sample_engine, sample_knowledge, cooking_dossier):
    result = sample_engine.check(cooking_dossier)
    assert {"PLAN-CAUSE-001", "PLAN-CAPACITY-001", "DERIVE-NOLABOR-001", "PLAN-NOLABOR-001"} <= result.fired
    findings = [finding.to_json(sample_knowledge) for finding in result.findings]
    capacity = [finding for finding in findings if finding["rule"] == "PLAN-CAPACITY-001"]
    assert len(capacity) == 2  # one per measure: 烹饪技能培训 and 联系饭店就业
    first = capacity[0]
    assert set(first) >= {"rule", "category", "severity", "title", "message", "evidence", "basis", "source", "recommend"}
    assert first["category"] == "plan.capacity_mismatch" and first["severity"] == "high"
    assert first["source"].endswith("engine_sample.rules:12")
    assert "张德福 73 岁" in first["message"]
    assert {"path": "members[0].age", "value": 73} in first["evidence"]
    assert {"path": "policy.working_age_max", "value": 60} in first["evidence"]


def test_derived_fact_chains_into_a_later_rule(sample_engine, cooking_dossier, clean_dossier):
    cooking_dossier["measures"].append({"kind": "低保兜底", "content": "纳入农村低保", "year": 2017})
    assert "PLAN-NOLABOR-001" not in fired(sample_engine, cooking_dossier)
    assert "DERIVE-NOLABOR-001" in fired(sample_engine, cooking_dossier)
    assert "DERIVE-NOLABOR-001" not in fired(sample_engine, clean_dossier)


def test_a_missing_value_makes_the_rule_not_fire(sample_engine, cooking_dossier):
    del cooking_dossier["members"][1]["labor"]
    del cooking_dossier["members"][1]["id_number"]  # no age either
    assert "PLAN-CAUSE-001" not in fired(sample_engine, cooking_dossier)


def test_emptiness_is_decided_even_when_the_form_is_absent(sample_engine, clean_dossier):
    clean_dossier["forms"]["survey"]["verifier_opinion"] = " "
    assert "FORM-OPINION-001" in fired(sample_engine, clean_dossier)
    del clean_dossier["forms"]["survey"]
    assert "FORM-OPINION-001" in fired(sample_engine, clean_dossier)


_EMPTINESS_RULES = """
规则 EMPTY-SINGLE-001 "申请日期为空（单条记录，不与别的记录相连）"
 类别 form.missing
 严重程度 低
 依据 "b"
 如果 申请书.申请日期 为空
规则 EMPTY-SINGLE-002 "申请日期不为空"
 类别 form.missing
 严重程度 低
 依据 "b"
 如果 申请书.申请日期 不为空 并且 户.年度 = 2017
规则 EMPTY-EACH-001 "会议日期为空（对每个）"
 类别 form.missing
 严重程度 低
 依据 "b"
 对每个 会议
 如果 会议.会议日期 为空
规则 EMPTY-EACH-002 "会议日期不为空（对每个，与户相连）"
 类别 form.missing
 严重程度 低
 依据 "b"
 对每个 会议
 如果 会议.会议日期 不为空 并且 会议.会议类别 = 两委商议 并且 户.年度 = 2017
规则 EMPTY-SLOT-001 "有会议没写日期（量词，由槽算出）"
 类别 form.missing
 严重程度 低
 依据 "b"
 如果 存在 会议 满足 (会议.会议日期 为空)
"""


def _emptiness_engine(tmp_path) -> Engine:
    (tmp_path / "empty.rules").write_text(_EMPTINESS_RULES, encoding="utf-8")
    return Engine(Knowledge.load([tmp_path]))


def test_a_value_written_but_unreadable_is_not_empty_in_any_compiled_form(tmp_path, clean_dossier):
    """为空 is 'nothing written': a date written as 五月十一日 has a 格式问题 and no value, yet is not empty —
    on a single record, for each record, joined with another fact, and inside a quantifier (a slot)."""
    from dangka.engine.trace import FIRED, Tracer

    engine = _emptiness_engine(tmp_path)
    procedure = clean_dossier["procedure"]
    readable = fired(engine, clean_dossier)
    assert readable == ["EMPTY-EACH-002", "EMPTY-SINGLE-002"]
    procedure["application"]["date"] = "五月十一日"
    procedure["meetings"][1]["date"] = "五月十三日"
    assert fired(engine, clean_dossier) == readable
    del procedure["application"]["date"], procedure["meetings"][1]["date"]
    assert fired(engine, clean_dossier) == ["EMPTY-EACH-001", "EMPTY-SINGLE-001", "EMPTY-SLOT-001"]
    for dossier_date in ("五月十一日", None):
        if dossier_date:
            procedure["application"]["date"] = procedure["meetings"][1]["date"] = dossier_date
        household = engine.household(clean_dossier)
        traced = {trace.rule.id for trace in Tracer(engine.knowledge).trace(household) if trace.outcome == FIRED}
        assert traced == set(fired(engine, clean_dossier))


def test_the_evidence_and_message_show_what_was_written_in_an_unreadable_field(tmp_path, clean_dossier):
    (tmp_path / "written.rules").write_text(
        '规则 WRITTEN-001 "申请日期写了"\n 类别 form.invalid\n 严重程度 低\n 依据 "b"\n'
        ' 如果 申请书.申请日期 不为空\n 提示 "申请日期：{申请书.申请日期}"\n', encoding="utf-8")
    engine = Engine(Knowledge.load([tmp_path]))
    clean_dossier["procedure"]["application"]["date"] = "五月十一日"
    (finding,) = [finding.to_json(engine.knowledge) for finding in engine.check(clean_dossier).findings]
    assert finding["message"] == "申请日期：五月十一日（无法识别）"
    assert finding["evidence"] == [{"path": "procedure.application.date", "value": "五月十一日"}]


def test_years_limit_a_rule(sample_engine, clean_dossier):
    clean_dossier["procedure"]["application"]["date"] = "2017-05-20"
    assert "PROC-ORDER-001" in fired(sample_engine, clean_dossier)
    clean_dossier["year"] = 2021
    assert "PROC-ORDER-001" not in fired(sample_engine, clean_dossier)


def test_policy_values_by_year_and_province(sample_engine, clean_dossier):
    clean_dossier["procedure"]["publicity"][0]["end"] = "2017-05-21"  # 6 days
    assert "PROC-NOTICE-001" in fired(sample_engine, clean_dossier)


def test_a_household_with_no_helper_via_the_graph(sample_engine, clean_dossier):
    from dangka.engine.graph import ResponsibilityGraph
    clean_dossier["helpers"] = []
    graph = ResponsibilityGraph(None)
    graph.add_household(clean_dossier)
    assert "RESP-HELPER-001" in fired(sample_engine, clean_dossier, graph.links(clean_dossier))


def test_more_households_than_durable_rules_has_sessions(sample_engine, clean_dossier, cooking_dossier):
    """durable_rules keeps at most 1024 live sessions: each household's state must be freed."""
    for index in range(1100):
        dossier = cooking_dossier if index % 2 else clean_dossier
        assert bool(sample_engine.check(dossier).findings) == bool(index % 2)


def test_identical_members_are_distinct_facts(sample_engine, cooking_dossier):
    cooking_dossier["members"].append(dict(cooking_dossier["members"][1], relation="其他"))
    assert "PLAN-CAUSE-001" in fired(sample_engine, cooking_dossier)


def test_records_no_rule_reads_are_accepted(sample_engine, clean_dossier):
    clean_dossier["other_causes"] = ["因学", "因灾"]
    clean_dossier["assets"]["car"] = True
    assert fired(sample_engine, clean_dossier) == []


def test_matches_are_taken_from_the_queue_of_durable_rules_and_completed(sample_engine, cooking_dossier):
    """No action function runs: the engine takes each match from durable_rules' queue and completes it
    (a match left uncompleted holds its session, and the next household there would find nothing)."""
    import durable_rules_engine

    found = [{finding.rule.rule.id for finding in sample_engine.check(cooking_dossier).findings} for _ in range(3)]
    assert found[0] and found[0] == found[1] == found[2]
    for ruleset in sample_engine.rulesets.rulesets.values():
        assert not durable_rules_engine.start_action(ruleset._handle)


def test_two_knowledge_bases_live_in_one_process(tmp_path, sample_engine, cooking_dossier):
    (tmp_path / "one.rules").write_text('规则 PLAN-X-001 "全家都是老人"\n 类别 plan.cause_mismatch\n 严重程度 低\n'
                                        ' 依据 "b"\n 如果 户.无劳动能力人数 = 户.家庭人数\n', encoding="utf-8")
    other = Engine(Knowledge.load([tmp_path]))
    assert fired(other, cooking_dossier) == ["PLAN-X-001"]
    assert "PLAN-X-001" not in fired(sample_engine, cooking_dossier)


def test_checking_many_at_once_equals_checking_one_by_one(sample_knowledge):
    from dangka import synth
    from dangka.engine.graph import ResponsibilityGraph

    engine = Engine(Knowledge.load())
    dossiers = list(synth.generate(60, seed=21, defect_rate=0.7))
    graph = ResponsibilityGraph(synth.generate_registry(seed=21, n=60, defect_rate=0.7))
    for dossier in dossiers:
        graph.add_household(dossier)
    items = [(dossier, graph.links(dossier)) for dossier in dossiers]
    together = engine.check_many(items)
    alone = [engine.check(dossier, links) for dossier, links in items]

    def summary(result):
        return sorted(result.fired), sorted((finding.rule.rule.id, finding.message) for finding in result.findings)

    assert [summary(result) for result in together] == [summary(result) for result in alone]
    assert any(result.findings for result in together)


def test_findings_come_in_knowledge_base_order_then_dossier_order():
    """Not in durable_rules' firing order, which follows how the rules were cut into rulesets."""
    from dangka import synth

    engine = Engine(Knowledge.load())
    longest = 0
    for dossier in synth.generate(40, seed=5, defect_rate=1.0):
        household = engine.household(dossier)
        position = {record.id: number for number, record in
                    enumerate(record for records in household.records.values() for record in records)}
        findings = engine.check(dossier).findings
        order = [(finding.rule.index, position[finding.scope.id] if finding.scope else -1) for finding in findings]
        assert order == sorted(order)
        longest = max(longest, len(findings))
    assert longest > 1


def test_sessions_hold_no_fact_after_a_check(sample_engine, cooking_dossier):
    """Facts are retracted by session and id alone: nothing of the household may stay behind."""
    import json

    import durable_rules_engine

    assert sample_engine.check(cooking_dossier).findings
    for ruleset in sample_engine.rulesets.rulesets.values():
        assert json.loads(durable_rules_engine.get_facts(ruleset._handle, "0")) == []


def test_durable_rules_drops_the_facts_after_a_number_with_a_bare_exponent():
    # durable_rules 2.0.28 reads 1e+16 as the end of the batch, answers 0 and never asserts the
    # facts after it; 1.0e+16 it reads. orjson writes floats from 1e16 up the first way.
    import durable_rules_engine
    from durable_host import QuietHost

    host = QuietHost()
    host.register_rulesets({"bare_exponent": {"big": {"all": [{"m": {"$and": [{"t": "a"}, {"$gt": {"v": 5}}]}}],
                                                      "run": lambda closure: None}}})
    handle = host.get_ruleset("bare_exponent")._handle
    matches = []
    for sid, number in (("1", "1e+16"), ("2", "1.0e+16")):
        text = f'[{{"sid":"{sid}","id":"x","t":"a","v":{number}}},{{"sid":"{sid}","id":"y","t":"a","v":10}}]'
        assert durable_rules_engine.assert_facts(handle, text)[0] == 0
        count = 0
        while pending := durable_rules_engine.start_action(handle):
            message = pending[1]
            while message:
                count += 1
                message = durable_rules_engine.complete_and_start_action(handle, pending[2])
        matches.append(count)
    assert matches == [0, 2]


def test_a_huge_float_does_not_hide_the_facts_after_it(sample_engine, cooking_dossier):
    from dangka.engine.run import _encode

    assert _encode([{"v": 1e16, "w": -2e300, "x": 1.5e20, "s": "1e+16"}]) == '[{"v":1.0e+16,"w":-2.0e+300,"x":1.5e+20,"s":"1e+16"}]'
    expected = fired(sample_engine, cooking_dossier)
    cooking_dossier["income"]["property"] = 1e16
    assert fired(sample_engine, cooking_dossier) == expected


def test_a_whole_number_beyond_64_bits_is_a_problem_of_the_household_not_a_traceback(sample_engine, cooking_dossier):
    cooking_dossier["income"]["property"] = 10**30
    cooking_dossier["year"] = 1e300   # a whole float, as spreadsheets give: an integer field reads it as one
    cooking_dossier["income"]["wage"] = 1e300   # a number field keeps a float as it is
    result = sample_engine.check(cooking_dossier)
    problems = {record.values["path"]: record.values["reason"] for record in result.household.records["problem"]}
    assert problems == {"income.property": "数值过大", "year": "数值过大"}
    assert result.household.first("income").values["wage"] == 1e300
