"""Typing rules for built-in calls, one per kind in the builtins table. Each rule checks
its arguments and emits one IR op named `mc.<builtin>`; static arguments (axes, dtypes,
keepdims, k) become attributes, dynamic ones operands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ast as A
from .builtins import BUILTINS, Builtin
from .ir import Value
from .typerules import (
    ShapeError,
    broadcast,
    make_type,
    normalize_axes,
    reduce_shape,
    shape_of,
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

if TYPE_CHECKING:
    from .irgen import FunctionBuilder

Args = dict[str, tuple[A.Expr | None, Any]]


def _value(fb: FunctionBuilder, args: Args, name: str) -> Value:
    expr, default = args[name]
    if expr is None:
        t = ScalarType("f64" if isinstance(default, float) else "i64", weak=True)
        return fb.const(default, t, fb.fndef.span)
    return fb.value_expr(expr)


def _array(fb: FunctionBuilder, args: Args, name: str, b: Builtin) -> Value:
    v = _value(fb, args, name)
    if not isinstance(v.type, ArrayType):
        raise fb.error(f"{b.name}() needs an array for '{name}', got {v.type}", args[name][0].span,  # type: ignore[union-attr]
                       "pass an array here, not a scalar")
    return v


def _static(fb: FunctionBuilder, args: Args, name: str, b: Builtin, kind: str) -> Any:
    """A compile-time argument: an int, a tuple of ints, a bool or a dtype."""
    expr, default = args[name]
    if expr is None:
        return default
    if kind == "dtype":
        v = fb.expr(expr)
        if not isinstance(v, DTypeRef):
            raise fb.error(f"{b.name}(): '{name}' must be a dtype such as f64", expr.span,
                           f"write a dtype name, e.g. `{name}=f64`; dtypes: {' '.join(DTYPES)}")
        return v.dtype
    if kind == "bool":
        if isinstance(expr, A.BoolLit):
            return expr.value
        raise fb.error(f"{b.name}(): '{name}' must be true or false", expr.span,
                       f"write the literal `{name}=true` or `{name}=false`")
    items = expr.items if isinstance(expr, A.TupleExpr) and kind == "axes" else [expr]
    vals = [fb.static_int(i) for i in items]
    if any(v is None for v in vals):
        if b.kind == "reduce" and name == "axis" and b.name in ("max", "min"):
            hint = f"use {b.name}imum(a, b) for an elementwise {b.name}imum of two arrays"
        elif b.kind == "reduce" and name == "axis":
            hint = "the axis is fixed at compile time: write it as a number, e.g. axis=0"
        else:
            hint = f"it is needed at compile time: write the number itself, e.g. `{name}=1`"
        raise fb.error(f"{b.name}(): '{name}' must be an integer literal" + (" or a tuple of them" if kind == "axes" else ""),
                       expr.span, hint)
    return tuple(vals) if isinstance(expr, A.TupleExpr) else vals[0]


def _shape(fb: FunctionBuilder, args: Args, name: str, b: Builtin) -> tuple[list[Value], tuple[DimT, ...]]:
    expr, _ = args[name]
    v = fb.expr(expr)  # type: ignore[arg-type]
    items = list(v) if isinstance(v, tuple) else [v]
    for it in items:
        if not isinstance(it, Value) or isinstance(it.type, ArrayType) or it.type.dtype[0] not in "iu":
            raise fb.error(f"{b.name}(): shape must be an integer or a tuple of integers", expr.span,  # type: ignore[union-attr]
                           "e.g. zeros((N, M), dtype=f64)")
    return items, tuple(fb.static.get(it) for it in items)


def _no_negative_size(fb: FunctionBuilder, args: Args, name: str, b: Builtin, shape: tuple[DimT, ...]) -> None:
    """A constant negative size fails in NumPy at run time ("negative dimensions are
    not allowed"): report it here, at the offending item."""
    expr = args[name][0]
    for k, d in enumerate(shape):
        if d is not None and d.is_const and d.const < 0:
            span = expr.items[k].span if isinstance(expr, A.TupleExpr) else expr.span  # type: ignore[union-attr]
            raise fb.error(f"{b.name}(): size {d.const} is negative", span,
                           "array sizes must be 0 or more, e.g. zeros((N,), dtype=f64)")


def _emit(fb: FunctionBuilder, b: Builtin, operands: list[Value], t: ValueType, e: A.Call,
          **attrs: Any) -> Value:
    return fb.emit("mc." + b.name, operands, [t], e.span, {k: v for k, v in attrs.items()}).result


def _dtype_of(fb: FunctionBuilder, b: Builtin, e: A.Call, fn: Callable[..., Any], *types: ValueType) -> str:
    d = probe_dtype(fn, *types)
    if d is None:
        raise fb.error(f"{b.name}() does not accept {', '.join(str(t) for t in types)}", e.span,
                       "convert the arguments to a dtype NumPy's function takes, e.g. `f64(x)`")
    return d.dtype if isinstance(d, ScalarType) else d


# NumPy computes float functions of bool, i8 and u8 (exp, sqrt, sin, arctan2, ...) in
# float16, which M-CODE has no type for: such operands become f32 first (exactly), the
# narrowest M-CODE float, so the result is f32 instead of a crash on the float16 probe.
_HALF_INPUTS = frozenset({"bool", "i8", "u8"})


def _probe_half_free(fb: FunctionBuilder, fn: Callable[..., Any], operands: list[Value],
                     span: Any) -> tuple[list[Value], str | ScalarType | None]:
    try:
        return operands, probe_dtype(fn, *(v.type for v in operands))
    except KeyError:  # NumPy answered float16
        widened = [fb.cast(v, "f32", span) if v.type.dtype in _HALF_INPUTS else v for v in operands]
        return widened, probe_dtype(fn, *(v.type for v in widened))


def unary(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    x = _value(fb, args, "x")
    (x,), d = _probe_half_free(fb, b.numpy, [x], e.span)
    if d is None:
        raise fb.error(f"{b.name}() does not accept {x.type}", e.span,
                       "convert the argument to a dtype NumPy's function takes, e.g. `f64(x)`")
    t = d if isinstance(d, ScalarType) and not isinstance(x.type, ArrayType) else make_type(
        d.dtype if isinstance(d, ScalarType) else d, shape_of(x.type))
    if isinstance(t, ScalarType) and t.weak:
        t = ScalarType(t.dtype)
    return _emit(fb, b, [x], t, e)


def round_(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    """round(x, decimals) as NumPy computes it: rint(x * 10**d) / 10**d for d > 0 and
    rint(x / 10**-d) * 10**-d for d < 0, with 10**d a Python float (so f32 stays f32);
    integers are returned as they are for d >= 0 and go through f64 for d < 0."""
    decimals = _static(fb, args, "decimals", b, "int")
    x = _value(fb, args, "x")
    if decimals == 0:
        return unary(fb, b, args, e)
    if x.type.dtype == "bool":
        raise fb.error("round() of bool with decimals: NumPy cannot cast the result back to bool", e.span,
                       "convert first: `round(f64(x), ...)`")
    integer = x.type.dtype[0] in "iu"
    if integer and decimals > 0:
        return x
    scale = fb.const(10.0 ** abs(decimals), ScalarType("f64", weak=True), e.span)
    first, then = ("*", "/") if decimals > 0 else ("/", "*")
    y = fb.binary(first, x, scale, e.span)
    y = fb.emit("mc.round", [y], [y.type], e.span).result
    y = fb.binary(then, y, scale, e.span)
    return fb.cast(y, x.type.dtype, e.span) if integer else y


def _broadcast(fb: FunctionBuilder, e: A.Call, *types: ValueType) -> tuple[DimT, ...]:
    try:
        return broadcast(*types)
    except ShapeError as err:
        raise fb.error(err.args[0], e.span, err.hint) from None


def binary(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    x, y = _value(fb, args, "x1"), _value(fb, args, "x2")
    if b.name in ("maximum", "minimum"):
        # `maximum(x, 200)` for an i8 x: NumPy 2 raises OverflowError for every x (the
        # literal is cast to i8 first), as for `x + 200`; the probe's in-range stand-in
        # for the literal cannot tell, and the back ends wrapped it to -56
        for lit, other in ((fb._weak_int(x), y), (fb._weak_int(y), x)):
            if lit is not None and is_int(other.type.dtype) and not getattr(other.type, "weak", False):
                info = np.iinfo(np_dtype(other.type.dtype))
                if not info.min <= lit <= info.max:
                    raise fb.error(f"integer literal {lit} does not fit {other.type.dtype}", e.span,
                                   f"{other.type.dtype} holds {info.min}..{info.max}")
    (x, y), _ = _probe_half_free(fb, b.numpy, [x, y], e.span)
    d = _dtype_of(fb, b, e, b.numpy, x.type, y.type)
    return _emit(fb, b, [x, y], make_type(d, _broadcast(fb, e, x.type, y.type)), e)


def where(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    c, x, y = (_value(fb, args, n) for n in ("condition", "x", "y"))
    d = _dtype_of(fb, b, e, lambda c_, x_, y_: np.where(True, x_, y_), c.type, x.type, y.type)
    return _emit(fb, b, [c, x, y], make_type(d, _broadcast(fb, e, c.type, x.type, y.type)), e)


def clip(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a, lo, hi = (_value(fb, args, n) for n in ("a", "a_min", "a_max"))
    if is_int(a.type.dtype) and not getattr(a.type, "weak", False):
        # NumPy 2's clip takes an integer literal beyond a's dtype on its own side as no
        # bound (`clip(u8, -5, 300)` leaves u8 values as they are) and raises OverflowError
        # for one beyond the other side; the back ends cast it to a's dtype (300 -> 44)
        info = np.iinfo(np_dtype(a.type.dtype))
        lo_lit, hi_lit = fb._weak_int(lo), fb._weak_int(hi)
        if (lo_lit is not None and lo_lit > info.max) or (hi_lit is not None and hi_lit < info.min):
            lit = lo_lit if lo_lit is not None and lo_lit > info.max else hi_lit
            raise fb.error(f"integer literal {lit} does not fit {a.type.dtype}", e.span,
                           f"{a.type.dtype} holds {info.min}..{info.max}")
        if lo_lit is not None and lo_lit < info.min:
            lo = fb.const(int(info.min), ScalarType("i64", weak=True), e.span)
        if hi_lit is not None and hi_lit > info.max:
            hi = fb.const(int(info.max), ScalarType("i64", weak=True), e.span)
    d = _dtype_of(fb, b, e, np.clip, a.type, lo.type, hi.type)
    return _emit(fb, b, [a, lo, hi], make_type(d, _broadcast(fb, e, a.type, lo.type, hi.type)), e)


def reduce(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _value(fb, args, "a")
    axis = _static(fb, args, "axis", b, "axes")
    keepdims = _static(fb, args, "keepdims", b, "bool")
    if b.name in ("argmax", "argmin") and isinstance(axis, tuple):
        raise fb.error(f"{b.name}() takes a single axis", e.span, "write one axis, e.g. `axis=0`")
    try:
        axes = normalize_axes(axis, a.type.rank) if isinstance(a.type, ArrayType) else None
    except ShapeError as err:
        raise fb.error(err.args[0], args["axis"][0].span if args["axis"][0] else e.span, err.hint) from None
    if axis is not None and not isinstance(a.type, ArrayType):
        raise fb.error(f"{b.name}() of a scalar has no axis", e.span, f"drop the axis: `{b.name}(x)`")
    d = _dtype_of(fb, b, e, b.numpy, a.type)
    shape = reduce_shape(shape_of(a.type), axes, keepdims)
    ddof = args.get("ddof", (None, 0))[0]
    if ddof is not None and fb.static_int(ddof) != 0:
        k = fb.int_scalar(ddof, "ddof")
        k = k if k.type.dtype == "i64" else fb.cast(k, "i64", ddof.span)  # (n - k stays an i64)
        return _with_ddof(fb, b, a, axes, keepdims, k, make_type(d, shape), e)
    return _emit(fb, b, [a], make_type(d, shape), e, axis=list(axes) if axes is not None else None,
                 keepdims=keepdims)


def _with_ddof(fb: FunctionBuilder, b: Builtin, a: Value, axes: tuple[int, ...] | None, keepdims: bool,
               ddof: Value, t: ValueType, e: A.Call) -> Value:
    """std/var with NumPy's divisor max(n - ddof, 0) for the n reduced items, from the
    variance that divides by n: var * n / max(n - ddof, 0) (sqrt of it for std)."""
    span = e.span
    if axes is None:
        n = fb.emit("mc.size", [a], [ScalarType("i64")], span).result
    else:
        n = fb.const(1, ScalarType("i64"), span)
        for ax in axes:
            n = fb.binary("*", n, fb.emit("mc.dim", [a], [ScalarType("i64")], span, {"axis": ax}).result, span)
    zero = fb.const(0, ScalarType("i64"), span)
    den = fb.emit("mc.maximum", [fb.binary("-", n, ddof, span), zero], [ScalarType("i64")], span).result
    var = fb.emit("mc.var", [a], [t], span, {"axis": list(axes) if axes is not None else None,
                                              "keepdims": keepdims}).result
    scaled = fb.binary("/", fb.binary("*", var, fb.cast(n, t.dtype, span), span), fb.cast(den, t.dtype, span), span)
    return fb.emit("mc.sqrt", [scaled], [t], span).result if b.name == "std" else scaled


def check_int_literal(fb: FunctionBuilder, v: Value, dtype: str, span: Any) -> None:
    """An integer literal put into an integer array (a fill value, a stored element):
    NumPy 2 raises OverflowError for one the dtype cannot hold (`full(n, 300, dtype=u8)`,
    `y[0] = 300`) where the back ends wrapped it; a compile error, as for `x + 300`."""
    lit = fb._weak_int(v)
    if lit is not None and is_int(dtype):
        info = np.iinfo(np_dtype(dtype))
        if not info.min <= lit <= info.max:
            raise fb.error(f"integer literal {lit} does not fit {dtype}", span,
                           f"{dtype} holds {info.min}..{info.max}")


def make(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    dims, shape = _shape(fb, args, "shape", b)
    _no_negative_size(fb, args, "shape", b, shape)
    dtype = _static(fb, args, "dtype", b, "dtype")
    operands = list(dims)
    if b.name == "full":
        fill = _value(fb, args, "fill_value")
        if isinstance(fill.type, ArrayType):
            raise fb.error("full(): fill_value must be a scalar", e.span, "to copy an array use copy(a), or full_like for its shape")
        dtype = dtype or (fill.type.dtype if not fill.type.weak else probe_dtype(lambda v: np.full(1, v), fill.type))
        dtype = dtype.dtype if isinstance(dtype, ScalarType) else dtype
        check_int_literal(fb, fill, dtype, e.span)
        operands.append(fill)
    return _emit(fb, b, operands, ArrayType(dtype, shape), e, dtype=dtype, ndim=len(dims))


def make_like(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _array(fb, args, "a", b)
    dtype = _static(fb, args, "dtype", b, "dtype") or a.type.dtype
    operands = [a]
    if b.name == "full_like":
        fill = _value(fb, args, "fill_value")
        check_int_literal(fb, fill, dtype, e.span)
        operands.append(fill)
    return _emit(fb, b, operands, ArrayType(dtype, a.type.shape), e, dtype=dtype)


def eye(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    n = fb.int_scalar(args["N"][0], "eye's N")  # type: ignore[arg-type]
    operands = [n]
    m_dim = fb.static.get(n)
    if args["M"][0] is not None:
        m = fb.int_scalar(args["M"][0], "eye's M")
        operands.append(m)
        m_dim = fb.static.get(m)
    k = _diagonal(fb, b, args, operands)
    dtype = _static(fb, args, "dtype", b, "dtype")
    return _emit(fb, b, operands, ArrayType(dtype, (fb.static.get(n), m_dim)), e, k=k, dtype=dtype,
                 has_m=args["M"][0] is not None)


def _diagonal(fb: FunctionBuilder, b: Builtin, args: Args, operands: list[Value]) -> int | None:
    """The diagonal offset `k` of eye/triu/tril/diag: its value when it is a literal,
    else None and the run-time value appended to `operands` (as NumPy, any integer)."""
    expr, default = args["k"]
    if expr is None:
        return default
    k = fb.static_int(expr)
    if k is None:
        operands.append(fb.int_scalar(expr, f"{b.name}'s k"))
    return k


def arange(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    parts = [n for n in ("start", "stop", "step") if args[n][0] is not None]
    vals = [_value(fb, args, n) for n in parts]
    for v, n in zip(vals, parts):
        if isinstance(v.type, ArrayType):
            raise fb.error(f"arange(): '{n}' must be a scalar", e.span, "pass numbers: arange(start, stop, step)")
    dtype = _static(fb, args, "dtype", b, "dtype") or _dtype_of(fb, b, e, lambda *xs: np.arange(*xs), *(v.type for v in vals))
    length: DimT = None
    statics = [fb.static.get(v) for v in vals]
    if len(vals) == 1 and statics[0] is not None:
        length = statics[0]
    elif len(vals) == 2 and None not in statics:
        length = statics[1] - statics[0]  # type: ignore[operator]
    if length is not None and length.is_const and length.const < 0:
        length = Dim(0)  # arange(5, 2) is empty, as NumPy's
    return _emit(fb, b, vals, ArrayType(dtype, (length,)), e, dtype=dtype, nargs=len(vals))


def linspace(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    start, stop = _value(fb, args, "start"), _value(fb, args, "stop")
    num_expr, num_default = args["num"]
    num = fb.int_scalar(num_expr, "linspace's num") if num_expr is not None else fb.const(num_default, ScalarType("i64"), e.span)
    endpoint = _static(fb, args, "endpoint", b, "bool")
    # NumPy's default is result_type(start, stop, float): f32 ends give f32, complex complex
    dtype = _static(fb, args, "dtype", b, "dtype") or _dtype_of(
        fb, b, e, lambda s, t: np.linspace(s, t, 3), start.type, stop.type)
    return _emit(fb, b, [start, stop, num], ArrayType(dtype, (fb.static.get(num),)), e, endpoint=endpoint, dtype=dtype)


def random(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    dims, shape = _shape(fb, args, "shape", b)
    _no_negative_size(fb, args, "shape", b, shape)
    seed = fb.int_scalar(args["seed"][0], "seed") if args["seed"][0] is not None else fb.const(0, ScalarType("i64"), e.span)
    return _emit(fb, b, [*dims, seed], ArrayType("f64", shape), e, ndim=len(dims))


def matmul(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    first, second = b.params[:2]  # (NumPy names them a, b for dot and x1, x2 for matmul)
    x, y = _value(fb, args, first), _value(fb, args, second)
    if b.name == "dot" and (not isinstance(x.type, ArrayType) or not isinstance(y.type, ArrayType)):
        return fb.binary("*", x, y, e.span)
    # dot(a, b) with b of rank 1 or 2 is matmul's product (over a's last axis, each batch of
    # a against the one b); with b of rank 3 or more it pairs every batch of a with every
    # batch of b, which matmul does not
    if b.name == "dot" and y.type.rank > 2:
        raise fb.error("dot() with a second argument of rank above 2 is not supported", e.span,
                       "use matmul (or @), which pairs batches by broadcasting")
    return fb.binary("@", x, y, e.span)


def outer(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    x, y = _value(fb, args, "a"), _value(fb, args, "b")
    d = _dtype_of(fb, b, e, np.outer, x.type, y.type)

    def flat(t: ValueType) -> DimT:
        s = shape_of(t)
        if not s:
            return Dim(1)
        return s[0] if len(s) == 1 else None

    return _emit(fb, b, [x, y], ArrayType(d, (flat(x.type), flat(y.type))), e)


def transpose(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _array(fb, args, "a", b)
    axes = _static(fb, args, "axes", b, "axes")
    if axes is None:
        return fb.emit("mc.transpose", [a], [ArrayType(a.type.dtype, a.type.shape[::-1])], e.span).result
    axes = axes if isinstance(axes, tuple) else (axes,)
    if sorted(a_ % a.type.rank for a_ in axes) != list(range(a.type.rank)):
        raise fb.error(f"transpose(): axes {axes} are not a permutation of {a.type.rank} dims", e.span,
                       f"name every axis 0..{a.type.rank - 1} once, e.g. axes={tuple(reversed(range(a.type.rank)))}")
    axes = tuple(x % a.type.rank for x in axes)
    return fb.emit("mc.transpose", [a], [ArrayType(a.type.dtype, tuple(a.type.shape[i] for i in axes))], e.span,
                   {"axes": list(axes)}).result


def reshape(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _array(fb, args, "a", b)
    dims, shape = _shape(fb, args, "shape", b)
    if sum(d is not None and d.is_const and d.const == -1 for d in shape) > 1:
        raise fb.error("reshape(): only one dimension can be -1", args["shape"][0].span,  # type: ignore[union-attr]
                       "give every other dimension's size")
    if any(d is not None and d.is_const and d.const < -1 for d in shape):
        raise fb.error("reshape(): a dimension cannot be negative (only -1, for 'the rest')",
                       args["shape"][0].span, "write sizes of 0 or more, and at most one -1")  # type: ignore[union-attr]
    _check_reshape_size(fb, a.type, shape, args["shape"][0])  # type: ignore[arg-type]
    shape = tuple(None if d is not None and d.is_const and d.const == -1 else d for d in shape)
    return _emit(fb, b, [a, *dims], ArrayType(a.type.dtype, shape), e)


def _known_size(shape: tuple[DimT, ...]) -> int | None:
    """The product of dims that are all literal sizes, else None."""
    if not all(d is not None and d.is_const for d in shape):
        return None
    return int(np.prod([d.const for d in shape], dtype=object))  # type: ignore[union-attr]


def _check_reshape_size(fb: FunctionBuilder, a: ArrayType, shape: tuple[DimT, ...], expr: A.Expr) -> None:
    """NumPy's "cannot reshape array of size 6 into shape (4,2)", when both sizes are
    literal: a compile error at the shape (symbolic or `?` sizes are checked at run time)."""
    size = _known_size(a.shape)
    rest = _known_size(tuple(d for d in shape if not (d is not None and d.is_const and d.const == -1)))
    if size is None or rest is None:
        return
    free = any(d is not None and d.is_const and d.const == -1 for d in shape)
    if (rest != 0 and size % rest == 0) if free else size == rest:
        return
    text = "(" + ", ".join(dim_str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    need = (f"the new shape holds {rest} elements" if not free else
            "a -1 beside a size of 0 leaves the size unknown" if rest == 0 else
            f"the sizes other than -1 multiply to {rest}, which does not divide {size}")
    raise fb.error(f"reshape(): cannot reshape an array of size {size} into shape {text}", expr.span,
                   f"{need}; give sizes that multiply to {size}, e.g. ({size},)")


def flip(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _array(fb, args, "m", b)
    axis = _static(fb, args, "axis", b, "axes")
    try:
        axes = normalize_axes(axis, a.type.rank)
    except ShapeError as err:
        raise fb.error(err.args[0], e.span, err.hint) from None
    return _emit(fb, b, [a], a.type, e, axis=list(axes) if axes is not None else None)


def tri(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _array(fb, args, "m", b)
    if a.type.rank < 2:
        raise fb.error(f"{b.name}() needs an array of rank 2 or more, got {a.type}", e.span,
                       "pass a matrix, e.g. a parameter declared `a: f64[N, M]`")
    operands = [a]
    return _emit(fb, b, operands, a.type, e, k=_diagonal(fb, b, args, operands))


def _sequence(fb: FunctionBuilder, args: Args, name: str, b: Builtin, e: A.Call) -> list[Value]:
    expr, _ = args[name]
    if not isinstance(expr, A.TupleExpr):
        raise fb.error(f"{b.name}() takes a tuple of arrays", expr.span if expr else e.span,  # type: ignore[union-attr]
                       f"e.g. {b.name}((a, b))")
    vals = [fb.value_expr(x) for x in expr.items]
    for v, x in zip(vals, expr.items):
        if not isinstance(v.type, ArrayType):
            raise fb.error(f"{b.name}() needs arrays, got {v.type}", x.span,
                           "pass arrays here, not scalars")
    return vals


def _check_joined_shapes(fb: FunctionBuilder, b: Builtin, vals: list[Value], items: list[A.Expr],
                         axis: int | None) -> None:
    """Arrays joined by concatenate/hstack/vstack (along `axis`) or stacked (axis None:
    every dim) must agree on every other dim: literal sizes that differ are a compile
    error at the array that differs, as NumPy's run-time one; symbolic sizes stay a
    run-time check."""
    for k, (v, x) in enumerate(zip(vals, items)):
        for first in vals[:k]:
            for ax, (d0, d) in enumerate(zip(first.type.shape, v.type.shape)):
                if ax != axis and known_different(d0, d):
                    where = "in shape" if axis is None else f"on axis {ax}"
                    need = (f"{b.name}() needs arrays of one shape"
                            + ("; to join along an existing axis use concatenate" if b.name == "stack" else "")
                            if axis is None else
                            f"arrays joined along axis {axis} must have equal sizes on every other axis")
                    raise fb.error(f"{b.name}(): {v.type} does not match {first.type} {where} "
                                   f"({dim_str(d)} vs {dim_str(d0)})", x.span, need)


def concat(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    name = "arrays" if "arrays" in args else "tup"
    vals = _sequence(fb, args, name, b, e)
    items = args[name][0].items  # type: ignore[union-attr]
    ranks = {v.type.rank for v in vals}
    if b.name == "vstack" and ranks == {1, 2}:  # NumPy's atleast_2d: a vector joins as a row
        vals = [fb.getitem(v, [("newaxis",), ("slice", None, None, None)], [], (Dim(1), v.type.shape[0]), x.span)
                if v.type.rank == 1 else v for v, x in zip(vals, items)]
        ranks = {2}
    if len(ranks) != 1:
        raise fb.error(f"{b.name}() needs arrays of equal rank", e.span, "index or reshape the arrays to one rank first")
    rank = ranks.pop()
    if b.name == "hstack":
        axis = 0 if rank == 1 else 1
    elif b.name == "vstack":
        if rank == 1:
            _check_joined_shapes(fb, b, vals, items, None)
            shape = (Dim(len(vals)), vals[0].type.shape[0])
            d = _dtype_of(fb, b, e, lambda *xs: np.vstack(xs), *(v.type for v in vals))
            return _emit(fb, b, vals, ArrayType(d, shape), e)
        axis = 0
    else:
        axis = _static(fb, args, "axis", b, "int")
        if not -rank <= axis < rank:
            raise fb.error(f"axis {axis} out of range for rank {rank}", e.span, f"use an axis in [{-rank}, {rank - 1}]")
        axis %= rank
    _check_joined_shapes(fb, b, vals, items, axis)
    total: DimT = Dim(0)
    for v in vals:
        d_ = v.type.shape[axis]
        total = None if d_ is None or total is None else total + d_
    shape = list(vals[0].type.shape)
    shape[axis] = total
    d = _dtype_of(fb, b, e, lambda *xs: np.concatenate(xs), *(v.type for v in vals))
    return fb.emit("mc.concatenate", vals, [ArrayType(d, tuple(shape))], e.span, {"axis": axis}).result


def stack(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    vals = _sequence(fb, args, "arrays", b, e)
    axis = _static(fb, args, "axis", b, "int")
    if len({v.type.rank for v in vals}) != 1:
        raise fb.error("stack() needs arrays of one shape, got ranks "
                       f"{', '.join(str(v.type.rank) for v in vals)}", e.span,
                       "stack() joins arrays of one shape along a new axis; index or reshape them first")
    _check_joined_shapes(fb, b, vals, args["arrays"][0].items, None)  # type: ignore[union-attr]
    rank = vals[0].type.rank + 1
    if not -rank <= axis < rank:
        raise fb.error(f"axis {axis} out of range", e.span, f"use an axis in [{-rank}, {rank - 1}]")
    axis %= rank
    shape = list(vals[0].type.shape)
    shape.insert(axis, Dim(len(vals)))
    d = _dtype_of(fb, b, e, lambda *xs: np.stack(xs), *(v.type for v in vals))
    return _emit(fb, b, vals, ArrayType(d, tuple(shape)), e, axis=axis)


def diag(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _array(fb, args, "v", b)
    operands = [a]
    k = _diagonal(fb, b, args, operands)  # (a run-time k: the result's size is known at run time)
    if a.type.rank == 1:
        n = a.type.shape[0]
        m = None if n is None or k is None else n + abs(k)
        shape: tuple[DimT, ...] = (m, m)
    elif a.type.rank == 2:
        r, c = a.type.shape
        if k is not None and r is not None and c is not None and r.is_const and c.is_const:
            # NumPy's diagonal length, empty when k is past the corner
            n_diag = min(r.const, c.const - k) if k >= 0 else min(r.const + k, c.const)
            shape = (Dim(max(n_diag, 0)),)
        else:
            shape = ((r - abs(k)) if r is not None and r == c and k is not None else None,)
    else:
        raise fb.error("diag() takes a 1-D or 2-D array", e.span, "index the array down to 1 or 2 dims first")
    return _emit(fb, b, operands, ArrayType(a.type.dtype, shape), e, k=k)


def trace(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _array(fb, args, "a", b)
    if a.type.rank != 2:
        raise fb.error("trace() takes a 2-D array", e.span, f"pass a matrix (declared like `a: f64[N, N]`), not {a.type}")
    offset = args["offset"][0]
    if offset is not None and fb.static_int(offset) != 0:
        # NumPy's trace(a, offset) is the sum of diag(a, offset)
        d = diag(fb, BUILTINS["diag"], {"v": args["a"], "k": (offset, 0)}, e)
        return _emit(fb, BUILTINS["sum"], [d], ScalarType(_dtype_of(fb, b, e, np.sum, d.type)), e, axis=None,
                     keepdims=False)
    return _emit(fb, b, [a], ScalarType(_dtype_of(fb, b, e, np.trace, ArrayType(a.type.dtype, (None, None)))), e)


def copy(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    a = _value(fb, args, "a")
    return _emit(fb, b, [a], a.type.strong() if isinstance(a.type, ScalarType) else a.type, e)


def astype(fb: FunctionBuilder, b: Builtin, args: Args, e: A.Call) -> Value:
    x = _value(fb, args, "x")
    dtype = _static(fb, args, "dtype", b, "dtype")
    if dtype is None:
        raise fb.error("astype() needs a dtype", e.span, "e.g. astype(x, f32)")
    return fb.cast(x, dtype, e.span)


RULES: dict[str, Callable[[FunctionBuilder, Builtin, Args, A.Call], Value]] = {
    "unary": unary, "round": round_, "binary": binary, "where": where, "clip": clip, "reduce": reduce,
    "make": make, "make_like": make_like, "eye": eye, "arange": arange, "linspace": linspace,
    "random": random, "matmul": matmul, "outer": outer, "transpose": transpose,
    "reshape": reshape, "flip": flip, "tri": tri, "concat": concat, "stack": stack,
    "diag": diag, "trace": trace, "copy": copy, "astype": astype,
}

__all__ = ["RULES", "is_complex"]
