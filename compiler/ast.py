"""The M-CODE abstract syntax tree. Every node carries its source span; the checker
fills in `ty` on expressions. Slotted classes: a large program has hundreds of
thousands of nodes, and a smaller footprint makes every pass over them faster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Span


@dataclass(eq=False, slots=True)
class Node:
    span: Span


# ---- types as written ---------------------------------------------------------
@dataclass(eq=False, slots=True)
class DimExpr(Node):
    value: int | str | None  # literal, symbolic name, or None for `?`


@dataclass(eq=False, slots=True)
class TypeExpr(Node):
    dtype: str
    dims: list[DimExpr] | None  # None: a scalar


@dataclass(eq=False, slots=True)
class TupleTypeExpr(Node):
    items: list[TypeExpr]


# ---- expressions ----------------------------------------------------------------
@dataclass(eq=False, slots=True)
class Expr(Node):
    ty: Any = field(default=None, init=False, repr=False)


@dataclass(eq=False, slots=True)
class Name(Expr):
    id: str


@dataclass(eq=False, slots=True)
class Num(Expr):
    value: int | float | complex


@dataclass(eq=False, slots=True)
class BoolLit(Expr):
    value: bool


@dataclass(eq=False, slots=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True)
class UnaryOp(Expr):
    op: str  # '-', '+', '~', 'not'
    operand: Expr


@dataclass(eq=False, slots=True)
class Compare(Expr):
    ops: list[str]
    operands: list[Expr]
    closed: bool = field(default=False, init=False, repr=False)  # parenthesized: ends a chain


@dataclass(eq=False, slots=True)
class BoolOp(Expr):
    op: str  # 'and' | 'or'
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True)
class IfExp(Expr):
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(eq=False, slots=True)
class Slice(Expr):
    lower: Expr | None
    upper: Expr | None
    step: Expr | None


@dataclass(eq=False, slots=True)
class Index(Expr):
    base: Expr
    items: list[Expr]  # Expr or Slice


@dataclass(eq=False, slots=True)
class Keyword(Node):
    name: str
    value: Expr


@dataclass(eq=False, slots=True)
class Call(Expr):
    func: Expr
    args: list[Expr]
    kwargs: list[Keyword]


@dataclass(eq=False, slots=True)
class Attr(Expr):
    base: Expr
    name: str


@dataclass(eq=False, slots=True)
class TupleExpr(Expr):
    items: list[Expr]


# ---- statements -----------------------------------------------------------------
@dataclass(eq=False, slots=True)
class Stmt(Node):
    pass


@dataclass(eq=False, slots=True)
class Let(Stmt):
    name: str
    type: TypeExpr | None
    value: Expr
    name_span: Span


@dataclass(eq=False, slots=True)
class Assign(Stmt):
    target: Expr  # Name or Index
    value: Expr


@dataclass(eq=False, slots=True)
class Unpack(Stmt):
    """`let a, b = e` (let=True; targets are Names) or `a, b[i] = e1, e2`: the values
    are all evaluated before any target is bound, as in Python."""

    targets: list[Expr]  # Name, or Index of a Name when not let
    values: list[Expr]  # one tuple-valued expression, or one per target
    let: bool


@dataclass(eq=False, slots=True)
class AugAssign(Stmt):
    target: Expr
    op: str  # the binary operator, e.g. '+'
    value: Expr


@dataclass(eq=False, slots=True)
class ExprStmt(Stmt):
    value: Expr


@dataclass(eq=False, slots=True)
class Pass(Stmt):
    pass


@dataclass(eq=False, slots=True)
class Break(Stmt):
    pass


@dataclass(eq=False, slots=True)
class Continue(Stmt):
    pass


@dataclass(eq=False, slots=True)
class Return(Stmt):
    values: list[Expr]


@dataclass(eq=False, slots=True)
class If(Stmt):
    cond: Expr
    body: list[Stmt]
    orelse: list[Stmt]  # elif chains nest as a single If here


@dataclass(eq=False, slots=True)
class For(Stmt):
    var: str
    iter: Expr
    body: list[Stmt]
    var_span: Span


@dataclass(eq=False, slots=True)
class While(Stmt):
    cond: Expr
    body: list[Stmt]


# ---- top level ------------------------------------------------------------------
@dataclass(eq=False, slots=True)
class Param(Node):
    name: str
    type: TypeExpr
    inout: bool
    default: Expr | None


@dataclass(eq=False, slots=True)
class FnDef(Node):
    name: str
    params: list[Param]
    result: TypeExpr | TupleTypeExpr | None
    body: list[Stmt]
    # every call in the body, in source order, collected while parsing (the call graph
    # without another walk of the tree)
    calls: list[Call] = field(default_factory=list, repr=False, compare=False)


@dataclass(eq=False, slots=True)
class Module(Node):
    functions: list[FnDef]
