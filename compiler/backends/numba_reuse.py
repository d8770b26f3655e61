"""Loop-carried accumulators updated in place by the Numba emitter.

`for ...: acc = acc + x` is a new array per iteration in meaning, and lowered
naively it allocates (and page-faults) a fresh array every time. When the old value
dies at the update (its only use), the result only flows back into the same loop slot
(through the yields of any loops around), nothing else can hold the buffer, so from
the second iteration on the update writes the buffer it allocated itself:

    own = False                        # before the outermost loop of the chain
    for ...:
        if own and acc.shape == <result shape>:
            new = acc                  # read and written at the same element
        else:
            new = np.empty(...); own = True
        for i...: new[i] = acc[i] + x[i]

The first iteration still allocates: the initial value comes from outside the loop
(maybe from outside the block) and may be shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcodec.compiler.ir import Op, Region, Value

if TYPE_CHECKING:
    from .numba_backend import NumbaEmitter


def _loop_slot(v: Value) -> tuple[Op, int] | None:
    """(loop, carried position) when v is a carried argument of an mc.for body."""
    r = v.owner
    if isinstance(r, Region) and isinstance(r.parent, Op) and r.parent.name == "mc.for" and v in r.args[1:]:
        return r.parent, r.args.index(v) - 1
    return None


def _only_use(em: NumbaEmitter, v: Value, user: Op) -> bool:
    users = em.uses.get(v, [])
    return bool(users) and all(u is user for u in users)


def _yields_back(em: NumbaEmitter, loop: Op, pos: int, v: Value) -> bool:
    """`v` is used only by the loop's yield, in slot `pos`."""
    term = loop.regions[0].terminator
    return (term is not None and term.name == "mc.yield" and len(term.operands) > pos
            and term.operands[pos] is v and _only_use(em, v, term))


def plan_reuse(em: NumbaEmitter, o: Op) -> tuple[Value, Op] | None:
    """For an elementwise op: the carried operand whose buffer it may reuse and the
    outermost loop of the chain (where the ownership flag starts), else None."""
    for u in dict.fromkeys(o.operands):
        slot = _loop_slot(u)
        if slot is None or u.type != o.result.type or not _only_use(em, u, o):
            continue
        loop, pos = slot
        if not _yields_back(em, loop, pos, o.result):
            continue
        outer = loop
        while True:  # through loops around that only pass the value back in the same slot
            init = outer.operands[3 + pos]
            up = _loop_slot(init)
            if up is None or not _only_use(em, init, outer) or not _yields_back(em, up[0], up[1], outer.results[pos]):
                break
            outer, pos = up
        return u, outer
    return None


def plan_all(em: NumbaEmitter) -> None:
    """Records the reusable updates of the block: em.reuse[op] = (operand, flag)."""
    from mcodec.compiler.semantics import ELEMENTWISE

    for o in em.block.region.walk():
        if o.name in ELEMENTWISE and o.results and o.result.is_array and o not in em.inlined:
            plan = plan_reuse(em, o)
            if plan is not None:
                flag = f"own_{len(em.reuse)}"
                em.reuse[o] = (plan[0], flag)
                em.reuse_flags.setdefault(plan[1], []).append(flag)


def emit_result_buffer(em: NumbaEmitter, op: Op, sizes: list[str], dtype: str) -> None:
    """`r = <buffer>` for an elementwise loop: the carried operand's when it is ours."""
    r = em.name(op.result)
    alloc = [f"{r} = np.empty(({''.join(s + ', ' for s in sizes)}), dtype=np.{dtype})", f"advise_huge({r})"]
    plan = em.reuse.get(op)
    if plan is None:
        for line in alloc:
            em.line(line)
        return
    u, flag = plan
    name = em.name(u)
    same = " and ".join(f"{name}.shape[{k}] == {s}" for k, s in enumerate(sizes)) or "True"
    em.line(f"if {flag} and {same}:")
    em.line(f"    {r} = {name}")
    em.line("else:")
    for line in alloc:
        em.line("    " + line)
    em.line(f"    {flag} = True")
    em.stats["reused_buffers"] = em.stats.get("reused_buffers", 0) + 1
