"""The feedback workbook: sheets, rows, layout, masking, text that looks like a formula, atomic writing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import openpyxl
import pytest

from dangka.errors import DangkaError
from dangka.report.grade import grade
from dangka.report import xlsx
from dangka.report.xlsx import FINDINGS_HEAD, display_width, write_xlsx

SAMPLE = Path(__file__).parent / "data" / "reports" / "findings_sample.json"


@pytest.fixture()
def report() -> dict:
    """A findings document with several counties, townships and villages, every severity, and errors."""
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def written(report: dict, tmp_path: Path, **options) -> openpyxl.Workbook:
    path = tmp_path / "反馈.xlsx"
    write_xlsx(report, str(path), **options)
    return openpyxl.load_workbook(path)


def rows_of(sheet) -> list[tuple]:
    return [row for row in sheet.iter_rows(values_only=True)]


def test_sheets_in_order(report, tmp_path):
    assert written(report, tmp_path, grades=grade(report)).sheetnames == ["问题清单", "汇总", "评比", "未能核查的档案"]
    report["errors"] = []
    assert written(report, tmp_path).sheetnames == ["问题清单", "汇总"]


def test_one_row_per_finding_with_chinese_names(report, tmp_path):
    rows = rows_of(written(report, tmp_path)["问题清单"])
    assert list(rows[0][: len(FINDINGS_HEAD)]) == FINDINGS_HEAD
    assert len(rows) - 1 == sum(len(household["findings"]) for household in report["households"])
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["县"] == "封丘县" and first["乡镇"] == "城关镇" and first["村"] == "东街村"
    assert first["户编号"] == "HN-410727-0101-002"
    assert first["户主"] == "张德福"
    assert first["类别"] == "帮扶措施与劳动能力不符"
    assert first["严重程度"] == "高"
    assert first["问题"] == "帮扶措施与家庭劳动能力不符"
    assert first["依据"] == "河南省脱贫攻坚档案资料规范化建设指导意见 指标解释"
    assert first["规则"] == "PLAN-CAPACITY-001"
    assert first["规则位置"] == "knowledge/rules/plan.rules:42"
    assert first["证据"].startswith("members[0].age = 73；members[0].health = 长期慢性病")
    assert first["建议措施"] == "健康扶贫、低保兜底"


def test_missing_head_of_household_is_blank(report, tmp_path):
    rows = rows_of(written(report, tmp_path)["问题清单"])
    last = dict(zip(rows[0], rows[-1], strict=True))
    assert last["户编号"] == "HN-410225-0302-001"
    assert last["户主"] is None


def assert_laid_out(sheet) -> None:
    """A bold frozen header, an auto filter over the table and widths that fit at least the header."""
    assert sheet.freeze_panes == "A2", sheet.title
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
    assert all(cell.font.bold for cell in sheet[1])
    for column in range(1, sheet.max_column + 1):
        letter = sheet.cell(1, column).column_letter
        width = sheet.column_dimensions[letter].width
        assert 6 <= width <= 60, (sheet.title, letter, width)
        assert width >= min(display_width(str(sheet.cell(1, column).value)), 58)


def test_every_sheet_has_frozen_header_filter_and_fitting_widths(report, tmp_path):
    for sheet in written(report, tmp_path, grades=grade(report)):
        assert_laid_out(sheet)


def test_long_text_columns_wrap(report, tmp_path):
    sheet = written(report, tmp_path)["问题清单"]
    evidence_column = [cell.value for cell in sheet[1]].index("证据") + 1
    longest = max(range(2, sheet.max_row + 1), key=lambda row: len(str(sheet.cell(row, evidence_column).value)))
    assert sheet.cell(longest, evidence_column).alignment.wrap_text


def test_summary_by_county_township_and_village(report, tmp_path):
    rows = rows_of(written(report, tmp_path)["汇总"])
    head = rows[0]
    assert head[:10] == ("层级", "县", "乡镇", "村", "户数", "有问题户数", "问题数", "高严重度", "中严重度", "低严重度")
    assert [row[:4] for row in rows[1:4]] == [
        ("县", "封丘县", None, None),
        ("乡镇", "封丘县", "城关镇", None),
        ("村", "封丘县", "城关镇", "东街村"),
    ]
    lankao = next(row for row in rows if row[:2] == ("县", "兰考县"))
    assert lankao[4:10] == (3, 3, 7, 1, 5, 1)
    assert lankao[head.index("表卡前后矛盾")] == 1
    wangcun = next(row for row in rows if row[3] == "王村")
    assert wangcun[4:7] == (3, 2, 4)


def test_ranking_sheet(report, tmp_path):
    rows = rows_of(written(report, tmp_path, grades=grade(report))["评比"])
    assert rows[0] == ("层级", "名次", "县", "乡镇", "户数", "有问题户数", "高", "中", "低", "得分", "等次")
    assert rows[1] == ("县", 1, "封丘县", None, 6, 4, 3, 3, 3, 70, "合格")
    assert rows[-1] == ("乡镇", 4, "兰考县", "东坝头镇", 2, 2, 1, 4, 1, 40, "不合格")


def test_unreadable_dossiers_sheet(report, tmp_path):
    rows = rows_of(written(report, tmp_path)["未能核查的档案"])
    assert rows[0] == ("文件", "行", "类别", "说明")
    assert rows[1] == ("data/lankao/broken.yaml", 12, "档案无法读取", "YAML 格式错误：第 12 行缺少冒号")


def all_text(workbook: openpyxl.Workbook) -> str:
    return "\n".join(str(value) for sheet in workbook for row in rows_of(sheet) for value in row if value is not None)


def test_no_full_identity_or_mobile_number_in_any_cell(report, tmp_path):
    text = json.dumps(report, ensure_ascii=False)
    numbers = set(re.findall(r"(?<!\d)\d{17}[\dX](?!\d)", text)) | set(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text))
    assert len(numbers) >= 5
    cells = all_text(written(report, tmp_path, grades=grade(report)))
    assert not [number for number in numbers if number in cells]
    assert "410225****0418" in cells  # an ill-formed identity number in evidence
    assert "410225********0034" in cells  # in an error message


def test_no_mask_keeps_the_numbers(report, tmp_path):
    assert "410727199001011234" in all_text(written(report, tmp_path, mask=False))


def test_text_that_looks_like_a_formula_stays_text(report, tmp_path):
    report["households"][1]["head"] = '=HYPERLINK("http://example.invalid","点我")'
    sheet = written(report, tmp_path)["问题清单"]
    cell = sheet["E2"]
    assert cell.value == '=HYPERLINK("http://example.invalid","点我")'
    assert cell.data_type == "s"


def test_control_characters_do_not_break_the_workbook(report, tmp_path):
    report["households"][1]["findings"][0]["message"] = "说明\x07中有控制字符"
    assert written(report, tmp_path)["问题清单"]["I2"].value == "说明\ufffd中有控制字符"


def test_existing_file_is_replaced(report, tmp_path):
    path = tmp_path / "反馈.xlsx"
    path.write_bytes(b"old")
    write_xlsx(report, str(path))
    assert openpyxl.load_workbook(path).sheetnames[0] == "问题清单"
    assert [entry.name for entry in tmp_path.iterdir()] == ["反馈.xlsx"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(report, tmp_path, monkeypatch):
    path = tmp_path / "反馈.xlsx"
    path.write_bytes(b"old")

    def disk_full(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(DangkaError, match="无法写入工作簿：No space left on device"):
        write_xlsx(report, str(path))
    assert path.read_bytes() == b"old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["反馈.xlsx"]


def test_missing_folder_is_a_clear_error(report, tmp_path):
    target = tmp_path / "没有这个目录" / "反馈.xlsx"
    with pytest.raises(DangkaError, match="无法写入工作簿") as caught:
        write_xlsx(report, str(target))
    assert caught.value.location.file == str(target)


def test_empty_report_writes_headers_only(tmp_path):
    workbook = written({"version": 1, "households": [], "errors": []}, tmp_path)
    assert rows_of(workbook["问题清单"])[1:] == []
    assert rows_of(workbook["汇总"])[0][:4] == ("层级", "县", "乡镇", "村")


# --- Excel's limits: rows per sheet, characters per cell ------------------------------------------


def findings_written_whole(report: dict, tmp_path: Path) -> list[tuple]:
    return rows_of(written(report, tmp_path / "whole")["问题清单"])


def test_findings_longer_than_a_sheet_continue_on_further_sheets(report, tmp_path, monkeypatch):
    (tmp_path / "whole").mkdir()
    whole = findings_written_whole(report, tmp_path)
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 5)  # a header and four findings a sheet; the report has 16
    workbook = written(report, tmp_path, grades=grade(report))
    parts = ["问题清单", "问题清单（二）", "问题清单（三）", "问题清单（四）"]
    assert workbook.sheetnames == [*parts, "汇总", "评比", "未能核查的档案"]
    continued = []
    for title in parts:
        rows = rows_of(workbook[title])
        assert rows[0] == whole[0] and len(rows) == 5, title
        continued += rows[1:]
    assert continued == whole[1:]


def test_every_part_of_a_split_list_is_laid_out_like_the_first(report, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 5)
    workbook = written(report, tmp_path)
    for title in ("问题清单", "问题清单（二）", "问题清单（三）", "问题清单（四）"):
        assert_laid_out(workbook[title])
        assert workbook[title].auto_filter.ref == "A1:O5"
    evidence = [cell.value for cell in workbook["问题清单"][1]].index("证据") + 1
    assert workbook["问题清单（四）"].cell(5, evidence).alignment.wrap_text  # long evidence wraps on every part


def test_the_summary_says_which_lists_are_split_over_how_many_sheets(report, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 2)  # one row a sheet: 16 findings, 2 unreadable dossiers
    workbook = written(report, tmp_path)
    assert workbook.sheetnames[14:] == ["问题清单（十五）", "问题清单（十六）", "汇总", "未能核查的档案", "未能核查的档案（二）"]
    summary = workbook["汇总"]
    notes = [row[0] for row in rows_of(summary) if str(row[0]).startswith("注：")]
    assert notes == [
        "注：问题清单共 16 条，超过 Excel 一个工作表 2 行（含表头）的上限，分在 16 个工作表：问题清单、问题清单（二）、"
        "问题清单（三）、问题清单（四）、问题清单（五）、问题清单（六）、问题清单（七）、问题清单（八）、问题清单（九）、"
        "问题清单（十）、问题清单（十一）、问题清单（十二）、问题清单（十三）、问题清单（十四）、问题清单（十五）、问题清单（十六）",
        "注：未能核查的档案共 2 条，超过 Excel 一个工作表 2 行（含表头）的上限，分在 2 个工作表：未能核查的档案、未能核查的档案（二）",
    ]
    # The notes stay below the summary table, out of its filter.
    table_end = summary.max_row - 3
    assert summary.auto_filter.ref.endswith(str(table_end)) and summary.cell(table_end + 1, 1).value is None


def test_a_list_that_fits_one_sheet_is_not_split_nor_noted(report, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 17)  # the header and all 16 findings
    workbook = written(report, tmp_path)
    assert workbook.sheetnames[:2] == ["问题清单", "汇总"]
    assert not [row for row in rows_of(workbook["汇总"]) if str(row[0]).startswith("注：")]


def test_numbers_are_masked_on_every_part_of_a_split_list(report, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 2)
    text = json.dumps(report, ensure_ascii=False)
    numbers = set(re.findall(r"(?<!\d)\d{17}[\dX](?!\d)", text)) | set(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text))
    workbook = written(report, tmp_path, grades=grade(report))
    assert len(workbook.sheetnames) > 10
    for sheet in workbook:
        cells = "\n".join(str(value) for row in rows_of(sheet) for value in row if value is not None)
        assert not [number for number in numbers if number in cells], sheet.title
    assert "410225********0034" in all_text(workbook)


@pytest.mark.parametrize("number, numeral", [(2, "二"), (9, "九"), (10, "十"), (11, "十一"), (20, "二十"), (99, "九十九"), (100, "100")])
def test_sheet_numbers_in_chinese(number, numeral):
    assert xlsx.chinese_number(number) == numeral


CUT = re.compile(r"……（超出 Excel 单元格 32767 字的上限，其后 (\d+) 字已截去）$")


def excel_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_text_longer_than_a_cell_is_cut_with_a_mark(report, tmp_path):
    report["households"][1]["findings"][0]["message"] = "说明" * 20000
    shown = written(report, tmp_path)["问题清单"]["I2"].value
    mark = CUT.search(shown)
    assert mark and excel_units(shown) <= 32767
    kept = shown[: mark.start()]
    assert ("说明" * 20000).startswith(kept)
    assert len(kept) + int(mark.group(1)) == 40000
    assert len(kept) > 32700


@pytest.mark.parametrize("before", ["", "甲"])
def test_a_cut_never_splits_a_surrogate_pair(report, tmp_path, before):
    # 20,000 characters beyond U+FFFF: openpyxl would keep them all, Excel counts 40,000 units.
    text = before + "𠀀" * 20000
    report["households"][1]["findings"][0]["message"] = text
    shown = written(report, tmp_path)["问题清单"]["I2"].value
    mark = CUT.search(shown)
    assert mark and excel_units(shown) <= 32767  # encoding fails on half a pair
    kept = shown[: mark.start()]
    assert kept == before + "𠀀" * (len(kept) - len(before))
    assert len(kept) + int(mark.group(1)) == len(text)


@pytest.mark.parametrize("text", ["长" * 32767, "𠀀" * 16383 + "长"])
def test_a_text_just_fitting_a_cell_is_kept_whole(report, tmp_path, text):
    report["households"][1]["findings"][0]["message"] = text
    assert written(report, tmp_path)["问题清单"]["I2"].value == text
