"""Tests for the policy knowledge base: the shipped files, look-ups by year and province, bad files."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangka.errors import DangkaError, Location
from dangka.i18n import set_lang
from dangka.policy import FOREIGN_FILES, TYPES, Policies, PolicyError, default_directory, province_short_name

SHIPPED = default_directory()
PYTHON_TYPES = {"num": (int, float), "int": (int,), "bool": (bool,), "str": (str,), "list": (list,)}


@pytest.fixture(scope="module")
def policies() -> Policies:
    """The policy folder shipped in the package."""
    return Policies.load()


@pytest.fixture(scope="module")
def dictionary() -> dict:
    """The national dictionary written by the contract helper, or skip when it is not there yet."""
    path = SHIPPED / "dictionary.yaml"
    if not path.exists():
        pytest.skip("dictionary.yaml not written yet")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dictionary_words(dictionary: dict, name: str) -> set[str]:
    return {entry["word"] for entry in dictionary[name]["words"]}


def write_folder(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return folder


# --- the shipped files ---------------------------------------------------------------------


def test_shipped_policies_load_with_the_four_tables(policies):
    assert set(policies.tables) == {"causes", "measures", "exclusions", "procedure"}
    assert {path.name for path in policies.files()} >= {"parameters.yaml", "causes.yaml", "measures.yaml"}


@pytest.mark.parametrize(
    "key, label, type_name, value_2017",
    [
        ("poverty_line", "贫困线", "num", 3335),
        ("notice_min_days", "公示最少天数", "int", 7),
        ("quorum_ratio", "到会比例", "num", 2 / 3),
        ("majority_ratio", "通过比例", "num", 0.5),
        ("helper_load_limit", "帮扶户数上限", "int", 5),
        ("elderly_age", "老年年龄", "int", 60),
        ("working_age_min", "劳动年龄下限", "int", 16),
        ("working_age_max", "劳动年龄上限", "int", 60),
        ("microcredit_age_min", "小额信贷最低年龄", "int", 18),
        ("microcredit_age_max", "小额信贷最高年龄", "int", 60),
        ("max_other_causes", "其他致贫原因上限", "int", 2),
        ("exit_requires_safe_housing", "退出需住房安全", "bool", True),
        ("exit_requires_medical_insurance", "退出需基本医疗保障", "bool", True),
        ("exit_requires_compulsory_education", "退出需义务教育保障", "bool", True),
        ("exit_requires_drinking_water", "退出需饮水安全", "bool", False),
        ("away_years_threshold", "举家外出年数阈值", "int", 2),
        ("machinery_value_threshold", "农机价值阈值", "num", 30000),
    ],
)
def test_required_parameters_have_their_label_type_and_value(policies, key, label, type_name, value_2017):
    parameter = policies.parameter(label)
    assert parameter is not None and parameter.key == key
    assert parameter.type == type_name
    value, reference = parameter.value(2017, "河南省")
    assert value == pytest.approx(value_2017) and reference


def test_every_parameter_value_has_the_declared_python_type(policies):
    for parameter in policies.parameters.values():
        entries = list(parameter.values) + [e for values in parameter.regional.values() for e in values]
        for entry in entries:
            value, _ = parameter.value(entry.from_year, None)
            assert isinstance(value, PYTHON_TYPES[parameter.type]), parameter.key
            assert parameter.type == "bool" or not isinstance(value, bool), parameter.key


def test_every_value_and_row_has_a_reference(policies):
    for parameter in policies.parameters.values():
        assert parameter.reference_default.strip()
        for entry in list(parameter.values) + [e for values in parameter.regional.values() for e in values]:
            assert entry.reference.strip(), parameter.key
    for table in policies.tables.values():
        for key, row in table.rows.items():
            assert row["reference"].strip(), (table.key, key)
            for variant in row.get("regional", {}).values():
                assert variant["reference"].strip(), (table.key, key)


def test_cause_and_measure_tables_refer_to_each_other_both_ways(policies):
    causes, measures = policies.table("致贫原因"), policies.table("帮扶措施")
    for cause in causes.rows:
        for measure in causes.get(cause, "measures"):
            assert measure in measures.rows, (cause, measure)
            assert cause in measures.get(measure, "causes"), (cause, measure)
    for measure in measures.rows:
        for cause in measures.get(measure, "causes"):
            assert measure in causes.get(cause, "measures"), (measure, cause)


def test_tables_use_the_dictionary_words(policies, dictionary):
    assert set(policies.table("causes").rows) == dictionary_words(dictionary, "cause")
    assert set(policies.table("measures").rows) == dictionary_words(dictionary, "measure_kind")
    for table in policies.tables.values():
        for column in table.columns.values():
            if column.enum is None:
                continue
            allowed = dictionary_words(dictionary, column.enum)
            for row_key in table.rows:
                assert set(table.get(row_key, column.key) or ()) <= allowed, (table.key, row_key, column.key)


def test_procedure_words_and_exclusion_facts_match_the_contract(policies, dictionary):
    procedure = policies.table("识别程序")
    words = {procedure.get(row, "word") for row in procedure.rows} - {None}
    assert words == dictionary_words(dictionary, "meeting_kind") | dictionary_words(dictionary, "notice_level")
    ordered = sorted(procedure.rows, key=lambda row: procedure.get(row, "order"))
    assert ordered[1:5] == ["党支部提议", "两委商议", "党员大会审议", "村民代表会议决议"]
    facts = {policies.table("exclusions").get(row, "fact") for row in policies.table("exclusions").rows}
    assert facts == {
        f"assets.{key}"
        for key in (
            "car",
            "machinery_value",
            "town_house",
            "business_registered",
            "public_employee",
            "village_cadre",
            "hires_labor",
            "away_years",
            "split_household",
        )
    }


def test_regional_keys_are_dictionary_provinces(policies, dictionary):
    provinces = dictionary_words(dictionary, "province")
    for parameter in policies.parameters.values():
        assert set(parameter.regional) <= provinces, parameter.key
    for table in policies.tables.values():
        for row in table.rows.values():
            assert set(row.get("regional", {})) <= provinces, table.key


def test_parameter_list_words_are_dictionary_words(policies, dictionary):
    assert set(policies.parameter("dangerous_house_levels").value(None)[0]) == dictionary_words(
        dictionary, "dangerous_house_level"
    )
    labor = dictionary_words(dictionary, "labor")
    assert set(policies.parameter("labor_words_able").value(None)[0]) < labor
    assert set(policies.parameter("labor_words_full").value(None)[0]) < labor


# --- look-ups ------------------------------------------------------------------------------


def test_poverty_line_by_year(policies):
    line = policies.parameter("poverty_line")
    assert line.value(2014)[0] == 2800
    assert line.value(2015)[0] == 2855
    assert line.value(2019)[0] == 3747
    assert line.value(None)[0] == 4000
    assert line.value(2030)[0] == 4000


def test_a_year_between_two_froms_takes_the_earlier_value(policies):
    microcredit = policies.parameter("小额信贷最高年龄")
    assert microcredit.value(2016)[0] == 60
    assert microcredit.value(2018)[0] == 60
    value, reference = microcredit.value(2019)
    assert value == 65 and "银保监发〔2019〕24号" in reference


def test_a_year_before_the_first_from_takes_the_earliest_value(policies):
    assert policies.parameter("poverty_line").value(2005) == policies.parameter("poverty_line").value(2011)
    assert policies.parameter("exit_requires_drinking_water").value(2014)[0] is False


def test_a_province_override_applies_from_its_year_and_by_short_name(policies):
    line = policies.parameter("贫困线")
    assert line.value(2017, "广东省")[0] == 4000
    assert line.value(2017, "广东")[0] == 4000
    assert line.value(2015, "广东省")[0] == 2855  # before the provincial series: the national value
    assert line.value(2017, "河南省")[0] == 3335
    assert line.value(2017, "不存在省")[0] == 3335


def test_a_province_with_five_notice_days(tmp_path):
    folder = write_folder(
        tmp_path / "policies",
        {
            "parameters.yaml": """
                kind: parameters
                parameters:
                  notice_min_days:
                    label: 公示最少天数
                    description: 公示至少持续的天数
                    unit: 天
                    type: int
                    values:
                      - {from: 2014, value: 7, reference: 全国通行规定}
                    regional:
                      甘肃省:
                        - {from: 2016, value: 5, reference: 测试用的省级细则}
            """
        },
    )
    notice_days = Policies.load(folder).parameter("公示最少天数")
    assert notice_days.value(2017, "甘肃省") == (5, "测试用的省级细则")
    assert notice_days.value(2017, "甘肃") == (5, "测试用的省级细则")
    assert notice_days.value(2015, "甘肃省") == (7, "全国通行规定")
    assert notice_days.value(2017, "河南省") == (7, "全国通行规定")
    assert Policies.load(folder).resolve(2017, "甘肃省") == {"notice_min_days": 5}


def test_resolve_gives_every_parameter(policies):
    resolved = policies.resolve(2017, "河南省")
    assert set(resolved) == set(policies.parameters)
    assert resolved["poverty_line"] == 3335 and resolved["notice_min_days"] == 7
    assert policies.resolve(2017, "江苏省")["poverty_line"] == 6000


def test_list_values_are_copies(policies):
    levels = policies.parameter("dangerous_house_levels").value(2017)[0]
    levels.append("A级")
    assert policies.parameter("dangerous_house_levels").value(2017)[0] == ["C级", "D级"]


def test_table_cells_that_name_a_parameter_follow_year_and_province(policies):
    measures = policies.table("措施目录")
    assert measures.lookup("扶贫小额信贷", "最高年龄", 2017)[0] == 60
    assert measures.lookup("扶贫小额信贷", "max_age", 2020)[0] == 65
    assert measures.get("扶贫小额信贷", "max_age") == 65
    assert measures.get("技能培训", "max_age") == 60
    assert measures.get("健康扶贫", "max_age") is None
    assert measures.values("雨露计划", 2017)["in_school"][0] == "中职一年级"
    assert measures.values("不存在的措施") is None


def test_table_regional_rows_override_only_their_columns(policies):
    exclusions = policies.table("不能识别为贫困户的情形")
    assert exclusions.lookup("village_cadre", "处理方式", 2017, "江西省")[0] == "重点核实"
    assert exclusions.lookup("村两委干部", "mode", 2017, "河南省")[0] == "排除"
    assert exclusions.lookup("小轿车", "fact", 2017, "云南省")[0] == "assets.car"
    assert "3 万元" in exclusions.lookup("car", "description", 2017, "云南")[0]
    assert "江西省" in exclusions.reference("town_house", "江西省")
    assert exclusions.lookup("machinery_value", "threshold", 2017, "江西省")[0] == 30000


def test_table_get_is_none_for_an_unknown_row_or_column(policies):
    causes = policies.table("causes")
    assert causes.get("不存在", "measures") is None
    assert causes.get("因病", "不存在的列") is None
    assert causes.lookup("因病", "不存在的列") == (None, "")
    assert causes.get("因学", "labor_absent") is None  # optional and not written
    assert causes.column("适用措施").key == "measures"
    assert causes.row_key("缺劳动力") == "缺劳力"


@pytest.mark.parametrize("year", [None, 2014, 2017, 2020])
@pytest.mark.parametrize("province", [None, "河南省", "江西", "云南省"])
def test_table_cells_in_force_are_the_lookups_resolved_once(policies, year, province):
    for table in policies.tables.values():
        cells = table.in_force(year, province)
        assert table.in_force(year, province) is cells
        assert list(cells) == list(table.rows)
        for row, values in cells.items():
            expected = table.values(row, year, province)
            assert dict(values) == {column: tuple(value) if isinstance(value, list) else value
                                    for column, value in expected.items()}


def test_tables_in_force_are_each_tables_shared_cells(policies):
    tables = policies.tables_in_force(2017, "江西省")
    assert policies.tables_in_force(2017, "江西省") is tables
    assert list(tables) == list(policies.tables)
    assert all(tables[key] is table.in_force(2017, "江西省") for key, table in policies.tables.items())
    with pytest.raises(TypeError):
        tables["causes"] = {}


def test_table_cells_in_force_are_read_only(policies):
    measures = policies.table("measures")
    cells = measures.in_force(2017, "河南省")
    with pytest.raises(TypeError):
        cells["扶贫小额信贷"] = {}
    with pytest.raises(TypeError):
        cells["扶贫小额信贷"]["max_age"] = 99
    assert cells["扶贫小额信贷"]["max_age"] == 60 and measures.in_force(2020, "河南省")["扶贫小额信贷"]["max_age"] == 65
    assert isinstance(cells["雨露计划"]["in_school"], tuple)


@pytest.mark.parametrize("key", ["causes", "measures", "exclusions"])
def test_a_row_is_found_by_its_key_or_an_alias(policies, key):
    table = policies.table(key)
    for row_key, row in table.rows.items():
        assert table.row_key(row_key) == row_key
        assert all(table.row_key(alias) == row_key for alias in row.get("aliases", ()))
    assert table.row_key("无此项") is None and table.row_key("") is None


def test_names_find_parameters_and_tables(policies):
    assert policies.parameter("扶贫标准").key == "poverty_line"
    assert policies.parameter("poverty_line").label == "贫困线"
    assert policies.parameter("没有这个参数") is None
    assert policies.table("致贫原因表").key == "causes"
    assert policies.table("没有这个表") is None


def test_province_short_name():
    assert province_short_name("河南省") == "河南"
    assert province_short_name("广西壮族自治区") == "广西"
    assert province_short_name("新疆维吾尔自治区") == "新疆"
    assert province_short_name("北京市") == "北京"
    assert province_short_name("内蒙古自治区") == "内蒙古"


def test_digest_covers_every_yaml_file_including_other_helpers(tmp_path, policies):
    assert {path.name for path in policies.files()} >= FOREIGN_FILES & {p.name for p in SHIPPED.glob("*.yaml")}
    copy = tmp_path / "policies"
    shutil.copytree(SHIPPED, copy)
    before = Policies.load(copy).digest()
    assert before == policies.digest()
    with (copy / "grading.yaml").open("a", encoding="utf-8") as grading:
        grading.write("# changed\n")
    assert Policies.load(copy).digest() != before


# --- bad policy files ----------------------------------------------------------------------

GOOD_PARAMETER = """
    kind: parameters
    parameters:
      notice_min_days:
        label: 公示最少天数
        description: 公示至少持续的天数
        unit: 天
        type: int
        values:
          - {from: 2014, value: 7, reference: 国开办发〔2014〕24号}
"""

GOOD_TABLES = {
    "causes.yaml": """
        kind: table
        key: causes
        label: 致贫原因
        key_label: 致贫原因
        columns:
          measures: {label: 适用措施, type: list, refers: measures}
        rows:
          因病: {measures: [健康扶贫], reference: 指标解释}
    """,
    "measures.yaml": """
        kind: table
        key: measures
        label: 帮扶措施
        key_label: 措施类别
        columns:
          family: {label: 类别, type: str, words: [健康, 教育]}
          max_age: {label: 最高年龄, type: int, optional: true}
        rows:
          健康扶贫: {family: 健康, reference: 国卫财务发〔2016〕26号}
    """,
}


def parameters_with(body: str) -> dict[str, str]:
    return {
        "parameters.yaml": "kind: parameters\nparameters:\n" + textwrap.indent(textwrap.dedent(body).lstrip("\n"), "  ")
    }


def notice_days(*values: str, type_: str = "int", regional: dict[str, str] | None = None) -> dict[str, str]:
    """parameters.yaml holding notice_min_days alone: its value rows, and a regional row per region."""
    lines = ["notice_min_days:", "  label: 公示最少天数", "  description: 天数", f"  type: {type_}", "  values:"]
    lines += [f"    - {row}" for row in values]
    if regional:
        lines.append("  regional:")
        for region, row in regional.items():
            lines += [f"    {region}:", f"      - {row}"]
    return parameters_with("\n".join(lines) + "\n")


# One malformed folder per failure mode: (files, file the error names, its line, message pattern).
MALFORMED = {
    "yaml syntax": (
        {"parameters.yaml": "kind: parameters\nparameters:\n  x: [1, 2\n  y: 3\n"},
        "parameters.yaml",
        4,
        "YAML 格式错误：第 4 行方括号 \\[ \\] 没有闭合",
    ),
    "tab indentation": (
        {"parameters.yaml": "kind: parameters\nparameters:\n\tx: 1\n"},
        "parameters.yaml",
        3,
        "制表符",
    ),
    "value without reference": (
        notice_days("{from: 2014, value: 7}"),
        "parameters.yaml",
        8,
        "缺少出处 reference",
    ),
    "wrong type": (
        notice_days("{from: 2014, value: 七天, reference: 某文件}"),
        "parameters.yaml",
        8,
        "必须是整数",
    ),
    "boolean where an integer belongs": (
        notice_days("{from: 2014, value: true, reference: 某文件}"),
        "parameters.yaml",
        8,
        "必须是整数",
    ),
    "unknown type": (
        notice_days("{from: 2014, value: 7, reference: 某文件}", type_="integer"),
        "parameters.yaml",
        6,
        "type 必须是",
    ),
    "duplicate key": (
        parameters_with("""
            notice_min_days:
              label: 公示最少天数
              label: 公示天数
              description: 天数
              type: int
              values:
                - {from: 2014, value: 7, reference: 某文件}
        """),
        "parameters.yaml",
        5,
        "重复的键“label”",
    ),
    "misspelt field": (
        notice_days("{from: 2014, value: 7, refrence: 某文件}"),
        "parameters.yaml",
        8,
        "不认识的字段“refrence”",
    ),
    "years out of order": (
        notice_days("{from: 2016, value: 5, reference: 某文件}", "{from: 2014, value: 7, reference: 某文件}"),
        "parameters.yaml",
        7,
        "从早到晚",
    ),
    "year that is not a year": (
        notice_days("{from: 2014-01-01, value: 7, reference: 某文件}"),
        "parameters.yaml",
        8,
        "from 必须是年份",
    ),
    "region that is not a province": (
        notice_days("{from: 2014, value: 7, reference: 某文件}", regional={"封丘县": "{from: 2016, value: 5, reference: 某文件}"}),
        "parameters.yaml",
        10,
        "不是省级名称",
    ),
    "province that does not exist": (
        notice_days("{from: 2014, value: 7, reference: 某文件}", regional={"火星省": "{from: 2016, value: 5, reference: 某文件}"}),
        "parameters.yaml",
        10,
        "“火星省”不是省级名称",
    ),
    "table row for a province that does not exist": (
        {
            **GOOD_TABLES,
            "measures.yaml": GOOD_TABLES["measures.yaml"].replace(
                "reference: 国卫财务发〔2016〕26号}", "reference: 某文件, regional: {江南省: {family: 教育, reference: 某文件}}}"
            ),
        },
        "measures.yaml",
        9,
        "地区“江南省”必须是省级全称",
    ),
    "name used twice": (
        parameters_with("""
            notice_min_days:
              label: 公示最少天数
              description: 天数
              type: int
              values:
                - {from: 2014, value: 7, reference: 某文件}
            notice_days:
              label: 公示最少天数
              description: 天数
              type: int
              values:
                - {from: 2014, value: 7, reference: 某文件}
        """),
        "parameters.yaml",
        9,
        "同时指",
    ),
    "no kind": (
        {"parameters.yaml": "parameters: {}\n"},
        "parameters.yaml",
        1,
        "kind: parameters 或 kind: table",
    ),
    "empty file": (
        {"parameters.yaml": ""},
        "parameters.yaml",
        None,
        "kind: parameters 或 kind: table",
    ),
    "not UTF-8": (
        {"parameters.yaml": "kind: parameters\n# 贫困线\n".encode("gbk")},
        "parameters.yaml",
        2,
        "不是 UTF-8",
    ),
    "unsafe YAML tag": (
        {"parameters.yaml": "kind: !!python/object/apply:os.system [echo hi]\n"},
        "parameters.yaml",
        1,
        "YAML 格式错误",
    ),
    "row without reference": (
        {**GOOD_TABLES, "causes.yaml": GOOD_TABLES["causes.yaml"].replace(", reference: 指标解释", "")},
        "causes.yaml",
        8,
        "缺少出处 reference",
    ),
    "row naming an unknown measure": (
        {**GOOD_TABLES, "causes.yaml": GOOD_TABLES["causes.yaml"].replace("[健康扶贫]", "[健康扶贫, 养老扶贫]")},
        "causes.yaml",
        8,
        "“养老扶贫”不在表“measures”中",
    ),
    "word outside a column's words": (
        {**GOOD_TABLES, "measures.yaml": GOOD_TABLES["measures.yaml"].replace("family: 健康,", "family: 医疗,")},
        "measures.yaml",
        9,
        "不允许的词：医疗",
    ),
    "cell of the wrong type": (
        {
            **GOOD_TABLES,
            "measures.yaml": GOOD_TABLES["measures.yaml"].replace("family: 健康,", "family: 健康, max_age: 六十,"),
        },
        "measures.yaml",
        9,
        "必须是整数",
    ),
    "row missing a required column": (
        {**GOOD_TABLES, "measures.yaml": GOOD_TABLES["measures.yaml"].replace("family: 健康, ", "")},
        "measures.yaml",
        9,
        "缺少列“family”",
    ),
    "cell naming an unknown parameter": (
        {
            **GOOD_TABLES,
            "parameters.yaml": GOOD_PARAMETER,
            "measures.yaml": GOOD_TABLES["measures.yaml"].replace(
                "family: 健康,", "family: 健康, max_age: {parameter: nope},"
            ),
        },
        "measures.yaml",
        9,
        "参数“nope”不存在",
    ),
    "regional row without reference": (
        {
            **GOOD_TABLES,
            "measures.yaml": GOOD_TABLES["measures.yaml"].replace(
                "reference: 国卫财务发〔2016〕26号}", "reference: 某文件, regional: {江西省: {family: 教育}}}"
            ),
        },
        "measures.yaml",
        9,
        "（江西省）缺少出处 reference",
    ),
    # PyYAML's scanner, which reads the policy files, would take the escape into a string no report can write.
    "surrogate escape in a string": (
        {**GOOD_TABLES, "measures.yaml": GOOD_TABLES["measures.yaml"].replace(
            "reference: 国卫财务发〔2016〕26号}", 'reference: "\\ud800国卫财务发〔2016〕26号"}')},
        "measures.yaml",
        9,
        r"YAML 格式错误：第 9 行的文字含有 Unicode 代理项转义（如 \\ud800），不是有效的文字",
    ),
    # The policy files are read with the dossiers' guards (dangka.load.load_yaml_document).
    "number of 5000 digits": (
        {"parameters.yaml": f"kind: parameters\nparameters:\n  x: {'9' * 5000}\n".encode()},
        "parameters.yaml",
        3,
        "位数过多",
    ),
    "nested 20,000 levels deep": (
        {"parameters.yaml": ("kind: parameters\nparameters:\n  x: " + "[" * 20_000 + "]" * 20_000 + "\n").encode()},
        "parameters.yaml",
        3,
        "嵌套过深",
    ),
    "control character": (
        {"parameters.yaml": "kind: parameters\nparameters:\n  x: \"a\x07\"\n".encode()},
        "parameters.yaml",
        3,
        "第 3 行含有不允许的控制字符",
    ),
    "merge keys doubling a mapping at every level": (
        {"parameters.yaml": ("kind: parameters\nparameters:\n  a0: &a0 {x: 1, y: 2}\n" + "".join(
            f"  a{n}: &a{n} {{<<: [*a{n - 1}, *a{n - 1}]}}\n" for n in range(1, 40))).encode()},
        "parameters.yaml",
        19,
        "远大于文件本身",
    ),
    "aliases repeated a billion times": (
        {"parameters.yaml": ("kind: parameters\nparameters:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"  a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 10))).encode()},
        "parameters.yaml",
        None,
        "远大于文件本身",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_each_malformed_policy_file_names_file_and_line(tmp_path, case):
    files, file_name, line, pattern = MALFORMED[case]
    folder = write_folder(tmp_path / "policies", files)
    with pytest.raises(PolicyError, match=pattern) as caught:
        Policies.load(folder)
    error = caught.value
    assert isinstance(error, DangkaError) and error.code == "policy.invalid"
    assert Path(error.location.file).name == file_name
    assert error.location.line == line
    assert str(error).startswith(f"{error.location}: policy.invalid: ")


def test_all_problems_are_reported_sorted_by_place(tmp_path):
    folder = write_folder(
        tmp_path / "policies",
        parameters_with("""
            b_parameter:
              label: 乙
              description: 乙
              type: int
              values:
                - {from: 2014, value: 七, reference: 某文件}
            a_parameter:
              label: 甲
              description: 甲
              type: bool
              values:
                - {from: 2014, value: 1}
        """),
    )
    with pytest.raises(PolicyError) as caught:
        Policies.load(folder)
    lines = [location.line for location, _ in caught.value.problems]
    assert lines == [8, 14]
    assert len(str(caught.value).splitlines()) == 2


@contextlib.contextmanager
def fails_after(seconds: int):
    """Interrupts a test that would wait forever (SIGALRM), so that it fails instead."""

    def expire(signum, frame):
        raise TimeoutError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def dangling_link(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere.yaml")


@pytest.mark.parametrize("name", ["parameters.yaml", "dictionary.yaml", "grading.yaml"])
@pytest.mark.parametrize(
    ("make", "message"),
    [(Path.mkdir, "这是文件夹"), (os.mkfifo, "不是普通文件"), (dangling_link, "文件不存在")],
    ids=["folder", "named pipe", "dangling link"],
)
def test_a_policy_file_that_is_not_a_regular_file_is_named(tmp_path, name, make, message):
    # The digest read a folder or a dangling link with a traceback, and waited on a named pipe forever.
    folder = write_folder(tmp_path / "policies", {"parameters.yaml": GOOD_PARAMETER} if name != "parameters.yaml" else {})
    make(folder / name)
    with fails_after(5), pytest.raises(PolicyError, match=message) as caught:
        Policies.load(folder).digest()
    assert caught.value.location.file == str(folder / name)


def test_a_missing_folder_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="找不到政策目录"):
        Policies.load(tmp_path / "nowhere")


def test_messages_in_english_on_request(tmp_path):
    folder = write_folder(tmp_path / "policies", MALFORMED["value without reference"][0])
    set_lang("en")
    try:
        with pytest.raises(PolicyError, match="has no reference"):
            Policies.load(folder)
    finally:
        set_lang("zh")


def test_foreign_files_are_not_parsed_as_policy_files(tmp_path):
    folder = write_folder(
        tmp_path / "policies",
        {"parameters.yaml": GOOD_PARAMETER, "dictionary.yaml": (SHIPPED / "dictionary.yaml").read_bytes(),
         "grading.yaml": (SHIPPED / "grading.yaml").read_text(encoding="utf-8")},
    )
    loaded = Policies.load(folder)
    assert set(loaded.parameters) == {"notice_min_days"}
    assert {path.name for path in loaded.files()} == {"parameters.yaml", "dictionary.yaml", "grading.yaml"}


def test_a_changed_dictionary_is_refused_rather_than_silently_unused(tmp_path):
    # The records are read with the packaged dictionary; a different copy would be digested and never used.
    folder = write_folder(tmp_path / "policies", {"parameters.yaml": GOOD_PARAMETER, "dictionary.yaml": "cause: {words: []}\n"})
    with pytest.raises(PolicyError, match=r"dictionary\.yaml:1: policy\.invalid: 这是国家字典：dangka 只用自带的字典读档案，此文件与之不同，不会生效"):
        Policies.load(folder)


@pytest.mark.parametrize(("name", "old", "new"), [
    ("parameters.yaml", "value: 7,", "value: LONG,"),
    ("measures.yaml", "family: 健康,", "family: 健康, max_age: LONG,"),
], ids=["parameter value", "table cell"])
def test_a_very_long_word_is_shown_shortened_in_the_message(tmp_path, name, old, new):
    # A value of half a million characters was written whole into the message.
    files = {**GOOD_TABLES, "parameters.yaml": GOOD_PARAMETER}
    files[name] = textwrap.dedent(files[name]).replace(old, new.replace("LONG", "很" * 500_000))
    with pytest.raises(PolicyError, match="现为“很很很[^”]*…”") as caught:
        Policies.load(write_folder(tmp_path / "policies", files))
    assert len(str(caught.value)) < 1000


@pytest.mark.parametrize(("old", "new", "line"), [
    ("label: 公示最少天数", "label: 公示\u200b最少天数", 4),
    ("notice_min_days:", "notice_min_days\u200f:", 3),
    ("description: 公示至少持续的天数", 'description: "公示\\x1b[31m至少"', 5),
], ids=["zero-width space in a label", "right-to-left mark in a key", "escape character in a text"])
def test_invisible_characters_are_refused_with_their_line(tmp_path, old, new, line):
    # 公示​最少天数 looks like 公示最少天数, yet rules naming it find no parameter; an escape
    # character reaches the terminal through every message that quotes the text.
    text = textwrap.dedent(GOOD_PARAMETER).lstrip("\n").replace(old, new)
    folder = write_folder(tmp_path / "policies", {"parameters.yaml": text.encode()})
    with pytest.raises(PolicyError, match="不可见的字符或控制字符") as caught:
        Policies.load(folder)
    assert caught.value.location.line == line


def test_grading_file_is_checked_with_the_policy_files(tmp_path):
    folder = write_folder(tmp_path / "policies", {"parameters.yaml": GOOD_PARAMETER, "grading.yaml": "a: 1\n"})
    with pytest.raises(PolicyError, match="参数“a”必须是以英文名为键的映射") as caught:
        Policies.load(folder)
    assert caught.value.location == Location(str(folder / "grading.yaml"), 1)


def test_two_thirds_is_written_as_a_fraction_and_read_as_a_number(tmp_path):
    folder = write_folder(
        tmp_path / "policies",
        parameters_with("""
        quorum_ratio:
          label: 到会比例
          description: 比例
          type: num
          values:
            - {from: 2014, value: "2/3", reference: 村民委员会组织法第二十六条}
    """),
    )
    value = Policies.load(folder).parameter("到会比例").value(2017)[0]
    assert isinstance(value, float) and 36 * value <= 24 < 36 * value + 1e-9


# --- property: no input makes the loader fail with anything but PolicyError -----------------

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
policy_like = st.fixed_dictionaries(
    {"kind": st.sampled_from(["parameters", "table", "other"])},
    optional={
        "parameters": st.dictionaries(st.text(max_size=6), yaml_values, max_size=3),
        "key": yaml_values,
        "label": yaml_values,
        "key_label": yaml_values,
        "columns": st.dictionaries(st.text(max_size=6), yaml_values, max_size=3),
        "rows": st.dictionaries(st.text(max_size=6), yaml_values, max_size=3),
    },
)


def _load_or_policy_error(folder: Path) -> None:
    with contextlib.suppress(PolicyError):
        Policies.load(folder)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=policy_like)
def test_random_policy_structures_give_policy_error_or_load(tmp_path_factory, document):
    folder = tmp_path_factory.mktemp("random")
    (folder / "random.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    _load_or_policy_error(folder)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_give_policy_error_or_load(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("bytes")
    (folder / "random.yaml").write_bytes(content)
    _load_or_policy_error(folder)


def test_types_are_the_documented_ones():
    assert TYPES == ("num", "int", "bool", "str", "list")


def test_a_key_brought_in_by_a_merge_may_be_overridden_and_a_key_written_twice_may_not(tmp_path):
    merged = GOOD_PARAMETER.replace("          - {from: 2014, value: 7, reference: 国开办发〔2014〕24号}",
                                    "          - &first {from: 2014, value: 7, reference: 国开办发〔2014〕24号}\n"
                                    "          - {<<: *first, from: 2016, value: 5}")
    loaded = Policies.load(write_folder(tmp_path / "merged", {"parameters.yaml": merged}))
    assert loaded.parameter("notice_min_days").value(2017, None)[0] == 5
    twice = GOOD_PARAMETER.replace("        unit: 天\n", "        unit: 天\n        unit: 日\n")
    with pytest.raises(PolicyError, match=r"parameters\.yaml:7: .*重复的键“unit”"):
        Policies.load(write_folder(tmp_path / "twice", {"parameters.yaml": twice}))
