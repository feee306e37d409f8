"""Rule text → lark parse trees, turning lark's errors into sentences a policy officer understands."""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from dangka.errors import DangkaError, Location
from dangka.i18n import display_width, shortened, tr
from dangka.load import os_reason

MAX_FILE_BYTES = 2_000_000
MAX_NESTING = 40


class RuleError(DangkaError):
    """An error in a rule file: syntax or meaning. Carries a stable code and a place."""

    code = "rule"

    def __init__(self, code: str, message: str, location: Location, source_line: str = ""):
        super().__init__(message, location, code)
        self.source_line = source_line

    def render(self) -> str:
        """`file:line:col: code: message`, then the source line and a caret under the column."""
        head = f"{self.location}: {self.code}: {self.message}"
        if not self.source_line or self.location.col is None:
            return head
        line, before = _around(visible(self.source_line), max(self.location.col - 1, 0))
        caret = " " * display_width(line[:before]) + "^"
        return f"{head}\n    {line}\n    {caret}"

    def sort_key(self) -> tuple:
        return (self.location.file, self.location.line or 0, self.location.col or 0, self.code)


QUOTED_CHARS = 60  # of a source line, on each side of an error's column


def _around(line: str, index: int) -> tuple[str, int]:
    """The part of a long line around `index`, marked … where cut, and where `index` now falls."""
    start = max(index - QUOTED_CHARS, 0)
    end = index + QUOTED_CHARS
    lead = "…" if start else ""
    return lead + line[start:end] + ("…" if end < len(line) else ""), len(lead) + index - start


class RuleErrors(DangkaError):
    """Several rule errors found together, sorted by place."""

    code = "rules"

    def __init__(self, errors: list[RuleError]):
        self.errors = sorted(errors, key=RuleError.sort_key)
        super().__init__("\n".join(error.render() for error in self.errors))

    def __str__(self) -> str:
        return self.message


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return resources.files("dangka.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=True)


@lru_cache(maxsize=1)
def _name_pattern() -> re.Pattern:
    return re.compile(parser().get_terminal("NAME").pattern.to_regexp())


def is_plain_name(word: str) -> bool:
    """Whether a word reads back unquoted as one name (in 适用地区, 推荐措施): not 并且, not 大于等."""
    return _name_pattern().fullmatch(word) is not None


# What the parser expected, in words a policy officer knows.
_EXPECTED_WORDS = {
    "NAME": ("名称（如 成员.年龄）", "a name (such as members.age)"),
    "INT": ("整数", "a whole number"),
    "DECIMAL": ("数字", "a number"),
    "DATE": ("日期（如 2017-05-16）", "a date (such as 2017-05-16)"),
    "STRING": ("带引号的文字", "quoted text"),
    "RULE_ID": ("规则编号（如 PLAN-CAUSE-001）", "a rule id (such as PLAN-CAUSE-001)"),
    "COMPARE": ("比较符（如 > 或 大于）", "a comparison (such as > or 大于)"),
    "_RULE": ("“规则”", "'rule'"),
    "_WHEN": ("“如果”", "'when'"),
    "_MESSAGE": ("“提示”", "'message'"),
    "_CATEGORY": ("“类别”", "'category'"),
    "_SEVERITY": ("“严重程度”", "'severity'"),
    "_BASIS": ("“依据”", "'basis'"),
    "_WHERE": ("“满足”", "'where'"),
    "_YEARS": ("“适用年度”", "'years'"),
    "_REGIONS": ("“适用地区”", "'regions'"),
    "_FOR_EACH": ("“对每个”", "'for each'"),
    "_RECOMMEND": ("“推荐措施”", "'recommend'"),
    "_CONCLUDE": ("“结论”", "'conclude'"),
    "_LPAR": ("左括号“（”", "'('"),
    "_RPAR": ("右括号“）”", "')'"),
    "RBRACE": ("右花括号“}”", "'}'"),
    "RSQB": ("右方括号“]”", "']'"),
    "$END": ("文件结束", "end of file"),
}


@dataclass(frozen=True)
class SyntaxExample:
    """One row of the error catalogue: bad snippets that must give this code and message."""

    code: str
    zh: str
    en: str
    snippets: tuple[str, ...]


_HEAD = '规则 R-1 "标题"\n'
# The error catalogue: a user's error gets the row whose snippets fail in the same parser state;
# the tests loop over this same table.
SYNTAX_EXAMPLES: tuple[SyntaxExample, ...] = (
    SyntaxExample(
        "syntax.rule_start",
        "规则文件的每条规则都要以“规则 编号 \"标题\"”开头",
        "every rule starts with: rule ID \"title\"",
        ('类别 form.missing', 'PLAN-1 "x"', '如果 户.年度 > 1'),
    ),
    SyntaxExample(
        "syntax.rule_id",
        "规则编号以大写字母开头，由大写字母、数字和连字符组成，至少有一个连字符，如 FORM-EXIT-001",
        "a rule id starts with a capital letter and is capital letters, digits and at least one hyphen, such as FORM-EXIT-001",
        ('规则 "标题"', '规则 abc "标题"', "规则 FORM1 \"x\""),
    ),
    SyntaxExample(
        "syntax.clause",
        "这一行不是规则子句：每个子句以 类别、严重程度、依据、适用年度、适用地区、对每个、如果、提示、推荐措施 或 结论 开头",
        "this line is not a clause: clauses start with category, severity, basis, years, regions, for each, when, message, recommend or conclude",
        (_HEAD + "这是一行乱码", _HEAD + "类别 form.missing\n乱码 123", _HEAD + "严重程度 高 乱码"),
    ),
    SyntaxExample(
        "syntax.title",
        "规则编号后面要写带引号的标题",
        "the rule id must be followed by a quoted title",
        ("规则 FORM-A-1 类别 form.missing", "规则 FORM-A-1 标题"),
    ),
    SyntaxExample(
        "syntax.missing_operand",
        "条件不完整：比较符或“并且/或者”后面缺少要比较的内容",
        "incomplete condition: something to compare is missing after the operator",
        (_HEAD + "如果 户.年度 >", _HEAD + "如果 户.年度 > 并且 户.年度 < 3", _HEAD + "如果 户.年度 > 1 并且",
         _HEAD + "如果 户.年度 > 1 或者 提示 \"x\""),
    ),
    SyntaxExample(
        "syntax.missing_operator",
        "两个值之间缺少比较符（如 >、=、属于）或“并且/或者”",
        "a comparison (>, =, in) or 'and'/'or' is missing between two values",
        (_HEAD + "如果 户.年度 2017", _HEAD + "如果 户.年度 > 1 户.年度 < 3", _HEAD + '如果 户.年度 "x"'),
    ),
    SyntaxExample(
        "syntax.unclosed",
        "括号没有配对：少了右括号",
        "unbalanced brackets: a closing bracket is missing",
        (_HEAD + "如果 (户.年度 > 1", _HEAD + "如果 存在 成员 满足 (成员.年龄 > 1 提示 \"x\"",
         _HEAD + "如果 户.年度 属于 {1, 2"),
    ),
    SyntaxExample(
        "syntax.quantifier",
        "“存在/所有/没有”后面要写记录类别和“满足（条件）”，如 存在 成员 满足（成员.年龄 > 60）",
        "'any/all/no' needs a kind of record and 'where (condition)', e.g. any members where (members.age > 60)",
        (_HEAD + "如果 存在 成员 成员.年龄 > 1", _HEAD + "如果 存在 满足 (户.年度 > 1)", _HEAD + "如果 存在 成员 满足 成员.年龄 > 1"),
    ),
    SyntaxExample(
        "syntax.string",
        "文字要用成对的引号括起来，且不能跨行",
        "text must be in matching quotes on one line",
        (_HEAD + '提示 "没有结束', _HEAD + "依据 “没有结束"),
    ),
    SyntaxExample(
        "syntax.clause_value",
        "子句后面缺少内容：类别写如 form.missing，严重程度写 高/中/低，依据和提示写带引号的文字",
        "a clause is missing its value: category like form.missing, severity high/medium/low, quoted basis and message",
        (_HEAD + "类别", _HEAD + "严重程度", _HEAD + "依据", _HEAD + "提示", _HEAD + "类别 严重程度 高",
         _HEAD + "依据 提示 \"x\"", _HEAD + "提示 类别 form.missing"),
    ),
    SyntaxExample(
        "syntax.years",
        "适用年度的写法：2016 至 2020、2016 起 或 至 2020",
        "years are written: 2016 to 2020, from 2016, or until 2020",
        (_HEAD + "适用年度 2016", _HEAD + "适用年度 二〇一六", _HEAD + "适用年度 2016 2020"),
    ),
)


def _error_key(error: UnexpectedInput) -> tuple:
    """Where the parser stood when it failed: its current state and what it was given.

    lark's own match_examples compares whole state stacks, so an example only matches errors
    after the same number of clauses; comparing the top state is what a catalogue needs here.
    """
    state = getattr(error, "state", None)
    position = getattr(state, "position", state)
    token = getattr(error, "token", None)
    return (type(error).__name__, position, getattr(token, "type", None))


@lru_cache(maxsize=1)
def _example_keys() -> dict[tuple, str]:
    keys: dict[tuple, str] = {}
    for row in SYNTAX_EXAMPLES:
        for snippet in row.snippets:
            try:
                parser().parse(snippet)
            except UnexpectedInput as error:
                key = _error_key(error)
                keys.setdefault(key, row.code)
                keys.setdefault(key[:2], row.code)
    return keys


def classify(error: UnexpectedInput) -> str | None:
    """The catalogue code of a syntax error, or None when no example resembles it."""
    key = _error_key(error)
    keys = _example_keys()
    return keys.get(key) or keys.get(key[:2])


def _describe_expected(expected: set[str]) -> str:
    words = []
    for name in sorted(expected):
        pair = _EXPECTED_WORDS.get(name)
        if pair:
            words.append(tr(*pair))
    if not words:
        return ""
    return tr("此处应为：", "expected: ") + tr("、", ", ").join(dict.fromkeys(words))


def _catalogue_message(code: str) -> str:
    for row in SYNTAX_EXAMPLES:
        if row.code == code:
            return tr(row.zh, row.en)
    raise KeyError(code)


def _syntax_error(error: UnexpectedInput, text: str, filename: str, line_offset: int) -> RuleError:
    code = classify(error)
    line = getattr(error, "line", None) or 1
    col = getattr(error, "column", None) or 1
    if isinstance(error, UnexpectedEOF) or line < 1:
        lines = text.rstrip("\n").split("\n")
        line, col = len(lines), len(lines[-1]) + 1
    source_line = _line_of(text, line)
    found = ""
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        found = tr(f"看到了“{shortened(str(error.token), 40)}”", f"found '{shortened(str(error.token), 40)}'")
    elif isinstance(error, UnexpectedCharacters):
        found = _describe_character(error.char)
    expected = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
    if code:
        message = _catalogue_message(code)
        expected = set()
    else:
        code = "syntax.unexpected"
        message = tr("这里写法不对", "this is not valid here")
    details = tr("；", "; ").join(part for part in (found, _describe_expected(expected)) if part)
    if details:
        message = f"{message}（{details}）" if tr("zh", "en") == "zh" else f"{message} ({details})"
    return RuleError(code, message, Location(filename, line + line_offset, col), source_line)


def _invisible(char: str) -> bool:
    return unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp")


def visible(line: str) -> str:
    """A source line as a terminal can show it, one column per character: tabs as spaces, control
    and invisible characters (zero-width, right-to-left marks, escapes) as �."""
    return "".join(" " if char == "\t" else "\ufffd" if _invisible(char) else char for char in line)


def _describe_character(char: str) -> str:
    """What the lexer could not read, said so that the writer can find it."""
    if _invisible(char):
        return tr(f"看到了看不见的字符 U+{ord(char):04X}（显示为 �），请删除",
                  f"found an invisible character U+{ord(char):04X} (shown as �): delete it")
    half = unicodedata.normalize("NFKC", char)
    if half != char and half.isascii():
        return tr(f"看到了全角字符“{char}”，请改用半角“{half}”", f"found the full-width '{char}': write '{half}'")
    return tr(f"看到了无法识别的字符“{char}”", f"found an unexpected character '{char}'")


def _line_of(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""


_RULE_START = re.compile(r"^[ \t\u3000\u00a0]*(规则|rule)(?=[ \t\u3000\u00a0])", re.MULTILINE)


def split_rules(text: str) -> list[tuple[int, str]]:
    """Cut a rule file into chunks that each start with a rule keyword, with their first line.

    Parsing each chunk on its own lets one broken rule be reported without hiding the errors of
    the others, and a line of garbage costs only the rule it stands in.
    """
    starts = [match.start() for match in _RULE_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    chunks = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        chunk = text[start:end]
        first_line = text.count("\n", 0, start) + 1
        chunks.append((first_line, chunk))
    return chunks


# Quoted text and comments, as the grammar's STRING and COMMENT read them from the left.
_TEXT_OR_COMMENT = re.compile(r'"[^"\n]*"|“[^”\n]*”|「[^」\n]*」|#[^\n]*')


def _check_nesting(chunk: str, filename: str, line_offset: int) -> RuleError | None:
    """Deep brackets are refused before lark recurses into them; brackets in text do not count."""
    depth = 0
    code = _TEXT_OR_COMMENT.sub(lambda match: " " * len(match.group()), chunk)
    for line_number, (line, code_line) in enumerate(zip(chunk.split("\n"), code.split("\n")), start=1):
        for col, ch in enumerate(code_line, start=1):
            if ch in "(（{[":
                depth += 1
                if depth > MAX_NESTING:
                    return RuleError(
                        "syntax.too_deep",
                        tr(f"括号嵌套超过 {MAX_NESTING} 层，请拆成几条规则或简化条件",
                           f"brackets nested deeper than {MAX_NESTING} levels: split or simplify the rule"),
                        Location(filename, line_number + line_offset, col), line)
            elif ch in ")）}]":
                depth = max(depth - 1, 0)
    return None


def parse_text(text: str, filename: str) -> list[tuple[Tree | None, RuleError | None, int, str]]:
    """Parse a rule file chunk by chunk: (tree, None, first_line, chunk) or (None, error, ...)."""
    results = []
    for first_line, chunk in split_rules(text):
        if not chunk.strip() or all(not line.strip() or line.lstrip().startswith("#")
                                     for line in chunk.split("\n")):
            continue
        offset = first_line - 1
        problem = _check_nesting(chunk, filename, offset)
        if problem:
            results.append((None, problem, first_line, chunk))
            continue
        try:
            tree = parser().parse(chunk)
        except UnexpectedInput as error:
            results.append((None, _syntax_error(error, chunk, filename, offset), first_line, chunk))
            continue
        except RecursionError:
            results.append((None, RuleError("syntax.too_deep", tr("条件太长或嵌套太深", "condition too long or too deep"),
                                            Location(filename, first_line, 1), _line_of(chunk, 1)), first_line, chunk))
            continue
        results.append((tree, None, first_line, chunk))
    return results


def read_rule_file(path: str) -> str:
    """The text of a rule file, or a RuleError saying why it cannot be read."""
    try:
        _refuse_unless_regular(path, os.stat(path).st_mode)
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise RuleError("file.unreadable", tr(f"无法读取规则文件：{os_reason(error)}", f"cannot read rule file: {os_reason(error)}"),
                        Location(path)) from None
    if len(data) > MAX_FILE_BYTES:
        raise RuleError("file.too_large", tr(f"规则文件超过 {MAX_FILE_BYTES // 1_000_000} MB，请拆分",
                                             f"rule file larger than {MAX_FILE_BYTES // 1_000_000} MB: split it"),
                        Location(path))
    if b"\0" in data:
        raise RuleError("file.binary", tr("这不是文本文件（含有二进制内容）", "not a text file"), Location(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RuleError("file.encoding", tr("规则文件必须是 UTF-8 编码", "rule files must be UTF-8"),
                        Location(path, line)) from None


def _refuse_unless_regular(path: str, mode: int) -> None:
    """Only plain files are read: opening a named pipe would wait for a writer forever."""
    if stat.S_ISDIR(mode):
        raise RuleError("file.not_regular", tr("这是文件夹，不是规则文件", "this is a folder, not a rule file"), Location(path))
    if not stat.S_ISREG(mode):
        raise RuleError("file.not_regular", tr("不是普通文件（可能是管道或设备），不能作为规则文件读取",
                                               "not a regular file (a pipe or a device?): cannot be read as rules"),
                        Location(path))


def token_span(token: Token) -> tuple[int, int]:
    return token.line or 0, token.column or 0
