"""Canonicalization: constant folding, common-subexpression elimination, dead-code
elimination. Every op but the terminators is pure in mcodec's IR (arrays are values;
inout writes flow to mc.return), which makes all three simple and safe."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable
from types import CodeType
from typing import Any

import numpy as np
from mcodec.compiler.ir import TERMINATORS, Function, Module, Op, Region, Value
from mcodec.compiler.semantics import ELEMENTWISE_BINARY, ELEMENTWISE_UNARY
from mcodec.compiler.types import ScalarType, np_dtype

from .manager import ModulePass


def rename_operands(ops: Iterable[Op], mapping: dict[Value, Value]) -> None:
    """Every operand of `ops` that `mapping` names is replaced by its image."""
    if not mapping:
        return
    replaced = mapping.keys()
    for op in ops:
        if not replaced.isdisjoint(op.operands):  # most ops use none of them: no new list
            op.operands = [mapping.get(v, v) for v in op.operands]


def replace_uses(fn: Function, mapping: dict[Value, Value]) -> None:
    rename_operands(fn.walk(), mapping)


def _const_value(v: Value) -> tuple[bool, Any]:
    op = v.owner
    if isinstance(op, Op) and op.name == "mc.const":
        return True, op.attrs["value"]
    return False, None


def _as_numpy(value: Any, t: ScalarType) -> Any:
    """A constant as the NumPy scalar the program computes with: literals too (weak
    types), as the lowerings evaluate them; as Python numbers, `(-8.0) ** 0.5` folded
    to a complex and `2 ** 70` to an integer no i64 holds."""
    return np_dtype(t.dtype).type(value)


_TEMPLATES = {**ELEMENTWISE_UNARY, **ELEMENTWISE_BINARY}  # binary first where a name is in both
_FOLD_CODE: dict[str, CodeType] = {}  # compiled once per op template: compiling is most of an eval


def _fold_code(template: str, n_args: int) -> CodeType:
    code = _FOLD_CODE.get(template)
    if code is None:
        code = _FOLD_CODE[template] = compile(template.format(*[f"_a{i}" for i in range(n_args)]), "<fold>", "eval")
    return code


class ConstantFold(ModulePass):
    """Folds scalar arithmetic on constants, with NumPy's own scalar semantics."""

    name = "constant-fold"

    def apply(self, module: Module) -> None:
        for fn in module.functions.values():
            self._region(fn.body)

    def _region(self, region: Region) -> None:
        for op in region.ops:
            for r in op.regions:
                self._region(r)
            template = _TEMPLATES.get(op.name)
            if template is None or len(op.results) != 1 or not isinstance(op.result.type, ScalarType):
                continue
            consts = [_const_value(v) for v in op.operands]
            if not all(ok for ok, _ in consts) or not all(isinstance(v.type, ScalarType) for v in op.operands):
                continue
            # a literal beside a typed operand stays a Python number, weak as NumPy 2 takes it:
            # `u64(2**64 - 1) // 3` is exact in u64, where np.int64(3) promoted both to f64
            strong = any(not v.type.weak for v in op.operands)
            args = [c if strong and v.type.weak else _as_numpy(c, v.type)
                    for (_, c), v in zip(consts, op.operands)]
            try:
                code = _fold_code(template, len(args))
                with np.errstate(all="raise"), warnings.catch_warnings():
                    warnings.simplefilter("error")
                    out = eval(code, {"np": np}, {f"_a{i}": a for i, a in enumerate(args)})  # noqa: S307
            except Exception:
                continue  # leave run-time errors (division by zero, overflow) to run time
            t = op.result.type
            if not t.weak:
                out = np_dtype(t.dtype).type(out)
            value = out.item() if isinstance(out, np.generic) else out
            op.name = "mc.const"
            op.operands = []
            op.attrs = {"value": value, "weak": t.weak}


# Not merged: random draws, and the constructors of fresh arrays. Two `zeros((n,))` are
# equal values, but a program that makes two means to update both: merged, they would
# share one buffer and every update of either would need a copy. `copy(x)` is the same:
# two copies of one array are made to be updated apart (merged, a row loop over each
# copied the whole array per iteration).
FRESH = frozenset({"mc.random", "mc.randn", "mc.empty", "mc.empty_like", "mc.zeros", "mc.zeros_like",
                   "mc.ones", "mc.ones_like", "mc.full", "mc.full_like", "mc.eye", "mc.arange", "mc.linspace",
                   "mc.copy"})


class CSE(ModulePass):
    """Merges identical pure ops; a value from an enclosing region may replace one in a
    nested region (it dominates it), never the other way around."""

    name = "cse"

    def apply(self, module: Module) -> None:
        for fn in module.functions.values():
            # operands are rewritten as the walk goes: in SSA every use follows its
            # definition in program order, so no second sweep is needed
            self._region(fn.body, {}, {})

    def _key(self, op: Op) -> tuple | None:
        if op.regions or op.name in TERMINATORS or op.name in FRESH:
            return None
        # attrs by repr: 0.0 and -0.0 (or 1 and 1.0) are equal but must not merge
        attrs = repr(sorted(op.attrs.items())) if op.attrs else ""
        res = op.results
        types = res[0].type if len(res) == 1 else tuple(r.type for r in res)
        return (op.name, tuple(map(id, op.operands)), attrs, types)

    def _region(self, region: Region, available: dict[tuple, Op], mapping: dict[Value, Value]) -> None:
        """`available` holds the ops of this region and the enclosing ones; the keys a
        region adds are dropped when it ends (its ops do not dominate what follows)."""
        added: list[tuple] = []
        kept: list[Op] = []
        replaced = mapping.keys()  # a live view: it grows as ops merge
        for op in region.ops:
            if mapping and not replaced.isdisjoint(op.operands):
                op.operands = [mapping.get(v, v) for v in op.operands]
            key = self._key(op)
            if key is not None:
                found = available.get(key)
                if found is not None:
                    for a, b in zip(op.results, found.results):
                        mapping[a] = b
                    continue
                available[key] = op
                added.append(key)
            for r in op.regions:
                self._region(r, available, mapping)
            kept.append(op)
        region.ops = kept
        for key in added:
            del available[key]


LOOPS = ("mc.for", "mc.while")


def _exits(region: Region, in_loop: bool) -> bool:
    for op in region.ops:
        if op.name == "mc.return" or (op.name in ("mc.break", "mc.continue") and not in_loop):
            return True
        if any(_exits(r, in_loop or op.name in LOOPS) for r in op.regions):
            return True
    return False


def _has_effects(op: Op) -> bool:
    """An op that can leave its region early: a return, or a break/continue that
    belongs to a loop outside the op."""
    return any(_exits(r, op.name in LOOPS) for r in op.regions)


CHECKS = frozenset({"mc.check_dim"})


class DCE(ModulePass):
    """Removes ops whose results are unused; loops and ifs too, unless they hold an
    early exit (return, or a break/continue of an enclosing loop). One backward pass
    with use counts: removing an op releases its operands, whose definitions come
    earlier and are visited later, so chains of dead ops go in the same pass."""

    name = "dce"

    def apply(self, module: Module) -> None:
        for fn in module.functions.values():
            self.function(fn)

    def function(self, fn: Function) -> None:
        # counted in C: one flat list of every operand
        uses: dict[Value, int] = Counter([v for op in fn.walk() for v in op.operands])
        self._region(fn.body, uses)

    def _region(self, region: Region, uses: dict[Value, int]) -> None:
        kept = []
        for op in reversed(region.ops):
            if op.name not in TERMINATORS:
                for r in op.results:
                    if uses.get(r):
                        break
                else:  # no result is used
                    if op.name in CHECKS:
                        pass  # (a run-time check has no result and must stay)
                    elif not op.regions or not _has_effects(op):
                        for inner in op.walk():
                            for v in inner.operands:
                                uses[v] -= 1
                        continue
            for r in op.regions:
                self._region(r, uses)
            kept.append(op)
        kept.reverse()
        region.ops = kept
