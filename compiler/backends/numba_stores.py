"""Fused slice stores for the Numba emitter: `C[i, :] += alpha * A[i, k] * B[k, :]`.

Lowered naively, the right-hand side is an elementwise loop into a fresh temporary and
the store copies it into the slice, one allocation per execution (per inner
iteration in a loop nest). When the stored value is an elementwise expression used
only by the store, the loop writes the slice directly:

    dst = C[i, :]
    if dst.shape[0] == <extent>:          # the store does not broadcast
        for j in range(<extent>): dst[j] = C_row[j] + s * B_row[j]
    else:                                 # it does: the general path
        tmp = ...; C[i, :] = tmp

Writing while reading is only right when no element is read after it was written: every
array the expression reads is either the very slice being written (read at the same
element, just before the write) or cannot share memory with the stored-to array (copy
elision's alias roots tell).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcodec.compiler.ir import Op, Region, Value
from mcodec.compiler.types import ArrayType

if TYPE_CHECKING:
    from .numba_backend import NumbaEmitter


def index_key(op: Op) -> tuple:
    """What an indexing op selects: its index items with their operand values."""
    items = []
    for it in op.attrs["index"]:
        parts = []
        for x in it[1:]:
            parts.append(op.operands[x[1]] if isinstance(x, tuple) else x)
        items.append((it[0], *parts))
    return tuple(items)


def store_rank(op: Op) -> int | None:
    """Rank of the slice an mc.setitem writes (None: an index this lowering skips)."""
    idx = op.attrs["index"]
    if any(it[0] not in ("int", "slice") for it in idx):
        return None
    base_rank = op.operands[0].type.rank
    return sum(it[0] == "slice" for it in idx) + base_rank - len(idx)


def plan_fused_store(em: NumbaEmitter, o: Op, user: Op) -> bool:
    """Whether `o` (elementwise, array result, only used by `user`) is computed
    straight into the slice `user` stores to; records the plan in `em`."""
    if user.name != "mc.setitem" or not user.attrs.get("inplace") or user.operands[-1] is not o.result:
        return False
    if any(v is o.result for v in user.operands[:-1]):
        return False
    if store_rank(user) != o.result.type.rank or o.result.type.rank == 0:
        return False
    em.fused_stores[user] = o
    em.inlined.add(o)
    return True


def check_fused_stores(em: NumbaEmitter) -> None:
    """Drops the planned stores whose expression may read what the store writes."""
    if not em.fused_stores:
        return
    from mcodec.passes.copy_elision import _Analysis

    roots = _Analysis(em.block.fn).roots
    for st, o in list(em.fused_stores.items()):
        base = st.operands[0]
        broots = roots.get(base, frozenset([base]))
        # what a gather reads is read at other elements than the one written: it may
        # share nothing with the destination, not even be the very slice written
        if not all(_leaf_safe(leaf, st, broots, roots) for leaf in _leaves(em, o.result)) or \
                any(roots.get(leaf, frozenset([leaf])) & broots for leaf in _leaves(em, o.result, gathered=True)):
            del em.fused_stores[st]
            em.inlined.discard(o)


def _leaves(em: NumbaEmitter, v: Value, gathered: bool = False) -> list[Value]:
    """The arrays an inlined expression reads (only those read through a gather, its
    base and index array, when `gathered`)."""
    o = v.owner
    if isinstance(o, Op) and o in em.inlined:
        through = o.name == "mc.getitem" and any(it[0] == "array" for it in o.attrs["index"])
        return [x for u in o.operands if u.is_array for x in _leaves(em, u, gathered and not through)]
    return [v] if v.is_array and not gathered else []


def _same_slice(leaf: Value, st: Op) -> bool:
    """`leaf` is the very slice `st` writes (same base value, same index)."""
    g = leaf.owner
    return (isinstance(g, Op) and g.name == "mc.getitem" and g.operands[0] is st.operands[0]
            and index_key(g) == index_key(st))


def _leaf_safe(leaf: Value, st: Op, broots: frozenset, roots: dict) -> bool:
    if _same_slice(leaf, st) or _disjoint_slices(leaf, st):
        return True  # each element is read right before it is written, or never written
    return not (roots.get(leaf, frozenset([leaf])) & broots)


# ---- disjoint parts of one array: `Q[:, k]` read while `Q[:, k + 1:]` is written ----------
def _buffer(v: Value) -> Value:
    """The value whose buffer v is: through in-place stores, which keep the buffer."""
    while isinstance(v.owner, Op) and v.owner.name == "mc.setitem" and v.owner.attrs.get("inplace"):
        v = v.owner.operands[0]
    return v


def _affine(v: Value) -> tuple[Value | None, int]:
    """v as base + constant (base None: a constant)."""
    o = v.owner
    if isinstance(o, Op) and o.name == "mc.const" and isinstance(o.attrs["value"], int):
        return None, int(o.attrs["value"])
    if isinstance(o, Op) and o.name in ("mc.add", "mc.sub"):
        b, c = _affine(o.operands[1])
        if b is None:
            a, ca = _affine(o.operands[0])
            return a, ca + (c if o.name == "mc.add" else -c)
    return v, 0


def _nonneg(v: Value | None, c: int) -> bool:
    """v + c >= 0, known at compile time (v: a constant, or a loop counter counting up
    from a non-negative start)."""
    if v is None:
        return c >= 0
    r = v.owner
    if isinstance(r, Region) and r.args and r.args[0] is v and isinstance(r.parent, Op) \
            and r.parent.name == "mc.for":
        lb, st = (_affine(x) for x in (r.parent.operands[0], r.parent.operands[2]))
        return st[0] is None and st[1] > 0 and c >= 0 and _nonneg(*lb)
    return False


def _bound(op: Op, x: Any) -> tuple[Value | None, int] | None:
    if x is None:
        return None
    return _affine(op.operands[x[1]]) if isinstance(x, tuple) else (None, int(x))


def _axis_disjoint(ra: Op, ia: tuple, rb: Op, ib: tuple) -> bool:
    """Index item ia (an int) of ra and item ib (a unit-step slice) of rb select
    different positions: the int lies before the slice's start (both non-negative)."""
    if ia[0] != "int" or ib[0] != "slice" or ib[3] is not None:
        return False
    k, lo = _bound(ra, ia[1]), _bound(rb, ib[1])
    return k is not None and lo is not None and k[0] is lo[0] and lo[1] > k[1] and _nonneg(*k)


def _disjoint_slices(leaf: Value, st: Op) -> bool:
    """`leaf` indexes the array `st` writes, at positions the store never writes."""
    g = leaf.owner
    if not (isinstance(g, Op) and g.name == "mc.getitem" and _buffer(g.operands[0]) is _buffer(st.operands[0])):
        return False
    if any(it[0] == "newaxis" for it in (*g.attrs["index"], *st.attrs["index"])):
        return False  # items would not line up with the array's axes
    for ia, ib in zip(g.attrs["index"], st.attrs["index"]):
        if _axis_disjoint(g, ia, st, ib) or _axis_disjoint(st, ib, g, ia):
            return True
    return False


def emit_fused_store(em: NumbaEmitter, st: Op) -> None:
    from .numba_backend import _Ctx, npname

    o = em.fused_stores[st]
    val = o.result
    t: Any = val.type
    n = t.rank
    ivs = em._ivs(n)
    # column blocks read and written a row view at a time (unit stride)
    ctx = _Ctx(ivs[0], st.parent) if n == 2 else _Ctx()
    body = em.scalar_expr(o, [em.operand_elem(u, val, ivs, list(range(n)), ctx) for u in o.operands])
    sizes = em.loop_shape(t, ctx)
    base_t: ArrayType = st.operands[0].type
    stored = em.cast(body, t, base_t.dtype)
    for p in ctx.pre:
        em.line(p)
    b, res = em.name(st.operands[0]), em.name(st.result)
    idx = em.index_text(st)
    dst = f"dst_{em.counter}"
    em.counter += 1
    # the very slice read by the expression, if any, is the destination: one pointer for
    # both (two views of the same memory would fail the vectorizer's overlap check)
    same = [v for v in _leaves(em, val) if _same_slice(v, st)]
    em.line(f"{dst} = {em.name(same[0]) if same else f'{b}[{idx}]'}")
    d0 = em.depth
    # shapes known equal (`out[i, :] = f(x[i, :])` over M and M) need no broadcast branch,
    # whose raise would keep a row loop around it from running in parallel
    static = _target_shape(st) == list(t.shape) and None not in t.shape
    if not static:
        em.line("if " + " and ".join(f"{dst}.shape[{k}] == {s}" for k, s in enumerate(sizes)) + ":")
        em.depth += 1
    # the destination's row: the row view of the very slice read, if any (one pointer);
    # else through the base array (unit strides: the loop vectorizes) where the index allows
    drow = em.row_view(same[0], ctx) if same and n == 2 else None
    target = f"{drow}[{ivs[1]}]" if drow else em.base_index(st, ivs) or f"{dst}[{', '.join(ivs)}]"
    em.open_nest(sizes, ivs, ctx, f"{target} = {stored}")
    em.depth = d0
    if static:
        if res != b:
            em.line(f"{res} = {b}")
        em.stats["fused_loops"] += 1
        em.stats["fused_stores"] = em.stats.get("fused_stores", 0) + 1
        return
    em.line("else:  # the store broadcasts")
    em.depth += 1
    tmp = f"tmp_{em.counter}"
    em.counter += 1
    em.line(f"{tmp} = np.empty(({''.join(s + ', ' for s in sizes)}), dtype=np.{npname(t.dtype)})")
    em._open_loops_rows(sizes, ivs, False, ctx)
    em.line(f"{tmp}[{', '.join(ivs)}] = {body}")
    em.depth = d0 + 1
    if not store_as_loops(em, st, b, tmp, t, fresh=True):
        em.line(f"{b}[{idx}] = {tmp}")
    em.depth = d0
    if res != b:
        em.line(f"{res} = {b}")
    em.stats["fused_loops"] += 1
    em.stats["fused_stores"] = em.stats.get("fused_stores", 0) + 1


def _target_shape(st: Op) -> list | None:
    """The static shape of the slice `st` writes, where ints and whole slices select it."""
    base = st.operands[0].type
    dims: list = []
    axis = 0
    for it in st.attrs["index"]:
        if it[0] not in ("int", "slice") or it[0] == "slice" and it[1:] != (None, None, None):
            return None
        if it[0] == "slice":
            dims.append(base.shape[axis])
        axis += 1
    return dims + list(base.shape[axis:])


def view_rank(st: Op) -> int | None:
    """The rank of the view a store writes (`b[idx]` with ints and slices), None when
    the index is not a basic one."""
    items = st.attrs["index"]
    if any(it[0] not in ("int", "slice") for it in items):
        return None
    return st.operands[0].type.rank - sum(it[0] == "int" for it in items)


def store_as_loops(em: NumbaEmitter, st: Op, target: str, src: str, src_t: ArrayType, fresh: bool) -> bool:
    """`target[idx] = src` for an array `src`, broadcast as NumPy does, written as loops;
    False (nothing written) when the index or the ranks do not allow it. Numba's own
    slice store compiles an error path that formats the shapes into its message, about
    4 s of compile time per store; these loops compile in a small fraction of that.
    Unless `src` is a fresh buffer, a source that overlaps the target is read from a
    copy, as in NumPy."""
    n, r = view_rank(st), src_t.rank
    if n is None or r == 0 or r > n:
        return False
    dst, s = f"dst_{em.counter}", f"src_{em.counter}"
    em.counter += 1
    dtype = st.operands[0].type.dtype
    em.line(f"{dst} = {target}[{em.index_text(st)}]")
    em.line(f"{s} = {src}" if fresh else f"{s} = {src}.copy() if overlaps({dst}, {src}) else {src}")
    lead = n - r  # the source's axes line up with the target's last r axes
    ivs = em._ivs(n)
    sizes = [f"{dst}.shape[{k}]" for k in range(n)]
    steps = [f"s{i}" for i in ivs[lead:]]
    d0 = em.depth
    em.line("if " + " and ".join(f"{s}.shape[{k}] == {dst}.shape[{k + lead}]" for k in range(r)) + ":")
    em.depth += 1
    em._open_loops(sizes, ivs, False)
    plain = f"{s}[{', '.join(ivs[lead:])}]"
    into = em.base_index(st, ivs, target) or f"{dst}[{', '.join(ivs)}]"
    em.line(f"{into} = {em.cast(plain, src_t, dtype)}")
    em.depth = d0
    em.line("else:  # the source broadcasts")
    em.depth += 1
    em.line("if " + " or ".join(f"({s}.shape[{k}] != 1 and {s}.shape[{k}] != {dst}.shape[{k + lead}])"
                                for k in range(r)) + ":")
    em.line("    raise ValueError('could not broadcast the stored array to the shape of its target')")
    for k, step in enumerate(steps):
        em.line(f"{step} = 0 if {s}.shape[{k}] == 1 else 1")
    em._open_loops(sizes, ivs, False)
    elem = f"{s}[{', '.join(f'{i} * {t}' for i, t in zip(ivs[lead:], steps))}]"
    em.line(f"{dst}[{', '.join(ivs)}] = {em.cast(elem, src_t, dtype)}")
    em.depth = d0
    em.stats["loop_stores"] = em.stats.get("loop_stores", 0) + 1
    return True
