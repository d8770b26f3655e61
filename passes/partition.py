"""Partitions each function body into `mc.block` ops: the units that get a strategy.

A block is either a maximal straight-line run of top-level ops ("tensor" block) or one
top-level loop/if with everything nested in it ("loop"/"branch" block). A block
captures values from above and yields its live-outs as results, so a back end can
lower it as a function of its inputs. Its structural id hashes the block's printed IR
with names and source locations erased, so it survives unrelated edits and renames.
"""

from __future__ import annotations

import hashlib

from mcodec.compiler.ir import Function, Module, Op, Region, Value

from .canonicalize import rename_operands
from .manager import ModulePass

CONTROL = ("mc.for", "mc.while", "mc.if")


_UNSTRUCTURAL = ("id", "sid")  # names a block, not its structure


def structural_text(ops: list[Op]) -> str:
    """A region's structure as text, given its ops in walk order: values numbered locally
    and no names or locations, so it is equal for renamed or moved code. In SSA a value
    first met as an operand is defined outside (captured); its type leads the text.
    (Every block of every function is hashed once: the common shapes, one result and
    at most one attribute, take the short paths.)"""
    ids: dict[Value, str] = {}  # local number, as text
    captured: list[str] = []
    lines: list[str] = []
    for op in ops:
        refs = []
        for v in op.operands:
            i = ids.get(v)
            if i is None:
                i = ids[v] = str(len(ids))
                captured.append(str(v.type))
            refs.append(i)
        attrs = op.attrs
        if not attrs:
            text = ""
        elif len(attrs) == 1:
            ((k, a),) = attrs.items()
            text = "" if k in _UNSTRUCTURAL else f"{k}={a!r}"
        else:
            text = ";".join([f"{k}={a!r}" for k, a in sorted(attrs.items()) if k not in _UNSTRUCTURAL])
        res = op.results
        if len(res) == 1:
            ids[res[0]] = str(len(ids))
            results = str(res[0].type)
        else:
            for v in res:
                ids[v] = str(len(ids))
            results = ",".join([str(v.type) for v in res])
        nargs = ""
        if op.regions:
            nargs = ",".join([str(len(r.args)) for r in op.regions])
            for r in op.regions:
                for a in r.args:
                    ids[a] = str(len(ids))
        lines.append(f"{op.name}({','.join(refs)}){{{text}}}:{results}/{nargs}")
    return ",".join(captured) + "\n" + "\n".join(lines)


def structural_id(region: Region, ops: list[Op] | None = None) -> str:
    """`ops`: the region's ops in walk order, when the caller has them already."""
    text = structural_text(list(region.walk()) if ops is None else ops)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _kind(ops: list[Op]) -> str:
    ops = [o for o in ops if o.name != "mc.const"]  # rematerialized constants do not count
    if len(ops) == 1 and ops[0].name in ("mc.for", "mc.while"):
        return "loop"
    if len(ops) == 1 and ops[0].name == "mc.if":
        return "branch"
    return "tensor"


def _rematerialize_constants(groups: list[list[Op]], flats: list[list[Op]],
                             tail: list[Op]) -> tuple[list[list[Op]], list[list[Op]]]:
    """Every group gets its own copy of the top-level constants it uses, so constants
    never cross a block boundary: a back end sees `range(0, n, 1)` with literal bounds
    and step (vectorizable, no trip-count division) instead of run-time arguments.
    A constant stays where it is in its own group when that group uses it, and also
    when the function's return uses it (it must then stay a live-out).
    `flats`: each group's ops with nested ones, in walk order; returned updated."""
    tail_uses = {v for o in tail for sub in o.walk() for v in sub.operands}
    consts = {op.result: op for g in groups for op in g
              if op.name == "mc.const" and op.result not in tail_uses}
    if not consts:
        return groups, flats
    out: list[list[Op]] = []
    out_flats: list[list[Op]] = []
    for group, flat in zip(groups, flats):
        used = list(dict.fromkeys(v for sub in flat for v in sub.operands if v in consts))
        own = {op.result for op in group if op.name == "mc.const"}
        dropped = {op for op in group if op.name == "mc.const" and op.result in consts and op.result not in used}
        body = [op for op in group if op not in dropped]
        copies: dict[Value, Value] = {}
        clones: list[Op] = []
        for v in used:
            if v in own:
                continue
            src = consts[v]
            c = Op("mc.const", [], [v.type], dict(src.attrs), loc=src.loc, hints=[v.hint])
            clones.append(c)
            copies[v] = c.result
        rest = [sub for sub in flat if sub not in dropped] if dropped else flat
        rename_operands(rest, copies)
        if any(op.name != "mc.const" for op in body) or any(op.result in tail_uses for op in body):
            out.append(clones + body)  # a group of nothing but moved constants disappears
            out_flats.append(clones + rest)
    return out, out_flats


class PartitionBlocks(ModulePass):
    name = "partition-blocks"

    def apply(self, module: Module) -> None:
        for fn in module.functions.values():
            self._function(fn)

    def _function(self, fn: Function) -> None:
        groups: list[list[Op]] = []
        tail: list[Op] = []
        for op in fn.body.ops:
            if op.name == "mc.block":
                return  # already partitioned
            if op.name == "mc.return":
                tail.append(op)
            elif op.name in CONTROL:
                groups.append([op])
            elif groups and groups[-1][0].name not in CONTROL:
                groups[-1].append(op)
            else:
                groups.append([op])
        # every op of each group, nested ones included, gathered once: the sweeps
        # below would otherwise walk each group several times
        flats = [[sub for o in group for sub in o.walk()] for group in groups]
        groups, flats = _rematerialize_constants(groups, flats, tail)
        # the last group using each value (len(groups): the return), to find live-outs
        last_use: dict[Value, int] = {}
        for idx, flat in enumerate(flats):
            for sub in flat:
                for v in sub.operands:
                    last_use[v] = idx
        for o in tail:
            for sub in o.walk():
                for v in sub.operands:
                    last_use[v] = len(groups)
        new_ops: list[Op] = []
        renamed: dict[Value, Value] = {}
        for idx, group in enumerate(groups):
            rename_operands(flats[idx], renamed)
            region = Region()
            for op in group:
                region.append(op)
            live_out = [v for v in _defined_in_order(region) if last_use.get(v, -1) > idx]
            region.append(Op("mc.yield", live_out, []))
            first = next((o for o in group if o.name != "mc.const"), group[0])  # not a copied constant
            block = Op("mc.block", [], [v.type for v in live_out], {}, [region],
                       loc=first.loc, hints=[v.hint for v in live_out])
            block.attrs["kind"] = _kind(group)
            block.attrs["id"] = f"{fn.name}.b{idx}"
            block.attrs["sid"] = structural_id(region, flats[idx] + [region.ops[-1]])
            block.parent = fn.body
            renamed.update(zip(live_out, block.results))
            new_ops.append(block)
        for o in tail:
            for sub in o.walk():
                sub.operands = [renamed.get(v, v) for v in sub.operands]
        fn.body.ops = new_ops + tail


def _defined_in_order(region: Region) -> list[Value]:
    """Results of the region's top-level ops, in program order (only these can be
    live-out: values nested in loops and ifs leave them as those ops' results)."""
    return [v for op in region.ops for v in op.results]


def blocks_of(fn: Function) -> list[Op]:
    return [op for op in fn.body.ops if op.name == "mc.block"]
