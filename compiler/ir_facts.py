"""Small facts about IR values that lowerings use to drop run-time work: constants
and provably non-negative integers (an index that cannot be negative needs no
NumPy-style wrap-around, a slice start that cannot be negative equals a range start)."""

from __future__ import annotations

from typing import Any

from mcodec.compiler.ir import Op, Region, Value
from mcodec.compiler.types import ArrayType


def const_of(v: Value) -> Any:
    """The value of an `mc.const`, else None."""
    o = v.owner
    return o.attrs["value"] if isinstance(o, Op) and o.name == "mc.const" else None


def non_negative(v: Value, depth: int = 0) -> bool:
    """Whether an integer scalar is provably >= 0: a non-negative constant, a dim or
    size, the variable of a loop counting up from a non-negative start, or sums and
    products of those."""
    if depth > 16 or isinstance(v.type, ArrayType):
        return False
    c = const_of(v)
    if c is not None:
        return isinstance(c, int) and not isinstance(c, bool) and c >= 0
    o = v.owner
    if isinstance(o, Op):
        if o.name in ("mc.dim", "mc.size"):
            return True
        if o.name in ("mc.add", "mc.mul"):
            return all(non_negative(x, depth + 1) for x in o.operands)
        return False
    if isinstance(o, Region) and o.parent is not None and o.parent.name == "mc.for" and v is o.args[0]:
        step = const_of(o.parent.operands[2])
        return isinstance(step, int) and step > 0 and non_negative(o.parent.operands[0], depth + 1)
    return False


# an array extent or size: its elements fit in memory (2^48 bytes)
EXTENT_BITS = 48
_INT_BITS = {"bool": 1, "i8": 8, "u8": 8, "i16": 16, "u16": 16, "i32": 32, "u32": 32}


def magnitude_bits(v: Value, depth: int = 0) -> int:
    """An upper bound on the bit length of |v| for an integer scalar (64: unknown):
    constants, extents, values cast from narrower integers, loop variables between
    such bounds, and sums, differences and products of those. Below 63, i64
    arithmetic on it cannot overflow."""
    if depth > 12 or isinstance(v.type, ArrayType):
        return 64
    c = const_of(v)
    if c is not None:
        return abs(c).bit_length() if isinstance(c, int) else 64
    o = v.owner
    if isinstance(o, Op):
        if o.name in ("mc.dim", "mc.size"):
            return EXTENT_BITS
        if o.name == "mc.cast" and o.operands:
            return _INT_BITS.get(o.operands[0].type.dtype, 64)
        if o.name in ("mc.add", "mc.sub"):
            return max(magnitude_bits(x, depth + 1) for x in o.operands) + 1
        if o.name == "mc.mul":
            return sum(magnitude_bits(x, depth + 1) for x in o.operands)
        if o.name == "mc.block" and o.regions and o.regions[0].terminator is not None:
            return magnitude_bits(o.regions[0].terminator.operands[o.results.index(v)], depth + 1)
        return 64
    if isinstance(o, Region) and o.parent is not None and o.parent.name == "mc.for" and v is o.args[0]:
        return max(magnitude_bits(x, depth + 1) for x in o.parent.operands[:2])  # (between the bounds)
    return 64


def in_bounds(v: Value, array: Value, axis: int) -> bool:
    """Whether integer `v` is provably a valid index of `array` along `axis` (no wrap,
    no error): the variable of a loop counting up from a non-negative start to a dim
    of the same symbolic size (the checker makes equal symbols equal at run time)."""
    o = v.owner
    if not (isinstance(o, Region) and o.parent is not None and o.parent.name == "mc.for" and v is o.args[0]):
        return False
    loop = o.parent
    step = const_of(loop.operands[2])
    if not (isinstance(step, int) and step > 0 and non_negative(loop.operands[0])):
        return False
    ub = loop.operands[1].owner
    if not (isinstance(ub, Op) and ub.name == "mc.dim") or not isinstance(array.type, ArrayType):
        return False
    src = ub.operands[0].type
    d = src.shape[ub.attrs["axis"] % src.rank]
    want = array.type.shape[axis]
    return d is not None and want is not None and d == want
