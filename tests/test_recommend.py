"""Tests for the recommendations: suitable measures with reasons, and those ruled out with theirs."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangka import contract
from dangka.engine.evaluate import Household
from dangka.engine.recommend import Recommendation, RuledOut, recommend, to_json
from dangka.errors import DangkaError
from dangka.policy import Policies


@pytest.fixture(scope="module")
def policies() -> Policies:
    """The policy folder shipped in the package."""
    return Policies.load()


def household_of(dossier: dict, policies: Policies) -> Household:
    """A household as the engine builds one, without running any rule."""
    records: dict[str, list[contract.Record]] = {}
    for record in contract.records(dossier):
        records.setdefault(record.entity, []).append(record)
    values = records["household"][0].values
    return Household(records, policies.resolve(values.get("year"), values.get("province")), {}, policies)


def outcome(dossier: dict, policies: Policies) -> tuple[dict[str, Recommendation], dict[str, RuledOut]]:
    recommended, ruled_out = recommend(household_of(dossier, policies))
    return {item.measure: item for item in recommended}, {item.measure: item for item in ruled_out}


def member(name: str, relation: str, birth: str | None, **values) -> dict:
    """A member without identity number, so that the birth date alone gives the age."""
    person = {"name": name, "relation": relation, "sex": "男", "in_school": "非在校生", "health": "健康",
              "labor": "普通劳动力", **values}
    if birth is not None:
        person["birth_date"] = birth
    return person


def single(clean_dossier: dict, year: int, cause: str, head: dict, **household) -> dict:
    """The clean household reduced to one member, with another year and cause."""
    clean_dossier.update(year=year, primary_cause=cause, other_causes=[], members=[head], measures=[], **household)
    return clean_dossier


# --- the two example households ----------------------------------------------------------------


def test_field_case_recommends_health_and_safety_net(cooking_dossier, policies):
    recommended, ruled_out = outcome(cooking_dossier, policies)
    assert recommended["健康扶贫"].members == ("张德福", "刘桂英")
    assert "长期慢性病" in recommended["健康扶贫"].because
    assert recommended["健康扶贫"].family == "健康"
    assert recommended["低保兜底"].because.endswith("可申请纳入低保贫困户")
    assert "家中没有普通劳动力、技能劳动力（成员均为无劳动力）" in recommended["低保兜底"].because
    assert recommended["低保兜底"].members == ()
    # The written cause (缺技术) calls for neither; the members show 因病 and 缺劳力.
    assert recommended["健康扶贫"].causes == ("因病",)
    assert recommended["低保兜底"].causes == ("因病", "缺劳力")


def test_field_case_rules_out_training_and_jobs_naming_ages_and_labour(cooking_dossier, policies):
    recommended, ruled_out = outcome(cooking_dossier, policies)
    for measure in ("技能培训", "转移就业"):
        assert measure not in recommended
        because = ruled_out[measure].because
        assert because.startswith("户主张德福 73 岁、配偶刘桂英 71 岁，超出 16–60 岁；成员均为无劳动力")
        assert ruled_out[measure].missing == ()
    assert ruled_out["技能培训"].text() == (
        "技能培训：户主张德福 73 岁、配偶刘桂英 71 岁，超出 16–60 岁；"
        "成员均为无劳动力（适用：普通劳动力、技能劳动力、弱劳动力或半劳动力）"
    )
    # Both are too old: the source given is the one of the upper bound, the working-age parameter.
    assert ruled_out["转移就业"].reference == policies.parameter("working_age_max").value(2017)[1]


def test_field_case_is_not_offered_destitute_support(cooking_dossier, policies):
    recommended, ruled_out = outcome(cooking_dossier, policies)
    assert "特困供养" not in recommended
    assert ruled_out["特困供养"].because == "贫困户属性为一般贫困户（适用：特困供养贫困户）"


def test_field_case_orders_the_written_cause_first(cooking_dossier, policies):
    _, ruled_out = recommend(household_of(cooking_dossier, policies))
    # 缺技术 is the primary cause: its measures come first, in the cause table's order.
    assert [item.measure for item in ruled_out[:3]] == ["技能培训", "转移就业", "雨露计划"]


def test_clean_household_gets_its_own_measures(clean_dossier, policies):
    recommended, ruled_out = recommend(household_of(clean_dossier, policies))
    by_measure = {item.measure: item for item in recommended}
    assert recommended[0].measure == "健康扶贫"
    assert by_measure["健康扶贫"].members == ("李国强",)
    assert by_measure["健康扶贫"].because == "主要致贫原因为因病；户主李国强（长期慢性病）"
    assert by_measure["教育扶贫"].members == ("李明",)
    assert by_measure["教育扶贫"].because == "其他致贫原因为因学；李明（高中二年级）"
    # No cause of the household calls for jobs, but the plan has one and it fits the spouse.
    assert by_measure["转移就业"].because == "已列入帮扶计划；配偶王秀兰（50 岁，普通劳动力）"
    assert by_measure["转移就业"].causes == ()
    assert by_measure["健康扶贫"].causes == ("因病",)
    assert {item.measure for item in ruled_out} >= {"低保兜底", "雨露计划"}
    assert not {item.measure for item in recommended} & {item.measure for item in ruled_out}


def test_a_household_with_labour_is_not_admitted_to_the_safety_net(clean_dossier, policies):
    _, ruled_out = outcome(clean_dossier, policies)
    assert ruled_out["低保兜底"].because == "贫困户属性为一般贫困户（适用：低保贫困户）"


# --- measures and their conditions -------------------------------------------------------------


def test_microcredit_is_ruled_out_for_an_80_year_old(clean_dossier, policies):
    head = member("赵老汉", "户主", "1939-03-01", labor="弱劳动力或半劳动力")
    dossier = single(clean_dossier, 2019, "缺资金", head)
    dossier["measures"] = [{"kind": "扶贫小额信贷", "content": "贷款养牛", "beneficiary": "赵老汉", "year": 2019}]
    recommended, ruled_out = outcome(dossier, policies)
    assert "扶贫小额信贷" not in recommended
    assert ruled_out["扶贫小额信贷"].text() == "扶贫小额信贷：户主赵老汉 80 岁，超出 18–65 岁"
    assert "银保监发〔2019〕24号" in ruled_out["扶贫小额信贷"].reference


def test_a_planned_measure_that_no_cause_calls_for_is_still_checked(clean_dossier, policies):
    head = member("赵老汉", "户主", "1939-03-01", health="长期慢性病", labor="丧失劳动力")
    dossier = single(clean_dossier, 2019, "因病", head)
    dossier["measures"] = [{"kind": "扶贫小额信贷", "content": "贷款养牛", "beneficiary": "赵老汉", "year": 2019}]
    _, ruled_out = recommend(household_of(dossier, policies))
    assert ruled_out[-1].measure == "扶贫小额信贷"
    assert ruled_out[-1].because.startswith("户主赵老汉 80 岁，超出 18–65 岁；户主赵老汉为丧失劳动力")


@pytest.mark.parametrize(
    ("year", "recommended_then"),
    [(2017, False), (2018, False), (2019, True)],
)
def test_microcredit_age_bound_follows_the_year(clean_dossier, policies, year, recommended_then):
    # Born in 1955: 62 to 64 over these years, above the 60 in force until 2018 and within 2019's 65.
    head = member("钱大山", "户主", "1955-01-10")
    recommended, ruled_out = outcome(single(clean_dossier, year, "缺资金", head), policies)
    assert ("扶贫小额信贷" in recommended) is recommended_then
    if recommended_then:
        assert recommended["扶贫小额信贷"].because == "主要致贫原因为缺资金；户主钱大山（64 岁，普通劳动力）"
        assert recommended["扶贫小额信贷"].members == ("钱大山",)
    else:
        age = year - 1955
        assert ruled_out["扶贫小额信贷"].because == f"户主钱大山 {age} 岁，超出 18–60 岁"


def test_microcredit_age_bound_follows_the_province(tmp_path, clean_dossier):
    policies = Policies.load(_small_policy_folder(tmp_path))
    head = member("钱大山", "户主", "1955-01-10")
    dossier = single(clean_dossier, 2017, "缺资金", head)
    _, ruled_out = outcome(dossier, policies)
    assert ruled_out["扶贫小额信贷"].because == "户主钱大山 62 岁，超出 18–60 岁"
    dossier["region"]["province"] = "河南省"
    recommended, _ = outcome(dossier, policies)
    assert recommended["扶贫小额信贷"].because == "主要致贫原因为缺资金；户主钱大山（62 岁，普通劳动力）"
    assert recommended["扶贫小额信贷"].reference == "测试：扶贫小额信贷"


def _small_policy_folder(tmp_path: Path) -> Path:
    """A policy folder of one cause and one measure whose maximum age is 65 in 河南省 from 2016."""
    (tmp_path / "parameters.yaml").write_text(textwrap.dedent("""\
        kind: parameters
        description: 测试参数
        parameters:
          microcredit_age_min:
            label: 小额信贷最低年龄
            description: 最低年龄
            type: int
            values: [{from: 2014, value: 18, reference: "测试：最低年龄"}]
          microcredit_age_max:
            label: 小额信贷最高年龄
            description: 最高年龄
            type: int
            values: [{from: 2014, value: 60, reference: "测试：全国 60 岁"}]
            regional:
              河南省: [{from: 2016, value: 65, reference: "测试：河南 65 岁"}]
        """), encoding="utf-8")
    (tmp_path / "causes.yaml").write_text(textwrap.dedent("""\
        kind: table
        key: causes
        label: 致贫原因
        key_label: 致贫原因
        columns:
          profile: {label: 支持情形, type: str}
          measures: {label: 适用措施, type: list, refers: measures}
        rows:
          缺资金: {profile: 缺少启动资金, measures: [扶贫小额信贷], reference: "测试：缺资金"}
        """), encoding="utf-8")
    (tmp_path / "measures.yaml").write_text(textwrap.dedent("""\
        kind: table
        key: measures
        label: 帮扶措施
        key_label: 措施类别
        columns:
          family: {label: 类别, type: str}
          scope: {label: 受益对象, type: str}
          min_age: {label: 最低年龄, type: int, optional: true}
          max_age: {label: 最高年龄, type: int, optional: true}
          needs_labor: {label: 需要劳动能力, type: bool}
          labor: {label: 适用劳动技能, type: list, optional: true}
          causes: {label: 针对致贫原因, type: list, refers: causes}
        rows:
          扶贫小额信贷:
            family: 金融
            scope: 个人
            min_age: {parameter: microcredit_age_min}
            max_age: {parameter: microcredit_age_max}
            needs_labor: true
            labor: [普通劳动力, 技能劳动力]
            causes: [缺资金]
            reference: "测试：扶贫小额信贷"
        """), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("grade", ["中职一年级", "中职三年级", "高职二年级"])
def test_rain_and_dew_plan_for_vocational_students(clean_dossier, policies, grade):
    clean_dossier["members"][2]["in_school"] = grade
    recommended, _ = outcome(clean_dossier, policies)
    assert recommended["雨露计划"].members == ("李明",)
    assert recommended["雨露计划"].because == f"其他致贫原因为因学；李明（{grade}）"


@pytest.mark.parametrize("grade", ["高中二年级", "九年级", "大专及以上"])
def test_rain_and_dew_plan_not_for_other_students(clean_dossier, policies, grade):
    clean_dossier["members"][2]["in_school"] = grade
    recommended, ruled_out = outcome(clean_dossier, policies)
    assert "雨露计划" not in recommended
    assert ruled_out["雨露计划"].because == f"户主李国强、配偶王秀兰为非在校生，李明为{grade}（适用：中职、高职）"
    assert recommended["教育扶贫"].members == ("李明",)


@pytest.mark.parametrize("level", ["C级", "D级"])
def test_house_renovation_with_a_dangerous_house(clean_dossier, policies, level):
    clean_dossier.update(primary_cause="缺资金", other_causes=[])
    clean_dossier["conditions"].update(housing_safe=False, dangerous_house_level=level)
    recommended, _ = outcome(clean_dossier, policies)
    assert recommended["危房改造"].because == f"主要致贫原因为缺资金；危房等级为{level}"
    assert recommended["危房改造"].family == "住房"


def test_house_renovation_not_for_a_safe_house(clean_dossier, policies):
    clean_dossier.update(primary_cause="缺资金", other_causes=[])
    recommended, ruled_out = outcome(clean_dossier, policies)
    assert "危房改造" not in recommended
    assert ruled_out["危房改造"].because == "住房安全，不是危房（适用：C级、D级）"
    assert ruled_out["危房改造"].missing == ()


def test_house_renovation_undecided_without_the_house_grade(clean_dossier, policies):
    clean_dossier.update(primary_cause="因灾", other_causes=[])
    clean_dossier["conditions"] = {"drinking_water_safe": True}
    recommended, ruled_out = outcome(clean_dossier, policies)
    assert "危房改造" not in recommended
    assert ruled_out["危房改造"].because == "危房等级未填写"
    assert ruled_out["危房改造"].missing == ("conditions.dangerous_house_level",)


# --- missing data: never a false reason ---------------------------------------------------------


def test_members_without_ages_are_neither_fitted_nor_falsely_ruled_out(clean_dossier, policies):
    members = [member("孙一", "户主", None), member("孙二", "配偶", None)]
    dossier = single(clean_dossier, 2017, "缺技术", members[0])
    dossier["members"] = members
    recommended, ruled_out = outcome(dossier, policies)
    assert "技能培训" not in recommended
    assert ruled_out["技能培训"].because == "户主孙一、配偶孙二年龄未填写"
    assert ruled_out["技能培训"].missing == ("members[0].age", "members[1].age")
    # A measure without an age bound still fits them.
    assert recommended["产业扶贫"].because == "主要致贫原因为缺技术；户主孙一、配偶孙二（普通劳动力）"


def test_a_member_without_age_does_not_hide_one_who_fits(clean_dossier, policies):
    members = [member("孙一", "户主", None), member("孙二", "配偶", "1980-05-05")]
    dossier = single(clean_dossier, 2017, "缺技术", members[0])
    dossier["members"] = members
    recommended, _ = outcome(dossier, policies)
    assert recommended["技能培训"].members == ("孙二",)


def test_one_member_too_old_and_one_without_age_is_undecided(clean_dossier, policies):
    members = [member("孙一", "户主", "1940-01-01"), member("孙二", "配偶", None)]
    dossier = single(clean_dossier, 2017, "缺技术", members[0])
    dossier["members"] = members
    _, ruled_out = outcome(dossier, policies)
    assert ruled_out["技能培训"].because == "户主孙一 77 岁，超出 16–60 岁；配偶孙二年龄未填写"
    assert ruled_out["技能培训"].missing == ("members[1].age",)


def test_a_household_without_members(clean_dossier, policies):
    dossier = single(clean_dossier, 2017, "缺技术", member("x", "户主", None))
    dossier["members"] = []
    recommended, ruled_out = outcome(dossier, policies)
    assert ruled_out["技能培训"].because == "家庭成员未填写"
    assert ruled_out["技能培训"].missing == ("members",)
    assert "技能培训" not in recommended


def test_missing_attribute_is_said_not_guessed(cooking_dossier, policies):
    del cooking_dossier["attribute"]
    recommended, ruled_out = outcome(cooking_dossier, policies)
    assert "低保兜底" not in recommended
    assert ruled_out["低保兜底"].because == "贫困户属性未填写"
    assert ruled_out["低保兜底"].missing == ("attribute",)


def test_an_empty_dossier_has_no_recommendations(policies):
    assert recommend(Household({}, {}, {}, policies)) == ([], [])


# --- safety-net statuses ------------------------------------------------------------------------


def test_a_low_income_household_keeps_its_safety_net(clean_dossier, policies):
    clean_dossier["attribute"] = "低保户"   # the 2014 forms' word for 低保贫困户
    recommended, _ = outcome(clean_dossier, policies)
    assert recommended["低保兜底"].because == "主要致贫原因为因病；贫困户属性为低保贫困户"


def test_destitute_support_for_a_destitute_household(cooking_dossier, policies):
    cooking_dossier["attribute"] = "特困供养贫困户"
    recommended, _ = outcome(cooking_dossier, policies)
    assert recommended["特困供养"].because == (
        "户主张德福、配偶刘桂英（长期慢性病）；家中没有普通劳动力、技能劳动力（成员均为无劳动力）；贫困户属性为特困供养贫困户"
    )


def test_destitute_support_needs_every_member_without_labour(cooking_dossier, policies):
    cooking_dossier["attribute"] = "特困供养贫困户"
    cooking_dossier["members"][1]["labor"] = "弱劳动力或半劳动力"
    _, ruled_out = outcome(cooking_dossier, policies)
    assert ruled_out["特困供养"].because == "配偶刘桂英为弱劳动力或半劳动力（适用：丧失劳动力、无劳动力）"


# --- output -------------------------------------------------------------------------------------


def test_json_keeps_the_contract_keys(cooking_dossier, policies):
    recommendations, ruled_out = to_json(*recommend(household_of(cooking_dossier, policies)))
    assert recommendations[0] == {
        "measure": "健康扶贫",
        "because": "户主张德福、配偶刘桂英（长期慢性病）",
        "members": ["张德福", "刘桂英"],
        "family": "健康",
        "causes": ["因病"],
        "reference": policies.table("measures").reference("健康扶贫"),
    }
    assert set(ruled_out[0]) == {"measure", "because", "reference", "missing"}


def test_a_policy_folder_without_the_measure_table_is_reported(clean_dossier, policies):
    household = household_of(clean_dossier, policies)
    household.policies = Policies(Path("policies"), {}, {"causes": policies.table("causes")})
    with pytest.raises(DangkaError, match="政策目录缺少帮扶措施表（measures），无法推荐帮扶措施"):
        recommend(household)


# --- property: any household, no crash and no false reason --------------------------------------

_NAMES = ("甲", "乙", "丙", "丁")


def _words(name: str):
    return st.one_of(st.none(), st.sampled_from(contract.enumeration(name).names))


_MEMBER = st.fixed_dictionaries(
    {"relation": _words("relation"), "health": _words("health"), "labor": _words("labor"),
     "in_school": _words("in_school"),
     "birth_date": st.one_of(st.none(), st.dates(dt.date(1920, 1, 1), dt.date(2019, 12, 31)))}
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=st.lists(_MEMBER, max_size=4),
    cause=_words("cause"),
    others=st.lists(st.sampled_from(contract.enumeration("cause").names), max_size=2),
    attribute=_words("attribute"),
    level=_words("dangerous_house_level"),
    year=st.sampled_from([2015, 2017, 2019, None]),
    plan=st.lists(st.sampled_from(contract.enumeration("measure_kind").names), max_size=3),
)
def test_any_household_gets_each_measure_once_with_true_reasons(
    policies, people, cause, others, attribute, level, year, plan
):
    members = [{"name": name, **{key: value for key, value in person.items() if value is not None}}
               for name, person in zip(_NAMES, people, strict=False)]
    dossier = {"id": "T-1", "region": {"county": "封丘县", "township": "城关镇", "village": "东街村"},
               "year": year, "attribute": attribute, "primary_cause": cause, "other_causes": others,
               "members": members, "conditions": {"dangerous_house_level": level},
               "measures": [{"kind": kind} for kind in plan]}
    recommended, ruled_out = recommend(household_of(dossier, policies))
    measures = [item.measure for item in recommended + ruled_out]
    assert len(measures) == len(set(measures))
    assert all(item.because for item in recommended + ruled_out)
    names = {person["name"] for person in members}
    assert all(set(item.members) <= names for item in recommended)
    undated = [person["name"] for person in members if "birth_date" not in person]
    for item in ruled_out:
        for name in undated:
            # Nobody is said to be some age when no age was written.
            assert not re.search(rf"{name} \d+ 岁", item.because)
