"""The policy knowledge base: parameters by year and province, and policy tables, read from YAML."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from importlib.resources import files as package_files
from pathlib import Path
from types import MappingProxyType

import yaml

from dangka.contract import enumeration
from dangka.errors import DangkaError, InputError, Location
from dangka.i18n import shortened, tr
from dangka.load import GuardedLoader, load_yaml_document, open_input

TYPES = ("num", "int", "bool", "str", "list")

# Files in the policy folder that other modules own (dangka.contract reads the dictionary,
# dangka.report.grade the grading thresholds, with read_parameter_mapping). They belong to the
# knowledge digest but are not parameter or table files; grading.yaml is checked on load.
GRADING_FILE = "grading.yaml"
DICTIONARY_FILE = "dictionary.yaml"
FOREIGN_FILES = frozenset({DICTIONARY_FILE, GRADING_FILE})

_YEAR_RANGE = range(1978, 2101)
_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
# Suffixes dropped to compare province names, so that 河南 matches 河南省 and 广西 matches
# 广西壮族自治区; the official full name stays the key in the files.
_PROVINCE_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")

_PARAMETER_FIELDS = {"label", "aliases", "description", "unit", "type", "reference", "values", "regional"}
_VALUE_FIELDS = {"from", "value", "reference", "note"}
_TABLE_FIELDS = {"kind", "key", "label", "aliases", "key_label", "description", "reference", "columns", "rows"}
_COLUMN_FIELDS = {"label", "type", "optional", "words", "refers", "enum", "description"}
_ROW_META = {"reference", "regional", "aliases", "note"}


class PolicyError(DangkaError):
    """A policy file that cannot be used: broken YAML, a value without reference, a wrong type."""

    code = "policy.invalid"

    def __init__(self, problems: list[tuple[Location, str]]):
        ordered = sorted(problems, key=lambda p: (p[0].file, p[0].line or 0))
        location, message = ordered[0]
        super().__init__(message, location)
        self.problems = ordered

    def __str__(self) -> str:
        return "\n".join(f"{location}: {self.code}: {message}" for location, message in self.problems)


# ---------------------------------------------------------------------------------------------
# YAML with line numbers


class _Map(dict):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict


class _Seq(list):
    """A YAML sequence that remembers its line."""

    line: int = 0


class _LineLoader(GuardedLoader):
    """The guarded loader of every YAML file, recording line numbers and refusing duplicate keys
    (PyYAML keeps the last)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    # Keys written twice are refused; a key brought in by a merge (<<) may be overridden, as YAML says.
    written = len([key for key, _value in node.value if key.tag != "tag:yaml.org,2002:merge"])
    loader.flatten_mapping(node)
    merged = len(node.value) - written   # flatten_mapping puts the merged entries first
    mapping = _Map()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    seen_written: set = set()
    for position, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, tr("键不能是列表或映射", "a key cannot be a list or a mapping"), key_node.start_mark
            ) from None
        if position >= merged and key in seen_written:
            raise yaml.constructor.ConstructorError(
                None, None, tr(f"重复的键“{key}”", f"duplicate key '{key}'"), key_node.start_mark
            )
        if position >= merged:
            seen_written.add(key)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    sequence = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _line_of(container: object, key: object = None) -> int | None:
    if isinstance(container, _Map) and key is not None and key in container.key_lines:
        return container.key_lines[key]
    return getattr(container, "line", None)


# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class ParameterValue:
    """One value of a parameter, in force from the start of `from_year` on."""

    from_year: int
    value: object
    reference: str


@dataclass(frozen=True)
class Parameter:
    """A scalar policy value that may change by year and be overridden by province."""

    key: str
    label: str
    aliases: tuple[str, ...]
    description: str
    unit: str
    type: str
    reference_default: str
    values: tuple[ParameterValue, ...]
    regional: Mapping[str, tuple[ParameterValue, ...]] = field(default_factory=dict, compare=False)
    source: Location | None = None

    def value(self, year: int | None, province: str | None = None) -> tuple[object, str]:
        """(value, reference) in force in `year` for `province`.

        A province's own values come first; otherwise the national ones. The value in force is
        the one with the latest `from` not after `year`; `year` None means the latest. A year
        before every national `from` gets the earliest national value: the files start each
        series when the policy began, and a checker needs some value rather than none.
        """
        regional = self._regional_values(province)
        if regional:
            entry = _in_force(regional, year)
            if entry is not None:
                return _copy(entry.value), entry.reference
        entry = _in_force(self.values, year) or self.values[0]
        return _copy(entry.value), entry.reference

    def _regional_values(self, province: str | None) -> tuple[ParameterValue, ...]:
        if not province:
            return ()
        wanted = province_short_name(province)
        for name, entries in self.regional.items():
            if province_short_name(name) == wanted:
                return entries
        return ()


@dataclass(frozen=True)
class ParameterRef:
    """A table cell that takes its value from a parameter (so it follows year and province)."""

    key: str


@dataclass(frozen=True)
class Column:
    """A column of a policy table."""

    key: str
    label: str
    type: str
    optional: bool = False
    words: tuple[str, ...] = ()
    refers: str | None = None
    enum: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Table:
    """A policy table: one row per word (a cause, a measure, an exclusion), typed columns."""

    key: str
    label: str
    key_label: str
    columns: Mapping[str, Column]
    rows: Mapping[str, dict]
    aliases: tuple[str, ...] = ()
    description: str = ""
    source: Location | None = None
    parameters: Mapping[str, Parameter] = field(default_factory=dict, compare=False, repr=False)
    _row_keys: dict[str, str] = field(init=False, repr=False, compare=False)
    _in_force: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every word a row answers to (its key, its aliases), for row_key: the rules look rows up
        # by the words of every household.
        row_keys: dict[str, str] = {}
        for key, row in self.rows.items():
            for alias in row.get("aliases", ()):
                row_keys.setdefault(alias, key)
        row_keys.update((key, key) for key in self.rows)
        object.__setattr__(self, "_row_keys", row_keys)

    def column(self, name: str) -> Column | None:
        """A column by key or Chinese label."""
        if name in self.columns:
            return self.columns[name]
        return next((column for column in self.columns.values() if column.label == name), None)

    def row_key(self, name: str) -> str | None:
        """The row key for a word or one of the row's aliases (缺劳动力 → 缺劳力)."""
        return self._row_keys.get(name)

    def row(self, name: str) -> dict | None:
        key = self.row_key(name)
        return None if key is None else self.rows[key]

    def get(self, row_key: str, column: str) -> object:
        """A cell's latest national value, or None when the row or column is absent."""
        return self.lookup(row_key, column)[0]

    def lookup(
        self, row_key: str, column: str, year: int | None = None, province: str | None = None
    ) -> tuple[object, str]:
        """(value, reference) of a cell for a year and province; (None, "") when absent."""
        found_column = self.column(column)
        key = self.row_key(row_key)
        if found_column is None or key is None:
            return None, ""
        row = self.rows[key]
        cell, reference = row.get(found_column.key), row["reference"]
        override = _regional_row(row, province)
        if override is not None and found_column.key in override:
            cell, reference = override[found_column.key], override["reference"]
        if isinstance(cell, ParameterRef):
            return self.parameters[cell.key].value(year, province)
        return _copy(cell), reference

    def values(self, row_key: str, year: int | None = None, province: str | None = None) -> dict | None:
        """Every column of a row as in force for a year and province (absent optional cells None)."""
        if self.row_key(row_key) is None:
            return None
        return {key: self.lookup(row_key, key, year, province)[0] for key in self.columns}

    def in_force(self, year: int | None, province: str | None) -> Mapping[str, Mapping[str, object]]:
        """Every cell's value in force for a year and province, by row key and column key (read-only, shared).

        Absent optional cells are None, lists are tuples. A run holds a few (year, province) pairs
        and every household asks: each is resolved once.
        """
        return _once_per_year_and_province(self._in_force, year, province, lambda: {
            row: MappingProxyType({column: _frozen(self.lookup(row, column, year, province)[0])
                                   for column in self.columns})
            for row in self.rows})

    def reference(self, row_key: str, province: str | None = None) -> str:
        """The source of a row (the province's variant when it has one)."""
        key = self.row_key(row_key)
        if key is None:
            return ""
        override = _regional_row(self.rows[key], province)
        return override["reference"] if override is not None else self.rows[key]["reference"]


@dataclass(frozen=True)
class Policies:
    """Every parameter and table of one policy folder."""

    directory: Path
    parameters: Mapping[str, Parameter]
    tables: Mapping[str, Table]
    paths: tuple[Path, ...] = ()
    _resolved: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _tables_in_force: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, directory: str | Path | None = None) -> Policies:
        """Read a policy folder (default: the packaged knowledge/policies); PolicyError if bad."""
        folder = Path(directory) if directory is not None else default_directory()
        if not folder.is_dir():
            location = Location(str(folder))
            raise PolicyError([(location, tr("找不到政策目录", "policy folder not found"))])
        paths = tuple(sorted(folder.glob("*.yaml")))
        documents = [(path, _read_yaml(path)) for path in paths if path.name not in FOREIGN_FILES]
        problems = []
        try:
            policies = _build(folder, paths, documents)
        except PolicyError as error:
            problems.extend(error.problems)
        if GRADING_FILE in {path.name for path in paths}:
            problems.extend(_grading_problems(folder))
        if DICTIONARY_FILE in {path.name for path in paths}:
            problems.extend(_dictionary_problems(folder / DICTIONARY_FILE))
        if problems:
            raise PolicyError(problems)
        return policies

    def parameter(self, name: str) -> Parameter | None:
        """A parameter by key, Chinese label or alias."""
        if name in self.parameters:
            return self.parameters[name]
        return next((p for p in self.parameters.values() if name == p.label or name in p.aliases), None)

    def table(self, name: str) -> Table | None:
        """A table by key, Chinese label or alias."""
        if name in self.tables:
            return self.tables[name]
        return next((t for t in self.tables.values() if name == t.label or name in t.aliases), None)

    def files(self) -> list[Path]:
        """Every YAML file of the folder, for the knowledge digest."""
        return list(self.paths)

    def digest(self) -> str:
        """sha256 over the names and bytes of the folder's files."""
        digest = hashlib.sha256()
        for path in self.paths:
            digest.update(path.name.encode("utf-8") + b"\0")
            digest.update(_file_bytes(path))
            digest.update(b"\0")
        return digest.hexdigest()

    def resolve(self, year: int | None, province: str | None) -> Mapping[str, object]:
        """Every parameter's value in force for a year and province, by key (read-only, shared).

        A run holds a few (year, province) pairs and every household asks: each is resolved once.
        """
        return _once_per_year_and_province(self._resolved, year, province, lambda: {
            key: parameter.value(year, province)[0] for key, parameter in self.parameters.items()})

    def tables_in_force(self, year: int | None, province: str | None) -> Mapping[str, Mapping[str, Mapping]]:
        """Every table's cells in force for a year and province (Table.in_force), by table key (read-only, shared)."""
        return _once_per_year_and_province(self._tables_in_force, year, province, lambda: {
            key: table.in_force(year, province) for key, table in self.tables.items()})


def read_parameter_mapping(path: Path) -> Mapping[str, Parameter]:
    """The parameters of a file that holds nothing else, by key (grading.yaml: parameters.yaml's
    `parameters:` section alone); PolicyError naming the file and line of every problem."""
    document = _read_yaml(path)
    checker = _Checker()
    checker.path = path
    parameters: dict[str, Parameter] = {}
    if isinstance(document, dict):
        _parse_parameters(checker, document, parameters)
    else:
        checker.add(_line_of(document) or 1, "文件应为“参数名: 参数”的映射", "the file must map parameter names to parameters")
    if checker.problems:
        raise PolicyError(checker.problems)
    return MappingProxyType(parameters)


def default_directory() -> Path:
    # The package is installed from the source tree (or as a plain folder in a wheel), so the
    # packaged resource is a real directory.
    return Path(str(package_files("dangka.knowledge") / "policies"))


def province_short_name(name: str) -> str:
    """河南省 → 河南, 广西壮族自治区 → 广西: the part of a province's name people always write."""
    return _PROVINCE_SUFFIX.sub("", name.strip())


def _in_force(entries: tuple[ParameterValue, ...], year: int | None) -> ParameterValue | None:
    if year is None:
        return entries[-1] if entries else None
    chosen = None
    for entry in entries:
        if entry.from_year <= year:
            chosen = entry
    return chosen


def _regional_row(row: dict, province: str | None) -> dict | None:
    if not province:
        return None
    wanted = province_short_name(province)
    for name, override in row.get("regional", {}).items():
        if province_short_name(name) == wanted:
            return override
    return None


def _copy(value: object) -> object:
    # Lists are handed out as fresh copies so a caller cannot change the loaded policy.
    return list(value) if isinstance(value, (list, tuple)) else value


def _once_per_year_and_province(cache: dict, year: int | None, province: str | None,
                                make: Callable[[], dict]) -> Mapping:
    """What `make` gives for a year and province, made once and shared read-only: a run holds a few
    (year, province) pairs, and every household asks."""
    found = cache.get((year, province))
    if found is None:
        found = cache[(year, province)] = MappingProxyType(make())
    return found


def _frozen(value: object) -> object:
    # Values shared by every caller hold lists as tuples, which no caller can change.
    return tuple(value) if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------------
# Reading and checking the files


def _grading_problems(folder: Path) -> list[tuple[Location, str]]:
    # grading.yaml is read for the HTML and workbook reports, once every household is checked: a
    # mistake in it is found here, before any household, for lint and for every format.
    from dangka.report.grade import load_grading_policy  # grade reads its file with this module

    try:
        load_grading_policy(folder)
    except PolicyError as error:
        return error.problems
    return []


def _dictionary_problems(path: Path) -> list[tuple[Location, str]]:
    """The national dictionary is dangka's own (the records are read with it before any policy
    folder is known): a different copy in a policy folder would be listed and digested, never used."""
    if _file_bytes(path) == _file_bytes(default_directory() / DICTIONARY_FILE):
        return []
    return [(Location(str(path), 1), tr(
        "这是国家字典：dangka 只用自带的字典读档案，此文件与之不同，不会生效。请删除它或恢复原样；需要新的取值请联系维护者",
        "the national dictionary is dangka's own and this copy differs from it, so it would never be used: "
        "delete it or restore it"))]


def _file_bytes(path: Path) -> bytes:
    # dictionary.yaml is not parsed here: a folder, a dangling link or a named pipe (waited on
    # forever) of that name is first met when the digest reads it.
    try:
        with open_input(str(path)) as stream:
            return stream.read()
    except InputError as error:
        raise PolicyError([(error.location, error.message)]) from None


def _read_yaml(path: Path) -> object:
    """A policy file's data with the line of each mapping, list and key.

    Read with the dossiers' guards (size, encoding, nesting, alias and merge bombs, numbers Python
    cannot read, control characters, surrogate escapes), constructed with lines.
    """
    try:
        document = load_yaml_document(str(path), loader=_LineLoader)
    except InputError as error:
        raise PolicyError([(error.location, error.message)]) from None
    invisible = sorted(set(_invisible_text_lines(document)))
    if invisible:
        message = tr("含有不可见的字符或控制字符（如零宽空格、从右到左标记、转义字符）：名称看似相同却对不上，也会混入终端输出",
                     "holds an invisible or control character (zero-width space, direction mark, escape)")
        raise PolicyError([(Location(str(path), line), message) for line in invisible])
    return document


def _invisible_text_lines(node: object, line: int | None = None) -> Iterator[int | None]:
    """Lines of the keys and texts holding a format (Cf) or control (Cc) character other than line breaks and tabs."""
    if isinstance(node, dict):
        for key, value in node.items():
            key_line = _line_of(node, key)
            yield from _invisible_text_lines(key, key_line)
            yield from _invisible_text_lines(value, key_line)
    elif isinstance(node, list):
        for item in node:
            yield from _invisible_text_lines(item, _line_of(node))
    elif isinstance(node, str) and any(unicodedata.category(char) in ("Cf", "Cc") and char not in "\t\n\r"
                                       for char in node):
        yield line


class _Checker:
    """Collects the problems of the policy files, each with its file and line."""

    def __init__(self) -> None:
        self.problems: list[tuple[Location, str]] = []
        self.path = Path()

    def add(self, line: int | None, zh: str, en: str) -> None:
        self.problems.append((Location(str(self.path), line), tr(zh, en)))

    def unknown_fields(self, mapping: _Map, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.add(_line_of(mapping, key), f"{what}中有不认识的字段“{key}”", f"unknown field '{key}' in {what}")

    def text(self, mapping: _Map, key: str, what: str, required: bool = True) -> str:
        value = mapping.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is not None or required:
            self.add(
                _line_of(mapping, key), f"{what}的“{key}”必须是非空文字", f"'{key}' of {what} must be non-empty text"
            )
        return ""

    def words(self, mapping: _Map, key: str, what: str) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
            return tuple(value)
        self.add(_line_of(mapping, key), f"{what}的“{key}”必须是文字列表", f"'{key}' of {what} must be a list of words")
        return ()


def _typed(type_name: str, raw: object) -> tuple[bool, object]:
    """(ok, value) for a raw YAML value of a declared type; booleans are never numbers."""
    if type_name == "bool":
        return isinstance(raw, bool), raw
    if type_name == "int":
        return type(raw) is int, raw
    if type_name == "num":
        return _number(raw)
    if type_name == "str":
        return isinstance(raw, str) and bool(raw.strip()), raw
    if type_name == "list":
        ok = isinstance(raw, list) and all(isinstance(item, str) and item for item in raw)
        return ok, list(raw) if ok else raw
    return False, raw


def _number(raw: object) -> tuple[bool, object]:
    if type(raw) is int:
        return True, raw
    if type(raw) is float:
        return math.isfinite(raw), raw
    # Ratios such as the two-thirds quorum are written as "2/3" so no one has to type 0.666...
    match = _FRACTION.match(raw) if isinstance(raw, str) else None
    if match and int(match.group(2)) != 0:
        return True, float(Fraction(int(match.group(1)), int(match.group(2))))
    return False, raw


_TYPE_NAMES = {"num": "数值", "int": "整数", "bool": "是/否（true/false）", "str": "文字", "list": "文字列表"}


def _build(folder: Path, paths: tuple[Path, ...], documents: list[tuple[Path, object]]) -> Policies:
    checker = _Checker()
    parameters: dict[str, Parameter] = {}
    raw_tables: list[tuple[Path, _Map]] = []
    for path, document in documents:
        checker.path = path
        kind = document.get("kind") if isinstance(document, dict) else None
        if kind == "parameters":
            _parse_parameter_file(checker, document, parameters)
        elif kind == "table":
            raw_tables.append((path, document))
        else:
            checker.add(
                _line_of(document, "kind"),
                "政策文件必须以 kind: parameters 或 kind: table 开头",
                "a policy file needs 'kind: parameters' or 'kind: table'",
            )
    _check_names(checker, parameters.values(), "参数", "parameter")
    tables: dict[str, Table] = {}
    table_documents: dict[str, tuple[Path, _Map]] = {}
    for path, document in raw_tables:
        checker.path = path
        table = _parse_table(checker, document, parameters)
        if table is None:
            continue
        if table.key in tables:
            checker.add(document.line, f"表“{table.key}”重复定义", f"table '{table.key}' defined twice")
            continue
        tables[table.key] = table
        table_documents[table.key] = (path, document)
    _check_names(checker, tables.values(), "表", "table")
    _check_references(checker, tables, table_documents)
    if checker.problems:
        raise PolicyError(checker.problems)
    return Policies(folder, MappingProxyType(parameters), MappingProxyType(tables), paths)


def _check_names(checker: _Checker, items, zh: str, en: str) -> None:
    """Keys, labels and aliases are what rule writers type: each must name one thing only."""
    owner: dict[str, str] = {}
    for item in items:
        for name in dict.fromkeys((item.key, item.label, *item.aliases)):
            if name in owner and owner[name] != item.key:
                checker.path = Path(item.source.file)
                checker.add(
                    item.source.line,
                    f"{zh}名称“{name}”同时指“{owner[name]}”和“{item.key}”",
                    f"{en} name '{name}' means both '{owner[name]}' and '{item.key}'",
                )
            owner.setdefault(name, item.key)


# --- parameters ------------------------------------------------------------------------------


def _parse_parameter_file(checker: _Checker, document: _Map, parameters: dict[str, Parameter]) -> None:
    checker.unknown_fields(document, {"kind", "description", "parameters"}, "参数文件")
    section = document.get("parameters")
    if not isinstance(section, dict):
        checker.add(_line_of(document, "parameters"), "缺少 parameters: 映射", "missing 'parameters:' mapping")
        return
    _parse_parameters(checker, section, parameters)


def _parse_parameters(checker: _Checker, section: _Map, parameters: dict[str, Parameter]) -> None:
    for key, body in section.items():
        line = _line_of(section, key)
        if key in parameters:
            checker.add(line, f"参数“{key}”重复定义", f"parameter '{key}' defined twice")
            continue
        parameter = _parse_parameter(checker, key, body, line)
        if parameter is not None:
            parameters[key] = parameter


def _parse_parameter(checker: _Checker, key: object, body: object, line: int | None) -> Parameter | None:
    if not isinstance(key, str) or not isinstance(body, dict):
        checker.add(
            line, f"参数“{key}”必须是以英文名为键的映射", f"parameter '{key}' must be a mapping under an English key"
        )
        return None
    what = f"参数“{key}”"
    checker.unknown_fields(body, _PARAMETER_FIELDS, what)
    type_name = body.get("type")
    if type_name not in TYPES:
        checker.add(
            _line_of(body, "type"),
            f"{what}的 type 必须是 {' | '.join(TYPES)} 之一",
            f"type of {what} must be one of {TYPES}",
        )
        return None
    values = _parse_values(checker, body.get("values"), type_name, what, _line_of(body, "values") or body.line)
    regional = _parse_regional_values(checker, body, type_name, what)
    if not values:
        return None
    return Parameter(
        key=key,
        label=checker.text(body, "label", what),
        aliases=checker.words(body, "aliases", what),
        description=checker.text(body, "description", what),
        unit=checker.text(body, "unit", what, required=False),
        type=type_name,
        reference_default=checker.text(body, "reference", what, required=False) or values[-1].reference,
        values=values,
        regional=MappingProxyType(regional),
        source=Location(str(checker.path), line),
    )


def _parse_values(
    checker: _Checker, entries: object, type_name: str, what: str, line: int | None
) -> tuple[ParameterValue, ...]:
    if not isinstance(entries, list) or not entries:
        checker.add(line, f"{what}的 values 必须是非空列表", f"values of {what} must be a non-empty list")
        return ()
    parsed = [_parse_value(checker, entry, type_name, what, getattr(entries, "line", line)) for entry in entries]
    if None in parsed:
        return ()
    years = [entry.from_year for entry in parsed]
    if years != sorted(set(years)):
        checker.add(line, f"{what}的 from 年份必须从早到晚且不重复", f"'from' years of {what} must increase")
        return ()
    return tuple(parsed)


def _parse_value(
    checker: _Checker, entry: object, type_name: str, what: str, line: int | None
) -> ParameterValue | None:
    if not isinstance(entry, dict):
        checker.add(
            line,
            f"{what}的每个取值必须写成 {{from, value, reference}}",
            f"each value of {what} must be {{from, value, reference}}",
        )
        return None
    line = entry.line
    checker.unknown_fields(entry, _VALUE_FIELDS, what)
    year = entry.get("from")
    if type(year) is not int or year not in _YEAR_RANGE:
        checker.add(line, f"{what}的 from 必须是年份（如 2016）", f"'from' of {what} must be a year such as 2016")
        return None
    ok, value = _typed(type_name, entry.get("value"))
    if not ok:
        checker.add(
            line,
            f"{what}（{year} 年）的取值必须是{_TYPE_NAMES[type_name]}，现为“{shortened(str(entry.get('value')), 40)}”",
            f"value of {what} ({year}) must be {type_name}",
        )
        return None
    reference = entry.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        checker.add(line, f"{what}（{year} 年）的取值缺少出处 reference", f"value of {what} ({year}) has no reference")
        return None
    return ParameterValue(year, tuple(value) if isinstance(value, list) else value, reference.strip())


def _parse_regional_values(checker: _Checker, body: _Map, type_name: str, what: str) -> dict:
    regional = body.get("regional")
    if regional is None:
        return {}
    if not isinstance(regional, dict):
        checker.add(
            _line_of(body, "regional"),
            f"{what}的 regional 必须是“省份: 取值列表”的映射",
            f"regional of {what} must map provinces to values",
        )
        return {}
    parsed = {}
    for province, entries in regional.items():
        line = _line_of(regional, province)
        if not _is_province_name(province):
            checker.add(
                line,
                f"{what}的地区“{province}”不是省级名称（应写全称，如 河南省）",
                f"'{province}' is not a province's full name",
            )
            continue
        values = _parse_values(checker, entries, type_name, f"{what}（{province}）", line)
        if values:
            parsed[province] = values
    return parsed


def _is_province_name(name: object) -> bool:
    # A full name of the national dictionary: 火星省 has a province's suffix, yet would match no dossier.
    return isinstance(name, str) and enumeration("province").canonical(name) == name


# --- tables ----------------------------------------------------------------------------------


def _parse_table(checker: _Checker, document: _Map, parameters: Mapping[str, Parameter]) -> Table | None:
    checker.unknown_fields(document, _TABLE_FIELDS, "表文件")
    key = checker.text(document, "key", "表")
    what = f"表“{key}”"
    columns = _parse_columns(checker, document.get("columns"), what, _line_of(document, "columns"))
    rows_raw = document.get("rows")
    if not isinstance(rows_raw, dict) or not rows_raw:
        checker.add(
            _line_of(document, "rows") or document.line, f"{what}缺少 rows: 映射", f"{what} needs a 'rows:' mapping"
        )
        return None
    if not key or columns is None:
        return None
    rows = {}
    for row_key, row in rows_raw.items():
        parsed = _parse_row(checker, row_key, row, columns, parameters, what, _line_of(rows_raw, row_key))
        if parsed is not None:
            rows[row_key] = parsed
    _check_row_aliases(checker, rows, rows_raw, what)
    return Table(
        key=key,
        label=checker.text(document, "label", what),
        key_label=checker.text(document, "key_label", what),
        columns=MappingProxyType(columns),
        rows=MappingProxyType(rows),
        aliases=checker.words(document, "aliases", what),
        description=checker.text(document, "description", what, required=False),
        source=Location(str(checker.path), document.line),
        parameters=parameters,
    )


def _parse_columns(checker: _Checker, raw: object, what: str, line: int | None) -> dict[str, Column] | None:
    if not isinstance(raw, dict) or not raw:
        checker.add(line, f"{what}缺少 columns: 映射", f"{what} needs a 'columns:' mapping")
        return None
    columns = {}
    for key, body in raw.items():
        column_line = _line_of(raw, key)
        if not isinstance(key, str) or key in _ROW_META or not isinstance(body, dict):
            checker.add(column_line, f"{what}的列“{key}”写法不对", f"column '{key}' of {what} is malformed")
            continue
        column_what = f"{what}的列“{key}”"
        checker.unknown_fields(body, _COLUMN_FIELDS, column_what)
        if body.get("type") not in TYPES:
            checker.add(
                column_line,
                f"{column_what}的 type 必须是 {' | '.join(TYPES)} 之一",
                f"type of {column_what} must be one of {TYPES}",
            )
            continue
        optional = body.get("optional", False)
        if not isinstance(optional, bool):
            checker.add(
                column_line,
                f"{column_what}的 optional 必须是 true 或 false",
                f"optional of {column_what} must be a boolean",
            )
        columns[key] = Column(
            key=key,
            label=checker.text(body, "label", column_what),
            type=body["type"],
            optional=optional is True,
            words=checker.words(body, "words", column_what),
            refers=checker.text(body, "refers", column_what, required=False) or None,
            enum=checker.text(body, "enum", column_what, required=False) or None,
            description=checker.text(body, "description", column_what, required=False),
        )
    return columns


def _parse_row(checker, row_key, row, columns, parameters, what, line) -> dict | None:
    if not isinstance(row_key, str) or not isinstance(row, dict):
        checker.add(
            line, f"{what}的行“{row_key}”必须是以词语为键的映射", f"row '{row_key}' of {what} must be a mapping"
        )
        return None
    row_what = f"{what}的行“{row_key}”"
    checker.unknown_fields(row, set(columns) | _ROW_META, row_what)
    reference = row.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        checker.add(row.line, f"{row_what}缺少出处 reference", f"{row_what} has no reference")
        return None
    parsed: dict = {"reference": reference.strip()}
    for column in columns.values():
        if column.key in row or not column.optional:
            parsed[column.key] = _parse_cell(checker, row, column, parameters, row_what)
    aliases = checker.words(row, "aliases", row_what)
    if aliases:
        parsed["aliases"] = aliases
    regional = _parse_regional_rows(checker, row, columns, parameters, row_what)
    if regional:
        parsed["regional"] = MappingProxyType(regional)
    return parsed


def _parse_cell(checker, row: _Map, column: Column, parameters, row_what: str) -> object:
    line = _line_of(row, column.key)
    raw = row.get(column.key)
    if column.key not in row:
        checker.add(
            row.line, f"{row_what}缺少列“{column.key}”（{column.label}）", f"{row_what} lacks column '{column.key}'"
        )
        return None
    if raw is None:
        if not column.optional:
            checker.add(line, f"{row_what}的“{column.key}”不能为空", f"'{column.key}' of {row_what} cannot be null")
        return None
    if isinstance(raw, dict) and set(raw) == {"parameter"}:
        return _parameter_cell(checker, raw["parameter"], column, parameters, row_what, line)
    ok, value = _typed(column.type, raw)
    if not ok:
        checker.add(
            line,
            f"{row_what}的“{column.key}”必须是{_TYPE_NAMES[column.type]}，现为“{shortened(str(raw), 40)}”",
            f"'{column.key}' of {row_what} must be {column.type}",
        )
        return None
    outside = [
        word for word in (value if isinstance(value, list) else [value]) if column.words and word not in column.words
    ]
    if outside:
        checker.add(
            line,
            f"{row_what}的“{column.key}”含有不允许的词：{'、'.join(map(str, outside))}",
            f"'{column.key}' of {row_what} has words outside {column.words}",
        )
    return tuple(value) if isinstance(value, list) else value


def _parameter_cell(checker, name: object, column: Column, parameters, row_what: str, line) -> ParameterRef | None:
    parameter = parameters.get(name) if isinstance(name, str) else None
    if parameter is None:
        checker.add(line, f"{row_what}引用的参数“{name}”不存在", f"{row_what} refers to unknown parameter '{name}'")
        return None
    if parameter.type != column.type and not (column.type == "num" and parameter.type == "int"):
        checker.add(
            line,
            f"{row_what}引用的参数“{name}”类型为 {parameter.type}，与列类型 {column.type} 不符",
            f"parameter '{name}' is {parameter.type}, column '{column.key}' is {column.type}",
        )
        return None
    return ParameterRef(name)


def _parse_regional_rows(checker, row: _Map, columns, parameters, row_what: str) -> dict:
    regional = row.get("regional")
    if regional is None:
        return {}
    if not isinstance(regional, dict):
        checker.add(
            _line_of(row, "regional"),
            f"{row_what}的 regional 必须是“省份: 改写的列”的映射",
            f"regional of {row_what} must be a mapping",
        )
        return {}
    parsed = {}
    for province, override in regional.items():
        line = _line_of(regional, province)
        if not _is_province_name(province) or not isinstance(override, dict):
            checker.add(
                line,
                f"{row_what}的地区“{province}”必须是省级全称，下接改写的列和 reference",
                f"regional '{province}' of {row_what} is malformed",
            )
            continue
        variant_what = f"{row_what}（{province}）"
        checker.unknown_fields(override, set(columns) | {"reference", "note"}, variant_what)
        reference = override.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            checker.add(override.line, f"{variant_what}缺少出处 reference", f"{variant_what} has no reference")
            continue
        cells = {"reference": reference.strip()}
        for key in override.keys() & columns.keys():
            cells[key] = _parse_cell(checker, override, columns[key], parameters, variant_what)
        parsed[province] = MappingProxyType(cells)
    return parsed


def _check_row_aliases(checker: _Checker, rows: dict, rows_raw: _Map, what: str) -> None:
    owner: dict[str, str] = {key: key for key in rows}
    for key, row in rows.items():
        for alias in row.get("aliases", ()):
            if alias in owner and owner[alias] != key:
                checker.add(
                    _line_of(rows_raw, key),
                    f"{what}的别名“{alias}”同时指“{owner[alias]}”和“{key}”",
                    f"alias '{alias}' of {what} names two rows",
                )
            owner.setdefault(alias, key)


def _check_references(checker: _Checker, tables: dict[str, Table], documents: dict[str, tuple[Path, _Map]]) -> None:
    """Every word in a column that `refers` to another table must be one of that table's rows."""
    for table in tables.values():
        path, document = documents[table.key]
        checker.path = path
        for column in table.columns.values():
            if column.refers is None:
                continue
            target = tables.get(column.refers)
            if target is None:
                checker.add(
                    document.line,
                    f"表“{table.key}”的列“{column.key}”引用的表“{column.refers}”不存在",
                    f"column '{column.key}' refers to unknown table '{column.refers}'",
                )
                continue
            for row_key, row in table.rows.items():
                _check_referred_words(checker, table, column, target, row_key, row, document)


def _check_referred_words(checker, table, column, target, row_key, row, document) -> None:
    cells = [row.get(column.key)] + [variant.get(column.key) for variant in row.get("regional", {}).values()]
    for cell in cells:
        words = cell if isinstance(cell, tuple) else (cell,) if isinstance(cell, str) else ()
        for word in words:
            if word not in target.rows:
                line = _line_of(document["rows"], row_key)
                checker.add(
                    line,
                    f"表“{table.key}”行“{row_key}”的“{column.key}”中的“{word}”不在表“{target.key}”中",
                    f"'{word}' in '{column.key}' of row '{row_key}' is not a row of table '{target.key}'",
                )
