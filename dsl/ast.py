"""The rule language's syntax tree: frozen dataclasses, each node carrying the Span it came from."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<内置>", 0, 0, 0, 0)


class Node:
    """Base of every syntax node; subclasses are frozen dataclasses with a `span`."""

    span: Span


# ---- expressions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal(Node):
    value: object  # int, float, str, bool or datetime.date
    span: Span = field(compare=False)

    @property
    def type(self) -> str:
        if isinstance(self.value, bool):
            return "bool"
        if isinstance(self.value, int):
            return "int"
        if isinstance(self.value, float):
            return "num"
        if isinstance(self.value, _dt.date):
            return "date"
        return "str"


@dataclass(frozen=True)
class Path(Node):
    """A dotted name as written: 成员.年龄, members.age, 政策.贫困线, or a bare word (技能培训).

    The checker binds it: `entity` and `field` are contract keys, or `entity` is "policy" and
    `field` a parameter key, or `entity` is "derived" and `field` a concluded fact, or it is a
    bare word (`entity` None) standing for a string.
    """

    parts: tuple[str, ...]
    span: Span = field(compare=False)
    entity: str | None = None
    field: str | None = None
    type: str | None = None

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Lookup(Node):
    """A policy table cell: 政策.致贫原因[户.主要致贫原因].适用措施."""

    table: Path
    key: Node
    column: str
    span: Span = field(compare=False)
    table_key: str | None = None
    column_key: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    span: Span = field(compare=False)
    function: str | None = None  # the built-in's canonical key once checked


@dataclass(frozen=True)
class SetLiteral(Node):
    items: tuple[Node, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * /
    left: Node
    right: Node
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Negative(Node):
    operand: Node
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Compare(Node):
    op: str  # canonical: == != < <= > >=
    left: Node
    right: Node
    span: Span = field(compare=False)


@dataclass(frozen=True)
class MemberOf(Node):
    item: Node
    collection: Node
    negated: bool
    span: Span = field(compare=False)


@dataclass(frozen=True)
class IsEmpty(Node):
    operand: Node
    negated: bool
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Not(Node):
    operand: Node
    span: Span = field(compare=False)


@dataclass(frozen=True)
class And(Node):
    items: tuple[Node, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Node, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Quantifier(Node):
    kind: str  # any | all | none
    entity_name: str
    where: Node
    span: Span = field(compare=False)
    entity: str | None = None  # contract entity key once checked


@dataclass(frozen=True)
class Count(Node):
    entity_name: str
    where: Node | None
    span: Span = field(compare=False)
    entity: str | None = None


@dataclass(frozen=True)
class Sum(Node):
    path: Path
    where: Node | None
    span: Span = field(compare=False)
    entity: str | None = None


# ---- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template(Node):
    """A message with {placeholders}; `parts` alternates literal text and Path nodes."""

    text: str
    parts: tuple[str | Path, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Rule(Node):
    id: str
    title: str
    span: Span = field(compare=False)
    category: str | None = None
    severity: str | None = None
    basis: str | None = None
    years: tuple[int | None, int | None] | None = None
    regions: tuple[str, ...] = ()
    scope: str | None = None  # entity name as written
    condition: Node | None = None
    message: Template | None = None
    recommend: tuple[str, ...] = ()
    conclude: str | None = None
    clause_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)
    scope_entity: str | None = None  # contract entity key once checked

    def clause_span(self, clause: str) -> Span:
        for name, span in self.clause_spans:
            if name == clause:
                return span
        return self.span

    @property
    def is_derivation(self) -> bool:
        return self.conclude is not None


@dataclass(frozen=True)
class RuleFile(Node):
    path: str
    rules: tuple[Rule, ...]
    span: Span = field(compare=False)
    source: str = field(default="", compare=False, repr=False)


def children(node: Node) -> tuple[Node, ...]:
    """The sub-expressions of an expression node, in source order."""
    if isinstance(node, (And, Or)):
        return node.items
    if isinstance(node, (Not, Negative)):
        return (node.operand,)
    if isinstance(node, IsEmpty):
        return (node.operand,)
    if isinstance(node, (Compare, Binary)):
        return (node.left, node.right)
    if isinstance(node, MemberOf):
        return (node.item, node.collection)
    if isinstance(node, Quantifier):
        return (node.where,)
    if isinstance(node, Count):
        return (node.where,) if node.where is not None else ()
    if isinstance(node, Sum):
        return (node.path,) + ((node.where,) if node.where is not None else ())
    if isinstance(node, Lookup):
        return (node.table, node.key)
    if isinstance(node, (Call,)):
        return node.args
    if isinstance(node, SetLiteral):
        return node.items
    return ()


def walk(node: Node):
    """Every node of an expression tree, parents before children."""
    yield node
    for child in children(node):
        yield from walk(child)
