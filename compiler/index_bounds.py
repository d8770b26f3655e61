"""Bounds-check elimination: which element accesses are provably in range.

NumPy raises IndexError for an integer index outside [-n, n) (and for an index array
holding one); compiled code without checks reads or writes outside the buffer. A
lowering asks `unchecked_accesses(region)` for the accesses it cannot prove safe and
checks those alone, or declines the block (MLX's gather).

An integer scalar is an interval whose ends are affine forms (`Dim`) over two kinds of
symbol: sizes (the dims of signatures, and `?` axes), which are never negative, and
`%k` symbols for values nothing more is known of (a parameter, a loop variable), of
either sign. Loop variables are symbols with bounds (`for i in range(a, b)`: a <= i <=
b - 1), so `A[i + 1, j]` for `j in range(i + 1, N)` is known to be in range relative
to i, not only to i's own range. The size of a `?` axis is traced to what made the
array (`zeros((h, w))`: h), through block results and loop-carried arrays that stay
the same array.

An index i of an axis of size D is safe when D - 1 - i >= 0 and i + D >= 0 (a negative
index wraps, as in NumPy). To prove e >= 0, each loop variable in e is replaced by the
bound that makes e smallest (inner loops first), and what remains must have a
non-negative constant and only sizes with non-negative coefficients; before that, one
fact "this loop ran" (hi - lo >= 0, for an enclosing loop) may be subtracted.
"""

from __future__ import annotations

import itertools
from typing import Any

from .ir import Op, Region, Value
from .types import ArrayType, Dim

Interval = tuple[Dim | None, Dim | None]
_UNKNOWN: Interval = (None, None)
_INTS = ("bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64")
_SIGNED = ("i8", "i16", "i32", "i64")
_MAKERS = frozenset({"mc.zeros", "mc.ones", "mc.empty", "mc.full"})
_WRAPPING = frozenset({"mc.add", "mc.sub", "mc.neg", "mc.mul"})
# the integer types whose arithmetic wraps within index range (i64's would need 2**63)
_NARROW = {"i8": (-2**7, 2**7 - 1), "i16": (-2**15, 2**15 - 1), "i32": (-2**31, 2**31 - 1),
           "u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1), "u64": (0, 2**64 - 1)}
# the largest value of the types an index of any axis may be bounded by (not u64's)
_UNSIGNED_MAX = {"bool": 1, **{t: _NARROW[t][1] for t in ("u8", "u16", "u32")}}


def _dtype(v: Value) -> str:
    return getattr(v.type, "dtype", "")


def _const_int(v: Value) -> int | None:
    o = v.owner
    if isinstance(o, Op) and o.name == "mc.const":
        c = o.attrs.get("value")
        if isinstance(c, (bool, int)):
            return int(c)
    return None


def _add(a: Dim | None, b: Dim | None) -> Dim | None:
    return None if a is None or b is None else a + b


def _scale(d: Dim | None, k: int) -> Dim | None:
    return None if d is None else Dim(d.const * k, tuple((s, c * k) for s, c in d.terms if c * k))


def _nonneg(d: Dim) -> bool:
    """Provably >= 0: a non-negative constant plus sizes with non-negative coefficients."""
    return d.const >= 0 and all(c >= 0 and s[0] != "%" for s, c in d.terms)


class IndexRanges:
    """Intervals of integer scalars, memoized per value, and the loop variables' bounds."""

    def __init__(self) -> None:
        self.memo: dict[int, Interval] = {}
        self.symbols: dict[int, str] = {}
        self.loop_bounds: dict[str, Interval] = {}  # loop variable symbol -> its bounds
        # symbol of a minimum/maximum -> (lower bounds, upper bounds), each one enough:
        # min(M, n + 1) is at most M and at most n + 1
        self.alternatives: dict[str, tuple[list[Dim], list[Dim]]] = {}
        self.sizes: dict[tuple[int, int], Dim | None] = {}
        self._next = itertools.count()

    def symbol(self, v: Value) -> str:
        s = self.symbols.get(id(v))
        if s is None:
            s = self.symbols[id(v)] = f"%{next(self._next)}"
        return s

    def of(self, v: Value, depth: int = 0) -> Interval:
        hit = self.memo.get(id(v))
        if hit is None:
            hit = self._of(v, depth) if depth < 24 else _UNKNOWN
            if hit == _UNKNOWN and _dtype(v) in _SIGNED and not isinstance(v.type, ArrayType):
                hit = (Dim.sym(self.symbol(v)),) * 2  # exactly itself: x - x is 0
            self.memo[id(v)] = hit
        return hit

    def _of(self, v: Value, depth: int) -> Interval:
        if isinstance(v.type, ArrayType) or _dtype(v) not in _INTS:
            return _UNKNOWN
        o = v.owner
        if isinstance(o, Region):
            return self._loop_var(o, v, depth)
        rule = _RULES.get(o.name) if isinstance(o, Op) else None
        lo, hi = rule(self, o, v, depth + 1) if rule is not None else _UNKNOWN
        dt = _dtype(v)
        if o.name in _WRAPPING and dt in _NARROW:
            # u8 arithmetic wraps (0 - 1 is 255), as do the narrow signed types: an
            # interval past the dtype's range stands for the whole range
            rmin, rmax = _NARROW[dt]
            if lo is None or hi is None or not (self.nonneg(lo - rmin, []) and self.nonneg(Dim(rmax) - hi, [])):
                return Dim(rmin), Dim(rmax)
        if lo is None and dt[0] in "ub":
            lo = Dim(0)
        if hi is None and dt in _UNSIGNED_MAX:  # (a u8 read from data is below 256)
            hi = Dim(_UNSIGNED_MAX[dt])
        return lo, hi

    def _loop_var(self, region: Region, v: Value, depth: int) -> Interval:
        loop = region.parent
        if loop is None or loop.name != "mc.for" or not region.args or v is not region.args[0]:
            return _UNKNOWN
        step = _const_int(loop.operands[2])
        start, stop = (self.of(x, depth + 1) for x in loop.operands[:2])
        if step is not None and step > 0:
            bounds = start[0], _add(stop[1], Dim(-1))
        elif step is not None and step < 0:
            bounds = _add(stop[0], Dim(1)), start[1]
        else:
            return _UNKNOWN
        s = self.symbol(v)
        self.loop_bounds[s] = bounds
        return Dim.sym(s), Dim.sym(s)

    def size(self, array: Value, axis: int, depth: int = 0) -> Dim | None:
        """The length of `array` along `axis`: its type's dim, else, for a `?` axis, the
        shape operand of the op that made it (a size symbol of its own where none is
        found: the same array's `?` axis has one size)."""
        t = array.type
        if not isinstance(t, ArrayType) or not -t.rank <= axis < t.rank:
            return None
        axis %= t.rank
        if t.shape[axis] is not None:
            return t.shape[axis]
        key = (id(array), axis)
        if key not in self.sizes:
            self.sizes[key] = None  # (a cycle through loop-carried values finds nothing)
            origin = _same_array_origin(array)
            self.sizes[key] = self._made_size(origin, axis, depth) or origin.type.shape[axis] or \
                Dim.sym(f"?{id(origin)}.{axis}")
        return self.sizes[key]

    def _made_size(self, v: Value, axis: int, depth: int) -> Dim | None:
        o = v.owner
        if isinstance(o, Op) and o.name in _MAKERS and axis < o.attrs.get("ndim", 0):
            lo, hi = self.of(o.operands[axis], depth + 1)
            return lo if lo is not None and lo == hi else None
        return None

    def loop_facts(self, op: Op) -> list[Dim]:
        """hi - lo >= 0 for every enclosing loop's variable: the body ran."""
        facts = []
        r = op.parent
        while r is not None and r.parent is not None:
            owner = r.parent
            if owner.name == "mc.for" and r.args:
                self.of(r.args[0])
                lo, hi = self.loop_bounds.get(self.symbol(r.args[0]), _UNKNOWN)
                if lo is not None and hi is not None:
                    facts.append(hi - lo)
            r = owner.parent
        return facts

    def nonneg(self, e: Dim, facts: list[Dim]) -> bool:
        return any(self._lowest(e - f) for f in [Dim(0), *facts])

    def _lowest(self, e: Dim, budget: int = 32) -> bool:
        """Whether e >= 0 with each loop variable at the bound that makes e smallest (a
        minimum or maximum at whichever of its bounds proves it)."""
        for _ in range(budget):
            if _nonneg(e):
                return True
            var = next(((s, c) for s, c in e.terms if s in self.loop_bounds or s in self.alternatives), None)
            if var is None:
                return False
            s, c = var
            rest = e - Dim(0, ((s, c),))
            if s in self.alternatives:
                budget -= 1
                return any(self._lowest(rest + _scale(b, c), budget)  # type: ignore[operator]
                           for b in self.alternatives[s][0 if c > 0 else 1])
            bound = self.loop_bounds[s][0 if c > 0 else 1]
            if bound is None:
                return False
            e = rest + _scale(bound, c)  # type: ignore[operator]
        return False


def _same_array_origin(v: Value) -> Value:
    """What `v` is the same array as, with the same shape: through stores, block
    results and loop-carried arrays whose every yield is the same array again."""
    for _ in range(64):
        o = v.owner
        if isinstance(o, Op) and o.name == "mc.setitem":
            v = o.operands[0]
        elif isinstance(o, Op) and o.name == "mc.block" and o.regions[0].terminator is not None:
            v = o.regions[0].terminator.operands[o.results.index(v)]
        elif isinstance(o, Op) and o.name == "mc.for" and _carried_same(o.regions[0], o.results.index(v) + 1):
            v = o.operands[3 + o.results.index(v)]
        elif isinstance(o, Region) and o.parent is not None and o.parent.name == "mc.for" and v in o.args[1:] \
                and _carried_same(o, o.args.index(v)):
            v = o.parent.operands[2 + o.args.index(v)]
        else:
            return v
    return v


def _carried_same(body: Region, k: int) -> bool:
    """Whether loop-carried value k (an index of the body's args) is yielded as the same
    array it came in as, on the body's only exit."""
    term = body.terminator
    if term is None or term.name != "mc.yield" or any(
            op.name in ("mc.break", "mc.continue") for op in body.walk()):
        return False
    v = term.operands[k - 1]
    for _ in range(64):
        if v is body.args[k]:
            return True
        o = v.owner
        if isinstance(o, Op) and o.name == "mc.setitem":
            v = o.operands[0]
        elif isinstance(o, Op) and o.name == "mc.for" and _carried_same(o.regions[0], o.results.index(v) + 1):
            v = o.operands[3 + o.results.index(v)]
        else:
            return False
    return False


def _r_const(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    c = _const_int(v)
    return _UNKNOWN if c is None else (Dim(c), Dim(c))


def _r_dim(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    d = rs.size(o.operands[0], o.attrs.get("axis", 0), depth)
    return d, d


def _r_size(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    t = o.operands[0].type
    if isinstance(t, ArrayType) and t.rank == 1:
        d = rs.size(o.operands[0], 0, depth)
        return d, d
    return Dim(0), None


def _r_add(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    (alo, ahi), (blo, bhi) = (rs.of(x, depth) for x in o.operands)
    return _add(alo, blo), _add(ahi, bhi)


def _r_sub(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    (alo, ahi), (blo, bhi) = (rs.of(x, depth) for x in o.operands)
    return _add(alo, _scale(bhi, -1)), _add(ahi, _scale(blo, -1))


def _r_neg(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    lo, hi = rs.of(o.operands[0], depth)
    return _scale(hi, -1), _scale(lo, -1)


def _r_mul(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    a, b = o.operands
    k, x = (_const_int(a), b) if _const_int(a) is not None else (_const_int(b), a)
    if k is None:
        return _UNKNOWN
    lo, hi = rs.of(x, depth)
    return (_scale(lo, k), _scale(hi, k)) if k >= 0 else (_scale(hi, k), _scale(lo, k))


def _r_bitand(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    masks = [c for c in map(_const_int, o.operands) if c is not None and c >= 0]
    return (Dim(0), Dim(min(masks))) if masks else _UNKNOWN


def _r_mod(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    dlo, dhi = rs.of(o.operands[1], depth)
    if dlo is None or dhi is None or not _nonneg(dlo):
        return _UNKNOWN
    # floored modulo, as Python and NumPy: in [0, d) for d >= 1; NumPy gives 0 for d = 0
    return Dim(0), dhi - 1 if _nonneg(dlo - 1) else dhi


def _r_cast(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    src, dst = _dtype(o.operands[0]), _dtype(v)
    if dst in ("u8", "u16", "u32"):  # (wraps into its range)
        return Dim(0), Dim((1 << int(dst[1:])) - 1)
    if dst not in _SIGNED or src not in _INTS:
        return _UNKNOWN
    bits = {"bool": 1, "u8": 9, "u16": 17, "u32": 33, "u64": 65, "i8": 8, "i16": 16, "i32": 32, "i64": 64}
    # a cast to a signed type that holds every value of the source (bits of an unsigned
    # type counted with a sign bit) keeps the value
    return rs.of(o.operands[0], depth) if bits[src] <= bits[dst] else _UNKNOWN


def _r_block(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    term = o.regions[0].terminator if o.regions else None
    if term is None or term.name != "mc.yield":
        return _UNKNOWN
    return rs.of(term.operands[o.results.index(v)], depth)


def _r_minimum(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    (alo, ahi), (blo, bhi) = (rs.of(x, depth) for x in o.operands)
    lo = Dim(min(alo.const, blo.const)) if alo is not None and blo is not None and alo.is_const and blo.is_const else None
    return lo, _either(rs, v, [], [b for b in (ahi, bhi) if b is not None])


def _r_maximum(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    (alo, ahi), (blo, bhi) = (rs.of(x, depth) for x in o.operands)
    hi = Dim(max(ahi.const, bhi.const)) if ahi is not None and bhi is not None and ahi.is_const and bhi.is_const else None
    return _either(rs, v, [b for b in (alo, blo) if b is not None], []), hi


def _either(rs: IndexRanges, v: Value, lower: list[Dim], upper: list[Dim]) -> Dim | None:
    """v's symbol, bounded by any one of `lower` and any one of `upper` (a window
    `range(maximum(0, i - r), minimum(N, i + r + 1))` is in range both ways)."""
    if not lower and not upper:
        return None
    s = rs.symbol(v)
    rs.alternatives[s] = (lower, upper)
    return Dim.sym(s)


def _r_argextreme(rs: IndexRanges, o: Op, v: Value, depth: int) -> Interval:
    """argmin/argmax of a whole 1-D array: a position in it (an empty one raises)."""
    t = o.operands[0].type
    if isinstance(t, ArrayType) and t.rank == 1 and not v.is_array:
        d = rs.size(o.operands[0], 0, depth)
        return Dim(0), None if d is None else d - 1
    return Dim(0), None


_RULES: dict[str, Any] = {
    "mc.const": _r_const, "mc.dim": _r_dim, "mc.size": _r_size, "mc.add": _r_add, "mc.sub": _r_sub,
    "mc.neg": _r_neg, "mc.mul": _r_mul, "mc.bitand": _r_bitand, "mc.mod": _r_mod, "mc.cast": _r_cast,
    "mc.block": _r_block, "mc.minimum": _r_minimum, "mc.maximum": _r_maximum,
    "mc.argmin": _r_argextreme, "mc.argmax": _r_argextreme,
}


def access_is_safe(rs: IndexRanges, op: Op) -> bool:
    """Whether every integer index of getitem/setitem `op` is provably inside its axis
    (slices clip and newaxis adds an axis: neither can fail; an index array can)."""
    base = op.operands[0]
    if not isinstance(base.type, ArrayType):
        return True
    facts: list[Dim] | None = None
    axis = 0
    for it in op.attrs["index"]:
        kind = it[0]
        if kind == "newaxis":
            continue
        if kind == "array":
            ref = it[1]
            arr = op.operands[ref[1]] if isinstance(ref, tuple) else None
            if arr is not None and _dtype(arr) == "bool":
                axis += arr.type.rank  # (a mask spans as many axes as it has)
                continue
            size = rs.size(base, axis) if axis < base.type.rank else None
            top = _UNSIGNED_MAX.get(_dtype(arr)) if arr is not None else None
            if top is None or size is None or not rs.nonneg(size - 1 - top, []):
                return False  # an index array's values are data, below its dtype's top
            axis += 1
            continue
        if kind == "int":
            ref = it[1]
            lo, hi = rs.of(op.operands[ref[1]]) if isinstance(ref, tuple) else (Dim(int(ref)), Dim(int(ref)))
            size = rs.size(base, axis) if axis < base.type.rank else None
            if lo is None or hi is None or size is None:
                return False
            if facts is None:
                facts = rs.loop_facts(op)
            if not (rs.nonneg(size - 1 - hi, facts) and rs.nonneg(lo + size, facts)):
                return False
        axis += 1
    return True


def unchecked_accesses(region: Region, rs: IndexRanges | None = None) -> list[Op]:
    """The element accesses in `region` (nested regions included) that may be out of
    range: what a lowering without NumPy's checks must check or refuse. (`rs`: the
    caller's intervals, when it asks for more of them.)"""
    rs = rs or IndexRanges()
    return [op for op in region.walk() if op.name in ("mc.getitem", "mc.setitem") and not access_is_safe(rs, op)]


__all__ = ["IndexRanges", "access_is_safe", "unchecked_accesses"]
