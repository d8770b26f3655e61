"""Checks the AST and builds the typed SSA IR in one walk.

Checking and construction share one traversal so that every IR op is created with a
checked type and a source span; errors are collected per statement (an erroneous
statement is skipped and its names poisoned), so several are reported at once.
Variables become SSA values: rebinding makes a new value, loops carry the variables
their bodies assign, ifs merge the variables their branches assign.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import ast as A
from .builtins import BUILTINS, REQUIRED, SPECIAL_NAMES, Builtin
from .diagnostics import DiagnosticSink, Span
from .ir import Function, Module, Op, Param, Region, Value
from .typerules import (
    ShapeError,
    axis_interval,
    broadcast,
    make_type,
    matmul_shape,
    merge_dims,
    shape_of,
    slice_len,
    surely_positive,
)
from .types import (
    DTYPES,
    ArrayType,
    Dim,
    DimT,
    DTypeRef,
    ScalarType,
    ValueType,
    dim_str,
    is_complex,
    is_int,
    known_different,
    np_dtype,
    probe_dtype,
)


class _Abort(Exception):
    """Stops checking the current statement after its error was recorded."""


# a comparison with its operands swapped: `a < b` is `b > a`
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

# Binary operators: M-CODE spelling -> (IR op name, the NumPy/Python operator that defines it).
BINARY_OPS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "+": ("mc.add", operator.add), "-": ("mc.sub", operator.sub), "*": ("mc.mul", operator.mul),
    "/": ("mc.div", operator.truediv), "//": ("mc.floordiv", operator.floordiv),
    "%": ("mc.mod", operator.mod), "**": ("mc.pow", operator.pow), "@": ("mc.matmul", None),
    "&": ("mc.bitand", operator.and_), "|": ("mc.bitor", operator.or_), "^": ("mc.bitxor", operator.xor),
    "<<": ("mc.shl", operator.lshift), ">>": ("mc.shr", operator.rshift),
    "==": ("mc.eq", operator.eq), "!=": ("mc.ne", operator.ne), "<": ("mc.lt", operator.lt),
    "<=": ("mc.le", operator.le), ">": ("mc.gt", operator.gt), ">=": ("mc.ge", operator.ge),
}
UNARY_OPS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "-": ("mc.neg", operator.neg), "+": ("mc.pos", operator.pos), "~": ("mc.invert", operator.invert),
}


@dataclass
class Binding:
    value: Value
    kind: str  # local | param | inout | dim | loopvar


_UNBOUND = Binding(None, "")  # type: ignore[arg-type]  # stands for a name not bound before an `if`


@dataclass
class LoopCtx:
    carried: list[str]


def _assigned_names(stmts: list[A.Stmt], inout_callees: frozenset[str] = frozenset()) -> list[str]:
    """Names a statement list binds, rebinds or stores into (in first-seen order),
    including variables passed to functions that have inout parameters."""
    seen: dict[str, None] = {}
    for s in stmts:
        scanned: Any = s  # where calls writing inout arguments may be
        if isinstance(s, (A.Assign, A.AugAssign)):
            seen[_target_name(s.target)] = None
        elif isinstance(s, A.Let):
            seen[s.name] = None  # (a `let` of a variable bound before rebinds it, as in an `if`)
        elif isinstance(s, A.Unpack):
            for t in s.targets:
                seen[_target_name(t)] = None
        elif isinstance(s, A.If):
            for n in _assigned_names(s.body, inout_callees) + _assigned_names(s.orelse, inout_callees):
                seen[n] = None
            scanned = s.cond  # (the bodies were scanned above; an elif is an If in orelse)
        elif isinstance(s, (A.For, A.While)):
            if isinstance(s, A.For):
                seen[s.var] = None  # (a for loop over an existing local rebinds it)
            for n in _assigned_names(s.body, inout_callees):
                seen[n] = None
            scanned = s.iter if isinstance(s, A.For) else s.cond
        if inout_callees and not isinstance(s, (A.Pass, A.Break, A.Continue)):
            for call in _calls_in(scanned):
                if isinstance(call.func, A.Name) and call.func.id in inout_callees:
                    for a in [*call.args, *(k.value for k in call.kwargs)]:
                        if isinstance(a, A.Name):
                            seen[a.id] = None
                        elif isinstance(a, A.Index) and isinstance(_view_root(a), A.Name):
                            seen[_target_name(a)] = None  # (a slice argument, written back)
    return list(seen)


def _breaks_out(stmts: list[A.Stmt]) -> bool:
    """Whether a loop body holds a `break` of that loop (not of a loop nested in it)."""
    for s in stmts:
        if isinstance(s, A.Break) or isinstance(s, A.If) and (_breaks_out(s.body) or _breaks_out(s.orelse)):
            return True
    return False


def _returns_inside(stmts: list[A.Stmt]) -> bool:
    """Whether a statement list holds a `return` at any depth."""
    for s in stmts:
        if isinstance(s, A.Return) or isinstance(s, A.If) and (_returns_inside(s.body) or _returns_inside(s.orelse)) \
                or isinstance(s, (A.For, A.While)) and _returns_inside(s.body):
            return True
    return False


def _loop_returns(stmts: list[A.Stmt]) -> bool:
    """Whether some loop in a statement list holds a `return`."""
    for s in stmts:
        if isinstance(s, (A.For, A.While)) and _returns_inside(s.body) \
                or isinstance(s, A.If) and (_loop_returns(s.body) or _loop_returns(s.orelse)):
            return True
    return False


# A `return` inside a loop sets these hidden variables (no M-CODE name holds '%') and
# breaks out; after each loop, `if flag: return` passes it on. The loop stays one block
# that a back end compiles, where a return inside made the whole loop run as Python.
_RET_FLAG = "return%flag"


def _ret_var(i: int) -> str:
    return f"return%{i}"


def _rebinds(stmts: list[A.Stmt], name: str) -> bool:
    """Whether a statement list binds `name` to a new value (`name = e`, `let name`, an
    unpack or a loop over it), as opposed to updating it (`name[i] = e`, `name += e`)."""
    for s in stmts:
        if isinstance(s, A.Assign) and isinstance(s.target, A.Name) and s.target.id == name:
            return True
        if isinstance(s, A.Let) and s.name == name or isinstance(s, A.For) and s.var == name:
            return True
        if isinstance(s, A.Unpack) and any(isinstance(t, A.Name) and t.id == name for t in s.targets):
            return True
        if isinstance(s, A.If) and (_rebinds(s.body, name) or _rebinds(s.orelse, name)):
            return True
        if isinstance(s, (A.For, A.While)) and _rebinds(s.body, name):
            return True
    return False


def _target_name(t: A.Expr) -> str:
    return t.id if isinstance(t, A.Name) else _target_name(t.base)  # type: ignore[attr-defined]


def _view_root(t: A.Expr) -> A.Expr:
    """The expression under a chain of subscripts (`A` of `A[i][1:]`)."""
    while isinstance(t, A.Index):
        t = t.base
    return t


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of an AST class that can hold nodes (spans, names and types cannot)."""
    return tuple(f.name for f in dataclasses.fields(cls)
                 if any(kind in str(f.type) for kind in ("Expr", "Stmt", "Keyword", "Param", "FnDef", "Node")))


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _calls_in(node: Any) -> list[A.Call]:
    out: list[A.Call] = []
    stack = [node]
    fields, call_type = _CHILD_FIELDS, A.Call
    while stack:
        n = stack.pop()
        if n is None:
            continue
        if type(n) is list:
            stack.extend(n)
            continue
        cls = type(n)
        names = fields.get(cls)
        if names is None:
            names = fields[cls] = _child_fields(cls) if isinstance(n, A.Node) else ()
        if cls is call_type:
            out.append(n)
        for name in names:
            stack.append(getattr(n, name))
    return out


# The lowering method of each AST class (an attribute lookup by a built name per node
# costs more than the dictionary)
_STMT_METHODS: dict[type, Callable[..., Any]] = {}
_EXPR_METHODS: dict[type, Callable[..., Any]] = {}


class FunctionBuilder:
    def __init__(self, gen: ModuleBuilder, fndef: A.FnDef, signature: Function) -> None:
        self.gen = gen
        self.sink = gen.sink
        self.fndef = fndef
        self.fn = signature
        self.env: dict[str, Binding] = {}
        self.poisoned: set[str] = set()
        self.region = signature.body
        self.static: dict[Value, Dim] = {}
        self.dim_values: dict[str, Value] = {}
        self.dim_sources: dict[str, tuple[int, int]] = {}
        self.loops: list[LoopCtx] = []
        self.n_dim_ops = 0

    # ---- emission helpers ----------------------------------------------------------
    def emit(self, name: str, operands: list[Value], types: list[ValueType], span: Span,
             attrs: dict[str, Any] | None = None, regions: list[Region] | None = None,
             hints: list[str] | None = None) -> Op:
        op = Op(name, operands, types, attrs, regions, span, hints)
        self.region.append(op)
        return op

    def const(self, value: Any, t: ScalarType, span: Span) -> Value:
        v = self.emit("mc.const", [], [t], span, {"value": value, "weak": t.weak}).result
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            self.static[v] = Dim(int(value))
        return v

    def error(self, message: str, span: Span, hint: str = "") -> _Abort:
        self.sink.error(message, span, hint)
        return _Abort()

    # ---- function ------------------------------------------------------------------
    def build(self) -> None:
        for p, v in zip(self.fndef.params, self.fn.args):
            self.env[p.name] = Binding(v, "inout" if p.inout else "param")
        for i, p in enumerate(self.fn.params):
            if isinstance(p.type, ArrayType):
                for ax, d in enumerate(p.type.shape):
                    if d is not None and len(d.terms) == 1 and d.const == 0:
                        self.dim_sources.setdefault(d.terms[0][0], (i, ax))
        self.loop_returns = _loop_returns(self.fndef.body)
        if self.loop_returns:
            span = self.fndef.span
            self.env[_RET_FLAG] = Binding(self.const(False, ScalarType("bool"), span), "local")
            for i, t in enumerate(self.fn.result_types):
                self.env[_ret_var(i)] = Binding(self._no_result(t, span), "local")
        n_errors = len(self.sink.items)
        terminated = self.block(self.fndef.body)
        if not terminated:
            if len(self.sink.items) > n_errors:
                pass  # an erroneous statement may have been the return
            elif self.fn.result_types:
                self.sink.error(f"function '{self.fn.name}' can reach its end without returning a value",
                                Span(self.fndef.body[-1].span.line, self.fndef.body[-1].span.col),
                                f"add `return ...` of type {self._result_text()}")
            else:
                self.emit_return([], self.fndef.span)

    def _no_result(self, t: Any, span: Span) -> Value:
        """The value a hidden result variable starts from: zero, or an empty array of the
        result's dtype and rank (a local array may change shape; only a returned value
        takes the declared type)."""
        if isinstance(t, ScalarType):
            return self.const({"b": False, "c": 0j, "f": 0.0}.get(t.dtype[0], 0), ScalarType(t.dtype), span)
        shape = A.TupleExpr(span, [A.Num(span, 0) for _ in t.shape])
        v = self.value_expr(A.Call(span, A.Name(span, "zeros"), [shape], [A.Keyword(span, "dtype", A.Name(span, t.dtype))]))
        v.type = ArrayType(t.dtype, (None,) * t.rank)  # not f64[0]: no size to disagree with f64[3]
        return v

    def _result_text(self) -> str:
        ts = ", ".join(str(t) for t in self.fn.result_types)
        return f"({ts})" if self.fn.result_is_tuple else ts

    def emit_return(self, values: list[Value], span: Span) -> None:
        inouts = [self.env[p.name].value for p in self.fn.params if p.inout]
        self.emit("mc.return", values + inouts, [], span, {"n_results": len(values)})

    # ---- statements ----------------------------------------------------------------
    def block(self, stmts: list[A.Stmt]) -> bool:
        """Lower statements into the current region; True if control cannot fall through."""
        for s in stmts:
            try:
                if self.stmt(s):
                    return True
            except (_Abort, RecursionError) as e:
                if isinstance(e, RecursionError):  # (lowering recurses once per operand and nested block)
                    self.error("nested too deeply to compile", s.span,
                               "split the expression into steps with `let` temporaries, or flatten the blocks")
                for n in _assigned_names([s], self.gen.inout_callees):
                    self.poisoned.add(n)
        return False

    def stmt(self, s: A.Stmt) -> bool:
        method = _STMT_METHODS.get(type(s))
        if method is None:
            method = _STMT_METHODS[type(s)] = getattr(FunctionBuilder, "stmt_" + type(s).__name__)
        return bool(method(self, s))

    def stmt_Pass(self, s: A.Pass) -> None:
        pass

    def stmt_ExprStmt(self, s: A.ExprStmt) -> None:
        if not isinstance(s.value, A.Call):
            raise self.error("expression statement has no effect", s.span,
                             "assign it with `let name = ...` or remove it")
        self.expr(s.value, allow_none=True)

    def stmt_Let(self, s: A.Let) -> None:
        self._check_new_name(s.name, s.name_span)
        v = self.value_expr(s.value)
        if s.type is not None:
            declared = self.gen.resolve_type(s.type, {})
            if declared is None:
                raise _Abort()
            for d in shape_of(declared):  # (as for results: a name no parameter gives is no size)
                if d is not None and d.terms and d.terms[0][0] not in self.dim_sources:
                    known = ", ".join(self.dim_sources) or "none"
                    raise self.error(f"dim '{d}' is not a dimension of any parameter", s.type.span,
                                     f"use a parameter's dim ({known}), an integer, or `?` for a size known only at run time")
            v = self.convert(v, declared, s.value.span, f"'{s.name}'",
                             "declare the value's shape, or `?` for a size known only at run time")
        self.bind_local(s.name, v, s.span)

    def _check_new_name(self, name: str, span: Span) -> None:
        if name in DTYPES or name in SPECIAL_NAMES:
            raise self.error(f"'{name}' is a reserved name and cannot be bound", span, "choose another variable name")
        if name in self.dim_sources:
            raise self.error(f"'{name}' is a symbolic dimension of this function", span,
                             "choose another variable name")

    def bind_local(self, name: str, v: Value, span: Span) -> None:
        """`let name = v` (a literal gets its default dtype)."""
        if isinstance(v.type, ScalarType) and v.type.weak:
            v = self.strengthen(v, span)
        self.poisoned.discard(name)
        self.env[name] = Binding(v, "local")
        v.hint = v.hint or name

    def stmt_Unpack(self, s: A.Unpack) -> None:
        n = len(s.targets)
        if s.let:
            for t in s.targets:
                self._check_new_name(t.id, t.span)  # type: ignore[attr-defined]
        if len(s.values) == 1:
            got = self.expr(s.values[0])
            if not isinstance(got, tuple):
                what = f"one value of type {got.type}" if isinstance(got, Value) else self._describe(got)
                raise self.error(f"cannot unpack {what} into {n} names", s.values[0].span,
                                 "unpack a call with a tuple result, or give one value per name: `a, b = x, y`")
            values, spans = list(got), [s.values[0].span] * len(got)
        else:  # all evaluated before any is bound: `a, b = b, a` swaps
            values, spans = [self.expr(e) for e in s.values], [e.span for e in s.values]
        if len(values) != n:
            raise self.error(f"{n} names but {len(values)} values to unpack", s.span,
                             "give one name per value")
        for t, v, span in zip(s.targets, values, spans):
            if not isinstance(v, Value):
                raise self.error(f"cannot bind {self._describe(v)} to '{_target_name(t)}'", span,
                                 "unpack a tuple result in a statement of its own: `let a, b = f(x)`")
            if s.let:
                self.bind_local(t.id, v, s.span)  # type: ignore[attr-defined]
            elif isinstance(t, A.Name):
                self._mutable(t.id, t.span)
                self.rebind(t.id, v, s.span)
            else:
                self.store(t, v, s.span)  # type: ignore[arg-type]

    def strengthen(self, v: Value, span: Span) -> Value:
        """A literal bound to a variable gets its default dtype (i64, f64, ...)."""
        assert isinstance(v.type, ScalarType)
        if v.owner is not None and isinstance(v.owner, Op) and v.owner.name == "mc.const":
            value = v.owner.attrs["value"]
            if v.type.dtype == "i64" and not -(2**63) <= value < 2**63:
                raise self.error(f"integer literal {value} does not fit i64", span, "M-CODE integers are 64-bit")
            return self.const(value, ScalarType(v.type.dtype), span)
        return self.emit("mc.cast", [v], [ScalarType(v.type.dtype)], span, {"dtype": v.type.dtype}).result

    def convert(self, v: Value, target: ValueType, span: Span, what: str, shape_hint: str = "") -> Value:
        """Implicit conversion to a declared type: same-kind casts only, rank must match.
        `shape_hint`: the hint when the shapes differ (else one for `what`)."""
        t = v.type
        if isinstance(target, ArrayType) != isinstance(t, ArrayType) or (
                isinstance(target, ArrayType) and target.rank != t.rank):
            raise self.error(f"{what} has type {target} but the value is {t}", span,
                             "ranks must match; reshape or index the value")
        if isinstance(target, ArrayType):
            for a, b in zip(target.shape, t.shape):
                if known_different(a, b):
                    raise self.error(f"{what} has shape {target} but the value is {t}", span,
                                     shape_hint or _shape_hint(what))
            self.check_shape(v, target, span, what)
        if t.dtype == target.dtype and not (isinstance(t, ScalarType) and t.weak):
            return v
        weak = isinstance(t, ScalarType) and t.weak
        if is_complex(t.dtype) and not is_complex(target.dtype):  # (a literal too: `-> f64: return 1j`)
            raise self.error(f"{what} has dtype {target.dtype} but the value is {t.dtype}", span,
                             "take real(...) or abs(...) of it, or declare a complex type (c64, c128)")
        if weak and is_int(target.dtype) and not (is_int(t.dtype) or t.dtype == "bool"):
            raise self.error(f"{what} has dtype {target.dtype} but the value is a {t.dtype} literal", span,
                             f"write an integer literal, or convert explicitly: `{target.dtype}(...)`")
        if not weak and not np.can_cast(np_dtype(t.dtype), np_dtype(target.dtype), "same_kind"):
            hint = f"convert explicitly, e.g. `{target.dtype}(...)`"
            if what.startswith("'") and np_dtype(t.dtype).kind in "fc" and np_dtype(target.dtype).kind in "iub":
                name = what[1:-1]
                bound = self.env.get(name)
                if bound is not None and bound.kind in ("param", "inout"):
                    # a parameter's dtype is the caller's: convert the value, or declare it wider
                    hint = (f"convert the value with `{target.dtype}(...)`, or declare the parameter "
                            f"{t.dtype}: `{'inout ' if bound.kind == 'inout' else ''}{name}: {make_type(t.dtype, shape_of(target))}`")
                else:
                    # `let total = 0` then `total += a[i]`: the variable was meant to be a float
                    hint = f"start {what} as a float to hold {t.dtype} values: `let {name} = 0.0`; or {hint}"
            raise self.error(f"{what} has dtype {target.dtype} but the value is {t.dtype}", span, hint)
        new_t = ScalarType(target.dtype) if isinstance(t, ScalarType) else ArrayType(target.dtype, t.shape)
        lit = self._weak_int(v)
        if lit is not None and is_int(target.dtype):
            info = np.iinfo(np_dtype(target.dtype))
            if not info.min <= lit <= info.max:
                raise self.error(f"integer literal {lit} does not fit {target.dtype}", span,
                                 f"{target.dtype} holds {info.min}..{info.max}")
        if weak and v.owner is not None and isinstance(v.owner, Op) and v.owner.name == "mc.const":
            return self.const(np_dtype(target.dtype).type(v.owner.attrs["value"]).item(), new_t, span)
        return self.emit("mc.cast", [v], [new_t], span, {"dtype": target.dtype}).result

    def check_shape(self, v: Value, target: ArrayType, span: Span, what: str) -> None:
        """Run-time checks that `v` has the declared dims it is not known to have (a `?`
        axis, another symbol): a size the signature names is one size, as at the entry."""
        for axis, (want, have) in enumerate(zip(target.shape, v.type.shape)):
            if want is None or want == have:
                continue
            if want.is_const:
                expected = self.const(want.const, ScalarType("i64"), span)
            elif len(want.terms) == 1 and want.const == 0 and want.terms[0][1] == 1 and want.terms[0][0] in self.dim_sources:
                expected = self.dim_value(want.terms[0][0], span)
            else:
                continue  # (an expression of dims: not checked)
            self.check_dim(v, axis, expected, span, f"{what} has shape {target}: its dim {axis} is another size")

    def check_dim(self, v: Value, axis: int, expected: Value, span: Span, message: str) -> None:
        actual = self.emit("mc.dim", [v], [ScalarType("i64")], span, {"axis": axis}).result
        self.emit("mc.check_dim", [actual, expected], [], span, {"message": message})

    def _mutable(self, name: str, span: Span) -> Binding:
        if name in self.poisoned:
            raise _Abort()
        b = self.env.get(name)
        if b is None and name in self.dim_sources:
            raise self.error(f"cannot assign to '{name}'", span, "symbolic dims are read-only; copy into a `let`")
        if b is None:
            raise self.error(f"'{name}' is not defined", span, "declare it first with `let`")
        if b.kind == "param":
            if not isinstance(b.value.type, ArrayType):  # (inout is for arrays only)
                raise self.error(f"cannot write parameter '{name}': parameters are read-only", span,
                                 f"copy it into a local and change that: `let {name}2 = {name}`")
            raise self.error(f"cannot write parameter '{name}': it is not inout", span,
                             f"mark it `inout {name}` to write the caller's array, or copy it: `let {name}2 = copy({name})`")
        if b.kind in ("dim", "loopvar"):
            raise self.error(f"cannot assign to '{name}'", span,
                             "symbolic dims and loop variables are read-only")
        return b

    def rebind(self, name: str, v: Value, span: Span) -> None:
        b = self._mutable(name, span)
        old = b.value.type
        if isinstance(old, ArrayType) and b.kind == "local":
            # a local array may change shape, never dtype or rank
            if not isinstance(v.type, ArrayType) or v.type.rank != old.rank:
                raise self.error(f"'{name}' is {old} and cannot be rebound to {v.type}", span,
                                 "a variable keeps its dtype and rank; use a new `let`")
            v = self.convert(v, ArrayType(old.dtype, v.type.shape), span, f"'{name}'")
        else:
            v = self.convert(v, old, span, f"'{name}'")
        self.env[name] = Binding(v, b.kind)
        v.hint = v.hint or name

    def stmt_Assign(self, s: A.Assign) -> None:
        if isinstance(s.target, A.Name):
            self._mutable(s.target.id, s.target.span)
            self.rebind(s.target.id, self.value_expr(s.value), s.span)
        else:
            self.store(s.target, self.value_expr(s.value), s.span)  # type: ignore[arg-type]

    def stmt_AugAssign(self, s: A.AugAssign) -> None:
        if isinstance(s.target, A.Name):
            b = self._mutable(s.target.id, s.target.span)
            rhs = self.value_expr(s.value)
            self.rebind(s.target.id, self.binary(s.op, b.value, rhs, s.span), s.span)
        else:
            target: A.Index = s.target  # type: ignore[assignment]
            cur = self.expr(target)
            rhs = self.value_expr(s.value)
            new = self.binary(s.op, cur, rhs, s.span)
            if isinstance(cur, Value) and isinstance(cur.type, ArrayType) and not np.can_cast(
                    np_dtype(new.type.dtype), np_dtype(cur.type.dtype), "same_kind"):
                # NumPy updates a selection of several elements in place (`y[1:] *= 1.5`),
                # which casts only within a kind; a single element is read, updated, stored
                raise self.error(f"'{_target_name(target)}[...]' has dtype {cur.type.dtype} but the value is "
                                 f"{new.type.dtype}", s.span, f"convert explicitly, e.g. `{cur.type.dtype}(...)`")
            self.store(target, new, s.span)

    def store(self, target: A.Index, v: Value, span: Span) -> None:
        if isinstance(target.base, A.Index):
            # `A[i][j] = v` writes through the view A[i] (NumPy's meaning): the view's
            # new value is stored back into A[i]
            view = self.basic_view(target.base, (
                "this store would be lost: indexing with an array or a mask makes a copy",
                "NumPy writes to that copy, not to the variable; index once: `A[idx, j] = ...`"))
            if not isinstance(view.type, ArrayType):
                raise self.error(f"{_target_name(target)}[...] is a scalar and cannot be indexed", target.span,
                                 "store the element with one subscript: `A[i] = ...`")
            self.store(target.base, self.setitem(view, f"{_target_name(target)}[...]", target, v, span), span)
            return
        name = target.base.id  # type: ignore[attr-defined]
        b = self._mutable(name, target.base.span)
        self.env[name] = Binding(self.setitem(b.value, name, target, v, span), b.kind)

    def basic_view(self, e: A.Index, copied: tuple[str, str], v: Value | None = None) -> Value:
        """The value of `e` (`v`, when evaluated already), a subscript chain of a writable
        variable made by basic indexing only, so that writes to it reach the variable (as
        through a NumPy view); `copied`: the error and hint when a subscript copies."""
        self._mutable(_target_name(e), _view_root(e).span)
        v = self._value(self.expr(e), e.span) if v is None else v
        node: A.Expr = e
        val = v
        while isinstance(node, A.Index):  # each subscript of the chain made one getitem
            owner = val.owner
            assert isinstance(owner, Op) and owner.name == "mc.getitem"
            if any(it[0] == "array" for it in owner.attrs["index"]):
                raise self.error(copied[0], node.span, copied[1])
            node, val = node.base, owner.operands[0]
        return v

    def setitem(self, base: Value, name: str, target: A.Index, v: Value, span: Span) -> Value:
        """`base[target.items] = v` as a new value of base."""
        if not isinstance(base.type, ArrayType):
            raise self.error(f"'{name}' is a scalar and cannot be indexed", target.span,
                             f"assign the scalar itself: `{name} = ...`")
        index, operands, sel = self.index_spec(base, target.items, target.span)
        sel_shape = shape_of(sel)
        vshape = shape_of(v.type)
        if len(vshape) > len(sel_shape) and not all(d is not None and d.is_const and d.const == 1
                                                    for d in vshape[: len(vshape) - len(sel_shape)]):
            raise self.error(f"cannot store {v.type} into {name}[...] of shape {sel}", span,
                             "the stored value must broadcast to the selected shape")
        try:
            broadcast(ArrayType("f64", sel_shape), v.type)
        except ShapeError as e:
            raise self.error(e.args[0], span, e.hint) from None
        if is_complex(v.type.dtype) and not is_complex(base.type.dtype):
            raise self.error(f"cannot store complex values into {base.type}", span, "take real(...) first")
        from .builtin_rules import check_int_literal

        check_int_literal(self, v, base.type.dtype, span)
        return self.emit("mc.setitem", [base, *operands, v], [base.type], span, {"index": index},
                         hints=[name]).result

    def stmt_Return(self, s: A.Return) -> bool:
        want = self.fn.result_types
        got: list[Any] = []  # the values, each evaluated once (a call may write inout arguments)
        if len(s.values) == 1 and self.fn.result_is_tuple:
            first = self.expr(s.values[0])
            if isinstance(first, tuple):  # `return g(x)`, g's result a tuple: returned as it is, as in Python
                if len(first) != len(want) or not all(isinstance(v, Value) for v in first):
                    raise self.error(f"return gives a tuple of {len(first)}; '{self.fn.name}' returns "
                                     f"{self._result_text()}", s.span, f"return {len(want)} values")
                return self._leave([self.convert(v, t, s.values[0].span, "the result") for v, t in zip(first, want)],
                                   s.span)
            got = [self._value(first, s.values[0].span)]
        if len(s.values) != len(want):
            if not want:
                raise self.error(f"function '{self.fn.name}' has no result but returns a value", s.span,
                                 "declare the result type: `fn f(...) -> T:`")
            raise self.error(f"return gives {len(s.values)} value(s); '{self.fn.name}' returns {self._result_text()}",
                             s.span, f"return {len(want)} values separated by commas: `return a, b`"
                             if len(want) > 1 else "return a single value")
        vals = [self.convert(got[i] if i < len(got) else self.value_expr(e), t, e.span, "the result")
                for i, (e, t) in enumerate(zip(s.values, want))]
        return self._leave(vals, s.span)

    def _leave(self, vals: list[Value], span: Span) -> bool:
        """Return `vals`: from inside a loop (see _RET_FLAG), by setting the hidden
        variables and breaking out."""
        if not (self.loops and self.loop_returns):
            self.emit_return(vals, span)
            return True
        for i, v in enumerate(vals):
            self.env[_ret_var(i)] = Binding(v, "local")
        self.env[_RET_FLAG] = Binding(self.const(True, ScalarType("bool"), span), "local")
        return self._loop_exit("mc.break", span)

    def _after_loop(self, body: list[A.Stmt], span: Span, terminal: bool) -> bool:
        """After a loop whose body returns: pass the return on (`if flag: return`;
        unconditionally where the loop ends only by it). Whether control falls through."""
        if not (self.loop_returns and _returns_inside(body)):
            return terminal
        ret = A.Return(span, [A.Name(span, _ret_var(i)) for i in range(len(self.fn.result_types))])
        if terminal:
            return self.stmt(ret)
        return self.stmt(A.If(span, A.Name(span, _RET_FLAG), [ret], []))

    def stmt_Break(self, s: A.Break) -> bool:
        return self._loop_exit("mc.break", s.span)

    def stmt_Continue(self, s: A.Continue) -> bool:
        return self._loop_exit("mc.continue", s.span)

    def _loop_exit(self, name: str, span: Span) -> bool:
        if not self.loops:
            raise self.error(f"'{name[3:]}' outside a loop", span,
                             "use it inside `for` or `while`; `return` leaves the function")
        self.emit(name, [self.env[n].value for n in self.loops[-1].carried], [], span)
        return True

    def stmt_If(self, s: A.If) -> bool:
        cond = self.condition(s.cond)
        before = dict(self.env)
        outcomes = []
        regions = []
        for body in (s.body, s.orelse):
            region = Region()
            saved = self.region
            self.region = region
            self.env = dict(before)
            term = self.block(body)
            outcomes.append((term, self.env))
            regions.append(region)
            self.region = saved
        self.env = before
        live = [(term, env, r) for (term, env), r in zip(outcomes, regions) if not term]
        if not live:
            self.emit("mc.if", [cond], [], s.span, regions=regions)
            return True
        names = [n for n in live[0][1] if all(n in env for _, env, _ in live)
                 and any(env[n].value is not before.get(n, _UNBOUND).value for _, env, _ in live)]  # type: ignore[arg-type]
        types: list[ValueType] = []
        for n in names:
            ts = [env[n].value.type for _, env, _ in live]
            t0 = ts[0]
            for t in ts[1:]:
                if type(t) is not type(t0) or t.dtype != t0.dtype or shape_of(t).__len__() != shape_of(t0).__len__():
                    if n in before:
                        raise self.error(f"'{n}' gets different types in the branches: {t0} and {t}", s.span,
                                         "a variable keeps its dtype and rank; convert the values to one type")
                    names.remove(n)
                    break
                if isinstance(t, ArrayType):
                    t0 = ArrayType(t0.dtype, merge_dims(t0.shape, t.shape))
            else:
                types.append(t0)
        for _, env, r in live:
            r.append(Op("mc.yield", [env[n].value for n in names], [], loc=s.span))
        op = self.emit("mc.if", [cond], types, s.span, regions=regions, hints=names)
        for n, v in zip(names, op.results):
            kind = before[n].kind if n in before else "local"
            self.env[n] = Binding(v, kind)
        return False

    def condition(self, e: A.Expr, op: str = "") -> Value:
        """A scalar condition; `op`: the `and`/`or` it is an operand of."""
        v = self.value_expr(e)
        if isinstance(v.type, ArrayType):
            if op:  # `x > 0.0 and x < 1.0` meant elementwise
                raise self.error(f"'{op}' takes scalars, not {v.type}", e.span,
                                 f"elementwise, write logical_{op}(a, b) (or `a {'&' if op == 'and' else '|'} b`); "
                                 "to reduce an array, any(...) or all(...)")
            raise self.error(f"condition must be a scalar, not {v.type}", e.span,
                             "reduce it with any(...) or all(...)")
        return v

    def _carried(self, body: list[A.Stmt]) -> list[str]:
        names = [n for n in _assigned_names(body, self.gen.inout_callees) if n in self.env and n not in self.poisoned
                 and self.env[n].kind in ("local", "inout")]
        if self.loop_returns and _returns_inside(body):
            names += [_RET_FLAG, *(_ret_var(i) for i in range(len(self.fn.result_types)))]
        return names

    def _loop(self, op_name: str, operands: list[Value], carried: list[str], span: Span,
              lower_body: Callable[[list[Value]], None], extra_args: list[ValueType],
              n_regions: int = 1) -> Op:
        """Build a loop op: again with widened types if the body changes a carried
        array's shape, and again without the variables that a `let` in the body gives
        another dtype or rank (a loop cannot change a variable's type: such a `let`
        makes a variable of the body, as a `let` of a new name does). `carried` is
        edited in place: the caller's `lower_body` reads it."""
        n_diag = len(self.sink.items)
        while True:
            inits = [self.env[n].value for n in carried]
            types = [v.type for v in inits]
            # a widening makes at least one more dim unknown, so this many passes reach the
            # fixed point (a dim may start changing only in a later iteration: `a = b` then
            # `b = concatenate((b, t))`)
            passes = 1 + sum(t.rank for t in types if isinstance(t, ArrayType))
            for attempt in range(passes):
                del self.sink.items[n_diag:]
                before = dict(self.env)
                saved_region = self.region
                regions = [Region([Value(t, "i") for t in extra_args] + [Value(t, n) for n, t in zip(carried, types)])
                           for _ in range(n_regions)]
                self.loops.append(LoopCtx(carried))
                try:
                    lower_body([r for r in regions])  # type: ignore[arg-type]
                    ends = [self.env[n].value.type for n in carried]
                finally:
                    self.loops.pop()
                    self.region = saved_region
                    self.env = before
                widened = [ArrayType(t.dtype, merge_dims(t.shape, e.shape)) if isinstance(t, ArrayType) and isinstance(e, ArrayType) else t
                           for t, e in zip(types, ends)]
                if widened == types or attempt == passes - 1:
                    break
                types = widened
            retyped = [n for n, t, e in zip(carried, types, ends)
                       if type(t) is not type(e) or t.dtype != e.dtype or len(shape_of(t)) != len(shape_of(e))]
            if not retyped:
                break
            carried[:] = [n for n in carried if n not in retyped]
        op = self.emit(op_name, operands + inits, types, span, regions=regions, hints=carried)
        for n, v in zip(carried, op.results):
            self.env[n] = Binding(v, self.env[n].kind)
        return op

    def stmt_For(self, s: A.For) -> bool:
        bound = self.env.get(s.var)
        existing = bound is not None and bound.kind == "local"
        if existing or s.var in _assigned_names(s.body, self.gen.inout_callees):
            # The loop variable names an existing local: as in Python, the loop rebinds
            # it, so after the loop it holds the last value taken (the one at a break),
            # or its old value when the loop ran no iteration. The loop runs on a hidden
            # variable whose value each iteration assigns to the local. The same holds
            # for a body that rebinds the loop variable (`i = N - 1 - i`), legal in
            # Python: each iteration starts from the next value of the hidden variable.
            hidden = f"{s.var}%loop"  # (no M-CODE name contains '%')
            value = A.Name(s.var_span, hidden)
            first: A.Stmt = (A.Assign(s.var_span, A.Name(s.var_span, s.var), value) if existing else
                             A.Let(s.var_span, s.var, None, value, s.var_span))
            s = A.For(s.span, hidden, s.iter, [first, *s.body], s.var_span)
        carried = self._carried(s.body)
        it = s.iter
        if isinstance(it, A.Call) and isinstance(it.func, A.Name) and it.func.id == "range":
            if it.kwargs or not 1 <= len(it.args) <= 3:
                raise self.error("range takes 1 to 3 positional integer arguments", it.span,
                                 "range(stop), range(start, stop) or range(start, stop, step)")
            bounds = [self.int_scalar(a, "range bound") for a in it.args]
            step = self.static.get(bounds[2]) if len(bounds) == 3 else None
            if step is not None and step.is_const and step.const == 0:  # (Python's ValueError, at run time)
                raise self.error("range() step cannot be zero", it.args[2].span,
                                 "use a step of 1 or more to count up, -1 or less to count down")
            if len(bounds) == 1:
                bounds = [self.const(0, ScalarType("i64"), it.span), bounds[0]]
            if len(bounds) == 2:
                bounds.append(self.const(1, ScalarType("i64"), it.span))
            seq = None
        else:
            seq = self.value_expr(it)
            if not isinstance(seq.type, ArrayType):
                raise self.error(f"cannot iterate over {seq.type}", it.span,
                                 "iterate over range(...) or an array's first axis")
            zero = self.const(0, ScalarType("i64"), it.span)
            n = self.emit("mc.dim", [seq], [ScalarType("i64")], it.span, {"axis": 0}).result
            if seq.type.shape[0] is not None:
                self.static[n] = seq.type.shape[0]
            bounds = [zero, n, self.const(1, ScalarType("i64"), it.span)]

        # `for x in A` with A updated in the body (A[k] = ..., A += ...): as NumPy's iterator,
        # each iteration takes its row from A as it is then (a value taken at that moment);
        # a body that rebinds A (`A = ...`) leaves the loop on the array it started with
        # (the same for a view of A made by basic indexing, `for x in A[1:]`: its bounds stay
        # those computed before the loop)
        root = _view_root(it)
        live = root.id if isinstance(root, A.Name) and root.id in carried and not _rebinds(s.body, root.id) else None
        view_ops: list[Op] = []
        if live is not None and isinstance(it, A.Index):
            v = seq
            while isinstance(v.owner, Op) and v.owner.name == "mc.getitem" and v is not self.env[live].value:
                view_ops.append(v.owner)
                v = v.owner.operands[0]
            if v is not self.env[live].value or any(t[0] == "array" for o in view_ops for t in o.attrs["index"]):
                live = None  # not a view of the variable (a copy by an index array or a mask)

        def body(regions: list[Region]) -> None:
            r = regions[0]
            self.region = r
            iv = r.args[0]
            iv.hint = s.var
            for name, arg in zip(carried, r.args[1:]):
                self.env[name] = Binding(arg, self.env[name].kind)
            if seq is None:
                self.env[s.var] = Binding(iv, "loopvar")
            else:
                src = self.env[live].value if live is not None else seq
                for o in reversed(view_ops if live is not None else []):  # the view, of A as it is now
                    src = self.emit("mc.getitem", [src, *o.operands[1:]], [o.result.type], s.span,
                                    {"index": o.attrs["index"]}).result
                elem = self.getitem(src, [("int", ("v", 1))], [iv], src.type.shape[1:], s.span)
                self.env[s.var] = Binding(elem, "loopvar")
            self.poisoned.discard(s.var)
            if not self.block(s.body):
                r.append(Op("mc.yield", [self.env[n].value for n in carried], [], loc=s.span))

        self._loop("mc.for", bounds, carried, s.span, body, [ScalarType("i64")])
        return self._after_loop(s.body, s.span, False)

    def stmt_While(self, s: A.While) -> bool:
        if self._writes_inout([s.cond]):
            # The condition writes an inout argument: each evaluation's write must reach
            # the body and the code after the loop, so it is evaluated as the body's
            # first statement (`while true: if not c: break`), where writes are carried.
            exit_ = A.If(s.cond.span, A.UnaryOp(s.cond.span, "not", s.cond), [A.Break(s.cond.span)], [])
            s = A.While(s.span, A.BoolLit(s.cond.span, True), [exit_, *s.body])
        carried = self._carried(s.body)

        def body(regions: list[Region]) -> None:
            cond_r, body_r = regions
            for name, arg in zip(carried, cond_r.args):
                self.env[name] = Binding(arg, self.env[name].kind)
            self.region = cond_r
            c = self.condition(s.cond)
            cond_r.append(Op("mc.condition", [c], [], loc=s.cond.span))
            for name, arg in zip(carried, body_r.args):
                self.env[name] = Binding(arg, self.env[name].kind)
            self.region = body_r
            if not self.block(s.body):
                body_r.append(Op("mc.yield", [self.env[n].value for n in carried], [], loc=s.span))

        self._loop("mc.while", [], carried, s.span, body, [], n_regions=2)
        # `while true:` left by no `break` ends only by a return: as in Python, the code
        # after it is unreachable (a function may end there without a return)
        return self._after_loop(s.body, s.span,
                                isinstance(s.cond, A.BoolLit) and s.cond.value and not _breaks_out(s.body))

    # ---- expressions ---------------------------------------------------------------
    def value_expr(self, e: A.Expr) -> Value:
        return self._value(self.expr(e), e.span)

    def _value(self, v: Any, span: Span) -> Value:
        if not isinstance(v, Value):
            raise self.error(f"expected a scalar or array value, got {self._describe(v)}", span,
                             self._value_hint(v))
        return v

    def _non_value(self, v: Any) -> tuple[str, str]:
        """What a non-value is (a dtype, a shape tuple, a result-less call's None) and
        what to write instead."""
        if isinstance(v, DTypeRef):
            return f"the dtype '{v.dtype}'", f"a dtype is not a value; to convert, call it: `{v.dtype}(x)`"
        if isinstance(v, tuple):
            return "a tuple", ("a tuple (or a list: M-CODE has none) is not a value; take one item, e.g. "
                               "`x.shape[0]`, or make an array with zeros/full/arange")
        return "nothing (a call without result)", "the called function returns nothing"

    def _describe(self, v: Any) -> str:
        return self._non_value(v)[0]

    def _value_hint(self, v: Any) -> str:
        return self._non_value(v)[1]

    def int_scalar(self, e: A.Expr, what: str) -> Value:
        v = self.value_expr(e)
        if isinstance(v.type, ArrayType) or not (is_int(v.type.dtype) or v.type.dtype == "bool"):
            raise self.error(f"{what} must be an integer scalar, not {v.type}", e.span,
                             "convert with i64(...)")
        return v

    def expr(self, e: A.Expr, allow_none: bool = False) -> Any:
        method = _EXPR_METHODS.get(type(e))
        if method is None:
            method = _EXPR_METHODS[type(e)] = getattr(FunctionBuilder, "expr_" + type(e).__name__)
        out = method(self, e)
        if out is None and not allow_none:
            raise self.error("this call has no result", e.span, "the function returns nothing")
        if isinstance(out, Value):
            e.ty = out.type
        return out

    def expr_Num(self, e: A.Num) -> Value:
        v = e.value
        dtype = "i64" if isinstance(v, int) else "f64" if isinstance(v, float) else "c128"
        if isinstance(v, int) and not -(2**63) <= v < 2**64:
            raise self.error("integer literal out of range", e.span, "M-CODE integers are 64-bit")
        return self.const(v, ScalarType(dtype, weak=True), e.span)

    def expr_BoolLit(self, e: A.BoolLit) -> Value:
        return self.const(e.value, ScalarType("bool", weak=True), e.span)

    def expr_Name(self, e: A.Name) -> Any:
        n = e.id
        if n in self.poisoned:
            raise _Abort()
        if n in self.env:
            return self.env[n].value
        if n in self.dim_sources:
            return self.dim_value(n, e.span)
        if n in DTYPES:
            return DTypeRef(n)
        if n in BUILTINS or n in SPECIAL_NAMES or n in self.gen.signatures:
            raise self.error(f"'{n}' is a function; call it", e.span, f"write `{n}(...)`")
        if n == "None":
            raise self.error("'None' is not defined", e.span,
                             "M-CODE has no None; to add an axis in an index write `newaxis`")
        if n in ("True", "False"):  # Python's spelling
            raise self.error(f"'{n}' is not defined", e.span, f"M-CODE spells it `{n.lower()}`")
        if n in _CONSTANTS:
            raise self.error(f"'{n}' is not defined", e.span, f"M-CODE has no constants; write `{_CONSTANTS[n]}`")
        dtype_hint = _dtype_like_hint(n)  # `float`, `f128`: difflib would say 'floor'
        if dtype_hint:
            raise self.error(f"'{n}' is not defined", e.span, dtype_hint)
        close = self._suggest(n)
        raise self.error(f"'{n}' is not defined", e.span, f"did you mean '{close}'?" if close else
                         "declare variables with `let`; built-ins follow NumPy's names")

    def _suggest(self, n: str) -> str | None:
        import difflib
        pool = list(self.env) + list(BUILTINS) + list(self.dim_sources) + list(self.gen.signatures)
        m = difflib.get_close_matches(n, pool, n=1)
        return m[0] if m else None

    def dim_value(self, name: str, span: Span) -> Value:
        if name not in self.dim_values:
            pidx, axis = self.dim_sources[name]
            op = Op("mc.dim", [self.fn.args[pidx]], [ScalarType("i64")], {"axis": axis}, loc=span, hints=[name])
            op.parent = self.fn.body
            self.fn.body.ops.insert(self.n_dim_ops, op)
            self.n_dim_ops += 1
            self.dim_values[name] = op.result
            self.static[op.result] = Dim.sym(name)
        return self.dim_values[name]

    def expr_TupleExpr(self, e: A.TupleExpr) -> tuple:
        return tuple(self.expr(i) for i in e.items)

    def expr_BinOp(self, e: A.BinOp) -> Value:
        return self.binary(e.op, self.value_expr(e.left), self.value_expr(e.right), e.span)

    def binary(self, op: str, a: Value, b: Value, span: Span) -> Value:
        name, fn = BINARY_OPS[op]
        if op == "@":
            try:
                shape = matmul_shape(a.type, b.type)
            except ShapeError as err:
                raise self.error(err.args[0], span, err.hint) from None
            dtype = probe_dtype(np.matmul, a.type, b.type) if isinstance(a.type, ArrayType) and isinstance(b.type, ArrayType) else None
            if dtype is None:
                raise self.error(f"unsupported operand dtypes for @: {a.type} and {b.type}", span,
                                 "`@` multiplies numeric arrays; cast bools first, e.g. `i64(m)`")
            return self.emit(name, [a, b], [make_type(dtype, shape)], span).result
        try:
            shape = broadcast(a.type, b.type)
        except ShapeError as err:
            raise self.error(err.args[0], span, err.hint) from None
        if op in _FLIPPED:
            op, a, b = self._clamp_compared_literal(op, a, b, span)
            name, fn = BINARY_OPS[op]
        if op == "/":
            a, b = self._float_divided_literal(a, b, span), self._float_divided_literal(b, a, span)
        folded = self._check_literal_ranges(op, a, b, fn, span)
        if folded is not None:
            return self.const(folded, ScalarType("i64", weak=True), span)
        dtype = probe_dtype(fn, a.type, b.type)
        if dtype is None:
            raise self.error(f"unsupported operand dtypes for '{op}': {a.type.dtype} and {b.type.dtype}", span,
                             "bitwise operators and shifts need integers; cast with i64(...)" if op in "&|^<<>>" else
                             "cast one side explicitly")
        if isinstance(dtype, ScalarType):  # literal op literal stays a literal
            t: ValueType = dtype
        else:
            t = make_type(dtype, shape)
        if op == "**" and isinstance(a.type, ArrayType) and a.type.dtype == t.dtype and t.dtype[0] == "f" \
                and isinstance(b.owner, Op) and b.owner.name == "mc.const" and b.owner.attrs["value"] == 0.5:
            # NumPy computes `array ** 0.5` as sqrt (its scalar-exponent fast path): NaN at
            # -inf and -0.0 at -0.0, where pow gives inf and +0.0 (a scalar base keeps pow)
            return self.emit("mc.sqrt", [a], [t], span).result
        out = self.emit(name, [a, b], [t], span).result
        sa, sb = self.static.get(a), self.static.get(b)
        if sa is not None and sb is not None and op in "+-":
            self.static[out] = sa + sb if op == "+" else sa - sb
        elif sa is not None and sb is not None and op == "*" and (sa.is_const or sb.is_const):
            k, d = (sa.const, sb) if sa.is_const else (sb.const, sa)
            self.static[out] = Dim(d.const * k, tuple((s, c * k) for s, c in d.terms if c * k))
        return out

    def _weak_int(self, v: Value) -> int | None:
        op = v.owner
        if isinstance(op, Op) and op.name == "mc.const" and isinstance(v.type, ScalarType) and v.type.weak \
                and isinstance(op.attrs["value"], int) and not isinstance(op.attrs["value"], bool):
            return op.attrs["value"]
        return None

    def _float_divided_literal(self, v: Value, other: Value, span: Span) -> Value:
        """True division computes integers in f64, so NumPy 2 takes `u8 / 1000` (a literal
        beyond the integer's range, an OverflowError for the other operators): the
        literal becomes the float it is divided as."""
        lit = self._weak_int(v)
        if lit is None or not is_int(other.type.dtype) or getattr(other.type, "weak", False):
            return v
        info = np.iinfo(np_dtype(other.type.dtype))
        return v if info.min <= lit <= info.max else self.const(float(lit), ScalarType("f64", weak=True), span)

    def _clamp_compared_literal(self, op: str, a: Value, b: Value, span: Span) -> tuple[str, Value, Value]:
        """An integer literal beyond the range of the integer it is compared with: NumPy 2
        answers exactly (`u8 > -1` is true everywhere, `u8 == 256` false), where
        arithmetic would overflow. The comparison becomes one against the range's edge
        with the same answer for every value: `x > -1` -> `x >= 0`, `x < 300` -> `x <= 255`."""
        va, vb = self._weak_int(a), self._weak_int(b)
        if (va is None) == (vb is None):
            return op, a, b
        # with the literal on the right (`lit < x` is `x > lit`)
        cmp, x, lit = (op, a, vb) if vb is not None else (_FLIPPED[op], b, va)
        dtype = x.type.dtype
        if not (is_int(dtype) or dtype == "bool") or getattr(x.type, "weak", False):
            return op, a, b
        # (a bool is 0 or 1 here: `mask >= 2` is false everywhere, where a back end that
        # cast 2 to bool answered True)
        info = None if dtype == "bool" else np.iinfo(np_dtype(dtype))
        lo, hi = (0, 1) if info is None else (int(info.min), int(info.max))
        if lit < lo:  # true: > >= !=, false: < <= ==
            cmp, edge = (">=" if cmp in (">", ">=", "!=") else "<"), lo
        elif lit > hi:  # true: < <= !=, false: > >= ==
            cmp, edge = ("<=" if cmp in ("<", "<=", "!=") else ">"), hi
        else:
            return op, a, b
        return cmp, x, self.const(int(edge), ScalarType("i64", weak=True), span)

    def _check_literal_ranges(self, op: str, a: Value, b: Value, fn: Callable[[Any, Any], Any],
                              span: Span) -> int | None:
        """NumPy raises OverflowError at run time for a Python int that its partner's
        dtype cannot hold, and for constants beyond 64 bits: make both compile errors.
        Returns the value of an integer operation on two literals (folded here, so later
        range checks see it)."""
        va, vb = self._weak_int(a), self._weak_int(b)
        if va is None and vb is None:
            return None  # no integer literal: the common case
        if op == "**" and vb is not None and vb < 0 and is_int(a.type.dtype):
            raise self.error("integers to negative integer powers are not allowed", span,
                             f"NumPy raises this too; for a float result write a float: `{float(va)} ** {vb}`"
                             if va is not None else "NumPy raises this too; convert the base: `f64(x) ** ...`")
        if va is not None and vb is not None:
            if op in ("<<", ">>") and vb < 0:  # Python ints raise "negative shift count" at run time
                raise self.error("negative shift count", span,
                                 f"shift by 0 or more; to shift the other way write `{va} {'>>' if op == '<<' else '<<'} {-vb}`")
            # `10 ** 1000000000` or `1 << 10**11` would take Python minutes and gigabytes:
            # any such result beyond 64 bits is an overflow, known without computing it
            huge = (op == "**" and abs(va) >= 2 and vb > 64) or (op == "<<" and va != 0 and vb > 64)
            try:
                out = None if huge else fn(va, vb)
            except (ZeroDivisionError, ValueError, OverflowError):
                return None
            if huge or (isinstance(out, int) and not isinstance(out, bool) and not -(2**63) <= out < 2**63):
                shown = "" if huge or len(str(out)) > 40 else f" ({out})"
                raise self.error(f"constant expression overflows i64{shown}", span,
                                 "M-CODE integers are 64-bit; use a float or a smaller value")
            return out if isinstance(out, int) and not isinstance(out, bool) else None
        for lit, other in ((va, b), (vb, a)):
            if lit is not None and is_int(other.type.dtype) and not getattr(other.type, "weak", False):
                info = np.iinfo(np_dtype(other.type.dtype))
                if not info.min <= lit <= info.max:
                    raise self.error(f"integer literal {lit} does not fit {other.type.dtype}", span,
                                     f"{other.type.dtype} holds {info.min}..{info.max}")
        return None

    def expr_UnaryOp(self, e: A.UnaryOp) -> Value:
        v = self.value_expr(e.operand)
        if e.op == "not":
            if isinstance(v.type, ArrayType):
                raise self.error("'not' needs a scalar", e.span, "use logical_not(...) on arrays")
            return self.emit("mc.not", [v], [ScalarType("bool")], e.span).result
        name, fn = UNARY_OPS[e.op]
        lit = self._weak_int(v)
        if e.op == "-" and lit is not None:  # `-9223372036854775808` is one literal
            if not -(2**63) <= -lit < 2**64:
                raise self.error("integer literal out of range", e.span, "M-CODE integers are 64-bit")
            return self.const(-lit, ScalarType("i64", weak=True), e.span)
        dtype = probe_dtype(fn, v.type)
        if dtype is None:
            raise self.error(f"unsupported operand dtype for unary '{e.op}': {v.type.dtype}", e.span,
                             "`~` needs integers or bools, `-` and `+` numbers; cast first, e.g. `i64(x)`")
        t = dtype if isinstance(dtype, ScalarType) else make_type(dtype, shape_of(v.type))
        out = self.emit(name, [v], [t], e.span).result
        if e.op == "-" and v in self.static:
            self.static[out] = -self.static[v]
        return out

    def _writes_inout(self, exprs: list[A.Expr]) -> bool:
        """Whether evaluating `exprs` may write a variable (a call with inout parameters)."""
        return bool(_assigned_names([A.ExprStmt(x.span, x) for x in exprs], self.gen.inout_callees))

    def expr_Compare(self, e: A.Compare) -> Value:
        if len(e.operands) > 2 and self._writes_inout(e.operands[2:]):
            return self._lazy_chain(e, 0, self.value_expr(e.operands[0]))
        vals = [self.value_expr(x) for x in e.operands]
        if len(vals) > 2:
            self._no_array_chain(e, vals)
        result = None
        for op, a, b in zip(e.ops, vals, vals[1:]):
            c = self.binary(op, a, b, e.span)
            result = c if result is None else self.emit("mc.and", [result, c], [ScalarType("bool")], e.span).result
        return result  # type: ignore[return-value]

    def _no_array_chain(self, e: A.Compare, vals: list[Value]) -> None:
        if any(isinstance(v.type, ArrayType) for v in vals):
            raise self.error("chained comparison of arrays", e.span, "combine with logical_and(a < b, b < c)")

    def _lazy_chain(self, e: A.Compare, k: int, left: Value) -> Value:
        """Comparisons k.. of a chain, as Python evaluates them: an operand only when the
        comparisons before it hold (here: later operands write inout arguments)."""
        right = self.value_expr(e.operands[k + 1])
        self._no_array_chain(e, [left, right])
        c = self.binary(e.ops[k], left, right, e.span)
        if k + 1 == len(e.ops):
            return c
        return self._lazy_if(c, (lambda: self._lazy_chain(e, k + 1, right),
                                 lambda: self.const(False, ScalarType("bool"), e.span)),
                             lambda vals: ScalarType("bool"), e.span)

    def expr_BoolOp(self, e: A.BoolOp) -> Value:
        # short-circuit: `i < n and A[i] > 0` must not evaluate A[i] when i >= n; the value
        # is an operand's, as in Python (`n or 10` is n unless n is 0), in their common dtype
        a = self.condition(e.left, e.op)
        branches = (lambda: self.condition(e.right, e.op), lambda: a)
        return self._lazy_if(a, branches if e.op == "and" else branches[::-1],
                             lambda vals: self._common_scalar(vals, e.span), e.span)

    def expr_IfExp(self, e: A.IfExp) -> Value:
        c = self.condition(e.cond)

        def branch(x: A.Expr) -> Callable[[], Value]:
            def build() -> Value:
                v = self.value_expr(x)
                if isinstance(v.type, ArrayType):
                    raise self.error("conditional expressions take scalars", x.span, "use where(c, a, b) for arrays")
                return v
            return build

        return self._lazy_if(c, (branch(e.then), branch(e.orelse)), lambda vals: self._common_scalar(vals, e.span),
                             e.span)

    def _common_scalar(self, vals: list[Value], span: Span) -> ScalarType:
        """The dtype of a value that is one of two scalars (NumPy 2 promotion, literals weak)."""
        dtype = probe_dtype(lambda a, b: np.result_type(a, b).type(0) if not (isinstance(a, (bool, int, float, complex)) and isinstance(b, (bool, int, float, complex))) else (a + b if type(a) is not type(b) else a), vals[0].type, vals[1].type)
        if dtype is None:
            raise self.error(f"branches have incompatible dtypes {vals[0].type} and {vals[1].type}", span,
                             "convert one branch so both have one dtype, e.g. `f64(a) if c else b`")
        return dtype if isinstance(dtype, ScalarType) else ScalarType(dtype)

    def _lazy_if(self, c: Value, branches: tuple[Callable[[], Value], Callable[[], Value]],
                 result_type: Callable[[list[Value]], ScalarType], span: Span) -> Value:
        """An mc.if whose two regions each evaluate one of `branches` (a scalar): only the
        chosen one runs, as Python's `and`, `or` and `x if c else y`. Variables a branch
        rebinds (arrays written by a call through an inout parameter) leave the mc.if
        as extra results, the other branch yielding their old values."""
        saved_region, before = self.region, self.env
        regions = [Region(), Region()]
        vals: list[Value] = []
        envs: list[dict[str, Binding]] = []
        try:
            for r, build in zip(regions, branches):
                self.region, self.env = r, dict(before)
                vals.append(build())
                envs.append(self.env)
        finally:
            self.region, self.env = saved_region, before
        t = result_type(vals)
        changed = [n for n, b in before.items() if any(env[n].value is not b.value for env in envs)]
        for n in changed:
            if any(env[n].value.type != before[n].value.type for env in envs):
                raise self.error(f"'{n}' changes type inside a conditional expression", span,
                                 "a variable keeps its dtype and rank; write the call in an `if` statement")
        for r, v, env in zip(regions, vals, envs):
            self.region = r
            r.append(Op("mc.yield", [self.convert(v, t, span, "the branch") if v.type != t else v,
                                     *[env[n].value for n in changed]], [], loc=span))
        self.region = saved_region
        op = self.emit("mc.if", [c], [t, *[before[n].value.type for n in changed]], span, regions=regions)
        for n, res in zip(changed, op.results[1:]):
            self.env[n] = Binding(res, before[n].kind)
        return op.results[0]

    def expr_Attr(self, e: A.Attr) -> Any:
        base = self.expr(e.base)
        if not isinstance(base, Value) or not isinstance(base.type, ArrayType):
            raise self.error(f"'.{e.name}' needs an array, not {self._describe(base) if not isinstance(base, Value) else base.type}", e.span,
                             "attributes (.T, .shape, .size, .ndim) apply to arrays only")
        t = base.type
        if e.name == "T":
            return self.emit("mc.transpose", [base], [ArrayType(t.dtype, t.shape[::-1])], e.span).result
        if e.name == "shape":
            return tuple(self._dim_of(base, ax, e.span) for ax in range(t.rank))
        if e.name == "size":
            v = self.emit("mc.size", [base], [ScalarType("i64")], e.span).result
            return v
        if e.name == "ndim":
            return self.const(t.rank, ScalarType("i64"), e.span)
        raise self.error(f"arrays have no attribute '{e.name}'", e.span, "available: .T, .shape, .size, .ndim")

    def _dim_of(self, base: Value, axis: int, span: Span) -> Value:
        v = self.emit("mc.dim", [base], [ScalarType("i64")], span, {"axis": axis}).result
        d = base.type.shape[axis]
        if d is not None:
            self.static[v] = d
        return v

    # ---- indexing --------------------------------------------------------------------
    def expr_Index(self, e: A.Index) -> Any:
        base = self.expr(e.base)
        if isinstance(base, tuple):  # A.shape[k]
            if len(e.items) != 1 or not isinstance(e.items[0], A.Num) and not (
                    isinstance(e.items[0], A.UnaryOp) and isinstance(e.items[0].operand, A.Num)):
                raise self.error("a shape tuple is indexed by an integer literal", e.span, "e.g. A.shape[0]")
            k = self.static_int(e.items[0])
            if k is None or not -len(base) <= k < len(base):
                raise self.error(f"index out of range for a shape of {len(base)} dims", e.items[0].span,
                                 f"valid indices are {-len(base)}..{len(base) - 1}" if base else
                                 "the array has rank 0: its shape is empty")
            return base[k]
        if not isinstance(base, Value):
            raise self.error(f"cannot index {self._describe(base)}", e.span, self._value_hint(base))
        if not isinstance(base.type, ArrayType):
            raise self.error(f"cannot index a scalar of type {base.type}", e.span,
                             "only arrays can be indexed; use the scalar itself")
        index, operands, sel = self.index_spec(base, e.items, e.span)
        return self.emit("mc.getitem", [base, *operands], [sel], e.span, {"index": index}).result

    def getitem(self, base: Value, index: list, operands: list[Value], shape: tuple[DimT, ...], span: Span) -> Value:
        return self.emit("mc.getitem", [base, *operands], [make_type(base.type.dtype, shape)], span,
                         {"index": tuple(index)}).result

    def static_int(self, e: A.Expr) -> int | None:
        if isinstance(e, A.Num) and isinstance(e.value, int):
            return e.value
        if isinstance(e, A.UnaryOp) and e.op == "-" and isinstance(e.operand, A.Num) and isinstance(e.operand.value, int):
            return -e.operand.value
        return None

    def index_spec(self, base: Value, items: list[A.Expr], span: Span) -> tuple[tuple, list[Value], ValueType]:
        """Type an index expression; returns (index template, dynamic operands, result type).

        Template items: ("int", ref) | ("slice", lo, hi, step) | ("newaxis",) |
        ("array", ref); a ref is a literal int or ("v", k) for operand k (0 is the base).
        """
        t: ArrayType = base.type  # type: ignore[assignment]
        operands: list[Value] = []
        index: list[tuple] = []

        def ref(v: Value) -> tuple:
            operands.append(v)
            return ("v", len(operands))

        out_shape: list[DimT] = []
        axis = 0
        array_shapes: list[tuple[DimT, ...]] = []
        array_pos: list[int] = []
        for it in items:
            if isinstance(it, A.Name) and it.id == "newaxis":
                index.append(("newaxis",))
                out_shape.append(Dim(1))
                continue
            if isinstance(it, A.Name) and it.id == "None":  # NumPy's x[:, None]
                raise self.error("'None' is not an index in M-CODE", it.span, "to add an axis write `newaxis`")
            if axis >= t.rank:
                raise self.error(f"too many indices for {t} (rank {t.rank})", it.span,
                                 f"index at most {t.rank} dims")
            d = t.shape[axis]
            if isinstance(it, A.Slice):
                parts: list[Any] = []
                statics: list[Any] = []
                dyn: list[bool] = []
                for bound in (it.lower, it.upper, it.step):
                    if bound is None:
                        parts.append(None)
                        statics.append(None)
                        dyn.append(False)
                        continue
                    k = self.static_int(bound)
                    if k is not None:
                        parts.append(k)
                        statics.append(k)
                        dyn.append(False)
                        continue
                    v = self.int_scalar(bound, "a slice bound")
                    parts.append(ref(v))
                    sd = self.static.get(v)
                    statics.append(sd)
                    dyn.append(sd is None)
                if statics[2] == 0:
                    raise self.error("slice step cannot be zero", it.step.span if it.step else it.span,
                                     "use a step of 1 or more, or a negative one to go backwards")
                step = statics[2] if isinstance(statics[2], int) else None
                if dyn[2] or isinstance(statics[2], Dim):
                    length: DimT = None
                else:
                    length = slice_len(d, statics[0], statics[1], step, dyn[0], dyn[1])
                index.append(("slice", *parts))
                out_shape.append(length)
                axis += 1
                continue
            if isinstance(it, A.TupleExpr):  # x[[0, 2]]: NumPy's index array from a list
                raise self.error("a tuple or list is not an index", it.span,
                                 "index with an integer array variable (`x[idx]`), or one index per axis (`x[i, j]`)")
            v = self.value_expr(it)
            if isinstance(v.type, ArrayType):
                if v.type.dtype == "bool":
                    mask_rank = v.type.rank
                    if axis + mask_rank > t.rank:
                        raise self.error(f"boolean mask of rank {mask_rank} is too deep for {t}", it.span,
                                         "a mask covers the leading dims of the array: its rank is at most the array's")
                    for md, bd in zip(v.type.shape, t.shape[axis:]):
                        if known_different(md, bd):
                            raise self.error(f"boolean mask {v.type} does not match {t}", it.span,
                                             "the mask's shape must equal the dims it indexes")
                    index.append(("array", ref(v)))
                    array_pos.append(len(out_shape))
                    array_shapes.append((None,))
                    axis += mask_rank
                    continue
                if not is_int(v.type.dtype):
                    raise self.error(f"arrays used as indices must be integer or bool, not {v.type.dtype}", it.span,
                                     "cast with i64(...)")
                index.append(("array", ref(v)))
                array_pos.append(len(out_shape))
                array_shapes.append(v.type.shape)
                axis += 1
                continue
            if not (is_int(v.type.dtype)):
                raise self.error(f"index must be an integer, not {v.type}", it.span,
                                 "cast with i64(...) or use a slice a:b")
            k = self.static_int(it)
            index.append(("int", k if k is not None else ref(v)))
            if d is not None and d.is_const and k is not None and not -d.const <= k < d.const:
                raise self.error(f"index {k} is out of bounds for axis {axis} with size {d.const}", it.span,
                                 f"valid indices are {-d.const}..{d.const - 1}")
            axis += 1
        rest = list(t.shape[axis:])
        if array_shapes:
            try:
                bshape = broadcast(*[ArrayType("i64", s) for s in array_shapes])
            except ShapeError as err:
                raise self.error("index arrays " + err.args[0], span, err.hint) from None
            adjacent = array_pos == list(range(array_pos[0], array_pos[0] + len(array_pos))) or len(array_pos) == 1
            if adjacent:
                pos = array_pos[0]
                out_shape = out_shape[:pos] + list(bshape) + out_shape[pos:]
            else:
                out_shape = list(bshape) + out_shape
        shape = tuple(out_shape + rest)
        return tuple(index), operands, make_type(t.dtype, shape)

    # ---- calls -------------------------------------------------------------------------
    def expr_Call(self, e: A.Call) -> Any:
        if not isinstance(e.func, A.Name):
            hint = "call a function by its name: `f(...)`"
            if isinstance(e.func, A.Attr):  # x.sum() or np.sum(x)
                base = e.func.base.id if isinstance(e.func.base, A.Name) else "x"
                module = base in ("np", "numpy", "math") or (  # `math.sqrt(x)`: not a variable
                    isinstance(e.func.base, A.Name) and base not in self.env and base not in self.dim_sources)
                hint = (f"M-CODE has no modules; call `{e.func.name}(...)`" if module else
                        f"M-CODE has no methods; call the function: `{e.func.name}({base}, ...)`")
            raise self.error("only named functions can be called", e.func.span, hint)
        name = e.func.id
        if name in self.env:
            raise self.error(f"'{name}' is a variable, not a function", e.func.span,
                             f"index it with `{name}[...]`, or rename the variable if it hides a function")
        if name in DTYPES:
            if len(e.args) != 1 or e.kwargs:
                raise self.error(f"the cast {name}(x) takes one argument", e.span,
                                 f"convert one value at a time: `{name}(x)`")
            return self.cast(self.value_expr(e.args[0]), name, e.span)
        if name in self.gen.signatures:
            return self.user_call(name, e)
        if name == "range":
            raise self.error("range(...) is only valid as a for-loop iterable", e.span,
                             "loop with `for i in range(n):`; for an array of 0..n-1 write arange(n)")
        b = BUILTINS.get(name)
        if b is None:
            close = self._suggest(name)
            raise self.error(f"unknown function '{name}'", e.func.span, _PYTHON_FUNCTIONS.get(name) or (
                f"did you mean '{close}'?" if close else "see the built-in list in the language contract"))
        args = self.bind_args(b, e)
        from .builtin_rules import RULES  # the typing rule of each builtin kind

        return RULES[b.kind](self, b, args, e)

    def cast(self, v: Value, dtype: str, span: Span) -> Value:
        if is_complex(v.type.dtype) and dtype == "bool":  # NumPy's: either part nonzero (NaN too)
            return self.binary("!=", v, self.const(0, ScalarType("i64", weak=True), span), span)
        if is_complex(v.type.dtype) and not is_complex(dtype):
            raise self.error(f"cannot cast complex {v.type} to {dtype}", span, "take real(...) or abs(...) first")
        t = ScalarType(dtype) if isinstance(v.type, ScalarType) else ArrayType(dtype, v.type.shape)
        lit = self._weak_int(v)
        if lit is not None and lit >= 2**63:
            # a literal past i64 (up to 2**64 - 1) is exactly a u64, as np.uint64(...) takes it,
            # or a float; any other integer dtype cannot hold it (NumPy raises OverflowError)
            if dtype == "u64" or not is_int(dtype):
                return self.const(np_dtype(dtype).type(lit).item(), t, span)
            raise self.error(f"integer literal {lit} does not fit {dtype}", span,
                             "only u64(...) takes a literal from 2**63 up to 2**64 - 1")
        out = self.emit("mc.cast", [v], [t], span, {"dtype": dtype}).result
        if v in self.static and is_int(dtype):
            self.static[out] = self.static[v]
        return out

    def bind_args(self, b: Builtin, e: A.Call) -> dict[str, tuple[A.Expr | None, Any]]:
        """Match call arguments to a builtin's parameters; value is (expr, default)."""
        if len(e.args) > len(b.params):
            raise self.error(f"{b.name}() takes at most {len(b.params)} arguments ({len(e.args)} given)", e.span,
                             f"signature: {_builtin_signature(b)}")
        bound: dict[str, tuple[A.Expr | None, Any]] = {}
        for p, a in zip(b.params, e.args):
            bound[p] = (a, None)
        for kw in e.kwargs:
            name = b.aliases.get(kw.name, kw.name)
            if name not in b.params:
                raise self.error(f"{b.name}() has no parameter '{kw.name}'", kw.span, f"signature: {_builtin_signature(b)}")
            if name in bound:
                raise self.error(f"{b.name}() got '{name}' twice", kw.span,
                                 f"pass '{name}' once, either by position or by keyword")
            bound[name] = (kw.value, None)
        for p in b.params:
            if p not in bound:
                d = b.defaults.get(p, REQUIRED)
                if d is REQUIRED:
                    raise self.error(f"{b.name}() is missing argument '{p}'", e.span, f"signature: {_builtin_signature(b)}")
                bound[p] = (None, d)
        return bound

    def _check_inout_arg(self, a: A.Expr, v: Value, param: str, callee: str) -> None:
        """An inout argument is a writable variable, or a view of one made by basic
        indexing (`A[i]`, `A[1:-1, j]`), which NumPy would pass by reference."""
        if isinstance(a, A.Index) and isinstance(_view_root(a), A.Name):
            self.basic_view(a, (f"inout argument '{param}' of {callee}() indexes with an array or a mask",
                                "that selection is a copy (NumPy's too): the callee's writes would be lost; "
                                "pass a slice or the whole variable"), v)
            return
        if not isinstance(a, A.Name):
            raise self.error(f"inout argument '{param}' of {callee}() must be a variable", a.span,
                             "pass a local array or an inout parameter by name, or a slice of one (`A[i]`)")
        self._mutable(a.id, a.span)

    def _no_overlapping_inouts(self, callee: str, params: list[str], args: list[A.Expr], vals: list[Value]) -> None:
        """Two inout arguments that surely share elements of one variable (`f(x, x)`,
        `f(x[1:], x[:-1])`): NumPy would alias them, while each inout argument is a value
        written back in turn, so the callee's writes through one would not be seen through
        the other. An error rather than a different answer; views that may be disjoint
        (`f(A[i], A[j])`) are passed as they are."""
        for i in range(len(args)):
            for j in range(i + 1, len(args)):
                root = _target_name(args[i])
                if root == _target_name(args[j]) and self._surely_overlap(vals[i], vals[j], root):
                    raise self.error(f"inout arguments '{params[i]}' and '{params[j]}' of {callee}() overlap "
                                     f"(both are '{root}' or views of it)", args[j].span,
                                     "NumPy would alias them; pass disjoint parts, or a copy for one of them")

    def _surely_overlap(self, a: Value, b: Value, root: str) -> bool:
        """Whether two views of the variable `root` (the variable itself, or one basic
        subscript of it) share elements, for sizes large enough."""
        whole = self.env[root].value
        items = []
        for v in (a, b):
            if v is whole:
                items.append(())
                continue
            op = v.owner
            if not (isinstance(op, Op) and op.name == "mc.getitem" and op.operands[0] is whole):
                return False  # deeper chains: not decided here
            items.append(op.attrs["index"])

        def static(ref: Any, op_operands: list[Value]) -> int | Dim | None:
            if isinstance(ref, int):
                return ref
            return self.static.get(op_operands[ref[1]])

        shape = whole.type.shape
        for axis in range(len(shape)):
            spans = []
            for v, idx in zip((a, b), items):
                if axis >= len(idx):
                    spans.append((Dim(0), shape[axis]))
                    continue
                ops = v.owner.operands if v.owner is not None else []
                span = axis_interval(shape[axis], idx[axis], lambda r, ops=ops: static(r, ops))
                if span is None or any(d is None for d in span) or any(it[0] == "newaxis" for it in idx):
                    return False
                spans.append(span)
            (lo1, hi1), (lo2, hi2) = spans
            if not (surely_positive(hi1 - lo2) and surely_positive(hi2 - lo1)
                    and surely_positive(hi1 - lo1) and surely_positive(hi2 - lo2)):
                return False
        return True

    def user_call(self, name: str, e: A.Call) -> Any:
        callee = self.gen.signatures[name]
        bound: dict[str, A.Expr] = {}
        if len(e.args) > len(callee.params):
            raise self.error(f"{name}() takes {len(callee.params)} arguments ({len(e.args)} given)", e.span,
                             f"signature: {callee.signature_text}")
        for p, a in zip(callee.params, e.args):
            bound[p.name] = a
        for kw in e.kwargs:
            if not any(p.name == kw.name for p in callee.params):
                raise self.error(f"{name}() has no parameter '{kw.name}'", kw.span, f"signature: {callee.signature_text}")
            if kw.name in bound:  # (by position and by keyword: Python's TypeError)
                raise self.error(f"{name}() got multiple values for argument '{kw.name}'", kw.span,
                                 f"pass '{kw.name}' once, either by position or by keyword; "
                                 f"signature: {callee.signature_text}")
            bound[kw.name] = kw.value
        operands: list[Value] = []
        subst: dict[str, Dim] = {}
        sized_by: dict[str, tuple[Value, int]] = {}  # callee dim symbol -> (first argument it sizes, axis)
        inout_args: list[A.Name | A.Index] = []
        inout_idx: list[int] = []
        for p in callee.params:
            if p.name not in bound:
                if not p.has_default:
                    raise self.error(f"{name}() is missing argument '{p.name}'", e.span, f"signature: {callee.signature_text}")
                operands.append(self.const(p.default, ScalarType(p.type.dtype), e.span))
                continue
            a = bound[p.name]
            v = self.value_expr(a)
            if p.inout:
                self._check_inout_arg(a, v, p.name, name)
                inout_args.append(a)  # type: ignore[arg-type]
                inout_idx.append(len(operands))
            if isinstance(p.type, ArrayType):
                if not isinstance(v.type, ArrayType) or v.type.rank != p.type.rank:
                    raise self.error(f"argument '{p.name}' of {name}() must be {p.type}, got {v.type}", a.span,
                                     f"{name}() declares `{p.name}: {p.type}`; pass an array of rank {p.type.rank}")
                if v.type.dtype != p.type.dtype:
                    raise self.error(f"argument '{p.name}' of {name}() must have dtype {p.type.dtype}, got {v.type.dtype}",
                                     a.span, f"convert with astype(x, {p.type.dtype})")
                for axis, (pd, ad) in enumerate(zip(p.type.shape, v.type.shape)):
                    if pd is not None and len(pd.terms) == 1 and pd.const == 0 and pd.terms[0][1] == 1:
                        sym = pd.terms[0][0]
                        if sym in subst and known_different(subst[sym], ad):
                            raise self.error(f"argument '{p.name}' of {name}(): dim {sym} is {dim_str(subst[sym])} elsewhere but {dim_str(ad)} here", a.span,
                                             f"every array that {name}() sizes by {sym} must have the same size there")
                        if sym in sized_by and (ad is None or subst.get(sym) != ad):
                            first, first_axis = sized_by[sym]
                            size = self.emit("mc.dim", [first], [ScalarType("i64")], a.span, {"axis": first_axis}).result
                            self.check_dim(v, axis, size, a.span,
                                           f"argument '{p.name}' of {name}(): dim {sym} is another size elsewhere")
                        sized_by.setdefault(sym, (v, axis))
                        if ad is not None:
                            subst.setdefault(sym, ad)
                    elif pd is not None and pd.is_const and known_different(pd, ad):
                        raise self.error(f"argument '{p.name}' of {name}() must be {p.type}, got {v.type}", a.span,
                                         f"{name}() declares `{p.name}: {p.type}`; pass an array of that shape")
                    elif pd is not None and pd.is_const and pd != ad:
                        self.check_dim(v, axis, self.const(pd.const, ScalarType("i64"), a.span), a.span,
                                       f"argument '{p.name}' of {name}() must be {p.type}")
            else:
                v = self.convert(v, p.type, a.span, f"argument '{p.name}'")
            operands.append(v)

        def sub(t: ValueType) -> ValueType:
            if isinstance(t, ScalarType):
                return t
            dims: list[DimT] = []
            for d in t.shape:
                if d is None:
                    dims.append(None)
                    continue
                acc: DimT = Dim(d.const)
                for s, c in d.terms:
                    if s not in subst or acc is None:
                        acc = None
                        break
                    for _ in range(abs(c)):
                        acc = acc + subst[s] if c > 0 else acc - subst[s]
                dims.append(acc)
            return ArrayType(t.dtype, tuple(dims))

        self._no_overlapping_inouts(name, [p.name for p in callee.params if p.inout and p.name in bound],
                                    inout_args, [operands[i] for i in inout_idx])
        result_types = [sub(t) for t in callee.result_types]
        inout_types = [operands[i].type for i in inout_idx]
        op = self.emit("mc.call", operands, result_types + inout_types, e.span,
                       {"callee": name, "n_results": len(result_types), "inout_args": inout_idx})
        for a, v in zip(inout_args, op.results[len(result_types):]):
            if isinstance(a, A.Name):
                self.env[a.id] = Binding(v, self.env[a.id].kind)
            else:  # a view of the variable: what the callee wrote goes back into it
                self.store(a, v, e.span)
        res = op.results[: len(result_types)]
        if not res:
            return None
        return tuple(res) if callee.result_is_tuple else res[0]


class ModuleBuilder:
    def __init__(self, module: A.Module, source: str, filename: str) -> None:
        self.ast = module
        self.sink = DiagnosticSink(source, filename)
        self.source, self.filename = source, filename
        self.signatures: dict[str, Function] = {}
        self.inout_callees: frozenset[str] = frozenset()

    def resolve_type(self, t: A.TypeExpr, dims_seen: dict[str, Span]) -> ValueType | None:
        if t.dtype not in DTYPES:
            import difflib
            close = difflib.get_close_matches(t.dtype, DTYPES, n=1)
            self.sink.error(f"unknown dtype '{t.dtype}'", t.span,
                            f"did you mean '{close[0]}'?" if close else f"dtypes: {' '.join(DTYPES)}")
            return None
        if t.dims is None:
            return ScalarType(t.dtype)
        dims: list[DimT] = []
        for d in t.dims:
            if d.value is None:
                dims.append(None)
            elif isinstance(d.value, int):
                if not 0 <= d.value < 2**63:  # not an array size NumPy can make (nor one to print)
                    self.sink.error("dimension literal out of range", d.span,
                                    "a size is at most 2**63 - 1; for a size known only at run time use a name such as N")
                dims.append(Dim(d.value))
            else:
                if d.value in DTYPES or d.value in BUILTINS:
                    self.sink.error(f"'{d.value}' cannot name a dimension", d.span,
                                    f"'{d.value}' is a built-in name; name the dimension N, M, ... or give an integer")
                dims_seen.setdefault(d.value, d.span)
                dims.append(Dim.sym(d.value))
        return ArrayType(t.dtype, tuple(dims))

    def signature(self, f: A.FnDef) -> Function | None:
        params: list[Param] = []
        values: list[Value] = []
        dims: dict[str, Span] = {}
        ok = True
        names: set[str] = set()
        for p in f.params:
            if p.name in names:
                self.sink.error(f"duplicate parameter '{p.name}'", p.span, "give each parameter its own name")
                ok = False
            names.add(p.name)
            t = self.resolve_type(p.type, dims)
            if t is None:
                ok = False
                continue
            if p.inout and not isinstance(t, ArrayType):
                self.sink.error(f"inout parameter '{p.name}' must be an array", p.span,
                                "scalars are passed by value; return the new value instead")
                ok = False
            default = None
            if p.default is not None:
                if isinstance(t, ArrayType):
                    self.sink.error("only scalar parameters may have defaults", p.default.span,
                                    "drop the default; callers pass the array")
                    ok = False
                val = _literal_value(p.default)
                if val is None:
                    self.sink.error("a default must be a literal or arithmetic on literals", p.default.span,
                                    "e.g. `poly: i64 = 0x8408` or `c: c128 = 1 + 2j`")
                    ok = False
                elif isinstance(t, ScalarType) and (bad := _default_mismatch(val, t.dtype)) is not None:
                    self.sink.error(f"parameter '{p.name}' has dtype {t.dtype} but its default {bad[0]}",
                                    p.default.span, bad[1])
                    ok = False
                default = val
            elif params and params[-1].has_default:
                self.sink.error(f"parameter '{p.name}' without a default follows one with a default", p.span,
                                "put the parameters with defaults last")
                ok = False
            params.append(Param(p.name, t, p.inout, default, p.default is not None))
            values.append(Value(t, p.name))
        for d, span in dims.items():
            if d in names:
                self.sink.error(f"'{d}' is both a parameter and a dimension", span,
                                f"rename one; the dimension's size is already available as `{d}`")
                ok = False
        results: list[ValueType] = []
        is_tuple = isinstance(f.result, A.TupleTypeExpr)
        if f.result is not None:
            items = f.result.items if isinstance(f.result, A.TupleTypeExpr) else [f.result]
            for it in items:
                n_before = len(self.sink.items)
                t = self.resolve_type(it, {})
                if t is None:
                    ok = False
                    continue
                if len(self.sink.items) > n_before:
                    ok = False  # a bad dim name is reported once, not again as "not a dimension"
                    continue
                for d in shape_of(t):
                    if d is not None and d.terms and d.terms[0][0] not in dims:
                        self.sink.error(f"result dim '{d}' is not a dimension of any parameter", it.span,
                                        "use `?` for a size known only at run time")
                        ok = False
                results.append(t)
        if not ok:
            return None
        text = f"fn {f.name}(" + ", ".join(
            ("inout " if p.inout else "") + f"{p.name}: {p.type}" + (f" = {_default_text(p.default)}" if p.has_default else "")
            for p in params) + ")" + (f" -> {'(' if is_tuple else ''}{', '.join(map(str, results))}{')' if is_tuple else ''}" if results else "")
        return Function(f.name, params, results, is_tuple, Region(values), f.span, text)

    def build(self) -> Module:
        for f in self.ast.functions:
            if f.name in self.signatures:
                first = self.signatures[f.name].loc.line
                self.sink.error(f"function '{f.name}' is defined twice", f.span,
                                f"rename one of them (the first is at line {first})")
                continue
            if f.name in BUILTINS or f.name in DTYPES:
                self.sink.error(f"'{f.name}' is a built-in name", f.span, "rename the function")
                continue
            sig = self.signature(f)
            if sig is not None:
                self.signatures[f.name] = sig
        self.inout_callees = frozenset(n for n, f in self.signatures.items() if any(p.inout for p in f.params))
        order = self._call_order()
        for f in order:
            sig = self.signatures.get(f.name)
            if sig is not None:
                FunctionBuilder(self, f, sig).build()
        self.sink.raise_if_any()
        fns = {f.name: self.signatures[f.name] for f in self.ast.functions if f.name in self.signatures}
        return Module(fns, self.source, self.filename)

    def _call_order(self) -> list[A.FnDef]:
        by_name = {f.name: f for f in self.ast.functions}
        calls = {f.name: {c.func.id for c in f.calls if isinstance(c.func, A.Name) and c.func.id in by_name}
                 for f in self.ast.functions}
        order: list[A.FnDef] = []
        state: dict[str, int] = {}

        def visit(n: str, stack: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                self.sink.error(f"recursive call cycle: {' -> '.join(stack + [n])}", by_name[n].span,
                                "M-CODE functions may not call themselves; write a loop")
                return
            state[n] = 1
            for m in sorted(calls[n]):
                visit(m, stack + [n])
            state[n] = 2
            order.append(by_name[n])

        for f in self.ast.functions:
            visit(f.name, [])
        return order


def _default_mismatch(val: Any, dtype: str) -> tuple[str, str] | None:
    """Why a literal cannot be the default of a scalar parameter of `dtype` (what the
    default is, a hint), as `let x: T = literal` would say; None when it can."""
    if isinstance(val, complex) and dtype[0] != "c":
        return "is a complex literal", "use a real literal, or declare the parameter complex"
    if isinstance(val, float) and is_int(dtype):
        return "is a f64 literal", "write an integer literal"
    if dtype == "bool" and not isinstance(val, bool):
        return f"{val!r} is not true or false", "write `true` or `false`"
    if isinstance(val, int) and not isinstance(val, bool) and is_int(dtype):
        info = np.iinfo(np_dtype(dtype))
        if not info.min <= val <= info.max:
            return f"{val} does not fit it", f"{dtype} holds {info.min}..{info.max}"
    if dtype[0] in "fc" and not isinstance(val, bool):
        with np.errstate(over="ignore"):
            held = np_dtype(dtype).type(val)
        if np.isfinite(val) and not np.isfinite(held):  # a finite literal that becomes inf
            return f"{val!r} overflows it", f"{dtype}'s largest magnitude is {float(np.finfo(np_dtype(dtype)).max):g}"
    return None


_DTYPE_ALIASES = {"float": "f64", "double": "f64", "int": "i64", "complex": "c128", "bool_": "bool"}
_DTYPE_LIKE = re.compile(r"(?:float|int|uint|complex|[fiuc])(8|16|32|64|128|256)")


def _shape_hint(what: str) -> str:
    """The hint for a value whose shape provably differs from the declared one."""
    if what == "the result":
        return "return an array of the declared shape, or declare `?` for a size known only at run time"
    if what.startswith("'"):  # an inout parameter: the caller's array
        return f"{what} keeps its shape; store into part of it instead (`{what[1:-1]}[:k] = ...`)"
    return "pass an array of the declared shape"


# Python functions that M-CODE writes another way
_PYTHON_FUNCTIONS = {
    "len": "the length of the first axis is `x.shape[0]` (all elements: `x.size`)",
    "print": "M-CODE has no output; return the value from an entry point",
    "float": "convert with a dtype: `f64(x)`",
    "int": "convert with a dtype: `i64(x)`",
    "array": "make arrays with zeros/ones/full/arange/linspace, or pass them in as parameters",
    "enumerate": "loop over the indices, `for i in range(x.shape[0]):`, and read `x[i]`",
    "zip": "loop over the indices, `for i in range(x.shape[0]):`, and read `x[i]` and `y[i]`",
    # NumPy functions with another M-CODE spelling
    "pow": "write `x ** y`", "power": "write `x ** y`", "square": "write `x * x`",
    "exp2": "write `2.0 ** x`", "absolute": "write `abs(x)`", "fabs": "write `abs(x)`",
    "amax": "write `max(a, ...)`", "amin": "write `min(a, ...)`",
    "fmax": "write `maximum(a, b)` (it propagates NaN)", "fmin": "write `minimum(a, b)` (it propagates NaN)",
    "mod": "write `x % y`", "remainder": "write `x % y`", "add": "write `x + y`", "subtract": "write `x - y`",
    "multiply": "write `x * y`", "divide": "write `x / y`", "true_divide": "write `x / y`",
    "floor_divide": "write `x // y`", "negative": "write `-x`",
    "ravel": "write `reshape(x, (-1,))`", "flatten": "write `reshape(x, (-1,))`",
    "norm": "write `sqrt(sum(x * x))`", "hypot": "write `sqrt(x * x + y * y)`",
    "cumsum": "not a built-in of M-CODE; accumulate in a loop", "cumprod": "not a built-in of M-CODE; accumulate in a loop",
    "sort": "not a built-in of M-CODE; sort in a loop", "argsort": "not a built-in of M-CODE; sort in a loop",
}
# NumPy's constants, which M-CODE writes as literals
_CONSTANTS = {"pi": "3.141592653589793", "inf": "1.0 / 0.0", "nan": "0.0 / 0.0"}


def _dtype_like_hint(name: str) -> str:
    """A hint for an undefined name that looks like a dtype (Python's `float`, NumPy's
    `float32`, a width M-CODE lacks such as `f128`), else ""."""
    listing = f"dtypes: {' '.join(DTYPES)}"
    if name in _DTYPE_ALIASES:
        return f"M-CODE spells this dtype `{_DTYPE_ALIASES[name]}`; {listing}"
    m = _DTYPE_LIKE.fullmatch(name)
    if m is None:
        return ""
    kind = name[:-len(m.group(1))]
    short = {"float": "f", "int": "i", "uint": "u", "complex": "c"}.get(kind, kind) + m.group(1)
    if short in DTYPES and short != name:
        return f"M-CODE spells this dtype `{short}`; {listing}"
    return f"not a dtype of M-CODE; {listing}"


def _builtin_signature(b: Builtin) -> str:
    """A builtin's parameters as M-CODE writes a call: `sum(a, axis (optional), keepdims=false)`
    (a default of None is no value a user can write: the argument is just optional)."""
    parts = []
    for p in b.params:
        d = b.defaults.get(p, REQUIRED)
        parts.append(p if d is REQUIRED else f"{p} (optional)" if d is None else
                     f"{p}={d}" if isinstance(d, str) else f"{p}={_default_text(d)}")
    return f"{b.name}({', '.join(parts)})"


def _default_text(value: Any) -> str:
    """A default as M-CODE writes it (`false`, `1 + 2j`), for signatures."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, complex):
        return f"{value.real!r} {'-' if value.imag < 0 else '+'} {abs(value.imag)!r}j" if value.real else f"{value.imag!r}j"
    return repr(value)


_DEFAULT_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "&": operator.and_, "|": operator.or_, "^": operator.xor,
    "<<": operator.lshift, ">>": operator.rshift,
}


def _literal_value(e: A.Expr) -> Any:
    """The value of a parameter's default: a literal, or arithmetic on literals as Python
    computes it (`1 + 2j`, `1.0 / 3.0`, `-0x10`); None for anything else."""
    if isinstance(e, (A.Num, A.BoolLit)):
        return e.value
    if isinstance(e, A.UnaryOp) and e.op in ("-", "+", "~"):
        v = _literal_value(e.operand)
        if v is None or isinstance(v, bool) or (e.op == "~" and not isinstance(v, int)):
            return None
        return -v if e.op == "-" else +v if e.op == "+" else ~v
    if isinstance(e, A.BinOp) and e.op in _DEFAULT_OPS:
        a, b = _literal_value(e.left), _literal_value(e.right)
        if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
            return None
        ints = isinstance(a, int) and isinstance(b, int)
        if ints and ((e.op == "**" and (b < 0 or (abs(a) >= 2 and b > 64))) or (e.op == "<<" and b > 64)):
            return None  # not an i64 (NumPy raises for a negative integer power; beyond 64 bits)
        try:
            return _DEFAULT_OPS[e.op](a, b)
        except (ArithmeticError, TypeError, ValueError):
            return None
    return None


def build_module(module: A.Module, source: str, filename: str) -> Module:
    return ModuleBuilder(module, source, filename).build()


__all__ = ["build_module", "BINARY_OPS"]
