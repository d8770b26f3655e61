"""The M-CODE abstract syntax tree. Every node carries its source span; the checker
fills in `ty` on expressions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Span


@dataclass(eq=False)
class Node:
    span: Span


# ---- types as written ---------------------------------------------------------
@dataclass(eq=False)
class DimExpr(Node):
    value: int | str | None  # literal, symbolic name, or None for `?`


@dataclass(eq=False)
class TypeExpr(Node):
    dtype: str
    dims: list[DimExpr] | None  # None: a scalar


@dataclass(eq=False)
class TupleTypeExpr(Node):
    items: list[TypeExpr]


# ---- expressions ----------------------------------------------------------------
@dataclass(eq=False)
class Expr(Node):
    ty: Any = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Name(Expr):
    id: str


@dataclass(eq=False)
class Num(Expr):
    value: int | float | complex


@dataclass(eq=False)
class BoolLit(Expr):
    value: bool


@dataclass(eq=False)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class UnaryOp(Expr):
    op: str  # '-', '+', '~', 'not'
    operand: Expr


@dataclass(eq=False)
class Compare(Expr):
    ops: list[str]
    operands: list[Expr]


@dataclass(eq=False)
class BoolOp(Expr):
    op: str  # 'and' | 'or'
    left: Expr
    right: Expr


@dataclass(eq=False)
class IfExp(Expr):
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(eq=False)
class Slice(Expr):
    lower: Expr | None
    upper: Expr | None
    step: Expr | None


@dataclass(eq=False)
class Index(Expr):
    base: Expr
    items: list[Expr]  # Expr or Slice


@dataclass(eq=False)
class Keyword(Node):
    name: str
    value: Expr


@dataclass(eq=False)
class Call(Expr):
    func: Expr
    args: list[Expr]
    kwargs: list[Keyword]


@dataclass(eq=False)
class Attr(Expr):
    base: Expr
    name: str


@dataclass(eq=False)
class TupleExpr(Expr):
    items: list[Expr]


# ---- statements -----------------------------------------------------------------
@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class Let(Stmt):
    name: str
    type: TypeExpr | None
    value: Expr
    name_span: Span


@dataclass(eq=False)
class Assign(Stmt):
    target: Expr  # Name or Index
    value: Expr


@dataclass(eq=False)
class AugAssign(Stmt):
    target: Expr
    op: str  # the binary operator, e.g. '+'
    value: Expr


@dataclass(eq=False)
class ExprStmt(Stmt):
    value: Expr


@dataclass(eq=False)
class Pass(Stmt):
    pass


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


@dataclass(eq=False)
class Return(Stmt):
    values: list[Expr]


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    body: list[Stmt]
    orelse: list[Stmt]  # elif chains nest as a single If here


@dataclass(eq=False)
class For(Stmt):
    var: str
    iter: Expr
    body: list[Stmt]
    var_span: Span


@dataclass(eq=False)
class While(Stmt):
    cond: Expr
    body: list[Stmt]


# ---- top level ------------------------------------------------------------------
@dataclass(eq=False)
class Param(Node):
    name: str
    type: TypeExpr
    inout: bool
    default: Expr | None


@dataclass(eq=False)
class FnDef(Node):
    name: str
    params: list[Param]
    result: TypeExpr | TupleTypeExpr | None
    body: list[Stmt]


@dataclass(eq=False)
class Module(Node):
    functions: list[FnDef]
