"""Rule files in one canonical layout: the AST printed back, keywords in the language the rule used."""

from __future__ import annotations

import datetime as _dt
import decimal
import re

from dangka.dsl import ast
from dangka.errors import Location
from dangka.i18n import display_width, tr
from dangka.dsl.parse import RuleError, RuleErrors, is_plain_name, split_rules
from dangka.dsl.transform import parse_rules

INDENT = "  "
WIDTH = 100

_KEYWORDS = {
    "zh": {"rule": "规则", "category": "类别", "severity": "严重程度", "basis": "依据", "years": "适用年度",
           "regions": "适用地区", "scope": "对每个", "condition": "如果", "message": "提示", "recommend": "推荐措施",
           "conclude": "结论", "and": "并且", "or": "或者", "not": "并非", "in": "属于", "not_in": "不属于",
           "empty": "为空", "not_empty": "不为空", "where": "满足", "count": "计数", "sum": "合计",
           "any": "存在", "all": "所有", "none": "没有", "to": "至", "from_on": "起", "true": "是", "false": "否",
           "sep": "、"},
    "en": {"rule": "rule", "category": "category", "severity": "severity", "basis": "basis", "years": "years",
           "regions": "regions", "scope": "for each", "condition": "when", "message": "message",
           "recommend": "recommend", "conclude": "conclude", "and": "and", "or": "or", "not": "not", "in": "in",
           "not_in": "not in", "empty": "is empty", "not_empty": "is not empty", "where": "where", "count": "count",
           "sum": "sum", "any": "any", "all": "all", "none": "no", "to": "to", "from_on": None, "true": "true",
           "false": "false", "sep": ", "},
}
_SEVERITY_EN = {"高": "high", "中": "medium", "低": "low"}
_SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
# Binding strength: a child printed inside a parent of higher strength needs brackets.
_STRENGTH = {ast.Or: 1, ast.And: 2, ast.Not: 3, ast.Compare: 4, ast.MemberOf: 4, ast.IsEmpty: 4}
_ARITH_STRENGTH = {"+": 5, "-": 5, "*": 6, "/": 6}
_STRINGS = re.compile(r'"[^"\n]*"|“[^”\n]*”|「[^」\n]*」')


class _Printer:
    def __init__(self, language: str):
        self.words = _KEYWORDS[language]
        self.language = language

    def expr(self, node: ast.Node, parent_strength: int = 0) -> str:
        text, strength = self._expr(node)
        return f"({text})" if strength < parent_strength else text

    def _expr(self, node: ast.Node) -> tuple[str, int]:
        words = self.words
        if isinstance(node, ast.Literal):
            return self.literal(node.value), 9
        if isinstance(node, ast.Path):
            return node.text, 9
        if isinstance(node, ast.Lookup):
            return f"{node.table.text}[{self.expr(node.key)}].{node.column}", 9
        if isinstance(node, ast.Call):
            return f"{node.name}({', '.join(self.expr(arg) for arg in node.args)})", 9
        if isinstance(node, ast.SetLiteral):
            return "{" + ", ".join(self.expr(item) for item in node.items) + "}", 9
        if isinstance(node, ast.Binary):
            strength = _ARITH_STRENGTH[node.op]
            return f"{self.expr(node.left, strength)} {node.op} {self.expr(node.right, strength + 1)}", strength
        if isinstance(node, ast.Negative):
            return f"-{self.expr(node.operand, 7)}", 7
        if isinstance(node, ast.Compare):
            op = {"==": "=", "!=": "≠" if self.language == "zh" else "!="}.get(node.op, node.op)
            return f"{self.expr(node.left, 5)} {op} {self.expr(node.right, 5)}", 4
        if isinstance(node, ast.MemberOf):
            keyword = words["not_in"] if node.negated else words["in"]
            return f"{self.expr(node.item, 5)} {keyword} {self.expr(node.collection, 5)}", 4
        if isinstance(node, ast.IsEmpty):
            return f"{self.expr(node.operand, 5)} {words['not_empty' if node.negated else 'empty']}", 4
        if isinstance(node, ast.Not):
            return f"{words['not']} {self.expr(node.operand, 3)}", 3
        if isinstance(node, ast.And):
            return f" {words['and']} ".join(self.expr(item, 3) for item in node.items), 2
        if isinstance(node, ast.Or):
            # 并且 binds tighter than 或者, but readers should not have to know: bracket it anyway.
            return f" {words['or']} ".join(self.expr(item, 3) for item in node.items), 1
        if isinstance(node, ast.Quantifier):
            return f"{words[node.kind]} {node.entity_name} {words['where']} ({self.expr(node.where)})", 9
        if isinstance(node, ast.Count):
            where = f" {words['where']} ({self.expr(node.where)})" if node.where is not None else ""
            return f"{words['count']} {node.entity_name}{where}", 9
        if isinstance(node, ast.Sum):
            where = f" {words['where']} ({self.expr(node.where)})" if node.where is not None else ""
            return f"{words['sum']} {node.path.text}{where}", 9
        raise TypeError(type(node).__name__)

    def literal(self, value: object) -> str:
        if value is True:
            return self.words["true"]
        if value is False:
            return self.words["false"]
        if isinstance(value, _dt.date):
            return value.isoformat()
        if isinstance(value, float):
            return decimal_text(value)
        if isinstance(value, int):
            return str(value)
        return quote(str(value))

    def condition(self, node: ast.Node) -> str:
        """The 如果 clause: parts joined by 并且/或者 at the top go one per line; inner parts are
        broken (aligned under their bracket) only when a line would pass WIDTH columns."""
        keyword = self.words["condition"]
        if not isinstance(node, (ast.And, ast.Or)) or len(node.items) < 2:
            return "\n".join(self.block(node, display_width(f"{INDENT}{keyword} "), first=f"{INDENT}{keyword} "))
        joiner = self.words["and"] if isinstance(node, ast.And) else self.words["or"]
        lines = self.block(node.items[0], display_width(f"{INDENT}{keyword} "), 3, first=f"{INDENT}{keyword} ")
        lead = f"{INDENT * 2}{joiner} "
        for item in node.items[1:]:
            lines.extend(self.block(item, display_width(lead), 3, first=lead))
        return "\n".join(lines)

    def block(self, node: ast.Node, column: int, parent_strength: int = 0, first: str = "") -> list[str]:
        """Lines for a node whose first line starts at `column` after the text `first`."""
        flat = self.expr(node, parent_strength)
        if column + display_width(flat) <= WIDTH:
            return [first + flat]
        _text, strength = self._expr(node)
        if strength < parent_strength:
            inner = self.block(node, column + 1, 0, first + "(")
            inner[-1] += ")"
            return inner
        words = self.words
        if isinstance(node, (ast.And, ast.Or)):
            joiner = words["and"] if isinstance(node, ast.And) else words["or"]
            lines = self.block(node.items[0], column, 3, first)
            for item in node.items[1:]:
                lead = " " * column + joiner + " "
                lines.extend(self.block(item, display_width(lead), 3, lead))
            return lines
        if isinstance(node, (ast.Quantifier, ast.Count, ast.Sum)) and node.where is not None:
            if isinstance(node, ast.Quantifier):
                head = f"{words[node.kind]} {node.entity_name} {words['where']} ("
            elif isinstance(node, ast.Count):
                head = f"{words['count']} {node.entity_name} {words['where']} ("
            else:
                head = f"{words['sum']} {node.path.text} {words['where']} ("
            lines = self.block(node.where, column + display_width(head), 0, first + head)
            lines[-1] += ")"
            return lines
        if isinstance(node, ast.Not):
            head = f"{words['not']} "
            return self.block(node.operand, column + display_width(head), 3, first + head)
        if isinstance(node, (ast.Compare, ast.Binary, ast.MemberOf, ast.IsEmpty)):
            left = node.left if isinstance(node, (ast.Compare, ast.Binary)) else \
                node.item if isinstance(node, ast.MemberOf) else node.operand
            left_strength = _ARITH_STRENGTH.get(getattr(node, "op", ""), 5)
            left_flat = self.expr(left, left_strength)
            lines = self.block(left, column, left_strength, first)
            lines[-1] += flat[len(left_flat):]
            return lines
        return [first + flat]

    def rule(self, rule: ast.Rule) -> str:
        words = self.words
        lines = [f"{words['rule']} {rule.id} {quote(rule.title)}"]
        if rule.category:
            lines.append(f"{INDENT}{words['category']} {rule.category}")
        if rule.severity:
            severity = rule.severity
            severity = _SEVERITY_EN.get(severity, severity) if self.language == "en" else _SEVERITY_ZH.get(severity, severity)
            lines.append(f"{INDENT}{words['severity']} {severity}")
        if rule.basis is not None:
            lines.append(f"{INDENT}{words['basis']} {quote(rule.basis)}")
        if rule.years:
            lines.append(f"{INDENT}{words['years']} {self.years(rule.years)}")
        if rule.regions:
            lines.append(f"{INDENT}{words['regions']} {self.names(rule.regions)}")
        if rule.scope:
            lines.append(f"{INDENT}{words['scope']} {rule.scope}")
        if rule.condition is not None:
            lines.append(self.condition(rule.condition))
        if rule.message is not None:
            lines.append(f"{INDENT}{words['message']} {quote(rule.message.text)}")
        if rule.recommend:
            lines.append(f"{INDENT}{words['recommend']} {self.names(rule.recommend)}")
        if rule.conclude:
            lines.append(f"{INDENT}{words['conclude']} {rule.conclude}")
        return "\n".join(lines)

    def years(self, years: tuple[int | None, int | None]) -> str:
        start, end = years
        if start is not None and end is not None:
            return f"{start} {self.words['to']} {end}"
        if start is not None:
            return f"{start} 起" if self.language == "zh" else f"from {start}"
        return f"{self.words['to']} {end}"

    def names(self, names: tuple[str, ...]) -> str:
        return self.words["sep"].join(name if is_plain_name(name) else quote(name) for name in names)


def decimal_text(value: float) -> str:
    """A float as the language writes decimals: digits, a point, digits; never 1e-05."""
    text = format(decimal.Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def quote(text: str) -> str:
    """Text in the first kind of quotes whose closing mark it does not contain.

    Only the closing mark ends a string, and text read from a rule file lacks the closing mark of
    the quotes it was written in, so one kind always fits.
    """
    return next(f"{left}{text}{right}" for left, right in (('"', '"'), ("「", "」"), ("“", "”"))
                if right not in text)


def _language(chunk: str) -> str:
    """en when the rule is written with English keywords (its first line starts with `rule`)."""
    for line in chunk.split("\n"):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return "en" if stripped.startswith("rule") else "zh"
    return "zh"


def _comments(chunk: str) -> tuple[list[str], list[list[str]]]:
    """A chunk's comments: those within its rule, and the groups after its last line of rule text.

    Trailing groups stand above the next rule in the file. Groups are separated by blank lines;
    a group followed by a blank line is a heading of its own and stays apart from the rule.
    The last group is empty when the rule follows a blank line.
    """
    lines = chunk.split("\n")
    last_code = max((index for index, line in enumerate(lines)
                     if line.strip() and not line.strip().startswith("#")), default=-1)
    within: list[str] = []
    groups: list[list[str]] = [[]]
    for index, line in enumerate(lines):
        stripped = line.strip()
        if index > last_code:
            if stripped.startswith("#"):
                groups[-1].append(stripped)
            elif not stripped and groups[-1] and index < len(lines) - 1:
                groups.append([])
        elif stripped.startswith("#"):
            within.append(stripped)
        elif "#" in _STRINGS.sub("", line):
            code = _STRINGS.sub(lambda match: "_" * len(match.group()), line)
            within.append(line[code.index("#"):].strip())
    return within, groups


def format_text(text: str, filename: str) -> str:
    """The canonical layout of a rule file. Raises RuleErrors when the file does not parse, or
    when the layout would not read back as the same rules (then nothing may be written).

    Comments are kept: those above a rule stay above it; those inside a rule move just above it,
    since the layout of the rule's clauses is rewritten.
    """
    rule_file, errors = parse_rules(text, filename)
    if errors:
        raise RuleErrors(errors)
    formatted = _layout(text, rule_file)
    _check_reads_back(formatted, rule_file)
    return formatted


def _layout(text: str, rule_file: ast.RuleFile) -> str:
    rules = iter(rule_file.rules)
    blocks = []
    carried: list[str] = []
    for _first_line, chunk in split_rules(text):
        within, groups = _comments(chunk)
        has_rule = any(line.strip() and not line.strip().startswith("#") for line in chunk.split("\n"))
        if has_rule:
            printed = _Printer(_language(chunk)).rule(next(rules))
            blocks.append("\n".join(carried + within + [printed]))
            carried = []
        else:
            groups[0] = within + groups[0]
        for group in groups[:-1]:
            if group:
                blocks.append("\n".join(group))
        carried = groups[-1]
    if carried:
        blocks.append("\n".join(carried))
    return "\n\n".join(blocks).rstrip() + "\n"


def _check_reads_back(formatted: str, rule_file: ast.RuleFile) -> None:
    """fmt must never write a file meaning something else than what it read."""
    again, errors = parse_rules(formatted, rule_file.path)
    if not errors and again.rules == rule_file.rules:
        return
    changed = next((old for old, new in zip(rule_file.rules, again.rules) if old != new), None)
    line = changed.span.line if changed else 1
    raise RuleErrors([RuleError(
        "fmt.unstable",
        tr("整理后的规则读回来与原文不同，没有改写这个文件（这是 dangka 的缺陷，请报告）",
           "the reformatted rules would read back differently; the file was not rewritten (a dangka bug: please report it)"),
        Location(rule_file.path, line))])
