"""Loaders: dossier files (YAML, JSON, JSON Lines, folders) and the responsibility registry, safe against hostile input."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import IO

import orjson
import yaml

try:
    from yaml.cyaml import CParser as _LibyamlParser
except ImportError:  # PyYAML built without libyaml: the pure-Python parser does the same, slower
    _LibyamlParser = None

from dangka.contract import structure_errors
from dangka.errors import InputError, Location
from dangka.i18n import tr
from dangka.yamltext import SURROGATE_PROBLEM, refuse_surrogates

MIB = 1024 * 1024
# A whole YAML or JSON file is parsed in memory. YAML nodes are composed, resolved and constructed
# in Python at well under 1 MB a second: 2 MB is some 500 households, a village's worth, in a few
# seconds. JSON is parsed in C. Bulk data belongs in JSON Lines, which streams.
MAX_DOCUMENT_BYTES = {"yaml": 2 * MIB, "json": 64 * MIB}
MAX_LINE_BYTES = 4 * MIB          # one dossier on one JSON Lines line
MAX_DEPTH = 64                    # a dossier nests about six levels; anything deeper is hostile
MAX_MERGED_ENTRIES = 100_000      # in a mapping after YAML merge keys (`<<`) are applied
MAX_ERRORS_PER_FILE = 1000        # a JSON Lines file of garbage is reported once it is clearly garbage
SNIFF_BYTES = 8192

DOSSIER_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl"}
REGISTRY_NAMES = frozenset({"registry.yaml", "registry.yml", "registry.json"})
# Top-level keys of a registry, and lists whose items' lines are worth knowing.
REGISTRY_KEYS = ("units", "helpers", "villages")
LISTED_KEYS = ("households", "cases", *REGISTRY_KEYS)
# Registry texts that hundreds of thousands of entries repeat (a province's ~330k helpers come from
# ~1500 units, hold a dozen positions and ~50k names): kept once each, they take ~70 MB less.
SHARED_TEXT_KEYS = frozenset({"name", "unit", "position", "level", "county", "township", "village"})


@dataclass
class Loaded:
    source: str              # the file path as given on the command line / found in the folder
    line: int | None         # line of the dossier in its file where known
    index: int               # position in input order across the whole run
    dossier: dict | None     # None when error is set
    error: InputError | None # input.invalid with file, line, plain Chinese message


class _Refused(Exception):
    """A file or line that cannot be read; becomes an InputError with the file's name."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


# ---------------------------------------------------------------------------------------------
# Public API


def load_yaml_document(path: str, loader: type[GuardedLoader] | None = None) -> object:
    """One YAML file with the dossiers' guards (size, encoding, nesting, merge bombs, text that is not
    text); raises InputError naming the file and line. `loader` may be a GuardedLoader subclass that
    constructs differently (the policy files keep their lines)."""
    try:
        return _read_document(path, "yaml", loader=loader or GuardedLoader)[0]
    except _Refused as refused:
        raise InputError(refused.message, Location(path, refused.line)) from None


def iter_dossiers(paths: Iterable[str], *, check_repeats: bool = True) -> Iterator[Loaded]:
    """Every dossier of the given files and folders, in input order; unreadable ones as errors, never raising.

    A household id seen before makes the later dossier an error; with `check_repeats` False that is
    left to the caller (a run's inputs check ids once across files and workbooks).
    """
    index = count()
    seen = SeenIds() if check_repeats else None
    for source in _sources(paths):
        for line, candidate, message in _candidates(source):
            if message is None:
                message = _dossier_problem(candidate, seen, source, line)
            if message is None:
                yield Loaded(source, line, next(index), candidate, None)
            else:
                yield Loaded(source, line, next(index), None, InputError(message, Location(source, line)))


def is_registry(path: str | os.PathLike) -> bool:
    """A responsibility registry file by its name; folder walks skip these."""
    return Path(path).name.lower() in REGISTRY_NAMES


def find_registry(paths: Iterable[str]) -> str | None:
    """The registry among the checked files, or lying directly in one of the checked folders; None if neither."""
    for path in paths:
        if is_registry(path) and os.path.isfile(path):
            return path
        if os.path.isdir(path):
            for name in sorted(REGISTRY_NAMES):
                candidate = os.path.join(path, name)
                if os.path.isfile(candidate):
                    return candidate
    return None


def load_registry(path: str) -> dict:
    """The responsibility registry (units, helpers, villages); raises InputError naming the file and line."""
    kind = DOSSIER_SUFFIXES.get(Path(path).suffix.lower())
    if kind not in ("yaml", "json"):
        raise InputError(tr("帮扶责任体系登记表应为 YAML 或 JSON 文件", "the registry must be a YAML or JSON file"),
                         Location(path))
    try:
        data, lines = _read_document(path, kind, shared_texts=True)
        _check_registry(data, lines)
    except _Refused as refused:
        raise InputError(refused.message, Location(path, refused.line)) from None
    return {key: data.get(key) or [] for key in REGISTRY_KEYS} | {
        key: value for key, value in data.items() if key not in REGISTRY_KEYS
    }


# ---------------------------------------------------------------------------------------------
# Finding the files


def _sources(paths: Iterable[str]) -> Iterator[str]:
    """Dossier files in input order; a file named twice (a folder and a file in it) is read once."""
    read: set[str] = set()
    for path in map(os.fspath, paths):
        for source in walk(path) if os.path.isdir(path) else [path]:
            # A registry among the files (`dangka check folder/*.yaml`) is the run's registry, not a dossier.
            real = os.path.realpath(source)
            if real not in read and not is_registry(source):
                read.add(real)
                yield source


def walk(folder: str, suffixes: Iterable[str] = tuple(DOSSIER_SUFFIXES)) -> Iterator[str]:
    """Files below a folder with one of the suffixes, recursively in sorted order; hidden entries and
    registries skipped."""
    wanted = set(suffixes)
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or is_registry(name):
                continue
            if Path(name).suffix.lower() in wanted:
                yield os.path.join(root, name)


def _candidates(source: str) -> Iterator[tuple[int | None, object, str | None]]:
    """(line, dossier candidate, None) for each dossier in a file, or (line, None, message) when unreadable."""
    kind = DOSSIER_SUFFIXES.get(Path(source).suffix.lower())
    if not os.path.lexists(source):  # a link that leads nowhere is opened below, which says why
        yield None, None, tr("文件或文件夹不存在", "no such file or folder")
    elif kind is None:
        yield None, None, tr("不支持的文件类型：档案应为 .yaml、.yml、.json 或 .jsonl 文件",
                             "unsupported file type: dossiers are .yaml, .yml, .json or .jsonl files")
    elif kind == "jsonl":
        yield from _json_lines(source)
    else:
        try:
            data, lines = _read_document(source, kind)
        except _Refused as refused:
            yield refused.line, None, refused.message
            return
        yield from _dossiers_in(data, lines)


def _dossier_problem(candidate: object, seen: SeenIds | None, source: str, line: int | None) -> str | None:
    """Why a candidate cannot be checked (structure, repeated id), or None."""
    errors = structure_errors(candidate)
    if errors:
        return "；".join(errors)
    if seen is None:
        return None
    household_id = household_key(candidate)
    first = seen.first_seen(household_id, source, line)
    return None if first is None else repeated_id_message(household_id, first)


def household_key(dossier: dict) -> str:
    """The household id as repeats are judged: "HN-001 " and "HN-001" are one household."""
    return str(dossier["id"]).strip()


def repeated_id_message(household_id: str, first: Place) -> str:
    return tr(f"户编号“{household_id}”重复（已在 {first.where} 出现），此户未核查",
              f"household id {household_id!r} repeats (first seen at {first.where}); not checked")


@dataclass(frozen=True)
class Place:
    """Where a household id was first seen: file, line (None when unknown) and the caller's group of files."""

    source: str
    line: int | None
    group: int

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


class SeenIds:
    """The household ids of a run and where each was first seen, compact: a run may hold millions.

    The ids are kept once each as UTF-8, one after another in a bytearray; an open-addressing table
    of entry numbers (linear probing, at most half full) finds an id by its hash, and the id itself
    is then compared, so ids that share a hash are never taken for one. Entries are numbered in
    the order seen, so a file's entries are consecutive: each entry keeps only its line. About 34
    bytes an id, where a dict of str and place took about 70.
    """

    NARROW_LIMIT = 1 << 32   # ends and lines are 32-bit until the ids take 4 GiB (some 200 million)

    def __init__(self) -> None:
        self._text = bytearray()
        self._ends = array("I")      # entry i is _text[_ends[i - 1]:_ends[i]] (from 0 for the first)
        self._lines = array("I")     # entry i's line, 0 when unknown
        self._slots = array("I", bytes(4 * 16))  # entry number + 1; 0 is an empty slot
        self._sources: list[tuple[str, int]] = []  # (source, group) of each file's run of entries
        self._source_starts: list[int] = []         # the first entry of each of those runs

    def __len__(self) -> int:
        return len(self._ends)

    def first_seen(self, household_id: str, source: str, line: int | None, group: int = 0) -> Place | None:
        """Where the id was seen first; None when it is new, which records it as seen here."""
        key = household_id.encode("utf-8", "surrogatepass")
        slot, entry = self._find(key)
        if entry is not None:
            return self._place(entry)
        if not self._sources or self._sources[-1] != (source, group):
            self._sources.append((source, group))
            self._source_starts.append(len(self._ends))
        self._text += key
        self._ends = _appended(self._ends, len(self._text), self.NARROW_LIMIT)
        self._lines = _appended(self._lines, line or 0, self.NARROW_LIMIT)
        self._slots[slot] = len(self._ends)
        if 2 * len(self._ends) > len(self._slots):
            self._grow()
        return None

    def _find(self, key: bytes) -> tuple[int, int | None]:
        """(slot, entry) of the id, or (the empty slot it would take, None)."""
        mask = len(self._slots) - 1
        slot = _id_hash(key) & mask
        while number := self._slots[slot]:
            if self._key(number - 1) == key:
                return slot, number - 1
            slot = (slot + 1) & mask
        return slot, None

    def _key(self, entry: int) -> bytes:
        start = self._ends[entry - 1] if entry else 0
        return bytes(self._text[start : self._ends[entry]])

    def _place(self, entry: int) -> Place:
        source, group = self._sources[bisect_right(self._source_starts, entry) - 1]
        return Place(source, self._lines[entry] or None, group)

    def _grow(self) -> None:
        self._slots = array("I", bytes(8 * len(self._slots)))
        mask = len(self._slots) - 1
        for entry in range(len(self._ends)):
            slot = _id_hash(self._key(entry)) & mask
            while self._slots[slot]:
                slot = (slot + 1) & mask
            self._slots[slot] = entry + 1


def _appended(numbers: array, number: int, narrow_limit: int) -> array:
    """The array with the number appended, widened to 64-bit first when a 32-bit one cannot hold it."""
    if number >= narrow_limit and numbers.typecode == "I":
        numbers = array("Q", numbers)
    numbers.append(number)
    return numbers


def _id_hash(key: bytes) -> int:
    return hash(key)


# ---------------------------------------------------------------------------------------------
# Whole documents: YAML and JSON


def _read_document(path: str, kind: str, shared_texts: bool = False,
                   loader: type[GuardedLoader] | None = None) -> tuple[object, dict[str, list[int] | int]]:
    """The parsed file and the lines of its root and listed items; raises _Refused.

    With `shared_texts` (a registry), the values of SHARED_TEXT_KEYS in JSON are one string each.
    """
    text = _read_text(path, MAX_DOCUMENT_BYTES[kind], kind)
    data, lines = _parse_yaml(text, loader or GuardedLoader) if kind == "yaml" else _parse_json(text, shared_texts)
    _check_tree(data, budget=10_000 + 2 * len(text))
    return data, lines


def _read_text(path: str, limit: int, kind: str) -> str:
    with _open_plain_file(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise _Refused(tr(
                f"文件过大（{size / MIB:.1f} MB），单个 {kind.upper()} 文件不能超过 {limit // MIB} MB；"
                "请拆分文件（户档案多时可改用 JSON Lines，即 .jsonl 格式）",
                f"file too large ({size / MIB:.1f} MB); a {kind.upper()} file may not exceed {limit // MIB} MB; "
                "split the file (many dossiers fit JSON Lines, .jsonl)"))
        try:
            # Asking for the limit itself would allocate it whole (64 MB) however small the file.
            data = stream.read(size + 1)
        except OSError as error:
            raise _Refused(_unreadable_file_message(error)) from None
    _refuse_binary(data[:SNIFF_BYTES])
    return _decode(data)


def open_input(path: str) -> IO[bytes]:
    """An input file opened for reading in binary; raises InputError naming the file when it cannot be
    read or is not a plain file (a named pipe would hold the run until something wrote to it)."""
    try:
        return _open_plain_file(path)
    except _Refused as refused:
        raise InputError(refused.message, Location(path)) from None


def _open_plain_file(path: str) -> IO[bytes]:
    """The file opened for reading in binary; raises _Refused when it cannot be read or is not a plain file."""
    try:
        # Opened without blocking, so that a named pipe without a writer is seen, not waited on.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise _Refused(_unreadable_file_message(error)) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise _Refused(tr("这是文件夹，不是文件", "this is a folder, not a file") if stat.S_ISDIR(mode) else
                       tr("不是普通文件（可能是管道、设备或套接字），无法读取",
                          "not a regular file (a pipe, device or socket); cannot be read"))
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


# The system's reasons are English; the common ones in plain Chinese, the rest as the system gives them.
_OS_REASONS = {
    errno.ENOENT: "文件不存在",
    errno.EACCES: "没有读取权限",
    errno.EPERM: "没有读取权限",
    errno.EISDIR: "这是文件夹，不是文件",
    errno.ELOOP: "符号链接形成循环",
    errno.ENAMETOOLONG: "文件名过长",
    errno.EIO: "读取时出现输入输出错误（磁盘或网络故障）",
}


def os_reason(error: OSError) -> str:
    """Why the system could not open or read a file, in the user's language where it is a common reason."""
    reason = error.strerror or str(error)
    return tr(_OS_REASONS.get(error.errno, reason), reason)


def _unreadable_file_message(error: OSError) -> str:
    return tr(f"无法读取文件：{os_reason(error)}", f"cannot read the file: {os_reason(error)}")


def _refuse_binary(head: bytes) -> None:
    if b"\x00" in head:
        raise _Refused(tr("不是文本文件（含有二进制内容）", "not a text file (binary content)"))


def _decode(data: bytes, first_line: int = 1) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = first_line + data.count(b"\n", 0, error.start)
        raise _Refused(tr(
            f"文件不是 UTF-8 编码：第 {line} 行有无法识别的字节（GBK 等编码的文件请另存为 UTF-8）",
            f"the file is not UTF-8: undecodable bytes on line {line} (save GBK files as UTF-8)"), line) from None


@refuse_surrogates
class GuardedLoader(yaml.SafeLoader):
    """yaml.SafeLoader with limits on nesting depth and on mappings grown by merge keys, for every
    YAML file dangka reads (load_yaml_document; subclasses may construct differently).

    Where PyYAML was built with libyaml, events come from libyaml's parser (it keeps its own
    stacks, so nesting cannot overflow it); composing nodes stays in Python, where depth is bounded
    here, and constructing stays SafeConstructor's.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # mapping node id → entries its merges ask for
        if _LibyamlParser is not None:
            events = _LibyamlParser(stream)
            self.check_event, self.peek_event, self.get_event = events.check_event, events.peek_event, events.get_event

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(_too_deep_message(), self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def flatten_mapping(self, node):
        # Merge keys copy entries, so chained `<<: [*a, *a]` doubles a mapping at every level.
        # The size counted is what the merges ask for (each merged mapping at its own counted
        # size), not what PyYAML builds: PyYAML 6.0.4 drops repeated keys while merging, older
        # versions copy them all, and the bomb must be refused the same way under both.
        own, merged = 0, 0
        for key, value in node.value:
            if key.tag != "tag:yaml.org,2002:merge":
                own += 1
                continue
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            merged += sum(self._sizes.get(id(source), len(source.value)) for source in sources
                          if isinstance(source, yaml.MappingNode))
        super().flatten_mapping(node)
        self._sizes[id(node)] = own + merged
        if merged and own + merged > MAX_MERGED_ENTRIES:
            raise _Refused(_bomb_message(), node.start_mark.line + 1)


# The problem text of a YAML integer Python will not convert; _YAML_PROBLEMS words it for the user.
_TOO_MANY_DIGITS = "a number with too many digits"


def _construct_int(loader: GuardedLoader, node: yaml.ScalarNode) -> int:
    try:
        return loader.construct_yaml_int(node)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise yaml.constructor.ConstructorError(None, None, _TOO_MANY_DIGITS, node.start_mark) from None


GuardedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _construct_timestamp(loader: GuardedLoader, node: yaml.ScalarNode) -> object:
    """A date or date-time; one that does not exist (2017-02-30) is kept as written, as JSON keeps it,
    for the contract and the rules to report instead of the whole file being refused."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


GuardedLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _refuse_tag(loader: GuardedLoader, node: yaml.Node) -> None:
    raise yaml.constructor.ConstructorError(
        None, None, f"could not determine a constructor for the tag {node.tag!r}", node.start_mark)


# Bytes and sets are neither text nor JSON: nothing after the loader (convert, the reports) can write them.
GuardedLoader.add_constructor("tag:yaml.org,2002:binary", _refuse_tag)
GuardedLoader.add_constructor("tag:yaml.org,2002:set", _refuse_tag)


def _parse_yaml(text: str, loader_class: type[GuardedLoader]) -> tuple[object, dict[str, list[int] | int]]:
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as error:
        line = _line_at(text, error.position)
        raise _Refused(tr(f"YAML 格式错误：第 {line} 行含有不允许的控制字符",
                          f"YAML syntax error: line {line}: control characters are not allowed"), line) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines = _yaml_lines(node)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as error:
        raise _Refused(*_yaml_error_message(error, text)) from None
    except yaml.YAMLError as error:
        raise _Refused(tr(f"YAML 格式错误：{error}", f"YAML syntax error: {error}")) from None
    except ValueError:
        # PyYAML lets Python's own limits through, e.g. an integer of more than 4300 digits.
        raise _Refused(_unreadable_value_message("YAML")) from None
    finally:
        loader.dispose()


def _yaml_lines(root: yaml.Node) -> dict[str, list[int] | int]:
    lines: dict[str, list[int] | int] = {"": root.start_mark.line + 1}
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.value in LISTED_KEYS and isinstance(value_node, yaml.SequenceNode):
                lines[key_node.value] = [item.start_mark.line + 1 for item in value_node.value]
            elif key_node.value == "dossier":
                lines["dossier"] = value_node.start_mark.line + 1
    return lines


# PyYAML's problem texts → plain Chinese. The first matching fragment wins.
_YAML_PROBLEMS = (
    ("could not find expected ':'", "缺少冒号", "missing colon"),
    ("did not find expected key", "缩进不一致或缺少“键:”", "inconsistent indentation or a missing key"),
    ("mapping values are not allowed", "此处不能出现“键: 值”（多半是缩进不对，或冒号后缺少空格）",
     "a key: value is not allowed here (check the indentation)"),
    ("found character '\\t'", "含有制表符（YAML 只能用空格缩进）", "tab character (YAML indents with spaces only)"),
    ("expected ',' or ']'", "方括号 [ ] 没有闭合或缺少逗号", "unclosed [ ] or missing comma"),
    ("expected ',' or '}'", "花括号 { } 没有闭合或缺少逗号", "unclosed { } or missing comma"),
    ("found unexpected end of stream", "文件意外结束（引号或括号没有闭合，文件可能被截断）",
     "unexpected end of file (unclosed quote or bracket; the file may be truncated)"),
    ("found undefined alias", "引用了未定义的锚点（*名称）", "an alias (*name) refers to no anchor"),
    ("found duplicate anchor", "锚点（&名称）重复定义", "an anchor (&name) is defined twice"),
    ("expected <block end>", "缩进不一致", "inconsistent indentation"),
    ("could not determine a constructor", "含有不支持的 YAML 标签（出于安全不解析任何“!!”类型标签）",
     "unsupported YAML tag (tags are never executed)"),
    (SURROGATE_PROBLEM, "的文字含有 Unicode 代理项转义（如 \\ud800），不是有效的文字",
     "a string holds a Unicode surrogate escape (such as \\ud800); not valid text"),
    (_TOO_MANY_DIGITS, "的数字位数过多，无法读取", "a number with too many digits"),
    # libyaml's own nesting limit (PyYAML 6.0.4 and later) may be met before dangka's is.
    ("exceeded maximum nesting depth", "数据嵌套过深", "data nested too deep"),
    ("found unhashable key", "映射的键不能是列表或映射", "a mapping key may not be a list or a mapping"),
    ("expected a single document", "文件含有多个 YAML 文档（---）；请每个文件一个文档（多户档案用 households 列表）",
     "several YAML documents (---) in one file; use one document (dossiers: a households list)"),
    ("found unknown escape character", "引号内有无法识别的转义字符（\\）", "unknown escape character (\\) in a quoted string"),
    ("found character that cannot start any token", "含有不能出现在此处的字符", "a character that cannot start a token"),
    ("control characters are not allowed", "含有不允许的控制字符", "control characters are not allowed"),
)


def _yaml_error_message(error: yaml.MarkedYAMLError, text: str) -> tuple[str, int | None]:
    mark = error.problem_mark or error.context_mark
    # libyaml puts the end of a file without a final newline on the line after the last one.
    line = min(mark.line + 1, len(text.splitlines()) or 1) if mark is not None else None
    problem = f"{error.context or ''} {error.problem or ''}"
    if mark is not None and mark.index >= len(text.rstrip()):
        problem = "found unexpected end of stream"
    elif mark is not None and text[mark.index : mark.index + 1] == "\t":
        problem = "found character '\\t'"
    own = (error.problem or "").strip()
    # A problem worded in Chinese is a loader's own (a repeated key), told as it is.
    zh, en = next(((zh, en) for fragment, zh, en in _YAML_PROBLEMS if fragment in problem),
                  (own, own) if not own.isascii() else (f"无法解析（{own}）", f"cannot parse ({own})"))
    where_zh, where_en = (f"第 {line} 行", f"line {line}: ") if line is not None else ("", "")
    return tr(f"YAML 格式错误：{where_zh}{zh}", f"YAML syntax error: {where_en}{en}"), line


# json's messages → plain Chinese.
_JSON_PROBLEMS = (
    ("Unexpected end", "内容意外结束（括号或引号没有闭合，可能被截断）",
     "unexpected end (unclosed bracket or quote; truncated?)"),
    ("Expecting ',' delimiter", "缺少逗号", "missing comma"),
    ("Expecting ':' delimiter", "缺少冒号", "missing colon"),
    ("Expecting property name enclosed in double quotes", "键应写在双引号内（或多了一个逗号）",
     "keys must be in double quotes (or a trailing comma)"),
    ("Unterminated string", "字符串的引号没有闭合", "unterminated string"),
    ("Invalid control character", "字符串内含有控制字符（如未转义的换行）", "control character inside a string"),
    ("Invalid \\escape", "字符串内有无法识别的转义字符（\\）", "invalid escape (\\) in a string"),
    ("Extra data", "一个值结束后还有多余内容（JSON Lines 文件请用 .jsonl 扩展名）",
     "extra data after the value (use .jsonl for JSON Lines)"),
    ("Expecting value", "此处缺少值（文件可能被截断，或有多余的逗号）",
     "a value is missing here (truncated file or trailing comma)"),
)


def _json_error_message(error: json.JSONDecodeError, line: int) -> str:
    message = error.msg
    if error.pos >= len(error.doc.rstrip()):
        message = "Unexpected end"
    zh, en = next(((zh, en) for fragment, zh, en in _JSON_PROBLEMS if message.startswith(fragment)),
                  (f"无法解析（{error.msg}）", f"cannot parse ({error.msg})"))
    return tr(f"JSON 格式错误：第 {line} 行{zh}", f"JSON syntax error: line {line}: {en}")


def _parse_json(text: str, shared_texts: bool = False) -> tuple[object, dict[str, list[int] | int]]:
    if not text.strip():
        return None, {}
    data = _json_value(text, first_line=1, object_pairs_hook=_with_shared_texts if shared_texts else None)
    _refuse_lone_surrogates(text, data, first_line=1)
    lines: dict[str, list[int] | int] = {"": _line_at(text, len(text) - len(text.lstrip()))}
    if isinstance(data, dict):
        for key, starts in _json_item_starts(text).items():
            if isinstance(data.get(key), list) and len(starts) == len(data[key]):
                lines[key] = _lines_at(text, starts)
    return data, lines


def _with_shared_texts(pairs: list[tuple[str, object]]) -> dict:
    return {key: sys.intern(value) if type(value) is str and key in SHARED_TEXT_KEYS else value for key, value in pairs}


# An integer of more than 18 digits may not fit orjson's 64 bits (it would read it as a float). Digits
# become one mark, and a run of 19 marks is looked for: a regular expression took longer than orjson.
_DIGITS_MARKED = bytes.maketrans(b"0123456789", b"##########")
_LONG_RUN = b"#" * 19


def _json_value(text: str, first_line: int, object_pairs_hook=None) -> object:
    """The JSON text's value, exactly as the json module reads it; its errors as messages with the line.

    orjson reads a dossier about four times faster. Where it could read differently (a long integer)
    or refuses what the json module takes (NaN, Infinity, 1e400, a lone surrogate escape, any error),
    the json module reads the text, so values and messages are the json module's.
    """
    if object_pairs_hook is None:
        encoded = text.encode("utf-8", "surrogatepass")
        if _LONG_RUN not in encoded.translate(_DIGITS_MARKED):
            try:
                return orjson.loads(encoded)
            except orjson.JSONDecodeError:
                pass
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as error:
        line = first_line + error.lineno - 1
        raise _Refused(_json_error_message(error, line), line) from None
    except RecursionError:
        raise _Refused(_too_deep_message(), first_line) from None
    except ValueError:
        raise _Refused(_unreadable_value_message("JSON"), first_line) from None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogates(text: str, value: object, first_line: int) -> None:
    """Refuse JSON whose \\u escapes leave half of a surrogate pair (such as "\\ud800"): the json module
    reads it, but the string is not text, and nothing after can write it (orjson and UTF-8 refuse it)."""
    if "\\u" not in text or not _SURROGATE_ESCAPE.search(text):
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return
    except UnicodeEncodeError:
        pass
    line, escape = first_line, ""
    paired_until = -1
    for match in _SURROGATE_ESCAPE.finditer(text):
        if match.start() < paired_until:
            continue
        high = match.group()[3].lower() in "89ab"
        following = _SURROGATE_ESCAPE.match(text, match.end())
        if high and following and following.group()[3].lower() in "cdef":
            paired_until = following.end()
            continue
        line, escape = first_line + text.count("\n", 0, match.start()), match.group()
        break
    raise _Refused(tr(f"第 {line} 行的文字含有不成对的 Unicode 代理项转义 {escape}，不是有效的文字",
                      f"line {line}: a string holds an unpaired Unicode surrogate escape {escape}; not valid text"),
                   line)


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_item_starts(text: str) -> dict[str, list[int]]:
    """Offsets of the items of the top-level lists named in LISTED_KEYS, in valid JSON text, by walking
    the top level once. The lists are walked item by item: decoded whole, a province's registry
    would be parsed into memory a second time beside the first."""
    decoder = json.JSONDecoder()

    def skip(position: int) -> int:
        return _JSON_SPACE.match(text, position).end()

    starts: dict[str, list[int]] = {}
    position = skip(skip(0) + 1)  # past the opening brace
    while text[position] != "}":
        name, position = decoder.raw_decode(text, position)
        position = skip(skip(position) + 1)  # past the colon
        if name in LISTED_KEYS and text[position] == "[":
            starts[name], position = _json_list_starts(text, position, decoder, skip)
        else:
            _, position = decoder.raw_decode(text, position)
        position = skip(position)
        if text[position] == ",":
            position = skip(position + 1)
    return starts


def _json_list_starts(text: str, position: int, decoder: json.JSONDecoder, skip) -> tuple[list[int], int]:
    """The offsets of a list's items, and the offset just past the list."""
    starts = []
    position = skip(position + 1)
    while text[position] != "]":
        starts.append(position)
        _, position = decoder.raw_decode(text, position)
        position = skip(position)
        if text[position] == ",":
            position = skip(position + 1)
    return starts, position + 1


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _lines_at(text: str, offsets: list[int]) -> list[int]:
    """Line numbers of increasing offsets, counting newlines once."""
    lines, line, previous = [], 1, 0
    for offset in offsets:
        line += text.count("\n", previous, offset)
        previous = offset
        lines.append(line)
    return lines


def _check_tree(data: object, budget: int) -> None:
    """Refuse data nested too deeply, cyclic, or expanding far beyond its text (a YAML alias bomb).

    Walks level by level, so a cycle shows as depth and shared nodes count each time they are reached.
    """
    level, depth, nodes = [data], 1, 1
    while level:
        below: list[object] = []
        for node in level:
            if isinstance(node, dict):
                nodes += 2 * len(node)
                below.extend(node.values())
            elif isinstance(node, (list, tuple, set)):
                nodes += len(node)
                below.extend(node)
        if nodes > budget:
            raise _Refused(_bomb_message())
        if below and depth >= MAX_DEPTH:
            raise _Refused(_too_deep_message())
        level, depth = below, depth + 1


def json_text_value(text: str) -> object:
    """The value of a JSON text (a workbook cell's), with the dossiers' guards: nesting, unpaired
    surrogate escapes, numbers Python cannot read; raises InputError with a plain message."""
    try:
        value = _json_value(text, first_line=1)
        _refuse_lone_surrogates(text, value, first_line=1)
        _check_tree(value, budget=10_000 + 2 * len(text))
    except _Refused as refused:
        raise InputError(refused.message) from None
    return value


def _unreadable_value_message(kind: str) -> str:
    return tr(f"{kind} 中有无法读取的取值（例如位数过多的数字）", f"{kind} holds an unreadable value (e.g. a number with too many digits)")


def _too_deep_message() -> str:
    # The registry, case files and grading.yaml are read with the same guards: the message names no kind of file.
    return tr(f"数据嵌套过深（超过 {MAX_DEPTH} 层）或含有循环引用",
              f"data nested more than {MAX_DEPTH} levels deep or cyclic")


def _bomb_message() -> str:
    return tr("数据展开后远大于文件本身（YAML 别名或合并键被反复引用），已拒绝读取",
              "data expands far beyond the file itself (YAML aliases or merge keys repeated); refused")


def _dossiers_in(data: object, lines: dict[str, list[int] | int]) -> Iterator[tuple[int | None, object, str | None]]:
    """The dossiers a parsed file holds: one dossier, a `households:` list, or a case file's `dossier:`/`cases:`."""
    root_line = lines.get("")
    if data is None:
        yield None, None, tr("文件为空，没有档案", "the file is empty: no dossier")
    elif not isinstance(data, dict):
        yield root_line, None, tr(
            f"文件顶层应为一户档案（含 id 的映射）或 households 列表，实为{'列表' if isinstance(data, list) else '单个取值'}",
            "the top level must be a dossier (a mapping with id) or a households list")
    elif "id" in data:
        yield root_line, data, None
    elif "households" in data:
        yield from _listed(data["households"], lines.get("households"), root_line, "households")
    elif "cases" in data:
        yield from _case_dossiers(data["cases"], lines.get("cases"), root_line)
    elif "dossier" in data:
        yield lines.get("dossier", root_line), data["dossier"], None
    elif any(key in data for key in REGISTRY_KEYS) and not any(key in data for key in ("members", "region")):
        yield root_line, None, tr("这是帮扶责任体系登记表，不是户档案；请用 --registry 指定，或命名为 registry.yaml",
                                  "this is a responsibility registry, not a dossier; pass it with --registry")
    else:
        yield root_line, data, None


def _listed(items: object, lines: object, root_line: int | None, key: str) -> Iterator[tuple[int | None, object, str | None]]:
    if not isinstance(items, list):
        yield root_line, None, tr(f"{key} 应为列表", f"{key} must be a list")
        return
    item_lines = lines if isinstance(lines, list) and len(lines) == len(items) else [root_line] * len(items)
    for line, item in zip(item_lines, items):
        yield line, item, None


def _case_dossiers(cases: object, lines: object, root_line: int | None) -> Iterator[tuple[int | None, object, str | None]]:
    """A case file (`cases:` list, each with `dossier:`) holds one dossier per case."""
    for line, case, _ in _listed(cases, lines, root_line, "cases"):
        if isinstance(case, dict) and "dossier" in case:
            yield line, case["dossier"], None
        else:
            yield line, None, tr("cases 中的每一项应含有 dossier（该案例的户档案）", "each item of cases needs a dossier")


# ---------------------------------------------------------------------------------------------
# JSON Lines: streamed, one dossier a line


def _json_lines(source: str) -> Iterator[tuple[int | None, object, str | None]]:
    try:
        stream = _open_plain_file(source)
    except _Refused as refused:
        yield None, None, refused.message
        return
    try:
        with stream:
            if b"\x00" in stream.read(SNIFF_BYTES):
                yield None, None, tr("不是文本文件（含有二进制内容），无法作为档案读取",
                                     "not a text file (binary content); cannot be read as a dossier")
                return
            stream.seek(0)
            yield from _json_line_entries(stream)
    except OSError as error:
        yield None, None, _unreadable_file_message(error)


def _json_line_entries(stream: IO[bytes]) -> Iterator[tuple[int | None, object, str | None]]:
    errors = 0
    for line_number, raw in _lines(stream):
        if raw is None:
            candidate, message = None, tr(f"第 {line_number} 行过长（超过 {MAX_LINE_BYTES // MIB} MB），已跳过",
                                          f"line {line_number} is longer than {MAX_LINE_BYTES // MIB} MB; skipped")
        elif not raw.strip():
            continue
        else:
            candidate, message = _json_line(raw, line_number)
        if message is not None:
            errors += 1
            if errors > MAX_ERRORS_PER_FILE:
                yield line_number, None, tr(f"错误过多（超过 {MAX_ERRORS_PER_FILE} 行），不再读取该文件其余部分",
                                            f"more than {MAX_ERRORS_PER_FILE} bad lines; the rest of the file is skipped")
                return
        yield line_number, candidate, message


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) for each line, or (line number, None) for a line over the size limit."""
    line_number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        line_number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            _skip_rest_of_line(stream)
            yield line_number, None
        else:
            yield line_number, raw


def _skip_rest_of_line(stream: IO[bytes]) -> None:
    while True:
        chunk = stream.readline(MIB)
        if not chunk or chunk.endswith(b"\n"):
            return


def _json_line(raw: bytes, line_number: int) -> tuple[object, str | None]:
    try:
        text = _decode(raw, first_line=line_number).strip()
        candidate = _json_value(text, first_line=line_number)
        _refuse_lone_surrogates(text, candidate, first_line=line_number)
        # JSON has no aliases, so its text bounds its size; only the depth can be hostile, and a
        # text with fewer brackets than MAX_DEPTH cannot nest that deep (a dossier has about 45).
        if text.count("{") + text.count("[") >= MAX_DEPTH:
            _check_tree(candidate, budget=10_000 + 2 * len(text))
    except _Refused as refused:
        return None, refused.message
    if not isinstance(candidate, dict):
        return None, tr(f"第 {line_number} 行应为一户档案（JSON 对象）", f"line {line_number} must be one dossier (a JSON object)")
    return candidate, None


# ---------------------------------------------------------------------------------------------
# The registry


def _check_registry(data: object, lines: dict[str, list[int] | int]) -> None:
    root_line = lines.get("")
    if not isinstance(data, dict):
        raise _Refused(tr("帮扶责任体系登记表应为含 units、helpers、villages 的映射",
                          "the registry must be a mapping with units, helpers and villages"),
                       root_line if isinstance(root_line, int) else None)
    required = {"units": ("id", "name"), "helpers": ("id", "name"), "villages": ("county", "township", "village")}
    labels = {"units": "帮扶单位", "helpers": "帮扶责任人", "villages": "村"}
    for key, keys in required.items():
        items = data.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise _Refused(tr(f"登记表的 {key}（{labels[key]}）应为列表", f"registry {key} must be a list"), root_line)
        item_lines = lines.get(key) if isinstance(lines.get(key), list) else [root_line] * len(items)
        for position, (item, line) in enumerate(zip(items, item_lines)):
            _check_registry_item(key, labels[key], position, item, keys, line)
        _refuse_conflicting_repeats(key, labels[key], items, _REGISTRY_IDENTITY[key], item_lines)


def _check_registry_item(key: str, label: str, position: int, item: object, keys: tuple[str, ...], line: int | None) -> None:
    where_zh, where_en = f"登记表 {key} 第 {position + 1} 项（{label}）", f"registry {key}[{position}]"
    if not isinstance(item, dict):
        raise _Refused(tr(f"{where_zh}应为映射", f"{where_en} must be a mapping"), line)
    for name in keys:
        value = item.get(name)
        if isinstance(value, (bool, dict, list)) or value is None or not str(value).strip():
            raise _Refused(tr(f"{where_zh}缺少 {name}", f"{where_en} has no {name}"), line)
    for name in ("first_secretary", "group_leader"):
        if item.get(name) is not None and not isinstance(item[name], dict):
            raise _Refused(tr(f"{where_zh}的 {name} 应为含 name、phone 的映射",
                              f"{where_en}.{name} must be a mapping with name and phone"), line)


# What names an entry of the registry: the graph joins households to entries by these.
_REGISTRY_IDENTITY = {"units": ("id",), "helpers": ("id",), "villages": ("county", "township", "village")}


def _refuse_conflicting_repeats(key: str, label: str, items: list[dict], keys: tuple[str, ...],
                                item_lines: list[int | None]) -> None:
    """Two entries of one id (a unit, a helper) or one village that say different things are refused.

    Entries are told apart as the graph joins them: by their key texts, stripped. Which of two
    records is right only the registry's keeper knows; identical repeats (a list merged twice) pass.
    """
    first_at: dict[str, int] = {}
    for position, item in enumerate(items):
        # One text per entry, not a tuple: a province's registry holds some 330k helpers.
        identity = "\x1f".join(str(item[name]).strip() for name in keys)
        first = first_at.setdefault(identity, position)
        if first == position or items[first] == item:
            continue
        shown = identity.replace("\x1f", "/")
        named = f"{keys[0]} {shown}" if len(keys) == 1 else shown
        first_line = item_lines[first]
        at_zh = f"第 {first + 1} 项（第 {first_line} 行）" if first_line is not None else f"第 {first + 1} 项"
        at_en = f"{key}[{first}] (line {first_line})" if first_line is not None else f"{key}[{first}]"
        raise _Refused(tr(f"登记表 {key} 第 {position + 1} 项（{label}）的 {named} 与{at_zh}重复，内容却不同",
                          f"registry {key}[{position}]: {named} is also {at_en}, with different contents"),
                       item_lines[position])
