"""Dot-product raising for the Numba emitter: `for j in range(lo, hi): t += X[i, j] * y[j]`.

A float accumulation cannot be vectorized by LLVM without reassociating it, which
Numba's default (no fastmath) forbids, so the loop runs one dependent add per element.
NumPy itself reassociates (BLAS): a reduction of a product of two elements, each indexed
by the loop variable in its last (contiguous) axis, becomes

    t = t + c * np.dot(X[i, lo:hi'], y[lo:hi'])      # hi' = max(hi, lo)

after the loop, which keeps whatever else the body does (loop distribution: the
accumulator is used by nothing else, and the arrays it reads are not written in the
loop, arrays being values). Floats may differ by reassociation, as with NumPy.
Conditions that keep it exact otherwise: step 1, a start that is provably non-negative
(so the slice is the range; `max` keeps a negative end from wrapping around), no
break or continue, and every index but the loop variable invariant in the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcodec.compiler.ir import Op, Region, Value, defined_in
from mcodec.compiler.ir_facts import const_of as _const
from mcodec.compiler.ir_facts import in_bounds, non_negative
from mcodec.compiler.types import ArrayType, ScalarType

if TYPE_CHECKING:
    from .numba_backend import NumbaEmitter

FLOATS = ("f32", "f64")


@dataclass
class DotReduction:
    acc: Value  # the loop-carried accumulator (a region argument)
    op: Op  # the mc.add / mc.sub that accumulates
    scalars: list[Value] = field(default_factory=list)  # invariant factors
    vectors: list[Op] = field(default_factory=list)  # the two element loads
    muls: list[Op] = field(default_factory=list)  # the products joining them


def _element_load(o: Any, body: Region, iv: Value, inner: set[Value], dtype: str) -> bool:
    """`X[a, ..., iv]`: a full scalar load with the loop variable in the last axis only."""
    if not isinstance(o, Op) or o.name != "mc.getitem" or o.parent is not body or o.result.type.dtype != dtype:
        return False
    base, idx = o.operands[0], o.attrs["index"]
    if base in inner or not isinstance(base.type, ArrayType) or len(idx) != base.type.rank:
        return False
    if any(it[0] != "int" for it in idx):
        return False
    last = idx[-1][1]
    if not (isinstance(last, tuple) and o.operands[last[1]] is iv):
        return False
    for it in idx[:-1]:
        r = it[1]
        if isinstance(r, tuple) and o.operands[r[1]] in inner and _const(o.operands[r[1]]) is None:
            return False
    return True


def plan_dot_reductions(em: NumbaEmitter, loop: Op) -> list[DotReduction]:
    body = loop.regions[0]
    if _const(loop.operands[2]) != 1 or not non_negative(loop.operands[0]):
        return []
    if any(o.name in ("mc.break", "mc.continue") for o in body.walk()):
        return []
    term = body.terminator
    if term is None or term.name != "mc.yield":
        return []
    iv = body.args[0]
    inner = defined_in(body)
    out: list[DotReduction] = []
    for k, acc in enumerate(body.args[1:]):
        t = acc.type
        if not isinstance(t, ScalarType) or t.dtype not in FLOATS:
            continue
        users = em.uses.get(acc, [])
        if len(users) != 1:
            continue
        op = users[0]
        if op.parent is not body or op.name not in ("mc.add", "mc.sub") or op.result.type != t.strong():
            continue
        if op.name == "mc.sub" and op.operands[0] is not acc:
            continue
        if em.uses.get(op.result, []) != [term] or term.operands[k] is not op.result or \
                sum(v is op.result for v in term.operands) != 1:
            continue
        other = op.operands[1] if op.operands[0] is acc else op.operands[0]
        red = DotReduction(acc, op)
        # the slice lo:hi' is the range only where the loop variable cannot run past the
        # axis's end (a slice shortens silently where the loop raises IndexError)
        if _factors(em, other, body, iv, inner, t.dtype, red, top=True) and len(red.vectors) == 2 and \
                all(g not in em.unchecked or in_bounds(iv, g.operands[0], g.operands[0].type.rank - 1)
                    for g in red.vectors):
            out.append(red)
    return out


def _factors(em: NumbaEmitter, v: Value, body: Region, iv: Value, inner: set[Value], dtype: str,
             red: DotReduction, top: bool = False) -> bool:
    """Splits a product into invariant scalars and element loads (into `red`)."""
    if v not in inner or _const(v) is not None:
        if isinstance(v.type, ScalarType) and v.type.dtype == dtype:
            red.scalars.append(v)
            return True
        return False
    o = v.owner
    if _element_load(o, body, iv, inner, dtype):
        red.vectors.append(o)
        return True
    if isinstance(o, Op) and o.name == "mc.mul" and o.parent is body and o.result.type == ScalarType(dtype) \
            and len(em.uses.get(v, [])) == 1:
        red.muls.append(o)
        return all(_factors(em, x, body, iv, inner, dtype, red) for x in o.operands)
    return False


def skipped_ops(em: NumbaEmitter, reds: list[DotReduction]) -> set[Op]:
    """The body ops only the raised reductions need (not emitted in the loop); a load
    that the rest of the loop also uses stays in it."""
    skip = {o for r in reds for o in [r.op, *r.muls]}
    for g in {g for r in reds for g in r.vectors}:
        if all(u in skip for u in em.uses.get(g.result, [])):
            skip.add(g)
    return skip


def emit_dot_reductions(em: NumbaEmitter, loop: Op, reds: list[DotReduction]) -> None:
    """After the loop (accumulators hold their initial values): add the dots."""
    lb, ub = em.name(loop.operands[0]), em.name(loop.operands[1])
    hi = f"hi_{em.counter}"
    em.counter += 1
    em.line(f"{hi} = max({ub}, {lb})")
    for r in reds:
        dots = []
        for g in r.vectors:
            items = []
            base = em.name(g.operands[0])
            for axis, it in enumerate(g.attrs["index"][:-1]):
                x = it[1]
                i = em.name(g.operands[x[1]]) if isinstance(x, tuple) else repr(x)
                # an index not proven in range raises as the loop would: when it runs
                items.append(f"(checked_index({i}, {base}.shape[{axis}]) if {hi} > {lb} else 0)"
                             if g in em.unchecked else i)
            items.append(f"{lb}:{hi}")
            dots.append(f"{base}[{', '.join(items)}]")
        # constants are written out: one defined in the loop body is unbound when it never ran
        scalars = [em.name(s) if _const(s) is None else em.const_text(_const(s), s.type) for s in r.scalars]
        prod = " * ".join(scalars + [f"np.dot({dots[0]}, {dots[1]})"])
        a = em.name(r.acc)
        sign = "-" if r.op.name == "mc.sub" else "+"
        em.line(f"{a} = {a} {sign} np.{'float32' if r.acc.type.dtype == 'f32' else 'float64'}({prod})")
    em.stats["dot_reductions"] = em.stats.get("dot_reductions", 0) + len(reds)
