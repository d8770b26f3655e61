"""The MLX back end: a straight-line 'tensor' block as a compiled MLX graph.

The block becomes readable Python source over `mlx.core` (`mx`), generated op by op like
the NumPy reference (`pysource`), and exec'd. Values fall in two classes:

* *static* scalars: integer/bool scalar live-ins, constants, `dim`/`size` and every
  scalar op whose operands are all static. They are plain NumPy scalars, computed with
  the reference's own NumPy expressions (so their semantics are the reference's), and
  they may appear in shapes and indices. A block is traced once per set of static
  live-in values and input shapes.
* *dynamic* values: array live-ins, float scalar live-ins and everything computed from
  them. They are `mx.array`s whose dtype is exactly the IR dtype; every op casts its
  operands to the dtype NumPy would compute in before calling MLX, so MLX's own
  promotion rules (which differ from NumPy's) never decide a result type.

The graph is `mx.compile`d on first call for each (static values, input shapes) key.
Results come back as NumPy arrays (copies) or NumPy scalars of the IR dtype.

What is declined (`can_lower` -> False, with the reason): non-'tensor' blocks, early
exits, calls, random numbers, complex dtypes, boolean-mask and multi-array indexing,
data-dependent (dynamic) indices or shapes, integer `//`, `%`, `**`, shifts and matmul
(C semantics differ from NumPy's on zero divisors / oversized shifts / overflow), and
float64 `exp`, `sin`, `cos` (MLX 0.32 evaluates them in float32 precision). Float64
needs the CPU: a GPU strategy declines any float64 value.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from mcodec.compiler.ir import Op, Value
from mcodec.compiler.semantics import REDUCTIONS
from mcodec.compiler.strategy import OptimizationStrategy
from mcodec.compiler.types import NUMPY_NAME, ScalarType
from mcodec.runtime_shim.hardware import import_mlx
from mcodec.runtime_shim.profiling import crossing_log

from .base import BlockView, BuiltBlock, LoweringError, mixed_sign_u64, negative_signed_answer
from .pysource import PythonEmitter

mx = import_mlx()  # MLX is optional: without it this back end declines every block

PRELUDE = "import numpy as np\nimport mlx.core as mx\n"

MX_NAME = {
    "bool": "bool_", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
    "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
    "f32": "float32", "f64": "float64",
}
FROM_NUMPY_KIND = {np.dtype(v): k for k, v in NUMPY_NAME.items()}

# elementwise ops: MLX expression templates over operands already cast to the compute dtype
MX_BINARY = {
    "mc.add": "({0} + {1})", "mc.sub": "({0} - {1})", "mc.mul": "({0} * {1})",
    "mc.div": "({0} / {1})", "mc.pow": "mx.power({0}, {1})",
    "mc.bitand": "({0} & {1})", "mc.bitor": "({0} | {1})", "mc.bitxor": "({0} ^ {1})",
    "mc.eq": "({0} == {1})", "mc.ne": "({0} != {1})", "mc.lt": "({0} < {1})",
    "mc.le": "({0} <= {1})", "mc.gt": "({0} > {1})", "mc.ge": "({0} >= {1})",
    "mc.arctan2": "mx.arctan2({0}, {1})", "mc.maximum": "mx.maximum({0}, {1})",
    "mc.minimum": "mx.minimum({0}, {1})", "mc.logical_and": "mx.logical_and({0}, {1})",
    "mc.logical_or": "mx.logical_or({0}, {1})",
}
# (i8 and i16 are added in C++'s int and narrowed: no overflow to assume away)
WRAPPING = frozenset({"mc.add", "mc.sub", "mc.mul"})
COMPARISONS = frozenset({"mc.eq", "mc.ne", "mc.lt", "mc.le", "mc.gt", "mc.ge"})
MX_UNARY = {f"mc.{n}": f"mx.{n}({{0}})" for n in
            "exp log log2 log10 sqrt sin cos tan arcsin arccos arctan sinh cosh tanh abs sign floor ceil round "
            "isnan isinf logical_not".split()}
MX_UNARY.update({"mc.neg": "(-{0})", "mc.pos": "{0}", "mc.invert": "(~{0})"})
FLOAT_ONLY_UNARY = frozenset({"mc.floor", "mc.ceil", "mc.round"})
# MLX 0.32 computes these in float32 precision even for float64 inputs (measured: ~1e-7 relative error)
F64_IMPRECISE = frozenset({"mc.exp", "mc.sin", "mc.cos"})
INT_UNSUPPORTED = frozenset({"mc.floordiv", "mc.mod", "mc.pow", "mc.shl", "mc.shr", "mc.matmul"})
UNSUPPORTED = {
    "mc.call": "calls to other M-CODE functions run in Python",
    "mc.random": "random numbers come from NumPy's generator", "mc.randn": "random numbers come from NumPy's generator",
    "mc.return": "early exit", "mc.real": "complex numbers", "mc.imag": "complex numbers", "mc.conj": "complex numbers",
}
# ops this back end lowers when their operands are dynamic (static ones run as NumPy)
DYNAMIC_OPS = (set(MX_BINARY) | set(MX_UNARY) | {f"mc.{r}" for r in REDUCTIONS} | {
    "mc.const", "mc.cast", "mc.where", "mc.clip", "mc.matmul", "mc.outer", "mc.zeros", "mc.ones", "mc.empty",
    "mc.full", "mc.zeros_like", "mc.ones_like", "mc.empty_like", "mc.full_like", "mc.eye", "mc.arange",
    "mc.linspace", "mc.transpose", "mc.reshape", "mc.flip", "mc.triu", "mc.tril", "mc.concatenate", "mc.vstack",
    "mc.stack", "mc.diag", "mc.trace", "mc.copy", "mc.dim", "mc.size", "mc.getitem", "mc.setitem", "mc.yield",
})


def available() -> bool:
    return mx is not None


# ---- devices ---------------------------------------------------------------------------
_fallback_warned = False
_warn_lock = threading.Lock()


def gpu_available() -> bool:
    if mx is None:
        return False
    try:
        if mx.metal.is_available():
            return True
    except Exception:  # noqa: BLE001 - a build without Metal
        pass
    try:
        return bool(mx.cuda.is_available())
    except Exception:  # noqa: BLE001 - a build without CUDA
        return False


def resolve_device(target: str) -> tuple[Any, str | None]:
    """The MLX device for a strategy's device_target, and why it fell back (or None).

    'gpu' (and 'auto', 'ane') use the GPU when MLX has one (Metal or CUDA), otherwise
    the CPU, with one warning per process for an explicit 'gpu'/'ane' request."""
    global _fallback_warned
    if mx is None:
        raise LoweringError("MLX is not installed")
    if target == "cpu":
        return mx.cpu, None
    if gpu_available():
        return mx.gpu, None
    reason = f"MLX has no GPU on this machine (no Metal or CUDA); device_target {target!r} runs on the CPU"
    if target != "auto":
        with _warn_lock:
            if not _fallback_warned:
                _fallback_warned = True
                warnings.warn(reason, RuntimeWarning, stacklevel=2)
    return mx.cpu, reason


def device_name(device: Any) -> str:
    """'cpu' or 'gpu'."""
    return "gpu" if device == mx.gpu else "cpu"


def _reset_fallback_warning() -> None:  # for tests
    global _fallback_warned
    _fallback_warned = False


# ---- analysis --------------------------------------------------------------------------
def _dtype(v: Value) -> str:
    return v.type.dtype


def _is_weak(v: Value) -> bool:
    return isinstance(v.type, ScalarType) and bool(getattr(v.type, "weak", False))


def static_values(block: BlockView) -> set[Value]:
    """Scalars known at trace time: int/bool scalar live-ins, constants, dims and sizes,
    and scalar ops over static operands only."""
    static: set[Value] = set()
    for v in block.live_ins:
        if not v.is_array and (_dtype(v)[0] in "iu" or _dtype(v) == "bool"):
            static.add(v)
    for op in block.region.ops:
        if op.name in ("mc.dim", "mc.size", "mc.const"):
            static.update(op.results)
        elif op.results and not op.regions and all(not r.is_array for r in op.results) \
                and op.name not in ("mc.call", "mc.random", "mc.randn") \
                and op.name not in {f"mc.{r}" for r in REDUCTIONS} and op.name != "mc.getitem" \
                and all(o in static for o in op.operands):
            static.update(op.results)
    return static


def _index_operands(op: Op) -> list[Value]:
    return [v for i, v in enumerate(op.operands) if i != 0 and not (op.name == "mc.setitem" and i == len(op.operands) - 1)]


def check_block(block: BlockView, device_target: str) -> str:
    """'' when the block can be lowered, else the reason it cannot. Only float64 depends
    on the device: the rest is checked once per block where the view keeps a `memo`
    (a build's decision asks for every MLX strategy)."""
    if mx is None:
        return "MLX is not installed"
    memo = getattr(block, "memo", None)
    found = memo.get("mlx") if memo is not None else None
    if found is None:
        found = _check_any_device(block)
        if memo is not None:
            memo["mlx"] = found
    why, dynamic_f64 = found
    if dynamic_f64 and device_target != "cpu":
        return "float64 needs the CPU (MLX GPUs have no float64)"
    return why


def _check_any_device(block: BlockView) -> tuple[str, bool]:
    """(why the block cannot be lowered on any device or '', whether it computes
    float64 values at run time)."""
    if block.kind != "tensor":
        return f"only straight-line tensor blocks (this one is {block.kind!r})", False
    if block.has_early_exit():
        return "blocks with an early return are run inline by the stitched function", False
    static = static_values(block)
    dynamic_f64 = False
    for v in list(block.live_ins) + [r for o in block.ops() for r in o.results]:
        dt = _dtype(v)
        if dt[0] == "c":
            return f"complex dtype {dt}", False
        dynamic_f64 = dynamic_f64 or (dt == "f64" and v not in static)
    return _op_problem(block, static), dynamic_f64


def _op_problem(block: BlockView, static: set[Value]) -> str:
    for op in block.ops():
        n = op.name
        if op is block.region.terminator:
            continue
        if n in UNSUPPORTED:
            return f"{n}: {UNSUPPORTED[n]}"
        if op.regions:
            return f"{n}: control flow"
        if op.results and all(r in static for r in op.results):
            continue  # computed with NumPy at trace time
        if n == "mc.check_dim" and all(v in static for v in op.operands):
            continue  # (checked at trace time: sizes are static)
        in_dts = [_dtype(v) for v in op.operands]
        if n in ("mc.floordiv", "mc.mod", "mc.shl", "mc.shr"):
            return f"{n} on arrays: MLX's integer division/shift semantics differ from NumPy's at the edges"
        if n not in DYNAMIC_OPS:
            return f"{n} has no MLX lowering"
        if n in INT_UNSUPPORTED and (any(d[0] in "iub" for d in in_dts) and _dtype(op.result)[0] in "iub"):
            return f"{n} on integers differs from NumPy in MLX (division by zero, shifts, overflow)"
        if n == "mc.matmul" and any(d[0] in "iub" for d in in_dts):
            return "integer matmul is not supported by MLX"
        if n in F64_IMPRECISE and _dtype(op.result) == "f64":
            return f"{n} in float64: MLX 0.32 computes it in float32 precision"
        if n in FLOAT_ONLY_UNARY and in_dts[0][0] != "f":
            return f"{n} on integers"
        if n in ("mc.triu", "mc.tril") and op.operands[0].type.rank != 2:
            return f"{n} only for 2-D arrays"
        if n in ("mc.triu", "mc.tril", "mc.diag") and any(v not in static for v in op.operands[1:]):
            return f"{n}: k computed from data"
        if n in ("mc.std", "mc.var") and op.attrs.get("ddof", 0) not in (0, None):
            return f"{n} with ddof"
        if n in ("mc.zeros", "mc.ones", "mc.empty", "mc.full", "mc.eye", "mc.arange", "mc.linspace", "mc.reshape"):
            shape_ops = op.operands[: op.attrs.get("ndim", len(op.operands))] if n != "mc.reshape" else op.operands[1:]
            if n in ("mc.eye", "mc.arange", "mc.linspace"):
                shape_ops = op.operands
            if any(v not in static for v in shape_ops):
                return f"{n}: shape depends on data"
        if n in ("mc.getitem", "mc.setitem"):
            why = _index_problem(op, static)
            if why:
                return why
    return ""


def _index_problem(op: Op, static: set[Value]) -> str:
    items = op.attrs["index"]
    arrays = [it for it in items if it[0] == "array"]
    for v in _index_operands(op):
        if not v.is_array and v not in static:
            return f"{op.name}: index computed from data (dynamic)"
    if arrays:
        v = op.operands[arrays[0][1][1]]
        if _dtype(v) == "bool":
            return "boolean-mask indexing (data-dependent shape)"
        return "an index array: MLX's gather does not check its range as NumPy does"
    return ""


# ---- emission --------------------------------------------------------------------------
def mx_dtype_expr(dt: str) -> str:
    return f"mx.{MX_NAME[dt]}"


class MLXEmitter(PythonEmitter):
    """Emits `def NAME(live_ins...)` building the MLX graph; static ops use the NumPy
    reference's own expressions."""

    def __init__(self, static: set[Value]) -> None:
        super().__init__()
        self.static = static

    # -- operands ---------------------------------------------------------------------
    def compute_dtype(self, vals: list[Value]) -> str:
        probes = []
        for v in vals:
            dt = np.dtype(NUMPY_NAME[_dtype(v)])
            if _is_weak(v):
                probes.append({"b": False, "i": 0, "u": 0, "f": 0.0}[dt.kind])
            else:
                probes.append(dt)
        return FROM_NUMPY_KIND[np.result_type(*probes)]

    def mxv(self, v: Value, dt: str | None = None) -> str:
        """Operand `v` as an mx.array of dtype `dt` (default: its own)."""
        dt = dt or _dtype(v)
        n = self.name(v)
        if v in self.static:
            if dt == "u64":  # (mx.array of a Python int at or above 2**63 raised std::bad_cast)
                return f"mx.array(np.asarray({n}).astype(np.uint64))"
            return f"mx.array({n}, dtype={mx_dtype_expr(dt)})"
        if _dtype(v) != dt:
            return f"{n}.astype({mx_dtype_expr(dt)})"
        return n

    def set(self, op: Op, text: str) -> None:
        self.line(f"{self.name(op.result)} = {text}")

    # -- dispatch ---------------------------------------------------------------------
    def op(self, op: Op) -> None:
        if op.results and all(r in self.static for r in op.results):
            self.numpy_op(op)  # a NumPy scalar at trace time
            return
        n = op.name
        if n in MX_BINARY:
            out = _dtype(op.result)
            dt = self.compute_dtype(op.operands) if n in COMPARISONS or out == "bool" else out
            if n in COMPARISONS and dt == "f64" and mixed_sign_u64(*(_dtype(v) for v in op.operands)):
                self.compare_mixed_sign(op)
                return
            if n in ("mc.logical_and", "mc.logical_or"):
                dt = "bool"
            args = [self.mxv(v, dt) for v in op.operands]
            if n in WRAPPING and dt in ("i32", "i64"):
                # as unsigned bits: mx.compile's C++ kernels take signed overflow as
                # impossible and folded `x + 1 > x` to true; NumPy wraps
                u = mx_dtype_expr("u" + dt[1:])
                text = MX_BINARY[n].format(*(f"mx.view({a}, {u})" for a in args))
                self.set(op, f"mx.view({text}, {mx_dtype_expr(dt)})")
                return
            self.set(op, MX_BINARY[n].format(*args))
            return
        if n in MX_UNARY:
            x = op.operands[0]
            out = _dtype(op.result)
            dt = _dtype(x) if out == "bool" or n in ("mc.logical_not",) else out
            if n == "mc.logical_not":
                dt = "bool"
            src = self.mxv(x, dt)
            text = MX_UNARY[n].format(src)
            if n == "mc.sign" and dt[0] == "f":  # mx.sign(nan) is 0; NumPy's is nan
                # (+ 0.0: mx.sign(-0.0) is -0.0, NumPy's is 0.0)
                text = f"mx.where(mx.isnan({src}), {src}, {text} + 0.0)"
            self.set(op, text)
            return
        short = n[3:]
        if short in REDUCTIONS:
            self.reduction(op, short)
            return
        super().op(op)

    def compare_mixed_sign(self, op: Op) -> None:
        """A u64 against a signed integer, exactly as NumPy (not through their common f64):
        a negative signed side decides alone, otherwise both compare as u64."""
        a, c = op.operands
        signed = a if _dtype(a)[0] == "i" else c
        pred = MX_BINARY[op.name]
        when_neg = negative_signed_answer(op.name, signed is a)
        both = pred.format(self.mxv(a, "u64"), self.mxv(c, "u64"))
        self.set(op, f"mx.where({self.mxv(signed, 'i64')} < 0, {when_neg}, {both})")

    def numpy_op(self, op: Op) -> None:
        """The reference lowering of `op` (PythonEmitter's, not this class's overrides)."""
        method = getattr(PythonEmitter, "op_" + op.name[3:], None)
        if method is not None:
            method(self, op)
        else:
            self.set(op, PythonEmitter.expr(self, op))

    def reduction(self, op: Op, short: str) -> None:
        x = op.operands[0]
        out = _dtype(op.result)
        axis = op.attrs.get("axis")
        kd = bool(op.attrs.get("keepdims", False))
        if short in ("argmax", "argmin"):
            ax = "None" if axis is None else repr(axis[0])
            self.set(op, f"_argreduce(mx.{short}, {self.mxv(x)}, {ax}, {kd}).astype({mx_dtype_expr(out)})")
            return
        ax = "None" if axis is None else repr(list(axis))
        if short in ("any", "all"):
            src = self.mxv(x, "bool")
        elif short in ("max", "min"):
            src = self.mxv(x)
        else:  # sum prod mean std var: NumPy accumulates in the result dtype
            src = self.mxv(x, out)
        self.set(op, f"_reduce({short!r}, {src}, {ax}, {kd})")

    # -- ops with dynamic values ---------------------------------------------------------
    def op_cast(self, op: Op) -> None:
        self.set(op, f"{self.mxv(op.operands[0])}.astype({mx_dtype_expr(op.attrs['dtype'])})")

    def op_where(self, op: Op) -> None:
        c, x, y = op.operands
        dt = _dtype(op.result)
        self.set(op, f"mx.where({self.mxv(c, 'bool')}, {self.mxv(x, dt)}, {self.mxv(y, dt)})")

    def op_clip(self, op: Op) -> None:
        dt = _dtype(op.result)
        a, lo, hi = (self.mxv(v, dt) for v in op.operands)
        # bounds first: NumPy's clip keeps x when it equals a bound (clip(-0.0, 0.0, 1.0) is
        # -0.0); MLX's maximum/minimum, as NumPy's, give the second of two equal operands
        self.set(op, f"mx.minimum({hi}, mx.maximum({lo}, {a}))")

    def op_matmul(self, op: Op) -> None:
        dt = _dtype(op.result)
        a, b = (self.mxv(v, dt) for v in op.operands)
        self.set(op, f"mx.matmul({a}, {b})")

    def op_outer(self, op: Op) -> None:
        dt = _dtype(op.result)
        a, b = (self.mxv(v, dt) for v in op.operands)
        self.set(op, f"mx.outer({a}, {b})")

    def _shape_py(self, vals: list[Value]) -> str:
        return "(" + "".join(f"int({self.name(v)}), " for v in vals) + ")"

    def _make(self, op: Op, fn: str) -> None:
        nd = op.attrs["ndim"]
        shape = self._shape_py(op.operands[:nd])
        dt = op.attrs["dtype"]
        if fn == "full":
            self.set(op, f"mx.full({shape}, {self.mxv(op.operands[nd], dt)}, dtype={mx_dtype_expr(dt)})")
        else:
            fn = "zeros" if fn == "empty" else fn
            self.set(op, f"mx.{fn}({shape}, dtype={mx_dtype_expr(dt)})")

    def _make_like(self, op: Op, fn: str) -> None:
        dt = op.attrs["dtype"]
        x = self.name(op.operands[0])
        if fn == "full_like":
            self.set(op, f"mx.full({x}.shape, {self.mxv(op.operands[1], dt)}, dtype={mx_dtype_expr(dt)})")
        else:
            fn = "zeros" if fn == "empty_like" else fn[:-5]
            self.set(op, f"mx.{fn}({x}.shape, dtype={mx_dtype_expr(dt)})")

    def _from_numpy(self, op: Op, np_expr: str) -> None:
        self.set(op, f"mx.array({np_expr}, dtype={mx_dtype_expr(_dtype(op.result))})")

    def op_eye(self, op: Op) -> None:  # static arguments: exact NumPy values
        args = ", ".join(self.name(v) for v in op.operands[:1 + bool(op.attrs["has_m"])])
        self._from_numpy(op, f"np.eye({args}, k={self.diagonal_offset(op)}, dtype=np.{NUMPY_NAME[op.attrs['dtype']]})")

    def op_arange(self, op: Op) -> None:
        args = ", ".join(self.name(v) for v in op.operands)
        self._from_numpy(op, f"np.arange({args}, dtype=np.{NUMPY_NAME[op.attrs['dtype']]})")

    def op_linspace(self, op: Op) -> None:
        s, e, n = (self.name(v) for v in op.operands)
        self._from_numpy(op, f"np.linspace({s}, {e}, int({n}), endpoint={op.attrs['endpoint']}, "
                             f"dtype=np.{NUMPY_NAME[op.attrs['dtype']]})")

    def op_transpose(self, op: Op) -> None:
        axes = op.attrs.get("axes")
        x = self.mxv(op.operands[0])
        self.set(op, f"mx.transpose({x})" if axes is None else f"mx.transpose({x}, {list(axes)!r})")

    def op_reshape(self, op: Op) -> None:
        self.set(op, f"mx.reshape({self.mxv(op.operands[0])}, {self._shape_py(op.operands[1:])})")

    def op_flip(self, op: Op) -> None:
        x = op.operands[0]
        axis = op.attrs.get("axis")
        axes = range(x.type.rank) if axis is None else [a % x.type.rank for a in axis]
        idx = ", ".join("::-1" if i in axes else ":" for i in range(x.type.rank))
        self.set(op, f"{self.mxv(x)}[{idx}]")

    def op_triu(self, op: Op) -> None:
        self.set(op, f"mx.triu({self.mxv(op.operands[0])}, {self.diagonal_offset(op)})")

    def op_tril(self, op: Op) -> None:
        self.set(op, f"mx.tril({self.mxv(op.operands[0])}, {self.diagonal_offset(op)})")

    def _list(self, op: Op) -> str:
        dt = _dtype(op.result)
        return "[" + ", ".join(self.mxv(v, dt) for v in op.operands) + "]"

    def op_concatenate(self, op: Op) -> None:
        self.set(op, f"mx.concatenate({self._list(op)}, axis={op.attrs['axis']})")

    def op_stack(self, op: Op) -> None:
        self.set(op, f"mx.stack({self._list(op)}, axis={op.attrs['axis']})")

    def op_vstack(self, op: Op) -> None:
        if all(v.type.rank == 1 for v in op.operands):
            self.set(op, f"mx.stack({self._list(op)}, axis=0)")
        else:
            self.set(op, f"mx.concatenate({self._list(op)}, axis=0)")

    def op_diag(self, op: Op) -> None:
        self.set(op, f"mx.diag({self.mxv(op.operands[0])}, k={self.diagonal_offset(op)})")

    def op_trace(self, op: Op) -> None:
        self.set(op, f"mx.trace({self.mxv(op.operands[0], _dtype(op.result))})")

    def op_copy(self, op: Op) -> None:  # MLX arrays are values here: setitem copies first
        self.set(op, self.mxv(op.operands[0]))

    def op_dim(self, op: Op) -> None:
        self.set(op, f"np.int64({self.name(op.operands[0])}.shape[{op.attrs['axis']}])")

    def op_size(self, op: Op) -> None:
        self.set(op, f"np.int64({self.name(op.operands[0])}.size)")

    def index_bound(self, op: Op, x: Any) -> str:
        if x is None:
            return ""
        return f"int({self.name(op.operands[x[1]])})" if isinstance(x, tuple) else repr(x)

    def index_int(self, op: Op, axis: int, x: Any) -> str:
        return f"_ix({self.index_bound(op, x)}, {self.name(op.operands[0])}.shape[{axis}])"

    def index_array(self, op: Op, axis: int, x: Any) -> str:
        return self.mxv(op.operands[x[1]])

    def single_item_comma(self, op: Op) -> bool:
        return True

    def op_getitem(self, op: Op) -> None:
        self.set(op, f"{self.mxv(op.operands[0])}[{self.index_text(op)}]")

    def op_setitem(self, op: Op) -> None:
        base, val, res = op.operands[0], op.operands[-1], self.name(op.result)
        self.line(f"{res} = mx.array({self.mxv(base)})  # a copy: values never alias")
        text = self.mxv(val, _dtype(base))
        extra = (val.type.rank if not isinstance(val.type, ScalarType) else 0) - _selection_rank(op)
        if extra > 0:  # NumPy drops a stored value's leading 1-dims (`B[0] = row[newaxis, :]`); MLX raises
            text = f"mx.reshape({text}, {text}.shape[{extra}:])"
        self.line(f"{res}[{self.index_text(op)}] = {text}")

    # -- the function -----------------------------------------------------------------
    def graph_function(self, block: BlockView, py_name: str) -> tuple[str, list[bool]]:
        """Source of `def py_name(live_ins...)` returning (dynamic outs, static outs)."""
        self.block_header_and_body(block, py_name)
        outs = block.yielded
        is_static = [v in self.static for v in outs]
        dyn = [self.name(v) for v, s in zip(outs, is_static) if not s]
        sta = [self.name(v) for v, s in zip(outs, is_static) if s]
        self.line(f"return ({''.join(o + ', ' for o in dyn)}), ({''.join(o + ', ' for o in sta)})")
        return "\n".join(self.lines) + "\n", is_static


def _selection_rank(op: Op) -> int:
    """The rank of `base[index]` for a getitem/setitem `op`, as NumPy indexes: an integer
    drops its axis, a slice keeps it, newaxis adds one; the advanced indices (integer
    arrays, masks as one axis each) together give their broadcast rank."""
    rank, advanced = op.operands[0].type.rank, 0
    for it in op.attrs["index"]:
        if it[0] == "int":
            rank -= 1
        elif it[0] == "newaxis":
            rank += 1
        elif it[0] == "array":
            ix = op.operands[it[1][1]].type if isinstance(it[1], tuple) else None
            if isinstance(ix, ScalarType) or ix is None:
                rank -= 1
            elif ix.dtype == "bool":
                rank -= ix.rank
                advanced = max(advanced, 1)
            else:
                rank -= 1
                advanced = max(advanced, ix.rank)
    return rank + advanced


HELPERS = '''
def _ix(i, n):
    """A constant index, checked and made non-negative as NumPy would."""
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis with size {n}")
    return i + n if i < 0 else i


def _empty_result(x, axis, keepdims):
    """(the reduced shape, whether a reduced axis is empty) of reducing x over axis."""
    axes = range(x.ndim) if axis is None else [a % x.ndim for a in axis]
    shape = [1 if a in axes else n for a, n in enumerate(x.shape) if keepdims or a not in axes]
    return shape, any(x.shape[a] == 0 for a in axes)


_WIDER = {mx.float32: mx.float64}


def _reduced_count(x, axis):
    """How many elements each result of reducing x over axis sums (shapes are static)."""
    n = 1
    for a in range(x.ndim) if axis is None else axis:
        n *= x.shape[a]
    return n


def _reduce(name, x, axis, keepdims):
    """mx.NAME(x, axis, keepdims), but NumPy's result for an empty x without calling MLX,
    whose CPU reductions over an empty axis hang at times (MLX 0.32); the shapes are
    static when traced."""
    if x.size != 0:
        wide = _WIDER.get(x.dtype) if name in ("sum", "mean", "var", "std") else None
        if wide is not None and mx.default_device() == mx.cpu and _reduced_count(x, axis) > 2048:
            # MLX's CPU reductions accumulate float32 in one running float32 sum (17M ones
            # summed to 16777216); NumPy sums pairwise, within a few ulps of the exact sum.
            # Accumulating in float64 (the CPU has it) and rounding back gives that sum.
            # Up to 2048 terms a running sum stays as close (and keeps MLX's rounding)
            return getattr(mx, name)(x.astype(wide), axis=axis, keepdims=keepdims).astype(x.dtype)
        return getattr(mx, name)(x, axis=axis, keepdims=keepdims)
    shape, empty_axis = _empty_result(x, axis, keepdims)
    if empty_axis and name in ("max", "min"):
        op = "maximum" if name == "max" else "minimum"
        raise ValueError(f"zero-size array to reduction operation {op} which has no identity")
    fill = {"sum": 0, "prod": 1, "any": False, "all": True}.get(name, float("nan"))
    return mx.full(shape, fill, dtype=x.dtype)


def _argreduce(f, x, axis, keepdims):
    """mx.argmax/argmin, with NumPy's result for an empty x (MLX rejects every empty
    array; NumPy only one whose reduced axis is empty)."""
    if x.size != 0:
        return f(x, axis=axis, keepdims=keepdims)
    shape, empty_axis = _empty_result(x, None if axis is None else [axis], keepdims)
    if empty_axis:
        raise ValueError(f"attempt to get {f.__name__} of an empty sequence")
    return mx.zeros(shape, dtype=mx.int64)
'''


# ---- the runtime wrapper ----------------------------------------------------------------
# Crossings: a block converts each dynamic live-in NumPy -> MLX once on entry (one
# buffer copy per array) and each dynamic live-out MLX -> NumPy once on exit, never per
# element; static scalars do not cross. An active profiling.CrossingLog records both.
def _to_numpy(a: Any, dtype: np.dtype, scalar: bool) -> Any:
    r = np.array(a, copy=True)
    if r.dtype != dtype:
        r = r.astype(dtype)
    elif r.dtype.char != dtype.char:
        # MLX's int64/uint64 arrive as C long long ('q'/'Q'): equal dtypes, but not NumPy's
        # own int64/uint64 ('l'/'L' on LP64), so a scalar result was an np.longlong (not an
        # np.int64) and an array printed with dtype=int64; the same bytes, relabelled
        r = r.view(dtype)
    return r[()] if scalar else r


def _mlx_ready(a: Any) -> Any:
    """`a` in a layout mx.array accepts: it raises on negative strides (DLPack), on a
    non-native byte order and on a stride that is not a multiple of the item size (a
    field of a structured array, `rec["x"]`: std::bad_cast), so such arrays are copied first."""
    if isinstance(a, np.ndarray) and (not a.dtype.isnative
                                      or any(s < 0 or s % a.itemsize for s in a.strides)):
        # a new array, not ascontiguousarray: that keeps an array whose negative strides are
        # on length-1 axes (x[::-1] of one element, A[::-1] of one row), which NumPy counts
        # as contiguous, as it is
        return np.array(a, dtype=a.dtype.newbyteorder("="), order="C")
    return a


def _to_mlx(args: Any, in_static: list[bool], in_mx: list[Any]) -> tuple[list, list]:
    """(dynamic live-ins as mx.arrays, static live-ins as given), converting once each."""
    log = crossing_log()
    t0 = time.perf_counter() if log is not None else 0.0
    arrays, statics = [], []
    for a, s, dt in zip(args, in_static, in_mx):
        if s:
            statics.append(a)
        else:
            arrays.append(mx.array(_mlx_ready(a), dtype=dt))
    if log is not None:
        log.record("in", len(arrays), sum(a.nbytes for a in arrays), time.perf_counter() - t0)
    return arrays, statics


def _from_mlx(dyn: Any, static_outs: Any, out_static: list[bool], out_np: list[np.dtype],
              out_scalar: list[bool]) -> tuple:
    """The live-outs as NumPy values: dynamic ones converted back once each."""
    log = crossing_log()
    t0 = time.perf_counter() if log is not None else 0.0
    it_d, it_s = iter(dyn), iter(static_outs)
    res = tuple(next(it_s) if s else _to_numpy(next(it_d), dt, sc)
                for s, dt, sc in zip(out_static, out_np, out_scalar))
    if log is not None:
        moved = [r for r, s in zip(res, out_static) if not s]
        log.record("out", len(moved), sum(np.asarray(r).nbytes for r in moved), time.perf_counter() - t0)
    return res


class MLXBlockCall:
    """live-ins (NumPy) -> tuple of live-outs (NumPy), through a cached mx.compile'd graph."""

    def __init__(self, graph: Any, block: BlockView, static: set[Value], device: Any, compile_: bool) -> None:
        self.graph = graph
        self.device = device
        self.compile = compile_
        ins = block.live_ins
        self.in_static = [v in static for v in ins]
        self.in_mx = [None if s else getattr(mx, MX_NAME[_dtype(v)]) for v, s in zip(ins, self.in_static)]
        outs = block.yielded
        self.out_static = [v in static for v in outs]
        self.out_np = [np.dtype(NUMPY_NAME[_dtype(v)]) for v in outs]
        self.out_scalar = [not v.is_array for v in outs]
        self.cache: dict[Any, tuple[Any, tuple]] = {}
        self.lock = threading.Lock()

    def _split(self, args: tuple) -> tuple[list, tuple]:
        arrays, statics = _to_mlx(args, self.in_static, self.in_mx)
        return arrays, tuple(statics)

    def _bind(self, statics: tuple) -> Any:
        graph, in_static = self.graph, self.in_static

        def bound(*arrays: Any) -> Any:
            it_a, it_s = iter(arrays), iter(statics)
            return graph(*[next(it_s) if s else next(it_a) for s in in_static])
        return bound

    def entry(self, arrays: list, statics: tuple) -> tuple[Any, tuple]:
        key = (statics, tuple((a.shape, a.dtype) for a in arrays))
        hit = self.cache.get(key)
        if hit is None:
            bound = self._bind(statics)
            _, static_outs = bound(*arrays)  # a lazy trace: finds the static results
            fn = mx.compile(lambda *xs: bound(*xs)[0]) if self.compile else (lambda *xs: bound(*xs)[0])
            hit = (fn, static_outs)
            with self.lock:
                self.cache[key] = hit
        return hit

    def __call__(self, *args: Any) -> tuple:
        with mx.stream(self.device):
            arrays, statics = self._split(args)
            fn, static_outs = self.entry(arrays, statics)
            try:
                dyn = fn(*arrays)
                mx.eval(dyn)
            except RuntimeError as e:
                if not self.compile:
                    raise
                # mx.compile builds fused CPU kernels with a C++ compiler at run time;
                # without one (or on a compile bug) the same graph runs eagerly
                warnings.warn(f"mx.compile failed ({e}); running the MLX graph uncompiled", RuntimeWarning,
                              stacklevel=2)
                self.compile = False
                self.cache.clear()
                fn, static_outs = self.entry(arrays, statics)
                dyn = fn(*arrays)
                mx.eval(dyn)
        return self.assemble(dyn, static_outs)

    def assemble(self, dyn: Any, static_outs: tuple) -> tuple:
        return _from_mlx(dyn, static_outs, self.out_static, self.out_np, self.out_scalar)


def block_py_name(block: BlockView) -> str:
    return "mlx_" + block.id.replace(".", "_")


class MLXBackend:
    name = "mlx"

    def can_lower(self, block: BlockView, strategy: OptimizationStrategy) -> tuple[bool, str]:
        why = check_block(block, strategy.device_target)
        return (not why, why)

    def lower(self, block: BlockView, strategy: OptimizationStrategy, workdir: Path | None = None) -> BuiltBlock:
        why = check_block(block, strategy.device_target)
        if why:
            raise LoweringError(f"{block.id}: {why}")
        device, fallback = resolve_device(strategy.device_target)
        static = static_values(block)
        name = block_py_name(block)
        body, out_static = MLXEmitter(static).graph_function(block, name)
        header = (f"# generated by mcodec: block {block.id} as an MLX graph ({strategy.strategy_id})\n"
                  f"# returns (dynamic results as mx.array, static results as NumPy scalars)\n")
        source = header + PRELUDE + HELPERS + "\n\n" + body
        from mcodec.compiler.reference import exec_source

        ns = exec_source(source, f"{block.id}:mlx")
        call = MLXBlockCall(ns[name], block, static, device, compile_=strategy.jit_level > 0)
        info = {"namespace": ns, "device": device_name(device), "device_fallback": fallback,
                "static_inputs": call.in_static, "static_outputs": out_static, "compiled": strategy.jit_level > 0}
        return BuiltBlock(block.id, strategy.strategy_id, call, source, info=info)


# ---- export / import (mx.export_function) -------------------------------------------------
def export_block(built: BuiltBlock, example_inputs: list[Any] | tuple, path: str | Path) -> Path:
    """Export a built MLX block's graph for the shapes of `example_inputs` (and their
    static values) to `path` (an .mlxfn file) plus `path + '.json'` with what the
    loader needs (static inputs checked at call time, static results, dtypes)."""
    call: MLXBlockCall = built.call
    path = Path(path)
    with mx.stream(call.device):
        arrays, statics = call._split(tuple(example_inputs))
        bound = call._bind(statics)
        _, static_outs = bound(*arrays)
        mx.export_function(str(path), lambda *xs: bound(*xs)[0], *arrays)
    meta = {
        "block_id": built.block_id, "strategy_id": built.strategy_id, "device": device_name(call.device),
        "in_static": call.in_static, "in_dtypes": [None if d is None else str(d).split(".")[-1] for d in call.in_mx],
        "statics": [_jsonable(s) for s in statics],
        "shapes": [list(a.shape) for a in arrays],
        "out_static": call.out_static, "out_dtypes": [d.str for d in call.out_np], "out_scalar": call.out_scalar,
        "static_outs": [[_jsonable(s), np.asarray(s).dtype.str] for s in static_outs],
    }
    Path(str(path) + ".json").write_text(json.dumps(meta, indent=1))
    return path


def _jsonable(x: Any) -> Any:
    return np.asarray(x).item()


def load_exported(path: str | Path) -> Any:
    """A callable live-ins -> tuple of live-outs from an exported block (fixed shapes)."""
    path = Path(path)
    meta = json.loads(Path(str(path) + ".json").read_text())
    fn = mx.import_function(str(path))
    device = mx.gpu if meta["device"] == "gpu" and gpu_available() else mx.cpu
    statics = tuple(meta["statics"])
    shapes = [tuple(s) for s in meta["shapes"]]
    in_mx = [None if d is None else getattr(mx, d) for d in meta["in_dtypes"]]
    static_outs = [np.dtype(dt).type(v) for v, dt in meta["static_outs"]]
    out_np = [np.dtype(d) for d in meta["out_dtypes"]]

    def call(*args: Any) -> tuple:
        arrays, got = _to_mlx(args, meta["in_static"], in_mx)
        if tuple(np.asarray(a).item() for a in got) != statics or [tuple(a.shape) for a in arrays] != shapes:
            raise ValueError(f"{meta['block_id']}: exported for shapes {shapes} and statics {statics}")
        with mx.stream(device):
            dyn = fn(*arrays)
            mx.eval(dyn)
        return _from_mlx(dyn, static_outs, meta["out_static"], out_np, meta["out_scalar"])
    return call
