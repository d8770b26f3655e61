"""Innermost loops that read one row of an array and write another, outlined into a
function of their own in the Numba emitter.

In Floyd-Warshall's `for j: if dik + path[k, j] < path[i, j]: path[i, j] = ...`, LLVM
sees two rows of one array at an unknown distance and keeps the loop scalar; its
run-time overlap check, which would let it vectorize, is only made between distinct
pointers. Outlined, the loop takes the array twice (once for the rows it writes, once
for the rows it only reads), so the check is made, per call: rows i and k do not
overlap unless i == k, where the scalar loop runs (45 ms -> 7 ms at N = 500).

The rewrite keeps the meaning whatever the check finds: both parameters are the same
buffer, and only loops whose array updates are all in place (one buffer throughout)
are outlined. loop_dependence.py's test only says where it pays: iterations that
touch distinct elements, so that the check can succeed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcodec.compiler.index_bounds import IndexRanges
from mcodec.compiler.ir import Op, Value, defined_in, is_inside
from mcodec.compiler.loop_dependence import access_forms, is_independent

if TYPE_CHECKING:
    from .numba_backend import NumbaEmitter

# what an outlined body may hold: scalar code and element accesses
_SCALAR_CONTROL = frozenset({"mc.if", "mc.yield"})


def _families(loop: Op) -> dict[Value, Value] | None:
    """Each array value of the loop body -> the array it is the buffer of (outside the
    loop); None when an update is not in place or a branch joins two arrays."""
    body = loop.regions[0]
    fam: dict[Value, Value] = {a: init for a, init in zip(body.args[1:], loop.operands[3:]) if a.is_array}

    def root(v: Value) -> Value | None:
        if v in fam:
            return fam[v]
        o = v.owner
        r: Value | None = v
        if isinstance(o, Op) and o.name == "mc.setitem" and is_inside(o, body):
            r = root(o.operands[0]) if o.attrs.get("inplace") else None
        elif isinstance(o, Op) and o.name == "mc.if" and is_inside(o, body):
            k = o.results.index(v)
            roots = {root(reg.terminator.operands[k]) for reg in o.regions if reg.terminator is not None}
            r = roots.pop() if len(roots) == 1 else None
        if r is not None:
            fam[v] = r
        return r

    for o in body.walk():
        for v in o.results:
            if v.is_array and root(v) is None:
                return None
    term = body.terminator
    for y, a in zip(term.operands if term else [], body.args[1:]):
        if a.is_array and root(y) is not fam[a]:
            return None
    return fam


def plan_outlined_loops(em: NumbaEmitter) -> None:
    """Fill em.outlined: loop -> (the values it uses from outside, in order; {load of a
    second row -> its array})."""
    rs = IndexRanges()
    for loop in em.block.region.walk():
        if loop.name != "mc.for":
            continue
        body = loop.regions[0]
        ops = list(body.walk())
        if any(o.regions and o.name not in _SCALAR_CONTROL for o in ops) or any(
                v.is_array for o in ops if o.name not in ("mc.getitem", "mc.setitem", "mc.if", "mc.yield")
                for v in o.operands + o.results) or any(o.name == "mc.getitem" and o.result.is_array for o in ops):
            continue
        fam = _families(loop)
        if fam is None or not is_independent(loop, rs, lambda v, f=fam: f.get(v, v)):  # type: ignore[misc]
            continue
        inner = defined_in(body)
        free = list(dict.fromkeys(v for o in [loop, *ops] for v in o.operands if v not in inner))
        if any(isinstance(v.owner, Op) and v.owner in em.inlined for v in free):
            continue  # (an inlined expression has no name to pass)
        reads = _second_rows(loop, rs, fam)
        if reads:
            em.outlined[loop] = (free, reads)


def _second_rows(loop: Op, rs: IndexRanges, fam: dict[Value, Value]) -> dict[Op, Value]:
    """The loads of a written array at an index no store of it has -> that array."""
    accesses = [o for o in loop.regions[0].walk() if o.name in ("mc.getitem", "mc.setitem")]
    stored: dict[Value, set] = {}
    for o in accesses:
        if o.name == "mc.setitem":
            stored.setdefault(fam.get(o.operands[0], o.operands[0]), set()).add(access_forms(rs, o))
    out = {}
    for o in accesses:
        root = fam.get(o.operands[0], o.operands[0])
        if o.name == "mc.getitem" and root in stored and access_forms(rs, o) not in stored[root]:
            out[o] = root
    return out


def emit_outlined_loop(em: NumbaEmitter, loop: Op) -> None:
    """`def _mc_loop_k(<values the loop uses>, <second names>)` holding the loop, and
    its call in place of the loop."""
    free, reads = em.outlined[loop]
    seconds: dict[Value, str] = {}
    for root in reads.values():
        seconds.setdefault(root, f"{em.name(root)}_rd")
    for g, root in reads.items():
        em.read_alias[g] = seconds[root]
    params = [em.name(v) for v in free] + list(seconds.values())
    args = [em.name(v) for v in free] + [em.name(root) for root in seconds]
    fname = f"_mc_loop_{len(em.helper_texts)}"
    saved_lines, saved_depth = em.lines, em.depth
    em.lines, em.depth = [f"def {fname}({', '.join(params)}):"], 1
    em.outlining = True
    try:
        em.op(loop)
    finally:
        em.outlining = False
    results = [em.name(r) for r in loop.results]
    em.line(f"return ({''.join(r + ', ' for r in results)})")
    em.helper_texts.append("\n".join(em.lines) + "\n")
    em.lines, em.depth = saved_lines, saved_depth
    em.line(f"{''.join(r + ', ' for r in results) or '_'} = {fname}({', '.join(args)})")
    em.stats["outlined_loops"] = em.stats.get("outlined_loops", 0) + 1
