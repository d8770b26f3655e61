"""IR -> readable Python source over NumPy: the reference lowering that gives M-CODE
its meaning. Back ends that generate Python (Numba) reuse this emitter and override
the ops they lower differently."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from mcodec.compiler.ir import Function, Module, Op, Region, Value, line_range
from mcodec.compiler.semantics import (
    ELEMENTWISE_BINARY,
    ELEMENTWISE_UNARY,
    REDUCTIONS,
    np_dtype_expr,
)
from mcodec.compiler.types import ArrayType, ScalarType

PRELUDE = "import numpy as np\n"

# binary ops on two Python numbers that raise in Python where NumPy scalars do not
_PY_RAISING = frozenset({"mc.div", "mc.floordiv", "mc.mod", "mc.pow"})


class PythonEmitter:
    """Emits one Python function per IR function (or per block, see emit_region_function)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[Value, str] = {}
        self.counter = 0
        self.depth = 1
        self.yield_targets: list[list[str]] = []
        self.loop_targets: list[list[str]] = []

    # ---- naming -------------------------------------------------------------------
    def name(self, v: Value) -> str:
        n = self.names.get(v)
        if n is None:
            hint = re.sub(r"\W", "_", v.hint) if v.hint else "v"
            if hint[0].isdigit():
                hint = "v" + hint
            n = f"{hint}_{self.counter}"
            self.counter += 1
            self.names[v] = n
        return n

    def alias(self, v: Value, name: str) -> None:
        self.names[v] = name

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    # ---- functions ----------------------------------------------------------------
    def function(self, fn: Function, py_name: str | None = None) -> str:
        self.lines = []
        params = [self.name(a) for a in fn.args]
        self.lines.append(f"def {py_name or 'mc_' + fn.name}({', '.join(params)}):")
        self.depth = 1
        self.fn = fn
        self.region(fn.body)
        return "\n".join(self.lines) + "\n"

    def block_header_and_body(self, block: Any, py_name: str) -> None:
        """`def py_name(live_ins...):` and the block's ops, up to (not with) its yield."""
        self.lines = []
        self.fn = block.fn
        params = [self.name(v) for v in block.live_ins]
        self.lines.append(f"def {py_name}({', '.join(params)}):")
        self.depth = 1
        body = block.region
        for op in body.ops:
            if op is not body.terminator:
                self.op(op)

    def block_function(self, block: Any, py_name: str) -> str:
        """A block (a backends.base.BlockView) as `def py_name(live_ins...) -> tuple`."""
        self.block_header_and_body(block, py_name)
        outs = [self.name(v) for v in block.yielded]
        self.line(f"return ({''.join(o + ', ' for o in outs)})")
        return "\n".join(self.lines) + "\n"

    def region(self, region: Region) -> None:
        start = len(self.lines)
        for op in region.ops:
            self.op(op)
        if len(self.lines) == start:
            self.line("pass")

    def op(self, op: Op) -> None:
        method = getattr(self, "op_" + op.name[3:], None)
        if method is not None:
            method(op)
            return
        expr = self.expr(op)
        self.line(f"{self.name(op.result)} = {expr}")

    # ---- expressions of single-result ops ----------------------------------------------
    def expr(self, op: Op) -> str:
        a = [self.name(v) for v in op.operands]
        n = op.name
        if n in ELEMENTWISE_BINARY:
            return self.scalar_fix(op, ELEMENTWISE_BINARY[n].format(*a))
        if n in ELEMENTWISE_UNARY:
            return ELEMENTWISE_UNARY[n].format(*a)
        short = n[3:]
        if short in REDUCTIONS:
            axis = op.attrs.get("axis")
            ax = "None" if axis is None else repr(axis[0] if short in ("argmax", "argmin") else tuple(axis))
            return f"np.{short}({a[0]}, axis={ax}, keepdims={op.attrs.get('keepdims', False)})"
        raise NotImplementedError(f"no Python lowering for {n}")

    def scalar_fix(self, op: Op, text: str) -> str:
        if op.name in _PY_RAISING and all(isinstance(v.type, ScalarType) and v.type.weak for v in op.operands):
            # two literals (Python numbers here): Python raises where NumPy gives inf/nan/0
            # (`1.0 / 0.0`, `7 // 0`, `5.0 % 0.0`, `2.0 ** 1024`); compute as NumPy's scalar and
            # hand back a Python number, so the result stays weak
            a = [self.name(v) for v in op.operands]
            first = f"{np_dtype_expr(op.operands[0].type.dtype)}({a[0]})"
            return f"{ELEMENTWISE_BINARY[op.name].format(first, a[1])}.item()"
        return text

    def const_text(self, value: Any, t: ScalarType) -> str:
        if isinstance(value, (float, complex)) and not np.isfinite(value):
            value_text = f"{type(value).__name__}({str(value)!r})"  # inf/nan have no literal
            return value_text if t.weak else f"{np_dtype_expr(t.dtype)}({value_text})"
        if t.weak:
            return repr(value)
        if t.dtype == "bool":
            return "np.True_" if value else "np.False_"
        return f"{np_dtype_expr(t.dtype)}({value!r})"

    def op_const(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = {self.const_text(op.attrs['value'], op.result.type)}")

    def op_cast(self, op: Op) -> None:
        x, r = self.name(op.operands[0]), self.name(op.result)
        dt = np_dtype_expr(op.attrs["dtype"])
        if isinstance(op.result.type, ArrayType):
            self.line(f"{r} = {x}.astype({dt})")
        else:
            src = op.operands[0].type
            if isinstance(src, ScalarType) and src.weak and src.dtype == "i64" and op.attrs["dtype"][0] in "iu":
                x = f"np.int64({x})"  # a literal is an i64 that wraps (u32(-1)); NumPy raises for a Python int
            self.line(f"{r} = {dt}({x})")

    def op_not(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.bool_(not {self.name(op.operands[0])})")

    def op_and(self, op: Op) -> None:
        a, b = (self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = np.bool_({a} and {b})")

    def op_where(self, op: Op) -> None:
        c, x, y = (self.name(v) for v in op.operands)
        tail = "" if op.result.is_array else "[()]"
        self.line(f"{self.name(op.result)} = np.where({c}, {x}, {y}){tail}")

    def op_clip(self, op: Op) -> None:
        a, lo, hi = (self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = np.clip({a}, {lo}, {hi})")

    def op_matmul(self, op: Op) -> None:
        a, b = (self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = {a} @ {b}")

    def op_outer(self, op: Op) -> None:
        a, b = (self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = np.outer({a}, {b})")

    def _shape_text(self, vals: list[Value]) -> str:
        return "(" + "".join(self.name(v) + ", " for v in vals) + ")"

    def _make(self, op: Op, fn: str) -> None:
        nd = op.attrs["ndim"]
        shape = self._shape_text(op.operands[:nd])
        extra = "".join(f", {self.name(v)}" for v in op.operands[nd:])
        self.line(f"{self.name(op.result)} = np.{fn}({shape}{extra}, dtype={np_dtype_expr(op.attrs['dtype'])})")

    def op_zeros(self, op: Op) -> None:
        self._make(op, "zeros")

    def op_ones(self, op: Op) -> None:
        self._make(op, "ones")

    def op_empty(self, op: Op) -> None:
        self._make(op, "empty")

    def op_full(self, op: Op) -> None:
        self._make(op, "full")

    def _make_like(self, op: Op, fn: str) -> None:
        args = ", ".join(self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = np.{fn}({args}, dtype={np_dtype_expr(op.attrs['dtype'])})")

    def op_zeros_like(self, op: Op) -> None:
        self._make_like(op, "zeros_like")

    def op_ones_like(self, op: Op) -> None:
        self._make_like(op, "ones_like")

    def op_empty_like(self, op: Op) -> None:
        self._make_like(op, "empty_like")

    def op_full_like(self, op: Op) -> None:
        self._make_like(op, "full_like")

    def diagonal_offset(self, op: Op) -> str:
        """eye/triu/tril/diag's `k`: the literal, or the run-time value (the last operand)."""
        k = op.attrs["k"]
        return str(k) if k is not None else f"int({self.name(op.operands[-1])})"

    def op_eye(self, op: Op) -> None:
        args = ", ".join(self.name(v) for v in op.operands[:1 + bool(op.attrs["has_m"])])
        self.line(f"{self.name(op.result)} = np.eye({args}, k={self.diagonal_offset(op)}, "
                  f"dtype={np_dtype_expr(op.attrs['dtype'])})")

    def op_arange(self, op: Op) -> None:
        args = ", ".join(self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = np.arange({args}, dtype={np_dtype_expr(op.attrs['dtype'])})")

    def op_linspace(self, op: Op) -> None:
        s, e, n = (self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = np.linspace({s}, {e}, int({n}), endpoint={op.attrs['endpoint']}, "
                  f"dtype={np_dtype_expr(op.attrs['dtype'])})")

    def op_random(self, op: Op) -> None:
        nd = op.attrs["ndim"]
        self.line(f"{self.name(op.result)} = np.random.default_rng(int({self.name(op.operands[nd])}))"
                  f".random({self._shape_text(op.operands[:nd])})")

    def op_randn(self, op: Op) -> None:
        nd = op.attrs["ndim"]
        self.line(f"{self.name(op.result)} = np.random.default_rng(int({self.name(op.operands[nd])}))"
                  f".standard_normal({self._shape_text(op.operands[:nd])})")

    def op_transpose(self, op: Op) -> None:
        axes = op.attrs.get("axes")
        x = self.name(op.operands[0])
        self.line(f"{self.name(op.result)} = " + (f"{x}.T" if axes is None else f"np.transpose({x}, {tuple(axes)!r})"))

    def op_reshape(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.reshape({self.name(op.operands[0])}, {self._shape_text(op.operands[1:])})")

    def op_flip(self, op: Op) -> None:
        axis = op.attrs.get("axis")
        self.line(f"{self.name(op.result)} = np.flip({self.name(op.operands[0])}, axis={None if axis is None else tuple(axis)!r})")

    def op_triu(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.triu({self.name(op.operands[0])}, {self.diagonal_offset(op)})")

    def op_tril(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.tril({self.name(op.operands[0])}, {self.diagonal_offset(op)})")

    def op_concatenate(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.concatenate({self._shape_text(op.operands)}, axis={op.attrs['axis']})")

    def op_vstack(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.vstack({self._shape_text(op.operands)})")

    def op_stack(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.stack({self._shape_text(op.operands)}, axis={op.attrs['axis']})")

    def op_diag(self, op: Op) -> None:
        x = self.name(op.operands[0])
        copy = ".copy()" if op.operands[0].type.rank == 2 else ""  # 2-D input gives a read-only view
        self.line(f"{self.name(op.result)} = np.diag({x}, {self.diagonal_offset(op)}){copy}")

    def op_trace(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.trace({self.name(op.operands[0])})")

    def op_copy(self, op: Op) -> None:
        x = self.name(op.operands[0])
        self.line(f"{self.name(op.result)} = {x}.copy()" if op.result.is_array else f"{self.name(op.result)} = {x}")

    def op_dim(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.int64({self.name(op.operands[0])}.shape[{op.attrs['axis']}])")

    def op_check_dim(self, op: Op) -> None:
        a, b = (self.name(v) for v in op.operands)
        self.line(f"if {a} != {b}: raise ValueError({op.attrs['message']!r})")

    def op_size(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = np.int64({self.name(op.operands[0])}.size)")

    # ---- indexing -----------------------------------------------------------------------
    def index_bound(self, op: Op, x: Any) -> str:
        """A slice bound or integer index: empty, a literal, or an operand."""
        if x is None:
            return ""
        return self.name(op.operands[x[1]]) if isinstance(x, tuple) else repr(x)

    def index_int(self, op: Op, axis: int, x: Any) -> str:
        return self.index_bound(op, x)

    def slice_bound(self, op: Op, axis: int, x: Any, step: Any = None) -> str:
        """A slice's start or stop along the base's `axis` (`step`: the slice's)."""
        return self.index_bound(op, x)

    def index_array(self, op: Op, axis: int, x: Any) -> str:
        """An index array for the base's `axis` (the first it indexes)."""
        return self.index_bound(op, x)

    def single_item_comma(self, op: Op) -> bool:
        """Whether a one-item index is written as a tuple (`A[idx,]`)."""
        return op.attrs["index"][0][0] == "array"

    def index_items(self, op: Op) -> list:
        """The index items `index_text` writes (a back end may drop no-op ones)."""
        return op.attrs["index"]

    def index_text(self, op: Op) -> str:
        items = []
        axis = 0  # the base's axis an item indexes (newaxis takes none, a mask its rank)
        for it in self.index_items(op):
            if it[0] == "int":
                items.append(self.index_int(op, axis, it[1]))
                axis += 1
            elif it[0] == "array":
                items.append(self.index_array(op, axis, it[1]))
                ix = op.operands[it[1][1]].type if isinstance(it[1], tuple) else None
                axis += ix.rank if isinstance(ix, ArrayType) and ix.dtype == "bool" else 1
            elif it[0] == "newaxis":
                items.append("None")
            else:
                lo, hi, st = it[1:]
                bound = self.slice_bound
                items.append(f"{bound(op, axis, lo, st)}:{bound(op, axis, hi, st)}"
                             + (f":{self.index_bound(op, st)}" if st is not None else ""))
                axis += 1
        if not items:
            return "..."
        return ", ".join(items) + ("," if len(items) == 1 and self.single_item_comma(op) else "")

    def op_getitem(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = {self.name(op.operands[0])}[{self.index_text(op)}]")

    def op_setitem(self, op: Op) -> None:
        """The stored-into value: the base itself where copy elision allows it, else a copy."""
        base, res = self.name(op.operands[0]), self.name(op.result)
        inplace = op.attrs.get("inplace")
        target = base if inplace else res
        if not inplace:
            self.line(f"{res} = {base}.copy()")
        self.store(op, target)
        if res != target:
            self.line(f"{res} = {target}")

    def store(self, op: Op, target: str) -> None:
        """`target[index] = value` for the setitem `op` (a back end may write it otherwise)."""
        self.line(f"{target}[{self.index_text(op)}] = {self.name(op.operands[-1])}")

    # ---- calls and returns ------------------------------------------------------------------
    def callee_name(self, op: Op) -> str:
        return "mc_" + op.attrs["callee"]

    def op_call(self, op: Op) -> None:
        args = [self.name(v) for v in op.operands]
        inout = op.attrs.get("inout_args", [])
        inplace = op.attrs.get("inplace_args", [False] * len(inout))
        n = op.attrs["n_results"]
        passed = list(args)
        for i, ok in zip(inout, inplace):
            if not ok:
                tmp = f"arg_{self.counter}"
                self.counter += 1
                self.line(f"{tmp} = {args[i]}.copy()")
                passed[i] = tmp
        call = f"{self.callee_name(op)}({', '.join(passed)})"
        results = [self.name(r) for r in op.results[:n]]
        if results:
            self.line(f"{', '.join(results)}{',' if len(results) == 1 and n > 1 else ''} = {call}"
                      if n == 1 else f"{', '.join(results)} = {call}")
        else:
            self.line(call)
        for r, i in zip(op.results[n:], inout):
            self.line(f"{self.name(r)} = {passed[i]}")

    def op_return(self, op: Op) -> None:
        n = op.attrs["n_results"]
        vals = [self.name(v) for v in op.operands[:n]]
        for i in op.attrs.get("copy_results", []):
            vals[i] = f"{vals[i]}.copy()"
        fn = self.fn
        if n == 0:
            result = "None"
        elif n == 1 and not fn.result_is_tuple:
            result = vals[0]
        else:
            result = f"({', '.join(vals)},)"
        inout_params = [a for a, p in zip(fn.args, fn.params) if p.inout]
        writebacks = [(self.name(p), self.name(f)) for p, f in zip(inout_params, op.operands[n:])
                      if self.name(p) != self.name(f)]
        if writebacks and n:
            # results may view an inout's old buffer: take them before writing back
            self.line(f"result_ = {result}")
            result = "result_"
        # the write-backs run one after another: a final value that views an inout written
        # earlier (`let t = A; A = B; B = t`) is taken before any of them, as values are
        for k, (p, f) in enumerate(list(writebacks)):
            earlier = [q for q, _ in writebacks[:k]]
            if earlier:
                tmp = f"wb_{self.counter}"
                self.counter += 1
                shared = " or ".join(f"np.may_share_memory({f}, {q})" for q in earlier)
                self.line(f"{tmp} = {f}.copy() if {shared} else {f}")
                writebacks[k] = (p, tmp)
        for p, f in writebacks:
            self.line(f"if {f} is not {p}:")
            self.line(f"    {p}[...] = {f}")
        self.line(f"return {result}")

    # ---- structured control flow ---------------------------------------------------------------
    def _assign(self, targets: list[str], values: list[Value]) -> None:
        pairs = [(t, self.name(v)) for t, v in zip(targets, values) if t != self.name(v)]
        if pairs:
            self.line(", ".join(t for t, _ in pairs) + " = " + ", ".join(s for _, s in pairs))

    def op_yield(self, op: Op) -> None:
        self._assign(self.yield_targets[-1], op.operands)

    def op_condition(self, op: Op) -> None:
        self.line(f"if not {self.name(op.operands[0])}:")
        self.line("    break")

    def op_break(self, op: Op) -> None:
        self._assign(self.loop_targets[-1], op.operands)
        self.line("break")

    def op_continue(self, op: Op) -> None:
        self._assign(self.loop_targets[-1], op.operands)
        self.line("continue")

    def _push(self, targets: list[str], loop: bool) -> None:
        self.yield_targets.append(targets)
        if loop:
            self.loop_targets.append(targets)

    def _pop(self, loop: bool) -> None:
        self.yield_targets.pop()
        if loop:
            self.loop_targets.pop()

    def op_for(self, op: Op) -> None:
        body = op.regions[0]
        # bounds of a narrower or unsigned type as Python ints: np.arange computes the trip
        # count in the bounds' dtype (range(u16(65534), u16(65534) + 3), i.e. to u16(1), ran 3 times)
        lb, ub, st = (self.name(v) if v.type.dtype == "i64" else f"int({self.name(v)})" for v in op.operands[:3])
        carried = body.args[1:]
        targets = [self.name(a) for a in carried]
        self._assign(targets, op.operands[3:])
        iv = self.name(body.args[0])
        self.line(f"for {iv} in {self.range_text(lb, ub, st)}:")
        self._push(targets, loop=True)
        self.depth += 1
        self.region(body)
        self.depth -= 1
        self._pop(loop=True)
        for r, t in zip(op.results, targets):
            self.alias(r, t)

    def range_text(self, lb: str, ub: str, st: str) -> str:
        if not re.fullmatch(r"-?[1-9][0-9]*", st):
            # a zero step is Python's ValueError from range(), not np.arange's ZeroDivisionError
            # (range(0, 0, st).step is st, or that ValueError)
            st = f"range(0, 0, {st}).step"
        return f"np.arange({lb}, {ub}, {st}, dtype=np.int64)"

    def op_while(self, op: Op) -> None:
        cond_r, body_r = op.regions
        targets = [self.name(a) for a in cond_r.args]
        for a, t in zip(body_r.args, targets):
            self.alias(a, t)
        self._assign(targets, op.operands)
        self.line("while True:")
        self._push(targets, loop=True)
        self.depth += 1
        self.region(cond_r)
        self.region(body_r)
        self.depth -= 1
        self._pop(loop=True)
        for r, t in zip(op.results, targets):
            self.alias(r, t)

    def op_if(self, op: Op) -> None:
        targets = [self.name(r) for r in op.results]
        self.line(f"if {self.name(op.operands[0])}:")
        self._push(targets, loop=False)
        for i, r in enumerate(op.regions):
            if i:
                self.line("else:")
            self.depth += 1
            self.region(r)
            self.depth -= 1
        self._pop(loop=False)

    def op_block(self, op: Op) -> None:
        self.line(f"# block {op.attrs.get('id')} ({op.attrs.get('kind')}) sid={op.attrs.get('sid')}")
        self._push([self.name(r) for r in op.results], loop=False)
        with self.located(op):
            self.region(op.regions[0])
        self._pop(loop=False)

    @contextmanager
    def located(self, block: Op) -> Iterator[None]:
        """Code emitted inside runs in a try whose handler adds to any exception a note
        naming the block and its M-CODE source lines: a back end's own message (a shape
        mismatch, an index out of range) names no line of the program."""
        lines = line_range(block.regions[0].walk())
        where = f"in block {block.attrs.get('id')}" + (f", lines {lines[0]}-{lines[1]}" if lines else "")
        self.line("try:")
        self.depth += 1
        yield
        self.depth -= 1
        self.line("except Exception as _exc:")
        self.line(f"    if hasattr(_exc, 'add_note'): _exc.add_note({where!r})  # (Python 3.11+)")
        self.line("    raise")


def module_source(module: Module, emitter_cls: type[PythonEmitter] = PythonEmitter) -> str:
    parts = [f"# generated by mcodec from {module.filename}\n", PRELUDE]
    for fn in module.functions.values():
        parts.append("\n" + emitter_cls().function(fn))
    return "".join(parts)
