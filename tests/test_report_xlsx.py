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


def test_every_sheet_has_frozen_header_filter_and_fitting_widths(report, tmp_path):
    workbook = written(report, tmp_path, grades=grade(report))
    for sheet in workbook:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(cell.font.bold for cell in sheet[1])
        for column in range(1, sheet.max_column + 1):
            letter = sheet.cell(1, column).column_letter
            width = sheet.column_dimensions[letter].width
            assert 6 <= width <= 60, (sheet.title, letter, width)
            assert width >= min(display_width(str(sheet.cell(1, column).value)), 58)


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
