"""Row fusion for the Numba emitter (with `tensor_fusion`): a run of ops over the rows of
[R, C] arrays, elementwise ops and float reductions along the rows with keepdims, is
one loop over the rows, as a row-wise softmax is written by hand:

    let m = max(x, axis=1, keepdims=true)         for i in range(R):     # prange
    let e = exp(x - m)                                m = <max of row i>
    return e / sum(e, axis=1, keepdims=true)          for j: rb[j] = exp(x[i, j] - m)
                                                      s = <sum of rb>
                                                      for j: out[i, j] = rb[j] / s

Emitted op by op, each whole array is streamed through memory once per op and every
temporary is a full array (e and the row maxima and sums here); fused, a row of the
temporaries stays in L1, and a temporary only the group reads is contracted to a row
buffer (elementwise) or a scalar (reduction), never allocated whole.

Members of rank 1, [R] (a reduction without keepdims, elementwise ops on such rows, a
column `m[:, 0]` of a member), are one scalar per row: `log(sum(exp(x - m), axis=1)) +
m[:, 0]` is computed row by row too.

A member reads another member only at its own row: every member's result has the
group's row extent R (a known dim, not 1), and a member's result reaches a later member
only through operands or inlined producers of the reader's rank with that same leading
dim (a rank-1 row would broadcast along a rank-2 reader's columns), or through a view
that keeps the leading axis whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcodec.compiler.ir import Op, Region, Value
from mcodec.compiler.semantics import ELEMENTWISE
from mcodec.compiler.types import ArrayType, ScalarType, is_one

if TYPE_CHECKING:
    from .numba_backend import NumbaEmitter

ROW_REDUCTIONS = ("sum", "mean", "prod", "max", "min")
FULL = ("slice", None, None, None)
CHUNK = 32  # rows per prange iteration: the row buffers are allocated once per chunk
# scalar ops between members that may run before the group: pure, and raising nothing
# (a scalar getitem or a size check could raise before an error the group raises first)
HOISTABLE = frozenset({"mc.const", "mc.dim", "mc.size"})


@dataclass
class RowGroup:
    members: list[Op]
    hoisted: list[Op]  # pure scalar ops between members, emitted before the loop
    rows: str = ""  # the row extent
    cols: dict[Value, str] = field(default_factory=dict)  # member result -> its inner extent
    reduced: dict[Op, str] = field(default_factory=dict)  # reduction -> its operand's inner extent
    local: set[Value] = field(default_factory=set)  # results only the group reads
    staged: list[str] = field(default_factory=list)  # staging buffers, allocated before the rows
    staged_at: int = 0  # where (a line index and depth)
    staged_depth: int = 0


def _row_reduction(op: Op) -> bool:
    x = op.operands[0]
    axis = op.attrs.get("axis")
    return (op.name[3:] in ROW_REDUCTIONS and isinstance(x.type, ArrayType) and x.type.rank == 2
            and x.type.dtype[0] == "f" and axis is not None and sorted({a % 2 for a in axis}) == [1])


def _candidate(em: NumbaEmitter, o: Op, rows: Any = None) -> bool:
    if o in em.inlined or o in em.skip or o in em.reuse or o in em.gemm or o in em.fused_stores.values() \
            or any(o in chain for chain in em.mask_epilogue.values()):
        return False
    if len(o.results) != 1 or not o.result.is_array or o.result.type.rank not in (1, 2) or o.regions:
        return False
    r = o.result.type.shape[0]
    if r is None or is_one(r) or (rows is not None and r != rows) or o.result.type.shape[-1] is None:
        return False
    return o.name in ELEMENTWISE or _row_reduction(o) or _column(o) is not None


def _column(o: Op) -> int | None:
    """k for `m[:, k]` of a matrix m (k a literal in range): one element per row."""
    if o.name != "mc.getitem" or o.operands[0].type.rank != 2:
        return None
    items = o.attrs["index"]
    if len(items) != 2 or items[0] != FULL or items[1][0] != "int" or not isinstance(items[1][1], int):
        return None
    k, d = items[1][1], o.operands[0].type.shape[1]
    if d is None or not d.is_const or not -d.const <= k < d.const:  # (a symbolic width might not hold k)
        return None
    return k % d.const


def _touches(em: NumbaEmitter, v: Value, members: set[Value]) -> bool:
    """Whether reading `v` reads a member (itself or through inlined producers)."""
    o = v.owner
    return v in members or (isinstance(o, Op) and o in em.inlined and any(_touches(em, u, members) for u in o.operands))


def _reads_rows(em: NumbaEmitter, v: Value, members: set[Value], rows: Any, rank: int) -> bool:
    """Whether reading operand `v` in a member of rank `rank`, at row i, reads members at
    row i only."""
    if not v.is_array or not _touches(em, v, members):
        return True
    if v.type.rank != rank or v.type.shape[0] != rows:
        return False
    o = v.owner
    if v in members or not isinstance(o, Op):
        return True
    if o.name == "mc.getitem":  # a view keeping the leading axis whole: `m[:, 0]`
        items = o.attrs["index"]
        base = o.operands[0]
        return bool(items) and items[0] == FULL and base.type.rank == 2 and base.type.shape[0] == rows and \
            all(it[0] in ("int", "slice") and all(not isinstance(x, tuple) for x in it[1:]) for it in items) and \
            _reads_rows(em, base, members, rows, 2)
    return o.name in ELEMENTWISE and all(_reads_rows(em, u, members, rows, rank) for u in o.operands)


def _users_inside(em: NumbaEmitter, v: Value, group: set[Op], seen: set[Value] | None = None) -> bool:
    """Whether every use of `v` is in the group (through inlined producers)."""
    seen = seen if seen is not None else set()
    if v in seen:
        return True
    seen.add(v)
    for u in em.uses.get(v, []):
        if u in group:
            continue
        if u in em.inlined and u.results and _users_inside(em, u.result, group, seen):
            continue
        return False
    return True


def _extent(em: NumbaEmitter, v: Value, j: int, group: RowGroup, defined: set[Value]) -> str | None:
    """An expression for dim j of v (a member result or operand) before the loop."""
    d = v.type.shape[j]
    if d is not None and d.is_const:
        return str(d.const)
    if v in group.cols and j == 1:
        return group.cols[v]
    if v in defined:
        return f"{em.name(v)}.shape[{j}]"
    o = v.owner
    if isinstance(o, Op) and (o in em.inlined or o in group.members):
        n = v.type.rank
        for u in o.operands:
            k = j - (n - u.type.rank) if u.is_array else -1
            if k >= 0 and u.type.shape[k] == d:
                e = _extent(em, u, k, group, defined)
                if e is not None:
                    return e
    return None


def plan_row_groups(em: NumbaEmitter, region: Region) -> None:
    for o in region.ops:
        for r in o.regions:
            plan_row_groups(em, r)
    ops = region.ops
    pos = {id(o): k for k, o in enumerate(ops)}
    i = 0
    while i < len(ops):
        o = ops[i]
        if not _candidate(em, o):
            i += 1
            continue
        rows = o.result.type.shape[0]
        members, hoisted, results = [o], [], {o.result}
        j = i + 1
        while j < len(ops):
            p = ops[j]
            if p in em.inlined:
                pass
            elif _candidate(em, p, rows) and (
                    all(_reads_rows(em, u, results, rows, p.result.type.rank) for u in p.operands)
                    if p.name in ELEMENTWISE else _reads_rows(em, p.operands[0], results, rows, 2)):
                members.append(p)
                results.add(p.result)
            elif (p.name in ELEMENTWISE or p.name in HOISTABLE) and all(not r.is_array for r in p.results) \
                    and not any(u in results or (isinstance(u.owner, Op) and u.owner in em.inlined) for u in p.operands):
                hoisted.append(p)
            else:
                break
            j += 1
        g = RowGroup(members, [h for h in hoisted if pos[id(h)] < pos[id(members[-1])]])
        if len(members) > 1 and any(_row_reduction(m) for m in members) and _finish(em, g):
            em.row_groups[members[0]] = g
            em.row_skip.update(members[1:])
            em.row_skip.update(g.hoisted)
            i = pos[id(members[-1])] + 1
        else:
            i += 1


def _finish(em: NumbaEmitter, g: RowGroup) -> bool:
    """Extents and contracted results of a group; False where an extent is unknown."""
    first = g.members[0]
    defined = {u for m in g.members for u in m.operands if u.is_array and not (
        isinstance(u.owner, Op) and (u.owner in em.inlined or u.owner in g.members))}
    # inlined producers' operands too
    stack = [u for m in g.members for u in m.operands]
    while stack:
        u = stack.pop()
        if isinstance(u.owner, Op) and u.owner in em.inlined:
            stack.extend(u.owner.operands)
        elif u.is_array and not (isinstance(u.owner, Op) and u.owner in g.members):
            defined.add(u)
    members = set(g.members)
    for m in g.members:
        if _row_reduction(m):  # its operand's extent
            e = _extent(em, m.operands[0], 1, g, defined)
            if e is None:
                return False
            g.reduced[m] = e
        if m.result.type.rank == 2:
            e = "1" if is_one(m.result.type.shape[1]) else _extent(em, m.result, 1, g, defined)
            if e is None:
                return False
            g.cols[m.result] = e
    rows = _extent(em, first.result, 0, g, defined) if first.name in ELEMENTWISE else \
        _extent(em, first.operands[0], 0, g, defined)
    if rows is None:
        return False
    g.rows = rows
    yielded = set(em.block.yielded)
    g.local = {m.result for m in g.members if m.result not in yielded and _users_inside(em, m.result, members)}
    return True


def emit_row_group(em: NumbaEmitter, g: RowGroup) -> None:
    from .numba_backend import EMPTY_REDUCTION_ERRORS, npname

    em.row_emitting = True
    for h in g.hoisted:
        em.op(h)
    em.row_emitting = False
    for m in g.members:
        if m.name[3:] in EMPTY_REDUCTION_ERRORS:  # no identity: NumPy raises for an empty row
            em.line(f"if ({g.reduced[m]}) == 0:")
            em.line(f"    raise ValueError({EMPTY_REDUCTION_ERRORS[m.name[3:]]!r})")
    for m in g.members:
        if m.result not in g.local:
            r = em.name(m.result)
            shape = f"{g.rows}, {g.cols[m.result]}" if m.result.type.rank == 2 else f"{g.rows}, "
            em.line(f"{r} = np.empty(({shape}), dtype=np.{npname(m.result.type.dtype)})")
            em.line(f"advise_huge({r})")
    # inside sequential loops, a large group runs its rows in parallel after a run-time test
    width = next((w for w in [*g.reduced.values(), *g.cols.values()] if w != "1"), "1")
    em.parallel_if(em.nest_parallel([g.rows, width]), lambda par: _row_loops(em, g, par))
    em.stats["row_groups"] = em.stats.get("row_groups", 0) + 1


def _row_loops(em: NumbaEmitter, g: RowGroup, par: bool) -> None:
    from .numba_backend import _Ctx, npname

    i = f"i{em.counter}_r"
    em.counter += 1
    d0 = em.depth
    g.staged = []
    if par:
        ib = f"{i}b"
        em.line(f"for {ib} in prange(({g.rows} + {CHUNK - 1}) // {CHUNK}):")
        em.depth += 1
    buffers = []
    for m in g.members:
        v = m.result
        if v in g.local and m.name in ELEMENTWISE and v.type.rank == 2:
            em.row_local[v] = ("row", f"rb_{em.name(v)}")
            buffers.append(f"rb_{em.name(v)} = np.empty({g.cols[v]}, dtype=np.{npname(v.type.dtype)})")
        elif v in g.local:
            em.row_local[v] = ("scalar", f"rs_{em.name(v)}")
    for b in buffers:
        em.line(b)
    # staging buffers of reductions, known once their loops are written: inserted here
    g.staged_at, g.staged_depth = len(em.lines), em.depth
    if par:
        em.line(f"for {i} in range({ib} * {CHUNK}, min({ib} * {CHUNK} + {CHUNK}, {g.rows})):")
    else:
        em.line(f"for {i} in range({g.rows}):")
    em.depth += 1
    for m in g.members:
        if m.name in ELEMENTWISE:
            _elementwise_row(em, m, i, g)
        elif m.name == "mc.getitem":
            em.line(f"{_target(em, m.result, i, '')} = {em.elem(m.operands[0], [i, str(_column(m))], [0, None], _Ctx())}")
        else:
            _reduction_row(em, m, i, g)
    em.lines[g.staged_at:g.staged_at] = ["    " * g.staged_depth + t for t in g.staged]
    em.depth = d0


def _target(em: NumbaEmitter, v: Value, i: str, j: str) -> str:
    kind, name = em.row_local.get(v, ("", ""))
    if kind == "row":
        return f"{name}[{j}]"
    if kind == "scalar":
        return name
    return f"{em.name(v)}[{i}, {j}]" if v.type.rank == 2 else f"{em.name(v)}[{i}]"


def _elementwise_row(em: NumbaEmitter, op: Op, i: str, g: RowGroup) -> None:
    from .numba_backend import _Ctx

    j = f"j{em.counter}"
    em.counter += 1
    ctx = _Ctx()
    ivs = [i, j][:op.result.type.rank]
    body = em.scalar_expr(op, [em.operand_elem(u, op.result, ivs, [0, 1][:len(ivs)], ctx) for u in op.operands])
    for p in ctx.pre:
        em.line(p)
    if len(ivs) == 1:  # one value per row
        em.line(f"{_target(em, op.result, i, '')} = {body}")
    else:
        em.line(f"for {j} in range({g.cols[op.result]}):")
        em.line(f"    {_target(em, op.result, i, j)} = {body}")
    em.stats["fused_loops"] += 1


def _reduction_row(em: NumbaEmitter, op: Op, i: str, g: RowGroup) -> None:
    from .numba_backend import LANES, _acc_dtype, _costly, _Ctx, npname

    kind = op.name[3:]
    x = op.operands[0]
    xt = x.type
    D = op.result.type.dtype
    acc = _acc_dtype(kind, xt.dtype, D)
    cols = g.reduced[op]
    j = f"j{em.counter}"
    s = f"s_{em.counter}"
    em.counter += 1
    ctx = _Ctx()
    e = em.elem(x, [i, j], [0, 1], ctx)
    lanes = [em.elem(x, [i, f"({j} + {k})"], [0, 1], ctx) for k in range(LANES)]
    for p in ctx.pre:
        em.line(p)
    if _costly(e):
        g.staged.append(f"st_{s} = np.empty({cols}, dtype=np.{npname(acc)})")
        e, lanes, xt = em.stage_row(e, xt, acc, cols, j, f"st_{s}")
    val = em.lane_reduce(kind, acc, s, e, lanes, xt, cols, j)
    if kind == "mean":
        val = f"{s} / ({cols})"
    out = em.cast(f"({val})", ScalarType("f64" if kind == "mean" else acc), D)
    em.line(f"{_target(em, op.result, i, '0')} = {out}")
    em.stats["reduction_loops"] += 1
    em.stats["fused_reductions"] += 1
