"""Copy elision: decides where an array update may happen in place.

Arrays are values in M-CODE, so `mc.setitem` and inout call arguments produce new
arrays in meaning. Writing in place is safe when nothing else can observe the old
contents: the updated buffer is not a read-only parameter, and no value that may share
its memory (a view, an alias through a loop or branch) is used after the update. Uses
inside a loop count until the loop's end, since the next iteration reads them again.
The pass marks `inplace = true` on safe updates; the lowerings copy everywhere else.
"""

from __future__ import annotations

from mcodec.compiler.ir import Function, Module, Op, Region, Value
from mcodec.compiler.semantics import VIEW_OPS
from mcodec.compiler.types import ArrayType

from .manager import ModulePass

LOOPS = ("mc.for", "mc.while")
_VIEW, _CALL, _LOOP, _BRANCH = range(4)  # how a merging op derives its results' root sets
_KINDS = {"mc.setitem": _VIEW, "mc.call": _CALL, "mc.for": _LOOP, "mc.while": _LOOP,
          "mc.if": _BRANCH, "mc.block": _BRANCH}
_EXITS = frozenset({"mc.yield", "mc.break", "mc.continue"})


def _is_view(op: Op) -> bool:
    if op.name not in VIEW_OPS or not op.results[0].is_array:
        return False
    if op.name == "mc.getitem":
        return all(it[0] != "array" for it in op.attrs["index"])
    return True


class _Analysis:
    def __init__(self, fn: Function) -> None:
        self.fn = fn
        self.ops: list[Op] = []  # program order
        self.pos: dict[Op, int] = {}
        self.end: dict[Op, int] = {}
        self.parent_op: dict[Op, Op | None] = {}
        self._loops: dict[Op | None, tuple[Op, ...]] = {None: ()}
        self._def_pos: dict[Value, int] = {}
        # Ops whose root sets depend on others (the rest are fixed), with their kinds:
        # ifs and blocks come after their regions, so that without loops one sweep
        # reaches the fixpoint; loops come before their bodies (their region arguments
        # are read there), as in program order. Gathered by the numbering walk.
        self._merging: list[tuple[int, Op]] = []
        self._loop_exits: dict[Op, list[Op]] = {}
        self._carried_cache: dict[Op, tuple[dict[Value, frozenset[Value]], dict[Value, int], set[tuple[int, int]]]] = {}
        self._number(fn.body, None)
        self.roots = self._roots()

    def roots_of(self, v: Value) -> frozenset[Value]:
        return self.roots.get(v) or frozenset([v])

    def _number(self, region: Region, owner: Op | None) -> None:
        merging = self._merging
        for op in region.ops:
            self.pos[op] = len(self.ops)
            self.parent_op[op] = owner
            self.ops.append(op)
            name = op.name
            if name in _EXITS:
                target = self._exit_target(op)
                if target is not None:
                    self._loop_exits.setdefault(target, []).append(op)
                self.end[op] = self.pos[op]
                continue  # terminators own no regions
            kind = _KINDS.get(name)
            if kind is None:
                if _is_view(op):
                    merging.append((_VIEW, op))
            elif kind != _BRANCH:
                merging.append((kind, op))
            for r in op.regions:
                self._number(r, op)
            self.end[op] = len(self.ops) - 1
            if kind == _BRANCH:
                merging.append((kind, op))

    def loops_around(self, op: Op | None) -> tuple[Op, ...]:
        """The loops enclosing op, op itself included when it is a loop, innermost first."""
        cached = self._loops.get(op)
        if cached is None:
            outer = self.loops_around(self.parent_op.get(op))
            cached = self._loops[op] = (op, *outer) if op.name in LOOPS else outer
        return cached

    def def_op(self, v: Value) -> tuple[Op | None, bool]:
        """(op that defines v, whether v lives inside that op's regions)."""
        if isinstance(v.owner, Op):
            return v.owner, False
        if isinstance(v.owner, Region) and v.owner.parent is not None:
            return v.owner.parent, True
        return None, False

    def def_pos(self, v: Value) -> int:
        p = self._def_pos.get(v)
        if p is None:
            op, inside = self.def_op(v)
            p = -1 if op is None else self.pos[op] if inside or not op.regions else self.end[op]
            self._def_pos[v] = p
        return p

    def uses(self) -> dict[Value, list[tuple[int, Op, bool]]]:
        """Per array value: (effective position, using op, extended by a loop) for each use. A
        use inside a loop that does not enclose the value's definition counts until
        that loop's end (the next iteration reads it again)."""
        out: dict[Value, list[tuple[int, Op, bool]]] = {}
        def_loops: dict[Value, tuple[Op, ...]] = {}
        for here, op in enumerate(self.ops):
            use_loops = self.loops_around(self.parent_op.get(op))
            for v in op.operands:
                if not isinstance(v.type, ArrayType):  # only buffers are asked about
                    continue
                p = here
                if use_loops:
                    around_def = def_loops.get(v)
                    if around_def is None:
                        d, inside = self.def_op(v)
                        # a loop's own results live after it; its region args inside it
                        start = d if inside or d is None else self.parent_op.get(d)
                        around_def = def_loops[v] = self.loops_around(start)
                    for a in use_loops:
                        if a not in around_def:
                            p = max(p, self.end[a])
                out.setdefault(v, []).append((p, op, p != here))
        return out

    def exclusive(self, a: Op, b: Op) -> bool:
        """Ops in different branches of the same mc.if never both run (per iteration)."""
        chain_a: dict[Op, int] = {}
        op, child = self.parent_op.get(a), a
        while op is not None:
            chain_a[op] = next(i for i, r in enumerate(op.regions) if child.parent is r)
            op, child = self.parent_op.get(op), op
        op, child = self.parent_op.get(b), b
        while op is not None:
            if op in chain_a:
                idx = next(i for i, r in enumerate(op.regions) if child.parent is r)
                return op.name == "mc.if" and idx != chain_a[op]
            op, child = self.parent_op.get(op), op
        return False

    def _roots(self, opaque: Op | None = None) -> dict[Value, frozenset[Value]]:
        """Per array value, the buffers it may share memory with (a fixpoint: loops and
        branches merge the sets of their incoming values). A value missing from the map
        shares with nothing but itself (`roots_of`). With `opaque`, that loop's region
        arguments stay atoms (what they hold at the start of one iteration) instead of
        taking in every value that flows into them."""
        roots: dict[Value, frozenset[Value]] = {a: frozenset([a]) for a in self.fn.args if a.is_array}
        loop_exits, merging = self._loop_exits, self._merging
        has_loops = any(kind == _LOOP for kind, _ in merging)
        changed = True
        while changed:
            changed = False

            def put(v: Value, s: frozenset[Value]) -> None:
                nonlocal changed
                if not v.is_array:
                    return
                old = roots.get(v)
                if old is None:
                    roots[v] = s
                    changed = True
                elif not s <= old:
                    roots[v] = old | s
                    changed = True

            def get(v: Value) -> frozenset[Value]:
                s = roots.get(v)
                return frozenset((v,)) if s is None else s

            for kind, op in merging:
                if kind == _VIEW:
                    r = op.results[0]
                    put(r, get(op.operands[0]) | {r})
                elif kind == _CALL:
                    n = op.attrs["n_results"]
                    for r in op.results[:n]:
                        put(r, frozenset([r]))
                    for r, arg in zip(op.results[n:], [op.operands[i] for i in op.attrs.get("inout_args", [])]):
                        put(r, get(arg) | {r})
                elif kind == _LOOP:
                    inits = op.operands[3:] if op.name == "mc.for" else op.operands
                    skip = 1 if op.name == "mc.for" else 0
                    exits = loop_exits.get(op, [])
                    for i, (res, init) in enumerate(zip(op.results, inits)):
                        s = get(init) | {res}
                        for ex in exits:
                            s |= get(ex.operands[i])
                        put(res, s)
                        if op is not opaque:
                            for r in op.regions:
                                put(r.args[i + skip], s)
                else:  # mc.if, mc.block
                    for r in op.regions:
                        t = r.terminator
                        if t is not None and t.name == "mc.yield":
                            for res, v in zip(op.results, t.operands):
                                put(res, get(v) | {res})
                    for res in op.results:
                        put(res, frozenset([res]))
            if not has_loops:
                break  # no back edges: every value was read after its last update
        return roots

    # ---- loop-carried arrays that never share ------------------------------------------
    # The root sets above merge everything that flows into a loop's region argument, so
    # after `a, b = b, a` both rows of a two-row DP may hold either buffer, and every store
    # into one was a copy (quadratic work). What matters for a store is whether two values
    # share memory at the same moment: two carried arrays that start apart and are handed
    # to the next iteration apart never share (an induction on the iterations).

    def inside(self, v: Value, loop: Op) -> bool:
        """v is defined in one iteration of `loop` (its region arguments included)."""
        op, in_region = self.def_op(v)
        if op is None:
            return False
        if op is loop:
            return in_region
        return self.pos[loop] < self.pos[op] <= self.end[loop]

    def _carried(self, loop: Op) -> tuple[dict[Value, frozenset[Value]], dict[Value, int], set[tuple[int, int]]]:
        """For `loop`: root sets with its region arguments as atoms, the slot of each
        array region argument, and the pairs of slots proven never to share (the greatest
        set closed under: initial values apart, and every value handed to the next
        iteration apart given the pairs still in the set)."""
        cache = self._carried_cache
        if loop in cache:
            return cache[loop]
        roots = self._roots(opaque=loop)
        skip = 1 if loop.name == "mc.for" else 0
        inits = loop.operands[3:] if loop.name == "mc.for" else loop.operands
        slot = {r.args[i + skip]: i for r in loop.regions for i, v in enumerate(inits) if v.is_array}
        arrays = sorted({i for i in slot.values()})
        apart = {(i, j) for i in arrays for j in arrays
                 if i < j and not self.roots_of(inits[i]) & self.roots_of(inits[j])}
        onward = [e for e in self._loop_exits.get(loop, []) if e.name != "mc.break"]
        changed = True
        while changed:
            changed = False
            for i, j in sorted(apart):
                if any(self._may_share(roots.get(e.operands[i], frozenset([e.operands[i]])),
                                       roots.get(e.operands[j], frozenset([e.operands[j]])), loop, slot, apart)
                       for e in onward):
                    apart.discard((i, j))
                    changed = True
        cache[loop] = roots, slot, apart
        return cache[loop]

    def _may_share(self, xs: frozenset[Value], ys: frozenset[Value], loop: Op, slot: dict[Value, int],
                   apart: set[tuple[int, int]]) -> bool:
        for a in xs:
            for b in ys:
                if a is b:
                    return True
                sa, sb = slot.get(a), slot.get(b)
                if sa is not None and sb is not None:
                    if sa == sb or (min(sa, sb), max(sa, sb)) not in apart:
                        return True
                elif sa is not None or sb is not None:
                    # a carried array against a buffer made in this iteration: apart; against
                    # one from outside the loop: as the whole-function root sets say
                    arg, other = (a, b) if sa is not None else (b, a)
                    if not self.inside(other, loop) and self.roots_of(arg) & self.roots_of(other):
                        return True
        return False

    def apart(self, x: Value, y: Value, at: Op) -> bool:
        """x and y provably do not share memory while `at` runs (judged in the innermost
        loop around `at` that defines both; False where no loop does)."""
        for loop in self.loops_around(self.parent_op.get(at)):
            if self.inside(x, loop) and self.inside(y, loop):
                roots, slot, apart = self._carried(loop)
                return not self._may_share(roots.get(x, frozenset([x])), roots.get(y, frozenset([y])),
                                           loop, slot, apart)
        return False

    def _exit_target(self, term: Op) -> Op | None:
        """The loop a yield/break/continue hands its values to (None for if/block yields)."""
        region = term.parent
        owner = region.parent if region is not None else None
        if term.name == "mc.yield":
            return owner if owner is not None and owner.name in LOOPS else None
        op = owner
        while op is not None and op.name not in LOOPS:
            op = self.parent_op.get(op)
        return op


class CopyElision(ModulePass):
    name = "copy-elision"

    def apply(self, module: Module) -> None:
        for fn in module.functions.values():
            self._function(fn)

    def _function(self, fn: Function) -> None:
        an = _Analysis(fn)
        readonly = {a for a, p in zip(fn.args, fn.params) if a.is_array and not p.inout}
        by_root: dict[Value, list[Value]] = {}
        for v, rs in an.roots.items():
            for r in rs:
                by_root.setdefault(r, []).append(v)
        uses: dict[Value, list[tuple[int, Op, bool]]] | None = None  # on the first update: many functions have none

        def sharing(r: Value) -> list[Value]:
            """The values whose buffers may be r's (r itself included)."""
            ws = by_root.get(r, [])
            return ws if r in an.roots else [r, *ws]

        def can_mutate(target: Value, at: Op, exclude: set[Value]) -> bool:
            nonlocal uses
            rs = an.roots_of(target)
            if rs & readonly:
                return False
            if uses is None:
                uses = an.uses()
            p = an.pos[at]
            for r in rs:
                for w in sharing(r):
                    if w in exclude or an.def_pos(w) > p or (uses.get(w) and an.apart(target, w, at)):
                        continue
                    for pos, user, extended in uses.get(w, ()):
                        if pos > p and (extended or not an.exclusive(user, at)):
                            return False
            return True

        for op in an.ops:
            if op.name == "mc.setitem":
                op.attrs["inplace"] = can_mutate(op.operands[0], op, {op.result})
            elif op.name == "mc.call" and op.attrs.get("inout_args"):
                n = op.attrs["n_results"]
                op.attrs["inplace_args"] = [
                    can_mutate(op.operands[i], op, set(op.results[n:])) for i in op.attrs["inout_args"]]
            elif op.name == "mc.return":
                n = op.attrs["n_results"]
                params = frozenset(fn.args)
                copies = []
                seen: set[Value] = set()
                for i, v in enumerate(op.operands[:n]):
                    if not v.is_array:
                        continue
                    rs = an.roots_of(v)
                    if rs & params or rs & seen:
                        copies.append(i)
                    seen |= rs
                if copies:
                    op.attrs["copy_results"] = copies
