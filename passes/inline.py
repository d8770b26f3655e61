"""Inlining of calls to M-CODE functions.

A call is an opaque boundary for every compiled back end (Numba and LLVM lower one
block as one function and fall back to NumPy for a block holding `mc.call`), so a loop
nest calling a small helper would run interpreted. Calls are replaced by a copy of the
callee's body: arrays are values in the IR, so the copy means exactly what the call
did (copy elision, which runs later, decides again where updates may happen in place).

Callees are inlined when their returns can be made one structured exit (`_single_exit`:
early returns as the last op of an `if` branch), and only small ones (a big helper called from several places
would multiply code). The callee's symbolic dims are renamed to the caller's by
matching parameter types with argument types, as the checker does at the call; a dim
that cannot be matched becomes unknown (`?`), never a wrong symbol.
"""

from __future__ import annotations

from collections.abc import Callable

from mcodec.compiler.ir import Function, Module, Op, Region, Value
from mcodec.compiler.typerules import merge_dims
from mcodec.compiler.types import ArrayType, Dim, DimT, ScalarType, ValueType

from .canonicalize import replace_uses
from .manager import ModulePass

MAX_CALLEE_OPS = 200  # callees larger than this stay calls


def _dim_subst(callee: Function, args: list[Value]) -> dict[str, DimT]:
    """Callee dim symbol -> the caller's dim for it (None when unknown)."""
    subst: dict[str, DimT] = {}
    for p, a in zip(callee.params, args):
        if not isinstance(p.type, ArrayType) or not isinstance(a.type, ArrayType):
            continue
        for pd, ad in zip(p.type.shape, a.type.shape):
            if pd is not None and pd.const == 0 and len(pd.terms) == 1 and pd.terms[0][1] == 1:
                sym = pd.terms[0][0]
                if sym in subst and subst[sym] != ad:
                    subst[sym] = None  # bound two ways: trust neither
                else:
                    subst.setdefault(sym, ad)
    return subst


class _Renamer:
    """Renames the callee's dims in types (memoized: a body has few distinct types)."""

    def __init__(self, subst: dict[str, DimT]) -> None:
        self.subst = subst
        # by the type object's id: hashing a type by value costs more than renaming it,
        # and the callee's ops keep every type alive while this renamer is in use
        self.memo: dict[int, ValueType] = {}

    def __call__(self, t: ValueType) -> ValueType:
        out = self.memo.get(id(t))
        if out is None:
            out = self.memo[id(t)] = t if isinstance(t, ScalarType) else _sub_type(t, self.subst)
        return out


def _sub_type(t: ArrayType, subst: dict[str, DimT]) -> ValueType:
    if not any(d is not None and d.terms for d in t.shape):
        return t  # nothing symbolic to rename
    dims: list[DimT] = []
    for d in t.shape:
        acc: DimT = None if d is None else Dim(d.const)
        for s, c in (d.terms if d is not None else ()):
            b = subst.get(s)
            if acc is None or b is None:
                acc = None
                break
            for _ in range(abs(c)):
                acc = acc + b if c > 0 else acc - b
        dims.append(acc)
    return ArrayType(t.dtype, tuple(dims))


def clone_op(op: Op, mapping: dict[Value, Value], rename: Callable[[ValueType], ValueType] = lambda t: t) -> Op:
    """A deep copy of `op` (regions included) with operands renamed through `mapping`;
    the copies' results and region arguments are added to `mapping`."""
    regions: list[Region] = []
    for r in op.regions:
        args = [Value(rename(a.type), a.hint) for a in r.args]
        mapping.update(zip(r.args, args))
        nr = Region(args)
        for inner in r.ops:
            nr.append(clone_op(inner, mapping, rename))
        regions.append(nr)
    new = Op(op.name, [mapping.get(v, v) for v in op.operands], [], dict(op.attrs), regions, loc=op.loc)
    new.results = [Value(rename(v.type), v.hint, new) for v in op.results]
    mapping.update(zip(op.results, new.results))
    return new


def _inlinable(fn: Function) -> bool:
    ops = fn.body.ops
    if not ops or ops[-1].name != "mc.return" or sum(1 for _ in fn.walk()) > MAX_CALLEE_OPS:
        return False
    mapping: dict[Value, Value] = {}
    trial = [clone_op(op, mapping, _Renamer({})) for op in ops]
    return _single_exit(trial) is not None


def _returns(op: Op) -> bool:
    return any(o.name == "mc.return" for o in op.walk())


def _single_exit(ops: list[Op]) -> tuple[list[Op], list[Value]] | None:
    """Straight-line `ops` ending in `mc.return`, with early returns only as the last op
    of an `mc.if` branch (`if x < lo: return lo`, and the `if flag: return` that a
    return inside a loop becomes), as ops without a return and the values returned: the
    code after such an `if` moves into its branch that falls through, and the `if`
    yields what either branch returns. None for any other shape (a return left inside
    a loop, branch results of different dtypes or ranks)."""
    for k, op in enumerate(ops):
        if op.name == "mc.return":
            return (ops[:k], list(op.operands)) if k == len(ops) - 1 else None
        if not op.regions or not _returns(op):
            continue
        if op.name != "mc.if":
            return None
        rest = ops[k + 1:]
        branches: list[tuple[list[Op], list[Value]]] = []
        for r in op.regions:
            term = r.terminator
            if term is not None and term.name == "mc.return":
                body = r.ops
            else:  # falls through: the code after the if runs here, on what this branch yields
                mapping = dict(zip(op.results, term.operands)) if term is not None else {}
                moved = [clone_op(o, mapping, _Renamer({})) for o in rest]
                body = (r.ops[:-1] if term is not None else r.ops) + moved
            done = _single_exit(body)
            if done is None:
                return None
            branches.append(done)
        types: list[ValueType | None] = [v.type for v in branches[0][1]]
        for _, vals in branches[1:]:
            types = [t and _join(t, v.type) for t, v in zip(types, vals)]
        if None in types:
            return None
        regions = []
        for body, vals in branches:
            region = Region()
            for o in body:
                region.append(o)
            region.append(Op("mc.yield", vals, [], loc=op.loc))
            regions.append(region)
        merged = Op("mc.if", list(op.operands), types, {}, regions, loc=op.loc)
        return [*ops[:k], merged], merged.results
    return None


def _join(a: ValueType, b: ValueType) -> ValueType | None:
    """The type of an `if` yielding a or b: scalars of one type, or arrays of one dtype
    and rank (dims that differ unknown, as for variables joined after an `if`)."""
    if a == b:
        return a
    if isinstance(a, ArrayType) and isinstance(b, ArrayType) and a.dtype == b.dtype and a.rank == b.rank:
        return ArrayType(a.dtype, merge_dims(a.shape, b.shape))
    return None


class InlineCalls(ModulePass):
    name = "inline-calls"

    def apply(self, module: Module) -> None:
        self.fns = module.functions
        self.done: set[str] = set()
        self.inlinable: dict[str, bool] = {}
        for fn in self.fns.values():
            self._function(fn, ())

    def _function(self, fn: Function, active: tuple[str, ...]) -> None:
        """Inline into `fn`, its callees first (so one sweep suffices: a copied body
        has no inlinable calls left). `active` guards against recursion, which the
        checker rejects anyway."""
        if fn.name in self.done or fn.name in active:
            return
        renames: dict[Value, Value] = {}
        self._region(fn, fn.body, renames, (*active, fn.name))
        if renames:
            def final(v: Value) -> Value:
                while v in renames:
                    v = renames[v]
                return v
            replace_uses(fn, {v: final(v) for v in renames})
        self.done.add(fn.name)

    def _callee(self, op: Op, fn: Function, active: tuple[str, ...]) -> Function | None:
        callee = self.fns.get(op.attrs.get("callee", "")) if op.name == "mc.call" else None
        if callee is None or callee is fn or callee.name in active:
            return None
        self._function(callee, active)
        if callee.name not in self.inlinable:
            self.inlinable[callee.name] = _inlinable(callee)
        return callee if self.inlinable[callee.name] else None

    def _region(self, fn: Function, region: Region, renames: dict[Value, Value], active: tuple[str, ...]) -> None:
        out: list[Op] = []
        for op in region.ops:
            for r in op.regions:
                self._region(fn, r, renames, active)
            callee = self._callee(op, fn, active) if op.name == "mc.call" else None
            if callee is None:
                out.append(op)
                continue
            # operands may still name results of calls inlined above (renamed at the end)
            mapping: dict[Value, Value] = dict(zip(callee.args, op.operands))
            rename = _Renamer(_dim_subst(callee, op.operands))
            structured = _single_exit([clone_op(inner, mapping, rename) for inner in callee.body.ops])
            assert structured is not None  # (as _inlinable found)
            body, results = structured
            for c in body:
                c.parent = region
                out.append(c)
            n = op.attrs["n_results"]
            inout = op.attrs.get("inout_args", [])
            finals = results[:n] + results[n:n + len(inout)]
            for r, v in zip(op.results, finals):
                if isinstance(r.type, ScalarType) and r.type != v.type:  # keep the call's exact type
                    cast = Op("mc.cast", [v], [r.type], {"dtype": r.type.dtype}, loc=op.loc, hints=[r.hint])
                    cast.parent = region
                    out.append(cast)
                    v = cast.result
                renames[r] = v
        region.ops = out
