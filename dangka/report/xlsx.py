"""The feedback workbook: 问题清单 (one row per finding), 汇总 by region, 评比 ranking, written atomically."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dangka.i18n import display_width
from dangka.output import write_atomic
from dangka.report import (
    ERRORS_HEAD,
    ERRORS_TITLE,
    REGION_LEVEL_NAMES,
    REGION_LEVELS,
    categories_present,
    category_name,
    error_rows,
    evidence_text,
    findings_of,
    masked_report,
    ranking_table,
    region_names,
    severity_name,
    summary_table,
)

FINDINGS_HEAD = ["县", "乡镇", "村", "户编号", "户主", "类别", "严重程度", "问题", "说明", "依据", "规则"]
FINDINGS_EXTRA_HEAD = ["规则位置", "证据", "建议措施", "档案文件"]
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_SUBTOTAL_FONT = Font(bold=True)
_MIN_WIDTH, _MAX_WIDTH = 6, 60


def write_xlsx(report: dict, path: str, *, mask: bool = True, grades: dict | None = None) -> None:
    """Write the feedback workbook for a findings document to `path` (replaced atomically)."""
    if mask:
        report = masked_report(report)
    workbook = Workbook()
    findings_sheet = workbook.active
    findings_sheet.title = "问题清单"
    fill_sheet(findings_sheet, FINDINGS_HEAD + FINDINGS_EXTRA_HEAD, _finding_rows(report))
    _summary_sheet(workbook.create_sheet("汇总"), report)
    if grades:
        _ranking_sheet(workbook.create_sheet("评比"), grades)
    if report.get("errors"):
        fill_sheet(workbook.create_sheet(ERRORS_TITLE), ERRORS_HEAD, error_rows(report))
    save_atomic(workbook, path)


def _finding_rows(report: dict) -> Iterable[list[object]]:
    for household, finding in findings_of(report):
        yield [
            *region_names(household),
            household.get("id", ""),
            household.get("head") or "",
            category_name(finding.get("category", "")),
            severity_name(finding.get("severity", "")),
            finding.get("title", ""),
            finding.get("message", ""),
            finding.get("basis", ""),
            finding.get("rule", ""),
            finding.get("source", ""),
            evidence_text(finding),
            "、".join(finding.get("recommend", [])),
            household.get("source", ""),
        ]


def _summary_sheet(sheet: Worksheet, report: dict) -> None:
    """Counties, townships and villages in one filterable table, each region followed by its parts."""
    categories = categories_present(report)
    rows: list[list[object]] = []
    positions: dict[tuple[object, ...], int] = {}  # region names → order of first appearance at its level
    for depth, level in enumerate(REGION_LEVELS, start=1):
        _, level_rows = summary_table(report, level, categories)
        for position, row in enumerate(level_rows):
            positions[tuple(row[:depth])] = position
            rows.append([REGION_LEVEL_NAMES[level], *row[:depth], *[""] * (3 - depth), *row[depth:]])

    def tree_order(row: list[object]) -> tuple[int, ...]:
        # A county, then its townships, each followed by its villages; a blank name sorts first.
        names = row[1:4]
        return tuple(positions[tuple(names[:depth])] if names[depth - 1] != "" else -1 for depth in (1, 2, 3))

    rows.sort(key=tree_order)
    counts_head = summary_table(report, "county", categories)[0][1:]
    fill_sheet(sheet, ["层级", "县", "乡镇", "村", *counts_head], rows)
    for row_number, row in enumerate(rows, start=2):
        if row[0] != REGION_LEVEL_NAMES["village"]:
            for cell in sheet[row_number]:
                cell.font = _SUBTOTAL_FONT


def _ranking_sheet(sheet: Worksheet, grades: dict) -> None:
    """Counties then townships, each ranked among its own level."""
    _, county_rows = ranking_table(grades, "counties")
    township_head, township_rows = ranking_table(grades, "townships")
    rows = [["县", row[0], row[1], "", *row[2:]] for row in county_rows]
    rows += [["乡镇", *row] for row in township_rows]
    fill_sheet(sheet, ["层级", *township_head], rows)


def fill_sheet(sheet: Worksheet, head: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a table with a bold frozen header, an auto filter and widths that fit the content."""
    sheet.append(list(head))
    for row in rows:
        sheet.append([_cell_value(value) for value in row])
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            _keep_type(cell)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(head), 1))}{max(sheet.max_row, 1)}"
    _fit_widths(sheet)


def _cell_value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, dt.date)):
        return value
    # openpyxl refuses control characters; a report shows the rest of the text rather than fail.
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))


def _keep_type(cell) -> None:
    """Show a cell's value as the type it has: text stays text, a date shows as a date."""
    if isinstance(cell.value, str):
        # Text that looks like a formula (a name typed as "=...") or a number (a phone) stays text.
        cell.data_type = "s"
        cell.number_format = "@"
    elif isinstance(cell.value, dt.datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(cell.value, dt.date):
        cell.number_format = "yyyy-mm-dd"


def _fit_widths(sheet: Worksheet) -> None:
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is not None:
                widths[cell.column] = max(widths.get(cell.column, 0), display_width(str(cell.value)))
    wrap = Alignment(wrap_text=True, vertical="top")
    for column, width in widths.items():
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
        if width + 2 > _MAX_WIDTH:
            for cell in sheet[letter][1:]:
                cell.alignment = wrap


def save_atomic(workbook: Workbook, path: str | os.PathLike) -> None:
    """Write the workbook through a temporary file renamed over `path`: never half-written."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    write_atomic(os.fspath(path), buffer.getvalue(), what="工作簿")
