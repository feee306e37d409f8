"""Dossiers as a workbook laid out like a national-system export: one sheet per part, rows linked by 户编号 and 序号."""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
import os
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import count, groupby
from pathlib import Path
from typing import IO


from dangka.contract import ENTITIES, Entity, Field, normalize, structure_errors
from dangka.errors import InputError, Location, UsageError
from dangka.i18n import shortened, tr
from dangka.load import (
    DOSSIER_SUFFIXES,
    Loaded,
    Place,
    SeenIds,
    household_key,
    iter_dossiers,
    json_text_value,
    open_input,
    repeated_id_message,
    walk,
)

HOUSEHOLD_ID = "户编号"
POSITION = "序号"
EXTRA_SHEET = "其他字段"
EXTRA_HEAD = (HOUSEHOLD_ID, "路径", "值")
# A workbook is a zip file; refuse one that would unpack to more than this (a zip bomb).
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_CELL_CHARS = 32767  # Excel's limit for one cell, as excel_length counts
# The sheets are joined in memory (the memory a row takes is under MAX_WORKBOOK_ROWS). Larger exports
# are read as JSON Lines, streamed a household at a time.
MAX_HOUSEHOLDS = 200_000
# The rows of all sheets together, for the same reason: 200,000 households have millions of rows of
# members, measures and meetings. Read from workbooks of dangka.synth's dossiers (about 25 rows a
# household), 492,923 rows peaked at 450 MB (ru_maxrss) and 986,820 rows at 858 MB: about 830 bytes a
# row, which are mostly the cells' values and the dossiers' dicts. Half a million keeps a reading
# within about 450 MB.
MAX_WORKBOOK_ROWS = 500_000

# The dossier's list of helper ids has no entity in the contract (the helper entity describes the
# registry's helper); the workbook needs a column for it.
_HELPER_LINK = Entity(
    "helper_link", "帮扶责任人", (), "helpers", True, (Field("helper_id", "帮扶责任人编号", "str", ""),)
)


@dataclass(frozen=True)
class Sheet:
    """One sheet of the layout: its name, the contract entities whose fields are its columns."""

    name: str
    entities: tuple[Entity, ...]
    many: bool  # a row per list item (with 序号) or a row per household

    @property
    def columns(self) -> list[tuple[Entity, Field]]:
        return [(entity, field) for entity in self.entities for field in entity.fields if not field.derived]

    @property
    def links(self) -> list[str]:
        """The columns that tie a row to its household and its place in the list."""
        if self.many:
            return [HOUSEHOLD_ID, POSITION]
        # The 户 sheet's own 户编号 is the household's id field.
        return [] if self.entities[0].key == "household" else [HOUSEHOLD_ID]

    @property
    def head(self) -> list[str]:
        return self.links + [field.label for _, field in self.columns]

    def names(self) -> set[str]:
        """Sheet titles read as this sheet: its name and its main entity's names (家庭成员 → 成员)."""
        return {self.name, *self.entities[0].names}


SHEETS = (
    Sheet("户", tuple(ENTITIES[key] for key in ("household", "income", "conditions", "assets")), False),
    Sheet("成员", (ENTITIES["member"],), True),
    Sheet("其他致贫原因", (ENTITIES["other_cause"],), True),
    Sheet("帮扶措施", (ENTITIES["measure"],), True),
    Sheet("帮扶责任人", (_HELPER_LINK,), True),
    Sheet("普查表", (ENTITIES["survey"],), False),
    Sheet("采集表", (ENTITIES["collection"],), False),
    Sheet("明白卡联系人", (ENTITIES["contact"],), True),
    Sheet("申请书", (ENTITIES["application"],), False),
    Sheet("会议记录", (ENTITIES["meeting"],), True),
    Sheet("公示", (ENTITIES["notice"],), True),
    Sheet("公告", (ENTITIES["announcement"],), False),
)
HOUSEHOLD_SHEET = SHEETS[0]


@dataclass
class SheetLoaded(Loaded):
    """A dossier read from a workbook; `notes` names the cells whose values were kept as written
    although they do not fit the contract (the rules report those values as findings)."""

    notes: list[str] = field(default_factory=list)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a workbook's sheets are joined in memory (or its rows are
    made and written).

    Reading builds nothing but new, lasting, acyclic objects (cells' values into households), which
    reference counting frees; yet each full collection walked all of them again, a fifth of the
    time of a workbook of 8,000 households and more the larger it was. The reading is bounded
    (MAX_WORKBOOK_ROWS); the collector is on again when it ends, however it ends.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def excel_length(text: str) -> int:
    """A text's length as Excel counts it (LEN, the cell limit): in UTF-16 units, two for a character beyond
    U+FFFF such as the rare characters of some names."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def column_letter(number: int) -> str:
    """A spreadsheet column's letters: 1 → A, 26 → Z, 27 → AA (openpyxl's get_column_letter, without
    importing openpyxl and numpy into every run that reads no workbook)."""
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


# ---------------------------------------------------------------------------------------------
# Paths inside a dossier: ("members", 0, "insurance", "medical") ⇄ members[0].insurance.medical

# A key is written bare when it is plain; otherwise as a JSON string (cell_json), which also
# escapes the characters a workbook cell cannot hold.
_PLAIN_KEY = re.compile(r'[^.\[\]"\s\x00-\x1f\x7f\ufffe\uffff]+')
_PATH_PART = re.compile(r'\.?([^.\[\]"\s\x00-\x1f\x7f\ufffe\uffff]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')
# What a cell cannot give back as written: characters XML 1.0 cannot hold (a workbook holding
# U+FFFE cannot be opened) and the carriage return, which comes back as a line feed.
_NOT_IN_CELLS = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
# Of those, the ones json.dumps leaves as they are.
_NOT_ESCAPED_BY_JSON = re.compile(r"[\ufffe\uffff]")


def path_text(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{cell_json(part)}]"
    return text


def cell_json(value: object) -> str:
    """JSON text of a value that a cell holds as written: dates as ISO text, U+FFFE and U+FFFF escaped."""
    text = json.dumps(value, ensure_ascii=False, default=iso_date)
    return _NOT_ESCAPED_BY_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def path_parts(text: str) -> list[str | int] | None:
    """The parts of a path written by path_text, or None when it is not one."""
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PATH_PART.match(text, position)
        if not match or (match.group(0).startswith(".") and not parts):
            return None
        key, index, quoted = match.groups()
        parts.append(key if key is not None else int(index) if index is not None else json.loads(quoted))
        position = match.end()
    return parts or None


@lru_cache(maxsize=4096)
def _split(path: str) -> tuple[str, ...]:
    # Cached, the keys of every dossier read from a workbook are the same few strings, not a copy for
    # each cell: an eighth of the memory the dossiers took. Bounded: the 其他字段 sheet's paths are
    # the workbook's own, as many as it has rows.
    return tuple(path.split(".")) if path else ()


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass
class _Shape:
    """What the layout has columns for at one place of a dossier: a cell, a mapping, or a list of rows."""

    kind: str  # "cell" | "mapping" | "list"
    children: dict[str, _Shape] = field(default_factory=dict)
    item: _Shape | None = None
    own_row: bool = False  # a node with its own row comes back even when all its cells are empty


def _layout_shape() -> _Shape:
    root = _Shape("mapping", own_row=True)
    for sheet in SHEETS:
        for entity in sheet.entities:
            node = _shape_at(root, _split(entity.path))
            if entity.many:
                node.kind = "list"
                node.item = node.item or _Shape("mapping", own_row=True)
                node = node.item
            elif entity.path:
                node.own_row = sheet is not HOUSEHOLD_SHEET
            for field_ in entity.fields:
                if field_.derived:
                    continue
                if not field_.path:  # the list item itself is the value (other causes, helper ids)
                    node.kind = "cell"
                    continue
                _shape_at(node, _split(field_.path)).kind = "cell"
    return root


def _shape_at(node: _Shape, parts: Sequence[str]) -> _Shape:
    for part in parts:
        node = node.children.setdefault(part, _Shape("mapping"))
    return node


class _Flattener:
    """Splits one dossier into sheet rows, and 其他字段 rows for everything the layout has no column for.

    `unstorable` says why the dossier cannot be written at all (a text longer than a cell holds),
    or is None.
    """

    shape = _layout_shape()

    def __init__(self, dossier: dict):
        self.dossier = dossier
        self.household_id = dossier.get("id")
        self.rows: dict[str, list[list[object]]] = {sheet.name: [] for sheet in SHEETS}
        self.extras: list[list[object]] = []
        self.unstorable: str | None = None

    def flatten(self) -> None:
        if isinstance(self.household_id, str) and not _fits_cell(self.household_id):
            # Every row names its household by this id: it must be in cells as written.
            self.unstorable = tr("户编号含有工作簿单元格不能存放的字符（控制字符、回车、U+FFFE 或 U+FFFF）",
                                 "the household id holds characters a workbook cell cannot hold "
                                 "(control characters, carriage returns, U+FFFE or U+FFFF)")
            return
        self._walk(self.dossier, self.shape, [])
        for sheet in SHEETS:
            self._sheet_rows(sheet)

    def _walk(self, node: object, shape: _Shape, parts: list) -> bool:
        """Record as extras what has no cell; True when the node leaves something in the workbook."""
        if shape.kind == "cell":
            if _fits_cell(node):
                return not (node is None or (isinstance(node, str) and not node.strip()))
            return self._extra(parts, node)
        if shape.kind == "list":
            if not isinstance(node, list) or not node:
                return self._extra(parts, node)
            for index, item in enumerate(node):
                self._walk(item, shape.item, [*parts, index])
            return True
        if not isinstance(node, dict):
            return self._extra(parts, node)
        left_something = shape.own_row
        for key, value in node.items():
            if key in shape.children:
                left_something |= self._walk(value, shape.children[key], [*parts, key])
            else:
                self._extra([*parts, key], value)
                left_something = True
        if not left_something:
            # A mapping of empty cells would not come back at all; keep it as it is.
            return self._extra(parts, node)
        return True

    def _extra(self, parts: list, value: object) -> bool:
        path = path_text(parts)
        text = cell_json(value)
        shown = shortened(path, 60)
        self._refuse_long(path, tr(f"路径 {shown}", f"the path {shown}"))
        self._refuse_long(text, tr(f"{shown} 写成 JSON", f"{shown} as JSON"))
        self.extras.append([self.household_id, path, text])
        return True

    def _refuse_long(self, text: str, subject: str) -> None:
        length = excel_length(text)
        if length > MAX_CELL_CHARS and self.unstorable is None:
            counted = "" if length == len(text) else tr(f"（Excel 计为 {length} 字）", f" ({length} as Excel counts)")
            self.unstorable = tr(f"{subject} 有 {len(text)} 字{counted}，超过工作簿单元格的上限 {MAX_CELL_CHARS} 字",
                                 f"{subject} has {len(text)} characters{counted}, more than a workbook cell holds "
                                 f"({MAX_CELL_CHARS})")

    def _cells(self, node: object, fields: list[Field], base: list) -> list[object]:
        """The cells of one row: each field's value under `node`, which lies at `base` in the dossier."""
        cells = []
        for field_ in fields:
            value = _cell_of(node, field_)
            if isinstance(value, str):
                self._refuse_long(value, shortened(path_text([*base, *_split(field_.path)]), 60))
            cells.append(value)
        return cells

    def _sheet_rows(self, sheet: Sheet) -> None:
        if sheet is HOUSEHOLD_SHEET:
            cells = []
            for entity, field_ in sheet.columns:
                base = _split(entity.path)
                found, node = _get(self.dossier, base)
                cells.extend(self._cells(node, [field_], base) if found else [None])
            self.rows[sheet.name].append(cells)
            return
        entity = sheet.entities[0]
        base = _split(entity.path)
        found, node = _get(self.dossier, base)
        fields = [field_ for _, field_ in sheet.columns]
        if not sheet.many and isinstance(node, dict):
            self.rows[sheet.name].append([self.household_id, *self._cells(node, fields, base)])
        elif sheet.many and isinstance(node, list):
            for position, item in enumerate(node, start=1):
                cells = self._cells(item, fields, [*base, position - 1])
                self.rows[sheet.name].append([self.household_id, position, *cells])


def _cell_of(node: object, field: Field) -> object:
    found, value = _get(node, _split(field.path))
    if not found or not _fits_cell(value):
        return None
    if isinstance(value, bool) and field.type == "bool":
        return "是" if value else "否"
    return value


# A cell holds a double: integers beyond this are not kept exactly.
MAX_EXACT_INTEGER = 2**53


def _fits_cell(value: object) -> bool:
    """A value a cell gives back unchanged; others go to 其他字段 as JSON."""
    if isinstance(value, str):
        return _NOT_IN_CELLS.search(value) is None
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_EXACT_INTEGER
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dt.datetime):
        return value.tzinfo is None  # Excel has no time zones
    return isinstance(value, dt.date)


def _get(node: object, parts: list) -> tuple[bool, object]:
    for part in parts:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False, None
        elif not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def iso_date(value: object) -> str:
    """JSON for the dates YAML dossiers carry: ISO text (json.dumps `default`)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"不能写入工作簿的值：{type(value).__name__}")


def write_workbook(dossiers: Iterable[dict], path: str) -> list[tuple[int, str]]:
    """Write dossiers as a workbook of the national-system layout (replaced atomically).

    A dossier no workbook can hold (a text longer than a cell's 32,767 characters, an id with
    characters no cell holds) is left out: returned are (its place among `dossiers`, why).
    Dossiers needing more rows than read_workbook reads (MAX_WORKBOOK_ROWS) are refused (UsageError).
    """
    with _collector_paused():   # rows and cells: new, lasting, acyclic objects, as when reading
        return _write_workbook(dossiers, path)


def _write_workbook(dossiers: Iterable[dict], path: str) -> list[tuple[int, str]]:
    rows: dict[str, list[list[object]]] = {sheet.name: [] for sheet in SHEETS}
    extras: list[list[object]] = []
    left_out: list[tuple[int, str]] = []
    written = 0
    for place, dossier in enumerate(dossiers):
        flattener = _Flattener(dossier)
        flattener.flatten()
        if flattener.unstorable is not None:
            left_out.append((place, flattener.unstorable))
            continue
        for name, sheet_rows in flattener.rows.items():
            rows[name].extend(sheet_rows)
            written += len(sheet_rows)
        extras.extend(flattener.extras)
        written += len(flattener.extras)
        if written > MAX_WORKBOOK_ROWS:
            raise UsageError(tr(f"档案写成工作簿超过 {MAX_WORKBOOK_ROWS} 行（第 {place + 1} 户处），这样的工作簿无法读回；"
                                "请输出为 JSON Lines（--out 文件.jsonl）",
                                f"the dossiers take more than {MAX_WORKBOOK_ROWS} workbook rows (at household "
                                f"{place + 1}), more than a workbook is read with: write JSON Lines (--out FILE.jsonl)"))
    # openpyxl (and numpy with it) only when a workbook is written: most runs read none
    from openpyxl import Workbook

    from dangka.report.xlsx import fill_sheet, save_atomic

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in SHEETS:
        fill_sheet(workbook.create_sheet(sheet.name), sheet.head, rows[sheet.name])
    fill_sheet(workbook.create_sheet(EXTRA_SHEET), EXTRA_HEAD, extras)
    save_atomic(workbook, path)
    return left_out


# ---------------------------------------------------------------------------------------------
# Reading


class _WorkbookProblem(Exception):
    """The workbook as a whole cannot be read; `line` is the row of the 户 sheet at fault, where one is."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _too_large(what_zh: str, what_en: str, line: int | None) -> _WorkbookProblem:
    """A workbook past one of the caps on what is read (MAX_HOUSEHOLDS, MAX_WORKBOOK_ROWS): why, and the way out."""
    return _WorkbookProblem(tr(f"{what_zh}，一个工作簿的各表要在内存中对接，拒绝读取；请从系统导出为 JSON Lines"
                               "（.jsonl，每行一户）再核查",
                               f"{what_en}: a workbook's sheets are joined in memory; export JSON Lines (.jsonl, "
                               "one household a line) instead"), line)


@dataclass
class _Household:
    row: int
    dossier: dict
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_workbook(path: str) -> Iterator[SheetLoaded]:
    """Every dossier of a workbook in 户 sheet order, then problems that belong to no household; never raises.

    Workbook-level problems (missing or unknown sheets, unknown columns) come first as errors; a
    household with a bad linking cell (户编号, 序号, 其他字段) is an error naming sheet, row and column.
    """
    reader = _WorkbookReader(path)
    try:
        reader.read()
    except _WorkbookProblem as problem:
        yield SheetLoaded(path, problem.line, 0, None, InputError(str(problem), Location(path, problem.line)))
        return
    yield from reader.results()


class _WorkbookReader:
    def __init__(self, path: str):
        self.path = path
        self.problems: list[str] = []  # about the workbook, not one household
        self.orphans: list[tuple[int, str]] = []  # (row, message) for rows of no known household
        self.households: dict[str, _Household] = {}
        self.rows_read = 0  # non-empty rows below the headers, of all sheets so far
        # sheet → (row, column) of its formula cells with no computed value, which read as empty
        self.uncomputed: dict[str, set[tuple[int, int]]] = {}

    def read(self) -> None:
        try:
            stream = open_input(self.path)
        except InputError as error:
            raise _WorkbookProblem(error.message) from None
        with stream:
            self._read_workbook(stream)

    def _read_workbook(self, stream: IO[bytes]) -> None:
        _refuse_zip_bomb(stream)
        try:
            with warnings.catch_warnings():
                # openpyxl warns about features it drops (data validation, styles); they do not matter here.
                warnings.simplefilter("ignore")
                from openpyxl import load_workbook   # only when a workbook is read

                workbook = load_workbook(stream, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds of error for a damaged file
            raise _damaged(error) from error
        try:
            with _collector_paused():
                self._read_sheets(self._match_sheets(workbook))
        except _WorkbookProblem:
            raise
        except Exception as error:  # read-only sheets are parsed while iterating: damage shows up here too
            raise _damaged(error) from error
        finally:
            workbook.close()

    def _read_sheets(self, sheets: dict) -> None:
        self._read_households(sheets[HOUSEHOLD_SHEET.name])
        for sheet in SHEETS[1:]:
            if sheet.name in sheets:
                self._read_parts(sheet, sheets[sheet.name])
        if EXTRA_SHEET in sheets:
            self._read_extras(sheets[EXTRA_SHEET])

    def _match_sheets(self, workbook) -> dict:
        matched = {}
        for worksheet in workbook.worksheets:
            title = worksheet.title.strip()
            layout = next((sheet for sheet in SHEETS if title in sheet.names()), None)
            name = layout.name if layout else EXTRA_SHEET if title == EXTRA_SHEET else None
            if name is None:
                self.problems.append(tr(f"未知的工作表“{worksheet.title}”，其中的数据没有读取", f"unknown sheet \"{worksheet.title}\": its data was not read"))
            elif name in matched:
                self.problems.append(tr(f"工作表“{worksheet.title}”与“{matched[name].title}”重复，只读取了前者",
                                            f"sheet \"{worksheet.title}\" repeats \"{matched[name].title}\": only the latter was read"))
            else:
                # Read-only sheets stop at the size the file states, which some tools leave stale:
                # rows below it would be dropped without a word.
                worksheet.reset_dimensions()
                matched[name] = worksheet
                self.uncomputed[name] = _uncomputed_formulas(worksheet)
        if HOUSEHOLD_SHEET.name not in matched:
            raise _WorkbookProblem(tr("工作簿缺少工作表“户”（每户一行），无法读取",
                                      "the workbook has no sheet \"户\" (one row per household): not read"))
        for sheet in SHEETS[1:]:
            if sheet.name not in matched:
                self.problems.append(tr(f"缺少工作表“{sheet.name}”，各户的{sheet.name}为空",
                                        f"no sheet \"{sheet.name}\": every household's {sheet.name} is empty"))
        return matched

    # -- header --------------------------------------------------------------------------------

    def _columns(self, sheet_name: str, header: tuple, allowed: dict[str, object]) -> dict[int, object]:
        """Column index → what it holds, from the header row; unknown and repeated headers are problems."""
        columns: dict[int, object] = {}
        seen: dict[object, str] = {}
        for index, cell in enumerate(header):
            title = "" if cell.value is None else str(cell.value).strip()
            if not title:
                continue
            where = f"{sheet_name}!{column_letter(index + 1)}1"
            meaning = allowed.get(title)
            if meaning is None:
                self.problems.append(tr(f"{where}：未知的列“{title}”，该列没有读取", f"{where}: unknown column \"{title}\": not read"))
            elif meaning in seen:
                self.problems.append(tr(f"{where}：列“{title}”与“{seen[meaning]}”重复，该列没有读取",
                                        f"{where}: column \"{title}\" repeats \"{seen[meaning]}\": not read"))
            else:
                columns[index] = meaning
                seen[meaning] = title
        return columns

    @staticmethod
    def _allowed(sheet: Sheet) -> dict[str, object]:
        allowed: dict[str, object] = {}
        for entity, field_ in sheet.columns:
            for name in field_.names:
                allowed.setdefault(name, (entity, field_))
        if sheet is not HOUSEHOLD_SHEET:
            allowed[HOUSEHOLD_ID] = HOUSEHOLD_ID
        if sheet.many:
            allowed[POSITION] = POSITION
        return allowed

    # -- sheets ---------------------------------------------------------------------------------

    def _rows(self, worksheet, sheet_name: str) -> Iterator[tuple[int, tuple]]:
        """(row number, cells) of the non-empty rows below the header, counted against MAX_WORKBOOK_ROWS
        as they are read."""
        for number, row in enumerate(worksheet.iter_rows(min_row=2), start=2):
            if any(cell.value not in (None, "") for cell in row):
                self.rows_read += 1
                if self.rows_read > MAX_WORKBOOK_ROWS:
                    raise self._too_many_rows(sheet_name, number)
                yield number, row

    @staticmethod
    def _too_many_rows(sheet_name: str, number: int) -> _WorkbookProblem:
        return _too_large(f"工作簿各表合计超过 {MAX_WORKBOOK_ROWS} 行（工作表“{sheet_name}”第 {number} 行）",
                          f"the workbook's sheets hold more than {MAX_WORKBOOK_ROWS} rows together "
                          f"(sheet \"{sheet_name}\", row {number})",
                          number if sheet_name == HOUSEHOLD_SHEET.name else None)

    def _read_households(self, worksheet) -> None:
        header = next(worksheet.iter_rows(max_row=1), ())
        columns = self._columns(HOUSEHOLD_SHEET.name, header, self._allowed(HOUSEHOLD_SHEET))
        id_field = HOUSEHOLD_SHEET.entities[0].field("id")
        id_column = next(
            (index for index, meaning in columns.items() if meaning == (ENTITIES["household"], id_field)), None
        )
        if id_column is None:
            raise _WorkbookProblem(tr("工作表“户”缺少“户编号”列，无法读取", "sheet \"户\" has no column \"户编号\": not read"))
        for number, row in self._rows(worksheet, HOUSEHOLD_SHEET.name):
            household_id, problem = self._household_id(HOUSEHOLD_SHEET.name, number, row, id_column)
            where = f"户!{column_letter(id_column + 1)}{number}"
            if household_id is None:
                self.orphans.append((number, problem))
                continue
            if household_id in self.households:
                first = self.households[household_id].row
                self.orphans.append((number, tr(f"{where}：户编号“{household_id}”与第 {first} 行重复，该行没有读取",
                                               f"{where}: household id \"{household_id}\" repeats row {first}: row not read")))
                continue
            if len(self.households) == MAX_HOUSEHOLDS:
                raise _too_large(f"工作表“户”超过 {MAX_HOUSEHOLDS} 户（{where}）",
                                 f"sheet \"户\" holds more than {MAX_HOUSEHOLDS} households ({where})", number)
            household = _Household(number, {})
            self.households[household_id] = household
            self._fill(household, HOUSEHOLD_SHEET.name, number, row, columns, [])

    def _read_parts(self, sheet: Sheet, worksheet) -> None:
        header = next(worksheet.iter_rows(max_row=1), ())
        columns = self._columns(sheet.name, header, self._allowed(sheet))
        id_column = _column_of(columns, HOUSEHOLD_ID)
        if id_column is None:
            self.problems.append(tr(f"工作表“{sheet.name}”缺少“户编号”列，该表没有读取",
                                    f"sheet \"{sheet.name}\" has no column \"户编号\": not read"))
            return
        position_column = _column_of(columns, POSITION) if sheet.many else None
        rows_by_household: dict[str, list[tuple[int, int, tuple]]] = {}
        for number, row in self._rows(worksheet, sheet.name):
            household = self._household_of(sheet.name, number, row, id_column)
            if household is None:
                continue
            position = self._position(sheet.name, number, row, position_column, household)
            if position is not None:
                rows_by_household.setdefault(household.dossier["id"], []).append((position, number, row))
        entity_parts = _split(sheet.entities[0].path)
        for household_id, rows in rows_by_household.items():
            household = self.households[household_id]
            rows.sort(key=lambda item: item[0])
            if self._repeated(sheet, household, rows, position_column):
                continue
            if not sheet.many:
                _ensure(household.dossier, entity_parts, {})
                self._fill(household, sheet.name, rows[0][1], rows[0][2], columns, entity_parts)
                continue
            items = _ensure(household.dossier, entity_parts, [])
            for index, (_, number, row) in enumerate(rows):
                # Other causes and helper ids are lists of words, the other lists of mappings.
                items.append({} if sheet.entities[0].fields[0].path else None)
                self._fill(household, sheet.name, number, row, columns, [*entity_parts, index])

    def _household_of(self, sheet_name: str, number: int, row: tuple, id_column: int) -> _Household | None:
        household_id, problem = self._household_id(sheet_name, number, row, id_column)
        if household_id is None:
            self.orphans.append((number, problem))
            return None
        where = f"{sheet_name}!{column_letter(id_column + 1)}{number}"
        household = self.households.get(household_id)
        if household is None:
            self.orphans.append((number, tr(f"{where}：户编号“{household_id}”在工作表“户”中没有，该行没有读取",
                                           f"{where}: household id \"{household_id}\" is not in sheet \"户\": row not read")))
        return household

    def _household_id(self, sheet_name: str, number: int, row: tuple, id_column: int) -> tuple[str | None, str]:
        """The household id of a row's linking cell, or None and why the row is not read."""
        raw = row[id_column].value if id_column < len(row) else None
        where = f"{sheet_name}!{column_letter(id_column + 1)}{number}"
        value, reason = normalize(Field("id", HOUSEHOLD_ID, "str", ""), _plain(raw))
        if value is not None:
            return value, ""
        if raw is None and (number, id_column + 1) in self.uncomputed[sheet_name]:
            return None, tr(f"{where}：{UNCOMPUTED_FORMULA}；该行没有读取", f"{where}: {UNCOMPUTED_FORMULA_EN}; row not read")
        if reason is None:
            return None, tr(f"{where}：户编号为空，该行没有读取", f"{where}: household id empty: row not read")
        return None, tr(f"{where}：户编号{reason}（实为“{_shown(raw)}”），该行没有读取",
                        f"{where}: the household id must be text, not \"{_shown(raw)}\": row not read")

    def _position(self, sheet_name, number, row, column, household) -> int | None:
        """The row's 序号; its place in the sheet when there is no 序号 column; None (an error) when bad."""
        if column is None:
            return number
        raw = row[column].value if column < len(row) else None
        value, _ = normalize(Field("position", POSITION, "int", ""), raw)
        if isinstance(value, int) and value > 0:
            return value
        where = f"{sheet_name}!{column_letter(column + 1)}{number}"
        household.errors.append(tr(f"{where}：序号应为正整数，实为“{_shown(raw)}”",
                                  f"{where}: 序号 must be a positive whole number, not \"{_shown(raw)}\""))
        return None

    @staticmethod
    def _repeated(sheet: Sheet, household: _Household, rows: list, position_column: int | None) -> bool:
        """A household with two rows in a one-row sheet, or two rows of the same 序号, is an error."""
        if not sheet.many and len(rows) > 1:
            household.errors.append(tr(f"{sheet.name}!A{rows[1][1]}：该户在“{sheet.name}”中已有第 {rows[0][1]} 行",
                                      f"{sheet.name}!A{rows[1][1]}: the household already has row {rows[0][1]} in \"{sheet.name}\""))
            return True
        repeated = False
        for (before, first_row, _), (position, number, _) in zip(rows, rows[1:], strict=False):
            if position == before and position_column is not None:
                letter = column_letter(position_column + 1)
                household.errors.append(tr(f"{sheet.name}!{letter}{number}：序号 {position} 与第 {first_row} 行重复",
                                          f"{sheet.name}!{letter}{number}: 序号 {position} repeats row {first_row}"))
                repeated = True
        return repeated

    # -- cells ----------------------------------------------------------------------------------

    def _fill(self, household, sheet_name, number, row, columns, base: list) -> None:
        """Put the row's cells into the dossier under `base`; bad cells become notes or errors."""
        for index, meaning in columns.items():
            if not isinstance(meaning, tuple) or index >= len(row):
                continue
            cell = row[index]
            where = f"{sheet_name}!{column_letter(index + 1)}{number}"
            if cell.value is None and (number, index + 1) in self.uncomputed[sheet_name]:
                household.errors.append(tr(f"{where}：{UNCOMPUTED_FORMULA}", f"{where}: {UNCOMPUTED_FORMULA_EN}"))
                continue
            if cell.value is None or (isinstance(cell.value, str) and not cell.value.strip()):
                continue
            entity, field_ = meaning
            if cell.data_type == "e":
                household.errors.append(tr(f"{where}：单元格是错误值 {cell.value}", f"{where}: the cell holds the error {cell.value}"))
                continue
            value = _value_for(field_, cell.value)
            if value is _UNFIT:
                raw = _plain(cell.value)
                _, reason = normalize(field_, raw)
                household.notes.append(tr(f"{where}：{field_.label}{reason}，已按原样保留",
                                          f"{where}: {field_.label}{reason}; kept as written"))
                value = raw
            parts = [*base, *_split(entity.path if sheet_name == HOUSEHOLD_SHEET.name else ""), *_split(field_.path)]
            _put(household.dossier, parts, value)

    def _read_extras(self, worksheet) -> None:
        header = next(worksheet.iter_rows(max_row=1), ())
        allowed = {name: name for name in EXTRA_HEAD}
        columns = self._columns(EXTRA_SHEET, header, allowed)
        if set(columns.values()) != set(EXTRA_HEAD):
            self.problems.append(tr(f"工作表“{EXTRA_SHEET}”应有“户编号”“路径”“值”三列，该表没有读取",
                                    f"sheet \"{EXTRA_SHEET}\" must have the columns 户编号, 路径, 值: not read"))
            return
        at = {meaning: index for index, meaning in columns.items()}
        for number, row in self._rows(worksheet, EXTRA_SHEET):
            household = self._household_of(EXTRA_SHEET, number, row, at[HOUSEHOLD_ID])
            if household is None:
                continue
            self._put_extra(household, number, row, at)

    def _put_extra(self, household: _Household, number: int, row: tuple, at: dict) -> None:
        path_cell = row[at["路径"]].value if at["路径"] < len(row) else None
        value_cell = row[at["值"]].value if at["值"] < len(row) else None
        parts = path_parts(str(path_cell).strip()) if path_cell is not None else None
        path_where = f"{EXTRA_SHEET}!{column_letter(at['路径'] + 1)}{number}"
        value_where = f"{EXTRA_SHEET}!{column_letter(at['值'] + 1)}{number}"
        if parts is None:
            household.errors.append(tr(f"{path_where}：路径“{_shown(path_cell)}”写法不对，应如 members[0].insurance",
                                      f"{path_where}: path \"{_shown(path_cell)}\" is not written like members[0].insurance"))
            return
        if parts == ["id"]:
            # The id links the household's rows: changed here, two households could end under one id.
            household.errors.append(tr(f"{path_where}：路径 id 是户编号，户编号只能写在工作表“户”中",
                                      f"{path_where}: the path id is the household id, which only sheet \"户\" holds"))
            return
        try:
            value = json_text_value(str(value_cell)) if value_cell is not None else None
        except InputError as error:
            household.errors.append(tr(f"{value_where}：值不是有效的 JSON（{error.message}）", f"{value_where}: the value is not valid JSON ({error.message})"))
            return
        if not _put(household.dossier, parts, value):
            household.errors.append(tr(f"{path_where}：路径“{_shown(path_cell)}”在该户档案中接不上（列表项不存在或上层不是映射）",
                                      f"{path_where}: path \"{_shown(path_cell)}\" does not fit the dossier (no such list item, or not under a mapping)"))

    def results(self) -> Iterator[SheetLoaded]:
        index = 0
        for problem in self.problems:
            yield SheetLoaded(self.path, None, index, None, InputError(problem, Location(self.path)))
            index += 1
        for household in self.households.values():
            messages = household.errors or structure_errors(household.dossier)
            if messages:
                where = tr(f"户 {household.dossier.get('id', '')}（户!{household.row} 行）：",
                           f"household {household.dossier.get('id', '')} (户!{household.row}): ")
                error = InputError(where + tr("；", "; ").join(messages), Location(self.path, household.row))
                yield SheetLoaded(self.path, household.row, index, None, error, household.notes)
            else:
                yield SheetLoaded(self.path, household.row, index, household.dossier, None, household.notes)
            index += 1
        for number, message in self.orphans:
            yield SheetLoaded(self.path, number, index, None, InputError(message, Location(self.path, number)))
            index += 1


_UNFIT = object()


def _value_for(field_: Field, raw: object) -> object:
    """The contract's value for a cell, or _UNFIT when the cell does not fit the field's type."""
    value, reason = normalize(field_, _plain(raw))
    if reason is not None:
        return _UNFIT
    return value


def _plain(raw: object) -> object:
    # Spreadsheets store dates as date-times at midnight.
    if isinstance(raw, dt.datetime) and raw.time() == dt.time(0):
        return raw.date()
    return raw




def _shown(raw: object) -> str:
    return "" if raw is None else shortened(str(raw), 40)


def _column_of(columns: dict[int, object], meaning: str) -> int | None:
    return next((index for index, candidate in columns.items() if candidate == meaning), None)


def _ensure(node: dict, parts: list, empty: object) -> object:
    """The container at `parts`, created (as `empty`) with its parents when absent."""
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if parts[-1] not in node:
        node[parts[-1]] = empty
    return node[parts[-1]]


def _put(node: object, parts: list, value: object) -> bool:
    """Set the value at a path, creating mappings on the way; False when the path cannot exist."""
    for part, following in zip(parts, [*parts[1:], None], strict=True):
        if following is None:
            break
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
            if node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            if not isinstance(node, dict):
                return False
            node = node.setdefault(part, [] if isinstance(following, int) else {})
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last > len(node):
            return False
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
        return True
    if not isinstance(node, dict):
        return False
    node[last] = value
    return True


UNCOMPUTED_FORMULA = "公式没有计算结果，请在 Excel 中打开并保存后再导出"
UNCOMPUTED_FORMULA_EN = "a formula saved without its result: open and save the workbook in Excel, then export again"
# A formula in a sheet's XML: <f> or a prefixed <x:f>. Most exports hold none and skip the parse.
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_SPREADSHEET_NAMESPACE = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _uncomputed_formulas(worksheet) -> set[tuple[int, int]]:
    """(row, column) of the sheet's formula cells saved without their result.

    openpyxl reads a workbook's values (data_only) and gives such a cell as empty, as if nothing
    were written there; it keeps no trace of the formula, so the sheet's XML is read for them.
    """
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import coordinate_to_tuple

    if not hasattr(worksheet, "_get_source"):   # openpyxl's private reader: gone in some version, the check goes with it
        return set()
    with worksheet._get_source() as source:  # openpyxl's read-only sheets keep their XML part's name
        if not _holds_formulas(source):
            return set()
    uncomputed = set()
    with worksheet._get_source() as source:
        for _, element in iterparse(source):
            if element.tag != f"{_SPREADSHEET_NAMESPACE}c":
                continue
            formula = element.find(f"{_SPREADSHEET_NAMESPACE}f")
            value = element.findtext(f"{_SPREADSHEET_NAMESPACE}v")
            # A cell without its place (r) is rare and its place is openpyxl's guess: it is left out.
            if formula is not None and not value and element.get("r"):
                uncomputed.add(coordinate_to_tuple(element.get("r")))
            element.clear()
    return uncomputed


def _holds_formulas(source: IO[bytes]) -> bool:
    tail = b""
    while chunk := source.read(1 << 20):
        if _FORMULA_TAG.search(tail + chunk):
            return True
        tail = chunk[-64:]
    return False


def _damaged(error: Exception) -> _WorkbookProblem:
    return _WorkbookProblem(tr(f"无法读取工作簿：不是有效的 xlsx 文件（{type(error).__name__}）",
                               f"cannot read the workbook: not a valid xlsx file ({type(error).__name__})"))


def _refuse_zip_bomb(stream: IO[bytes]) -> None:
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:  # a zip version or method Python lacks
        raise _damaged(error) from error
    if unpacked > MAX_UNPACKED_BYTES:
        megabytes = MAX_UNPACKED_BYTES // (1024 * 1024)
        raise _WorkbookProblem(tr(f"工作簿解压后超过 {megabytes} MB，拒绝读取",
                                  f"the workbook unpacks to more than {megabytes} MB: not read"))


def is_workbook(path: str | Path) -> bool:
    """A file this module reads, by its suffix."""
    return Path(path).suffix.lower() == ".xlsx"


def _input_files(paths: Iterable[str]) -> Iterator[str]:
    """The files named, and below the folders named the dossier files and workbooks, in order."""
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            yield from walk(path, (*DOSSIER_SUFFIXES, ".xlsx"))
        else:
            yield path


def iter_inputs(paths: Iterable[str]) -> Iterator[Loaded]:
    """Dossiers from files and folders (dangka.load.iter_dossiers) and workbooks, in input order.

    A household id seen twice across them makes the later dossier an error, as within one file.
    """
    return iter(RunInputs(paths))


class RunInputs:
    """The input items of a run (iter_inputs), to be read more than once: pass 1 and pass 2 of a check.

    The first complete reading finds the repeated household ids with one table of every id
    (dangka.load.SeenIds); later readings give the same items from what it found, without the table.
    The files are taken to be unchanged in between: an item whose id is not the one found repeated
    at its place is given as read.
    """

    def __init__(self, paths: Iterable[str]):
        self.paths = list(paths)
        self._repeats: dict[int, tuple[str, str]] | None = None  # input index → (household id, message)

    def __iter__(self) -> Iterator[Loaded]:
        if self._repeats is None:
            return self._first_reading()
        return self._later_reading(self._repeats)

    def _first_reading(self) -> Iterator[Loaded]:
        seen, repeats = SeenIds(), {}
        for loaded, group, workbooks in self._read():
            if loaded.dossier is not None:
                household_id = household_key(loaded.dossier)
                message = _repeat_problem(seen.first_seen(household_id, loaded.source, loaded.line, group),
                                          household_id, loaded.source, group, workbooks)
                if message is not None:
                    repeats[loaded.index] = (household_id, message)
                    _refuse(loaded, message)
            yield loaded
        self._repeats = repeats

    def _later_reading(self, repeats: dict[int, tuple[str, str]]) -> Iterator[Loaded]:
        for loaded, _, _ in self._read():
            repeat = repeats.get(loaded.index)
            if repeat is not None and loaded.dossier is not None and household_key(loaded.dossier) == repeat[0]:
                _refuse(loaded, repeat[1])
            yield loaded

    def _read(self) -> Iterator[tuple[Loaded, int, bool]]:
        """(item with its run-wide index, group number, from workbooks) in input order; a group is a run
        of consecutive dossier files or of consecutive workbooks."""
        index = count()
        for group, (workbooks, sources) in enumerate(groupby(_input_files(self.paths), key=is_workbook)):
            sources = list(sources)
            found = ((loaded for path in sources for loaded in read_workbook(path)) if workbooks
                     else iter_dossiers(sources, check_repeats=False))
            for loaded in found:
                loaded.index = next(index)
                yield loaded, group, workbooks


def _repeat_problem(first: Place | None, household_id: str, source: str, group: int, workbooks: bool) -> str | None:
    """Why a dossier whose id was first seen at `first` is not checked, or None.

    Within one group of dossier files a repeat names the first place, as dangka.load does; across
    groups and between workbooks it names the first file. A workbook's own repeated rows are its
    reader's to report, and a file read again in a later group is not its own repeat.
    """
    if first is None:
        return None
    if first.group == group and not workbooks:
        return repeated_id_message(household_id, first)
    if first.source != source:
        return tr(f"户编号“{household_id}”与 {first.source} 中的档案重复",
              f"household id \"{household_id}\" repeats a dossier in {first.source}")
    return None


def _refuse(loaded: Loaded, message: str) -> None:
    loaded.dossier, loaded.error = None, InputError(message, Location(loaded.source, loaded.line))
