"""Semantic passes over parsed rules: names, scopes, types, policy references, metadata, derived facts."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

import networkx as nx

from dangka import contract
from dangka.categories import RULE_CATEGORIES, SEVERITIES
from dangka.errors import Location
from dangka.i18n import tr
from dangka.dsl import ast
from dangka.dsl.parse import RuleError

POLICY_WORDS = ("政策", "policy")
HOUSEHOLD = "household"
DERIVED = "derived"
POLICY = "policy"
ANY = "any"  # the type of something already reported as wrong, so one mistake gives one error

NUMERIC = {"int", "num"}
TEXTUAL = {"str", "enum"}


@dataclass(frozen=True)
class Builtin:
    key: str
    names: tuple[str, ...]
    params: tuple[str, ...]
    result: str
    zh: str


BUILTINS = (
    Builtin("days", ("天数", "days"), ("date", "date"), "int", "天数(开始日期, 结束日期)：两日期相差的天数"),
    Builtin("is_mobile", ("是手机号", "is_mobile"), ("str",), "bool", "是手机号(号码)：是否为 11 位手机号"),
    Builtin("id_valid", ("身份证号有效", "id_valid"), ("str",), "bool", "身份证号有效(号码)：18 位且校验码正确"),
    Builtin("contains", ("包含", "contains"), ("str", "str"), "bool", "包含(文字, \"词\")：文字中是否出现该词"),
    Builtin("length", ("文字长度", "length"), ("str",), "int", "文字长度(文字)：字数"),
)
_BUILTINS_BY_NAME = {name: builtin for builtin in BUILTINS for name in builtin.names}


@dataclass
class CheckedRules:
    """The outcome of checking: bound rules in file order, and every error found."""

    rules: list[ast.Rule]
    errors: list[RuleError]
    derived: dict[str, ast.Rule]  # concluded fact → the rule concluding it


def _base(type_name: str | None) -> str:
    if type_name is None:
        return ANY
    return "enum" if type_name.startswith("enum") else type_name


class _RuleChecker:
    """Checks and binds one rule; collects errors instead of stopping at the first."""

    def __init__(self, rule: ast.Rule, policies, derived_names: set[str], lines: list[str]):
        self.rule = rule
        self.policies = policies
        self.derived_names = derived_names
        self.lines = lines
        self.errors: list[RuleError] = []
        self.bound: list[str] = []  # collection entities in scope (the rule's and quantifiers')
        self.derived_used: set[str] = set()
        self.witnesses: list[str] = []  # entities a top-level 存在 binds, usable in the message

    # -- reporting --
    def error(self, code: str, zh: str, en: str, span: ast.Span) -> None:
        line = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        self.errors.append(RuleError(code, tr(zh, en), Location(span.file, span.line, span.col), line))

    # -- names --
    def entity(self, name: str, span: ast.Span) -> contract.Entity | None:
        found = contract.entity(name)
        if found is None:
            names = [e.label for e in contract.ENTITIES.values()] + [e.key for e in contract.ENTITIES.values()]
            hint = _hint(name, names)
            self.error("name.unknown_entity", f"不认识的记录类别“{name}”{hint}",
                       f"unknown kind of record '{name}'{hint}", span)
        return found

    def resolve_path(self, path: ast.Path, allow_word: bool) -> tuple[ast.Node, str]:
        """Bind a dotted name; a bare word that names nothing is a text value when allowed."""
        parts = path.parts
        if parts[0] in POLICY_WORDS:
            return self.policy_value(path)
        found = contract.entity(parts[0]) if len(parts) >= 1 else None
        if found is None or len(parts) == 1:
            if len(parts) == 1 and allow_word and found is None:
                return ast.Literal(parts[0], path.span), "str"
            if found is not None:
                self.error("name.needs_field", f"“{parts[0]}”是一类记录，还要写出它的字段，如 {found.label}.{found.fields[0].label}",
                           f"'{parts[0]}' is a kind of record: name one of its fields, e.g. {found.key}.{found.fields[0].key}",
                           path.span)
                return path, ANY
            self.entity(parts[0], path.span)
            return path, ANY
        if len(parts) > 2:
            self.error("name.too_long", f"“{path.text}”：字段名只能写一层，如 {found.label}.字段",
                       f"'{path.text}': write entity.field", path.span)
            return path, ANY
        if found.key == HOUSEHOLD and parts[1] in self.derived_names:
            self.derived_used.add(parts[1])
            return dataclasses.replace(path, entity=DERIVED, field=parts[1], type="bool"), "bool"
        field = found.field(parts[1])
        if field is None:
            candidates = [f.label for f in found.fields] + [f.key for f in found.fields]
            if found.key == HOUSEHOLD:
                candidates += sorted(self.derived_names)
            hint = _hint(parts[1], candidates, prefix=f"{parts[0]}.")
            self.error("name.unknown_field", f"“{found.label}”没有字段“{parts[1]}”{hint}",
                       f"'{found.key}' has no field '{parts[1]}'{hint}", path.span)
            return path, ANY
        if found.many and found.base is None and found.key not in self.bound:
            self.error("scope.collection",
                       f"“{found.label}”有多条记录，请用“对每个 {found.label}”或“存在/所有/没有 {found.label} 满足（…）”",
                       f"'{found.key}' has many records: use 'for each {found.key}' or 'any/all/no {found.key} where (...)'",
                       path.span)
        type_name = f"enum:{field.enum}" if field.type == "enum" else field.type
        return dataclasses.replace(path, entity=found.key, field=field.key, type=type_name), type_name

    def policy_value(self, path: ast.Path) -> tuple[ast.Node, str]:
        if len(path.parts) != 2:
            self.error("policy.form", "政策参数写作 政策.参数名，如 政策.贫困线",
                       "a policy value is written policy.name, e.g. policy.poverty_line", path.span)
            return path, ANY
        parameter = self.policies.parameter(path.parts[1])
        if parameter is None:
            if self.policies.table(path.parts[1]) is not None:
                self.error("policy.table_needs_row", f"“{path.parts[1]}”是政策表，要写出行和列，如 政策.{path.parts[1]}[…].列名",
                           f"'{path.parts[1]}' is a policy table: write policy.{path.parts[1]}[row].column", path.span)
                return path, ANY
            names = [p.label for p in self.policies.parameters.values()] + list(self.policies.parameters)
            hint = _hint(path.parts[1], names, prefix="政策.")
            self.error("policy.unknown", f"没有名为“{path.parts[1]}”的政策参数{hint}",
                       f"no policy parameter '{path.parts[1]}'{hint}", path.span)
            return path, ANY
        type_name = _policy_type(parameter.type)
        return dataclasses.replace(path, entity=POLICY, field=parameter.key, type=type_name), type_name

    # -- expressions --
    def value(self, node: ast.Node, expect_bool: bool = False) -> tuple[ast.Node, str]:
        method = getattr(self, "v_" + type(node).__name__)
        return method(node)

    def v_Literal(self, node: ast.Literal):
        return node, node.type

    def v_Path(self, node: ast.Path):
        return self.resolve_path(node, allow_word=True)

    def v_Lookup(self, node: ast.Lookup):
        table = self.policies.table(node.table.parts[-1]) if node.table.parts[0] in POLICY_WORDS \
            and len(node.table.parts) == 2 else None
        key, key_type = self.value(node.key)
        if table is None:
            names = [t.label for t in self.policies.tables.values()] + list(self.policies.tables)
            hint = _hint(node.table.parts[-1], names, prefix="政策.")
            self.error("policy.unknown_table", f"没有名为“{node.table.text}”的政策表{hint}",
                       f"no policy table '{node.table.text}'{hint}", node.table.span)
            return node, ANY
        column = table.column(node.column)
        if column is None:
            names = [c.label for c in table.columns.values()] + list(table.columns)
            hint = _hint(node.column, names)
            self.error("policy.unknown_column", f"政策表“{table.label}”没有列“{node.column}”{hint}",
                       f"policy table '{table.key}' has no column '{node.column}'{hint}", node.span)
            return node, ANY
        if _base(key_type) not in TEXTUAL | {ANY}:
            self.error("type.lookup_key", "政策表的行要用文字查找（如 户.主要致贫原因）",
                       "a policy table row is looked up by text", node.key.span)
        elif isinstance(key, ast.Literal) and isinstance(key.value, str) and table.row_key(key.value) is None:
            hint = _hint(key.value, list(table.rows))
            self.error("policy.unknown_row", f"政策表“{table.label}”没有“{key.value}”这一行{hint}",
                       f"policy table '{table.key}' has no row '{key.value}'{hint}", node.key.span)
        type_name = _policy_type(column.type)
        return dataclasses.replace(node, key=key, table_key=table.key, column_key=column.key,
                                   type=type_name), type_name

    def v_Call(self, node: ast.Call):
        builtin = _BUILTINS_BY_NAME.get(node.name)
        args = []
        types = []
        for arg in node.args:
            bound, type_name = self.value(arg)
            args.append(bound)
            types.append(type_name)
        if builtin is None:
            hint = _hint(node.name, list(_BUILTINS_BY_NAME))
            self.error("name.unknown_function", f"没有名为“{node.name}”的函数{hint}",
                       f"no function named '{node.name}'{hint}", node.span)
            return node, ANY
        if len(args) != len(builtin.params):
            self.error("type.arguments", f"“{node.name}”要 {len(builtin.params)} 个参数：{builtin.zh}",
                       f"'{node.name}' takes {len(builtin.params)} arguments", node.span)
            return node, ANY
        for arg, type_name, wanted in zip(args, types, builtin.params):
            if not _compatible(type_name, wanted):
                self.error("type.mismatch", f"“{node.name}”的参数应为{_type_zh(wanted)}，这里是{_type_zh(type_name)}：{builtin.zh}",
                           f"'{node.name}' wants {wanted} here, got {type_name}", arg.span)
        return dataclasses.replace(node, args=tuple(args), function=builtin.key), builtin.result

    def v_SetLiteral(self, node: ast.SetLiteral):
        items = []
        types = set()
        for item in node.items:
            bound, type_name = self.value(item)
            items.append(bound)
            types.add(_base(type_name))
        return dataclasses.replace(node, items=tuple(items)), "set:" + ("|".join(sorted(types)) or ANY)

    def v_Binary(self, node: ast.Binary):
        left, lt = self.value(node.left)
        right, rt = self.value(node.right)
        lb, rb = _base(lt), _base(rt)
        result = ANY
        if ANY in (lb, rb):
            result = ANY
        elif lb in NUMERIC and rb in NUMERIC:
            result = "num" if "num" in (lb, rb) or node.op == "/" else "int"
        elif lb == "date" and rb == "int" and node.op in "+-":
            result = "date"
        elif lb == "date" and rb == "date" and node.op == "-":
            result = "int"
        else:
            self.error("type.arithmetic", f"不能对{_type_zh(lt)}和{_type_zh(rt)}做“{node.op}”运算",
                       f"cannot compute {lt} {node.op} {rt}", node.span)
        return dataclasses.replace(node, left=left, right=right), result

    def v_Negative(self, node: ast.Negative):
        operand, type_name = self.value(node.operand)
        if _base(type_name) not in NUMERIC | {ANY}:
            self.error("type.arithmetic", f"负号只能用于数字，这里是{_type_zh(type_name)}",
                       f"minus needs a number, got {type_name}", node.span)
        return dataclasses.replace(node, operand=operand), type_name

    def enum_literal(self, node: ast.Node, type_name: str) -> ast.Node | None:
        """A bare word that is a word of the other side's enumeration is that word, even when it
        also names a kind of record (会议.会议类别 = 党支部提议)."""
        if isinstance(node, ast.Path) and len(node.parts) == 1 and type_name.startswith("enum:"):
            word = contract.enumeration(type_name[5:]).canonical(node.parts[0])
            if word is not None:
                return ast.Literal(word, node.span)
        return None

    def operand(self, node: ast.Node, other_type: str) -> tuple[ast.Node, str]:
        word = self.enum_literal(node, other_type)
        return (word, "str") if word is not None else self.value(node)

    def v_Compare(self, node: ast.Compare):
        if _bare_word(node.left) and not _bare_word(node.right):
            right, rt = self.value(node.right)
            left, lt = self.operand(node.left, rt)
        else:
            left, lt = self.value(node.left)
            right, rt = self.operand(node.right, lt)
        lb, rb = _base(lt), _base(rt)
        if ANY not in (lb, rb):
            if not _comparable(lb, rb):
                self.error("type.mismatch", f"不能比较{_type_zh(lt)}和{_type_zh(rt)}",
                           f"cannot compare {lt} with {rt}", node.span)
            elif node.op not in ("==", "!=") and lb in TEXTUAL | {"bool"}:
                self.error("type.order", f"{_type_zh(lt)}只能比较相等或不等",
                           f"{lt} can only be compared for equality", node.span)
            else:
                right = self.enum_word(lt, right)
                left = self.enum_word(rt, left)
        return dataclasses.replace(node, left=left, right=right), "bool"

    def enum_word(self, type_name: str, other: ast.Node) -> ast.Node:
        """A word compared with an enumerated field must be one of its words; aliases become the word."""
        if not type_name.startswith("enum:") or not isinstance(other, ast.Literal) \
                or not isinstance(other.value, str):
            return other
        enumeration = contract.enumeration(type_name[5:])
        canonical = enumeration.canonical(other.value)
        if canonical is None:
            hint = _hint(other.value, list(enumeration.names))
            self.error("value.unknown_word", f"“{other.value}”不是“{enumeration.label}”的取值{hint}",
                       f"'{other.value}' is not a word of '{enumeration.label}'{hint}", other.span)
            return other
        return dataclasses.replace(other, value=canonical)

    def v_MemberOf(self, node: ast.MemberOf):
        item, it = self.value(node.item)
        if isinstance(node.collection, ast.SetLiteral):
            items = tuple(self.enum_literal(member, it) or member for member in node.collection.items)
            node = dataclasses.replace(node, collection=dataclasses.replace(node.collection, items=items))
        collection, ct = self.value(node.collection)
        if ct != ANY and not ct.startswith("set:") and ct != "list":
            self.error("type.not_a_set", "“属于”的右边要写一组值 {…} 或政策表的列表列",
                       "'in' needs a set {…} or a list column of a policy table", node.collection.span)
        elif isinstance(collection, ast.SetLiteral):
            members = []
            for member in collection.items:
                member = self.enum_word(it, member)
                members.append(member)
                mb = _base(member.type) if isinstance(member, ast.Literal) else ANY
                if _base(it) != ANY and mb != ANY and not _comparable(_base(it), mb):
                    self.error("type.mismatch", f"{_type_zh(it)}不会等于{_type_zh(mb)}",
                               f"{it} never equals {mb}", member.span)
            collection = dataclasses.replace(collection, items=tuple(members))
        return dataclasses.replace(node, item=item, collection=collection), "bool"

    def v_IsEmpty(self, node: ast.IsEmpty):
        operand, _ = self.value(node.operand)
        if not isinstance(operand, ast.Path):
            self.error("type.empty", "“为空/不为空”只能用于字段，如 普查表.核查人意见 为空",
                       "'is empty' applies to a field", node.span)
        return dataclasses.replace(node, operand=operand), "bool"

    def condition(self, node: ast.Node) -> ast.Node:
        bound, type_name = self.value(node)
        if _base(type_name) not in ("bool", ANY):
            self.error("type.not_condition", f"这里要写一个条件（真或假），不是{_type_zh(type_name)}",
                       f"a condition (true or false) is needed here, not {type_name}", node.span)
        return bound

    def v_Not(self, node: ast.Not):
        return dataclasses.replace(node, operand=self.condition(node.operand)), "bool"

    def v_And(self, node: ast.And):
        return dataclasses.replace(node, items=tuple(self.condition(item) for item in node.items)), "bool"

    def v_Or(self, node: ast.Or):
        return dataclasses.replace(node, items=tuple(self.condition(item) for item in node.items)), "bool"

    def collection_entity(self, name: str, span: ast.Span) -> contract.Entity | None:
        found = self.entity(name, span)
        if found is None:
            return None
        if not found.many:
            self.error("scope.single", f"“{found.label}”每户只有一条，直接写 {found.label}.字段 即可",
                       f"'{found.key}' is a single record: use {found.key}.field directly", span)
            return None
        if found.key in self.bound:
            self.error("scope.nested", f"“{found.label}”已经在外层取过一次，不能在里面再取",
                       f"'{found.key}' is already bound by an outer scope", span)
            return None
        return found

    def scoped(self, entity: contract.Entity | None, where: ast.Node | None) -> ast.Node | None:
        if where is None:
            return None
        if entity is None:
            self.condition(where)
            return where
        self.bound.append(entity.key)
        try:
            return self.condition(where)
        finally:
            self.bound.pop()

    def v_Quantifier(self, node: ast.Quantifier):
        entity = self.collection_entity(node.entity_name, node.span)
        where = self.scoped(entity, node.where)
        return dataclasses.replace(node, where=where, entity=entity.key if entity else None), "bool"

    def v_Count(self, node: ast.Count):
        entity = self.collection_entity(node.entity_name, node.span)
        where = self.scoped(entity, node.where)
        return dataclasses.replace(node, where=where, entity=entity.key if entity else None), "int"

    def v_Sum(self, node: ast.Sum):
        first = contract.entity(node.path.parts[0])
        entity = self.collection_entity(node.path.parts[0], node.path.span) if first else \
            self.entity(node.path.parts[0], node.path.span)
        if entity is None:
            return node, ANY
        self.bound.append(entity.key)
        try:
            path, type_name = self.resolve_path(node.path, allow_word=False)
            where = self.condition(node.where) if node.where is not None else None
        finally:
            self.bound.pop()
        if _base(type_name) not in NUMERIC | {ANY}:
            self.error("type.sum", f"“合计”只能用于数字字段，这里是{_type_zh(type_name)}",
                       f"'sum' needs a numeric field, got {type_name}", node.path.span)
        return dataclasses.replace(node, path=path, where=where, entity=entity.key), "num"

    # -- the rule --
    def check(self) -> ast.Rule:
        rule = self.rule
        self.metadata()
        scope_entity = None
        if rule.scope is not None:
            scope_entity = self.collection_entity(rule.scope, rule.clause_span("scope"))
            if scope_entity is not None:
                self.bound.append(scope_entity.key)
        condition = None
        if rule.condition is None:
            self.error("rule.no_condition", f"规则 {rule.id} 缺少“如果”条件", f"rule {rule.id} has no 'when'", rule.span)
        else:
            condition = self.condition(rule.condition)
            self.witnesses = _top_witnesses(condition)
        message = self.template(rule.message, scope_entity) if rule.message else None
        return dataclasses.replace(rule, condition=condition, message=message,
                                   scope_entity=scope_entity.key if scope_entity else None,
                                   severity=SEVERITIES.get(rule.severity or "", rule.severity))

    def metadata(self) -> None:
        rule = self.rule
        if not rule.title.strip():
            self.error("rule.title", f"规则 {rule.id} 的标题不能为空", f"rule {rule.id} needs a title", rule.span)
        if rule.is_derivation:
            for clause in ("category", "severity", "message", "recommend"):
                if getattr(rule, clause):
                    self.error("rule.derivation_clause", f"“结论”规则只推出事实，不能写“{_CLAUSE_ZH[clause]}”",
                               f"a 'conclude' rule derives a fact and takes no '{clause}'", rule.clause_span(clause))
            return
        if rule.category is None:
            self.error("rule.no_category", f"规则 {rule.id} 缺少“类别”", f"rule {rule.id} has no category", rule.span)
        elif rule.category not in RULE_CATEGORIES:
            hint = _hint(rule.category, list(RULE_CATEGORIES))
            self.error("rule.category", f"不认识的类别“{rule.category}”{hint}",
                       f"unknown category '{rule.category}'{hint}", rule.clause_span("category"))
        if rule.severity is None:
            self.error("rule.no_severity", f"规则 {rule.id} 缺少“严重程度”（高/中/低）",
                       f"rule {rule.id} has no severity (high/medium/low)", rule.span)
        elif rule.severity not in SEVERITIES:
            self.error("rule.severity", f"严重程度只能是 高、中 或 低，不是“{rule.severity}”",
                       f"severity is high, medium or low, not '{rule.severity}'", rule.clause_span("severity"))
        if not (rule.basis or "").strip():
            self.error("rule.no_basis", f"规则 {rule.id} 缺少“依据”：每条规则都要写明政策依据",
                       f"rule {rule.id} has no basis: every rule cites its policy", rule.span)
        if rule.years and rule.years[0] and rule.years[1] and rule.years[0] > rule.years[1]:
            self.error("rule.years", f"适用年度 {rule.years[0]} 晚于 {rule.years[1]}",
                       f"years {rule.years[0]} after {rule.years[1]}", rule.clause_span("years"))
        for measure in rule.recommend:
            table = self.policies.table("measures")
            known = list(table.rows) if table is not None else []
            if known and measure not in known:
                hint = _hint(measure, known)
                self.error("rule.recommend", f"推荐措施“{measure}”不在帮扶措施目录中{hint}",
                           f"recommended measure '{measure}' is not in the catalogue{hint}", rule.clause_span("recommend"))

    def template(self, template: ast.Template, scope_entity) -> ast.Template:
        """Bind the message's {placeholders}; entities a top-level 存在 found may be named too."""
        parts = []
        self.bound.extend(self.witnesses)
        try:
            for part in template.parts:
                parts.append(self.resolve_path(part, allow_word=False)[0] if isinstance(part, ast.Path) else part)
        finally:
            del self.bound[len(self.bound) - len(self.witnesses):]
        return dataclasses.replace(template, parts=tuple(parts))


_CLAUSE_ZH = {"category": "类别", "severity": "严重程度", "message": "提示", "recommend": "推荐措施"}


def _top_witnesses(condition: ast.Node) -> list[str]:
    """Entities bound by a 存在 at the top level of the condition: the message may name them."""
    items = condition.items if isinstance(condition, ast.And) else (condition,)
    found = []
    for item in items:
        if isinstance(item, ast.Quantifier) and item.kind == "any" and item.entity:
            found.append(item.entity)
            found.extend(_top_witnesses(item.where))
    return found


def _bare_word(node: ast.Node) -> bool:
    return isinstance(node, ast.Path) and len(node.parts) == 1


def _policy_type(type_name: str) -> str:
    return {"list": "list", "num": "num", "int": "int", "bool": "bool", "str": "str", "date": "date"}.get(type_name, "str")


def _compatible(actual: str, wanted: str) -> bool:
    base = _base(actual)
    if base == ANY:
        return True
    if wanted == "str":
        return base in TEXTUAL
    if wanted == "num":
        return base in NUMERIC
    return base == wanted


def _comparable(left: str, right: str) -> bool:
    if left == right:
        return True
    if left in NUMERIC and right in NUMERIC:
        return True
    return left in TEXTUAL and right in TEXTUAL


_TYPE_ZH = {"int": "整数", "num": "数字", "str": "文字", "enum": "文字", "bool": "是/否", "date": "日期",
            "list": "一组值", ANY: "未知"}


def _type_zh(type_name: str) -> str:
    base = _base(type_name)
    if base.startswith("set:"):
        return "一组值"
    return tr(_TYPE_ZH.get(base, base), base)


def _hint(word: str, candidates: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.5)
    if not close:
        return ""
    return tr(f"，你是不是想写 {prefix}{close[0]}？", f"; did you mean {prefix}{close[0]}?")


def check_rules(files: list[ast.RuleFile], policies) -> CheckedRules:
    """Run every pass over the parsed files; errors are collected, rules bound where possible."""
    errors: list[RuleError] = []
    concluded: dict[str, ast.Rule] = {}
    seen_ids: dict[str, ast.Rule] = {}
    lines_by_file = {rule_file.path: rule_file.source.split("\n") for rule_file in files}
    all_rules = [rule for rule_file in files for rule in rule_file.rules]
    for rule in all_rules:
        lines = lines_by_file[rule.span.file]
        if rule.id in seen_ids:
            first = seen_ids[rule.id]
            errors.append(RuleError("rule.duplicate_id", tr(f"规则编号 {rule.id} 重复（第一次出现在 {first.span}）",
                                                            f"rule id {rule.id} used twice (first at {first.span})"),
                                    Location(rule.span.file, rule.span.line, rule.span.col), lines[rule.span.line - 1]))
        seen_ids.setdefault(rule.id, rule)
        if rule.conclude:
            if rule.conclude in concluded:
                pass  # several rules may conclude the same fact: each is a way to reach it
            household = contract.ENTITIES[HOUSEHOLD]
            if household.field(rule.conclude) is not None:
                span = rule.clause_span("conclude")
                errors.append(RuleError("derived.clash", tr(f"结论“{rule.conclude}”与户的字段同名，请换个名字",
                                                            f"concluded fact '{rule.conclude}' clashes with a household field"),
                                        Location(span.file, span.line, span.col), lines[span.line - 1]))
                continue  # as a fact it would hide the field: 户.年度 > 2016 would compare 是/否 with a number
            concluded.setdefault(rule.conclude, rule)
    derived_names = set(concluded)
    checked = []
    uses: dict[str, set[str]] = {}
    for rule in all_rules:
        checker = _RuleChecker(rule, policies, derived_names, lines_by_file[rule.span.file])
        checked.append(checker.check())
        errors.extend(checker.errors)
        uses[rule.id] = checker.derived_used
    errors.extend(_derived_errors(checked, concluded, uses, lines_by_file))
    return CheckedRules(checked, errors, concluded)


def _derived_errors(rules, concluded, uses, lines_by_file) -> list[RuleError]:
    """A concluded fact nobody uses, and cycles among concluded facts."""
    errors = []
    used = set().union(*uses.values()) if uses else set()
    for name, rule in concluded.items():
        if name not in used:
            span = rule.clause_span("conclude")
            errors.append(RuleError("derived.unused", tr(f"推出的事实“{name}”没有任何规则使用",
                                                         f"derived fact '{name}' is used by no rule"),
                                    Location(span.file, span.line, span.col), lines_by_file[span.file][span.line - 1]))
    graph = nx.DiGraph()
    for rule in rules:
        if rule.conclude:
            for used_name in uses.get(rule.id, ()):
                graph.add_edge(used_name, rule.conclude, rule=rule)
    for cycle in nx.simple_cycles(graph):
        rule = concluded[cycle[0]]
        span = rule.clause_span("conclude")
        loop = " → ".join(cycle + [cycle[0]])
        errors.append(RuleError("derived.cycle", tr(f"推出的事实循环依赖：{loop}", f"derived facts depend on each other: {loop}"),
                                Location(span.file, span.line, span.col), lines_by_file[span.file][span.line - 1]))
    return errors


def strata(checked: CheckedRules, uses_of) -> dict[str, int]:
    """Stratum of each rule: 0 unless it reads derived facts; then one past their producers'."""
    level: dict[str, int] = {}
    producers: dict[str, list[ast.Rule]] = {}
    for rule in checked.rules:
        if rule.conclude:
            producers.setdefault(rule.conclude, []).append(rule)

    def stratum(rule: ast.Rule, seen: frozenset) -> int:
        if rule.id in level:
            return level[rule.id]
        result = 0
        for name in uses_of(rule):
            for producer in producers.get(name, ()):
                if producer.id not in seen:
                    result = max(result, stratum(producer, seen | {producer.id}) + 1)
        level[rule.id] = result
        return result

    for rule in checked.rules:
        stratum(rule, frozenset({rule.id}))
    return level
