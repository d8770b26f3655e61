"""Boolean-mask indexing for the Numba emitter: `x[mask]` and `y[mask] = s`, where the
mask covers the indexed array's leading axes (all of them, or the first k: `X[keep]`
selects rows of a matrix) and must have their shape.

* a select is two passes over the mask: count, then fill an exactly sized result in
  C order. The fill is branchless (every element is stored at the running count, which
  only advances on a true mask element) into a buffer one element longer, so it
  vectorizes and does not pay for mispredicted branches on a random mask;
* the mask and the selected array may be elementwise expressions computed inside those
  loops (no mask temporary), and an integer `arange` selected by a mask is computed
  from the index (`arange(n)[mask]` never materializes the n-element range);
* elementwise ops that only map the selected values with scalars (`2 * x[mask] + 1`)
  are computed in the fill loop too: one buffer and one pass instead of three
  (`plan_mask_epilogues`), and a concatenation of the selected values with arrays
  computed before is filled in place (the selected values are not copied again);
* a store of a scalar is one loop; when the stored-to array is a fresh `copy(x)` used
  only by this store, copy and store are one pass: `r[i] = s if mask[i] else x[i]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcodec.compiler.ir import Op, Value
from mcodec.compiler.ir_facts import const_of
from mcodec.compiler.types import ArrayType

if TYPE_CHECKING:
    from .numba_backend import NumbaEmitter


def leading_mask(op: Op) -> Value | None:
    """The mask of `x[mask]` / `x[mask] = s` (a scalar s) with a mask over x's first
    axes, else None."""
    if op.name not in ("mc.getitem", "mc.setitem"):
        return None
    items = op.attrs["index"]
    if len(items) != 1 or items[0][0] != "array" or not isinstance(items[0][1], tuple):
        return None
    m = op.operands[items[0][1][1]]
    base = op.operands[0]
    if not isinstance(m.type, ArrayType) or m.type.dtype != "bool" or not 1 <= m.type.rank <= base.type.rank:
        return None
    if op.name == "mc.setitem" and op.operands[-1].is_array:
        return None
    return m


def lowerable_mask(op: Op) -> bool:
    """Whether the Numba back end lowers this boolean-mask index."""
    return leading_mask(op) is not None


def is_int_arange(op: Op) -> bool:
    return (op.name == "mc.arange" and op.attrs["dtype"][0] in "iu"
            and all(v.type.dtype[0] in "iu" for v in op.operands))


def fusable_into_mask(op: Op, v: Value, user: Op) -> bool:
    """Whether `v` (defined by op, used only by `user`) can be computed inside the loops
    of the mask index `user`: as its mask, or as the array a select reads."""
    m = leading_mask(user)
    if m is None:
        return False
    if v is m:
        return True
    return user.name == "mc.getitem" and user.operands[0] is v and v is not m


def arange_elem(em: NumbaEmitter, op: Op, i: str, ctx: object) -> str:
    """Element i of an inlined integer arange; records its length as the loop extent."""
    from .numba_backend import npname

    names = [em.name(v) for v in op.operands]
    start, stop, step = (["0", *names, "1"] if len(names) == 1 else [*names, "1"])[:3] if len(names) < 3 else names
    ctx.shapes.append((0, f"len(range({start}, {stop}, {step}))", None))  # type: ignore[attr-defined]
    return f"np.{npname(op.attrs['dtype'])}({start} + {i} * {step})"


def _mask_loops(em: NumbaEmitter, m: Value, x: Value | None) -> tuple[list[str], str, str | None]:
    """Loop variables over x's axes (the mask's when no x), the mask element (read at
    the leading ones) and the element of x; writes the extent checks (NumPy raises when
    the mask's shape is not that of x's leading axes). `em._mask_sizes`: the extents."""
    from .numba_backend import _Ctx

    k = m.type.rank
    n = x.type.rank if x is not None else k
    ivs = em._ivs(n)
    cm, cx = _Ctx(), _Ctx()
    me = em.elem(m, ivs[:k], list(range(k)), cm)
    xe = em.elem(x, ivs, list(range(n)), cx) if x is not None else None
    ms = em.loop_shape(m.type, cm)
    for p in cm.pre + cx.pre:
        em.line(p)
    if x is not None:
        xs = em.loop_shape(x.type, cx)
        cond = " or ".join(f"{a} != {b}" for a, b in zip(ms, xs))
        em.line(f"if {cond}:")
        em.line("    raise IndexError('boolean index did not match the indexed array')")
        ms = ms + xs[k:]
    em._mask_sizes = ms  # type: ignore[attr-defined]
    return ivs, me, xe


# ops safe to compute on every element, selected or not: none can raise, whatever
# the unselected values are (integer //, % and ** are left out)
EPILOGUE_OPS = frozenset({"mc.add", "mc.sub", "mc.mul", "mc.neg", "mc.pos", "mc.cast", "mc.maximum", "mc.minimum",
                          "mc.bitand", "mc.bitor", "mc.bitxor"})


def plan_mask_epilogues(em: NumbaEmitter) -> None:
    """A select `x[mask]` used only by a chain of elementwise ops, each used only by
    the next and with scalar other operands defined before the select: the chain's
    last value is what the select's fill loop stores (`em.mask_epilogue`), the chain
    is not emitted. The values are the same: mapping then selecting is selecting then
    mapping, and the branchless fill computes the map for unselected elements too,
    which is why only ops that cannot raise qualify."""
    for region_op in [em.block.op, *em.block.region.walk()]:
        for region in region_op.regions:
            pos = {id(o): k for k, o in enumerate(region.ops)}
            for sel in region.ops:
                if sel.name != "mc.getitem" or leading_mask(sel) is None or sel in em.inlined or \
                        sel.result.type.rank != 1:
                    continue
                chain: list[Op] = []
                v = sel.result
                while True:
                    users = em.uses.get(v, [])
                    if len(users) != 1:
                        break
                    u = users[0]
                    if u.name not in EPILOGUE_OPS or id(u) not in pos or not u.result.is_array or \
                            u.result.type.rank != 1 or sum(w is v for w in u.operands) != 1:
                        break
                    others = [w for w in u.operands if w is not v]
                    if any(w.is_array or not _defined_before(w, sel, region, pos) for w in others):
                        break
                    chain.append(u)
                    v = u.result
                last = chain[-1] if chain else None
                if last is not None and last not in em.skip and all(t is not last for t in em.fused_stores.values()):
                    em.mask_epilogue[sel] = chain
                    em.inlined.difference_update(chain)
                    em.skip.update(chain)
                else:
                    v = sel.result
                _plan_concat(em, sel, v, region, pos)


def _plan_concat(em: NumbaEmitter, sel: Op, v: Value, region: Any, pos: dict[int, int]) -> None:
    """`concatenate((a, .., v, .., b))` of the select's value `v` (used by nothing else),
    the other parts defined before the select: the select fills the concatenation's
    buffer between copies of the other parts, so the selected values are not copied
    again."""
    users = em.uses.get(v, [])
    if len(users) != 1:
        return
    c = users[0]
    if c.name != "mc.concatenate" or id(c) not in pos or c.result.type.rank != 1 or c in em.skip or \
            sum(w is v for w in c.operands) != 1:
        return
    if any(w is not v and not _defined_before(w, sel, region, pos) for w in c.operands):
        return
    em.mask_concat[sel] = c
    em.skip.add(c)


def _defined_before(w: Value, sel: Op, region: Any, pos: dict[int, int]) -> bool:
    o = w.owner
    if const_of(w) is not None:
        return True  # written out as a literal where it is used
    if isinstance(o, Op) and o.parent is region:
        return pos[id(o)] < pos[id(sel)]
    return True  # an argument, or defined in an enclosing region (before this one runs)


def _epilogue_text(em: NumbaEmitter, chain: list[Op], sel: Value, text: str) -> str:
    """The chain's last value for one element whose selected value is `text`."""
    v = sel
    for u in chain:
        args = [text if w is v else em.name(w) if const_of(w) is None else em.const_text(const_of(w), w.type)
                for w in u.operands]
        text = em.scalar_expr(u, args)
        v = u.result
    return text


def _copy_parts(em: NumbaEmitter, parts: list[str], buf: str, cnt: str) -> None:
    """Copy arrays into `buf` from position `cnt` on, advancing it."""
    for w in parts:  # loops, not slice stores: see numba_stores.store_as_loops
        j = f"j_{em.counter}"
        em.counter += 1
        em.line(f"for {j} in range({w}.shape[0]):")
        em.line(f"    {buf}[{cnt} + {j}] = {w}[{j}]")
        em.line(f"{cnt} += {w}.shape[0]")


def emit_mask_select(em: NumbaEmitter, op: Op) -> None:
    from .numba_backend import npname

    m = leading_mask(op)
    assert m is not None
    x = op.operands[0]
    ivs, me, xe = _mask_loops(em, m, x)
    sizes: list[str] = em._mask_sizes  # type: ignore[attr-defined]
    chain = em.mask_epilogue.get(op, [])
    value = chain[-1].result if chain else op.result
    D = value.type.dtype
    cat = em.mask_concat.get(op)
    pre = post = []
    if cat is not None:  # the buffer is the concatenation's, the selected values in place
        k = next(j for j, w in enumerate(cat.operands) if w is value)
        pre, post = [em.name(w) for w in cat.operands[:k]], [em.name(w) for w in cat.operands[k + 1:]]
    r = em.name(cat.result if cat is not None else value)
    cnt, buf = f"cnt_{em.counter}", f"buf_{em.counter}"
    em.counter += 1
    d0 = em.depth
    k = m.type.rank
    em.line(f"{cnt} = 0")
    em._open_loops(sizes[:k], ivs[:k], False)
    em.line(f"{cnt} += 1 if {me} else 0")
    em.depth = d0
    if k < x.type.rank:  # whole rows (sub-arrays) selected: copied under a branch
        elem = em.cast(xe or "", x.type, D)
        em.line(f"{buf} = np.empty(({cnt}, {''.join(s + ', ' for s in sizes[k:])}), dtype=np.{npname(D)})")
        em.line(f"advise_huge({buf})")
        em.line(f"{cnt} = 0")
        em._open_loops(sizes[:k], ivs[:k], False)
        em.line(f"if {me}:")
        em.depth += 1
        em._open_loops(sizes[k:], ivs[k:], False)
        em.line(f"{buf}[{cnt}, {', '.join(ivs[k:])}] = {elem}")
        em.depth = d0 + k + 1
        em.line(f"{cnt} += 1")
        em.depth = d0
        em.line(f"{r} = {buf}")
        em.stats["mask_selects"] = em.stats.get("mask_selects", 0) + 1
        return
    extra = "".join(f" + {w}.shape[0]" for w in pre + post)
    em.line(f"{buf} = np.empty({cnt}{extra} + 1, dtype=np.{npname(D)})")
    em.line(f"advise_huge({buf})")
    em.line(f"{cnt} = 0")
    _copy_parts(em, pre, buf, cnt)
    em._open_loops(sizes, ivs, False)
    elem = em.cast(xe or "", x.type, op.result.type.dtype)
    if chain:
        elem = em.cast(_epilogue_text(em, chain, op.result, elem), chain[-1].result.type, D)
        em.stats["mask_epilogue_ops"] = em.stats.get("mask_epilogue_ops", 0) + len(chain)
    em.line(f"{buf}[{cnt}] = {elem}")
    em.line(f"{cnt} += 1 if {me} else 0")
    em.depth = d0
    _copy_parts(em, post, buf, cnt)
    em.line(f"{r} = {buf}[:{cnt}]")
    if cat is not None:
        em.stats["mask_concats"] = em.stats.get("mask_concats", 0) + 1
    em.stats["mask_selects"] = em.stats.get("mask_selects", 0) + 1


def plan_copy_store(em: NumbaEmitter, o: Op, user: Op) -> bool:
    """`r = copy(x)` used only by `r[mask] = s`: both written by the store's loop."""
    if o.name != "mc.copy" or not o.result.is_array or user.name != "mc.setitem":
        return False
    if not user.attrs.get("inplace") or user.operands[0] is not o.result:
        return False
    if leading_mask(user) is None or any(v is o.result for v in user.operands[1:]):
        return False
    em.copy_stores[user] = o
    em.skip.add(o)
    return True


def check_mask_stores(em: NumbaEmitter) -> None:
    """A mask computed inside a store's loop must not read what the store writes
    (NumPy computes the whole mask first): such a mask is materialized instead. The
    stored-to array itself is safe, read at the element about to be written."""
    stores = [o for o in em.block.region.walk()
              if o.name == "mc.setitem" and o.attrs.get("inplace") and leading_mask(o) is not None]
    risky = [o for o in stores if isinstance(leading_mask(o).owner, Op) and leading_mask(o).owner in em.inlined]
    if not risky:
        return
    from mcodec.passes.copy_elision import _Analysis

    from .numba_stores import _leaves

    roots = _Analysis(em.block.fn).roots
    for st in risky:
        m, base = leading_mask(st), st.operands[0]
        broots = roots.get(base, frozenset([base]))
        if any(leaf is not base and roots.get(leaf, frozenset([leaf])) & broots for leaf in _leaves(em, m)):
            em.inlined.discard(m.owner)


def emit_mask_store(em: NumbaEmitter, op: Op) -> None:
    m = leading_mask(op)
    assert m is not None
    base = op.operands[0]
    b, res = em.name(base), em.name(op.result)
    src = em.copy_stores.get(op)
    if src is not None:  # r = copy(x); r[mask] = s: r written from x in one pass
        _select_store(em, op, m, src.operands[0], b)
        if res != b:
            em.line(f"{res} = {b}")
    elif not op.attrs.get("inplace"):  # a new value: one pass from the old one
        _select_store(em, op, m, base, res)
    else:
        v = em.cast(em.name(op.operands[-1]), op.operands[-1].type, base.type.dtype)
        ivs, me, _ = _mask_loops(em, m, base)
        sizes: list[str] = em._mask_sizes  # type: ignore[attr-defined]
        k = m.type.rank
        d0 = em.depth
        em._open_loops(sizes[:k], ivs[:k], False)
        em.line(f"if {me}:")
        em.depth += 1
        em._open_loops(sizes[k:], ivs[k:], False)  # (the rows a mask of fewer axes selects)
        em.line(f"{b}[{', '.join(ivs)}] = {v}")
        em.depth = d0
        if res != b:
            em.line(f"{res} = {b}")
    em.stats["mask_stores"] = em.stats.get("mask_stores", 0) + 1


def _select_store(em: NumbaEmitter, op: Op, m: Value, x: Value, dst: str) -> None:
    """`dst` = a fresh array, s where the mask holds and x elsewhere."""
    from .numba_backend import npname

    val = op.operands[-1]
    D = op.result.type.dtype
    v = em.cast(em.name(val), val.type, D)
    ivs, me, xe = _mask_loops(em, m, x)
    sizes: list[str] = em._mask_sizes  # type: ignore[attr-defined]
    em.line(f"{dst} = np.empty(({''.join(s + ', ' for s in sizes)}), dtype=np.{npname(D)})")
    em.line(f"advise_huge({dst})")
    d0 = em.depth
    par = em.par >= 1 and em.loop_depth == 0
    em._open_loops(sizes, ivs, par)
    em.line(f"{dst}[{', '.join(ivs)}] = {v} if {me} else {em.cast(xe or '', x.type, D)}")
    em.depth = d0
    em.stats["copy_stores"] = em.stats.get("copy_stores", 0) + 1
