"""The contract as code: dictionary, entities and fields, normalisation, derived values, records, structure."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangka import contract
from dossier_mutation import with_drawn_values
from dangka.contract import (
    ENTITIES,
    age_on,
    birth_date_from_id,
    entity,
    enumeration,
    id_check_char,
    id_number_valid,
    normalize,
    records,
    sex_from_id,
    structure_errors,
    value_path,
)

# The words of every enumeration as dossier.md lists them (the contract; never rename or drop).
DOSSIER_WORDS = {
    "attribute": ["一般贫困户", "低保贫困户", "特困供养贫困户"],
    "standard": ["国家标准", "省定标准", "市定标准"],
    "status": ["未脱贫", "已脱贫", "返贫"],
    "cause": ["因病", "因残", "因学", "因灾", "缺土地", "缺水", "缺技术", "缺劳力", "缺资金", "交通条件落后",
              "自身发展动力不足", "其他"],
    "relation": ["户主", "配偶", "之子", "之女", "之儿媳", "之女婿", "之孙子", "之孙女", "之外孙子", "之外孙女", "之父",
                 "之母", "之岳父", "之岳母", "之公公", "之婆婆", "之祖父", "之祖母", "之外祖父", "之外祖母", "其他"],
    "sex": ["男", "女"],
    "education": ["文盲或半文盲", "小学", "初中", "高中", "大专及以上", "学龄前儿童"],
    "in_school": ["非在校生", "学前教育", "小学", "七年级", "八年级", "九年级", "高中一年级", "高中二年级", "高中三年级",
                  "中职一年级", "中职二年级", "中职三年级", "高职一年级", "高职二年级", "高职三年级", "大专及以上"],
    "health": ["健康", "长期慢性病", "患有大病", "残疾"],
    "disability_level": ["一级", "二级", "三级", "四级"],
    "labor": ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"],
    "work_status": ["乡镇内务工", "乡镇外县内务工", "县外省内务工", "省外务工", "其他"],
    "meeting_kind": ["党支部提议", "两委商议", "党员大会审议", "村民代表会议决议"],
    "notice_level": ["村", "乡"],
    "contact_role": ["脱贫责任组组长", "驻村第一书记", "帮扶责任人"],
    "excluded_situation": ["有", "无"],
    "dangerous_house_level": ["C级", "D级"],
    "measure_kind": ["产业扶贫", "转移就业", "技能培训", "公益岗位", "扶贫小额信贷", "健康扶贫", "医疗救助", "教育扶贫",
                     "雨露计划", "危房改造", "易地扶贫搬迁", "生态补偿", "光伏扶贫", "低保兜底", "特困供养", "资产收益",
                     "饮水安全"],
    "unit_level": ["省直", "市直", "县直", "乡镇", "村级"],
}


@pytest.fixture()
def clean(examples_dir) -> dict:
    """A fresh copy of the clean example dossier."""
    return yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))


def by_id(dossier: dict, links: dict | None = None) -> dict[str, contract.Record]:
    return {record.id: record for record in records(dossier, links)}


def problems(dossier: dict) -> list[dict]:
    return [record.values for record in records(dossier) if record.entity == "problem"]


# -- the dictionary ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOSSIER_WORDS))
def test_enumeration_has_the_contract_words_in_order(name):
    assert enumeration(name).names == tuple(DOSSIER_WORDS[name])


@pytest.mark.parametrize("name", sorted(contract.dictionary()))
def test_enumeration_has_label_reference_and_unambiguous_spellings(name):
    words = enumeration(name)
    assert words.label and words.reference
    spellings = [spelling for word in words.words for spelling in (word.word, word.code, *word.aliases)]
    assert [spelling for spelling, n in Counter(spellings).items() if n > 1] == []


def test_codes_and_aliases_map_to_the_canonical_word():
    assert enumeration("cause").canonical("08") == "缺劳力"
    assert enumeration("cause").canonical("缺劳动力") == "缺劳力"
    assert enumeration("cause").canonical(8) == "缺劳力"
    assert enumeration("attribute").canonical("低保户") == "低保贫困户"
    assert enumeration("attribute").canonical("五保户") == "特困供养贫困户"
    assert enumeration("sex").canonical(1) == "男"
    assert enumeration("relation").canonical(" 户主 ") == "户主"
    assert enumeration("relation").code("配偶") == "02"
    assert enumeration("province").canonical("41") == "河南省"
    assert enumeration("province").canonical("河南") == "河南省"


def test_unknown_words_codes_and_shapes_are_not_canonical():
    words = enumeration("cause")
    assert [words.canonical(raw) for raw in ("因穷", "99", 99, True, 8.0, None, ["因病"])] == [None] * 7


def test_unknown_enumeration_is_a_clear_error():
    with pytest.raises(contract.DangkaError, match="国家字典中没有枚举“no_such”"):
        enumeration("no_such")


def test_every_enum_field_names_an_enumeration_of_the_dictionary():
    for entity_ in ENTITIES.values():
        for field_ in entity_.fields:
            assert field_.type in contract.FIELD_TYPES
            assert (field_.type == "enum") == (field_.enum is not None), (entity_.key, field_.key)
            if field_.enum:
                enumeration(field_.enum)


# -- entities and fields -------------------------------------------------------------------------


def test_entity_names_are_unique_and_clash_with_no_field_name():
    entity_names = Counter(name for entity_ in ENTITIES.values() for name in entity_.names)
    assert [name for name, n in entity_names.items() if n > 1] == []
    field_names = {name for entity_ in ENTITIES.values() for field_ in entity_.fields for name in field_.names}
    assert set(entity_names) & field_names == set()


@pytest.mark.parametrize("key", sorted(ENTITIES))
def test_field_names_are_unique_within_an_entity(key):
    names = Counter(name for field_ in ENTITIES[key].fields for name in field_.names)
    assert [name for name, n in names.items() if n > 1] == []


@pytest.mark.parametrize("key", sorted(ENTITIES))
def test_entities_stay_small_enough_for_the_engine(key):
    assert len(ENTITIES[key].fields) <= 25


def test_derived_fields_have_no_path_and_a_description():
    for entity_ in ENTITIES.values():
        for field_ in entity_.fields:
            if field_.derived:
                assert field_.path == "" and field_.description, (entity_.key, field_.key)


def test_lookup_by_key_label_and_alias():
    assert entity("member") is entity("成员") is entity("家庭成员") is ENTITIES["member"]
    assert entity("党员大会").filter == ("kind", "党员大会审议")
    assert entity("村级公示").base == "notice"
    assert entity("nobody") is None
    member = ENTITIES["member"]
    assert member.field("年龄").key == "age"
    assert member.field("身份证号码").key == "id_number"
    assert ENTITIES["income"].field("五保金").path == "transfer.destitute_support"
    assert member.field("shoe_size") is None


def test_views_filter_on_a_word_of_their_field():
    for view in (entity_ for entity_ in ENTITIES.values() if entity_.base):
        base = ENTITIES[view.base]
        field_key, word = view.filter
        assert view.fields == base.fields and view.path == base.path
        assert word in enumeration(base.field(field_key).enum).names


def test_every_dossier_path_of_the_contract_is_a_field(clean):
    """Every leaf of the clean example is read by some field (nothing of the contract is forgotten)."""
    read = {value_path(record, field_) for record in records(clean) for field_ in ENTITIES[record.entity].fields
            if not field_.derived}
    leaves = {leaf for leaf in _leaves(clean) if not leaf.startswith("helpers[")}  # helper ids feed the graph
    assert leaves - read == set()


def _leaves(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        for index, value in enumerate(node):
            yield from _leaves(value, f"{path}[{index}]")
    elif isinstance(node, list):
        for index, _ in enumerate(node):
            yield f"{path}[{index}]"
    elif node is not None:
        yield path


# -- normalisation -------------------------------------------------------------------------------


def field(entity_key: str, name: str) -> contract.Field:
    return ENTITIES[entity_key].field(name)


@pytest.mark.parametrize(("entity_key", "name", "raw", "value"), [
    ("member", "birth_date", "2017-05-09", dt.date(2017, 5, 9)),
    ("member", "birth_date", "2017/5/9", dt.date(2017, 5, 9)),
    ("member", "birth_date", "2017年5月9日", dt.date(2017, 5, 9)),
    ("member", "birth_date", dt.datetime(2017, 5, 9, 8, 30), dt.date(2017, 5, 9)),
    ("member", "id_number", 410727196504180116, "410727196504180116"),
    ("member", "id_number", 4.10727196504e14, "410727196504000"),
    ("member", "work_months", "6", 6),
    ("member", "work_months", 6.0, 6),
    ("income", "wage", "6000.5", 6000.5),
    ("income", "wage", 6000, 6000),
    ("conditions", "housing_safe", "是", True),
    ("conditions", "housing_safe", "否", False),
    ("conditions", "housing_safe", 1, True),
    ("member", "relation", "01", "户主"),
    ("member", "sex", 2, "女"),
    ("member", "labor", "半劳动力", "弱劳动力或半劳动力"),
    ("household", "primary_cause", "缺劳动力", "缺劳力"),
])
def test_normalize_accepts_words_codes_aliases_and_loose_shapes(entity_key, name, raw, value):
    assert normalize(field(entity_key, name), raw) == (value, None)


@pytest.mark.parametrize(("entity_key", "name", "raw", "reason"), [
    ("member", "birth_date", "1965-02-30", "不是存在的日期"),
    ("member", "birth_date", "五月十六日", r"应为日期（YYYY-MM-DD）"),
    ("member", "birth_date", 19650418, r"应为日期"),
    ("member", "sex", "M", "不是“性别”的取值（可选：男、女）"),
    ("member", "work_months", "六", "应为整数"),
    ("member", "work_months", 6.5, "应为整数"),
    ("member", "work_months", True, "应为整数，不是是/否"),
    ("income", "wage", "六千", "应为数字"),
    ("income", "wage", float("nan"), "应为有限的数字"),
    ("conditions", "housing_safe", "maybe", "应为是或否"),
    ("conditions", "housing_safe", 2, "应为是或否"),
    ("member", "name", ["李", "明"], "应为文字"),
    ("member", "name", True, "应为文字，不是是/否"),
])
def test_normalize_gives_a_chinese_reason_for_the_wrong_shape(entity_key, name, raw, reason):
    value, why = normalize(field(entity_key, name), raw)
    assert value is None and why.startswith(reason)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_values_are_absent_without_a_reason(raw):
    assert normalize(field("member", "birth_date"), raw) == (None, None)


# -- identity numbers and ages -------------------------------------------------------------------


def test_id_numbers_of_the_examples_are_valid():
    for number in ("410727196504180116", "410727196709020220", "410727200103150310", "410727194411030515"):
        assert id_number_valid(number)


def test_id_number_with_x_check_digit():
    assert id_check_char("11010519491231109") == "X"
    assert id_number_valid("11010519491231109X")
    assert id_number_valid("11010519491231109x")
    assert not id_number_valid("110105194912311090")


@pytest.mark.parametrize("number", [
    "410727196504180117",   # wrong check digit
    "41072719650418011",    # 17 characters
    "4107271965041801166",  # 19 characters
    "41072719650230011X",   # 30 February
    "41072719650418O116",   # a letter O for a zero
    "",
])
def test_invalid_id_numbers(number):
    assert not id_number_valid(number)


def test_birth_date_and_sex_from_id_number():
    assert birth_date_from_id("41072720000229100X") == dt.date(2000, 2, 29)
    assert birth_date_from_id("410727190002291000") is None  # 1900 was not a leap year
    assert sex_from_id("410727196504180116") == "男"
    assert sex_from_id("410727196709020220") == "女"
    assert sex_from_id("4107") is None


@pytest.mark.parametrize(("birth", "day", "age"), [
    (dt.date(1965, 4, 18), dt.date(2017, 4, 17), 51),
    (dt.date(1965, 4, 18), dt.date(2017, 4, 18), 52),
    (dt.date(1965, 4, 18), dt.date(2017, 12, 31), 52),
    (dt.date(1965, 12, 31), dt.date(2017, 12, 31), 52),
    (dt.date(2000, 2, 29), dt.date(2017, 2, 28), 16),
    (dt.date(2000, 2, 29), dt.date(2017, 3, 1), 17),
    (dt.date(2000, 2, 29), dt.date(2020, 2, 29), 20),
    (dt.date(2017, 6, 1), dt.date(2017, 12, 31), 0),
])
def test_age_on_a_day_around_birthdays_and_leap_days(birth, day, age):
    assert age_on(birth, day) == age


def test_member_age_is_taken_on_31_december_of_the_record_year(clean):
    clean["members"][2]["birth_date"] = "2001-12-31"
    members = by_id(clean)
    assert members["members[0]"].values["age"] == 52   # born 1965-04-18, from the identity number
    assert members["members[2]"].values["age"] == 16   # birthday on the last day still counts


def test_member_derived_identity_values(clean):
    clean["members"][0]["id_number"] = "41072720000229100X"
    clean["members"][0].pop("birth_date", None)
    clean["members"][1]["id_number"] = "410727196709020221"
    members = by_id(clean)
    head = members["members[0]"].values
    assert head["id_valid"] is True
    assert head["id_birth_date"] == head["birth_date"] == dt.date(2000, 2, 29)
    assert head["id_sex"] == "女"
    assert head["age"] == 17
    assert members["members[1]"].values["id_valid"] is False


def test_a_member_whose_identity_number_another_member_has_is_marked(clean):
    clean["members"][0]["id_number"] = "41072720000229100X"
    clean["members"][2]["id_number"] = "41072720000229100x"   # the same number, its check letter in lower case
    del clean["members"][1]["id_number"]
    members = by_id(clean)
    assert members["members[0]"].values["id_repeated"] is True
    assert members["members[2]"].values["id_repeated"] is True
    assert "id_repeated" not in members["members[1]"].values   # no number: nothing to compare
    clean["members"][2]["id_number"] = "410727200103150310"
    assert by_id(clean)["members[0]"].values["id_repeated"] is False


def test_birth_date_given_is_kept_beside_the_id_birth_date(clean):
    clean["members"][0]["birth_date"] = "1966-04-18"
    head = by_id(clean)["members[0]"].values
    assert head["birth_date"] == dt.date(1966, 4, 18)
    assert head["id_birth_date"] == dt.date(1965, 4, 18)
    assert head["age"] == 51


def test_no_age_without_a_year_or_before_birth(clean):
    clean["year"] = 1960
    assert "age" not in by_id(clean)["members[0]"].values
    del clean["year"]
    assert "age" not in by_id(clean)["members[0]"].values


# -- records -------------------------------------------------------------------------------------


def test_clean_and_cooking_examples_have_no_problem_records(examples_dir):
    for name in ("clean.yaml", "cooking.yaml"):
        dossier = yaml.safe_load((examples_dir / name).read_text(encoding="utf-8"))
        assert structure_errors(dossier) == []
        assert problems(dossier) == []


def test_records_ids_paths_and_parents(clean):
    found = records(clean)
    assert [record.id for record in found[:4]] == ["household", "members[0]", "members[1]", "members[2]"]
    assert len({record.id for record in found}) == len(found)
    assert all(record.entity in ENTITIES and not ENTITIES[record.entity].base for record in found)
    assert all(record.parent == "household" for record in found[1:])
    ids = {record.id: record for record in found}
    assert ids["procedure.publicity[1]"].path == "procedure.publicity[1]"
    assert ids["other_causes[0]"].values == {"cause": "因学"}
    assert ids["forms.card.contacts[2]"].values["role"] == "帮扶责任人"


def test_household_derived_values(examples_dir):
    cooking = yaml.safe_load((examples_dir / "cooking.yaml").read_text(encoding="utf-8"))
    household = by_id(cooking)["household"].values
    assert household["household_size"] == 2
    assert household["no_labor_count"] == 2 and household["labor_count"] == 0
    assert household["ill_count"] == 2 and household["elderly_count"] == 2
    assert household["student_count"] == 0 and household["disabled_count"] == 0
    assert household["head_name"] == "张德福"
    assert household["province"] == "河南省"
    assert household["other_cause_count"] == 0 and household["measure_count"] == 2 and household["helper_count"] == 1


def test_province_from_region_wins_over_the_id_number(clean):
    clean["region"]["province"] = "贵州"
    assert by_id(clean)["household"].values["province"] == "贵州省"
    clean["region"]["province"] = "火星"
    assert "province" not in by_id(clean)["household"].values
    assert problems(clean)[0]["path"] == "province"


def test_income_computations(clean):
    income = by_id(clean)["income"].values
    assert income["transfer_sum"] == 0
    assert income["net_income"] == 6000 + 2400 + 0 + 0 - 600
    assert income["per_capita_computed"] == 2600
    clean["income"]["transfer"]["pension"] = 1000
    clean["income"]["wage"] = 6001
    income = by_id(clean)["income"].values
    assert income["transfer_sum"] == 1000
    assert income["per_capita_computed"] == round((6001 + 2400 + 1000 - 600) / 3, 2)


@pytest.mark.parametrize("missing", ["wage", "business_expense", "transfer"])
def test_income_computations_are_absent_when_an_input_is_absent(clean, missing):
    del clean["income"][missing]
    income = by_id(clean)["income"].values
    assert "per_capita_computed" not in income and "net_income" not in income
    assert ("transfer_sum" in income) == (missing != "transfer")


def test_notice_days_count_both_ends_and_meetings_keep_their_order(clean):
    found = by_id(clean)
    assert found["procedure.publicity[0]"].values["days"] == 7
    assert [found[f"procedure.meetings[{i}]"].values["position"] for i in range(4)] == [1, 2, 3, 4]


def test_measure_beneficiary_known(clean):
    clean["measures"][0]["beneficiary"] = "李国庆"
    del clean["measures"][1]["beneficiary"]
    found = by_id(clean)
    assert found["measures[0]"].values["beneficiary_known"] is False
    assert "beneficiary_known" not in found["measures[1]"].values
    assert found["measures[2]"].values["beneficiary_known"] is True


def test_wrong_values_become_problem_records_and_stay_out_of_values(clean):
    clean["members"][1]["birth_date"] = "1967-02-30"
    clean["members"][1]["sex"] = "M"
    clean["income"]["wage"] = "六千"
    found = by_id(clean)
    assert found["members[1]"].values["birth_date"] == dt.date(1967, 9, 2)  # from the identity number
    assert "sex" not in found["members[1]"].values
    assert "wage" not in found["income"].values and "per_capita_computed" not in found["income"].values
    assert problems(clean) == [
        {"entity_label": "成员", "field_label": "性别", "path": "members[1].sex", "raw": "M",
         "reason": "不是“性别”的取值（可选：男、女）"},
        {"entity_label": "成员", "field_label": "出生日期", "path": "members[1].birth_date", "raw": "1967-02-30",
         "reason": "不是存在的日期"},
        {"entity_label": "收入", "field_label": "工资性收入", "path": "income.wage", "raw": "六千", "reason": "应为数字"},
    ]
    assert found["problems[0]"].parent == "members[1]"


def test_unknown_keys_are_kept_and_ignored(clean):
    clean["members"][0]["shoe_size"] = 42
    clean["hobby"] = {"anything": [1, 2]}
    assert problems(clean) == []
    assert "shoe_size" not in by_id(clean)["members[0]"].values


LINKS = {
    "helpers": [
        {"helper_id": "H-002", "registered": True, "name": "孙丽华", "unit": "U-FQ-WJ", "unit_name": "封丘县卫生健康委员会",
         "unit_level": "县直", "position": "副科长", "phone": "13803731102", "load": 14, "village_count": 2},
        {"helper_id": "H-404", "registered": False, "name": None, "load": 1, "village_count": 1},
    ],
    "village": {"registered": True, "first_secretary_name": "周振华", "first_secretary_unit": "U-FQ-JY",
                "first_secretary_phone": "13903731201", "group_leader_name": "吴建军",
                "group_leader_position": "城关镇副镇长", "group_leader_phone": "13903731202"},
    "registry_contacts": {
        "脱贫责任组组长": {"name": "吴建军", "phone": "13903731202"},
        "驻村第一书记": {"name": "周振华", "phone": "13903731209"},
        "帮扶责任人": [{"name": "赵文博", "phone": "13803731101"}, {"name": "孙丽华", "phone": "13803731102"}],
    },
}


def test_links_become_helper_and_village_records_and_registry_values_on_contacts(clean):
    found = by_id(clean, LINKS)
    assert found["helpers[0]"].entity == "helper"
    assert found["helpers[0]"].values["load"] == 14 and found["helpers[0]"].values["unit_level"] == "县直"
    assert found["helpers[1]"].values == {"helper_id": "H-404", "registered": False, "load": 1, "village_count": 1}
    assert found["village"].path == "region" and found["village"].values["first_secretary_name"] == "周振华"
    assert found["forms.card.contacts[1]"].values["registry_phone"] == "13903731209"
    # The helper contact is matched by name to the registered helper, not just the first one.
    assert found["forms.card.contacts[2]"].values["registry_name"] == "孙丽华"
    clean["forms"]["card"]["contacts"][2]["name"] = "钱多多"
    assert by_id(clean, LINKS)["forms.card.contacts[2]"].values["registry_name"] == "赵文博"


def test_value_path_for_read_and_derived_values(clean):
    found = by_id(clean)
    member = ENTITIES["member"]
    assert value_path(found["members[0]"], member.field("age")) == "members[0].age"
    assert value_path(found["members[0]"], member.field("参加大病保险")) == "members[0].insurance.serious_illness"
    assert value_path(found["household"], ENTITIES["household"].field("村")) == "region.village"
    assert value_path(found["other_causes[0]"], ENTITIES["other_cause"].field("cause")) == "other_causes[0]"


# -- structure -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("id"), r"缺少户编号（id）"),
    (lambda d: d.__setitem__("id", ["a"]), r"户编号（id）应为文字"),
    (lambda d: d.pop("region"), r"缺少行政区划（region）"),
    (lambda d: d.__setitem__("region", "封丘县"), r"行政区划（region）应为包含"),
    (lambda d: d["region"].__setitem__("township", " "), r"行政区划缺少乡镇（region.township）"),
    (lambda d: d.pop("members"), r"缺少家庭成员（members）"),
    (lambda d: d.__setitem__("members", []), r"至少应有一人"),
    (lambda d: d.__setitem__("members", {"name": "x"}), r"家庭成员（members）应为列表"),
    (lambda d: d["members"].append("李四"), r"家庭成员第 4 项（members\[3\]）应为映射"),
    (lambda d: d["members"][2].pop("name"), r"家庭成员第 3 项（members\[2\]）缺少姓名（name）"),
    (lambda d: d["members"][1].__setitem__("relation", "01"), r"应恰有一位户主（relation: 户主），现有 2 位"),
    (lambda d: d["members"][0].__setitem__("relation", "户长"), r"现有 0 位"),
    (lambda d: d.__setitem__("income", [1]), r"收入（income）应为映射"),
    (lambda d: d["income"].__setitem__("transfer", 0), r"转移性收入（income.transfer）应为映射"),
    (lambda d: d["members"][0].__setitem__("insurance", True), r"参保情况（members\[0\].insurance）应为映射"),
    (lambda d: d.__setitem__("measures", {"kind": "产业扶贫"}), r"措施（measures）应为列表"),
    (lambda d: d["measures"].append("产业扶贫"), r"措施第 4 项（measures\[3\]）应为映射"),
    (lambda d: d.__setitem__("other_causes", [["因学"]]), r"其他致贫原因第 1 项（other_causes\[0\]）应为单个取值"),
    (lambda d: d.__setitem__("forms", "齐全"), r"表卡（forms）应为映射"),
    (lambda d: d["forms"].__setitem__("card", []), r"明白卡（forms.card）应为映射"),
    (lambda d: d["procedure"]["publicity"][0].__setitem__("entry", "李国强"), r"公示内容（procedure.publicity\[0\].entry）"),
    (lambda d: d.__setitem__("helpers", "H-002"), r"帮扶责任人（helpers）应为责任人编号的列表"),
])
def test_structure_errors_name_what_is_wrong(clean, change, message):
    change(clean)
    assert re.search(message, "；".join(structure_errors(clean)))


@pytest.mark.parametrize("dossier", [None, [], "HN-1", 3])
def test_a_dossier_that_is_not_a_mapping(dossier):
    assert structure_errors(dossier)[0].startswith("档案应为映射")


def test_clean_example_fits_the_structure(clean):
    assert structure_errors(clean) == []


def test_english_structure_messages():
    from dangka.i18n import set_lang
    set_lang("en")
    try:
        assert structure_errors({}) == ["missing household id (id)", "missing region (region)",
                                        "missing household members (members)"]
    finally:
        set_lang("zh")


# -- no input makes the contract raise -----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.dates().map(lambda day: day) | st.sampled_from(["户主", "01", "因病", "2017-02-29", "41072720000229100X"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "name", "relation", "members", "region", "income", "transfer", "year", "birth_date",
                         "id_number", "measures", "procedure", "publicity", "start", "end", "forms", "card",
                         "contacts", "role", "county", "township", "village", "x"]) | st.text(max_size=5),
        children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, json_values)
def test_records_and_structure_errors_never_raise_on_any_structure(dossier, links):
    records(dossier, links)
    structure_errors(dossier)


@pytest.fixture(scope="module")
def clean_once(examples_dir) -> dict:
    """The clean example, parsed once for the property tests (they copy it)."""
    return yaml.safe_load((examples_dir / "clean.yaml").read_text(encoding="utf-8"))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_records_never_raise_on_a_dossier_with_random_values(clean_once, data):
    dossier = with_drawn_values(clean_once, data, json_values, most=5)
    for record in records(dossier):
        assert record.entity in ENTITIES
    structure_errors(dossier)
