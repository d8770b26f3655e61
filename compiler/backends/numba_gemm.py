"""Matrix products accumulated in place by BLAS in the Numba emitter:

    C[...] += alpha * A @ B        (a fused store of `C[...] + alpha * (A @ B)`)
    acc = acc + reshape(A @ B, s)  (a loop-carried accumulator whose buffer is reused)

are one GEMM call with beta = 1 into the destination (runtime_shim/numba_blas.py)
instead of a product temporary as large as the destination plus a pass adding it.
Taken only where the destination holds the left operand already and has exactly the
product's shape (no broadcasting) at run time, where A and B cannot share memory
with it, and where nothing may write A or B between the product and the update; the
general lowering stays as the other branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcodec.compiler.ir import Op, Value

if TYPE_CHECKING:
    from .numba_backend import NumbaEmitter

SIDE_EFFECTS = {"mc.setitem", "mc.call", "mc.return"}


@dataclass
class GemmPlan:
    lhs: Value  # the operand the destination already holds
    matmul: Op
    reshape: Op | None
    alpha: Value | None  # scalar factor of the product
    negate: bool  # lhs - product


def _single_use(em: NumbaEmitter, v: Value, user: Op) -> bool:
    return em.uses.get(v, []) == [user]


def match(em: NumbaEmitter, o: Op) -> GemmPlan | None:
    """`lhs + [alpha *] [reshape](A @ B)` (or lhs - ...) with a 2-D float product."""
    if o.name not in ("mc.add", "mc.sub") or not o.result.is_array or o.result.type.dtype not in ("f32", "f64"):
        return None
    for pos in (1, 0) if o.name == "mc.add" else (1,):
        lhs, t = o.operands[1 - pos], o.operands[pos]
        if lhs.type != o.result.type or not t.is_array or not _single_use(em, t, o):
            continue
        node, user, alpha = t, o, None
        m = node.owner
        if isinstance(m, Op) and m.name == "mc.mul" and m in em.inlined:
            arrays = [v for v in m.operands if v.is_array]
            if len(arrays) == 1:
                alpha = next(v for v in m.operands if not v.is_array)
                node, user = arrays[0], m
        reshape = node.owner if isinstance(node.owner, Op) and node.owner.name == "mc.reshape" else None
        if reshape is not None:
            if not _single_use(em, node, user):
                continue
            node, user = reshape.operands[0], reshape
        mm = node.owner
        if not (isinstance(mm, Op) and mm.name == "mc.matmul" and _single_use(em, node, user)):
            continue
        if node.type.rank != 2 or any(v.type.rank != 2 or v.type.dtype != o.result.type.dtype for v in mm.operands):
            continue
        if _quiet_between(mm, o):
            return GemmPlan(lhs, mm, reshape, alpha, o.name == "mc.sub")
    return None


def _quiet_between(first: Op, last: Op) -> bool:
    """Both in one region, with nothing between them that may write memory."""
    if first.parent is not last.parent or first.parent is None:
        return False
    ops = first.parent.ops
    i, j = ops.index(first), ops.index(last)
    return i < j and not any(x.regions or x.name in SIDE_EFFECTS for x in ops[i + 1:j])


def plan_all(em: NumbaEmitter) -> None:
    """em.gemm[op] for the fused stores and reused accumulators that can use GEMM."""
    from mcodec.passes.copy_elision import _Analysis

    from .numba_stores import _same_slice

    roots = None
    for st, o in em.fused_stores.items():
        p = match(em, o)
        if p is None or not _same_slice(p.lhs, st):
            continue
        if roots is None:
            roots = _Analysis(em.block.fn).roots
        dst = roots.get(st.operands[0], frozenset([st.operands[0]]))
        if any(roots.get(v, frozenset([v])) & dst for v in p.matmul.operands):
            continue  # BLAS must not read what it writes
        _take(em, o, p)
    for o, (u, _) in em.reuse.items():
        p = match(em, o)
        if p is not None and p.lhs is u:
            _take(em, o, p)


def _take(em: NumbaEmitter, o: Op, p: GemmPlan) -> None:
    em.gemm[o] = p
    em.skip.add(p.matmul)  # computed in the general branch only
    if p.reshape is not None:
        em.skip.add(p.reshape)


def _call(em: NumbaEmitter, p: GemmPlan, dst: str) -> tuple[str, str]:
    """(shape condition, GEMM call) for accumulating into the array named dst."""
    a, b = (em.name(v) for v in p.matmul.operands)
    m, n = f"{a}.shape[0]", f"{b}.shape[1]"
    D = p.matmul.result.type.dtype
    alpha = "1.0" if p.alpha is None else em.cast(em.name(p.alpha), p.alpha.type, D)
    alpha = f"-({alpha})" if p.negate else alpha
    if p.reshape is None:
        return f"{dst}.shape[0] == {m} and {dst}.shape[1] == {n}", f"matmul_acc({a}, {b}, {dst}, {alpha}, 1.0)"
    # the destination taken as the (m, n) product in C order: no reshape (which Numba
    # refuses for arrays not known to be contiguous at compile time)
    dims = [em.name(v) for v in p.reshape.operands[1:]]
    cond = " and ".join(f"{dst}.shape[{k}] == {d}" for k, d in enumerate(dims))
    cond += f" and {' * '.join(dims)} == {m} * {n} and {dst}.flags.c_contiguous"
    return cond, f"matmul_acc_into({a}, {b}, {dst}, {alpha}, 1.0)"


def _general(em: NumbaEmitter, op: Op, emit: object) -> None:
    """The product (and reshape) as usual, then the usual lowering of op."""
    p = em.gemm.pop(op)
    try:
        em.op_matmul(p.matmul)
        if p.reshape is not None:
            em.op_reshape(p.reshape)
        emit(op)  # type: ignore[operator]
    finally:
        em.gemm[op] = p


def emit_store(em: NumbaEmitter, st: Op) -> None:
    """A fused store `C[idx] = C[idx] + alpha * A @ B` as GEMM when the shapes allow."""
    from .numba_stores import emit_fused_store

    o = em.fused_stores[st]
    p = em.gemm[o]
    dst = f"dst_{em.counter}"
    em.counter += 1
    b, res = em.name(st.operands[0]), em.name(st.result)
    em.line(f"{dst} = {b}[{em.index_text(st)}]")
    cond, call = _call(em, p, dst)
    em.line(f"if {cond}:")
    em.line(f"    {call}")
    em.line("else:")
    em.depth += 1
    _general(em, o, lambda _: emit_fused_store(em, st))
    em.depth -= 1
    if res != b:
        em.line(f"{res} = {b}")
    em.stats["gemm_updates"] = em.stats.get("gemm_updates", 0) + 1


def emit_update(em: NumbaEmitter, op: Op) -> None:
    """`acc = acc + A @ B` into acc's own buffer (see numba_reuse.py) as GEMM."""
    u, flag = em.reuse[op]
    r, lhs = em.name(op.result), em.name(u)
    cond, call = _call(em, em.gemm[op], lhs)
    em.line(f"if {flag} and {cond}:")
    em.line(f"    {r} = {lhs}")
    em.line(f"    {call}")
    em.line("else:")
    em.depth += 1
    _general(em, op, em.elementwise_loop)
    em.depth -= 1
    em.stats["gemm_updates"] = em.stats.get("gemm_updates", 0) + 1
