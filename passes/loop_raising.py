"""Loop raising: matrix products written as loop nests become tensor ops (BLAS).

Four rewrites, applied innermost loop first:

1. *Accumulation into a slice* (a rank-1 update per iteration):

       for k in range(lo, hi): R[idx] += s * P[.., k, ..] * M[k, cols]
   ->  R[idx] = R[idx] + s * (P[.., lo:hi', ..] @ M[lo:hi', cols])      hi' = max(hi, lo)

2. *Row map*, only when the body holds a matrix product (otherwise the loop is
   already what a compiled back end wants; a product of a matrix per row becomes one
   product of the stacked rows):

       for i in range(lo, hi): <statements reading and writing row i only>
   ->  the statements once, on rows lo:hi' (every value that depends on i gains a
       leading axis; lower-rank operands get `newaxis` so broadcasting still lines up)

3. *Dot reductions* (float accumulators, nothing else in the body):

       for j in range(lo, hi): t += c * X[.., j] * y[j]
   ->  t = t + c * (X[.., lo:hi'] @ y[lo:hi'])

   only along a last axis (a strided vector would be copied for BLAS: no gain), and
   the row map (2) then makes a loop of such rows one matrix-vector product;

4. *Row reduction* (a float vector accumulating a per-row scalar times a row):

       for i in range(lo, hi): y += c * t_i * M[i, :]      t_i liftable by (2)
   ->  y = y + c * (<t_i over the rows> @ M[lo:hi', :])

so PolyBench's gemm nest (`C[i, :] *= beta; for k: C[i, :] += alpha * A[i, k] *
B[k, :]`) becomes `C = C * beta; C += alpha * (A @ B)`.

Why the rewrites keep the meaning: arrays are values, so an array read in the loop and
not carried by it is the same in every iteration; the loop starts at a provably
non-negative index with step 1, so `lo:hi'` is exactly the range (the `max` keeps a
negative end from wrapping); (1) needs the slice's integer indices provably in bounds,
since the rewrite reads R[idx] even when the loop runs zero times, and so does (3) for
the indices besides the loop variable; (2) accesses carried arrays at row i only, so
iterations are independent and the statements may run one after the other over all
rows; nothing hoisted out of a loop can raise. Floats may differ by reassociation, as
with NumPy's own products.
"""

from __future__ import annotations

from typing import Any

from mcodec.compiler.index_bounds import IndexRanges, access_is_safe
from mcodec.compiler.ir import Module, Op, Region, Value, defined_in
from mcodec.compiler.ir_facts import const_of, in_bounds, non_negative
from mcodec.compiler.semantics import ELEMENTWISE
from mcodec.compiler.types import ArrayType, Dim, ScalarType

from .canonicalize import DCE, rename_operands, replace_uses
from .manager import ModulePass

FLOATS = ("f16", "f32", "f64")
FULL = ("slice", None, None, None)


# ---- building ops --------------------------------------------------------------------
def _decode(op: Op) -> list[tuple]:
    """An indexing op's items with operand references replaced by the values."""
    return [tuple(op.operands[x[1]] if isinstance(x, tuple) else x for x in it) for it in op.attrs["index"]]


def _encode(items: list[tuple], first: int = 1) -> tuple[tuple, list[Value]]:
    """Items with values -> (index attr, index operands), operands numbered from `first`."""
    operands: list[Value] = []
    out = []
    for it in items:
        parts: list[Any] = [it[0]]
        for x in it[1:]:
            if isinstance(x, Value):
                operands.append(x)
                parts.append(("v", first + len(operands) - 1))
            else:
                parts.append(x)
        out.append(tuple(parts))
    return tuple(out), operands


def _getitem(base: Value, items: list[tuple], t: Any, loc: Any, hint: str = "") -> Op:
    index, operands = _encode(items)
    return Op("mc.getitem", [base, *operands], [t], {"index": index}, loc=loc, hints=[hint])


def _setitem(base: Value, items: list[tuple], value: Value, loc: Any, hint: str = "") -> Op:
    index, operands = _encode(items)
    return Op("mc.setitem", [base, *operands, value], [base.type], {"index": index}, loc=loc, hints=[hint])


def _rank(v: Value) -> int:
    return v.type.rank if isinstance(v.type, ArrayType) else 0


def _shape(v: Value) -> tuple:
    return v.type.shape if isinstance(v.type, ArrayType) else ()


def _uses(body: Region) -> dict[Value, list[Op]]:
    """The ops of `body` (top level) that use each value."""
    uses: dict[Value, list[Op]] = {}
    for o in body.ops:
        for v in o.operands:
            uses.setdefault(v, []).append(o)
    return uses


def _invariant(v: Value, inner: set[Value]) -> bool:
    return v not in inner or const_of(v) is not None


def _range_dim(loop: Op, base: Value | None = None, axis: int = 0) -> Any:
    """The symbolic length of `lo:hi'` for `range(0, dim)`: that dim, when `base` (if
    given) has it at `axis` too, so that `lo:hi'` is all of the axis (else unknown; a longer or shorter base is an error the
    loop would have raised, and a type must not hide it from a lowering)."""
    ub = loop.operands[1].owner
    if const_of(loop.operands[0]) != 0 or not isinstance(ub, Op) or ub.name != "mc.dim":
        return None
    src = ub.operands[0].type
    d = src.shape[ub.attrs["axis"] % src.rank]
    if base is not None and (not isinstance(base.type, ArrayType) or base.type.shape[axis] != d):
        return None
    return d


def _iv_indices_in_bounds(loop: Op) -> bool:
    """Every element access indexed by the loop variable is provably in range: a raised
    loop reads the slice `lo:hi'`, which a range past the axis's end would silently
    shorten where the loop raises IndexError."""
    iv = loop.regions[0].args[0]
    for o in loop.walk():
        if o.name not in ("mc.getitem", "mc.setitem"):
            continue
        axis = 0
        for it in o.attrs["index"]:
            if it[0] == "int" and isinstance(it[1], tuple) and o.operands[it[1][1]] is iv \
                    and not in_bounds(iv, o.operands[0], axis) and not access_is_safe(IndexRanges(), o):
                return False
            axis += it[0] != "newaxis"
    return True


def _unit_loop(loop: Op) -> bool:
    return const_of(loop.operands[2]) == 1 and non_negative(loop.operands[0])


# ---- 1. accumulation into a slice --------------------------------------------------------
def _product(v: Value, body: Region, iv: Value, inner: set[Value], uses: dict[Value, list[Op]],
             dtype: str, parts: dict[str, list]) -> bool:
    """Splits a product into invariant scalars, one element load `P[.., iv, ..]` and
    one row load `M[iv, ...]` (into `parts`)."""
    if _invariant(v, inner):
        if isinstance(v.type, ScalarType) and v.type.dtype == dtype:
            parts["scalars"].append(v)
            return True
        return False
    o = v.owner
    if not isinstance(o, Op) or o.parent is not body or len(uses.get(v, [])) != 1 or v.type.dtype != dtype:
        return False
    if o.name == "mc.mul":
        parts["muls"].append(o)
        return all(_product(x, body, iv, inner, uses, dtype, parts) for x in o.operands)
    if o.name != "mc.getitem" or o.operands[0] in inner:
        return False
    items = _decode(o)
    if any(it[0] not in ("int", "slice") for it in items):
        return False
    if any(x is not iv and isinstance(x, Value) and not _invariant(x, inner) for it in items for x in it[1:]):
        return False
    at = [k for k, it in enumerate(items) if it[0] == "int" and it[1] is iv]
    if len(at) != 1 or any(it[0] == "slice" and any(x is iv for x in it[1:]) for it in items):
        return False
    if isinstance(o.result.type, ScalarType) and all(it[0] == "int" for it in items):
        parts["elems"].append((o, at[0]))
        return True
    if _rank(o.result) == 1 and at[0] == 0:
        parts["rows"].append(o)
        return True
    return False


Raised = tuple[list[Op], list[Value]]  # the ops replacing a loop, the values replacing its results


def raise_accumulation(loop: Op) -> Raised | None:
    body = loop.regions[0]
    if not _unit_loop(loop) or len(body.args) != 2 or not body.args[1].is_array:
        return None
    iv, a = body.args
    term = body.terminator
    if term is None or term.name != "mc.yield" or any(o.regions for o in body.ops):
        return None
    dtype = a.type.dtype
    if dtype not in FLOATS:
        return None
    inner = defined_in(body)
    uses = _uses(body)
    st = term.operands[0].owner
    if not isinstance(st, Op) or st.name != "mc.setitem" or st.operands[0] is not a or uses.get(st.result) != [term]:
        return None
    u = st.operands[-1].owner
    if not isinstance(u, Op) or u.parent is not body or u.name not in ("mc.add", "mc.sub") or \
            uses.get(u.result) != [st]:
        return None
    r = u.operands[0].owner
    other = u.operands[1]
    if u.name == "mc.add" and not (isinstance(r, Op) and r.name == "mc.getitem" and r.operands[0] is a):
        r, other = u.operands[1].owner, u.operands[0]
    if not (isinstance(r, Op) and r.name == "mc.getitem" and r.operands[0] is a and uses.get(r.result) == [u]):
        return None
    idx = _decode(st)
    if _decode(r) != idx or any(it[0] not in ("int", "slice") for it in idx):
        return None
    for axis, it in enumerate(idx):  # read even when the loop runs zero times: must not fail
        if any(isinstance(x, Value) and not _invariant(x, inner) for x in it[1:]):
            return None
        if it[0] == "int" and not (isinstance(it[1], Value) and in_bounds(it[1], a, axis)):
            return None
    parts: dict[str, list] = {"scalars": [], "elems": [], "rows": [], "muls": []}
    if not _product(other, body, iv, inner, uses, dtype, parts) or len(parts["elems"]) != 1 or \
            len(parts["rows"]) != 1:
        return None
    used = {r, st, u, term, *parts["muls"], parts["elems"][0][0], parts["rows"][0]}
    if any(o not in used and o.name != "mc.const" for o in body.ops) or set(uses.get(a, [])) != {r, st}:
        return None
    # the rewrite
    lb, ub = loop.operands[0], loop.operands[1]
    loc = loop.loc
    init = loop.operands[3]
    out: list[Op] = [o for o in body.ops if o.name == "mc.const"]  # leave the loop with their users
    hi = Op("mc.maximum", [ub, lb], [ScalarType("i64")], loc=loc)
    out.append(hi)
    rng = ("slice", lb, hi.result, None)
    e, at = parts["elems"][0]
    e_items = _decode(e)
    e_items[at] = FULL if _range_dim(loop, e.operands[0], at) is not None else rng
    pv = _getitem(e.operands[0], e_items, ArrayType(dtype, (_range_dim(loop, e.operands[0], at),)), e.loc,
                  e.result.hint)
    row = parts["rows"][0]
    m_items = _decode(row)
    m_items[0] = FULL if _range_dim(loop, row.operands[0]) is not None else rng
    mv = _getitem(row.operands[0], m_items, ArrayType(dtype, (_range_dim(loop, row.operands[0]), *_shape(row.result))),
                  row.loc, row.result.hint)
    g = Op("mc.matmul", [pv.result, mv.result], [row.result.type], loc=loc)
    out += [pv, mv, g]
    acc = g.result
    for s in parts["scalars"]:
        m = Op("mc.mul", [s, acc], [row.result.type], loc=loc)
        out.append(m)
        acc = m.result
    r0 = _getitem(init, idx, r.result.type, r.loc, r.result.hint)
    first, second = (r0.result, acc) if u.operands[0].owner is r else (acc, r0.result)
    u0 = Op(u.name, [first, second], [u.result.type], loc=u.loc, hints=[u.result.hint])
    res = _setitem(init, idx, u0.result, st.loc, st.result.hint)
    out += [r0, u0, res]
    return out, [res.result]


# ---- 3. dot reductions -------------------------------------------------------------------------
def _dot_factors(v: Value, body: Region, iv: Value, inner: set[Value], uses: dict[Value, list[Op]],
                 dtype: str, scalars: list[Value], loads: list[tuple[Op, int]], muls: list[Op]) -> bool:
    """Splits a product into invariant scalars and element loads `X[.., iv]` (the
    loop variable in the last axis only, every other index invariant and provably in bounds,
    since the raised slice is read even when the loop runs zero times)."""
    if _invariant(v, inner):
        if isinstance(v.type, ScalarType) and v.type.dtype == dtype:
            scalars.append(v)
            return True
        return False
    o = v.owner
    if not isinstance(o, Op) or o.parent is not body or v.type != ScalarType(dtype):
        return False
    if o.name == "mc.mul":
        if len(uses.get(v, [])) != 1:
            return False
        muls.append(o)
        return all(_dot_factors(x, body, iv, inner, uses, dtype, scalars, loads, muls) for x in o.operands)
    if o.name != "mc.getitem" or o.operands[0] in inner:
        return False
    base, items = o.operands[0], _decode(o)
    if not isinstance(base.type, ArrayType) or len(items) != base.type.rank or any(it[0] != "int" for it in items):
        return False
    at = [k for k, it in enumerate(items) if it[1] is iv]
    if at != [len(items) - 1]:  # a strided vector: BLAS would copy it, a loop is as good
        return False
    if any(k != at[0] and not (isinstance(it[1], Value) and _invariant(it[1], inner) and in_bounds(it[1], base, k))
           for k, it in enumerate(items)):
        return False
    loads.append((o, at[0]))
    return True


def raise_dots(loop: Op) -> Raised | None:
    """`for j in range(lo, hi): t += c * X[.., j] * y[j]` (any number of float
    accumulators, nothing else in the body) -> `t = t + c * (X[.., lo:hi'] @ y[lo:hi'])`.
    A loop of such rows is then a matrix-vector product for the row map (2)."""
    body = loop.regions[0]
    if not _unit_loop(loop) or any(o.regions for o in body.ops):
        return None
    iv, accs = body.args[0], body.args[1:]
    term = body.terminator
    if not accs or term is None or term.name != "mc.yield":
        return None
    if any(not isinstance(a.type, ScalarType) or a.type.dtype not in ("f32", "f64") for a in accs):
        return None
    inner = defined_in(body)
    uses = _uses(body)
    used: set[Op] = {term}
    plans = []  # per accumulator: (the add/sub, its invariant scalars, its two loads)
    for k, acc in enumerate(accs):
        dtype = acc.type.dtype
        u = term.operands[k].owner
        if not isinstance(u, Op) or u.parent is not body or u.name not in ("mc.add", "mc.sub") or \
                uses.get(acc) != [u] or uses.get(u.result) != [term] or \
                sum(v is u.result for v in term.operands) != 1 or u.result.type != ScalarType(dtype):
            return None
        if u.name == "mc.sub" and u.operands[0] is not acc:
            return None
        other = u.operands[1] if u.operands[0] is acc else u.operands[0]
        scalars: list[Value] = []
        loads: list[tuple[Op, int]] = []
        muls: list[Op] = []
        if not _dot_factors(other, body, iv, inner, uses, dtype, scalars, loads, muls) or len(loads) != 2:
            return None
        used |= {u, *muls, *(g for g, _ in loads)}
        plans.append((u, scalars, loads))
    # every other op is a constant; a load is used by the products only
    if any(o not in used and o.name != "mc.const" for o in body.ops):
        return None
    if any(o not in used for g, _ in (ld for p in plans for ld in p[2]) for o in uses.get(g.result, [])):
        return None
    lb, ub = loop.operands[0], loop.operands[1]
    loc = loop.loc
    out: list[Op] = [o for o in body.ops if o.name == "mc.const"]
    hi = Op("mc.maximum", [ub, lb], [ScalarType("i64")], loc=loc)
    out.append(hi)
    sliced: dict[Op, Value] = {}  # a load -> its vector over the range (shared by accumulators)
    finals: list[Value] = []
    for (u, scalars, loads), init, acc0 in zip(plans, loop.operands[3:], accs):
        dtype = init.type.dtype if isinstance(init.type, ScalarType) else u.result.type.dtype
        vecs = []
        for g, at in loads:
            if g not in sliced:
                items = _decode(g)
                d = _range_dim(loop, g.operands[0], at)
                items[at] = FULL if d is not None else ("slice", lb, hi.result, None)
                s = _getitem(g.operands[0], items, ArrayType(g.result.type.dtype, (d,)), g.loc, g.result.hint)
                out.append(s)
                sliced[g] = s.result
            vecs.append(sliced[g])
        dot = Op("mc.matmul", vecs, [ScalarType(dtype)], loc=loc)
        out.append(dot)
        acc = dot.result
        for s in scalars:
            m = Op("mc.mul", [s, acc], [ScalarType(dtype)], loc=loc)
            out.append(m)
            acc = m.result
        first, second = (init, acc) if u.operands[0] is acc0 else (acc, init)
        n = Op(u.name, [first, second], [u.result.type], loc=u.loc, hints=[u.result.hint])
        out.append(n)
        finals.append(n.result)
    return out, finals


# ---- 2. row map ---------------------------------------------------------------------------------
SAFE_HOIST = {"mc.const", "mc.dim", "mc.size", "mc.transpose"}
SAFE_SCALAR = {"mc.maximum", "mc.minimum", "mc.add", "mc.sub", "mc.mul"}


def _can_hoist(o: Op) -> bool:
    """Ops that cannot fail, so they may run even when the loop would not (array
    arithmetic could fail to broadcast; a scalar load could be out of bounds)."""
    if o.name == "mc.getitem":
        return all(it[0] in ("slice", "newaxis") for it in o.attrs["index"])
    if o.name in SAFE_SCALAR:
        return all(isinstance(v.type, ScalarType) for v in [*o.operands, *o.results])
    return o.name in SAFE_HOIST and not o.regions


def raise_rows(loop: Op) -> Raised | None:
    body = loop.regions[0]
    if not _unit_loop(loop) or any(o.regions for o in body.ops):
        return None
    if not any(o.name == "mc.matmul" for o in body.ops):
        return None  # no BLAS to gain: the loop is what compiled back ends want
    carried = body.args[1:]
    if not carried or any(not v.is_array for v in carried):
        return None
    term = body.terminator
    if term is None or term.name != "mc.yield":
        return None
    lifted = _lift_rows(loop, [o for o in body.ops if o is not term], dict(zip(carried, loop.operands[3:])))
    if lifted is None:
        return None
    out, _, chain = lifted
    finals = [chain.get(v) for v in term.operands]
    if any(f is None for f in finals):
        return None
    return out, finals  # type: ignore[return-value]


def _lift_rows(loop: Op, ops: list[Op], chain: dict[Value, Value]
               ) -> tuple[list[Op], dict[Value, Value], dict[Value, Value]] | None:
    """`ops` (of the loop's body) once over all rows: (the new ops, value depending on
    the loop variable -> its value over all rows, carried array version -> new value),
    or None when some op cannot be lifted. `chain` maps the carried arrays to their
    initial values; they may be read and written at row i only."""
    body = loop.regions[0]
    iv = body.args[0]
    loc = loop.loc
    hi = Op("mc.maximum", [loop.operands[1], loop.operands[0]], [ScalarType("i64")], loc=loc)
    rows = ("slice", loop.operands[0], hi.result, None)
    out: list[Op] = [hi]
    lifted: dict[Value, Value] = {}  # value depending on iv -> the value over all rows

    n_rows = _range_dim(loop)

    def lift_type(v: Value, base: Value | None = None) -> ArrayType:
        d = n_rows if base is None else _range_dim(loop, base)
        return ArrayType(v.type.dtype, (d, *_shape(v)))

    def aligned(v: Value, rank: int) -> Value:
        """Lifted `v`, with axes inserted after the row axis up to `rank` + 1 dims."""
        nv = lifted[v]
        k = rank - _rank(v)
        if k <= 0:
            return nv
        t = ArrayType(v.type.dtype, (nv.type.shape[0], *([Dim(1)] * k), *_shape(v)))
        g = _getitem(nv, [FULL, *([("newaxis",)] * k)], t, loc, v.hint)
        out.append(g)
        return g.result

    def row_items(o: Op) -> list[tuple] | None:
        items = _decode(o)
        if not items or items[0][0] != "int" or items[0][1] is not iv:
            return None
        if any(it[0] not in ("int", "slice") for it in items[1:]):
            return None
        if any(isinstance(x, Value) and (x is iv or x in lifted or x in chain) for it in items[1:] for x in it[1:]):
            return None
        # the whole axis when the loop covers it (a full slice keeps a contiguous layout)
        return [FULL if _range_dim(loop, o.operands[0]) is not None else rows, *items[1:]]

    for o in ops:
        deps = [v for v in o.operands if v is iv or v in lifted or v in chain]
        if not deps:
            if not _can_hoist(o):
                return None
            out.append(o)
            continue
        if o.name == "mc.getitem":
            base = o.operands[0]
            items = row_items(o)
            if items is None or base in lifted:
                return None
            g = _getitem(chain.get(base, base), items, lift_type(o.result, base), o.loc, o.result.hint)
            out.append(g)
            lifted[o.result] = g.result
        elif o.name == "mc.setitem":
            base, val = o.operands[0], o.operands[-1]
            items = row_items(o)
            if items is None or base not in chain or val in chain or val is iv:
                return None
            target_rank = sum(it[0] == "slice" for it in items[1:]) + base.type.rank - len(items)
            nv = aligned(val, target_rank) if val in lifted else val
            s = _setitem(chain[base], items, nv, o.loc, o.result.hint)
            out.append(s)
            chain[o.result] = s.result
        elif o.name in ELEMENTWISE:
            if any(v is iv or v in chain for v in o.operands):
                return None
            rank = _rank(o.result)
            args = [aligned(v, rank) if v in lifted else v for v in o.operands]
            n = Op(o.name, args, [lift_type(o.result)], dict(o.attrs), loc=o.loc, hints=[o.result.hint])
            out.append(n)
            lifted[o.result] = n.result
        elif o.name == "mc.matmul":
            x, y = o.operands
            if _rank(x) == 1 and _rank(y) == 1 and y in lifted and x not in lifted:
                x, y = y, x  # a dot product commutes: the row first
            if x not in lifted or y in lifted or y in chain or y is iv or _rank(y) not in (1, 2):
                return None
            if _rank(x) == 1:  # rows @ y: one matrix product
                n = Op("mc.matmul", [lifted[x], y], [lift_type(o.result)], loc=o.loc, hints=[o.result.hint])
                out.append(n)
                lifted[o.result] = n.result
            elif _rank(x) == 2 and _rank(y) == 2:  # a stack of matrices @ y: stacked into one
                out.extend(_stacked_matmul(lifted[x], y, lift_type(o.result), o))
                lifted[o.result] = out[-1].result
            else:
                return None
        else:
            return None
    return out, lifted, chain


# ---- 4. row reduction ------------------------------------------------------------------------------
def raise_row_reduction(loop: Op) -> Raised | None:
    """`for i in range(lo, hi): y += c * t_i * r_i`, a float scalar t_i and a vector
    r_i that the row map (2) can lift (computed from row i of arrays the loop does not
    write, say `r_i = M[i, :]` and `t_i = dot(r_i, x)`), into a vector y
    -> `t = <t_i over all rows>; R = <r_i over all rows>; y = y + c * (t @ R)`: loop
    distribution, then matrix-vector products (PolyBench's atax: two gemv calls)."""
    body = loop.regions[0]
    if not _unit_loop(loop) or any(o.regions for o in body.ops) or len(body.args) != 2:
        return None
    acc = body.args[1]
    term = body.terminator
    if term is None or term.name != "mc.yield" or not acc.is_array or acc.type.rank != 1 or \
            acc.type.dtype not in ("f32", "f64"):
        return None
    dtype = acc.type.dtype
    inner = defined_in(body)
    uses = _uses(body)
    u = term.operands[0].owner
    if not isinstance(u, Op) or u.parent is not body or u.name not in ("mc.add", "mc.sub") or \
            uses.get(acc) != [u] or uses.get(u.result) != [term] or u.result.type != acc.type:
        return None
    if u.name == "mc.sub" and u.operands[0] is not acc:
        return None
    other = u.operands[1] if u.operands[0] is acc else u.operands[0]
    # other = product of invariant scalars, one row-dependent scalar t and one row M[i]
    scalars: list[Value] = []
    terms: list[Value] = []  # row-dependent factors
    muls: list[Op] = []
    todo = [other]
    while todo:
        v = todo.pop()
        o = v.owner
        if _invariant(v, inner):
            if not (isinstance(v.type, ScalarType) and v.type.dtype == dtype):
                return None
            scalars.append(v)
        elif isinstance(o, Op) and o.parent is body and o.name == "mc.mul" and len(uses.get(v, [])) == 1 and \
                v.type.dtype == dtype:
            muls.append(o)
            todo.extend(o.operands)
        else:
            terms.append(v)
    rows = [v for v in terms if _rank(v) == 1]
    ts = [v for v in terms if _rank(v) == 0]
    if len(rows) != 1 or len(ts) != 1 or any(v.type.dtype != dtype for v in terms):
        return None
    row, t = rows[0], ts[0]
    if not (isinstance(row.owner, Op) and row.owner.name == "mc.getitem"):
        return None  # lifted, a computed row would be a temporary as large as the matrix
    if row.type.shape != acc.type.shape or None in acc.type.shape:
        return None  # (the product is added even when the loop runs zero times: no broadcast to fail)
    skip = {u, *muls, term}
    ops = [o for o in body.ops if o not in skip]
    lifted = _lift_rows(loop, ops, {})
    if lifted is None:
        return None
    out, vals, _ = lifted
    if t not in vals or row not in vals:
        return None
    loc = loop.loc
    prod = Op("mc.matmul", [vals[t], vals[row]], [acc.type], loc=loc)
    out.append(prod)
    r = prod.result
    for s in scalars:
        m = Op("mc.mul", [s, r], [acc.type], loc=loc)
        out.append(m)
        r = m.result
    init = loop.operands[3]
    first, second = (init, r) if u.operands[0] is acc else (r, init)
    n = Op(u.name, [first, second], [acc.type], loc=u.loc, hints=[u.result.hint])
    out.append(n)
    return out, [n.result]


def _stacked_matmul(xs: Value, y: Value, t: ArrayType, o: Op) -> list[Op]:
    """`xs` (n, a, b) @ `y` (b, c) as one (n*a, b) @ (b, c) product, reshaped back."""
    i64 = ScalarType("i64")
    d = [Op("mc.dim", [xs], [i64], {"axis": k}, loc=o.loc) for k in range(3)]
    rows = Op("mc.mul", [d[0].result, d[1].result], [i64], loc=o.loc)
    flat = Op("mc.reshape", [xs, rows.result, d[2].result], [ArrayType(t.dtype, (None, xs.type.shape[2]))],
              loc=o.loc)
    prod = Op("mc.matmul", [flat.result, y], [ArrayType(t.dtype, (None, y.type.shape[1]))], loc=o.loc)
    cols = Op("mc.dim", [y], [i64], {"axis": 1}, loc=o.loc)
    back = Op("mc.reshape", [prod.result, d[0].result, d[1].result, cols.result], [t], loc=o.loc,
              hints=[o.result.hint])
    return [*d, rows, flat, prod, cols, back]


# ---- the pass ------------------------------------------------------------------------------------
class LoopRaising(ModulePass):
    name = "loop-raising"

    def apply(self, module: Module) -> None:
        for fn in module.functions.values():
            renames: dict[Value, Value] = {}
            self._region(fn.body, renames)
            if renames:  # a raised loop leaves its accumulators' initial values dead
                replace_uses(fn, renames)
                DCE().function(fn)

    def _region(self, region: Region, renames: dict[Value, Value]) -> None:
        new_ops: list[Op] = []
        for op in region.ops:
            for r in op.regions:
                self._region(r, renames)
            if op.name == "mc.for":
                # inner rewrites renamed values this loop's body uses: apply them first
                rename_operands(op.walk(), renames)
                raised = raise_accumulation(op) or raise_dots(op) or raise_rows(op) or raise_row_reduction(op)
                if raised is not None and not _iv_indices_in_bounds(op):
                    raised = None  # (the rewrites build new ops and leave the loop as it is)
                if raised is not None:
                    ops, finals = raised
                    renames.update(zip(op.results, finals))
                    for o in ops:
                        o.parent = region
                    new_ops += ops
                    continue
            new_ops.append(op)
        region.ops = new_ops
