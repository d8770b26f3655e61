"""The Numba back end: a block as generated Python, compiled with `numba.njit`.

The source is readable Python (see `BuiltBlock.source`) produced by `NumbaEmitter`, a
`PythonEmitter` that lowers what Numba types differently from NumPy:

* every scalar operation is cast to the dtype the IR gives it (Numba's scalar typing
  is not NumPy 2's: no weak literals, small ints widen to int64), so results carry the
  exact NumPy dtypes of the reference;
* array elementwise ops become explicit loop nests over the output shape (broadcasting
  by index arithmetic); with `operator_fusion` a chain of same-shape elementwise ops
  (and `x[:, newaxis]` views) is one loop nest without temporaries;
* reductions are explicit loops (any axes, keepdims); with `tensor_fusion` the
  elementwise producer of a reduction is computed inside the reduction loop;
* `mc.for` loops are `range` loops; with `parallelization_level >= 1` an outer loop
  whose only carried values are arrays written at `[iv, ...]` (never read) becomes a
  `prange`, and so does the outer loop of a top-level fused elementwise nest;
* float matrix products go to `@` (BLAS); `C[...] += alpha * A @ B` and accumulators
  `acc = acc + A @ B` are one GEMM into the destination (numba_gemm.py);
* loops over a column block `B[:, lo:hi]` (layout 'A' in Numba: no vectorization) read
  and write it a row view `B[i, lo:hi]` at a time (unit stride, 'C');
* boolean-mask selects and stores are count/fill loops (numba_masks.py); slice stores
  of elementwise values write the slice directly (numba_stores.py); loop-carried
  accumulators reuse their own buffer (numba_reuse.py); float `exp`, `tanh` and `log`
  are inlined polynomials that vectorize (runtime_shim/numba_math.py).

The function is compiled eagerly for a signature derived from the live-in types
(arrays with layout 'A'), so typing errors surface as `LoweringError` at build time.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import operator
import re
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from mcodec.compiler.index_bounds import unchecked_accesses
from mcodec.compiler.ir import Op, Region, Value, defined_in
from mcodec.compiler.ir_facts import const_of, magnitude_bits, non_negative
from mcodec.compiler.semantics import ELEMENTWISE, REDUCTIONS
from mcodec.compiler.strategy import OptimizationStrategy
from mcodec.compiler.types import NUMPY_NAME, ArrayType, ScalarType, is_one, probe_dtype
from mcodec.runtime_shim.hardware import short_openmp_spins

from . import numba_element_loops as element_loops
from .base import BlockView, BuiltBlock, LoweringError, mixed_sign_u64
from .numba_gemm import emit_store as emit_gemm_store
from .numba_gemm import emit_update as emit_gemm_update
from .numba_gemm import plan_all as plan_gemm
from .numba_masks import (
    arange_elem,
    check_mask_stores,
    emit_mask_select,
    emit_mask_store,
    fusable_into_mask,
    is_int_arange,
    leading_mask,
    lowerable_mask,
    plan_copy_store,
    plan_mask_epilogues,
)
from .numba_outline import emit_outlined_loop, plan_outlined_loops
from .numba_reductions import emit_dot_reductions, plan_dot_reductions, skipped_ops
from .numba_reuse import emit_result_buffer, plan_all
from .numba_rows import RowGroup, emit_row_group, plan_row_groups
from .numba_stores import check_fused_stores, emit_fused_store, plan_fused_store, store_as_loops
from .pysource import PythonEmitter

HAVE_BLAS = importlib.util.find_spec("scipy") is not None  # Numba's np.dot/@ use SciPy's BLAS

PRELUDE = "import numpy as np\nfrom numba import objmode, prange\n"
# a random draw's object-mode block (NumbaEmitter._draw) compiles at its first run, saying
# so: nothing a user can act on
warnings.filterwarnings("ignore", message="Code running in object mode won't allow parallel execution")
# ops whose result is a new array, sharing memory with no other
FRESH_ARRAYS = frozenset({"mc.zeros", "mc.ones", "mc.full", "mc.empty", "mc.copy"})
# inlined polynomials that vectorize, where libm's scalar calls do not (runtime_shim/numba_math.py)
POLY_MATH = {(f"mc.{f}", d): f"{f}_{d}" for f in ("exp", "tanh", "log") for d in ("f32", "f64")}
# runtime helpers a block imports only when it calls them: numba_blas loads SciPy's BLAS
# (about 0.5 s at every build and every artifact load)
HELPERS = {"advise_huge": "numba_memory", "overlaps": "numba_memory",
           **{f: "numba_math" for f in POLY_MATH.values()},
           "floordiv_i64": "numba_math", "shl_np": "numba_math", "shr_np": "numba_math",
           **{f: "numba_math" for f in ("add_i64", "sub_i64", "mul_i64")},
           "cmp_int_exact": "numba_math", "pow_exact": "numba_math", "int_pow": "numba_math",
           "maximum_f": "numba_math", "minimum_f": "numba_math", "cdiv_np": "numba_math", "cexp_np": "numba_math",
           "csqrt_np": "numba_math", "clog_np": "numba_math", "f2u64": "numba_math",
           "matmul_acc": "numba_blas", "matmul_acc_into": "numba_blas", "matmul_into": "numba_blas", "gram": "numba_blas",
           "checked_index": "numba_checks", "checked_indices": "numba_checks", "num_threads": "numba_threads"}


def prelude(fn_text: str) -> str:
    """The imports of a block whose function is `fn_text`."""
    used: dict[str, list[str]] = {}
    for name, module in HELPERS.items():
        if re.search(rf"\b{name}\(", fn_text):
            used.setdefault(module, []).append(name)
    return PRELUDE + "".join(f"from mcodec.runtime_shim.{m} import {', '.join(ns)}\n" for m, ns in used.items())

ARITH = {"mc.add": "+", "mc.sub": "-", "mc.mul": "*", "mc.div": "/", "mc.floordiv": "//",
         "mc.mod": "%", "mc.pow": "**", "mc.bitand": "&", "mc.bitor": "|", "mc.bitxor": "^",
         "mc.shl": "<<", "mc.shr": ">>"}
SHIFTS = {"mc.shl": "shl_np", "mc.shr": "shr_np"}
WRAPPING_I64 = {"mc.add": "add_i64", "mc.sub": "sub_i64", "mc.mul": "mul_i64"}
COMPARE = {"mc.eq": "==", "mc.ne": "!=", "mc.lt": "<", "mc.le": "<=", "mc.gt": ">", "mc.ge": ">="}
ARITH_FUNCS = {"mc.maximum": "np.maximum", "mc.minimum": "np.minimum", "mc.arctan2": "np.arctan2"}
# NumPy's float maximum/minimum give the second operand of two equal ones (the sign of a zero)
FLOAT_MINMAX = {"mc.maximum": "maximum_f", "mc.minimum": "minimum_f"}
UNARY_NP = ("exp log log2 log10 sqrt sin cos tan arcsin arccos arctan sinh cosh tanh abs sign "
            "floor ceil isnan isinf").split()
COMPLEX_ELEMENTWISE = frozenset(f"mc.{n}" for n in (
    "add sub mul div neg pos eq ne where cast exp log sqrt abs real imag conj isnan isinf").split())
NATIVE = ("int64", "float64", "complex128")
LANES = 8  # partial sums in a float reduction along the contiguous axis  # dtypes Numba's scalar arithmetic keeps
# reductions without an identity: NumPy's error when the reduced axes hold no element
EMPTY_REDUCTION_ERRORS = {
    "max": "zero-size array to reduction operation maximum which has no identity",
    "min": "zero-size array to reduction operation minimum which has no identity",
    "argmax": "attempt to get argmax of an empty sequence",
    "argmin": "attempt to get argmin of an empty sequence",
}
# fastmath for jit_level 2 without nnan/ninf (as the LLVM back end): those let LLVM fold
# isnan/isinf to false and drop the NaN/inf of a max/min or a division, which changes results;
# and without arcp: x / n as x * (1 / n) is inexact where the division is exact, so a bin
# edge `rmax * (i + 1) / n` missed rmax and a strict comparison against it flipped
FAST_FLAGS = {"nsz": True, "contract": True, "afn": True, "reassoc": True}
# names in generated nests that are not the block's values (see _outlined_prange_nest)
_NOT_FREE = frozenset("for in if else and or not range prange min max abs int float bool len True False None np".split())
# elements of a nest inside a sequential loop from which it runs as prange. Idle OpenMP
# threads spin for about 60 us before they sleep (hardware.short_openmp_spins), so a
# prange soon after another finds them awake; one after a longer pause wakes them, 20-50
# us here. With threads that slept at once, heat-3d at 80^3 (474k elements a nest) was
# faster serial; with the short spin its parallel nests took it from 4.6 to 3.1 ms and
# jacobi-2d from 8.5 to 5.3 ms, alike with 2^14 and 2^16 as the threshold
PRANGE_IN_LOOP_MIN = 1 << 16
PARFOR_KINDS = ("comprehension", "reduction", "inplace_binop", "setitem", "numpy", "stencil", "fusion", "prange")
SIDE_EFFECTS = {"mc.setitem", "mc.call", "mc.return", "mc.random", "mc.randn"}
UNSUPPORTED = {"mc.call": "calls to other M-CODE functions are not compiled by Numba",
               "mc.return": "early return"}


# an operand index scaled by its broadcast flag (operand_elem): ` * bc_12`
_BROADCAST_MUL = re.compile(r" \* (bc_\d+)\b")


def block_py_name(block: BlockView) -> str:
    return "blk_" + block.id.replace(".", "_")


def npname(dtype: str) -> str:
    return NUMPY_NAME[dtype]


# one-instruction elementwise ops worth recomputing wherever they are used in fused loops
REMATERIALIZED = frozenset({"mc.add", "mc.sub", "mc.mul", "mc.neg", "mc.pos"})


def is_view_getitem(op: Op) -> bool:
    """`x[:, newaxis, :]`: only full slices and newaxis (a pure re-indexing of x)."""
    if op.name != "mc.getitem" or not op.result.is_array:
        return False
    items = op.attrs["index"]
    if not any(it[0] == "newaxis" for it in items):
        return False
    return all(it[0] == "newaxis" or (it[0] == "slice" and it[1:] == (None, None, None)) for it in items)


def gather_axis(op: Op) -> tuple[int, Value] | None:
    """`x[idx]`, `A[:, idx]`, `lut[img]`: one integer index array, every other item a
    full slice: (the axis it indexes, the index array); else None."""
    if op.name != "mc.getitem" or not op.result.is_array:
        return None
    found = None
    for a, it in enumerate(op.attrs["index"]):
        if it[0] == "array" and found is None and isinstance(it[1], tuple):
            ix = op.operands[it[1][1]]
            if not isinstance(ix.type, ArrayType) or ix.type.rank == 0 or ix.type.dtype[0] not in "iu":
                return None
            found = (a, ix)
        elif it != ("slice", None, None, None):
            return None
    return found


def numba_type(t: Any) -> Any:
    """Arrays are compiled as C-contiguous: with unit strides known at compile time LLVM
    vectorizes the inner loops (with layout 'A' every access multiplies a run-time
    stride, several times slower). A non-contiguous argument is copied first (see
    `_writable`); arrays are values, so a block's writes reach the caller through the
    arrays it returns either way."""
    from numba import types

    nb = getattr(types, "boolean" if t.dtype == "bool" else npname(t.dtype))
    if isinstance(t, ArrayType):
        return types.Array(nb, t.rank, "C")
    return nb


class _Ctx:
    def __init__(self, row_iv: str = "", region: Region | None = None) -> None:
        """`row_iv`, `region`: the row loop's variable and the region the loop nest is
        emitted in, when the caller collects row views (see NumbaEmitter.row_view) and
        opens its loops with `_open_loops_rows`."""
        self.pre: list[str] = []
        self.shapes: list[tuple[int, str, Any]] = []  # (loop dim, shape expr, static dim)
        # row views: key -> (name, expression at row `row_iv`)
        self.rows: dict[Any, tuple[str, str]] | None = {} if region is not None else None
        self.row_iv = row_iv
        self.region = region


def column_slice(op: Any) -> tuple[Value, tuple] | None:
    """`B[:, lo:hi]` of a 2-D B (step 1): (B, the column item). Numba types this view
    as layout 'A' (a run-time inner stride: loops over it do not vectorize), while its
    row i is `B[i, lo:hi]`, a 1-D view that is 'C' when B is."""
    if not isinstance(op, Op) or op.name != "mc.getitem" or not op.result.is_array or op.result.type.rank != 2:
        return None
    items = op.attrs["index"]
    base = op.operands[0]
    if not isinstance(base.type, ArrayType) or base.type.rank != 2 or len(items) != 2:
        return None
    if items[0] != ("slice", None, None, None) or items[1][0] != "slice" or items[1][3] is not None or \
            items[1] == ("slice", None, None, None):
        return None
    return base, items[1]


# float -> integer casts routed through a wider signed integer (see NumbaEmitter.cast)
_VIA_INT = {"i8": "int32", "u8": "int32", "i16": "int32", "u16": "int32", "u32": "int64"}


class NumbaEmitter(PythonEmitter):
    def __init__(self, strategy: OptimizationStrategy, block: BlockView, serial_loops: frozenset[Op] = frozenset()
                 ) -> None:
        super().__init__()
        # loops written as prange carry a mark on their header line (see demoted_loops)
        self.serial_loops = serial_loops  # loops not to run as prange: their bodies may raise
        self.prange_marks: dict[str, Op] = {}
        self.strategy = strategy
        self.block = block
        self.fuse = strategy.operator_fusion
        self.tfuse = strategy.tensor_fusion
        self.par = strategy.parallelization_level
        self.uses: dict[Value, list[Op]] = {}
        for o in block.region.walk():
            for v in o.operands:
                self.uses.setdefault(v, []).append(o)
        self.inlined: set[Op] = set()
        self.fused_stores: dict[Op, Op] = {}  # mc.setitem -> elementwise op computed into it
        self.skip: set[Op] = set()  # ops raised out of their loop (dot reductions)
        self.copy_stores: dict[Op, Op] = {}  # masked mc.setitem -> the mc.copy it writes
        self.reuse: dict[Op, tuple[Value, str]] = {}  # update -> (carried operand, ownership flag)
        self.reuse_flags: dict[Op, list[str]] = {}  # outermost loop -> flags set before it
        self.gemm: dict[Op, Any] = {}  # update -> numba_gemm.GemmPlan (BLAS accumulates into it)
        self.mask_epilogue: dict[Op, list[Op]] = {}  # mask select -> elementwise ops computed in its fill
        self.mask_concat: dict[Op, Op] = {}  # mask select -> the concatenation whose buffer it fills
        self._for_op: Op | None = None  # the mc.for whose range is being written
        self.reduction_updates: set[Op] = set()  # `s = s + e` of a prange reduction
        self.loop_depth = 0
        self.prange_depth = 0  # enclosing loops emitted as prange (an inner prange runs serially)
        self.unchecked = frozenset(unchecked_accesses(block.region))  # (getitem/setitem ops)
        self.gathers_checked: set[Op] = set()  # inlined gathers whose index array is checked
        # (and "prange_loops": counted in the finished source, see serial_where_raising)
        self.stats = {"fused_loops": 0, "fused_ops": 0, "reduction_loops": 0, "fused_reductions": 0,
                      "matmul_blas": 0}
        self._plan(block.region)
        check_fused_stores(self)
        check_mask_stores(self)
        plan_mask_epilogues(self)
        plan_all(self)
        if HAVE_BLAS:
            plan_gemm(self)
        # rows of [R, C] ops fused into one loop (numba_rows.py), after the other plans
        self.row_groups: dict[Op, RowGroup] = {}  # first member -> its group
        self.row_skip: set[Op] = set()  # other members and hoisted ops: emitted with the group
        self.row_local: dict[Value, tuple[str, str]] = {}  # contracted result -> ("row"|"scalar", name)
        self.row_emitting = False
        if self.tfuse:
            plan_row_groups(self, block.region)
        # innermost loops reading one row of an array and writing another (numba_outline.py)
        self.outlined: dict[Op, tuple[list[Value], dict[Op, Value]]] = {}  # loop -> (its free values, reads)
        self.read_alias: dict[Op, str] = {}  # load in an outlined loop -> the array's second name
        self.helper_texts: list[str] = []
        self.prange_nests: dict[str, str] = {}  # outlined prange nest (parameters on) -> its function
        self.outlining = False
        self.reduce_yields: dict[Op, dict[int, str]] = {}  # see _accumulate_per_iteration
        self.privatized: dict[Op, list[Value]] = {}  # prange loop -> arrays it accumulates into (see _parallel_chain)
        if strategy.jit_level >= 1:
            plan_outlined_loops(self)

    def index_int(self, op: Op, axis: int, x: Any) -> str:
        i = super().index_int(op, axis, x)
        return f"checked_index({i}, {self.name(op.operands[0])}.shape[{axis}])" if op in self.unchecked else i

    def index_array(self, op: Op, axis: int, x: Any) -> str:
        ix = super().index_array(op, axis, x)
        return f"checked_indices({ix}, {self.name(op.operands[0])}.shape[{axis}])" if op in self.unchecked else ix

    def index_items(self, op: Op) -> list:
        """Trailing full slices dropped (a no-op in NumPy's indexing): Numba types
        `A[a:b, :]` and `A[:, :]` of a C-contiguous A as layout 'A' but `A[a:b]` and
        `A[:]` as 'C', and BLAS calls and vectorized loops on 'A' arrays are far slower
        (a matrix-vector product about 15x)."""
        items = op.attrs["index"]
        n = len(items)
        while n > 1 and items[n - 1] == ("slice", None, None, None):
            n -= 1
        return items[:n]

    # ---- fusion planning -----------------------------------------------------------------
    def _plan(self, region: Region) -> None:
        ops = region.ops
        pos = {id(o): i for i, o in enumerate(ops)}
        for i, o in enumerate(ops):
            for r in o.regions:
                self._plan(r)
            users = self._later_users(ops, pos, i)
            if users is None:
                continue
            if is_view_getitem(o) and self.fuse:
                if all(self._fusable_user(u, o.result, same_shape=False) for u in users):
                    self.inlined.add(o)
            elif o.name == "mc.outer" and self.fuse and len(users) == 1 and \
                    all(isinstance(v.type, ArrayType) and v.type.rank == 1 for v in o.operands):
                if self._fusable_user(users[0], o.result, same_shape=True):
                    self.inlined.add(o)  # u[i] * v[j] inside the user's loop: no n*m temporary
                else:
                    plan_fused_store(self, o, users[0])
            elif o.name in ELEMENTWISE and self.fuse and len(users) == 1:
                if self._fusable_user(users[0], o.result, same_shape=True):
                    self.inlined.add(o)
                else:
                    plan_fused_store(self, o, users[0])
            elif o.name in REMATERIALIZED and self.fuse and self._leaf_operands(o) and \
                    all(self._fusable_user(u, o.result, same_shape=True) for u in users):
                # `2.0 * A[1:-1]`, used by several terms (CSE merged the copies):
                # recomputed in each fused loop instead of a temporary array written
                # once and read back several times (memory traffic, not arithmetic,
                # bounds such loops)
                self.inlined.add(o)
            elif is_int_arange(o) and self.fuse and len(users) == 1:
                if fusable_into_mask(o, o.result, users[0]):
                    self.inlined.add(o)  # arange(n)[mask]: the selected indices only
            elif o.name == "mc.copy" and self.fuse and len(users) == 1:
                plan_copy_store(self, o, users[0])
        if self.fuse:
            self._plan_gathers(ops, pos)

    def _plan_gathers(self, ops: list[Op], pos: dict[int, int]) -> None:
        """Gathers read where they are used (`img[y0][:, x0] * w` as `img[y0[i], x0[j]]`):
        no temporary the size of the result per gather. Last to first, so a gather
        whose users are gathers already inlined is inlined too. The index arrays are
        checked before the loop that reads through them (NumPy raises before computing)."""
        for i in range(len(ops) - 1, -1, -1):
            o = ops[i]
            if o in self.inlined or gather_axis(o) is None:
                continue
            users = self._later_users(ops, pos, i)
            if users is not None and all(self._gather_user(u, o.result) for u in users):
                self.inlined.add(o)

    def _later_users(self, ops: list[Op], pos: dict[int, int], i: int) -> list[Op] | None:
        """The users of ops[i]'s array result when all follow it in this region with
        nothing between that writes or branches (so it can be computed where it is
        read); else None."""
        o = ops[i]
        if not o.results or not o.result.is_array:
            return None
        users = self.uses.get(o.result, [])
        if not users or any(id(u) not in pos or pos[id(u)] <= i for u in users):
            return None
        last = max(pos[id(u)] for u in users)
        if any(ops[k].regions or ops[k].name in SIDE_EFFECTS for k in range(i + 1, last)):
            return None
        return users

    def _gather_user(self, u: Op, v: Value) -> bool:
        g = gather_axis(u) if u in self.inlined else None
        if g is not None:
            return u.operands[0] is v and g[1] is not v
        if leading_mask(u) is not None:
            return False
        return self._fusable_user(u, v, same_shape=False)

    def _leaf_operands(self, op: Op) -> bool:
        """Every array operand is read as it is (an array, or a view of one): copies of
        `op` inlined in several places do not copy a chain of other inlined ops."""
        return all(not u.is_array or not isinstance(u.owner, Op) or u.owner not in self.inlined
                   or u.owner.name == "mc.getitem" for u in op.operands)

    def _fusable_user(self, u: Op, v: Value, same_shape: bool) -> bool:
        if leading_mask(u) is not None:
            return fusable_into_mask(v.owner, v, u)
        if u.name in ELEMENTWISE and u.result.is_array:
            if not same_shape:
                return True
            # unknown extents (`?`) are taken as equal: the fused loop still broadcasts
            # correctly when they are not; a known broadcast (1 against more) would
            # recompute each element of v many times, so v is kept then
            a, b = v.type.shape, u.result.type.shape
            return len(a) == len(b) and all(x == y or (x is None and not is_one(y)) or (y is None and not is_one(x))
                                            for x, y in zip(a, b))
        if u.name[3:] in REDUCTIONS and u.operands[0] is v:
            return self.tfuse or not same_shape
        return False

    # ---- element expressions ------------------------------------------------------------
    def cast(self, text: str, frm: Any, to: str) -> str:
        """`text` (of IR type frm) as a scalar of dtype `to`."""
        if frm.dtype == to and not (isinstance(frm, ScalarType) and frm.weak and to not in ("i64", "f64", "bool", "c128")):
            return text
        if to == "bool":
            return f"({text} != 0)"
        if frm.dtype in ("f32", "f64") and to in _VIA_INT:
            # float -> narrow or u32 integer through a wider signed int, as NumPy's casts on x86: a
            # direct fptoui/fptosi of a value out of the target's range is poison, and vectorized
            # u16(-1.0) gave 0 (NumPy 65535) while the scalar loop gave 65535
            return f"np.{npname(to)}(np.{_VIA_INT[to]}({text}))"
        if frm.dtype in ("f32", "f64") and to == "u64":  # (Numba's saturates: u64(-200.0) gave 2^64 - 1)
            return f"f2u64({text})"
        return f"np.{npname(to)}({text})"

    def index_only(self, v: Value, depth: int = 0) -> bool:
        """Whether every use of integer `v` is an index, a loop bound, or arithmetic
        whose result is only that (an overflowing index is out of range anyway)."""
        users = self.uses.get(v, [])
        if not users or depth > 4:
            return False
        for u in users:
            if u.name == "mc.getitem" and v is not u.operands[0]:
                continue
            if u.name == "mc.setitem" and v is not u.operands[0] and v is not u.operands[-1]:
                continue
            if u.name == "mc.for" and v in u.operands[:3]:
                continue
            if u.name in WRAPPING_I64 and u.results and self.index_only(u.result, depth + 1):
                continue
            return False
        return True

    def scalar_expr(self, op: Op, args: list[str]) -> str:
        n = op.name
        rt = op.result.type
        D = rt.dtype
        ts = [v.type for v in op.operands]
        if n in ARITH or n in ARITH_FUNCS:
            if n == "mc.pow" and _const_value(op.operands[1]) == 2 and D[0] in "fc":
                a = self.cast(args[0], ts[0], D)
                return f"({a} * {a})"
            kexp = _const_value(op.operands[1]) if n == "mc.pow" else None
            int_power = n == "mc.pow" and D[0] in "fc" and ts[1].dtype[0] in "iu" and isinstance(kexp, int) and kexp >= 0
            if int_power:
                # a float to a constant non-negative integer power: Numba's repeated
                # multiplication; any other integer exponent goes through pow as a float
                # (Numba's float ** negative int raises ZeroDivisionError at 0; NumPy: inf)
                cargs = [self.cast(args[0], ts[0], D), args[1]]
            else:
                cargs = [self.cast(a, t, D) for a, t in zip(args, ts)]
            if n == "mc.floordiv" and D == "i64":  # INT_MIN // -1 wraps in NumPy (0 in Numba)
                text = f"floordiv_i64({cargs[0]}, {cargs[1]})"
            elif n in WRAPPING_I64 and D == "i64" and op not in self.reduction_updates and \
                    magnitude_bits(op.result) > 62 and not self.index_only(op.result):
                # values that may overflow wrap as NumPy's (Numba's nsw lets LLVM assume
                # they do not); an index keeps nsw, which lets LLVM drop negative-index checks
                text = f"{WRAPPING_I64[n]}({cargs[0]}, {cargs[1]})"
            elif n in SHIFTS:  # counts out of 0..63 are NumPy's 0 or -1, not LLVM's poison
                text = f"{SHIFTS[n]}({cargs[0]}, {cargs[1]})"
            elif n in FLOAT_MINMAX and D[0] == "f":
                text = f"{FLOAT_MINMAX[n]}({cargs[0]}, {cargs[1]})"
            elif n in ARITH_FUNCS:
                text = f"{ARITH_FUNCS[n]}({cargs[0]}, {cargs[1]})"
            elif n == "mc.div" and D[0] == "c":
                text = f"cdiv_np({cargs[0]}, {cargs[1]}, np.float{32 if D == 'c64' else 64}(1.0))"
            elif n == "mc.pow" and D[0] == "i" and not (isinstance(kexp, int) and kexp >= 0):
                # a signed exponent that may be negative: NumPy's error (Numba gives 0 or 1)
                text = f"int_pow({cargs[0]}, {cargs[1]})"
            elif n == "mc.pow" and D[0] == "f" and not int_power and self.strategy.jit_level >= 2:
                # a float exponent under fastmath: afn rewrites pow(x, n + 0.5) (NaN at 0 and
                # inf) and pow(x, float(k)) as powi, a compiler-rt call Numba cannot link
                text = f"pow_exact({cargs[0]}, {cargs[1]})"
            else:
                text = f"({cargs[0]} {ARITH[n]} {cargs[1]})"
            if D == "bool":
                return f"bool({text})"
            # (a prange reduction must read `s = s + e`: Numba would not see one through the cast)
            return text if npname(D) in NATIVE or op in self.reduction_updates else f"np.{npname(D)}({text})"
        if n in COMPARE:
            c = _common(ts[0], ts[1])
            if c == "f64" and mixed_sign_u64(ts[0].dtype, ts[1].dtype):  # exact, not through f64
                return f"(cmp_int_exact({args[0]}, {args[1]}) {COMPARE[n]} 0)"
            return f"({self.cast(args[0], ts[0], c)} {COMPARE[n]} {self.cast(args[1], ts[1], c)})"
        if n == "mc.logical_and":
            return f"(({args[0]} != 0) and ({args[1]} != 0))"
        if n == "mc.logical_or":
            return f"(({args[0]} != 0) or ({args[1]} != 0))"
        if n == "mc.logical_not":
            return f"({args[0]} == 0)"
        if n == "mc.neg":
            return f"np.{npname(D)}(-{args[0]})" if D != "bool" else f"(not {args[0]})"
        if n == "mc.pos":
            return args[0]
        if n == "mc.invert":
            return f"(not {args[0]})" if D == "bool" else f"np.{npname(D)}(~{args[0]})"
        if n == "mc.cast":
            return self.cast(args[0], ts[0], D)
        if n == "mc.where":
            return f"({self.cast(args[1], ts[1], D)} if {args[0]} else {self.cast(args[2], ts[2], D)})"
        if n == "mc.clip":
            a, lo, hi = (self.cast(x, t, D) for x, t in zip(args, ts))
            if D[0] == "f":  # NumPy's clip keeps x at a bound (clip(-0.0, 0.0, 1.0) is -0.0)
                return f"minimum_f({hi}, maximum_f({lo}, {a}))"
            return f"np.minimum(np.maximum({a}, {lo}), {hi})"
        if n == "mc.round":
            return self.cast(f"np.round({args[0]})", ts[0], D) if ts[0].dtype[0] in "fc" else self.cast(args[0], ts[0], D)
        if n in ("mc.real", "mc.imag"):
            if ts[0].dtype[0] == "c":
                return f"{args[0]}.{n[3:]}"
            return self.cast(args[0], ts[0], D) if n == "mc.real" else f"np.{npname(D)}(0)"
        if n == "mc.conj":
            return f"np.conj({args[0]})" if ts[0].dtype[0] == "c" else args[0]
        if n == "mc.exp" and D[0] == "c":
            return f"np.{npname(D)}(cexp_np({self.cast(args[0], ts[0], D)}))"
        if n in ("mc.sqrt", "mc.log") and D[0] == "c":  # computed in c128 (c64's parts cannot overflow there)
            return f"np.{npname(D)}(c{n[3:]}_np(np.complex128({self.cast(args[0], ts[0], D)})))"
        if (n, D) in POLY_MATH:
            return f"{POLY_MATH[n, D]}({self.cast(args[0], ts[0], D)})"
        if n == "mc.sign" and ts[0].dtype[0] == "u":  # Numba's np.sign compares as signed: 255 for u8 200
            return f"np.{npname(D)}({args[0]} != 0)"
        if n[3:] in UNARY_NP:
            text = f"np.{n[3:]}({args[0]})"
            if n == "mc.sign" and D[0] == "f":  # Numba's sign(-0.0) is -0.0; NumPy's is 0.0
                text = f"({text} + np.{npname(D)}(0.0))"
            return text if D == "bool" else f"np.{npname(D)}({text})"
        raise LoweringError(f"no Numba lowering for {n}")

    def shape_expr(self, v: Value, j: int) -> str:
        o = v.owner
        if isinstance(o, Op) and o in self.inlined:
            g = gather_axis(o)
            if g is not None:  # the base's dims before the gathered axis, the index's, the base's after
                a, r = g[0], g[1].type.rank
                return self.shape_expr(o.operands[0], j) if j < a else self.shape_expr(g[1], j - a) \
                    if j < a + r else self.shape_expr(o.operands[0], j - r + 1)
            if o.name == "mc.getitem":
                jb = self._view_map(o)[j]
                return "1" if jb is None else self.shape_expr(o.operands[0], jb)
            if o.name == "mc.outer":
                return self.shape_expr(o.operands[j], 0)
            if o.name in ELEMENTWISE:  # the broadcast of the operands' extents
                n = v.type.rank
                exprs = [self.shape_expr(u, j - (n - u.type.rank)) for u in o.operands
                         if u.is_array and j - (n - u.type.rank) >= 0]
                acc = exprs[0]
                for e in dict.fromkeys(exprs[1:]):
                    acc = f"({acc} if {e} == 1 else {e})" if e != acc else acc
                return acc
        return f"{self.name(v)}.shape[{j}]"

    def _view_map(self, op: Op) -> list[int | None]:
        """For each dim of a view getitem's result: the base dim, or None (newaxis)."""
        out: list[int | None] = []
        jb = 0
        for it in op.attrs["index"]:
            if it[0] == "newaxis":
                out.append(None)
            else:
                out.append(jb)
                jb += 1
        while jb < op.operands[0].type.rank:
            out.append(jb)
            jb += 1
        return out

    def elem(self, v: Value, idx: list[str], kdims: list[int | None], ctx: _Ctx) -> str:
        if not v.is_array:
            return self.name(v)
        if v in self.row_local:  # a row group's row buffer or per-row scalar
            kind, name = self.row_local[v]
            return name if kind == "scalar" else f"{name}[{idx[1]}]"
        o = v.owner
        if isinstance(o, Op) and o in self.inlined:
            g = gather_axis(o)
            if g is not None:
                return self._gathered(o, g, idx, kdims, ctx)
            if o.name == "mc.getitem":
                m = self._view_map(o)
                base = o.operands[0]
                bidx = [""] * base.type.rank
                bk: list[int | None] = [None] * base.type.rank
                for j, jb in enumerate(m):
                    if jb is not None:
                        bidx[jb], bk[jb] = idx[j], kdims[j]
                return self.elem(base, bidx, bk, ctx)
            self.stats["fused_ops"] += 1
            if o.name == "mc.arange":
                return arange_elem(self, o, idx[0], ctx)
            if o.name == "mc.outer":
                x, y = o.operands
                D = o.result.type.dtype
                a = self.cast(self.elem(x, [idx[0]], [kdims[0]], ctx), x.type, D)
                b = self.cast(self.elem(y, [idx[1]], [kdims[1]], ctx), y.type, D)
                # (Numba multiplies narrow integers in 64 bits: the product wraps to D as NumPy's)
                return f"({a} * {b})" if npname(D) in NATIVE or D == "bool" else f"np.{npname(D)}({a} * {b})"
            args = [self.operand_elem(u, v, idx, kdims, ctx) for u in o.operands]
            return self.scalar_expr(o, args)
        for j in range(v.type.rank):
            if kdims[j] is not None:
                ctx.shapes.append((kdims[j], f"{self.name(v)}.shape[{j}]", v.type.shape[j]))
        if ctx.rows is not None and len(idx) == 2 and idx[0] == ctx.row_iv:
            rv = self.row_view(v, ctx)
            if rv is not None:
                return f"{rv}[{idx[1]}]"
        if isinstance(o, Op) and o.name == "mc.getitem" and idx:
            through = self.base_index(o, idx)
            if through is not None:
                return through
        return f"{self.name(v)}[{', '.join(idx)}]" if idx else f"{self.name(v)}[()]"

    def _gather_check(self, op: Op) -> str:
        """The check of an inlined gather's index array against the axis it indexes."""
        a, ix = gather_axis(op)  # type: ignore[misc]
        return f"checked_indices({self.name(ix)}, {self.shape_expr(op.operands[0], a)})"

    def _gathered(self, op: Op, g: tuple[int, Value], idx: list[str], kdims: list[int | None], ctx: _Ctx) -> str:
        """Element idx of the inlined gather `op`: the base's element at the index read,
        a negative index wrapped against the axis here (the base may be a view read
        through its own base, `x[1:][idx]` as `x[idx[i] + 1]`)."""
        a, ix = g
        r = ix.type.rank
        name = self.name(ix)
        for t in range(r):
            if kdims[a + t] is not None:
                ctx.shapes.append((kdims[a + t], f"{name}.shape[{t}]", ix.type.shape[t]))
        check = self._gather_check(op) if op in self.unchecked and op not in self.gathers_checked else None
        if check and check not in ctx.pre:
            ctx.pre.append(check)  # (emitted here when not where the gather was)
        at = f"{name}[{', '.join(idx[a:a + r])}]"
        if ix.type.dtype[0] == "i":
            at = f"({at} if {at} >= 0 else {at} + {self.shape_expr(op.operands[0], a)})"
        bidx = [*idx[:a], at, *idx[a + r:]]
        bk = [*kdims[:a], None, *kdims[a + r:]]
        self.stats["fused_gathers"] = self.stats.get("fused_gathers", 0) + 1
        return self.elem(op.operands[0], bidx, bk, ctx)

    def slice_bound(self, op: Op, axis: int, x: Any, step: Any = None) -> str:
        """Under `parallel=True`, Numba's array analysis gives `A[-3:]` of a 2-element
        axis one element (it does not clip the start to 0 as NumPy does): a negative
        literal bound is written clipped. Only for a positive step: with a negative one
        NumPy's bound below the axis is -1 (before the first element), not 0, so
        `x[:-100:-1]` lost x[0] and `x[-100::-1]` was [x[0]] instead of empty."""
        forward = step is None or (isinstance(step, int) and step > 0)
        if self.par and forward and isinstance(x, int) and not isinstance(x, bool) and x < 0:
            return f"max({self.name(op.operands[0])}.shape[{axis}] - {-x}, 0)"
        return self.index_bound(op, x)

    def base_index(self, op: Op, idx: list[str], base_name: str = "") -> str | None:
        """Element `idx` of the view that getitem/setitem `op` selects (ints and unit-step
        slices of its base b) as an element of b itself: `b[i + 2, j + 1]` for
        `b[2:, 1:-1][i, j]`. Numba types a sliced view as layout 'A', whose run-time inner
        stride keeps LLVM from vectorizing the loops over it (a stencil over shifted
        slices ran 6-8x slower), while b, a block argument or a fresh array, is 'C'.
        `base_name`: the array indexed, when not the operand's own name (a store into a
        copy). None for other indexes (arrays, masks, other steps)."""
        b = base_name or self.name(op.operands[0])
        out: list[str] = []
        k = axis = 0  # the view's dim, the base's axis
        for it in op.attrs["index"]:
            if it[0] == "newaxis":
                k += 1  # a unit dim of the view only
                continue
            if it[0] == "int":  # (Numba wraps a negative index as NumPy does)
                i = self.index_bound(op, it[1])
                out.append(f"checked_index({i}, {b}.shape[{axis}])" if op in self.unchecked else i)
            elif it[0] == "slice" and it[3] in (None, 1):
                start = self._slice_start(op, it[1], f"{b}.shape[{axis}]")
                out.append(f"{idx[k]} + {start}" if start != "0" else idx[k])
                k += 1
            else:
                return None
            axis += 1
        out += idx[k:]  # axes after the index: whole
        self.stats["base_indexed"] = self.stats.get("base_indexed", 0) + 1
        return f"{b}[{', '.join(out)}]"

    def _slice_start(self, op: Op, lo: Any, extent: str) -> str:
        """The first index a unit-step slice from `lo` selects along an axis of `extent`
        (NumPy clips it to the axis; past the end the view is empty and never read)."""
        if lo is None:
            return "0"
        if isinstance(lo, int):
            return str(lo) if lo >= 0 else f"max({extent} - {-lo}, 0)"
        x = self.index_bound(op, lo)
        return f"({x} if {x} >= 0 else max({x} + {extent}, 0))"

    def row_view(self, v: Value, ctx: _Ctx, key: Any = None) -> str | None:
        """The name of row `ctx.row_iv` of `v = B[:, lo:hi]` as the 1-D view
        `B[i, lo:hi]`, defined by `_open_loops_rows` inside the row loop (it reads the
        same memory as v; v is defined in the region the loop is emitted in, so B's
        name still holds the array v views)."""
        o = v.owner
        cs = column_slice(o)
        if cs is None or ctx.rows is None or o.parent is not ctx.region:  # type: ignore[union-attr]
            return None
        key = v if key is None else key
        if key not in ctx.rows:
            base, (_, lo, hi, _) = cs
            name = f"row_{self.counter}"
            self.counter += 1
            cols = f"{self.slice_bound(o, 1, lo)}:{self.slice_bound(o, 1, hi)}"  # type: ignore[arg-type]
            ctx.rows[key] = (name, f"{self.name(base)}[{ctx.row_iv}, {cols}]")
        return ctx.rows[key][0]

    def nest_parallel(self, sizes: list[str]) -> str | bool:
        """How an elementwise nest over `sizes` runs under this strategy: True (prange)
        at the top level; inside sequential loops (time steps), a condition tested at run
        time: a fork and join per iteration pays off only for nests that large; False
        where no prange may run (a serial strategy, a prange or an outlined helper around)."""
        if self.par < 1 or not sizes or self.prange_depth or self.outlining:
            return False
        if self.loop_depth == 0:
            return True
        return f"{' * '.join(f'({s})' for s in sizes)} >= {PRANGE_IN_LOOP_MIN}"

    def open_nest(self, sizes: list[str], ivs: list[str], ctx: _Ctx, body: str) -> None:
        """The loops of an elementwise nest and its one body line. Where operands may
        broadcast (`i * bc_k`, a size not known to equal the result's), a second copy
        with plain indices runs when none does: the multipliers kept LLVM from
        vectorizing (a Sobel filter on `?` dims ran 5-10x slower than on known ones)."""
        rows = ctx.rows or {}
        bcs = sorted(set(_BROADCAST_MUL.findall(" ".join([body, *(t for _, t in rows.values())]))))
        if not bcs:
            self._open_nest(sizes, ivs, ctx, body)
            return
        plain = copy.copy(ctx)
        if ctx.rows is not None:
            plain.rows = {k: (n, _BROADCAST_MUL.sub("", t)) for k, (n, t) in rows.items()}
        self.line(f"if {' and '.join(f'{b} == 1' for b in bcs)}:")
        self.depth += 1
        self._open_nest(sizes, ivs, plain, _BROADCAST_MUL.sub("", body))
        self.depth -= 1
        self.line("else:")
        self.depth += 1
        self._open_nest(sizes, ivs, ctx, body)
        self.depth -= 1
        self.stats["broadcast_versions"] = self.stats.get("broadcast_versions", 0) + 1

    def _open_nest(self, sizes: list[str], ivs: list[str], ctx: _Ctx, body: str) -> None:
        """The nest, parallel where `nest_parallel` says: under its run-time condition, a
        call of the nest outlined as prange, else the nest inline."""
        def nest(par: bool) -> None:
            self._open_loops_rows(sizes, ivs, par, ctx)
            self.line(body)

        self.parallel_if(self.nest_parallel(sizes), nest)

    def parallel_if(self, par: str | bool, emit: Callable[[bool], None]) -> None:
        """`emit(parallel)` as `nest_parallel` said: under a run-time condition (inside
        sequential loops), a call of its parallel form outlined, else its serial form
        inline."""
        d0 = self.depth
        if isinstance(par, str):
            self.line(f"if {par}:")
            self.line(f"    {self._outlined_prange(lambda: emit(True))}")
            self.line("else:")
            self.depth += 1
        emit(par is True)
        self.depth = d0

    def _outlined_prange(self, emit: Callable[[], None]) -> str:
        """What `emit` writes (loops with a prange), in a function of its own,
        `_mc_pnest_k(<names it reads>)` (compiled parallel, the block itself need not
        be): Numba's parallel passes over a whole block took seconds of compile time, and
        over one whose loop-carried array changes shape they returned an empty array for
        a one-element one. Returns the call."""
        saved_lines, saved_depth = self.lines, self.depth
        self.lines, self.depth = [], 1
        emit()
        text = "\n".join(self.lines)
        self.lines, self.depth = saved_lines, saved_depth
        used = sorted((n for n in ast.walk(ast.parse(textwrap.dedent(text))) if isinstance(n, ast.Name)),
                      key=lambda n: (n.lineno, n.col_offset))  # in order of appearance
        names = [n for n in dict.fromkeys(n.id for n in used) if n not in _NOT_FREE and n not in HELPERS]
        local = {n.id for n in used if isinstance(n.ctx, ast.Store)}
        params = [n for n in names if n not in local]
        # names made canonical: the nests of a ping-pong stencil (B from A, then A from B)
        # are one function, compiled once
        canon = {n: f"_a{k}" for k, n in enumerate(names)}
        text = re.sub(r"(?<![\w.])([A-Za-z_]\w*)", lambda m: canon.get(m.group(1), m.group(1)), text)
        fn_text = f"({', '.join(canon[n] for n in params)}):\n{text}\n"
        if fn_text not in self.prange_nests:
            self.prange_nests[fn_text] = f"_mc_pnest_{len(self.helper_texts)}"
            self.helper_texts.append(f"def {self.prange_nests[fn_text]}{fn_text}")
        self.stats["prange_nests"] = self.stats.get("prange_nests", 0) + 1
        return f"{self.prange_nests[fn_text]}({', '.join(params)})"

    def _open_loops_rows(self, sizes: list[str], ivs: list[str], par: bool, ctx: _Ctx) -> None:
        """`_open_loops`, with the row views the body reads defined in the row loop."""
        if not ctx.rows:
            self._open_loops(sizes, ivs, par)
            return
        self._open_loops(sizes[:1], ivs[:1], par)
        for name, text in ctx.rows.values():
            self.line(f"{name} = {text}")
        self._open_loops(sizes[1:], ivs[1:], False)
        self.stats["row_views"] = self.stats.get("row_views", 0) + len(ctx.rows)

    def operand_elem(self, u: Value, v: Value, idx: list[str], kdims: list[int | None], ctx: _Ctx) -> str:
        """Operand u of the op defining v (rank n, indexed by idx), broadcast to v's shape."""
        if not u.is_array:
            return self.name(u)
        m, n = u.type.rank, len(idx)
        uidx: list[str] = []
        uk: list[int | None] = []
        for j in range(m):
            k = j + n - m
            du, dv = u.type.shape[j], v.type.shape[k] if isinstance(v.type, ArrayType) else None
            if du is not None and du == dv:
                uidx.append(idx[k])
                uk.append(kdims[k])
            elif is_one(du):
                uidx.append("0")
                uk.append(None)
            else:
                b = f"bc_{self.counter}"
                self.counter += 1
                ctx.pre.append(f"{b} = 0 if {self.shape_expr(u, j)} == 1 else 1")
                uidx.append(f"{idx[k]} * {b}")
                uk.append(kdims[k])
        return self.elem(u, uidx, uk, ctx)

    def loop_shape(self, t: ArrayType, ctx: _Ctx) -> list[str]:
        sizes = []
        for k, d in enumerate(t.shape):
            if is_one(d):
                sizes.append("1")
                continue
            cands = [(e, s) for kk, e, s in ctx.shapes if kk == k]
            exact = [e for e, s in cands if s is not None and s == d]
            if exact:
                sizes.append(exact[0])
                continue
            exprs = list(dict.fromkeys(e for e, _ in cands))
            if not exprs:
                raise LoweringError("cannot determine a loop extent")
            acc = exprs[0]
            for e in exprs[1:]:
                acc = f"({acc} if {e} == 1 else {e})"
            if len(exprs) > 1:  # extents not known equal: NumPy raises where two differ and neither is 1
                ok = " and ".join(f"({e} == 1 or {e} == {acc})" for e in exprs)
                ctx.pre.append(f"if not ({ok}): raise ValueError('operands could not be broadcast together')")
            sizes.append(acc)
        return sizes

    def _open_loops(self, sizes: list[str], ivs: list[str], par: bool) -> None:
        for k, (s, i) in enumerate(zip(sizes, ivs)):
            rng = "prange" if (k == 0 and par) else "range"
            self.line(f"for {i} in {rng}({s}):")
            self.depth += 1

    def _ivs(self, n: int) -> list[str]:
        base = self.counter
        self.counter += 1
        return [f"i{base}_{k}" for k in range(n)]

    # ---- op dispatch ------------------------------------------------------------------------
    def op(self, op: Op) -> None:
        if op in self.inlined and op in self.unchecked and gather_axis(op) is not None:
            # an inlined gather's IndexError where NumPy raises it, before the ops between
            # it and the loop that reads through it
            self.line(self._gather_check(op))
            self.gathers_checked.add(op)
        if op in self.inlined or op in self.skip or (op in self.row_skip and not self.row_emitting):
            return
        if op in self.row_groups:
            emit_row_group(self, self.row_groups[op])
            return
        if op.name in ELEMENTWISE:
            if op.result.is_array:
                self.elementwise_loop(op)
            else:
                args = [self.name(v) for v in op.operands]
                self.line(f"{self.name(op.result)} = {self.scalar_expr(op, args)}")
            return
        if op.name[3:] in REDUCTIONS:
            self.reduction(op)
            return
        super().op(op)

    def elementwise_loop(self, op: Op) -> None:
        if op in self.gemm:
            emit_gemm_update(self, op)
            return
        t = op.result.type
        n = t.rank
        ivs = self._ivs(n)
        ctx = _Ctx(ivs[0], op.parent) if n == 2 else _Ctx()
        body = self.scalar_expr(op, [self.operand_elem(u, op.result, ivs, list(range(n)), ctx) for u in op.operands])
        sizes = self.loop_shape(t, ctx)
        for p in ctx.pre:
            self.line(p)
        r = self.name(op.result)
        emit_result_buffer(self, op, sizes, npname(t.dtype))
        self.open_nest(sizes, ivs, ctx, f"{r}[{', '.join(ivs) if ivs else '()'}] = {body}")
        self.stats["fused_loops"] += 1

    # ---- reductions ---------------------------------------------------------------------------
    def reduction(self, op: Op) -> None:
        kind = op.name[3:]
        x = op.operands[0]
        xt = x.type
        if not isinstance(xt, ArrayType):
            self.line(f"{self.name(op.result)} = {self._reduce_scalar(kind, op, self.name(x))}")
            return
        n = xt.rank
        axis = op.attrs.get("axis")
        axes = sorted({a % n for a in axis}) if axis is not None else list(range(n))
        keep = bool(op.attrs.get("keepdims", False))
        ctx = _Ctx()
        ivs = self._ivs(n)
        e = self.elem(x, ivs, list(range(n)), ctx)
        acc0 = _acc_dtype(kind, xt.dtype, op.result.type.dtype)
        lanes: list[str] = []
        # (a whole-array sum under fastmath vectorizes as one chain, reassociated)
        whole = not isinstance(op.result.type, ArrayType) and axes == list(range(n)) and \
            (kind in ("max", "min") or self.strategy.jit_level < 2)
        if kind in ("sum", "mean", "prod", "max", "min") and acc0[0] == "f" and (axes == [n - 1] and n > 1 or whole):
            # a float reduction along the contiguous axis: LANES independent partial
            # results (one per element mod LANES) that LLVM turns into one vector
            # register, where a single chain could not be vectorized without
            # reassociation (which NumPy's own pairwise sums do anyway), and a max/min's
            # select chain not without nnan (4.5 ms against 1.4 ms for 4096 rows of 2048)
            lanes = [self.elem(x, [*ivs[:-1], f"({ivs[-1]} + {k})"], list(range(n)), ctx) for k in range(LANES)]
        if isinstance(x.owner, Op) and x.owner in self.inlined:
            self.stats["fused_reductions"] += 1
        sizes = self.loop_shape(xt, ctx)
        for p in ctx.pre:
            self.line(p)
        self.stats["reduction_loops"] += 1
        r = self.name(op.result)
        rt = op.result.type
        D = rt.dtype
        xd = xt.dtype
        acc = _acc_dtype(kind, xd, D)
        kept = [k for k in range(n) if k not in axes]
        scalar_out = not isinstance(rt, ArrayType)
        if scalar_out:
            oshape = ""
            oidx = ""
        else:
            odims = [("1" if k in axes else sizes[k]) for k in range(n)] if keep else [sizes[k] for k in kept]
            oshape = "(" + "".join(s + ", " for s in odims) + ")"
            oidx = ", ".join(("0" if k in axes else ivs[k]) for k in range(n)) if keep else ", ".join(ivs[k] for k in kept)
        cnt = " * ".join(sizes[k] for k in axes) or "1"
        if kind in EMPTY_REDUCTION_ERRORS:  # no identity: NumPy raises, the loops would give one
            self.line(f"if ({cnt}) == 0:")
            self.line(f"    raise ValueError({EMPTY_REDUCTION_ERRORS[kind]!r})")
        a = f"acc_{self.counter}"
        self.counter += 1
        ref = a if scalar_out else f"{a}[{oidx}]"
        tv = f"t_{self.counter}"
        self.counter += 1
        d0 = self.depth

        def alloc(name: str, init: str, dt: str) -> None:
            if scalar_out:
                self.line(f"{name} = {init}")
            else:
                self.line(f"{name} = np.full({oshape}, {init}, dtype=np.{npname(dt)})")

        suffix = not scalar_out and kept and axes == list(range(n - len(axes), n))
        if kind in ("sum", "mean", "prod", "max", "min", "any", "all") and suffix:
            # reduced axes innermost: accumulate each output element in a register
            alloc(a, _init(kind, acc), acc)
            sa = f"s_{self.counter}"
            self.counter += 1
            nk = len(kept)
            par = self.par >= 1 and self.loop_depth == 0
            staged = lanes and _costly(e) and f"rb_{self.counter}"
            if staged and not par:  # one row buffer, reused (per row under prange)
                self.line(f"{staged} = np.empty({sizes[-1]}, dtype=np.{npname(acc)})")
            self._open_loops(sizes[:nk], ivs[:nk], par)
            if lanes:
                if staged:
                    if par:
                        self.line(f"{staged} = np.empty({sizes[-1]}, dtype=np.{npname(acc)})")
                    e, lanes, xt = self.stage_row(e, xt, acc, sizes[-1], ivs[-1], staged)
                self.line(f"{ref} = {self.lane_reduce(kind, acc, sa, e, lanes, xt, sizes[-1], ivs[-1])}")
            else:
                self.line(f"{sa} = {_init(kind, acc)}")
                # a float max/min: an ordered compare (a select, which LLVM vectorizes) and
                # NaN seen on the side; `t > m or t != t` branches and stays scalar
                nan_flag = f"nan_{sa}" if kind in ("max", "min") and acc[0] == "f" else None
                if nan_flag:
                    self.line(f"{nan_flag} = False")
                self._open_loops(sizes[nk:], ivs[nk:], False)
                self.line(f"{tv} = {self.cast(e, xt, acc)}")
                if nan_flag:
                    self.line(f"{sa} = {_select(kind, sa, tv, acc)}")
                    self.line(f"{nan_flag} |= {tv} != {tv}")
                else:
                    self.line(f"{sa} = {_combine(kind, sa, tv, acc)}")
                self.depth = d0 + nk
                self.line(f"{ref} = np.{npname(acc)}(np.nan) if {nan_flag} else {sa}" if nan_flag else f"{ref} = {sa}")
            self.depth = d0
        elif lanes and whole:
            # the whole array to one float: lanes along each last-axis row, rows combined
            # in order (`max(u)` ran 40x slower than NumPy as one branching scalar chain)
            self.line(f"{a} = {_init(kind, acc)}")
            sa = f"s_{self.counter}"
            staged = _costly(e) and f"rb_{self.counter}"
            self.counter += 1
            if staged:
                self.line(f"{staged} = np.empty({sizes[-1]}, dtype=np.{npname(acc)})")
            self._open_loops(sizes[:-1], ivs[:-1], False)
            if staged:
                e, lanes, xt = self.stage_row(e, xt, acc, sizes[-1], ivs[-1], staged)
            row = self.lane_reduce(kind, acc, sa, e, lanes, xt, sizes[-1], ivs[-1])
            self.line(f"{tv} = {row}")
            self.line(f"{a} = {_combine(kind, a, tv, acc)}")
            self.depth = d0
        elif kind in ("sum", "mean", "prod", "max", "min", "any", "all"):
            alloc(a, _init(kind, acc), acc)
            self._open_loops(sizes, ivs, False)
            self.line(f"{tv} = {self.cast(e, xt, acc)}")
            self.line(f"{ref} = {_combine(kind, ref, tv, acc)}")
            self.depth = d0
        elif kind in ("argmax", "argmin"):
            bv = f"bv_{self.counter}"
            self.counter += 1
            bref = bv if scalar_out else f"{bv}[{oidx}]"
            alloc(a, "0", "i64")
            alloc(bv, "0", xd)
            cmp = ">" if kind == "argmax" else "<"
            if axis is None:
                lin = f"lin_{self.counter}"
                self.counter += 1
                self.line(f"{lin} = 0")
                pos, first = lin, f"{lin} == 0"
            else:
                pos, first = ivs[axes[0]], f"{ivs[axes[0]]} == 0"
            self._open_loops(sizes, ivs, False)
            self.line(f"{tv} = {e}")
            nan = f" or ({tv} != {tv} and {bref} == {bref})" if xd[0] in "fc" else ""
            self.line(f"if {first} or {tv} {cmp} {bref}{nan}:")
            self.line(f"    {ref} = {pos}")
            self.line(f"    {bref} = {tv}")
            if axis is None:
                self.line(f"{lin} += 1")
            self.depth = d0
        elif kind in ("std", "var"):
            if xd[0] == "c":
                raise LoweringError("complex std/var")
            ddof = op.attrs.get("ddof", 0)
            mu = f"mu_{self.counter}"
            self.counter += 1
            mref = mu if scalar_out else f"{mu}[{oidx}]"
            alloc(mu, "0.0", "f64")
            self._open_loops(sizes, ivs, False)
            self.line(f"{mref} += {e}")
            self.depth = d0
            self.line(f"{mu} = {mu} / ({cnt})")
            alloc(a, "0.0", "f64")
            self._open_loops(sizes, ivs, False)
            self.line(f"{tv} = {e} - {mref}")
            self.line(f"{ref} += {tv} * {tv}")
            self.depth = d0
            self.line(f"{a} = {a} / (({cnt}) - {ddof})")
            if kind == "std":
                self.line(f"{a} = np.sqrt({a})")
        else:
            raise LoweringError(f"no Numba lowering for reduction {kind}")
        if kind == "mean":
            self.line(f"{a} = {a} / ({cnt})")
        if scalar_out:
            self.line(f"{r} = {self.cast(a, ScalarType('f64' if kind in ('mean', 'std', 'var') else acc), D)}")
        elif acc != D or kind in ("mean", "std", "var"):
            self.line(f"{r} = {a}.astype(np.{npname(D)})")
        else:
            self.line(f"{r} = {a}")

    def stage_row(self, e: str, xt: Any, acc: str, size: str, iv: str, buf: str) -> tuple[str, list[str], Any]:
        """A row's elements `e` into `buf` in a plain loop, which LLVM vectorizes whole
        (exp, log, ...), where eight scalar copies of a long expression in the lane loop are
        not; returns the element, the lanes and the type to reduce from then on."""
        self.line(f"for {iv} in range({size}):")
        self.line(f"    {buf}[{iv}] = {self.cast(e, xt, acc)}")
        self.stats["staged_reductions"] = self.stats.get("staged_reductions", 0) + 1
        return f"{buf}[{iv}]", [f"{buf}[{iv} + {k}]" for k in range(LANES)], ScalarType(acc)

    def lane_reduce(self, kind: str, acc: str, sa: str, e: str, lanes: list[str], xt: Any, size: str,
                    iv: str) -> str:
        """A float reduction of one row (element `e` at `iv`, `lanes` its LANES shifted
        copies) into `sa`: the lane loop, then the remainder; a max/min looks for NaN in
        its own or-loop (which vectorizes; `t > m or t != t` branches and stays scalar).
        Returns the row's value."""
        self.line(f"{sa} = {_init(kind, acc)}")
        nan = f"nan_{sa}" if kind in ("max", "min") else None
        if nan:
            self.line(f"{nan} = False")
            self.line(f"for {iv} in range({size}):")
            self.line(f"    t_{sa} = {self.cast(e, xt, acc)}")
            self.line(f"    {nan} |= t_{sa} != t_{sa}")
        start = self._lane_loop(kind, acc, sa, size, iv, lanes, xt)
        t = self.cast(e, xt, acc)
        self.line(f"for {iv} in range({start}, {size}):")
        self.line(f"    {sa} = {_select(kind, sa, t, acc) if nan else _combine(kind, sa, t, acc)}")
        return f"np.{npname(acc)}(np.nan) if {nan} else {sa}" if nan else sa

    def _lane_loop(self, kind: str, acc: str, sa: str, size: str, iv: str, lanes: list[str], xt: Any) -> str:
        """The unrolled part of a lane reduction into `sa`; returns where the rest starts."""
        names = [f"{sa}_{k}" for k in range(len(lanes))]
        nb = f"nb_{self.counter}"
        self.counter += 1
        self.line(f"{nb} = {size} - {size} % {len(lanes)}")
        self.line(", ".join(names) + " = " + ", ".join([_init(kind, acc)] * len(lanes)))
        self.line(f"for {iv} in range(0, {nb}, {len(lanes)}):")
        # a max/min's lanes skip NaN (a plain select; the caller looks for NaN apart), so
        # Python's max/min join them
        minmax = kind in ("max", "min")
        for name, text in zip(names, lanes):
            step = _select(kind, name, self.cast(text, xt, acc), acc) if minmax else \
                _combine(kind, name, self.cast(text, xt, acc), acc)
            self.line(f"    {name} = {step}")
        while len(names) > 1:  # a pairwise tree, as NumPy sums
            pairs = [(names[i], names[i + 1]) for i in range(0, len(names), 2)]
            names = [f"{kind}({a}, {b})" if minmax else f"({_combine(kind, a, b, acc)})" for a, b in pairs]
        self.line(f"{sa} = {kind}({sa}, {names[0]})" if minmax else f"{sa} = {_combine(kind, sa, names[0], acc)}")
        self.stats["lane_reductions"] = self.stats.get("lane_reductions", 0) + 1
        return nb

    def _reduce_scalar(self, kind: str, op: Op, x: str) -> str:
        t = op.operands[0].type
        D = op.result.type.dtype
        if kind in ("sum", "prod", "max", "min", "mean"):
            return self.cast(x, t, D)
        if kind in ("any", "all"):
            return f"({x} != 0)"
        if kind in ("argmax", "argmin"):
            return "np.int64(0)"
        return f"np.{npname(D)}(0)"

    # ---- ops Numba needs differently ----------------------------------------------------------------
    def const_text(self, value: Any, t: ScalarType) -> str:
        if t.dtype == "bool":
            return "True" if value else "False"
        if isinstance(value, float) and not np.isfinite(value):
            text = "np.nan" if np.isnan(value) else ("np.inf" if value > 0 else "(-np.inf)")
            return text if t.weak or t.dtype == "f64" else f"np.{npname(t.dtype)}({text})"
        if isinstance(value, complex):
            text = f"complex({value.real!r}, {value.imag!r})"
            return text if t.weak or t.dtype == "c128" else f"np.{npname(t.dtype)}({text})"
        return super().const_text(value, t)

    def _make(self, op: Op, fn: str) -> None:
        """Allocations ask for huge pages before the memory is first touched (see
        runtime_shim/numba_memory.py), so zeros/ones/full are empty + fill."""
        nd = op.attrs["ndim"]
        r = self.name(op.result)
        fill = {"zeros": "0", "ones": "1", "full": None, "empty": ""}.get(fn, "")
        if fill is None:
            fill = self.name(op.operands[nd])
        self.line(f"{r} = np.empty({self._shape_text(op.operands[:nd])}, dtype=np.{npname(op.attrs['dtype'])})")
        self.line(f"advise_huge({r})")
        if fill:
            self.line(f"{r}.fill({fill})")

    def op_not(self, op: Op) -> None:
        self.line(f"{self.name(op.result)} = not {self.name(op.operands[0])}")

    def op_and(self, op: Op) -> None:
        a, b = (self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = {a} and {b}")

    def range_text(self, lb: str, ub: str, st: str) -> str:
        op = self._for_op
        if op is not None and _const_value(op.operands[2]) == 1:  # no step: no trip-count division
            return f"range({ub})" if _const_value(op.operands[0]) == 0 else f"range({lb}, {ub})"
        step = _const_value(op.operands[2]) if op is not None else None
        return f"range({lb}, {ub}, {step if isinstance(step, int) else st})"

    def op_matmul(self, op: Op) -> None:
        a, b = op.operands
        r = self.name(op.result)
        D = op.result.type.dtype
        if D == "bool":
            raise LoweringError("boolean matmul")
        if D[0] not in "fc" or not HAVE_BLAS:  # (NumPy has no BLAS for integers either)
            self._matmul_loops(op)
            return
        # Numba's BLAS call takes C- and F-contiguous operands as they are (a transpose
        # is a flag, not a copy) and copies other layouts itself
        texts = []
        for v in (a, b):
            if v.type.dtype == D:
                texts.append(self.name(v))
            else:
                t = f"cv_{self.counter}"
                self.counter += 1
                self.line(f"{t} = {self.name(v)}.astype(np.{npname(D)})")
                texts.append(t)
        gram = _gram_operand(a, b)
        if gram is not None and D in ("f32", "f64") and gram[0].type.dtype == D:
            # X.T @ X or X @ X.T: SYRK, half the multiply-adds (NumPy's matmul does the same)
            self.line(f"{r} = gram({self.name(gram[0])}, {gram[1]})")
            self.stats["gram_syrk"] = self.stats.get("gram_syrk", 0) + 1
        elif op.result.is_array and a.type.rank == 2 and b.type.rank == 2:
            # into an output allocated here, so that a large one gets huge pages
            self.line(f"{r} = np.empty(({texts[0]}.shape[0], {texts[1]}.shape[1]), dtype=np.{npname(D)})")
            self.line(f"advise_huge({r})")
            self.line(f"matmul_into({texts[0]}, {texts[1]}, {r})" if D in ("f32", "f64")
                      else f"np.dot({texts[0]}, {texts[1]}, {r})")
        elif op.result.is_array and a.type.rank == 1 and b.type.rank == 2:
            # a vector times a strided matrix (a column block, say): BLAS would copy the
            # matrix first; a row-by-row loop streams it once, vectorized along the rows
            x, m = texts
            k, j = self._ivs(2)
            ctx = _Ctx(k, op.parent)
            mrow = self.row_view(b, ctx) if m == self.name(b) else None
            self.line(f"if {m}.flags.c_contiguous or {m}.flags.f_contiguous:")
            self.line(f"    {r} = {x} @ {m}")
            self.line("else:")
            self.line(f"    {r} = np.zeros({m}.shape[1], dtype=np.{npname(D)})")
            self.line(f"    for {k} in range({m}.shape[0]):")
            if mrow is not None:  # row k of a column block B[:, lo:hi] as B[k, lo:hi]: unit stride
                self.line(f"        {mrow} = {ctx.rows[b][1]}")  # type: ignore[index]
                self.stats["row_views"] = self.stats.get("row_views", 0) + 1
            self.line(f"        for {j} in range({m}.shape[1]):")
            self.line(f"            {r}[{j}] += {x}[{k}] * {f'{mrow}[{j}]' if mrow else f'{m}[{k}, {j}]'}")
        elif op.result.is_array:
            self.line(f"{r} = {texts[0]} @ {texts[1]}")
        else:
            self.line(f"{r} = np.{npname(D)}(np.dot({texts[0]}, {texts[1]}))")
        self.stats["matmul_blas"] += 1

    def _matmul_loops(self, op: Op) -> None:
        """An i-k-j loop nest: integer products (exact, and wrapping alike in any order;
        NumPy's own integer matmul is a naive loop that does not vectorize), and any
        product without SciPy's BLAS, which Numba's `@` needs."""
        a, b = (self.name(v) for v in op.operands)
        ra, rb = op.operands[0].type.rank, op.operands[1].type.rank
        r = self.name(op.result)
        D = op.result.type.dtype
        dt = f"np.{npname(D)}"
        i, k, j = self._ivs(3)
        acc = f"acc_{self.counter}"
        self.counter += 1
        par = "prange" if self.par >= 1 and self.loop_depth == 0 else "range"
        kk = f"{a}.shape[{ra - 1}]"
        ka, kb = op.operands[0].type.shape[ra - 1], op.operands[1].type.shape[0]
        if ka is None or ka != kb:  # (the checker matched them where both are one symbol)
            self.line(f"if {kk} != {b}.shape[0]:")
            self.line("    raise ValueError('matmul: a mismatch in the core dimension of the operands')")
        if ra == 2 and rb == 2:
            self.line(f"{r} = np.zeros(({a}.shape[0], {b}.shape[1]), dtype={dt})")
            self.line(f"for {i} in {par}({a}.shape[0]):")
            self.line(f"    for {k} in range({kk}):")
            self.line(f"        {acc} = {dt}({a}[{i}, {k}])")
            self.line(f"        for {j} in range({b}.shape[1]):")
            self.line(f"            {r}[{i}, {j}] += {acc} * {dt}({b}[{k}, {j}])")
        elif ra == 2 and rb == 1:
            self.line(f"{r} = np.empty({a}.shape[0], dtype={dt})")
            self.line(f"for {i} in {par}({a}.shape[0]):")
            self.line(f"    {acc} = {dt}(0)")
            self.line(f"    for {k} in range({kk}):")
            self.line(f"        {acc} += {dt}({a}[{i}, {k}]) * {dt}({b}[{k}])")
            self.line(f"    {r}[{i}] = {acc}")
        elif ra == 1 and rb == 2:
            self.line(f"{r} = np.zeros({b}.shape[1], dtype={dt})")
            self.line(f"for {k} in range({kk}):")
            self.line(f"    {acc} = {dt}({a}[{k}])")
            self.line(f"    for {j} in range({b}.shape[1]):")
            self.line(f"        {r}[{j}] += {acc} * {dt}({b}[{k}, {j}])")
        elif ra == 1 and rb == 1:
            self.line(f"{acc} = {dt}(0)")
            self.line(f"for {k} in range({kk}):")
            self.line(f"    {acc} += {dt}({a}[{k}]) * {dt}({b}[{k}])")
            self.line(f"{r} = {dt}({acc})")  # (Numba widens narrow integer sums: wrap back)
        else:
            raise LoweringError("matmul of arrays with rank > 2")
        self.stats["matmul_loops"] = self.stats.get("matmul_loops", 0) + 1

    def op_outer(self, op: Op) -> None:
        D = op.result.type.dtype
        a, b = (self.name(v) if v.type.dtype == D else f"{self.name(v)}.astype(np.{npname(D)})"
                for v in op.operands)
        self.line(f"{self.name(op.result)} = np.outer({a}, {b})")

    def op_copy(self, op: Op) -> None:
        """A large copy gets huge pages like the arrays allocated here (`x.copy()` would
        not): a column walk over a copied matrix then misses the TLB far less."""
        x = op.operands[0]
        if not op.result.is_array or x.type.rank == 0 or op.result.type.dtype != x.type.dtype:
            super().op_copy(op)
            return
        r, xs = self.name(op.result), self.name(x)
        self.line(f"{r} = np.empty({xs}.shape, dtype=np.{npname(op.result.type.dtype)})")
        self.line(f"advise_huge({r})")
        ivs = self._ivs(x.type.rank)
        self._open_loops([f"{xs}.shape[{k}]" for k in range(x.type.rank)], ivs, False)
        self.line(f"{r}[{', '.join(ivs)}] = {xs}[{', '.join(ivs)}]")  # not `r[...] = xs`: see store_as_loops
        self.depth -= x.type.rank

    def op_triu(self, op: Op) -> None:
        self._triangle(op, ">=")

    def op_tril(self, op: Op) -> None:
        self._triangle(op, "<=")

    def _triangle(self, op: Op, keep: str) -> None:
        """triu/tril of a matrix as one loop nest (Numba's np.triu builds a mask array
        and multiplies by it, about 20 ms for a 1024 x 1024 matrix here)."""
        x = op.operands[0]
        if not op.result.is_array or x.type.rank != 2 or op.result.type.dtype != x.type.dtype:
            getattr(super(), op.name.replace("mc.", "op_"))(op)
            return
        r, xs, k = self.name(op.result), self.name(x), self.diagonal_offset(op)
        i, j = self._ivs(2)
        self.line(f"{r} = np.empty({xs}.shape, dtype=np.{npname(x.type.dtype)})")
        self.line(f"advise_huge({r})")
        self._open_loops([f"{xs}.shape[0]", f"{xs}.shape[1]"], [i, j], False)
        zero = "False" if x.type.dtype == "bool" else f"np.{npname(x.type.dtype)}(0)"
        self.line(f"{r}[{i}, {j}] = {xs}[{i}, {j}] if {j} - {i} {keep} {k} else {zero}")
        self.depth -= 2

    def op_reshape(self, op: Op) -> None:
        x = self.name(op.operands[0])
        unknown = [self.name(v) for v in op.operands[1:] if not (isinstance(const_of(v), int) and const_of(v) >= 0)]
        if unknown:  # Numba infers a -1 of an empty array as 0; NumPy cannot infer it
            self.line(f"if {x}.size == 0 and ({' or '.join(f'{u} == -1' for u in unknown)}):")
            self.line("    raise ValueError('cannot reshape an array of size 0 into a shape with -1')")
        self.line(f"{self.name(op.result)} = np.ascontiguousarray({x}).reshape({self._shape_text(op.operands[1:])})")

    def op_flip(self, op: Op) -> None:
        x = op.operands[0]
        axis = op.attrs.get("axis")
        axes = range(x.type.rank) if axis is None else {a % x.type.rank for a in axis}
        idx = ", ".join("::-1" if k in axes else ":" for k in range(x.type.rank))
        self.line(f"{self.name(op.result)} = {self.name(x)}[{idx}]")

    def op_random(self, op: Op) -> None:
        self._draw(op, "random")

    def op_randn(self, op: Op) -> None:
        self._draw(op, "standard_normal")

    def _draw(self, op: Op, method: str) -> None:
        """NumPy's Generator has no Numba version: the draw runs in object mode (a call
        into Python, microseconds), the loops around it stay compiled."""
        nd = op.attrs["ndim"]
        r = self.name(op.result)
        shape = "(" + "".join(f"int({self.name(v)}), " for v in op.operands[:nd]) + ")"
        self.line(f"with objmode({r}='float64[{', '.join([':'] * nd)}]'):")
        self.line(f"    {r} = np.random.default_rng(int({self.name(op.operands[nd])})).{method}({shape})")

    def op_arange(self, op: Op) -> None:
        """NumPy's values: its first two elements are `start` and `start + step` cast to
        the dtype, the others `first + i * (second - first)` in the dtype's arithmetic.
        Numba's np.arange computes `start + i * step` in f64 and casts each element, so
        `arange(0.0, 2.0, 0.3, dtype=i64)` gave 1s where NumPy's are all 0 (its step is
        i64(0.3) - i64(0.0)), and f32 ranges differed in the last bit. Numba's call still
        gives the length and the errors; integer bounds of an integer dtype are exact."""
        super().op_arange(op)
        D = op.attrs["dtype"]
        if D[0] in "iu" and all(v.type.dtype[0] in "iu" for v in op.operands) or D in ("bool", "c64", "c128"):
            return
        r = self.name(op.result)
        vals = list(op.operands)
        one = ScalarType("i64", weak=True)  # an implicit start 0 or step 1: a Python int
        start, step = (vals[0], vals[2]) if len(vals) == 3 else (vals[0], None) if len(vals) == 2 else (None, None)
        texts = [self.name(v) if v is not None else d for v, d in ((start, "0"), (step, "1"))]
        # `start + step` as NumPy adds the two scalars (an f32 start plus a literal 1 is f32)
        sum_dt = probe_dtype(operator.add, *(v.type if v is not None else one for v in (start, step)))
        sum_dt = getattr(sum_dt, "dtype", sum_dt) or "f64"
        st = f"np.{npname(sum_dt)}"
        dt = f"np.{npname(D)}"
        f0, f1, d, i = (f"{n}_{self.counter}" for n in ("a0", "a1", "ad", "ai"))
        self.counter += 1
        self.line(f"if {r}.shape[0] > 1:")
        self.line(f"    {r}[1] = {st}({st}({texts[0]}) + {st}({texts[1]}))")
        self.line(f"    {f0}, {f1} = {r}[0], {r}[1]")
        self.line(f"    {d} = {dt}({f1} - {f0})")
        self.line(f"    for {i} in range(2, {r}.shape[0]):")
        if D[0] == "f":
            self.line(f"        {r}[{i}] = {f0} + {dt}({i}) * {d}")
        else:  # (in 64 bits, wrapping; the dtype keeps the low bits, as NumPy's C does)
            w = "np.uint64" if D[0] == "u" else "np.int64"
            self.line(f"        {r}[{i}] = {dt}({w}({f0}) + {w}({i}) * {w}({d}))")
        self.stats["arange_numpy_fill"] = self.stats.get("arange_numpy_fill", 0) + 1

    def op_linspace(self, op: Op) -> None:
        if not op.attrs["endpoint"] or op.attrs["dtype"] != _numba_linspace_dtype(op):
            raise LoweringError("linspace without endpoint or with a dtype")
        s, e, n = (self.name(v) for v in op.operands)
        self.line(f"{self.name(op.result)} = np.linspace({s}, {e}, {n})")

    def op_getitem(self, op: Op) -> None:
        if op in self.read_alias:
            self.line(f"{self.name(op.result)} = {self.read_alias[op]}[{self.index_text(op)}]")
            return
        if leading_mask(op) is not None:
            emit_mask_select(self, op)
            return
        if any(it[0] == "newaxis" for it in op.attrs["index"]):
            items = [it for it in op.attrs["index"] if it[0] != "newaxis"]
            tmp = f"sub_{self.counter}"
            self.counter += 1
            saved = op.attrs["index"]
            op.attrs["index"] = tuple(items)
            try:
                self.line(f"{tmp} = np.ascontiguousarray({self.name(op.operands[0])}[{self.index_text(op)}])")
            finally:
                op.attrs["index"] = saved
            dims = []
            j = 0
            for it in saved:
                if it[0] == "newaxis":
                    dims.append("1")
                elif it[0] != "int":
                    dims.append(f"{tmp}.shape[{j}]")
                    j += 1
            while len(dims) < op.result.type.rank:
                dims.append(f"{tmp}.shape[{j}]")
                j += 1
            self.line(f"{self.name(op.result)} = {tmp}.reshape(({''.join(d + ', ' for d in dims)}))")
            return
        super().op_getitem(op)

    def op_setitem(self, op: Op) -> None:
        if op in self.fused_stores:
            if self.fused_stores[op] in self.gemm:
                emit_gemm_store(self, op)
            else:
                emit_fused_store(self, op)
            return
        if leading_mask(op) is not None:
            emit_mask_store(self, op)
            return
        super().op_setitem(op)

    def store(self, op: Op, target: str) -> None:
        val = op.operands[-1]
        if val.is_array:
            if not store_as_loops(self, op, target, self.name(val), val.type, fresh=False):
                super().store(op, target)
        elif not self._strided_fill(op, target):
            v = self.cast(self.name(val), val.type, op.operands[0].type.dtype)  # Numba will not narrow on store
            self.line(f"{target}[{self.index_text(op)}] = {v}")

    def _strided_fill(self, op: Op, b: str) -> bool:
        """`b[lo:hi:st] = s` (a scalar s) on a 1-D array as a counted loop when the bounds
        are non-negative and the step positive at run time (Numba's slice store goes
        through a general strided iteration, about 20% slower); the slice store otherwise."""
        items = op.attrs["index"]
        base, val = op.operands[0], op.operands[-1]
        if base.type.rank != 1 or len(items) != 1 or items[0][0] != "slice":
            return False
        lo, hi, st = (self.index_bound(op, x) for x in items[0][1:])
        if st == "0":
            return False  # NumPy's error
        conds = [f"{x} >= 0" for x in (lo, hi) if x and not x.isdigit()]
        if st and not st.isdigit():
            conds.append(f"{st} > 0")
        stop = f"min({hi}, {b}.shape[0])" if hi else f"{b}.shape[0]"
        j = f"j_{self.counter}"
        self.counter += 1
        v = self.cast(self.name(val), val.type, base.type.dtype)
        self.line(f"if {' and '.join(conds) or 'True'}:")
        self.line(f"    for {j} in range({lo or '0'}, {stop}, {st or '1'}):")
        self.line(f"        {b}[{j}] = {v}")
        self.line("else:")
        self.line(f"    {b}[{self.index_text(op)}] = {v}")
        self.stats["strided_fills"] = self.stats.get("strided_fills", 0) + 1
        return True

    # ---- parallel loops --------------------------------------------------------------------------
    def op_for(self, op: Op) -> None:
        for flag in self.reuse_flags.get(op, []):
            self.line(f"{flag} = False")
        if self.fuse and (loop := element_loops.plan(self, op)) is not None:
            element_loops.emit(self, op, loop)
            return
        loop_par = self.par >= 1 and self.loop_depth == 0 and op not in self.serial_loops
        chain = self._parallel_chain(op) if loop_par else None
        reductions = self._reduction_loop(op) if chain is None and loop_par else None
        if reductions is not None:
            chain = {}  # iterations combine through scalar reductions only (Numba's prange reduces them)
        self.loop_depth += 1
        try:
            if chain is None:
                reds = plan_dot_reductions(self, op) if HAVE_BLAS else []
                if reds:  # the loop keeps the rest of its body; the dots follow it
                    self.skip |= skipped_ops(self, reds)
                    for r in reds:
                        self.alias(r.op.result, self.name(r.acc))
                elif op in self.outlined and not self.outlining:
                    emit_outlined_loop(self, op)
                    return
                self._for_op = op
                super().op_for(op)
                if reds:
                    emit_dot_reductions(self, op, reds)
                return
            body = op.regions[0]
            for v, init in chain.items():
                self.alias(v, self.name(init))
            lb, ub, st = (self.name(v) for v in op.operands[:3])
            iv = self.name(body.args[0])
            targets = [self.name(a) for a in body.args[1:]]
            if reductions is not None:  # scalar reductions: start from their initial values
                self._assign(targets, op.operands[3:])
                self._accumulate_per_iteration(op, reductions)
            d0 = self.depth
            private = self.privatized.get(op, [])
            if private:
                self._privatized_prange(chain, private, iv, lb, ub, st)
                targets = [self.name(a) for a in body.args[1:]]  # (the copies, in the chunk)
            elif _const_value(op.operands[2]) == 1 and non_negative(op.operands[0]):
                self.line(f"for {iv} in prange({lb}, {ub}):")  # distinct non-negative rows
                self.depth += 1
            else:
                self._guarded_prange(iv, lb, ub, st)
            header = max(k for k, line in enumerate(self.lines) if "prange(" in line)
            mark = f"{_PRANGE_MARK}{len(self.prange_marks)}"
            self.prange_marks[mark] = op
            self.lines[header] += mark
            self._push(targets, loop=True)
            self.prange_depth += 1
            self.region(body)
            self.prange_depth -= 1
            self.depth = d0
            self._pop(loop=True)
            for root in private:  # the chunks' partial sums, added in chunk order
                a = self.name(root)
                self._alias_chain(chain, root, a)
                self.line(f"for {iv}_c in range({iv}_nch):")
                self.line(f"    {a} += {a}_part[{iv}_c]")
            if reductions is not None:
                for r, t in zip(op.results, targets):
                    self.alias(r, t)
        finally:
            self.loop_depth -= 1

    def _reduction_loop(self, op: Op) -> dict[int, tuple[str, Op | None]] | None:
        """A loop whose iterations share nothing but scalar sums or products and write no
        array: its iterations may run in parallel where regrouping the terms keeps the
        result: integer ones always (exact, wrapping), float ones only under fastmath,
        which allows reassociation. Per carried scalar: "+" or "*", and the inner loop
        that accumulates it (`for j: s += ...` inside), if any."""
        body = op.regions[0]
        term = body.terminator
        if _const_value(op.operands[2]) != 1 or not non_negative(op.operands[0]) or len(body.args) < 2 or \
                term is None or term.name != "mc.yield":
            return None
        if any(o.name in ("mc.setitem", "mc.while", "mc.break", "mc.continue", "mc.call", "mc.return")
               for o in body.walk()):
            return None  # (arrays made or viewed per iteration are its own)
        plan: dict[int, tuple[str, Op | None]] = {}
        for k, s in enumerate(body.args[1:]):
            d = s.type.dtype if isinstance(s.type, ScalarType) else ""
            if not (d in ("i64", "u64") or (d in ("f32", "f64") and self.strategy.jit_level >= 2)):
                return None
            kind = self._reduction_chain(body, k)
            if kind is None:
                return None
            u = term.operands[k].owner
            plan[k] = (kind, u if isinstance(u, Op) and u.name == "mc.for" else None)
        return plan

    def _reduction_chain(self, body: Region, k: int) -> str | None:
        """How carried scalar k of a loop body accumulates: "+" (s + e, e + s, s - e) or
        "*", directly or through an inner loop that accumulates it; s read nowhere else."""
        s, term = body.args[1 + k], body.terminator
        y = term.operands[k]
        u = y.owner
        if not isinstance(u, Op) or u.parent is not body or self.uses.get(s, []) != [u] or \
                self.uses.get(y, []) != [term] or y.type != s.type:
            return None
        if u.name in ("mc.add", "mc.sub", "mc.mul") and u.operands.count(s) == 1 and \
                not (u.name == "mc.sub" and u.operands[0] is not s) and \
                all(v.type.dtype == s.type.dtype for v in u.operands):
            return "*" if u.name == "mc.mul" else "+"
        if u.name == "mc.for" and u.operands[3 + u.results.index(y)] is s:
            inner = u.regions[0]
            return self._reduction_chain(inner, u.results.index(y)) if inner.terminator is not None else None
        return None

    def _accumulate_per_iteration(self, op: Op, reductions: dict[int, tuple[str, Op | None]]) -> None:
        """Numba's prange reduces `s = s + e` only: a sum an inner loop accumulates starts
        each iteration from the identity and is added to s at the iteration's end (and a
        direct update is written without the dtype cast that would hide it)."""
        body = op.regions[0]
        combine: dict[int, str] = {}
        for k, (kind, inner) in reductions.items():
            if inner is None:
                self.reduction_updates.add(body.terminator.operands[k].owner)
                continue
            s = body.args[1 + k]
            ident = f"red_{self.counter}"
            self.counter += 1
            self.line(f"{ident} = np.{npname(s.type.dtype)}({'1' if kind == '*' else '0'})")
            self.alias(s, ident)  # (s feeds the inner loop only)
            combine[k] = kind
        if combine:
            self.reduce_yields[body.terminator] = combine

    def op_yield(self, op: Op) -> None:
        combine = self.reduce_yields.get(op)
        if combine is None:
            super().op_yield(op)
            return
        targets, rest = self.yield_targets[-1], []
        for k, (t, v) in enumerate(zip(targets, op.operands)):
            if k in combine:
                self.line(f"{t} = {t} {combine[k]} {self.name(v)}")
            else:
                rest.append((t, v))
        self._assign([t for t, _ in rest], [v for _, v in rest])

    def _privatized_prange(self, chain: dict[Value, Value], private: list[Value], iv: str, lb: str, ub: str,
                           st: str) -> None:
        """A loop that accumulates into arrays (`s[j] += e` for any j) runs as one chunk
        of iterations per thread, each adding into its own zeroed copy of each such
        array; the copies are added to the arrays after the loop (see op_for)."""
        names = [self.name(root) for root in private]
        for root, a in zip(private, names):
            self._alias_chain(chain, root, f"{a}_own")
        self._guarded_prange(iv, lb, ub, st, chunks=f"min({iv}_n, num_threads())",
                             before=[f"{a}_part = np.zeros(({iv}_nch,) + {a}.shape, dtype={a}.dtype)" for a in names],
                             per_chunk=[f"{a}_own = {a}_part[{iv}_c]" for a in names])
        self.stats["privatized_arrays"] = self.stats.get("privatized_arrays", 0) + len(private)

    def _alias_chain(self, chain: dict[Value, Value], root: Value, name: str) -> None:
        """Every value of `root`'s chain (see _parallel_chain) goes by `name`."""
        for v, r in chain.items():
            if r is root:
                self.alias(v, name)

    def _guarded_prange(self, iv: str, lb: str, ub: str, st: str, chunks: str | None = None,
                        before: list[str] | None = None, per_chunk: list[str] | None = None) -> None:
        """A row loop whose variable may take negative values: rows -2 and N - 2 are one
        row, written by two iterations, so the loop runs in parallel only when the
        variable keeps one sign (checked at run time); otherwise as one serial chunk.
        `chunks`: how many chunks then (default: one per iteration; `{iv}_n` is the trip
        count); `before`: lines before the prange (`{iv}_nch` is the chunk count);
        `per_chunk`: lines at the start of each chunk (`{iv}_c` is its number)."""
        n, last, nch = f"{iv}_n", f"{iv}_last", f"{iv}_nch"
        self.line(f"{n} = len(range({lb}, {ub}, {st}))")
        self.line(f"{last} = {lb} + ({n} - 1) * {st}")
        self.line(f"{nch} = {chunks or n} if min({lb}, {last}) >= 0 or max({lb}, {last}) < 0 else min({n}, 1)")
        for text in before or []:
            self.line(text)
        self.line(f"for {iv}_c in prange({nch}):")
        self.depth += 1
        for text in per_chunk or []:
            self.line(text)
        self.line(f"for {iv}_t in range({iv}_c * {n} // {nch}, ({iv}_c + 1) * {n} // {nch}):")
        self.depth += 1
        self.line(f"{iv} = {lb} + {iv}_t * {st}")

    def op_while(self, op: Op) -> None:
        self.loop_depth += 1
        try:
            super().op_while(op)
        finally:
            self.loop_depth -= 1

    def _parallel_chain(self, op: Op) -> dict[Value, Value] | None:
        """Values of the arrays this loop writes row-wise (`A[iv, ...] = ...`, never read),
        each mapped to the array it starts from; None when the loop is not that simple."""
        body = op.regions[0]
        iv = body.args[0]
        inits = op.operands[3:]
        if not inits or any(not v.is_array for v in inits):
            return None
        chain: dict[Value, Value] = {}
        for a, init in zip(body.args[1:], inits):
            chain[a] = init
        chain.update({r: init for r, init in zip(op.results, inits)})

        def own_row(o: Op) -> bool:  # `A[iv, ...]` with no other index from the chain
            first = o.attrs["index"][0] if o.attrs["index"] else None
            return first is not None and first[0] == "int" and isinstance(first[1], tuple) and \
                o.operands[first[1][1]] is iv and not any(v in chain for v in o.operands[1:])

        rows: set[Value] = set()  # roots of arrays written or read by row
        sums: set[Value] = set()  # roots of arrays only accumulated into
        accumulating: set[Op] = set()  # the stores of those accumulations

        def accumulation(g: Op) -> Op | None:
            """The store of `A[idx] = A[idx] + e` (or `- e`) that load g begins, element
            idx of a chain array, e not from the chain: iterations may add in any order
            where that gives the same sum (integers; floats only under fastmath)."""
            d = g.result.type.dtype if isinstance(g.result.type, ScalarType) else ""
            if not (d[:1] in ("i", "u") or (d in ("f32", "f64") and self.strategy.jit_level >= 2)):
                return None
            us = self.uses.get(g.result, [])
            u = us[0] if len(us) == 1 else None
            if u is None or u.parent is not g.parent or u.name not in ("mc.add", "mc.sub") or \
                    (u.name == "mc.sub" and u.operands[0] is not g.result) or u.result.type != g.result.type or \
                    any(v in chain for v in u.operands):
                return None
            us = self.uses.get(u.result, [])
            st = us[0] if len(us) == 1 else None
            ok = st is not None and st.name == "mc.setitem" and st.parent is g.parent and \
                st.attrs.get("inplace") and st.operands[-1] is u.result and st.operands[0] in chain and \
                chain[st.operands[0]] is chain[g.operands[0]] and st.attrs["index"] == g.attrs["index"] and \
                list(st.operands[1:-1]) == list(g.operands[1:]) and not any(v in chain for v in g.operands[1:])
            return st if ok else None

        def walk(region: Region) -> bool:
            for o in region.ops:
                used = [v for v in o.operands if v in chain]
                if o.name == "mc.getitem" and o.operands[0] in chain and not o.result.is_array and own_row(o):
                    rows.add(chain[o.operands[0]])
                    continue  # an element of the iteration's own row (a promoted `y[i] += ...` reads it)
                store = accumulation(o) if o.name == "mc.getitem" and o.operands[0] in chain else None
                if store is not None:
                    sums.add(chain[o.operands[0]])
                    accumulating.add(store)
                    continue
                if o.name == "mc.if" and not used:
                    if not all(walk(r) for r in o.regions):
                        return False
                    for k, res in enumerate(o.results):  # a branch yielding the row-written array
                        ys = [r.terminator.operands[k] for r in o.regions if r.terminator is not None]
                        roots = {chain.get(y) for y in ys}
                        if len(ys) != len(o.regions) or len(roots) != 1:
                            return False
                        if None not in roots:
                            chain[res] = roots.pop()
                    continue
                if o.name == "mc.setitem":
                    base = o.operands[0]
                    if o.operands[-1] in chain or any(v in chain for v in o.operands[1:-1]):
                        return False
                    if base in chain:
                        if o in accumulating:
                            chain[o.result] = chain[base]
                            continue
                        if not (o.attrs.get("inplace") and own_row(o)):
                            return False
                        rows.add(chain[base])
                        chain[o.result] = chain[base]
                    elif base not in inner_defs:
                        return False
                    continue
                if o.name == "mc.for" and used:
                    if any(v in chain for v in o.operands[:3]):
                        return False
                    ib = o.regions[0]
                    for a2, init2, r2 in zip(ib.args[1:], o.operands[3:], o.results):
                        if init2 in chain:
                            chain[a2] = chain[init2]
                            chain[r2] = chain[init2]
                    if not walk(ib):
                        return False
                    term = ib.terminator
                    for y, init2 in zip(term.operands if term else [], o.operands[3:]):
                        if (y in chain) != (init2 in chain) or (y in chain and chain[y] is not chain[init2]):
                            return False
                    continue
                if o.name == "mc.yield" and region is body:
                    for y, init in zip(o.operands, inits):
                        if y not in chain or chain[y] is not init:
                            return False
                    continue
                if o.name == "mc.yield" and used:
                    continue  # checked by the enclosing mc.for
                if used or o.name in ("mc.call", "mc.break", "mc.return"):
                    return False
                for r in o.regions:
                    if not walk(r):
                        return False
            return True

        inner_defs = defined_in(body)
        if not walk(body):
            return None
        if sums:
            # an array accumulated into is also read or written by row, or may share
            # memory with an array the loop reads (only a fresh one cannot)
            if sums & rows or not all(map(_fresh_array, sums)):
                return None
            self.privatized[op] = [r for r in inits if r in sums]
        return chain


def _complex_ok(op: Op) -> bool:
    """Ops whose complex results Numba computes as NumPy does (division and exp through
    runtime_shim.numba_math). Left out: orderings (NumPy's are lexicographic), sign,
    rounding, powers other than squares, and the trigonometric and hyperbolic functions
    (NaN where NumPy has finite parts: tanh(1000 + 1j) is 1 in NumPy)."""
    if op.name == "mc.pow":
        return _const_value(op.operands[1]) == 2
    if op.name in ELEMENTWISE:
        return op.name in COMPLEX_ELEMENTWISE
    return op.name[3:] not in REDUCTIONS or op.name[3:] in ("sum", "prod")  # (mean: Numba raises at 0 / 0)


def _fresh_array(v: Value) -> bool:
    """Whether `v` is an array made new (also by an earlier block, once among its
    results): no other value shares its memory."""
    o = v.owner
    while isinstance(o, Op) and o.name == "mc.block":
        term = o.regions[0].terminator
        y = term.operands[o.results.index(v)] if term is not None else None
        if y is None or sum(x is y for x in term.operands) != 1:
            return False
        v, o = y, y.owner
    return isinstance(o, Op) and o.name in FRESH_ARRAYS


def _gram_operand(a: Value, b: Value) -> tuple[Value, bool] | None:
    """(X, True) for `X.T @ X`, (X, False) for `X @ X.T`, X a matrix; else None."""
    for t, x, at_a in ((a, b, True), (b, a, False)):
        o = t.owner
        if isinstance(o, Op) and o.name == "mc.transpose" and o.operands[0] is x and x.type.rank == 2 \
                and o.attrs.get("axes") in (None, (1, 0), [1, 0]):
            return x, at_a
    return None


def _costly(text: str) -> bool:
    """Whether an element expression calls a math function (worth a staging loop)."""
    return any(f"{f}(" in text for f in POLY_MATH.values()) or any(f"np.{f}(" in text for f in UNARY_NP if f not in ("abs", "sign"))


def _const_value(v: Value) -> Any:
    o = v.owner
    if isinstance(o, Op) and o.name == "mc.const":
        return o.attrs["value"]
    return None


def _common(a: Any, b: Any) -> str:
    wa = isinstance(a, ScalarType) and a.weak
    wb = isinstance(b, ScalarType) and b.weak
    if wa and not wb:
        if a.dtype[0] in "fc" and b.dtype[0] in "iub":
            return "f64" if a.dtype[0] == "f" else "c128"
        return b.dtype
    if wb and not wa:
        if b.dtype[0] in "fc" and a.dtype[0] in "iub":
            return "f64" if b.dtype[0] == "f" else "c128"
        return a.dtype
    from mcodec.compiler.types import FROM_NUMPY, np_dtype

    return FROM_NUMPY[np.result_type(np_dtype(a.dtype), np_dtype(b.dtype)).name]


def _acc_dtype(kind: str, x: str, D: str) -> str:
    if kind in ("any", "all"):
        return "bool"
    if kind in ("max", "min"):
        return x
    if kind in ("mean", "std", "var"):
        return "c128" if x[0] == "c" else "f64"
    if D in ("f32", "f16"):
        return "f64"
    if D == "c64":
        return "c128"
    return D


def _init(kind: str, acc: str) -> str:
    if kind in ("sum", "mean", "prod") and acc[0] == "u":
        # a bare 0 is int64 in Numba, and int64 + uint64 is int64: a u64 sum above 2**63
        # came back negative (and its conversion to np.uint64 raised)
        return f"np.{npname(acc)}({int(kind == 'prod')})"
    if kind in ("sum", "mean"):
        return "0" if acc[0] in "iu" else ("0.0" if acc[0] == "f" else "0j")
    if kind == "prod":
        return "1" if acc[0] in "iu" else "1.0"
    if kind == "any":
        return "False"
    if kind == "all":
        return "True"
    if acc == "bool":
        return "False" if kind == "max" else "True"
    if acc[0] == "f":  # typed: a float64 literal made a float32 max's accumulator float64
        return f"np.{npname(acc)}({'-' if kind == 'max' else ''}np.inf)"
    info = np.iinfo(np.dtype(npname(acc)))
    return f"np.{npname(acc)}({info.min if kind == 'max' else info.max})"


def _combine(kind: str, ref: str, t: str, acc: str) -> str:
    if kind in ("sum", "mean"):
        return f"{ref} + {t}"
    if kind == "prod":
        return f"{ref} * {t}"
    if kind == "any":
        return f"{ref} or {t}"
    if kind == "all":
        return f"{ref} and {t}"
    if acc == "bool":
        return f"{ref} or {t}" if kind == "max" else f"{ref} and {t}"
    cmp = ">" if kind == "max" else "<"
    if acc[0] == "f":
        return f"{t} if ({t} {cmp} {ref} or {t} != {t}) else {ref}"
    return f"{t} if {t} {cmp} {ref} else {ref}"


def _select(kind: str, ref: str, t: str, acc: str) -> str:
    """max/min as an ordered compare only: a NaN t is passed over (the caller sees it)."""
    return f"{t} if {t} {'>' if kind == 'max' else '<'} {ref} else {ref}"


def _out_conv(v: Value) -> str | None:
    """Python expression wrapping a returned scalar in the reference's type (None: as is)."""
    t = v.type
    if isinstance(t, ArrayType):
        return None
    if t.weak:
        return {"bool": "bool", "i64": "int", "f64": "float", "c128": "complex"}.get(t.dtype)
    return f"np.{npname(t.dtype)}"


class NumbaBackend:
    name = "numba"

    def can_lower(self, block: BlockView, strategy: OptimizationStrategy) -> tuple[bool, str]:
        if strategy.backend != "numba":
            return False, f"strategy {strategy.strategy_id} is not a Numba strategy"
        if block.has_early_exit():
            return False, "blocks with an early return are run inline by the stitched function"
        for o in block.ops():
            if o.name in UNSUPPORTED:
                return False, UNSUPPORTED[o.name]
            if o.name in ("mc.random", "mc.randn") and (o.attrs["ndim"] == 0 or not _inside_loop(o)):
                # (outside loops NumPy's draw is the whole work: object mode would only add a
                # compile at each artifact load)
                return False, "a random draw outside a loop (NumPy's own Generator)"
            for v in [*o.operands, *o.results]:
                t = v.type
                if not isinstance(t, (ScalarType, ArrayType)):
                    return False, f"{o.name}: values of type {t} are not supported"
                if t.dtype in ("c64", "c128") and not _complex_ok(o):
                    return False, f"{o.name} on complex values is left to NumPy (its ordering and branch cuts)"
                if isinstance(t, ArrayType) and t.rank == 0:
                    return False, "0-d arrays are not supported"
            if o.name in ("mc.getitem", "mc.setitem"):
                arrays = [it for it in o.attrs["index"] if it[0] == "array"]
                if len(arrays) > 1:
                    return False, "more than one index array (NumPy advanced indexing)"
                for it in arrays:
                    ref = it[1]
                    if isinstance(ref, tuple) and o.operands[ref[1]].type.dtype == "bool" \
                            and not lowerable_mask(o):
                        return False, ("boolean-mask indexing is lowered by the Numba back end only with "
                                       "a mask over the array's leading axes (and a scalar stored)")
                if arrays and any(it[0] == "newaxis" for it in o.attrs["index"]):
                    return False, "index arrays combined with newaxis"
            if o.name == "mc.matmul" and o.result.type.dtype == "bool":
                return False, "boolean matrix products"
            if o.name == "mc.matmul" and any(v.type.rank > 2 for v in o.operands if isinstance(v.type, ArrayType)):
                # Numba's @ / np.dot take vectors and matrices only: known here, not after a failed compile
                return False, "batched matrix products (an operand of rank > 2)"
            if o.name == "mc.linspace" and (not o.attrs["endpoint"] or o.attrs["dtype"] != _numba_linspace_dtype(o)):
                return False, "linspace with endpoint=false or a dtype other than f64 (c128 for complex ends)"
            if o.name in ("mc.concatenate", "mc.vstack", "mc.stack"):
                if len({v.type.dtype for v in o.operands}) > 1:
                    return False, "joining arrays of different dtypes"
        return True, ""

    def lower(self, block: BlockView, strategy: OptimizationStrategy, workdir: Path | None = None) -> BuiltBlock:
        """The block's Numba source, compiled in memory."""
        from mcodec.compiler.reference import exec_source

        built = self.lower_source(block, strategy)
        info = built.info
        ns = exec_source(built.source, f"{block.id}:numba")
        disp = _jit(ns, block, info["python_function"], info["options"])
        info.update(namespace=ns, dispatcher=disp, jit_cacheable=jit_cacheable(disp))
        return BuiltBlock(block.id, strategy.strategy_id, ns[f"call_{info['python_function']}"], built.source,
                          info=info)

    def lower_source(self, block: BlockView, strategy: OptimizationStrategy) -> BuiltBlock:
        """The block's Numba source and compile options, not compiled (no callable yet):
        a build compiles it once from its block-cache entry, with Numba's on-disk cache."""
        ok, why = self.can_lower(block, strategy)
        if not ok:
            raise LoweringError(why)
        name = block_py_name(block)
        try:
            em = NumbaEmitter(strategy, block)
            fn_text, left = serial_where_raising(em.block_function(block, name))
            raising = demoted_loops(em, fn_text)
            if raising:  # written again with those loops serial, so that loops inside them may run parallel
                em = NumbaEmitter(strategy, block, serial_loops=raising)
                fn_text, left = serial_where_raising(em.block_function(block, name))
            em.stats["prange_loops"] = left
            fn_text = "\n".join([*em.helper_texts, _PRANGE_MARK_RE.sub("", fn_text)])  # outlined loops first
        except LoweringError:
            raise
        except Exception as e:  # noqa: BLE001 - an emitter gap is a lowering failure
            raise LoweringError(f"{block.id}: cannot generate Numba source: {e}") from e
        params = [em.name(v) for v in block.live_ins]
        convs = [_out_conv(v) for v in block.live_outs]
        outs = "".join((f"{c}(r[{i}])" if c else f"r[{i}]") + ", " for i, c in enumerate(convs))
        wrapper = (f"\n\ndef call_{name}({', '.join(params)}):\n"
                   f"    try:\n"
                   f"        r = JIT_{name}({', '.join(params)})\n"
                   f"    except TypeError:\n"
                   f"        r = JIT_{name}(*_writable(({''.join(p + ', ' for p in params)})))\n"
                   f"    return ({outs})\n")
        # level 1: only the loops we emit as prange run in threads (Numba's own array-op
        # parallelism would put a thread fork/join inside sequential loops); level 2: all.
        parallel: Any = False
        if strategy.parallelization_level >= 2:
            parallel = True
        elif strategy.parallelization_level == 1 and em.stats["prange_loops"]:
            parallel = prange_only()
        options = dict(cache=False, parallel=parallel,
                       fastmath=FAST_FLAGS if strategy.jit_level >= 2 else False, error_model="numpy", nogil=True)
        info = {"signature": [str(numba_type(v.type)) for v in block.live_ins], "options": options,
                "parallel": parallel, "python_function": name, **em.stats}
        return BuiltBlock(block.id, strategy.strategy_id, None, prelude(fn_text) + "\n" + fn_text + wrapper, info=info)

    def load_built_block(self, root: Path, view: BlockView, entry: dict[str, Any],
                         strategy: OptimizationStrategy) -> BuiltBlock:
        """A stored block from its source file, compiled with Numba's on-disk cache
        (`cache=True`, kept in `__pycache__` beside the file): the artifact writer
        warms the cache at build time, so a later load compiles nothing."""
        import hashlib

        src_rel = next(f for f in entry["files"] if f.startswith("blocks/") and f.endswith(".py"))
        path = (Path(root) / src_rel).resolve()
        name = entry["info"]["python_function"]
        # named by content, not path: Numba's cache re-imports the module by name, and a
        # moved artifact must still find it
        mod_name = "mcodec_numba_block_" + hashlib.sha1(path.read_bytes()).hexdigest()[:16]
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[mod_name] = module  # (re)bound to this file: its __pycache__ holds the cache
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        disp = _jit(module.__dict__, view, name, {**entry["info"]["options"], "cache": True})
        info = {**entry["info"], "namespace": module.__dict__, "dispatcher": disp, "jit_cacheable": jit_cacheable(disp)}
        return BuiltBlock(view.id, strategy.strategy_id, getattr(module, f"call_{name}"), info=info)


# what makes a loop body leave other than at its end: Numba runs such a prange serially
_RAISES = re.compile(r"\braise\b|\bchecked_ind(?:ex|ices)\(")
_PRANGE_MARK = "  # prange-of-loop-"
_PRANGE_MARK_RE = re.compile(rf"{_PRANGE_MARK}\d+$", re.M)


def demoted_loops(em: NumbaEmitter, demoted: str) -> frozenset[Op]:
    """The loops `em` wrote as prange that serial_where_raising made range in
    `demoted` (their bodies may raise). Nests inside such a loop were written serial (an
    inner prange under a prange runs serially), so the block is better written again
    with the loop serial from the start."""
    return frozenset(op for mark, op in em.prange_marks.items()
                     if re.search(rf"for .* in range\(.*{re.escape(mark)}$", demoted, re.M))


def serial_where_raising(text: str) -> tuple[str, int]:
    """`text` with each prange whose body may raise (an index check, an empty
    reduction's error) written as range, and the count of pranges left. Numba runs such
    a loop serially anyway ("more than one exit"), but its parallel pipeline still
    compiles the function: an argmin loop inside took 22 ms where the serial pipeline's
    code took 2.5 ms (knn, 200 queries of 4000 points), so a block whose pranges all
    raise compiles without it."""
    lines = text.split("\n")
    left = 0
    for k, line in enumerate(lines):
        if "prange(" not in line or not line.lstrip().startswith("for "):
            continue
        indent = len(line) - len(line.lstrip())
        end = k + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        if any(_RAISES.search(b) for b in lines[k + 1:end]):
            lines[k] = line.replace("prange(", "range(", 1)
        else:
            left += 1
    return "\n".join(lines), left


def prange_only() -> dict[str, bool]:
    """Numba's parallel options for code whose only parallelism is the prange loops we
    write (a new dict each time: Numba consumes it)."""
    return dict.fromkeys(PARFOR_KINDS, False) | {"prange": True}


def _jit(ns: dict[str, Any], view: BlockView, name: str, options: dict[str, Any]) -> Any:
    """Compile block function `ns[name]` for its live-ins' types (from Numba's on-disk
    cache when options say cache=True) and bind what its `call_` wrapper uses."""
    import numba
    from mcodec.runtime_shim.native_gemm import require as require_native_gemm

    # outlined loops (numba_outline.py) compile serial, outlined prange nests (open_nest) parallel
    helpers = {k: prange_only() if k.startswith("_mc_pnest_") else False
               for k in ns if k.startswith(("_mc_loop_", "_mc_pnest_"))}
    if options["parallel"] or any(helpers.values()):
        short_openmp_spins()
    for dtype in {o.result.type.dtype for o in view.ops() if o.name == "mc.matmul"} & {"f32", "f64"}:
        # a block loaded from Numba's cache finds the packed product by its C symbol
        require_native_gemm(NUMPY_NAME[dtype])
    try:
        for k, par in helpers.items():
            if not isinstance(ns[k], numba.core.registry.CPUDispatcher):
                ns[k] = numba.njit(**{**options, "parallel": par})(ns[k])
        # numba consumes the parallel options dict: a copy
        disp = numba.njit(**{**options, "parallel": copy.copy(options["parallel"])})(ns[name])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            disp.compile(tuple(numba_type(v.type) for v in view.live_ins))
        disp.disable_compile()
    except Exception as e:  # noqa: BLE001 - numba typing/lowering errors
        msg = str(e).strip().splitlines()
        raise LoweringError(f"{view.id}: numba could not compile the block: {' '.join(msg[:6])[:600]}") from e
    ns[f"JIT_{name}"] = disp
    ns["_writable"] = _writable
    return disp


def jit_cacheable(disp: Any) -> bool:
    """Whether Numba's on-disk cache can hold the block's code. It cannot hold code that
    embeds an address (a ctypes pointer: "dynamic globals") or lifted loops, and an
    artifact then compiles such a block at each load."""
    return all(not c.library.has_dynamic_globals and all(x.can_cache for x in c.lifted)
               for c in disp.overloads.values())


def _writable(args: tuple) -> tuple:
    """The arguments as the compiled signature takes them: arrays writable and
    C-contiguous (copied when they are not; only called after a type mismatch)."""
    return tuple(np.array(a, order="C") if isinstance(a, np.ndarray)
                 and not (a.flags.writeable and a.flags.c_contiguous) else a for a in args)


def _numba_linspace_dtype(op: Op) -> str:
    """The dtype of Numba's np.linspace(start, stop, num): c128 for complex ends, else f64."""
    return "c128" if any(v.type.dtype[0] == "c" for v in op.operands[:2]) else "f64"


def _inside_loop(op: Op) -> bool:
    region = op.parent
    while region is not None and region.parent is not None:
        owner = region.parent
        if owner.name in ("mc.for", "mc.while"):
            return True
        region = owner.parent
    return False
