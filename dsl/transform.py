"""Lark parse trees → the AST of dsl.ast; nothing after this module imports lark."""

from __future__ import annotations

import datetime as _dt
import re

from lark import Token, Transformer, Tree, v_args

from dangka.errors import Location
from dangka.i18n import tr
from dangka.output import CONTROL_CHARACTERS
from dangka.dsl import ast
from dangka.dsl.parse import RuleError, RuleErrors, parse_text, read_rule_file

# Chinese comparison words → canonical operators.
COMPARE_OPS = {
    "=": "==", "==": "==", "等于": "==",
    "!=": "!=", "≠": "!=", "<>": "!=", "不等于": "!=",
    "<": "<", "小于": "<", "早于": "<",
    "<=": "<=", "≤": "<=", "不大于": "<=", "至多": "<=", "不晚于": "<=",
    ">": ">", "大于": ">", "晚于": ">",
    ">=": ">=", "≥": ">=", "不小于": ">=", "至少": ">=", "不早于": ">=",
}
ARITH_OPS = {"+": "+", "-": "-", "*": "*", "×": "*", "/": "/", "÷": "/"}
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# No household value needs more; Python itself refuses to read integers of over 4,300 digits.
MAX_NUMBER_DIGITS = 100


class _Builder(Transformer):
    """Builds AST nodes bottom-up; spans are shifted by the chunk's first line."""

    def __init__(self, filename: str, line_offset: int):
        super().__init__()
        self.filename = filename
        self.line_offset = line_offset

    def _span(self, item) -> ast.Span:
        if isinstance(item, Token):
            line, col = item.line or 1, item.column or 1
            end_line, end_col = item.end_line or line, item.end_column or col
        else:
            meta = item.meta if isinstance(item, Tree) else item
            if getattr(meta, "empty", True):
                return ast.Span(self.filename, self.line_offset + 1, 1, self.line_offset + 1, 1)
            line, col, end_line, end_col = meta.line, meta.column, meta.end_line, meta.end_column
        return ast.Span(self.filename, line + self.line_offset, col, end_line + self.line_offset, end_col)

    def _number_text(self, token: Token) -> str:
        """The digits of an INT or DECIMAL token; a number too long to mean anything is a rule error.

        A decimal of hundreds of digits becomes an infinite or zero float, which the engine
        cannot take and `fmt` cannot write back.
        """
        text = str(token)
        if len(text.replace(".", "")) > MAX_NUMBER_DIGITS:
            span = self._span(token)
            shown = text[:20] + "…"
            raise RuleError("syntax.number", tr(f"数字“{shown}”太长：最多 {MAX_NUMBER_DIGITS} 位",
                                                f"number '{shown}' is too long: at most {MAX_NUMBER_DIGITS} digits"),
                            Location(span.file, span.line, span.col))
        return text

    def _whole_number(self, token: Token) -> int:
        return int(self._number_text(token))

    # -- values --
    @v_args(meta=True)
    def integer(self, meta, children):
        return ast.Literal(self._whole_number(children[0]), self._span(meta))

    @v_args(meta=True)
    def decimal(self, meta, children):
        return ast.Literal(float(self._number_text(children[0])), self._span(meta))

    @v_args(meta=True)
    def date(self, meta, children):
        text = str(children[0])
        try:
            value = _dt.date.fromisoformat(text)
        except ValueError:
            span = self._span(meta)
            raise RuleError("syntax.date", tr(f"“{text}”不是有效日期", f"'{text}' is not a valid date"),
                            Location(span.file, span.line, span.col)) from None
        return ast.Literal(value, self._span(meta))

    @v_args(meta=True)
    def string(self, meta, children):
        text = str(children[0])[1:-1]
        control = CONTROL_CHARACTERS.search(text)   # they would reach the reports' readers
        if control is not None:
            span = self._span(meta)
            code = f"U+{ord(control.group()):04X}"
            raise RuleError("syntax.control", tr(f"文字中含有控制字符 {code}，报告中会打乱显示或被终端当作命令，请删去",
                                                 f"the text holds the control character {code}; remove it"),
                            Location(span.file, span.line, span.col + 1 + control.start()))
        return ast.Literal(text, self._span(meta))

    @v_args(meta=True)
    def true(self, meta, children):
        return ast.Literal(True, self._span(meta))

    @v_args(meta=True)
    def false(self, meta, children):
        return ast.Literal(False, self._span(meta))

    @v_args(meta=True)
    def path(self, meta, children):
        return ast.Path(tuple(str(part) for part in children), self._span(meta))

    @v_args(meta=True)
    def lookup(self, meta, children):
        table, key, column = children
        return ast.Lookup(table, key, str(column), self._span(meta))

    @v_args(meta=True)
    def call(self, meta, children):
        name, *args = children
        return ast.Call(str(name), tuple(arg for arg in args if arg is not None), self._span(meta))

    @v_args(meta=True)
    def set(self, meta, children):
        return ast.SetLiteral(tuple(item for item in children if item is not None), self._span(meta))

    @v_args(meta=True)
    def binary(self, meta, children):
        left, op, right = children
        return ast.Binary(ARITH_OPS[str(op)], left, right, self._span(meta))

    @v_args(meta=True)
    def negative(self, meta, children):
        (operand,) = children
        if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float)) \
                and not isinstance(operand.value, bool):
            return ast.Literal(-operand.value, self._span(meta))
        return ast.Negative(operand, self._span(meta))

    # -- conditions --
    @v_args(meta=True)
    def compare(self, meta, children):
        left, op, right = children
        return ast.Compare(COMPARE_OPS[str(op)], left, right, self._span(meta))

    @v_args(meta=True)
    def member_of(self, meta, children):
        return ast.MemberOf(children[0], children[1], False, self._span(meta))

    @v_args(meta=True)
    def not_member_of(self, meta, children):
        return ast.MemberOf(children[0], children[1], True, self._span(meta))

    @v_args(meta=True)
    def is_empty(self, meta, children):
        return ast.IsEmpty(children[0], False, self._span(meta))

    @v_args(meta=True)
    def is_not_empty(self, meta, children):
        return ast.IsEmpty(children[0], True, self._span(meta))

    @v_args(meta=True)
    def negation(self, meta, children):
        return ast.Not(children[0], self._span(meta))

    @v_args(meta=True)
    def and_expr(self, meta, children):
        return ast.And(tuple(children), self._span(meta))

    @v_args(meta=True)
    def or_expr(self, meta, children):
        return ast.Or(tuple(children), self._span(meta))

    def any(self, _children):
        return "any"

    def all(self, _children):
        return "all"

    def none(self, _children):
        return "none"

    @v_args(meta=True)
    def quantifier(self, meta, children):
        kind, name, where = children
        return ast.Quantifier(kind, str(name), where, self._span(meta))

    @v_args(meta=True)
    def count(self, meta, children):
        name, where = children
        return ast.Count(str(name), where, self._span(meta))

    @v_args(meta=True)
    def total(self, meta, children):
        path, where = children
        return ast.Sum(path, where, self._span(meta))

    # -- clauses: each returns (clause name, value, span) --
    @v_args(meta=True)
    def category_clause(self, meta, children):
        return ("category", ".".join(str(part) for part in children[0].children), self._span(meta))

    @v_args(meta=True)
    def severity_clause(self, meta, children):
        return ("severity", str(children[0]), self._span(meta))

    @v_args(meta=True)
    def basis_clause(self, meta, children):
        return ("basis", children[0].value, self._span(meta))

    @v_args(meta=True)
    def years_between(self, meta, children):
        return ("years", (self._whole_number(children[0]), self._whole_number(children[1])), self._span(meta))

    @v_args(meta=True)
    def years_from(self, meta, children):
        return ("years", (self._whole_number(children[0]), None), self._span(meta))

    @v_args(meta=True)
    def years_until(self, meta, children):
        return ("years", (None, self._whole_number(children[0])), self._span(meta))

    @v_args(meta=True)
    def regions_clause(self, meta, children):
        return ("regions", children[0], self._span(meta))

    @v_args(meta=True)
    def scope_clause(self, meta, children):
        return ("scope", str(children[0]), self._span(meta))

    @v_args(meta=True)
    def when_clause(self, meta, children):
        return ("condition", children[0], self._span(meta))

    @v_args(meta=True)
    def message_clause(self, meta, children):
        return ("message", children[0], self._span(meta))

    @v_args(meta=True)
    def recommend_clause(self, meta, children):
        return ("recommend", children[0], self._span(meta))

    @v_args(meta=True)
    def conclude_clause(self, meta, children):
        return ("conclude", str(children[0]), self._span(meta))

    def name_list(self, children):
        return tuple(item.value if isinstance(item, ast.Literal) else str(item) for item in children)

    def dotted(self, children):
        return Tree("dotted", children)

    @v_args(meta=True)
    def rule(self, meta, children):
        rule_id, title, *clauses = children
        span = self._span(meta)
        values: dict[str, object] = {}
        spans = []
        for name, value, clause_span in clauses:
            if name in values:
                raise RuleError("rule.duplicate_clause",
                                tr(f"规则 {rule_id} 的“{_CLAUSE_WORDS[name]}”写了两次",
                                   f"rule {rule_id} has two '{name}' clauses"),
                                Location(clause_span.file, clause_span.line, clause_span.col))
            if name == "message":
                value = _template(value)
            values[name] = value
            spans.append((name, clause_span))
        return ast.Rule(id=str(rule_id), title=title.value, span=span, clause_spans=tuple(spans), **values)

    def start(self, children):
        return children


_CLAUSE_WORDS = {
    "category": "类别", "severity": "严重程度", "basis": "依据", "years": "适用年度", "regions": "适用地区",
    "scope": "对每个", "condition": "如果", "message": "提示", "recommend": "推荐措施", "conclude": "结论",
}


def _template(literal: ast.Literal) -> ast.Template:
    text = str(literal.value)
    parts: list[str | ast.Path] = []
    position = 0
    span = literal.span
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            parts.append(text[position:match.start()])
        names = tuple(part.strip() for part in match.group(1).split("."))
        parts.append(ast.Path(names, ast.Span(span.file, span.line, span.col + 1 + match.start(),
                                              span.line, span.col + 1 + match.end())))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return ast.Template(text, tuple(parts), span)


def parse_rules(text: str, filename: str) -> tuple[ast.RuleFile, list[RuleError]]:
    """Parse and build the AST of one rule file; syntax errors are returned, not raised."""
    rules: list[ast.Rule] = []
    errors: list[RuleError] = []
    for tree, error, first_line, _chunk in parse_text(text, filename):
        if error is not None:
            errors.append(error)
            continue
        try:
            built = _Builder(filename, first_line - 1).transform(tree)
        except RuleError as problem:
            errors.append(problem)
            continue
        except RecursionError:
            errors.append(RuleError("syntax.too_deep", tr("条件太长或嵌套太深，请拆分", "condition too long or too deep"),
                                    Location(filename, first_line, 1)))
            continue
        except Exception as problem:  # lark wraps errors raised in callbacks (VisitError)
            inner = getattr(problem, "orig_exc", None)
            if isinstance(inner, RuleError):
                errors.append(inner)
                continue
            if isinstance(inner, RecursionError):
                errors.append(RuleError("syntax.too_deep", tr("条件太长或嵌套太深，请拆分", "condition too long or too deep"),
                                        Location(filename, first_line, 1)))
                continue
            raise
        rules.extend(built)
    lines = text.split("\n")
    for error in errors:
        if not error.source_line and error.location.line:
            line = error.location.line
            error.source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    return ast.RuleFile(filename, tuple(rules), ast.Span(filename, 1, 1, len(lines), 1), text), errors


def parse_file(path: str, display_name: str | None = None) -> ast.RuleFile:
    """Read and parse one rule file; raises RuleErrors with every syntax error of the file."""
    text = read_rule_file(path)
    rule_file, errors = parse_rules(text, display_name or path)
    if errors:
        raise RuleErrors(errors)
    return rule_file
