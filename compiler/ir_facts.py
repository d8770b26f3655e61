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
