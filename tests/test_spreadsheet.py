"""Workbook input and `dangka convert`: lossless round trips, and bad workbooks reported by sheet, row and column."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangka import spreadsheet
from dangka.cli import main
from dangka.contract import records
from dangka.errors import InputError, Location, UsageError
from dangka.i18n import set_lang
from dangka.spreadsheet import (
    SHEETS,
    iter_inputs,
    path_parts,
    path_text,
    read_workbook,
    write_workbook,
)


@pytest.fixture(scope="module")
def examples(examples_dir) -> list[dict]:
    """The bundled clean and cooking dossiers, as loaded from YAML."""
    return [
        yaml.safe_load((examples_dir / f"{name}.yaml").read_text(encoding="utf-8")) for name in ("clean", "cooking")
    ]


def without_nulls(value: object) -> object:
    """A dossier as data: an empty cell cannot tell a null from an absent key, and the contract treats both alike."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def round_trip(dossiers: list[dict], tmp_path: Path) -> list:
    path = tmp_path / "档案.xlsx"
    write_workbook(dossiers, str(path))
    return list(read_workbook(str(path)))


def assert_same_data(original: dict, loaded) -> None:
    assert loaded.error is None, loaded.error
    assert without_nulls(loaded.dossier) == without_nulls(original)
    assert records(loaded.dossier) == records(original)


# --- round trips -----------------------------------------------------------------------------


def test_examples_round_trip_without_loss(examples, tmp_path):
    loaded = round_trip(examples, tmp_path)
    assert [item.line for item in loaded] == [2, 3]
    for original, item in zip(examples, loaded, strict=True):
        assert_same_data(original, item)
        assert item.notes == []


def test_workbook_has_the_national_layout(examples, tmp_path):
    path = tmp_path / "档案.xlsx"
    write_workbook(examples, str(path))
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == [sheet.name for sheet in SHEETS] + ["其他字段"]
    household_head = [cell.value for cell in workbook["户"][1]]
    assert household_head[:5] == ["户编号", "县", "乡镇", "村", "年度"]
    assert {"工资性收入", "住房安全", "小轿车"} <= set(household_head)
    assert [cell.value for cell in workbook["成员"][1]][:4] == ["户编号", "序号", "姓名", "身份证号"]
    members = list(workbook["成员"].iter_rows(min_row=2, values_only=True))
    assert members[0][:4] == ("HN-410727-0101-001", 1, "李国强", "410727196504180116")
    assert workbook["成员"]["D2"].data_type == "s"  # identity numbers stay text
    assert [row[:3] for row in workbook["会议记录"].iter_rows(min_row=2, max_row=2, values_only=True)] == [
        ("HN-410727-0101-001", 1, "党支部提议")
    ]
    assert workbook["申请书"]["B2"].number_format == "yyyy-mm-dd"
    assert workbook["户"].freeze_panes == "A2"


def awkward_dossier(examples: list[dict]) -> dict:
    """The clean example with everything the layout has no column for, and values of the wrong shape."""
    dossier = copy.deepcopy(examples[0])
    dossier["备注"] = {"录入人": "张三", "时间": dt.date(2017, 6, 1), "标签": ["甲", 2, None, True]}
    dossier["region"]["province"] = "河南省"
    dossier["a.b"] = "键里有点"
    dossier["income"]["transfer"]["subsidy"] = 300
    dossier["conditions"] = {}
    dossier["assets"] = None
    members = dossier["members"]
    members[0]["insurance"]["note"] = ["新农合", 2017]
    members[0]["birth_date"] = "1965年4月"
    members[1]["ethnicity"] = True
    members[1]["education"] = "03"
    members[1]["blood"] = {"type": "A"}
    members[2]["work_months"] = 2.5
    members[2]["name"] = "=SUM(A1:A2)"
    dossier["other_causes"] = ["因学", "01"]
    dossier["helpers"] = []
    dossier["measures"][0]["amount"] = 800.0
    dossier["measures"][1]["content"] = "  前后有空格  "
    dossier["forms"]["survey"] = {}
    dossier["forms"]["card"]["contacts"][0]["phone"] = 13903731202
    dossier["procedure"]["publicity"][0]["cites"] = {}
    dossier["procedure"]["announcement"] = {"date": None}
    dossier["year"] = "2017"
    return dossier


def test_awkward_values_round_trip_as_data(examples, tmp_path):
    original = awkward_dossier(examples)
    (loaded,) = round_trip([original], tmp_path)
    assert loaded.error is None
    dossier = loaded.dossier
    assert dossier["备注"] == {"录入人": "张三", "时间": "2017-06-01", "标签": ["甲", 2, None, True]}
    assert dossier["a.b"] == "键里有点"
    assert dossier["conditions"] == {} and dossier["assets"] is None
    assert dossier["members"][0]["insurance"]["note"] == ["新农合", 2017]
    assert dossier["members"][0]["birth_date"] == "1965年4月"  # kept as written: a rule reports it
    assert dossier["members"][1]["ethnicity"] is True
    assert dossier["members"][2]["work_months"] == 2.5
    assert dossier["members"][2]["name"] == "=SUM(A1:A2)"
    assert dossier["other_causes"] == ["因学", "因病"]
    assert dossier["helpers"] == []
    assert dossier["forms"]["survey"] == {}
    assert dossier["procedure"]["publicity"][0]["cites"] == {}
    assert dossier["procedure"]["announcement"] == {}
    # Values the contract normalises come back normalised: codes as words, text numbers as numbers.
    assert dossier["members"][1]["education"] == "初中"
    assert dossier["year"] == 2017
    assert dossier["forms"]["card"]["contacts"][0]["phone"] == "13903731202"
    assert dossier["measures"][1]["content"] == "前后有空格"
    assert records(dossier) == records(original)


def test_cells_kept_as_written_are_named_by_sheet_row_and_column(examples, tmp_path):
    (loaded,) = round_trip([awkward_dossier(examples)], tmp_path)
    assert loaded.notes == [
        "成员!G2：出生日期应为日期（YYYY-MM-DD），已按原样保留",
        "成员!H3：民族应为文字，不是是/否，已按原样保留",
        "成员!P4：务工时间应为整数，已按原样保留",
    ]


def test_household_ids_that_are_numbers_link_their_rows(examples, tmp_path):
    dossier = copy.deepcopy(examples[1])
    dossier["id"] = 4107270101002
    (loaded,) = round_trip([dossier], tmp_path)
    assert loaded.dossier["id"] == "4107270101002"
    assert len(loaded.dossier["members"]) == 2


# A value of any JSON shape, and a date, as the data of an unknown key.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=8) | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3),
    max_leaves=8,
)
places = st.sampled_from(
    [
        "",
        "region",
        "income",
        "income.transfer",
        "members.0",
        "members.1.insurance",
        "measures.2",
        "forms",
        "forms.card",
        "forms.card.contacts.1",
        "procedure",
        "procedure.meetings.3",
        "procedure.publicity.0.entry",
        "procedure.announcement",
    ]
)


def _at(dossier: dict, place: str) -> dict:
    node = dossier
    for part in place.split(".") if place else []:
        node = node[int(part)] if part.isdigit() else node[part]
    return node


def _as_stored(value: object) -> object:
    """What an unknown key's value is after a round trip: dates become ISO text (JSON has no dates)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _as_stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_stored(item) for item in value]
    return value


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(places, st.text(min_size=1, max_size=6), json_values), max_size=4))
def test_unknown_keys_anywhere_survive_a_round_trip(examples, tmp_path, additions):
    original = copy.deepcopy(examples[0])
    expected = copy.deepcopy(original)
    for place, key, value in additions:
        if key in _at(original, place):
            continue  # only new keys: changing a known field is tested above
        _at(original, place)[key] = value
        _at(expected, place)[key] = _as_stored(value)
    (loaded,) = round_trip([original], tmp_path)
    assert loaded.error is None
    assert without_nulls(loaded.dossier) == without_nulls(expected)


@pytest.mark.parametrize(
    "path",
    [["members", 0, "insurance", "medical"], ["a.b", 0, 'q"uote'], ["备注"], ["x", 12, "y z"], ["控制\x00字符"]],
)
def test_paths_read_back_as_written(path):
    assert path_parts(path_text(path)) == path


@pytest.mark.parametrize("text", ["", ".a", "a..b", "a[x]", "a[0", 'a["x]'])
def test_malformed_paths_are_refused(text):
    assert path_parts(text) is None


def test_text_a_cell_would_change_round_trips_through_the_extra_sheet(examples, tmp_path):
    # XML cannot hold control characters, U+FFFE or U+FFFF (the workbook became unreadable), and a
    # carriage return came back as a line feed.
    dossier = copy.deepcopy(examples[0])
    dossier["members"][0]["illness"] = "高血压\x07"
    dossier["members"][1]["name"] = "王秀兰\r\n"
    dossier["备注\ufffe"] = {"键\uffff": "值\ufffe\x1b"}
    (loaded,) = round_trip([dossier], tmp_path)
    assert loaded.error is None, loaded.error
    assert without_nulls(loaded.dossier) == without_nulls(dossier)


@pytest.mark.parametrize("text, why", [
    ("长" * 32768, "members[2].illness 有 32768 字，超过工作簿单元格的上限 32767 字"),
    # 16,384 rare characters are 32,768 UTF-16 units: too long for Excel, though openpyxl would write them.
    ("𠀀" * 16384, "members[2].illness 有 16384 字（Excel 计为 32768 字），超过工作簿单元格的上限 32767 字"),
])
def test_a_text_longer_than_a_cell_as_excel_counts_leaves_its_household_out(examples, tmp_path, text, why):
    long = copy.deepcopy(examples[0])
    long["members"][2]["illness"] = text
    path = tmp_path / "档案.xlsx"
    assert write_workbook([examples[1], long], str(path)) == [(1, why)]
    assert [item.dossier["id"] for item in read_workbook(str(path))] == [examples[1]["id"]]


def test_a_cell_of_characters_beyond_u_ffff_just_within_excels_count_is_kept(examples, tmp_path):
    fits = copy.deepcopy(examples[0])
    fits["members"][2]["illness"] = "𠀀" * 16383 + "病"
    (loaded,) = round_trip([fits], tmp_path)
    assert_same_data(fits, loaded)


# --- reading workbooks made by people ---------------------------------------------------------


@pytest.fixture()
def workbook_path(examples, tmp_path) -> Path:
    """The examples as a workbook, for tests to spoil one way each."""
    path = tmp_path / "档案.xlsx"
    write_workbook(examples, str(path))
    return path


def edited(path: Path, change) -> str:
    workbook = openpyxl.load_workbook(path)
    change(workbook)
    workbook.save(path)
    return str(path)


def messages(path: str) -> list[str]:
    return [item.error.message for item in read_workbook(path) if item.error is not None]


def test_missing_sheet_is_reported_and_households_still_read(workbook_path):
    path = edited(workbook_path, lambda workbook: workbook.remove(workbook["公示"]))
    loaded = list(read_workbook(path))
    assert loaded[0].error.message == "缺少工作表“公示”，各户的公示为空"
    assert [item.dossier["id"] for item in loaded[1:]] == ["HN-410727-0101-001", "HN-410727-0101-002"]
    assert "publicity" not in loaded[1].dossier["procedure"]


def test_missing_household_sheet_stops_the_workbook(workbook_path):
    path = edited(workbook_path, lambda workbook: workbook.remove(workbook["户"]))
    assert messages(path) == ["工作簿缺少工作表“户”（每户一行），无法读取"]


def test_unknown_sheet_and_column_are_reported(workbook_path):
    def spoil(workbook):
        workbook.create_sheet("说明")["A1"] = "填表说明"
        sheet = workbook["成员"]
        sheet.cell(1, sheet.max_column + 1, "血型")

    path = edited(workbook_path, spoil)
    assert messages(path) == ["未知的工作表“说明”，其中的数据没有读取", "成员!T1：未知的列“血型”，该列没有读取"]


def test_row_of_an_unknown_household_is_reported_by_cell(workbook_path):
    path = edited(workbook_path, lambda workbook: workbook["成员"].append(["HN-不存在", 1, "王五"]))
    assert messages(path) == ["成员!A7：户编号“HN-不存在”在工作表“户”中没有，该行没有读取"]


def test_household_id_that_is_a_fraction_or_a_truth_value_is_named_as_such(workbook_path):
    def spoil(workbook):
        workbook["户"].append([1.5, "某县"])
        workbook["成员"].append([True, 1, "某人"])

    assert messages(edited(workbook_path, spoil)) == [
        "户!A4：户编号应为文字（实为“1.5”），该行没有读取",
        "成员!A7：户编号应为文字，不是是/否（实为“True”），该行没有读取",
    ]


def test_bad_position_makes_the_household_an_error(workbook_path):
    def spoil(workbook):
        workbook["成员"]["B3"] = "第二"
        workbook["帮扶措施"]["B3"] = 1

    path = edited(workbook_path, spoil)
    loaded = list(read_workbook(path))
    assert loaded[0].dossier is None
    assert loaded[0].line == 2
    assert loaded[0].error.message == (
        "户 HN-410727-0101-001（户!2 行）：成员!B3：序号应为正整数，实为“第二”；帮扶措施!B3：序号 1 与第 2 行重复"
    )
    assert loaded[1].error is None


def test_formula_without_a_computed_value_is_reported_not_read_as_empty(workbook_path):
    # openpyxl saves formulas without their results, as do tools that never calculate.
    def spoil(workbook):
        workbook["成员"]["P2"] = "=1+1"
        workbook["户"]["A3"] = '="HN-"&"1"'

    found = messages(edited(workbook_path, spoil))
    assert found[:2] == [
        "户 HN-410727-0101-001（户!2 行）：成员!P2：公式没有计算结果，请在 Excel 中打开并保存后再导出",
        "户!A3：公式没有计算结果，请在 Excel 中打开并保存后再导出；该行没有读取",
    ]


def test_error_valued_cell_is_reported(workbook_path):
    path = edited(workbook_path, lambda workbook: workbook["会议记录"].__setitem__("E2", "#N/A"))
    assert messages(path) == ["户 HN-410727-0101-001（户!2 行）：会议记录!E2：单元格是错误值 #N/A"]


def test_dossier_that_breaks_the_contract_is_an_error(workbook_path):
    path = edited(workbook_path, lambda workbook: workbook["成员"].__setitem__("E2", "配偶"))
    assert messages(path) == ["户 HN-410727-0101-001（户!2 行）：家庭成员中应恰有一位户主（relation: 户主），现有 0 位"]


def test_repeated_household_id_is_reported(workbook_path):
    def spoil(workbook):
        workbook["户"].append([cell.value for cell in workbook["户"][2]])

    assert messages(edited(workbook_path, spoil)) == ["户!A4：户编号“HN-410727-0101-001”与第 2 行重复，该行没有读取"]


def test_bad_extra_rows_are_reported(workbook_path):
    def spoil(workbook):
        workbook["其他字段"].append(["HN-410727-0101-001", "members[9].x", "1"])
        workbook["其他字段"].append(["HN-410727-0101-002", "备注", "{不是 JSON"])
        workbook["其他字段"].append(["HN-410727-0101-002", "a..b", "1"])

    assert messages(edited(workbook_path, spoil)) == [
        "户 HN-410727-0101-001（户!2 行）：其他字段!B3：路径“members[9].x”在该户档案中接不上（列表项不存在或上层不是映射）",
        "户 HN-410727-0101-002（户!3 行）：其他字段!C4：值不是有效的 JSON（JSON 格式错误：第 1 行键应写在双引号内（或多了一个逗号））；其他字段!B5：路径“a..b”写法不对，应如 members[0].insurance",
    ]


@pytest.mark.parametrize("path", ["id", '["id"]', " id "])
def test_an_extra_row_cannot_change_the_household_id(workbook_path, path):
    # The id links the household's rows: changed here, two households could end under one id.
    def spoil(workbook):
        workbook["其他字段"].append(["HN-410727-0101-001", path, '"HN-410727-0101-002"'])

    loaded = list(read_workbook(edited(workbook_path, spoil)))
    assert [item.error.message for item in loaded if item.error] == [
        "户 HN-410727-0101-001（户!2 行）：其他字段!B3：路径 id 是户编号，户编号只能写在工作表“户”中"
    ]
    assert [item.dossier["id"] for item in loaded if item.dossier] == ["HN-410727-0101-002"]


def test_workbook_typed_by_hand_is_normalised(tmp_path):
    """Numbers typed as numbers, real dates, 是/否, national codes, other names for sheets and columns."""
    workbook = openpyxl.Workbook()
    households = workbook.active
    households.title = "贫困户"
    households.append(["户编号", "县", "乡镇", "村", "primary_cause", "电话", "住房安全"])
    households.append([410727001, "封丘县", "城关镇", "东街村", "01", 13637370011, "是"])
    members = workbook.create_sheet("家庭成员")
    members.append(["户编号", "姓名", "与户主关系", "出生日期", "参加大病保险"])
    members.append([410727001, "李国强", "户主", dt.datetime(1965, 4, 18), True])
    members.append([410727001, "王秀兰", "配偶", "1967/9/2", "否"])
    path = tmp_path / "手工.xlsx"
    workbook.save(path)
    loaded = [item for item in read_workbook(str(path)) if item.dossier is not None]
    (household,) = loaded
    dossier = household.dossier
    assert dossier["id"] == "410727001"
    assert dossier["primary_cause"] == "因病"
    assert dossier["phone"] == "13637370011"
    assert dossier["conditions"] == {"housing_safe": True}
    assert dossier["members"][0]["birth_date"] == dt.date(1965, 4, 18)
    assert dossier["members"][1]["birth_date"] == dt.date(1967, 9, 2)
    assert dossier["members"][0]["insurance"] == {"serious_illness": True}
    assert dossier["members"][1]["insurance"] == {"serious_illness": False}


@pytest.mark.parametrize("content", [b"", b"not a workbook", b"PK\x03\x04broken zip"])
def test_file_that_is_not_a_workbook(tmp_path, content):
    path = tmp_path / "坏.xlsx"
    path.write_bytes(content)
    (loaded,) = read_workbook(str(path))
    assert loaded.error.message.startswith("无法读取工作簿：不是有效的 xlsx 文件")
    assert loaded.error.location.file == str(path)


def test_workbook_of_a_zip_version_python_cannot_read(workbook_path):
    # The central directory's "version needed to extract" of its first entry, set to 6.4.
    data = bytearray(workbook_path.read_bytes())
    directory = data.index(b"PK\x01\x02")
    data[directory + 6] = 64
    workbook_path.write_bytes(bytes(data))
    (loaded,) = read_workbook(str(workbook_path))
    assert loaded.error.message == "无法读取工作簿：不是有效的 xlsx 文件（NotImplementedError）"


def test_workbook_that_unpacks_too_large_is_refused(workbook_path, monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_UNPACKED_BYTES", 1000)
    (loaded,) = read_workbook(str(workbook_path))
    assert loaded.error.message == "工作簿解压后超过 0 MB，拒绝读取"


def test_the_collector_is_paused_while_the_sheets_are_read_and_on_again_after(workbook_path, monkeypatch):
    import gc

    seen = []
    read_sheets = spreadsheet._WorkbookReader._read_sheets

    def watched(self, sheets):
        seen.append(gc.isenabled())
        return read_sheets(self, sheets)

    monkeypatch.setattr(spreadsheet._WorkbookReader, "_read_sheets", watched)
    assert all(item.dossier is not None for item in read_workbook(str(workbook_path)))
    monkeypatch.setattr(spreadsheet, "MAX_HOUSEHOLDS", 1)   # refused part-way: the collector is on again
    assert next(iter(read_workbook(str(workbook_path)))).error is not None
    assert seen == [False, False] and gc.isenabled()


def test_the_collector_is_paused_while_a_workbook_is_written(examples, tmp_path, monkeypatch):
    import gc

    from dangka.report import xlsx

    seen = []
    fill_sheet = xlsx.fill_sheet

    def watched(sheet, head, rows):
        seen.append(gc.isenabled())
        return fill_sheet(sheet, head, rows)

    monkeypatch.setattr(xlsx, "fill_sheet", watched)
    write_workbook(examples, str(tmp_path / "档案.xlsx"))
    assert seen and not any(seen) and gc.isenabled()


def test_workbook_of_more_households_than_the_cap_is_refused(workbook_path, monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_HOUSEHOLDS", 1)
    (loaded,) = read_workbook(str(workbook_path))
    assert loaded.error.message == ("工作表“户”超过 1 户（户!A3），一个工作簿的各表要在内存中对接，拒绝读取；"
                                    "请从系统导出为 JSON Lines（.jsonl，每行一户）再核查")
    assert loaded.error.location.line == 3


def test_workbook_of_more_rows_than_the_cap_is_refused(workbook_path, monkeypatch):
    # Members, measures and meetings are joined in memory too: the rows of all sheets count.
    monkeypatch.setattr(spreadsheet, "MAX_WORKBOOK_ROWS", 4)  # 户 has 2 rows, 成员 5
    (loaded,) = read_workbook(str(workbook_path))
    assert loaded.error.message == ("工作簿各表合计超过 4 行（工作表“成员”第 4 行），一个工作簿的各表要在内存中对接，"
                                    "拒绝读取；请从系统导出为 JSON Lines（.jsonl，每行一户）再核查")
    assert loaded.error.location == Location(str(workbook_path))  # no line: the row is not one of sheet 户


def test_the_row_cap_names_the_household_row_as_the_line(workbook_path, monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_WORKBOOK_ROWS", 1)
    (loaded,) = read_workbook(str(workbook_path))
    assert "（工作表“户”第 3 行）" in loaded.error.message
    assert loaded.error.location == Location(str(workbook_path), 3)


def test_the_row_cap_is_checked_while_reading(workbook_path, monkeypatch):
    """The refusal comes at the first row over the cap: the rows below it are never read."""
    read_rows: list[str] = []
    iter_rows = ReadOnlyWorksheet.iter_rows

    def counted(worksheet, *args, **kwargs):
        for row in iter_rows(worksheet, *args, **kwargs):
            read_rows.append(worksheet.title)
            yield row

    monkeypatch.setattr(ReadOnlyWorksheet, "iter_rows", counted)
    monkeypatch.setattr(spreadsheet, "MAX_WORKBOOK_ROWS", 4)
    list(read_workbook(str(workbook_path)))
    assert read_rows == ["户"] * 3 + ["成员"] * 4  # each header, then 2 households and 3 member rows


def test_the_row_cap_message_in_english(workbook_path, monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_WORKBOOK_ROWS", 4)
    set_lang("en")
    try:
        (loaded,) = read_workbook(str(workbook_path))
    finally:
        set_lang("zh")
    assert loaded.error.message == ("the workbook's sheets hold more than 4 rows together (sheet \"成员\", row 4): a "
                                    "workbook's sheets are joined in memory; export JSON Lines (.jsonl, one household "
                                    "a line) instead")


def test_a_workbook_of_more_rows_than_the_cap_is_not_written(examples, tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_WORKBOOK_ROWS", 30)  # the examples take 42 rows, the first 19
    path = tmp_path / "档案.xlsx"
    with pytest.raises(UsageError, match=r"^usage: 档案写成工作簿超过 30 行（第 2 户处），这样的工作簿无法读回；"
                                                r"请输出为 JSON Lines（--out 文件\.jsonl）$"):
        write_workbook(examples, str(path))
    assert not path.exists()


def test_convert_refuses_a_workbook_it_could_not_read_back(examples_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(spreadsheet, "MAX_WORKBOOK_ROWS", 30)
    inputs = [str(examples_dir / "clean.yaml"), str(examples_dir / "cooking.yaml")]
    assert main(["convert", *inputs, "--out", str(tmp_path / "档案.xlsx")]) == 2
    assert "档案写成工作簿超过 30 行" in capsys.readouterr().err
    assert not (tmp_path / "档案.xlsx").exists()


def test_missing_file(tmp_path):
    (loaded,) = read_workbook(str(tmp_path / "没有.xlsx"))
    with pytest.raises(InputError, match="无法读取文件：文件不存在"):
        raise loaded.error


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    from tests.test_load import time_limit

    pipe = tmp_path / "管道.xlsx"
    os.mkfifo(pipe)
    with time_limit(5):
        (loaded,) = read_workbook(str(pipe))
    with pytest.raises(InputError, match=r"不是普通文件（可能是管道、设备或套接字），无法读取"):
        raise loaded.error
    assert loaded.error.location.file == str(pipe)


# --- mixed inputs and the convert command --------------------------------------------------------


def test_inputs_mix_files_and_workbooks_and_catch_repeated_ids(examples_dir, workbook_path):
    loaded = list(iter_inputs([str(examples_dir / "clean.yaml"), str(workbook_path)]))
    assert [item.index for item in loaded] == [0, 1, 2]
    assert loaded[0].dossier["id"] == "HN-410727-0101-001"
    assert loaded[1].error.message.startswith("户编号“HN-410727-0101-001”与")
    assert loaded[2].dossier["id"] == "HN-410727-0101-002"


def test_convert_yaml_to_workbook_and_back(examples, examples_dir, tmp_path, capsys):
    workbook = tmp_path / "档案.xlsx"
    inputs = [str(examples_dir / "clean.yaml"), str(examples_dir / "cooking.yaml")]
    assert main(["convert", *inputs, "--out", str(workbook)]) == 0
    back = tmp_path / "档案.yaml"
    assert main(["convert", str(workbook), "--out", str(back)]) == 0
    households = yaml.safe_load(back.read_text(encoding="utf-8"))["households"]
    for original, converted in zip(examples, households, strict=True):
        assert without_nulls(converted) == without_nulls(original)
    assert "已转换 2 户" in capsys.readouterr().err


def test_convert_to_json_lines_and_json(examples_dir, tmp_path):
    lines = tmp_path / "档案.jsonl"
    assert main(["convert", str(examples_dir / "clean.yaml"), "--out", str(lines)]) == 0
    (dossier,) = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    assert dossier["procedure"]["application"]["date"] == "2017-05-11"
    whole = tmp_path / "档案.json"
    assert main(["convert", str(lines), "--out", str(whole)]) == 0
    assert json.loads(whole.read_text(encoding="utf-8"))["households"] == [dossier]


def test_convert_refuses_an_unknown_output_kind(examples_dir, tmp_path, capsys):
    assert main(["convert", str(examples_dir / "clean.yaml"), "--out", str(tmp_path / "档案.txt")]) == 2
    assert "不支持的输出格式" in capsys.readouterr().err


def test_convert_reports_bad_input_masked_and_writes_the_rest(workbook_path, tmp_path, capsys):
    edited(workbook_path, lambda workbook: workbook["户"].append(["HN-13637370011", "某县"]))
    out = tmp_path / "好的.yaml"
    assert main(["convert", str(workbook_path), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "13637370011" not in error
    assert "HN-136****0011" in error
    assert len(yaml.safe_load(out.read_text(encoding="utf-8"))["households"]) == 2


# --- done when: checking the workbook finds exactly what checking the dossiers finds ------------


@pytest.fixture(scope="module")
def knowledge():
    """The shipped rules and policies, compiled once for the module."""
    from dangka.engine.knowledge import Knowledge

    return Knowledge.load()


def checked(paths: list[str], registry: dict, knowledge) -> list[dict]:
    """Each household's findings document entry, without the file it came from."""
    from dangka.engine.batch import check_paths

    entries = []
    for outcome in check_paths(paths, registry, knowledge):
        assert outcome.error is None, outcome.error
        entries.append({key: value for key, value in outcome.entry.items() if key != "source"})
    return entries


def test_workbook_is_checked_like_the_dossiers(knowledge, tmp_path):
    from dangka.engine import batch

    from dangka import synth

    dossiers = list(synth.generate(40, seed=7, defect_rate=0.6))
    registry = synth.generate_registry(7, n=40, defect_rate=0.6)
    as_yaml = tmp_path / "档案.yaml"
    as_yaml.write_text(yaml.safe_dump({"households": dossiers}, allow_unicode=True), encoding="utf-8")
    as_workbook = tmp_path / "档案.xlsx"
    write_workbook(dossiers, str(as_workbook))
    expected = checked([str(as_yaml)], registry, knowledge)
    assert sum(len(entry["findings"]) for entry in expected) > 20, "the sample must have findings to compare"
    # `dangka check FILE.xlsx` reads workbooks through iter_inputs, as the engine's runs do.
    assert batch.iter_inputs is iter_inputs
    assert checked([str(as_workbook)], registry, knowledge) == expected


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_workbook_is_an_error_not_a_crash(workbook_path, keep):
    data = workbook_path.read_bytes()
    workbook_path.write_bytes(data[: int(len(data) * keep)])
    loaded = list(read_workbook(str(workbook_path)))
    assert loaded[0].error is not None
    assert loaded[0].error.message.startswith("无法读取工作簿")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0), st.binary(min_size=1, max_size=8))
def test_damaged_bytes_never_make_the_reader_raise(workbook_path, position, garbage):
    data = bytearray(workbook_path.read_bytes())
    position %= len(data)
    data[position : position + len(garbage)] = garbage
    damaged = workbook_path.with_name("损坏.xlsx")
    damaged.write_bytes(bytes(data))
    for loaded in read_workbook(str(damaged)):
        assert (loaded.dossier is None) != (loaded.error is None)


def test_column_letters_are_openpyxls():
    from openpyxl.utils import get_column_letter

    from dangka.spreadsheet import column_letter

    assert [column_letter(number) for number in range(1, 16385)] == [get_column_letter(number) for number in range(1, 16385)]


def stated_size(path: Path, size: str) -> str:
    """The workbook with each sheet's stated size (its <dimension>) replaced, as tools that write a stale one do."""
    import re
    import zipfile

    original = path.read_bytes()
    spoiled = path.with_name("stale.xlsx")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(spoiled, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{size}"'.encode(), data)
            target.writestr(name, data)
    assert path.read_bytes() == original
    return str(spoiled)


@pytest.mark.parametrize("size", ["A1:A1", "A1:B2", "A1:XFD1048576"])
def test_rows_beyond_a_stale_stated_size_are_read(examples, workbook_path, size):
    loaded = list(read_workbook(stated_size(workbook_path, size)))
    assert [item.error for item in loaded] == [None, None]
    for original, item in zip(examples, loaded, strict=True):
        assert_same_data(original, item)


@pytest.mark.parametrize(("value", "reason"), [
    ('"\\ud800"', r"不成对的 Unicode 代理项转义 \\ud800"),
    ("[" * 100 + "]" * 100, r"数据嵌套过深（超过 64 层）"),
    ("[" * 5000 + "]" * 5000, r"数据嵌套过深（超过 64 层）"),
    ("9" * 5000, r"无法读取的取值（例如位数过多的数字）"),
], ids=["surrogate", "deep", "very deep", "5000 digits"])
def test_an_extra_value_the_dossiers_would_refuse_is_refused_by_cell(workbook_path, value, reason):
    def spoil(workbook):
        workbook["其他字段"].append(["HN-410727-0101-001", "备注", value])

    [message] = messages(edited(workbook_path, spoil))
    assert re.search(r"^户 HN-410727-0101-001（户!2 行）：其他字段!C\d+：值不是有效的 JSON（.*" + reason, message), message


def test_values_a_cell_would_change_round_trip_through_the_extra_sheet(examples, tmp_path):
    # A cell holds a double: no infinity, and integers exact only to 2**53; and no time zone.
    dossier = copy.deepcopy(examples[0])
    dossier["year"] = float("inf")
    dossier["income"]["wage"] = -float("inf")
    dossier["income"]["business"] = 10**20 + 1
    dossier["members"][0]["work_months"] = -(2**53) - 1
    zone = dt.timezone(dt.timedelta(hours=8))
    dossier["forms"]["survey"]["filled_date"] = dt.datetime(2017, 5, 9, 10, 0, tzinfo=zone)
    (loaded,) = round_trip([dossier], tmp_path)
    assert loaded.error is None, loaded.error
    dossier["forms"]["survey"]["filled_date"] = "2017-05-09T10:00:00+08:00"  # as convert writes it to JSON
    assert without_nulls(loaded.dossier) == without_nulls(dossier)
