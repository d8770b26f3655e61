"""Loop unswitching: a loop whose body branches on a value defined outside the loop
(`if causal:` inside `for h in range(H)`) becomes that branch around two copies of
the loop, each with one side of the branch inlined:

    for h: s = ...; if c: s = where(m, x, s); y = f(s)
 ->
    if c: (for h: s = ...; s = where(m, x, s); y = f(s)) else: (for h: s = ...; y = f(s))

The meaning is the same, since the condition cannot change while the loop runs. What it
buys is straight-line loop bodies: the back ends fuse across what was a branch (the
scale, the mask and the row softmax of attention into one pass over the scores).

Only branches at the top of a loop body are taken, whose sides hold no break, continue
or return; bodies up to MAX_LOOP_OPS ops, and at most MAX_PER_FUNCTION unswitchings per
function, so that code grows by a bounded factor.
"""

from __future__ import annotations

from mcodec.compiler.ir import Function, Module, Op, Region, Value, is_inside

from .canonicalize import replace_uses
from .inline import clone_op
from .manager import ModulePass

MAX_LOOP_OPS = 400
MAX_PER_FUNCTION = 4
_EXITS = frozenset({"mc.break", "mc.continue", "mc.return"})


def _invariant(v: Value, loop: Op) -> bool:
    """Whether `v` is defined outside `loop` (a region argument belongs to its op)."""
    owner = v.owner
    if isinstance(owner, Region):
        if owner.parent is loop:
            return False
        owner = owner.parent
    return not (isinstance(owner, Op) and is_inside(owner, loop.regions[0]))


def _candidate(loop: Op) -> Op | None:
    """The first `mc.if` at the top of `loop`'s body that branches on an invariant
    (the loop's size is counted only then: the pass looks at every loop of every build)."""
    for op in loop.regions[0].ops:
        if (op.name == "mc.if" and _invariant(op.operands[0], loop)
                and not any(o.name in _EXITS for r in op.regions for o in r.walk())):
            return op if sum(1 for _ in loop.walk()) <= MAX_LOOP_OPS else None
    return None


def _with_side(loop: Op, branch: Op, side: int, renames: dict[Value, Value]) -> Op:
    """A copy of `loop` whose copy of `branch` is replaced by the ops of its side
    `side`; the branch's results are renamed (into `renames`) to what that side yields."""
    body = loop.regions[0]
    k = body.ops.index(branch)
    copy = clone_op(loop, {})
    cbody = copy.regions[0]
    cbranch = cbody.ops[k]
    region = cbranch.regions[side]
    term = region.terminator
    inlined = region.ops[:-1] if term is not None else list(region.ops)
    for o in inlined:
        o.parent = cbody
    cbody.ops[k:k + 1] = inlined
    if term is not None:
        renames.update(zip(cbranch.results, term.operands))
    return copy


def _unswitch(fn: Function, loop: Op, branch: Op) -> None:
    renames: dict[Value, Value] = {}
    sides = []
    for side in (0, 1):
        copy = _with_side(loop, branch, side, renames)
        region = Region([])
        region.append(copy)
        region.append(Op("mc.yield", list(copy.results), [], {}, [], loc=loop.loc))
        sides.append(region)
    outer = Op("mc.if", [branch.operands[0]], [v.type for v in loop.results], {}, sides, loc=branch.loc,
               hints=[v.hint for v in loop.results])
    home = loop.parent
    assert home is not None
    home.ops[home.ops.index(loop)] = outer
    outer.parent = home
    renames.update(zip(loop.results, outer.results))
    replace_uses(fn, renames)


class LoopUnswitch(ModulePass):
    name = "loop-unswitch"

    def apply(self, module: Module) -> None:
        for fn in module.functions.values():
            for _ in range(MAX_PER_FUNCTION):
                found = next(((loop, b) for loop in fn.walk() if loop.name == "mc.for"
                              and (b := _candidate(loop)) is not None), None)
                if found is None:
                    break
                _unswitch(fn, *found)
