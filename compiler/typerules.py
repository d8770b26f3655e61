"""Shape rules: broadcasting, matmul, slicing, reductions. Each returns a shape or raises
ShapeError with a message and a hint; dtype rules live in types.probe_dtype."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .types import ArrayType, Dim, DimT, ScalarType, ValueType, dim_str, is_one, known_different


class ShapeError(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def shape_of(t: ValueType) -> tuple[DimT, ...]:
    return t.shape if isinstance(t, ArrayType) else ()


def make_type(dtype: str, shape: tuple[DimT, ...]) -> ValueType:
    return ArrayType(dtype, shape) if shape else ScalarType(dtype)


def broadcast(*types: ValueType) -> tuple[DimT, ...]:
    """NumPy broadcasting over symbolic shapes; an error only where dims provably differ."""
    shapes = [shape_of(t) for t in types]
    if len(shapes) == 2:  # the common cases, same answer as the general loop below
        sa, sb = shapes
        if not sb or sa == sb:
            return sa
        if not sa:
            return sb
    rank = max((len(s) for s in shapes), default=0)
    out: list[DimT] = []
    for axis in range(rank):
        dims = [s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0]
        chosen: DimT = Dim(1)
        seen: list[DimT] = []
        for d in dims:
            if is_one(d):
                continue
            for s in seen:
                if known_different(s, d):
                    raise ShapeError(
                        f"shapes {' and '.join(str(t) for t in types if isinstance(t, ArrayType))} do not broadcast "
                        f"(dimension {dim_str(s)} vs {dim_str(d)})",
                        "broadcasting needs equal dims or a dim of 1; index with newaxis or reshape to align them")
            if not seen:
                chosen = d
            elif d != chosen:
                # dims not provably equal (N and M, N and 3, N and ?): either may be 1 at run
                # time, when the other one is the result's, so the result's is not known here
                chosen = None
            seen.append(d)
        out.append(chosen)
    return tuple(out)


def matmul_shape(a: ValueType, b: ValueType) -> tuple[DimT, ...]:
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb:
        raise ShapeError("matrix product needs arrays, not scalars", "use `*` to scale by a scalar")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if known_different(ka, kb):
        raise ShapeError(f"matrix product inner dimensions differ: {a} @ {b} ({dim_str(ka)} vs {dim_str(kb)})",
                         "the last dim of the left operand must equal the second-to-last of the right")
    if len(sa) == 1 and len(sb) == 1:
        return ()
    if len(sa) == 1:
        return sb[:-2] + sb[-1:]
    if len(sb) == 1:
        return sa[:-1]
    batch = broadcast(ArrayType("f64", sa[:-2]), ArrayType("f64", sb[:-2])) if len(sa) > 2 or len(sb) > 2 else ()
    return batch + (sa[-2], sb[-1])


def slice_len(d: DimT, lo: int | Dim | None, hi: int | Dim | None, step: int | None,
              lo_dynamic: bool, hi_dynamic: bool) -> DimT:
    """Length of d[lo:hi:step] when it can be known statically (assumes in-bounds)."""
    n = _slice_len(d, lo, hi, step, lo_dynamic, hi_dynamic)
    if n is not None and n.is_const and (d is None or not d.is_const):
        # a fixed length out of a dim not known here (x[:3], x[-3:], x[2:5] of an f64[N]):
        # NumPy clamps the bounds, so it is shorter when N is small; unknown until run time
        return None
    return n


def _slice_len(d: DimT, lo: int | Dim | None, hi: int | Dim | None, step: int | None,
               lo_dynamic: bool, hi_dynamic: bool) -> DimT:
    if lo_dynamic or hi_dynamic:  # a bound known only at run time (x[k:], x[:j:-1], x[i::2])
        return None
    st = 1 if step is None else step
    lo, hi = (b.const if isinstance(b, Dim) and b.is_const else b for b in (lo, hi))
    if d is not None and d.is_const and not isinstance(lo, Dim) and not isinstance(hi, Dim):
        return Dim(len(range(d.const)[lo:hi:st]))  # Python's own slice arithmetic
    if st < 0:  # of a symbolic dim: only the whole axis reversed is known
        return d if lo is None and hi is None and st == -1 else None
    lo_n, hi_n = _bound(d, lo, Dim(0)), _bound(d, hi, d)
    if lo_n is None or hi_n is None:
        return None
    length = hi_n - lo_n
    if length.terms and all(c < 0 for _, c in length.terms):  # the bounds cross (x[N - 1:1], x[-1:0])
        return Dim(0) if length.const <= 0 else None
    if st == 1:
        return length
    if length.is_const:
        return Dim(max(0, -(-length.const // st)))
    return None


def surely_positive(d: DimT) -> bool:
    """`d > 0` for every size large enough (slice_len's assumption): a positive constant, or
    symbols only added (`N - 2`)."""
    return d is not None and (d.const > 0 if d.is_const else all(c > 0 for _, c in d.terms))


def axis_interval(d: DimT, item: tuple, static: Callable[[Any], int | Dim | None]) -> tuple[DimT, DimT] | None:
    """The half-open range [lo, hi) of positions an index item ("int", ref) or ("slice",
    lo, hi, step) with step 1 selects on an axis of size d (None when not known);
    `static` gives a bound's static value."""
    if item[0] == "int":
        k = static(item[1])
        lo = _bound(d, k, Dim(0)) if k is not None else None
        return None if lo is None else (lo, lo + 1)
    if item[0] != "slice" or item[3] not in (None, 1):
        return None
    lo_b, hi_b = static(item[1]) if item[1] is not None else None, static(item[2]) if item[2] is not None else None
    if (item[1] is not None and lo_b is None) or (item[2] is not None and hi_b is None):
        return None
    lo, hi = _bound(d, lo_b, Dim(0)), _bound(d, hi_b, d)
    return None if lo is None or hi is None else (lo, hi)


def _bound(d: DimT, b: int | Dim | None, default: DimT) -> DimT:
    """A slice bound of axis `d` as an offset from the start, assuming it lies in the
    axis (as slice_len does): a negative one counts from the end (`-3`, `-N`, `2 - N`),
    and one provably past the end (`2 * N`, `N + 1`) is clamped to it."""
    if b is None:
        return default
    if isinstance(b, int):
        if b >= 0:
            return Dim(b)
        return None if d is None else d + b
    signs = {c > 0 for _, c in b.terms}
    if signs == {False}:  # every symbol subtracted: negative (for dims past the constant)
        return None if d is None else d + b
    if signs != {True}:  # `N - M`: its sign is unknown
        return None
    if d is not None:
        past = b - d
        if past.is_const and past.const > 0 or past.terms and all(c > 0 for _, c in past.terms) and past.const >= 0:
            return d
    return b


def normalize_axes(axis: int | tuple[int, ...] | None, rank: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ShapeError(f"axis {a} is out of range for an array of rank {rank}",
                             f"use an axis in [{-rank}, {rank - 1}]")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ShapeError("repeated axis in reduction", "name each axis once")
    return tuple(out)


def reduce_shape(shape: tuple[DimT, ...], axes: tuple[int, ...] | None, keepdims: bool) -> tuple[DimT, ...]:
    if axes is None:
        return tuple(Dim(1) for _ in shape) if keepdims else ()
    if keepdims:
        return tuple(Dim(1) if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def merge_dims(a: tuple[DimT, ...], b: tuple[DimT, ...]) -> tuple[DimT, ...]:
    """The shape two control-flow paths agree on: dims that differ become unknown."""
    return tuple(x if x == y else None for x, y in zip(a, b))
