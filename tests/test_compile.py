"""Rules → durable_rules definitions: patterns, slots, ruleset splitting, and durable_rules' quirks."""

from __future__ import annotations

import itertools
import json

import pytest
from durable_host import QuietHost

from dangka.dsl.parse import RuleErrors
from dangka.engine.alpha import STACK_LIMIT
from dangka.engine.compile import (FIRST_OF_VIEW, GO, MAX_FACT_FIELDS, POLICY_VALUE, RECORD_VALUE, SLOT_VALUE,
                                   FILLED_FLAG, filled_flag,
                                   first_flag, flatten, key_source, policy_key, push_not)
from dangka.engine.knowledge import Knowledge
from dangka.engine.run import Engine


def _write(tmp_path, text, name="r.rules"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_golden_patterns_of_the_sample_rules(sample_knowledge):
    capacity = sample_knowledge.rule("PLAN-CAPACITY-001")
    # "age above the limit or labour in {...}" compares with a household field: one rule per alternative
    assert len(capacity.definitions) == 3
    definition = capacity.definitions[0]
    aliases = [next(iter(part)) for part in definition["all"]]
    assert aliases == ["h", "s", "q2"]  # no negated pattern: matched as the facts arrive
    measure = definition["all"][1]["s"]["$and"]
    assert {"$or": [{"kind": "技能培训"}, {"kind": "转移就业"}, {"kind": "公益岗位"}]} in measure
    member = definition["all"][2]["q2"]["$and"]
    assert {"name": {"s": "beneficiary"}} in member
    assert {"$gt": {"age": {"h": "_p_working_age_max"}}} in member
    assert capacity.slots == []
    cause = sample_knowledge.rule("PLAN-CAUSE-001")
    assert any(key.endswith("$not") for part in cause.definitions[0]["all"] for key in part)
    # a negated pattern waits for every fact of the household: the start fact comes first
    assert next(iter(cause.definitions[0]["all"][0])) == "_go"
    measure_rule = sample_knowledge.rule("PLAN-MEASURE-001")
    assert len(measure_rule.slots) == 1 and measure_rule.slots[0].anchor is None


def test_or_across_records_becomes_one_durable_rule_per_disjunct(tmp_path):
    path = _write(tmp_path, '规则 FORM-T-001 "t"\n 类别 form.missing\n 严重程度 高\n 依据 "b"\n'
                            ' 如果 收入.工资性收入 > 1 或者 普查表.年度 < 2000\n')
    (compiled,) = Knowledge.load([path]).rules
    assert len(compiled.definitions) == 2


def test_not_is_pushed_to_the_leaves():
    from dangka.dsl.check import check_rules
    from dangka.dsl.transform import parse_rules
    from dangka.policy import Policies
    rule_file, _ = parse_rules('规则 A-1 "t"\n 依据 "b"\n 如果 并非 (户.家庭人数 > 3 或者 所有 成员 满足 (成员.年龄 > 1))\n'
                               ' 结论 x\n规则 A-2 "u"\n 依据 "b"\n 如果 户.x\n 结论 y\n规则 A-3 "v"\n 依据 "b"\n 如果 户.y 并且 户.x\n 结论 z\n'
                               '规则 A-4 "w"\n 依据 "b"\n 如果 户.z\n 结论 x2\n规则 A-5 "w"\n 依据 "b"\n 如果 户.x2\n 结论 x3\n', "n")
    checked = check_rules([rule_file], Policies.load())
    pushed = push_not(checked.rules[0].condition)
    assert type(pushed).__name__ == "And"
    compare, quantifier = pushed.items
    assert compare.op == "<=" and quantifier.kind == "any"


def test_flatten_splices_nested_or_and_and():
    nested = {"$and": [{"t": "m"}, {"$and": [{"a": 1}, {"$or": [{"b": 1}, {"$or": [{"c": 1}, {"d": 1}]}]}]}]}
    assert flatten(nested) == {"$and": [{"t": "m"}, {"a": 1}, {"$or": [{"b": 1}, {"c": 1}, {"d": 1}]}]}



def test_durable_rules_fails_on_or_with_a_reference_which_the_compiler_splits(sample_engine, cooking_dossier):
    """durable_rules 2.0.28 raises error 311 on an $or comparing an absent field with another fact's."""
    host = QuietHost()
    host.register_rulesets({"pin_311": {
        "r": {"all": [{"h": {"t": "household"}},
                      {"x": {"$and": [{"t": "member"}, {"$or": [{"$nex": {"age": 1}}, {"$gt": {"age": {"h": "limit"}}}]}]}}],
              "run": lambda c: None}}})
    with pytest.raises(Exception, match="311"):
        host.assert_facts("pin_311", [{"sid": "1", "id": "h", "t": "household", "limit": 60},
                                      {"sid": "1", "id": "m", "t": "member"}])
    del cooking_dossier["members"][1]["id_number"]  # no age: the split patterns take it
    assert "PLAN-CAPACITY-001" in sample_engine.check(cooking_dossier).fired


def test_durable_rules_misreads_nested_or_which_flatten_avoids():
    """Pins the durable_rules 2.0.28 bug the compiler works around: $or directly inside $or."""
    fired = []

    def ruleset(pattern):
        return {"r": {"all": [{"h": {"t": "household"}}, {"s": {"t": "measure"}}, {"q": pattern}],
                      "run": lambda c: fired.append(1)},
                "o": {"all": [{"o": {"$or": [{"t": "household"}, {"t": "measure"}, {"t": "member"}]}},
                              {"z": {"t": "_never"}}],
                      "run": lambda c: None}}

    nested = {"$and": [{"t": "member"}, {"$and": [{"name": {"s": "ben"}},
                                                  {"$or": [{"$gt": {"age": {"h": "limit"}}},
                                                           {"$or": [{"labor": "无"}, {"labor": "丧"}]}]}]}]}
    facts = [{"sid": "1", "id": "h", "t": "household", "limit": 60}, {"sid": "1", "id": "a", "t": "measure", "ben": "王"},
             {"sid": "1", "id": "b", "t": "member", "name": "王", "age": 50, "labor": "普通"}]
    for name, pattern in (("nested", nested), ("flat", flatten(nested))):
        host = QuietHost()
        host.register_rulesets({f"pin_{name}": ruleset(pattern)})
        fired.clear()
        host.assert_facts(f"pin_{name}", [dict(fact) for fact in facts])
        assert bool(fired) == (name == "nested"), name


def test_durable_rules_keeps_a_match_a_later_fact_negates_which_the_start_fact_avoids():
    """Pins why rules with a negated pattern wait for the start fact: durable_rules 2.0.28 runs the
    match of "household and no survey" even when the survey arrives later in the same batch."""
    fired = []

    def ruleset(head):
        return {"r": {"all": head + [{"h": {"t": "household"}}, {"n$not": {"t": "survey"}}],
                      "run": lambda c: fired.append(1)},
                "o": {"all": [{"o": {"$or": [{"t": "household"}, {"t": "survey"}, {"t": GO}]}},
                              {"z": {"t": "_never"}}],
                      "run": lambda c: None}}

    household, survey = {"sid": "1", "id": "h", "t": "household"}, {"sid": "1", "id": "s", "t": "survey"}
    start = {"sid": "1", "id": "go", "t": GO, "k": 0}
    for name, head, facts, expected in (
            ("late", [], [household, survey], True),          # the bug
            ("early", [], [survey, household], False),
            ("gated", [{GO: {"$and": [{"t": GO}, {"k": 0}]}}], [household, survey, start], False)):
        host = QuietHost()
        host.register_rulesets({f"pin_not_{name}": ruleset(head)})
        fired.clear()
        host.assert_facts(f"pin_not_{name}", [dict(fact) for fact in facts])
        assert bool(fired) == expected, name


def test_a_rule_reading_too_many_fields_of_one_record_is_refused(tmp_path):
    from dangka import contract
    fields = [field.label for field in contract.ENTITIES["member"].fields]
    # Slots (values the evaluator computes) are keys of the fact too.
    slots = [f"文字长度(成员.姓名) > {n}" for n in range(MAX_FACT_FIELDS + 1 - len(fields))]
    condition = " 并且 ".join([f"成员.{label} 不为空" for label in fields] + slots)
    path = _write(tmp_path, f'规则 FORM-T-001 "t"\n 类别 form.missing\n 严重程度 高\n 依据 "b"\n 对每个 成员\n 如果 {condition}\n')
    with pytest.raises(RuleErrors, match="超过"):
        Knowledge.load([path])


def generated_rules(count: int) -> str:
    """Many distinct, valid rules over several records: the scale the engine must take."""
    templates = [
        ('对每个 成员\n  如果 成员.年龄 > {n} 并且 成员.劳动技能 属于 {{普通劳动力, 技能劳动力}}', "form.inconsistent"),
        ('如果 户.家庭人数 > {small} 并且 收入.工资性收入 < {n}00', "plan.insufficient"),
        ('对每个 措施\n  如果 措施.金额 > {n}000 并且 存在 成员 满足 (成员.姓名 = 措施.受益成员 并且 成员.年龄 < {n})', "plan.capacity_mismatch"),
        ('如果 计数 成员 满足 (成员.年龄 >= {n}) > {small}', "plan.cause_mismatch"),
        ('如果 申请书.申请日期 + {n} < 党支部提议.会议日期', "procedure.order"),
        ('对每个 公示\n  如果 公示.公示天数 < {small} 或者 公示.引用实到人数 > {n}', "procedure.record_mismatch"),
    ]
    rules = []
    for index in range(count):
        template, category = templates[index % len(templates)]
        body = template.format(n=10 + index % 80, small=1 + index % 5)
        rules.append(f'规则 GEN-R-{index:04d} "生成规则 {index}"\n  类别 {category}\n  严重程度 低\n'
                     f'  依据 "测试用生成规则"\n  {body}\n')
    return "\n".join(rules)


@pytest.fixture(scope="module")
def six_hundred(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    (folder / "generated.rules").write_text(generated_rules(600), encoding="utf-8")
    return Knowledge.load([folder])


def test_six_hundred_rules_are_split_into_rulesets_durable_rules_accepts(six_hundred):
    assert len(six_hundred.rules) == 600
    assert len(six_hundred.plans) > 1
    for plan in six_hundred.plans:
        assert plan.network.stack() <= STACK_LIMIT
        assert all(len(keys) <= MAX_FACT_FIELDS for keys in plan.fields.values())


def test_six_hundred_rules_run_and_agree_with_the_evaluator(six_hundred, clean_dossier, cooking_dossier):
    from dangka.engine.trace import FIRED, Tracer
    engine = Engine(six_hundred)
    for dossier in (clean_dossier, cooking_dossier):
        result = engine.check(dossier)
        traced = {trace.rule.id for trace in Tracer(six_hundred).trace(engine.household(dossier)) if trace.outcome == FIRED}
        assert result.fired == traced
        assert result.fired  # the generated rules are loose enough to fire on real households


def test_definitions_are_plain_json(sample_knowledge):
    for compiled in sample_knowledge.rules:
        json.dumps(compiled.definitions, ensure_ascii=False)


def test_slot_counter_names_are_unique(sample_knowledge):
    names = [slot.name for compiled in sample_knowledge.rules for slot in compiled.slots]
    assert len(names) == len(set(names))
    assert list(itertools.islice(names, 1))  # the sample has at least one slot


def test_key_source_reads_back_every_key_the_compiler_writes(sample_knowledge):
    assert key_source(policy_key("working_age_max")) == (POLICY_VALUE, "working_age_max")
    assert key_source(first_flag("head")) == (FIRST_OF_VIEW, "head")
    assert key_source("age") == (RECORD_VALUE, "age")
    assert key_source(filled_flag("exit_year")) == (FILLED_FLAG, "exit_year")
    slots = {slot.name for compiled in sample_knowledge.rules for slot in compiled.slots}
    assert slots and all(key_source(name) == (SLOT_VALUE, name) for name in slots)
    keys = {key for compiled in sample_knowledge.rules for fact_keys in compiled.fields.values() for key in fact_keys}
    assert {key_source(key)[0] for key in keys} == {POLICY_VALUE, FIRST_OF_VIEW, SLOT_VALUE, FILLED_FLAG,
                                                   RECORD_VALUE}


def test_an_or_of_values_beside_a_reference_to_another_fact_is_split(tmp_path, clean_dossier):
    """durable_rules 2.0.28 matched a 16-year-old against "health in {…} and age < policy + 7"."""
    path = _write(tmp_path, '规则 T-1 "t"\n 类别 form.inconsistent\n 严重程度 中\n 依据 "x"\n 对每个 成员\n'
                            ' 如果 成员.健康状况 属于 {健康, 残疾} 并且 成员.年龄 < 政策.义务教育入学年龄 + 7\n')
    knowledge = Knowledge.load([path])
    for definition in knowledge.rules[0].definitions:
        assert "$or" not in json.dumps(definition)
    assert Engine(knowledge).check(clean_dossier).fired == set()
    clean_dossier["members"][2]["birth_date"] = "2006-03-15"  # 11 on 31 December 2017
    assert Engine(knowledge).check(clean_dossier).fired == {"T-1"}


def test_a_record_joined_without_reading_its_fields_still_reaches_the_engine(tmp_path, clean_dossier):
    path = _write(tmp_path, '规则 FORM-T-001 "t"\n 类别 form.inconsistent\n 严重程度 中\n 依据 "x"\n'
                            ' 如果 收入.转移性收入合计 - 收入.转移性收入计算合计 > 1\n')
    knowledge = Knowledge.load([path])
    assert "income" in knowledge.plans[0].fields
    clean_dossier["income"]["transfer_total"] = 1200
    assert Engine(knowledge).check(clean_dossier).fired == {"FORM-T-001"}


def test_table_cells_follow_the_year(tmp_path, clean_dossier):
    """扶贫小额信贷's maximum age is 60 until 2018 and 65 from 2019 (a parameter by year)."""
    path = _write(tmp_path, '规则 PLAN-T-001 "t"\n 类别 plan.capacity_mismatch\n 严重程度 低\n 依据 "x"\n'
                            ' 如果 政策.帮扶措施[扶贫小额信贷].最高年龄 = 65\n')
    engine = Engine(Knowledge.load([path]))
    assert engine.check(clean_dossier).fired == set()
    clean_dossier["year"] = 2019
    assert engine.check(clean_dossier).fired == {"PLAN-T-001"}


def _recorder(fired: list, label: str):
    return lambda c: fired.append(label)


def test_durable_rules_binds_a_fact_once_per_match_and_leaves_bound_facts_out_of_negations():
    """Pins why patterns of one kind of record that may meet the same record are slots (compile.clashes)."""
    fired = []
    member = {"sid": "1", "id": "m", "t": "member", "age": 70}
    older = {"$and": [{"t": "member"}, {"$gt": {"age": 60}}]}
    for name, patterns in (("twice", [{"a": older}, {"b": older}]),      # misses the member who is both
                           ("negated", [{"a": {"t": "member"}}, {"n$not": older}])):   # "no member over 60" holds
        host = QuietHost()
        observe = {"all": [{"o": {"t": "member"}}, {"z": {"t": "_never"}}], "run": lambda c: None}
        host.register_rulesets({f"pin_once_{name}": {"r": {"all": patterns, "run": _recorder(fired, name)},
                                                     "o": observe}})
        host.assert_facts(f"pin_once_{name}", [dict(member)])
    assert fired == ["negated"]


CLASHING = '''
规则 GEN-E-001 "两个存在"
  类别 form.inconsistent
  严重程度 低
  依据 "测试"
  如果 存在 成员 满足 (成员.年龄 > 51) 并且 存在 成员 满足 (成员.年龄 > 50)

规则 GEN-E-002 "有人超过五十，没有人超过五十一"
  类别 form.inconsistent
  严重程度 低
  依据 "测试"
  如果 存在 成员 满足 (成员.年龄 > 50) 并且 没有 成员 满足 (成员.年龄 > 51)

规则 GEN-E-003 "不比户主年轻"
  类别 form.inconsistent
  严重程度 低
  依据 "测试"
  对每个 成员
  如果 成员.年龄 >= 户主.年龄

规则 GEN-E-004 "有人超过五十一，所有人都不到五十二"
  类别 form.inconsistent
  严重程度 低
  依据 "测试"
  如果 存在 成员 满足 (成员.年龄 > 51) 并且 所有 成员 满足 (成员.年龄 < 52)

规则 GEN-E-005 "村级公示与乡级公示同名"
  类别 procedure.publicity_mismatch
  严重程度 低
  依据 "测试"
  如果 乡级公示.公示姓名 = 村级公示.公示姓名
'''


def test_patterns_that_may_meet_the_same_record_fire_as_the_evaluator_says(tmp_path, clean_dossier):
    from dangka.engine.trace import FIRED, Tracer
    knowledge = Knowledge.load([_write(tmp_path, CLASHING)])
    # Only the two notices, which their filters keep apart, are joined; the rest are computed as slots.
    notices = knowledge.rule("GEN-E-005").definitions[0]["all"]
    assert [next(iter(part)) for part in notices] == ["h", "e1", "e2"]
    assert knowledge.rule("GEN-E-003").slots and knowledge.rule("GEN-E-001").slots
    engine = Engine(knowledge)
    household = engine.household(clean_dossier)
    ages = sorted(member.values["age"] for member in household.of("member"))
    assert ages[-1] == 52 and ages[-2] <= 50   # one member is over 51, and the head is the oldest
    fired = {finding.rule.rule.id for finding in engine.check(clean_dossier).findings}
    assert fired == {"GEN-E-001", "GEN-E-003", "GEN-E-005"}
    assert {trace.rule.id for trace in Tracer(knowledge).trace(household) if trace.outcome == FIRED} == fired
