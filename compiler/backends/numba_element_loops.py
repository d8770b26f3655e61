"""Element-major loops: a loop that updates whole arrays elementwise, run element by element.

    for c in coef:                      for each tile of TILE elements (prange):
        acc = acc * z + c        ->         for c in coef:
                                                for e in tile: acc[e] = acc[e] * z[e] + c

Every iteration of such a loop reads and writes each array once (Horner's rule over 24
coefficients: 24 passes over 16 MB arrays); interchanged and tiled, the arrays stay in
L1 between iterations and memory sees one pass. The conditions keep the result exact:
- every array the loop carries has one shape S, every op making an array is elementwise
  with result shape S, and its array operands are carried values, values of this
  iteration or arrays from outside the loop that broadcast to S along known dims (no
  reductions, no indexing of the carried arrays), so element e of an iteration's
  result depends on element e of the previous one only, computed in the same order;
- ops that make scalars read no value of this iteration's arrays: they are computed
  first, in the original loop order (their errors are raised in that order), and the
  ones the element ops use are kept per iteration;
- no element op can raise (an integer power may: not taken), so running the element
  ops after all the scalar ops changes no error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcodec.compiler.ir import Op, Value, defined_in
from mcodec.compiler.semantics import ELEMENTWISE
from mcodec.compiler.types import NUMPY_NAME, ArrayType, is_one

TILE = 512  # elements per tile: a few c128 arrays of it fit in L1


@dataclass
class ElementLoop:
    scalar_ops: list[Op]  # in body order, run in a first loop
    kept: list[Value]  # scalars of the body (and the loop variable) the element ops read
    element_ops: list[Op]


def plan(em: Any, op: Op) -> ElementLoop | None:
    body = op.regions[0]
    carried = body.args[1:]
    if not carried or not all(isinstance(a.type, ArrayType) for a in carried):
        return None
    shape = carried[0].type.shape
    if not shape or any(d is None for d in shape) or any(a.type.shape != shape for a in carried):
        return None
    elements = set(carried)
    scalar_ops: list[Op] = []
    element_ops: list[Op] = []
    for o in body.ops[:-1]:
        if o.regions or not o.results:
            return None
        if any(isinstance(r.type, ArrayType) for r in o.results):
            if not _element_op(o, shape, elements):
                return None
            elements.add(o.result)
            element_ops.append(o)
        elif any(v in elements for v in o.operands):
            return None
        else:
            scalar_ops.append(o)
    if not element_ops or not all(v in elements for v in body.ops[-1].operands):
        return None
    used = {v for o in element_ops for v in o.operands}
    kept = [v for v in [body.args[0], *(r for o in scalar_ops for r in o.results)] if v in used]
    return ElementLoop(scalar_ops, kept, element_ops)


def _element_op(o: Op, shape: tuple, elements: set[Value]) -> bool:
    """An elementwise op of shape `shape`; its array operands other than this
    iteration's element values come from outside the loop (every array made in the
    body is an element value, or the loop is not taken)."""
    if o.name not in ELEMENTWISE or len(o.results) != 1 or o.result.type.shape != shape:
        return False
    if o.name == "mc.pow" and o.result.type.dtype[0] in "iu":  # a negative exponent raises
        return False
    for v in o.operands:
        if isinstance(v.type, ArrayType) and v not in elements and not _broadcasts(v.type.shape, shape):
            return False
    return True


def _broadcasts(a: tuple, shape: tuple) -> bool:
    """An array from outside the loop of shape `a` broadcasts to `shape` along known
    dims: each of its axes is the same size or 1, leading ones may be missing."""
    return 0 < len(a) <= len(shape) and all(x == y or is_one(x) for x, y in zip(a, shape[len(shape) - len(a):]))


def emit(em: Any, op: Op, loop: ElementLoop) -> None:
    body = op.regions[0]
    carried = body.args[1:]
    inits = [em.name(v) for v in op.operands[3:]]
    # (bounds of other integer types as Python ints, as PythonEmitter.op_for writes them)
    lb, ub, st = (em.name(v) if v.type.dtype == "i64" else f"int({em.name(v)})" for v in op.operands[:3])
    k = em.counter
    em.counter += 1
    em._for_op = op  # (range_text reads the step from it)
    em.line(f"# element-major loop (numba_element_loops.py): scalars per iteration, then tiles of {TILE}")
    nt, t = f"nt{k}", f"t{k}"
    rng = em.range_text(lb, ub, st)
    em.line(f"{nt} = len({rng})")  # (a zero step raises here, as range() does)
    kept = {v: f"kept{k}_{j}" for j, v in enumerate(loop.kept)}
    for v, name in kept.items():
        em.line(f"{name} = np.empty({nt}, dtype=np.{_np(v)})")
    if loop.scalar_ops or kept:
        em.line(f"for {t}, {em.name(body.args[0])} in enumerate({rng}):")
        em.depth += 1
        for o in loop.scalar_ops:
            em.op(o)
        for v, name in kept.items():
            em.line(f"{name}[{t}] = {em.name(v)}")
        em.depth -= 1

    # a tile: up to TILE elements of the last axis, times as many rows of the axis before
    # it as fit in TILE (arrays of short rows, (N, 3), still get tiles of TILE elements);
    # leading axes' indices are decoded from the tile number
    rank = len(carried[0].type.shape)
    ext = [f"{inits[0]}.shape[{j}]" for j in range(rank)]
    outs = [f"out{k}_{j}" for j in range(len(carried))]
    for o, a in zip(outs, carried):
        em.line(f"{o} = np.empty(({', '.join(ext)}, ), dtype=np.{_np(a)})")
    ncb, nrb, g = f"ncb{k}", f"nrb{k}", f"g{k}"
    em.line(f"{ncb} = ({ext[-1]} + {TILE - 1}) // {TILE}")
    rows = rank >= 2
    if rows:
        em.line(f"{g} = max(1, {TILE} // max({ext[-1]}, 1))")
        em.line(f"{nrb} = ({ext[-2]} + {g} - 1) // {g}")
    q, rq = f"q{k}", f"r{k}"
    par = em.par >= 1 and em.loop_depth == 0
    em.line(f"for {q} in {'prange' if par else 'range'}({' * '.join([*ext[:-2], *([nrb] if rows else []), ncb])}):")
    em.depth += 1
    lo, w, r0, gr, r, e = f"lo{k}", f"w{k}", f"r0{k}", f"gr{k}", f"rr{k}", f"e{k}"
    em.line(f"{lo} = ({q} % {ncb}) * {TILE}")
    em.line(f"{w} = min({TILE}, {ext[-1]} - {lo})")
    lead = [f"i{k}_{j}" for j in range(rank - 2)]
    if rows:
        em.line(f"{rq} = {q} // {ncb}")
        em.line(f"{r0} = ({rq} % {nrb}) * {g}")
        em.line(f"{gr} = min({g}, {ext[-2]} - {r0})")
        em.line(f"{rq} //= {nrb}")
        for j in reversed(range(rank - 2)):
            em.line(f"{lead[j]} = {rq} % {ext[j]}")
            em.line(f"{rq} //= {ext[j]}")

    # each array's part in the tile as a view: `x[lo + e]` would need Numba's wraparound
    # test of a possibly negative index, which kept the loops scalar; an operand
    # broadcast along an axis has index 0 there
    views: dict[str, str] = {}
    full = carried[0].type.shape
    windows = [*lead, f"{r0}:{r0} + {gr}", f"{lo}:{lo} + {w}"][-rank:]

    def at(array: str, shape: tuple = full) -> str:
        pad = rank - len(shape)
        kept_axes = [ax for ax, d in enumerate(shape, pad) if ax >= rank - 2 and not is_one(d)]
        if array not in views:
            views[array] = f"{array}_t{k}"
            idx = ["0" if is_one(d) else windows[ax] for ax, d in enumerate(shape, pad)]
            em.line(f"{views[array]} = {array}[{', '.join(idx)}]")
        sub = [r if ax == rank - 2 else e for ax in kept_axes]
        return f"{views[array]}[{', '.join(sub)}]" if sub else views[array]

    inner = defined_in(body)
    invariant = {em.name(v): v.type.shape for o in loop.element_ops for v in o.operands
                 if isinstance(v.type, ArrayType) and v not in inner}
    for a in [*inits, *outs]:
        at(a)
    for a, shape in invariant.items():
        at(a, shape)

    def elements() -> str:
        """Open the loops over the tile's elements; their index in the tile buffers."""
        if rows:
            em.line(f"for {r} in range({gr}):")
            em.depth += 1
        em.line(f"for {e} in range({w}):")
        em.depth += 1
        return f"{r} * {w} + {e}" if rows else e

    bufs = {a: f"buf{k}_{j}" for j, a in enumerate(carried)}
    for a, b in bufs.items():
        em.line(f"{b} = np.empty({TILE}, dtype=np.{_np(a)})")
    d0 = em.depth
    i = elements()
    for b, init in zip(bufs.values(), inits):
        em.line(f"{b}[{i}] = {at(init)}")
    em.depth = d0
    em.line(f"for {t} in range({nt}):")
    em.depth += 1
    for v, name in kept.items():
        em.line(f"{em.name(v)} = {name}[{t}]")
    i = elements()
    local: dict[Value, str] = {}
    for a, b in bufs.items():
        local[a] = f"x{k}_{len(local)}"
        em.line(f"{local[a]} = {b}[{i}]")
    for o in loop.element_ops:
        args = [local[v] if v in local else at(em.name(v), v.type.shape) if isinstance(v.type, ArrayType)
                else em.name(v) for v in o.operands]
        local[o.result] = f"x{k}_{len(local)}"
        em.line(f"{local[o.result]} = {em.scalar_expr(o, args)}")
    for b, v in zip(bufs.values(), body.ops[-1].operands):
        em.line(f"{b}[{i}] = {local[v]}")
    em.depth = d0
    i = elements()
    for o, b in zip(outs, bufs.values()):
        em.line(f"{at(o)} = {b}[{i}]")
    em.depth = d0 - 1
    for res, o in zip(op.results, outs):
        em.alias(res, o)
    em.stats["element_loops"] = em.stats.get("element_loops", 0) + 1


def _np(v: Value) -> str:
    return NUMPY_NAME[v.type.dtype]
