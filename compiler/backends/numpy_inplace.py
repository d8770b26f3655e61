"""NumPy with temporaries reused (memory_optimization >= 1).

An elementwise ufunc whose array operand is a temporary that nothing reads afterwards
writes its result into that temporary (`np.multiply(t, y, out=t)`) instead of
allocating a new array: a chain `exp(x - m) / s` then runs in one buffer, as
hand-tuned NumPy code would. A temporary qualifies when:

* it is the result of a ufunc in this block (a fresh array that nothing else owns),
* it has exactly the result's type (dtype and shape, every dim known symbolically),
* every use is an op of the same region that only reads it and returns new memory
  (no view of it, no loop carry, no yield), and this op is the last of them.
"""

from __future__ import annotations

from mcodec.compiler.ir import Op, Region, Value
from mcodec.compiler.semantics import REDUCTIONS
from mcodec.compiler.types import ArrayType

from .base import BlockView
from .pysource import PythonEmitter

# IR op -> NumPy ufunc (the ones the reference lowering's operators and calls mean)
UFUNCS: dict[str, str] = {
    "mc.add": "add", "mc.sub": "subtract", "mc.mul": "multiply", "mc.div": "true_divide",
    "mc.floordiv": "floor_divide", "mc.mod": "remainder", "mc.pow": "power",
    "mc.bitand": "bitwise_and", "mc.bitor": "bitwise_or", "mc.bitxor": "bitwise_xor",
    "mc.shl": "left_shift", "mc.shr": "right_shift",
    "mc.eq": "equal", "mc.ne": "not_equal", "mc.lt": "less", "mc.le": "less_equal",
    "mc.gt": "greater", "mc.ge": "greater_equal",
    "mc.arctan2": "arctan2", "mc.maximum": "maximum", "mc.minimum": "minimum",
    "mc.logical_and": "logical_and", "mc.logical_or": "logical_or",
    "mc.neg": "negative", "mc.pos": "positive", "mc.invert": "invert", "mc.abs": "absolute",
    "mc.logical_not": "logical_not", "mc.isnan": "isnan", "mc.isinf": "isinf",
    **{f"mc.{n}": n for n in ("exp log log2 log10 sqrt sin cos tan arcsin arccos arctan "
                              "sinh cosh tanh sign floor ceil").split()},
}

# Uses that only read the buffer and return new memory (views, `np.real` of a real
# array, loop carries, yields and calls could keep it alive under another name).
_READERS = frozenset(UFUNCS) | {f"mc.{r}" for r in REDUCTIONS} | {
    "mc.matmul", "mc.outer", "mc.where", "mc.clip", "mc.cast", "mc.copy", "mc.concatenate",
    "mc.vstack", "mc.stack", "mc.triu", "mc.tril", "mc.trace", "mc.dim", "mc.size"}


def _fully_known(t: ArrayType) -> bool:
    return all(d is not None for d in t.shape)


def reusable_temporaries(block: BlockView) -> dict[Op, Value]:
    """For each ufunc op that can write into a dead temporary operand, that operand."""
    users: dict[Value, list[Op]] = {}
    regions: list[Region] = [block.region]
    for op in block.region.walk():
        for v in op.operands:
            users.setdefault(v, []).append(op)
        regions.extend(op.regions)
    out: dict[Op, Value] = {}
    for region in regions:
        position = {op: i for i, op in enumerate(region.ops)}
        for op in region.ops:
            if op.name not in UFUNCS or not isinstance(op.results[0].type, ArrayType):
                continue
            t = next((v for v in op.operands if _dead_after(v, op, region, position, users)), None)
            if t is not None:
                out[op] = t
    return out


def _dead_after(v: Value, op: Op, region: Region, position: dict[Op, int], users: dict[Value, list[Op]]) -> bool:
    producer = v.owner
    if not (isinstance(producer, Op) and producer.name in UFUNCS and producer.parent is region):
        return False
    if v.type != op.results[0].type or not _fully_known(v.type):
        return False
    uses = users.get(v, [])
    return all(u.parent is region and u.name in _READERS for u in uses) and \
        max(position[u] for u in uses) == position[op]


class InplaceEmitter(PythonEmitter):
    """The reference emitter, with ufuncs writing into dead temporaries."""

    def __init__(self, block: BlockView) -> None:
        super().__init__()
        self.reuse = reusable_temporaries(block)

    def op(self, op: Op) -> None:
        t = self.reuse.get(op)
        if t is None:
            super().op(op)
            return
        buf = self.name(t)
        args = ", ".join(self.name(v) for v in op.operands)
        self.line(f"np.{UFUNCS[op.name]}({args}, out={buf})")
        self.alias(op.result, buf)
