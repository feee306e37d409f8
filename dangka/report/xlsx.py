"""The feedback workbook: 问题清单 (one row per finding), 汇总 by region, 评比 ranking, written atomically."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice

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
from dangka.spreadsheet import MAX_CELL_CHARS, excel_length

# Excel opens no more rows than this in one sheet, the header row included. openpyxl does not stop
# there: it takes further rows, then fails on them with a ValueError when the sheet is laid out.
# A longer table is continued on further sheets (fill_sheets). Tests set it low.
MAX_SHEET_ROWS = 1_048_576
FINDINGS_TITLE = "问题清单"
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
    workbook.remove(workbook.active)
    tables = [fill_sheets(workbook, FINDINGS_TITLE, FINDINGS_HEAD + FINDINGS_EXTRA_HEAD, _finding_rows(report))]
    # Filled last: it tells which tables the sheets after it split.
    summary_sheet = workbook.create_sheet("汇总")
    if grades:
        _ranking_sheet(workbook.create_sheet("评比"), grades)
    if report.get("errors"):
        tables.append(fill_sheets(workbook, ERRORS_TITLE, ERRORS_HEAD, error_rows(report)))
    _summary_sheet(summary_sheet, report)
    _tell_split_tables(summary_sheet, [[workbook[title] for title in titles] for titles in tables])
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


def _tell_split_tables(summary_sheet: Worksheet, tables: list[list[Worksheet]]) -> None:
    """A line below the summary for each table Excel could not hold on one sheet, naming its sheets."""
    split = [sheets for sheets in tables if len(sheets) > 1]
    if split:
        summary_sheet.append([])
    for sheets in split:
        rows = sum(sheet.max_row - 1 for sheet in sheets)
        titles = "、".join(sheet.title for sheet in sheets)
        summary_sheet.append([f"注：{sheets[0].title}共 {rows} 条，超过 Excel 一个工作表 {MAX_SHEET_ROWS} 行"
                              f"（含表头）的上限，分在 {len(sheets)} 个工作表：{titles}"])


def fill_sheets(workbook: Workbook, title: str, head: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Write a table on as many sheets as Excel needs: `title`, then `title（二）`, `title（三）`, …, each
    laid out by fill_sheet with the header; returned are the sheets' titles (one for a short table)."""
    titles: list[str] = []
    remaining: Iterator[Sequence[object]] = iter(rows)
    while True:
        titles.append(title if not titles else f"{title}（{chinese_number(len(titles) + 1)}）")
        fill_sheet(workbook.create_sheet(titles[-1]), head, islice(remaining, MAX_SHEET_ROWS - 1))
        following = next(remaining, None)
        if following is None:
            return titles
        remaining = chain([following], remaining)


def chinese_number(number: int) -> str:
    """A sheet's number as Chinese numerals write it: 2 → 二, 10 → 十, 23 → 二十三; from 100 on, in digits."""
    digits = "零一二三四五六七八九"
    if number < 10:
        return digits[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")
    return str(number)


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
    return _within_cell(ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value)))


def _within_cell(text: str) -> str:
    """The text, or as much of it as one Excel cell holds followed by a mark saying how much was cut.

    openpyxl cuts a longer text at 32,767 characters without a word, and counts code points where
    Excel counts UTF-16 units: a text of rare characters (beyond U+FFFF) would still be too long.
    """
    # A text of at most half the limit's characters fits, whatever they are: most need no counting.
    if len(text) * 2 <= MAX_CELL_CHARS or excel_length(text) <= MAX_CELL_CHARS:
        return text
    # The mark is measured with the whole text's length, which it never exceeds in digits.
    room = MAX_CELL_CHARS - excel_length(_cut_mark(len(text)))
    kept = text.encode("utf-16-le", "surrogatepass")[: room * 2]
    if 0xD800 <= int.from_bytes(kept[-2:], "little") <= 0xDBFF:  # never half a surrogate pair
        kept = kept[:-2]
    shown = kept.decode("utf-16-le", "surrogatepass")
    return shown + _cut_mark(len(text) - len(shown))


def _cut_mark(cut: int) -> str:
    return f"……（超出 Excel 单元格 {MAX_CELL_CHARS} 字的上限，其后 {cut} 字已截去）"


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
