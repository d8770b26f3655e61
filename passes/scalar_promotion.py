"""Scalar promotion of array elements updated in a loop (register promotion).

`for j in ...: q[i] += A[i, j] * p[j]` reads and writes the same element of `q` on
every iteration. Compiled, that is a load and a store per iteration through memory
that may alias the other arrays, so nothing is kept in a register and the loop is
not vectorized. When the element's index does not change in the loop and the loop
touches the array nowhere else, the element becomes a loop-carried scalar:

    e0 = q[i] if the loop runs else 0
    for j in ...: e = e + A[i, j] * p[j]
    q' = (q with q[i] = e) if the loop runs else q

The guard keeps the meaning exact: a loop that runs zero times reads and writes
nothing (an index that is out of bounds is only an error when the loop runs, and then
the original loop touched it too, since the accesses are not under an `if`). Arrays
are values in the IR, so no other array can observe the element in the meantime.
Only loops nested in another construct are promoted: a top-level `if` would become a
block of its own in the partition.
"""

from __future__ import annotations

from typing import Any

from mcodec.compiler.ir import Function, Module, Op, Region, Value, defined_in, is_inside
from mcodec.compiler.types import ArrayType, ScalarType

from .canonicalize import replace_uses
from .manager import ModulePass


def _const(v: Value) -> Any:
    o = v.owner
    return o.attrs["value"] if isinstance(o, Op) and o.name == "mc.const" else None


def _index_key(op: Op) -> tuple:
    """What an element access selects: the index items and their operand values."""
    n = len(op.attrs["index"])
    refs = [it[1] for it in op.attrs["index"]]
    operands = tuple(op.operands[r[1]] if isinstance(r, tuple) else None for r in refs)
    return tuple((it[0], r if not isinstance(r, tuple) else "v") for it, r in zip(op.attrs["index"], refs)), operands, n


def _plan(loop: Op, k: int) -> tuple[Op, dict[Value, Op]] | None:
    """The promotion of carried array k of `loop`: (an access giving the index, the
    chain of array versions -> the op making each). None when it does not apply."""
    body = loop.regions[0]
    arg = body.args[1 + k]
    if not isinstance(arg.type, ArrayType):
        return None
    inner = defined_in(body)
    users: dict[Value, list[Op]] = {}
    for o in body.walk():
        if o.name in ("mc.break", "mc.continue"):
            return None  # they would carry the array out
        for v in o.operands:
            users.setdefault(v, []).append(o)
    chain: dict[Value, Op] = {}
    todo = [arg]
    key = None
    first: Op | None = None
    rank = arg.type.rank
    while todo:
        cur = todo.pop()
        for u in users.get(cur, []):
            if u.parent is not body:
                return None
            if u.name == "mc.yield":
                if [i for i, v in enumerate(u.operands) if v is cur] != [k]:
                    return None
                continue
            if u.name not in ("mc.getitem", "mc.setitem") or u.operands[0] is not cur:
                return None
            if any(v is cur for v in u.operands[1:]):
                return None
            idx = u.attrs["index"]
            if len(idx) != rank or any(it[0] != "int" for it in idx):
                return None
            if any(v in inner and _const(v) is None for v in u.operands[1:len(u.operands) - (u.name == "mc.setitem")]):
                return None  # the index changes in the loop
            kk = _index_key(u)
            if key is None:
                key, first = kk, u
            elif kk != key:
                return None
            if u.name == "mc.setitem":
                chain[u.result] = u
                todo.append(u.result)
    if first is None:
        return None
    return first, chain


def _zero(dtype: str) -> Any:
    return False if dtype == "bool" else (0.0 if dtype[0] == "f" else (0j if dtype[0] == "c" else 0))


class ScalarPromotion(ModulePass):
    name = "scalar-promotion"

    def apply(self, module: Module) -> None:
        for fn in module.functions.values():
            for op in fn.body.ops:
                for r in op.regions:
                    self._region(fn, r)

    def _region(self, fn: Function, region: Region) -> None:
        for op in list(region.ops):
            for r in op.regions:
                self._region(fn, r)  # innermost loops first
            if op.name != "mc.for" or not isinstance(_const(op.operands[2]), int) or _const(op.operands[2]) == 0:
                continue
            k = 0
            while k < len(op.regions[0].args) - 1:
                plan = _plan(op, k)
                if plan is not None:
                    self._promote(fn, region, op, k, *plan)
                k += 1

    def _promote(self, fn: Function, region: Region, loop: Op, k: int, access: Op,
                 chain: dict[Value, Op]) -> None:
        body = loop.regions[0]
        arg, init, old_res = body.args[1 + k], loop.operands[3 + k], loop.results[k]
        dtype = arg.type.dtype
        st = ScalarType(dtype)
        at = region.ops.index(loop)
        before: list[Op] = []

        # index operands, as values outside the loop (constants in the body are copied)
        n_idx = len(access.attrs["index"])
        idx_vals: list[Value] = []
        for v in access.operands[1:1 + n_idx]:
            c = v.owner
            if isinstance(c, Op) and c.name == "mc.const" and c.parent is not None and is_inside(c, body):
                copy = Op("mc.const", [], [v.type], dict(c.attrs), loc=c.loc, hints=[v.hint])
                before.append(copy)
                v = copy.result
            idx_vals.append(v)
        index = access.attrs["index"]

        lb, ub, step = loop.operands[0], loop.operands[1], _const(loop.operands[2])
        cond = Op("mc.lt" if step > 0 else "mc.gt", [lb, ub], [ScalarType("bool")], loc=loop.loc)
        before.append(cond)
        then_r, else_r = Region(), Region()
        load = then_r.append(Op("mc.getitem", [init, *idx_vals], [st], {"index": index}, loc=access.loc,
                                hints=[arg.hint]))
        then_r.append(Op("mc.yield", [load.result], []))
        zero = else_r.append(Op("mc.const", [], [st], {"value": _zero(dtype), "weak": False}, loc=access.loc))
        else_r.append(Op("mc.yield", [zero.result], []))
        pre = Op("mc.if", [cond.result], [st], {}, [then_r, else_r], loc=loop.loc, hints=[arg.hint])
        before.append(pre)

        # the body: element reads become the scalar, element writes define it
        e = Value(st, arg.hint, body)
        body.args[1 + k] = e
        loop.operands[3 + k] = pre.result
        scalar: dict[Value, Value] = {arg: e}
        renames: dict[Value, Value] = {}
        kept: list[Op] = []
        for o in body.ops:
            if o.name == "mc.getitem" and o.operands[0] in scalar:
                renames[o.result] = scalar[o.operands[0]]
                continue
            if o in chain.values():
                v = renames.get(o.operands[-1], o.operands[-1])
                if v.type != st:  # the store's conversion
                    cast = Op("mc.cast", [v], [st], {"dtype": dtype}, loc=o.loc, hints=[o.result.hint])
                    cast.parent = body
                    kept.append(cast)
                    v = cast.result
                scalar[o.result] = v
                continue
            if o.name == "mc.yield":
                o.operands = [scalar[v] if i == k else v for i, v in enumerate(o.operands)]
            kept.append(o)
        body.ops = kept
        replace_uses(fn, renames)

        # after the loop: store the final element back
        res = Value(st, old_res.hint, loop)
        loop.results[k] = res
        then2, else2 = Region(), Region()
        store = then2.append(Op("mc.setitem", [init, *idx_vals, res], [arg.type], {"index": index},
                                loc=access.loc, hints=[old_res.hint]))
        then2.append(Op("mc.yield", [store.result], []))
        else2.append(Op("mc.yield", [init], []))
        post = Op("mc.if", [cond.result], [old_res.type], {}, [then2, else2], loc=loop.loc,
                  hints=[old_res.hint])
        replace_uses(fn, {old_res: post.result})
        for o in before + [post]:
            o.parent = region
        region.ops[at:at + 1] = before + [loop, post]


