"""Which innermost loops carry no dependence through memory.

A loop such as Floyd-Warshall's `for j in range(N): path[i, j] = min(path[i, j],
dik + path[k, j])` reads row k and writes row i of one array. Row i and row k are one
row when i == k, so LLVM, which cannot tell the two rows apart, keeps the loop scalar.
Yet no iteration touches an element another iteration touches: in both accesses the
column is the loop variable itself, so different iterations reach different columns
whatever the rows are. Such a loop may run its iterations in any order, and a lowering
can say so (LLVM's `llvm.loop.parallel_accesses`).

The test, per array written in the loop: for every store and every access of that
array (the store itself included), some axis indexes both with the same affine form
`a * j + c` of the loop variable j (a != 0, c invariant in the loop), provably in
range and not negative (a negative index wraps, so `j - 3` at j = 0 and j = N - 3 is
one element). Then two different iterations reach different elements. Arrays that
may share memory with each other are the caller's business: the test sees each
array's accesses only.
"""

from __future__ import annotations

from collections.abc import Callable

from .index_bounds import IndexRanges, access_is_safe
from .ir import Op, Region, Value
from .types import Dim

_NESTED = frozenset({"mc.for", "mc.while", "mc.break", "mc.continue"})


def independent_loops(region: Region, rs: IndexRanges, root_of: Callable[[Value], Value]) -> set[Op]:
    """The innermost `mc.for` loops in `region` whose iterations touch distinct elements
    of every array they write (`root_of` names the buffer an array value is)."""
    return {op for op in region.walk()
            if op.name == "mc.for" and is_independent(op, rs, root_of)}


def access_forms(rs: IndexRanges, op: Op) -> tuple[Dim | None, ...]:
    """An element access's indices as exact affine forms (None where one is not)."""
    return tuple(_form(rs, op, k) for k in range(len(op.attrs["index"])))


def is_independent(loop: Op, rs: IndexRanges, root_of: Callable[[Value], Value]) -> bool:
    body = loop.regions[0]
    ops = list(body.walk())
    if any(o.name in _NESTED for o in ops):
        return False
    accesses = [o for o in ops if o.name in ("mc.getitem", "mc.setitem")]
    stores = [o for o in accesses if o.name == "mc.setitem"]
    if not stores or not all(access_is_safe(rs, o) for o in accesses):
        return False
    iv = rs.of(body.args[0])[0]
    if iv is None or len(iv.terms) != 1:
        return False
    iv_sym = iv.terms[0][0]
    forms = {id(o): access_forms(rs, o) for o in accesses}
    inside = [*body.args, *(a for o in ops for r in o.regions for a in r.args), *(v for o in ops for v in o.results)]
    varying = {rs.symbols[id(v)] for v in inside if id(v) in rs.symbols} - {iv_sym}
    facts = rs.loop_facts(stores[0])  # (no loop inside: every access has these loops around it)

    def spread(f: Dim | None) -> bool:  # different iterations, different values, none wrapping
        return f is not None and _injective(f, iv_sym, varying) and rs.nonneg(f, facts)

    by_root: dict[int, list[Op]] = {}
    for o in accesses:
        by_root.setdefault(id(root_of(o.operands[0])), []).append(o)
    for s in stores:
        for x in by_root[id(root_of(s.operands[0]))]:
            if not any(f == g and spread(f) for f, g in zip(forms[id(s)], forms[id(x)])):
                return False
    return True


def _form(rs: IndexRanges, op: Op, k: int) -> Dim | None:
    """Index k of an access as an exact affine form, else None."""
    kind, ref = op.attrs["index"][k][:2]
    if kind != "int":
        return None
    if not isinstance(ref, tuple):
        return Dim(int(ref))
    lo, hi = rs.of(op.operands[ref[1]])
    return lo if lo is not None and lo == hi else None


def _injective(f: Dim, iv_sym: str, varying: set[str]) -> bool:
    terms = dict(f.terms)
    return terms.get(iv_sym, 0) != 0 and not (set(terms) & varying)


__all__ = ["access_forms", "independent_loops", "is_independent"]
