"""The LLVM back end: scalar loop nests as native code through llvmlite.

A block whose ops are all scalar (arithmetic, comparisons, casts, bitwise ops, math
functions), element loads/stores with integer indices, `mc.dim`/`mc.size` and
structured control flow becomes one LLVM function::

    i32 blk(<per array live-in: i8* data, i64 shape[0..r), i64 strides[0..r)>,
            <per scalar live-in: the value>, <per scalar live-out: pointer>)

returning 0, or the error its caller raises (STATUS_ERRORS: an index that
compiler/index_bounds.py could not prove in range and was not, a range step of 0).

It is optimized with the new pass manager (O2 for jit_level 1; O3 and fast-math flags
without nnan/ninf/arcp for jit_level 2), emitted as an object file at build time, linked
with `cc -shared` into a shared library and called through ctypes. Nothing is compiled
at run time: `load_built(so_path, info)` reloads a built library from its `info`
(the C signature) without importing llvmlite.

Arrays are families: every array value in the block (setitem results, loop-carried
arrays, if results) is the same buffer as one array live-in. Updates marked
`inplace` write that buffer; a family with updates that are not in place is copied
once on entry, which is only allowed when a linearity check proves that no old version
of the array is read after a newer one exists.
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from mcodec.compiler.index_bounds import IndexRanges, unchecked_accesses
from mcodec.compiler.ir import Op, Region, Value, is_inside
from mcodec.compiler.ir_facts import non_negative
from mcodec.compiler.loop_dependence import independent_loops
from mcodec.compiler.strategy import OptimizationStrategy
from mcodec.compiler.types import NUMPY_NAME, ArrayType, ScalarType

from .base import BlockView, BuiltBlock, LoweringError, mixed_sign_u64, negative_signed_answer

SCALAR_DTYPES = ("bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64")
BINARY = {"mc.add", "mc.sub", "mc.mul", "mc.div", "mc.floordiv", "mc.mod", "mc.pow", "mc.bitand",
          "mc.bitor", "mc.bitxor", "mc.shl", "mc.shr", "mc.maximum", "mc.minimum", "mc.arctan2",
          "mc.logical_and", "mc.logical_or", "mc.and", "mc.or"}
COMPARE = {"mc.eq": "==", "mc.ne": "!=", "mc.lt": "<", "mc.le": "<=", "mc.gt": ">", "mc.ge": ">="}
INTRINSIC_UNARY = {"sqrt": "llvm.sqrt", "exp": "llvm.exp", "log": "llvm.log", "log2": "llvm.log2",
                   "log10": "llvm.log10", "sin": "llvm.sin", "cos": "llvm.cos", "floor": "llvm.floor",
                   "ceil": "llvm.ceil", "round": "llvm.roundeven"}
LIBM_UNARY = {"tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh",
              "cosh": "cosh", "tanh": "tanh"}
UNARY = ({f"mc.{n}" for n in INTRINSIC_UNARY} | {f"mc.{n}" for n in LIBM_UNARY}
         | {"mc.neg", "mc.pos", "mc.invert", "mc.abs", "mc.sign", "mc.isnan", "mc.isinf",
            "mc.logical_not", "mc.not"})
OTHER = {"mc.const", "mc.cast", "mc.dim", "mc.size", "mc.getitem", "mc.setitem", "mc.for", "mc.while",
         "mc.if", "mc.yield", "mc.condition", "mc.break", "mc.continue", "mc.where", "mc.clip", "mc.copy"}
SUPPORTED = BINARY | set(COMPARE) | UNARY | OTHER
CONTROL = ("mc.for", "mc.while", "mc.if")

# C types of the signature, by dtype (bool crosses as one byte)
CTYPE_NAMES = {"bool": "c_uint8", "i8": "c_int8", "i16": "c_int16", "i32": "c_int32", "i64": "c_int64",
               "u8": "c_uint8", "u16": "c_uint16", "u32": "c_uint32", "u64": "c_uint64",
               "f32": "c_float", "f64": "c_double"}
# no nnan/ninf (isnan, inf results) and no arcp (x / n as x * (1 / n) is inexact where the
# division is exact; comparisons against such a quotient flip), as the Numba back end
FAST_FLAGS = "reassoc nsz contract afn"
# pow without afn: with it LLVM rewrites pow(x, n + 0.5) as powi(x, n) * sqrt(x) (NaN at
# x = 0 and inf, where NumPy has inf or 0)
POW_FAST_FLAGS = "reassoc nsz contract"


def symbol_name(block_id: str) -> str:
    return "mcblk_" + re.sub(r"\W", "_", block_id)


# ---- analysis ------------------------------------------------------------------------
class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Value, Value] = {}

    def find(self, v: Value) -> Value:
        p = self.parent.setdefault(v, v)
        if p is not v:
            p = self.find(p)
            self.parent[v] = p
        return p

    def union(self, a: Value, b: Value) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra is not rb:
            self.parent[ra] = rb


def _dtype(v: Value) -> str:
    return v.type.dtype


def _loop_targets_of(region: Region) -> list[Value] | None:
    """The carried values a break/continue inside `region` assigns (innermost loop)."""
    op = region.parent
    while op is not None:
        if op.name == "mc.for":
            return op.regions[0].args[1:]
        if op.name == "mc.while":
            return op.regions[0].args
        r = op.parent
        op = r.parent if r is not None else None
    return None


def _yield_targets_of(region: Region) -> list[Value]:
    op = region.parent
    if op is None:
        return []
    if op.name == "mc.for":
        return op.regions[0].args[1:]
    if op.name == "mc.while":
        return op.regions[0].args
    return list(op.results)  # mc.if / mc.block


class _Plan:
    """What `can_lower` learns: array families and which need a copy on entry."""

    def __init__(self, block: BlockView) -> None:
        self.block = block
        self.live_ins = block.live_ins
        self.uf = _UnionFind()
        self.family_root: dict[Value, Value] = {}  # union-find class -> array live-in
        self.copy_roots: set[Value] = set()
        self.written_roots: set[Value] = set()

    def root(self, v: Value) -> Value:
        return self.family_root[self.uf.find(v)]


def _check_types(v: Value) -> str | None:
    t = v.type
    if isinstance(t, ScalarType):
        return None if t.dtype in SCALAR_DTYPES else f"scalar dtype {t.dtype}"
    if isinstance(t, ArrayType):
        return None if t.dtype in SCALAR_DTYPES else f"array dtype {t.dtype}"
    return f"type {t}"


def _step_nonzero(ranges: IndexRanges, step: Value) -> bool:
    lo, hi = ranges.of(step)
    return (lo is not None and lo.is_const and lo.const >= 1) or (hi is not None and hi.is_const and hi.const <= -1)


# the status a block function returns: 0, or the error the caller raises
STATUS_ERRORS = {1: (IndexError, "index out of bounds"), 2: (ValueError, "range() arg 3 must not be zero"),
                 3: (ValueError, "Integers to negative integer powers are not allowed.")}


def analyze(block: BlockView) -> tuple[_Plan | None, str]:
    if block.has_early_exit():
        return None, "early return"
    plan = _Plan(block)
    uf = plan.uf
    for v in plan.live_ins:
        why = _check_types(v)
        if why:
            return None, f"live-in of {why}"
    for v in block.live_outs:
        why = _check_types(v)
        if why:
            return None, f"live-out of {why}"
    ops = block.ops()
    for op in ops:
        if op.name not in SUPPORTED:
            return None, f"unsupported op {op.name}"
        for v in op.results + [a for r in op.regions for a in r.args]:
            why = _check_types(v)
            if why:
                return None, f"{op.name} with {why}"
        if op.name in ("mc.getitem", "mc.setitem"):
            base = op.operands[0]
            idx = op.attrs["index"]
            if any(it[0] != "int" for it in idx) or len(idx) != base.type.rank:
                return None, f"{op.name} with a slice, mask or partial index"
            if op.name == "mc.getitem" and op.result.is_array:
                return None, "array-valued getitem"
            if op.name == "mc.setitem":
                if op.operands[-1].is_array:
                    return None, "setitem of an array value"
                uf.union(op.result, base)
        elif op.name not in CONTROL and op.name not in ("mc.yield", "mc.break", "mc.continue", "mc.dim",
                                                        "mc.size"):
            if any(v.is_array for v in op.results) or any(v.is_array for v in op.operands):
                return None, f"array-valued {op.name}"
        if op.name == "mc.for":
            body = op.regions[0]
            for init, arg, res in zip(op.operands[3:], body.args[1:], op.results):
                if arg.is_array:
                    uf.union(arg, init)
                    uf.union(res, arg)
        elif op.name == "mc.while":
            cond, body = op.regions
            for init, a, b, res in zip(op.operands, cond.args, body.args, op.results):
                if a.is_array:
                    uf.union(a, init)
                    uf.union(b, a)
                    uf.union(res, a)
        elif op.name in ("mc.yield", "mc.break", "mc.continue"):
            region = op.parent
            targets = (_yield_targets_of(region) if op.name == "mc.yield" else _loop_targets_of(region)) or []
            if op.name != "mc.yield" and _loop_targets_of(region) is None:
                return None, f"{op.name} outside a loop"
            for v, t in zip(op.operands, targets):
                if v.is_array:
                    uf.union(v, t)
    # yields of the block region feed the block's results
    for v, t in zip(block.yielded, block.live_outs):
        if v.is_array:
            uf.union(v, t)
    # every array class holds exactly one array live-in
    for v in plan.live_ins:
        if v.is_array:
            r = uf.find(v)
            if r in plan.family_root:
                return None, "two array live-ins in one family"
            plan.family_root[r] = v
    all_arrays = [v for op in ops for v in op.results + [a for r in op.regions for a in r.args] if v.is_array]
    for v in all_arrays + [v for v in block.live_outs if v.is_array]:
        if uf.find(v) not in plan.family_root:
            return None, "an array not derived from a live-in"
    for op in ops:
        if op.name == "mc.setitem":
            root = plan.root(op.operands[0])
            plan.written_roots.add(root)
            if not op.attrs.get("inplace"):
                plan.copy_roots.add(root)
    # A family is one buffer, so two of its values must never be live at once where it is
    # written: a loop carrying one array in two slots (CSE merges two equal `zeros`), or
    # an `if` or the block yielding it twice, would have both slots write the same memory.
    for group in [op.results for op in ops if op.name in CONTROL] + [block.live_outs]:
        seen: set[Value] = set()
        for v in group:
            if v.is_array:
                r = plan.root(v)
                if r in seen and r in plan.written_roots:
                    return None, "one written array in two live values (a loop or branch result)"
                seen.add(r)
    for op in ops:
        if op.name == "mc.setitem" and plan.root(op.operands[0]) in plan.copy_roots:
            ok, why = _linear_update(block, op, op.operands[0])
            if not ok:
                return None, why
        if op.name in ("mc.for", "mc.while"):
            for v in op.operands:
                if v.is_array and plan.root(v) in plan.copy_roots:
                    ok, why = _linear_update(block, op, v)
                    if not ok:
                        return None, why
    return plan, ""


def _ancestors(op: Op, stop: Region) -> list[Op]:
    """`op` and the ops enclosing it, innermost first, up to (not beyond) region `stop`."""
    chain = [op]
    r = op.parent
    while r is not None and r is not stop and r.parent is not None:
        chain.append(r.parent)
        r = r.parent.parent
    return chain


def _def_region(block: BlockView, v: Value) -> Region:
    owner = v.owner
    if isinstance(owner, Region):
        return owner
    if isinstance(owner, Op) and owner.parent is not None and is_inside(owner, block.region):
        return owner.parent
    return block.region  # a live-in: defined above the block


def _linear_update(block: BlockView, upd: Op, base: Value) -> tuple[bool, str]:
    """Updating `base` in place at `upd` is safe: `upd` runs at most once per definition of
    `base`, and every other use of `base` runs before it or in an exclusive branch."""
    home = _def_region(block, base)
    chain = _ancestors(upd, home)
    if any(o.name in ("mc.for", "mc.while") for o in chain[1:]):
        return False, "an update repeated by a loop around its array's definition"
    for user in block.ops():
        if user is upd or base not in user.operands:
            continue
        if not _before_or_exclusive(user, upd, home):
            return False, "an old version of an updated array is read after the update"
    return True, ""


def _before_or_exclusive(user: Op, upd: Op, home: Region) -> bool:
    ua = _ancestors(user, home)
    sa = _ancestors(upd, home)
    upos = {id(o.parent): o for o in ua}
    for s in sa:  # innermost common region
        u = upos.get(id(s.parent))
        if u is None:
            continue
        region = s.parent
        if u is s:  # same op: different regions of it
            return s.name == "mc.if"
        return region.ops.index(u) < region.ops.index(s)
    return False


def const_value(v: Value) -> Any:
    """The value of `v` when it is a constant: an `mc.const`, or a block result that the
    block yields from an `mc.const` (constants hoisted into an earlier block)."""
    for _ in range(8):
        o = v.owner
        if not isinstance(o, Op):
            return None
        if o.name == "mc.const":
            return o.attrs["value"]
        if o.name != "mc.block":
            return None
        k = next((i for i, r in enumerate(o.results) if r is v), None)
        term = o.regions[0].terminator
        if k is None or term is None or term.name != "mc.yield" or k >= len(term.operands):
            return None
        v = term.operands[k]
    return None


def reduction_ops(block: BlockView) -> set[Op]:
    """The float adds/subtracts that accumulate into a loop-carried scalar
    (`t = t + x`, `t = (t + x) - y`): under fastmath they may be reassociated (LLVM's
    reduction vectorizer needs it), as NumPy's own sums and BLAS dots are."""
    out: set[Op] = set()
    for loop in block.ops():
        if loop.name != "mc.for":
            continue
        body = loop.regions[0]
        term = body.terminator
        if term is None or term.name != "mc.yield":
            continue
        for acc, y in zip(body.args[1:], term.operands):
            if acc.is_array or _dtype(acc)[0] != "f":
                continue
            chain: list[Op] = []
            v = y
            while v is not acc and len(chain) < 16:
                o = v.owner
                if not isinstance(o, Op) or o.parent is not body or o.name not in ("mc.add", "mc.sub") \
                        or _dtype(o.result) != _dtype(acc):
                    break
                chain.append(o)
                nxt = [x for x in o.operands[: 1 if o.name == "mc.sub" else 2] if _reaches(x, acc, body)]
                if not nxt:
                    break
                v = nxt[0]
            if v is acc:
                out.update(chain)
    return out


def _reaches(v: Value, acc: Value, body: Region, depth: int = 0) -> bool:
    if v is acc:
        return True
    o = v.owner
    return (depth < 16 and isinstance(o, Op) and o.parent is body and o.name in ("mc.add", "mc.sub")
            and any(_reaches(x, acc, body, depth + 1) for x in o.operands[: 1 if o.name == "mc.sub" else 2]))


# ---- code generation ------------------------------------------------------------------
class _Codegen:
    def __init__(self, plan: _Plan, fast: bool) -> None:
        from llvmlite import ir

        self.ir = ir
        self.plan = plan
        self.fast = fast
        self.module = ir.Module(name=plan.block.id)
        self.i1, self.i8, self.i64 = ir.IntType(1), ir.IntType(8), ir.IntType(64)
        self.ptr = ir.PointerType(self.i8)
        self.vals: dict[Value, Any] = {}
        # only under fastmath: a loop's own order is the program's meaning (a cancelling
        # f32 sum of [1e8, 1 x 1001, -1e8] gave 992 where the reference's gives 0)
        self.reassoc = reduction_ops(plan.block) if fast else set()
        self.arrays: dict[Value, tuple[Any, list[Any], list[Any]]] = {}  # root -> (data, shape, strides)
        self.slots: dict[Value, Any] = {}
        self.yield_stack: list[tuple[list[Value], Any]] = []  # (targets, continuation block)
        self.loop_stack: list[tuple[list[Value], Any, Any]] = []  # (targets, continue block, exit block)
        self.i32 = ir.IntType(32)
        self.ranges = IndexRanges()  # (also of range steps)
        self.unchecked = frozenset(unchecked_accesses(plan.block.region, self.ranges))  # (checked, as NumPy does)
        self.fail_blocks: dict[int, Any] = {}
        # loops whose iterations touch distinct elements (loop_dependence.py): their loads
        # and stores form an access group the loop declares parallel. Not a loop carrying a
        # float sum without fastmath: vectorized in order, bicg's ran 25% slower than scalar
        self.independent = {loop for loop in independent_loops(plan.block.region, self.ranges, plan.root)
                            if fast or not any(_dtype(a)[0] == "f" and not a.is_array for a in loop.regions[0].args[1:])}
        self.access_group: dict[Op, Any] = {}
        self.loop_md: dict[Op, Any] = {}
        for n, loop in enumerate(o for o in plan.block.region.walk() if o in self.independent):
            group = self.module.add_metadata([ir.MetaDataString(self.module, f"mcodec.group.{n}")])
            self.loop_md[loop] = self.module.add_metadata([ir.MetaDataString(self.module, f"mcodec.loop.{n}")])
            for o in loop.regions[0].walk():
                if o.name in ("mc.getitem", "mc.setitem"):
                    self.access_group[o] = group

    # types
    def lty(self, dtype: str):  # noqa: ANN201
        ir = self.ir
        if dtype == "bool":
            return self.i1
        if dtype[0] in "iu":
            return ir.IntType(int(dtype[1:]))
        return ir.FloatType() if dtype == "f32" else ir.DoubleType()

    def mem_ty(self, dtype: str):  # noqa: ANN201
        return self.i8 if dtype == "bool" else self.lty(dtype)

    def arg_ty(self, dtype: str):  # noqa: ANN201
        return self.mem_ty(dtype)

    # ---- entry --------------------------------------------------------------------
    def build(self) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        ir = self.ir
        plan = self.plan
        block = plan.block
        arg_tys: list[Any] = []
        in_specs: list[dict[str, Any]] = []
        for v in plan.live_ins:
            if v.is_array:
                rank = v.type.rank
                arg_tys += [self.ptr] + [self.i64] * (2 * rank)
                in_specs.append({"kind": "array", "dtype": _dtype(v), "rank": rank,
                                 "copy": v in plan.copy_roots, "written": v in plan.written_roots})
            else:
                arg_tys.append(self.arg_ty(_dtype(v)))
                in_specs.append({"kind": "scalar", "dtype": _dtype(v)})
        out_specs: list[dict[str, Any]] = []
        for v in block.live_outs:
            if v.is_array:
                root = plan.root(v)
                out_specs.append({"kind": "array", "live_in": plan.live_ins.index(root)})
            else:
                arg_tys.append(self.ir.PointerType(self.mem_ty(_dtype(v))))
                out_specs.append({"kind": "scalar", "dtype": _dtype(v)})
        fnty = ir.FunctionType(self.i32, arg_tys)
        self.fn = ir.Function(self.module, fnty, name=symbol_name(block.id))
        self.entry = self.fn.append_basic_block("entry")
        body = self.fn.append_basic_block("body")
        self.b = ir.IRBuilder(body)
        self.alloca_builder = ir.IRBuilder(self.entry)
        args = list(self.fn.args)
        k = 0
        for v in plan.live_ins:
            if v.is_array:
                rank = v.type.rank
                shape = args[k + 1:k + 1 + rank]
                self.arrays[v] = (args[k], shape, self.contiguous_strides(shape, self.align(_dtype(v))))
                k += 1 + 2 * rank
            else:
                a = args[k]
                k += 1
                c = const_value(v)
                if c is not None:  # a constant yielded by an earlier block: fold it
                    self.vals[v] = self.const(_dtype(v), c)
                else:
                    self.vals[v] = self.b.trunc(a, self.i1) if _dtype(v) == "bool" else a
        out_ptrs = args[k:]
        region = block.region
        for op in region.ops:
            if op is region.terminator:
                break
            self.op(op)
        j = 0
        for v, y in zip(block.live_outs, block.yielded):
            if not v.is_array:
                val = self.convert(self.get(y), _dtype(y), _dtype(v))
                if _dtype(v) == "bool":
                    val = self.b.zext(val, self.i8)
                self.b.store(val, out_ptrs[j])
                j += 1
        self.b.ret(ir.Constant(self.i32, 0))
        self.alloca_builder.branch(body)
        text = str(self.module)
        if self.fast:
            text = re.sub(r"= (fadd|fsub|fmul|fdiv|frem|fneg) ", lambda m: f"= {m.group(1)} {FAST_FLAGS} ", text)
            text = re.sub(r"= call (float|double) @\"?(llvm\.[\w.]+|tanhf?|sinhf?|coshf?|tanf?|asinf?|acosf?"
                          r"|atanf?|atan2f?)\"?\(", lambda m: m.group(0).replace(
                              "call ", f"call {POW_FAST_FLAGS if m.group(2).startswith('llvm.pow') else FAST_FLAGS} "),
                          text)
        return _parallel_loop_metadata(text), in_specs, out_specs

    def contiguous_strides(self, shape: list, itemsize: int) -> list:
        """Byte strides of a C-contiguous array (the caller makes every array so): a
        unit stride known at compile time lets LLVM vectorize the innermost loops."""
        ir = self.ir
        strides = [ir.Constant(self.i64, itemsize)]
        for d in reversed(shape[1:]):
            strides.insert(0, self.b.mul(strides[0], d, flags=("nsw",)))
        return strides

    # ---- values -------------------------------------------------------------------
    def get(self, v: Value):  # noqa: ANN201
        if v in self.slots:
            return self.b.load(self.slots[v])
        try:
            return self.vals[v]
        except KeyError:
            raise LoweringError(f"value {v} used before definition") from None

    def slot(self, v: Value):  # noqa: ANN201
        s = self.slots.get(v)
        if s is None:
            s = self.alloca_builder.alloca(self.lty(_dtype(v)))
            self.slots[v] = s
        return s

    def assign(self, targets: list[Value], values: list[Value]) -> None:
        loaded = [(t, self.convert(self.get(v), _dtype(v), _dtype(t))) for t, v in zip(targets, values)
                  if not t.is_array]
        for t, val in loaded:
            self.b.store(val, self.slot(t))

    def const(self, dtype: str, value: Any):  # noqa: ANN201
        ir = self.ir
        t = self.lty(dtype)
        if dtype == "bool":
            return ir.Constant(t, int(bool(value)))
        if dtype[0] in "iu":
            bits = int(dtype[1:])
            return ir.Constant(t, int(value) & ((1 << bits) - 1))
        v = float(value)
        if dtype == "f32":
            v = float(np.float32(v))
        return ir.Constant(t, v)

    def intrinsic(self, name: str, dtype: str, nargs: int = 1):  # noqa: ANN201
        ir = self.ir
        t = self.lty(dtype)
        full = f"{name}.{'f32' if dtype == 'f32' else 'f64'}" if name.startswith("llvm.") else name
        fn = self.module.globals.get(full)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(t, [t] * nargs), name=full)
        return fn

    def libm(self, base: str, dtype: str, nargs: int = 1):  # noqa: ANN201
        return self.intrinsic(base + ("f" if dtype == "f32" else ""), dtype, nargs)

    # ---- conversions -----------------------------------------------------------------
    def convert(self, x, src: str, dst: str):  # noqa: ANN001, ANN201
        if src == dst:
            return x
        b, ir = self.b, self.ir
        t = self.lty(dst)
        if dst == "bool":
            if src[0] == "f":
                return b.fcmp_unordered("!=", x, ir.Constant(x.type, 0.0))
            return b.icmp_unsigned("!=", x, ir.Constant(x.type, 0))
        if src == "bool":
            return b.zext(x, t) if dst[0] in "iu" else b.uitofp(x, t)
        if src[0] in "iu" and dst[0] in "iu":
            sw, dw = int(src[1:]), int(dst[1:])
            if sw == dw:
                return x
            if dw < sw:
                return b.trunc(x, t)
            return b.sext(x, t) if src[0] == "i" else b.zext(x, t)
        if src[0] in "iu":  # int -> float
            return b.sitofp(x, t) if src[0] == "i" else b.uitofp(x, t)
        if dst[0] == "f":  # float -> float
            return b.fpext(x, t) if dst == "f64" else b.fptrunc(x, t)
        # float -> int as NumPy's casts on x86: narrow ints through i32 (NaN and values out
        # of range give INT_MIN's low bits), u32 through i64, u64 as C compilers emit it:
        # below 2^63 (NaN, negatives) a signed conversion, from 2^63 on 2^63 less with the
        # top bit set (fptoui of -200.0 is poison: Numba's saturates to 2^64 - 1)
        if dst == "u64":
            top = ir.Constant(x.type, 2.0 ** 63)
            high = b.xor(b.fptosi(b.fsub(x, top), t), ir.Constant(t, 1 << 63))
            return b.select(b.fcmp_ordered(">=", x, top), high, b.fptosi(x, t))
        wide = b.fptosi(x, self.i32 if int(dst[1:]) <= 16 or dst == "i32" else self.i64)
        return wide if wide.type == t else b.trunc(wide, t)

    def operand(self, op: Op, i: int, dtype: str):  # noqa: ANN201
        v = op.operands[i]
        return self.convert(self.get(v), _dtype(v), dtype)

    def set(self, op: Op, val) -> None:  # noqa: ANN001
        self.vals[op.result] = val

    # ---- dispatch ------------------------------------------------------------------------
    def op(self, op: Op) -> None:
        n = op.name
        if n in BINARY:
            self.set(op, self.binary(op))
        elif n in COMPARE:
            self.set(op, self.compare(op))
        elif n in UNARY:
            self.set(op, self.unary(op))
        else:
            getattr(self, "op_" + n[3:])(op)

    def op_const(self, op: Op) -> None:
        self.set(op, self.const(_dtype(op.result), op.attrs["value"]))

    def op_cast(self, op: Op) -> None:
        self.set(op, self.operand(op, 0, op.attrs["dtype"]))

    def op_copy(self, op: Op) -> None:
        self.set(op, self.operand(op, 0, _dtype(op.result)))

    def op_dim(self, op: Op) -> None:
        _, shape, _ = self.arrays[self.plan.root(op.operands[0])]
        axis = op.attrs["axis"]
        self.set(op, self.convert(shape[axis], "i64", _dtype(op.result)))

    def op_size(self, op: Op) -> None:
        _, shape, _ = self.arrays[self.plan.root(op.operands[0])]
        acc = self.ir.Constant(self.i64, 1)
        for s in shape:
            acc = self.b.mul(acc, s)
        self.set(op, self.convert(acc, "i64", _dtype(op.result)))

    def op_where(self, op: Op) -> None:
        d = _dtype(op.result)
        c = self.operand(op, 0, "bool")
        self.set(op, self.b.select(c, self.operand(op, 1, d), self.operand(op, 2, d)))

    def op_clip(self, op: Op) -> None:
        d = _dtype(op.result)
        x, lo, hi = (self.operand(op, i, d) for i in range(3))
        # bounds first: NumPy's clip keeps x when it equals a bound (clip(-0.0, 0.0, 1.0) is -0.0)
        self.set(op, self.minmax(hi, self.minmax(lo, x, d, True), d, False))

    # ---- arithmetic --------------------------------------------------------------------
    def minmax(self, a, c, d: str, is_max: bool):  # noqa: ANN001, ANN201
        b = self.b
        if d[0] == "f":
            # strict, as NumPy's: of two equal values the second (maximum(0.0, -0.0) is -0.0)
            keep = b.fcmp_ordered(">" if is_max else "<", a, c)
            keep = b.or_(keep, b.fcmp_unordered("uno", a, a))
        elif d == "bool" or d[0] == "u":
            keep = b.icmp_unsigned(">=" if is_max else "<=", a, c)
        else:
            keep = b.icmp_signed(">=" if is_max else "<=", a, c)
        return b.select(keep, a, c)

    def binary(self, op: Op):  # noqa: ANN201
        n = op.name
        d = _dtype(op.result)
        b, ir = self.b, self.ir
        if n in ("mc.logical_and", "mc.logical_or", "mc.and", "mc.or"):
            x, y = self.operand(op, 0, "bool"), self.operand(op, 1, "bool")
            r = b.and_(x, y) if n in ("mc.logical_and", "mc.and") else b.or_(x, y)
            return self.convert(r, "bool", d)
        x, y = self.operand(op, 0, d), self.operand(op, 1, d)
        if n in ("mc.maximum", "mc.minimum"):
            return self.minmax(x, y, d, n == "mc.maximum")
        if d == "bool":
            if n in ("mc.add", "mc.bitor", "mc.maximum"):
                return b.or_(x, y)
            if n in ("mc.mul", "mc.bitand", "mc.minimum"):
                return b.and_(x, y)
            if n == "mc.bitxor":
                return b.xor(x, y)
            raise LoweringError(f"{n} on bool")
        if d[0] == "f":
            flags = ("reassoc",) if op in self.reassoc else ()
            if n == "mc.add":
                return b.fadd(x, y, flags=flags)
            if n == "mc.sub":
                return b.fsub(x, y, flags=flags)
            if n == "mc.mul":
                return b.fmul(x, y)
            if n == "mc.div":
                return b.fdiv(x, y)
            if n == "mc.pow":
                return b.call(self.intrinsic("llvm.pow", d, 2), [x, y])
            if n == "mc.arctan2":
                return b.call(self.libm("atan2", d, 2), [x, y])
            if n in ("mc.floordiv", "mc.mod"):
                return self.float_divmod(x, y, d, n == "mc.floordiv")
            raise LoweringError(f"{n} on {d}")
        signed = d[0] == "i"
        bits = int(d[1:])
        t = x.type
        zero = ir.Constant(t, 0)
        if n == "mc.add":
            return b.add(x, y)
        if n == "mc.sub":
            return b.sub(x, y)
        if n == "mc.mul":
            return b.mul(x, y)
        if n == "mc.bitand":
            return b.and_(x, y)
        if n == "mc.bitor":
            return b.or_(x, y)
        if n == "mc.bitxor":
            return b.xor(x, y)
        if n in ("mc.shl", "mc.shr"):
            in_range = b.icmp_unsigned("<", y, ir.Constant(t, bits))
            safe = b.select(in_range, y, zero)
            if n == "mc.shl":
                return b.select(in_range, b.shl(x, safe), zero)
            if not signed:
                return b.select(in_range, b.lshr(x, safe), zero)
            return b.select(in_range, b.ashr(x, safe), b.ashr(x, ir.Constant(t, bits - 1)))
        if n in ("mc.floordiv", "mc.mod"):
            return self.int_divmod(x, y, d, n == "mc.floordiv")
        if n == "mc.pow":
            return self.int_pow(x, y, signed)
        raise LoweringError(f"{n} on {d}")

    def int_pow(self, x, y, signed: bool):  # noqa: ANN001, ANN201
        """NumPy's integer `x ** y` by squaring, wrapping in the dtype as NumPy's does; a
        negative signed exponent is NumPy's ValueError (status 3). Without it a block with
        an integer power (`(b % 7) ** 3` in a scalar loop) failed to lower and fell back."""
        ir, t = self.ir, x.type
        zero, one = ir.Constant(t, 0), ir.Constant(t, 1)
        if signed:
            self.fail_if(self.b.icmp_signed("<", y, zero), 3)
        b = self.b
        pre = b.block
        head = self.fn.append_basic_block("pow_head")
        body = self.fn.append_basic_block("pow_body")
        done = self.fn.append_basic_block("pow_done")
        b.branch(head)
        b.position_at_end(head)
        r, base, e = b.phi(t), b.phi(t), b.phi(t)
        r.add_incoming(one, pre)
        base.add_incoming(x, pre)
        e.add_incoming(y, pre)
        b.cbranch(b.icmp_unsigned("!=", e, zero), body, done)
        b.position_at_end(body)
        odd = b.icmp_unsigned("!=", b.and_(e, one), zero)
        r.add_incoming(b.select(odd, b.mul(r, base), r), body)
        base.add_incoming(b.mul(base, base), body)
        e.add_incoming(b.lshr(e, one), body)
        b.branch(head)
        b.position_at_end(done)
        return r

    def int_divmod(self, x, y, d: str, want_div: bool):  # noqa: ANN001, ANN201
        b, ir = self.b, self.ir
        t = x.type
        zero, one = ir.Constant(t, 0), ir.Constant(t, 1)
        is_zero = b.icmp_unsigned("==", y, zero)
        if d[0] == "u":
            safe = b.select(is_zero, one, y)
            r = b.udiv(x, safe) if want_div else b.urem(x, safe)
            return b.select(is_zero, zero, r)
        minus1 = ir.Constant(t, -1)
        is_m1 = b.icmp_signed("==", y, minus1)
        bad = b.or_(is_zero, is_m1)
        safe = b.select(bad, one, y)
        q = b.sdiv(x, safe)
        r = b.srem(x, safe)
        adjust = b.and_(b.icmp_signed("!=", r, zero),
                        b.icmp_signed("!=", b.icmp_signed("<", r, zero), b.icmp_signed("<", y, zero)))
        if want_div:
            q = b.select(adjust, b.sub(q, one), q)
            return b.select(is_zero, zero, b.select(is_m1, b.sub(zero, x), q))
        r = b.select(adjust, b.add(r, y), r)
        return b.select(bad, zero, r)

    def float_divmod(self, x, y, d: str, want_div: bool):  # noqa: ANN001, ANN201
        """npy_divmod / npy_floor_divide for floats (Python's semantics)."""
        b, ir = self.b, self.ir
        t = x.type
        zero = ir.Constant(t, 0.0)
        mod = b.frem(x, y)
        y_zero = b.fcmp_ordered("==", y, zero)
        mod_nz = b.fcmp_unordered("!=", mod, zero)
        sign_diff = b.icmp_unsigned("!=", b.fcmp_ordered("<", y, zero), b.fcmp_ordered("<", mod, zero))
        adjust = b.and_(mod_nz, sign_diff)
        copysign = self.intrinsic("llvm.copysign", d, 2)
        if not want_div:
            m = b.select(adjust, b.fadd(mod, y), b.select(mod_nz, mod, b.call(copysign, [zero, y])))
            return b.select(y_zero, mod, m)
        div = b.fdiv(b.fsub(x, mod), y)
        div = b.select(adjust, b.fsub(div, ir.Constant(t, 1.0)), div)
        floordiv = b.call(self.intrinsic("llvm.floor", d), [div])
        bump = b.fcmp_ordered(">", b.fsub(div, floordiv), ir.Constant(t, 0.5))
        floordiv = b.select(bump, b.fadd(floordiv, ir.Constant(t, 1.0)), floordiv)
        div_nz = b.fcmp_unordered("!=", div, zero)
        res = b.select(div_nz, floordiv, b.call(copysign, [zero, b.fdiv(x, y)]))
        return b.select(y_zero, b.fdiv(x, y), res)

    def common_dtype(self, a: Value, c: Value) -> str:
        from mcodec.compiler.types import probe_dtype

        r = probe_dtype(np.add, a.type, c.type)
        if r is None:
            raise LoweringError(f"no common dtype for {a.type} and {c.type}")
        return r.dtype if isinstance(r, ScalarType) else r

    def compare(self, op: Op):  # noqa: ANN201
        a, c = op.operands
        d = self.common_dtype(a, c)
        if d == "f64" and mixed_sign_u64(_dtype(a), _dtype(c)):
            return self.convert(self.compare_mixed_sign(op), "bool", _dtype(op.result))
        x, y = self.operand(op, 0, d), self.operand(op, 1, d)
        pred = COMPARE[op.name]
        if d[0] == "f":
            r = self.b.fcmp_unordered(pred, x, y) if pred == "!=" else self.b.fcmp_ordered(pred, x, y)
        elif d == "bool" or d[0] == "u":
            r = self.b.icmp_unsigned(pred, x, y)
        else:
            r = self.b.icmp_signed(pred, x, y)
        return self.convert(r, "bool", _dtype(op.result))

    def compare_mixed_sign(self, op: Op):  # noqa: ANN201
        """A u64 against a signed integer, exactly as NumPy (not through their common f64):
        a negative signed side decides alone, otherwise both compare as u64."""
        b, ir = self.b, self.ir
        pred = COMPARE[op.name]
        signed_left = _dtype(op.operands[0])[0] == "i"
        s = self.operand(op, 0 if signed_left else 1, "i64")
        x = self.operand(op, 0, "i64" if signed_left else "u64")
        y = self.operand(op, 1, "u64" if signed_left else "i64")
        when_neg = negative_signed_answer(op.name, signed_left)
        neg = b.icmp_signed("<", s, ir.Constant(s.type, 0))
        return b.select(neg, ir.Constant(self.i1, int(when_neg)), b.icmp_unsigned(pred, x, y))

    def unary(self, op: Op):  # noqa: ANN201
        n = op.name[3:]
        d = _dtype(op.result)
        b, ir = self.b, self.ir
        src = _dtype(op.operands[0])
        if n in ("isnan", "isinf"):
            x = self.get(op.operands[0])
            if src[0] != "f":
                return self.convert(ir.Constant(self.i1, 0), "bool", d)
            if n == "isnan":
                return self.convert(b.fcmp_unordered("uno", x, x), "bool", d)
            ax = b.call(self.intrinsic("llvm.fabs", src), [x])
            return self.convert(b.fcmp_ordered("==", ax, ir.Constant(x.type, float("inf"))), "bool", d)
        if n in ("logical_not", "not"):
            return self.convert(b.not_(self.operand(op, 0, "bool")), "bool", d)
        x = self.operand(op, 0, d)
        if n == "pos":
            return x
        if n == "neg":
            return b.fneg(x) if d[0] == "f" else (b.not_(x) if d == "bool" else b.neg(x))
        if n == "invert":
            return b.not_(x)
        if n == "abs":
            if d[0] == "f":
                return b.call(self.intrinsic("llvm.fabs", d), [x])
            if d[0] == "u" or d == "bool":
                return x
            return b.select(b.icmp_signed("<", x, ir.Constant(x.type, 0)), b.neg(x), x)
        if n == "sign":
            if d[0] == "f":
                zero = ir.Constant(x.type, 0.0)
                # NumPy's sign(-0.0) is 0.0 (and NaN stays NaN): a zero of either sign gives +0.0
                x0 = b.select(b.fcmp_ordered("==", x, zero), zero, x)
                pos = b.select(b.fcmp_ordered(">", x, zero), ir.Constant(x.type, 1.0), x0)
                return b.select(b.fcmp_ordered("<", x, zero), ir.Constant(x.type, -1.0), pos)
            zero = ir.Constant(x.type, 0)
            gt = b.zext(b.icmp_signed(">", x, zero) if d[0] == "i" else b.icmp_unsigned(">", x, zero), x.type)
            if d[0] == "u" or d == "bool":
                return gt
            return b.sub(gt, b.zext(b.icmp_signed("<", x, zero), x.type))
        if d[0] != "f":
            if n in ("floor", "ceil", "round"):
                return x
            raise LoweringError(f"{n} on {d}")
        if n in INTRINSIC_UNARY:
            return b.call(self.intrinsic(INTRINSIC_UNARY[n], d), [x])
        if n in LIBM_UNARY:
            return b.call(self.libm(LIBM_UNARY[n], d), [x])
        raise LoweringError(f"unary {n}")

    def fail_if(self, cond: Any, status: int) -> None:
        """Return `status` (see STATUS_ERRORS) when `cond` holds; go on otherwise."""
        blk = self.fail_blocks.get(status)
        if blk is None:
            blk = self.fail_blocks[status] = self.fn.append_basic_block(f"fail{status}")
            self.ir.IRBuilder(blk).ret(self.ir.Constant(self.i32, status))
        ok = self.fn.append_basic_block("ok")
        self.b.cbranch(cond, blk, ok)
        self.b.position_at_end(ok)

    # ---- memory ------------------------------------------------------------------------
    def address(self, op: Op):  # noqa: ANN201
        b, ir = self.b, self.ir
        data, shape, strides = self.arrays[self.plan.root(op.operands[0])]
        offset = None
        for k, it in enumerate(op.attrs["index"]):
            ref = it[1]
            if isinstance(ref, tuple):
                v = op.operands[ref[1]]
                i = self.convert(self.get(v), _dtype(v), "i64")
                if op in self.unchecked and _dtype(v) == "u64":  # (2**63 and above are not negative)
                    self.fail_if(b.icmp_unsigned(">=", i, shape[k]), 1)
                elif op in self.unchecked:  # NumPy's IndexError outside [-n, n)
                    self.fail_if(b.or_(b.icmp_signed("<", i, b.neg(shape[k])), b.icmp_signed(">=", i, shape[k])), 1)
                if _dtype(v)[0] == "i" and not non_negative(v):
                    i = b.select(b.icmp_signed("<", i, ir.Constant(self.i64, 0)), b.add(i, shape[k]), i)
            else:
                c = int(ref)
                if op in self.unchecked:
                    self.fail_if(b.icmp_signed("<=", shape[k], ir.Constant(self.i64, c if c >= 0 else -c - 1)), 1)
                i = ir.Constant(self.i64, c) if c >= 0 else b.add(shape[k], ir.Constant(self.i64, c))
            term = b.mul(i, strides[k])
            offset = term if offset is None else b.add(offset, term)
        p = data if offset is None else b.gep(data, [offset], inbounds=True)
        return b.bitcast(p, ir.PointerType(self.mem_ty(_dtype(op.operands[0]))))

    def op_getitem(self, op: Op) -> None:
        d = _dtype(op.result)
        arr_d = _dtype(op.operands[0])
        val = self.grouped(op, self.b.load(self.address(op), align=self.align(arr_d)))
        if arr_d == "bool":
            val = self.b.icmp_unsigned("!=", val, self.ir.Constant(self.i8, 0))
        self.set(op, self.convert(val, arr_d, d))

    def align(self, dtype: str) -> int:
        return 1 if dtype == "bool" else np.dtype(NUMPY_NAME[dtype]).itemsize

    def op_setitem(self, op: Op) -> None:
        arr_d = _dtype(op.operands[0])
        val = self.operand(op, len(op.operands) - 1, arr_d)
        if arr_d == "bool":
            val = self.b.zext(val, self.i8)
        self.grouped(op, self.b.store(val, self.address(op), align=self.align(arr_d)))

    def grouped(self, op: Op, instr: Any) -> Any:
        group = self.access_group.get(op)
        if group is not None:
            instr.set_metadata("llvm.access.group", group)
        return instr

    # ---- control flow ---------------------------------------------------------------------
    def region_ops(self, region: Region) -> None:
        """Emit a region's ops; its terminator (or falling off the end) branches away."""
        for op in region.ops:
            if op.name in ("mc.yield", "mc.break", "mc.continue", "mc.condition"):
                self.terminator(op)
                return
            self.op(op)
            if self.b.block.is_terminated:
                return
        # no terminator: falls through to the continuation of the innermost yield scope
        self.b.branch(self.yield_stack[-1][1])

    def terminator(self, op: Op) -> None:
        if op.name == "mc.yield":
            targets, cont = self.yield_stack[-1]
            self.assign(targets, op.operands)
            self.b.branch(cont)
        elif op.name in ("mc.break", "mc.continue"):
            targets, cont, exit_ = self.loop_stack[-1]
            self.assign(targets, op.operands)
            self.b.branch(exit_ if op.name == "mc.break" else cont)
        else:  # mc.condition in a while's cond region
            targets, body, exit_ = self.cond_target
            self.b.cbranch(self.operand(op, 0, "bool"), body, exit_)

    def alias_results(self, op: Op, targets: list[Value]) -> None:
        for r, t in zip(op.results, targets):
            if not r.is_array:
                self.slots[r] = self.slot(t)

    def op_for(self, op: Op) -> None:
        b, ir = self.b, self.ir
        body_r = op.regions[0]
        lb, ub, st = (self.operand(op, i, "i64") for i in range(3))
        if not _step_nonzero(self.ranges, op.operands[2]):  # Python's range raises for a step of 0
            self.fail_if(b.icmp_signed("==", st, ir.Constant(self.i64, 0)), 2)
        iv_v, carried = body_r.args[0], body_r.args[1:]
        self.assign(carried, op.operands[3:])
        iv_slot = self.slot(iv_v)
        step_c = const_value(op.operands[2])
        trips = self.trip_count(lb, ub, st, None if step_c is None else int(step_c))
        k_slot = self.alloca_builder.alloca(self.i64)
        b.store(ir.Constant(self.i64, 0), k_slot)
        head = self.fn.append_basic_block("for.head")
        body = self.fn.append_basic_block("for.body")
        latch = self.fn.append_basic_block("for.latch")
        exit_ = self.fn.append_basic_block("for.exit")
        b.branch(head)
        b.position_at_end(head)
        # counted by Python's trip count, not by comparing the variable with the stop:
        # start + k * step past the last value may overflow (range(0, 2**63 - 1, 2**62)
        # looped forever). The variable stays between its bounds, so no signed wrap
        # there: LLVM may widen and vectorize, and knows an index from 0 is not negative
        k = b.load(k_slot)
        b.cbranch(b.icmp_unsigned("<", k, trips), body, exit_)
        b.position_at_end(body)
        b.store(b.add(lb, b.mul(k, st, flags=("nsw",)), flags=("nsw",)), iv_slot)
        self.yield_stack.append((list(carried), latch))
        self.loop_stack.append((list(carried), latch, exit_))
        self.region_ops(body_r)
        self.yield_stack.pop()
        self.loop_stack.pop()
        b.position_at_end(latch)
        b.store(b.add(b.load(k_slot), ir.Constant(self.i64, 1), flags=("nuw",)), k_slot)
        backedge = b.branch(head)
        if op in self.loop_md:
            backedge.set_metadata("llvm.loop", self.loop_md[op])
        b.position_at_end(exit_)
        self.alias_results(op, list(carried))

    def trip_count(self, lb, ub, st, step: int | None):  # noqa: ANN001, ANN201
        """len(range(lb, ub, st)) as an unsigned i64 (up to 2**64 - 1): the distance in
        unsigned arithmetic (it may not fit a signed one), divided by the step's size.
        A zero step counts no iteration (`op_for` has already returned status 2 for it)."""
        b, ir = self.b, self.ir
        zero, one = ir.Constant(self.i64, 0), ir.Constant(self.i64, 1)

        def count(lo, hi, size):  # noqa: ANN001, ANN202 - iterations from lo up to hi
            dist = b.sub(hi, lo)
            if step is not None and abs(step) == 1:
                n = dist
            else:
                n = b.add(b.udiv(b.sub(dist, one), size), one)
            return b.select(b.icmp_signed("<", lo, hi), n, zero)

        if step is not None and step > 0:
            return count(lb, ub, st)
        if step is not None and step < 0:
            return count(ub, lb, b.sub(zero, st))
        up = count(lb, ub, b.select(b.icmp_signed(">", st, zero), st, one))
        down = count(ub, lb, b.select(b.icmp_signed("<", st, zero), b.sub(zero, st), one))
        return b.select(b.icmp_signed(">", st, zero), up, b.select(b.icmp_signed("<", st, zero), down, zero))

    def op_while(self, op: Op) -> None:
        b = self.b
        cond_r, body_r = op.regions
        targets = list(cond_r.args)
        self.assign(targets, op.operands)
        for a, t in zip(body_r.args, targets):
            if not a.is_array:
                self.slots[a] = self.slot(t)
        head = self.fn.append_basic_block("while.cond")
        body = self.fn.append_basic_block("while.body")
        exit_ = self.fn.append_basic_block("while.exit")
        b.branch(head)
        b.position_at_end(head)
        saved = getattr(self, "cond_target", None)
        self.cond_target = (targets, body, exit_)
        self.yield_stack.append((targets, body))
        self.loop_stack.append((targets, head, exit_))
        self.region_ops(cond_r)
        self.yield_stack.pop()
        b.position_at_end(body)
        self.yield_stack.append((targets, head))
        self.region_ops(body_r)
        self.yield_stack.pop()
        self.loop_stack.pop()
        self.cond_target = saved
        b.position_at_end(exit_)
        self.alias_results(op, targets)

    def op_if(self, op: Op) -> None:
        b = self.b
        targets = list(op.results)
        for r in targets:
            if not r.is_array:
                self.slot(r)
        cond = self.operand(op, 0, "bool")
        then = self.fn.append_basic_block("if.then")
        merge = self.fn.append_basic_block("if.end")
        other = self.fn.append_basic_block("if.else") if len(op.regions) > 1 else merge
        b.cbranch(cond, then, other)
        self.yield_stack.append((targets, merge))
        b.position_at_end(then)
        self.region_ops(op.regions[0])
        if len(op.regions) > 1:
            b.position_at_end(other)
            self.region_ops(op.regions[1])
        self.yield_stack.pop()
        b.position_at_end(merge)


def _parallel_loop_metadata(text: str) -> str:
    """Turn the placeholder nodes into what LangRef asks for: an access group is a
    distinct empty node, a loop ID a distinct node naming itself first."""
    by_n = {n: g for g, n in re.findall(r'^(!\d+) = !\{ !"mcodec\.group\.(\d+)" \}$', text, re.M)}
    text = re.sub(r'^(!\d+) = !\{ !"mcodec\.group\.\d+" \}$', r"\1 = distinct !{}", text, flags=re.M)
    return re.sub(r'^(!\d+) = !\{ !"mcodec\.loop\.(\d+)" \}$',
                  lambda m: f'{m.group(1)} = distinct !{{{m.group(1)}, !{{!"llvm.loop.parallel_accesses", '
                            f'{by_n[m.group(2)]}}}}}', text, flags=re.M)


# ---- compile, link, load -------------------------------------------------------------------
_INITIALIZED = False


def _target_machine(level: int):  # noqa: ANN202
    global _INITIALIZED
    import llvmlite.binding as llvm

    if not _INITIALIZED:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _INITIALIZED = True
    target = llvm.Target.from_default_triple()
    features = llvm.get_host_cpu_features().flatten()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=features, opt=level,
                                        reloc="pic", codemodel="default")


def compile_object(ir_text: str, jit_level: int) -> bytes:
    import llvmlite.binding as llvm

    level = 3 if jit_level >= 2 else 2
    tm = _target_machine(level)
    try:
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
    except RuntimeError as e:
        raise LoweringError(f"LLVM rejected the generated IR: {e}") from e
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    if hasattr(llvm, "create_pass_builder"):  # llvmlite >= 0.44: the new pass manager
        pto = llvm.create_pipeline_tuning_options(speed_level=level)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pto.loop_unrolling = True
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
    else:  # older llvmlite: the legacy pass manager builder
        pmb = llvm.create_pass_manager_builder()
        pmb.opt_level = level
        pmb.loop_vectorize = True
        pmb.slp_vectorize = True
        pm = llvm.create_module_pass_manager()
        tm.add_analysis_passes(pm)
        pmb.populate(pm)
        pm.run(mod)
    return tm.emit_object(mod)


def link_shared(obj: bytes, workdir: Path, stem: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    obj_path = workdir / f"{stem}.o"
    so_path = workdir / f"{stem}.so"
    obj_path.write_bytes(obj)
    try:
        proc = subprocess.run(["cc", "-shared", "-o", str(so_path), str(obj_path), "-lm"],
                              capture_output=True, text=True)
    except OSError as e:
        raise LoweringError(f"cannot run the linker (cc): {e}") from e
    if proc.returncode != 0:
        raise LoweringError(f"linking {so_path.name} failed: {proc.stderr.strip()}")
    return so_path


def _scalar_converter(dtype: str):  # noqa: ANN202
    if dtype == "bool":
        return lambda x: 1 if x else 0
    if dtype[0] == "f":
        return float
    return int


C_NAMES = {"bool": "uint8_t", "i8": "int8_t", "i16": "int16_t", "i32": "int32_t", "i64": "int64_t",
           "u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t", "f32": "float",
           "f64": "double"}


def c_signature(symbol: str, in_specs: list[dict[str, Any]], out_specs: list[dict[str, Any]]) -> str:
    """The block function's C prototype (arrays: data, shape..., byte strides...)."""
    params: list[str] = []
    for k, s in enumerate(in_specs):
        if s["kind"] == "array":
            params.append(f"{C_NAMES[s['dtype']]} *a{k}")
            params += [f"int64_t a{k}_shape{d}" for d in range(s["rank"])]
            params += [f"int64_t a{k}_stride{d}" for d in range(s["rank"])]
        else:
            params.append(f"{C_NAMES[s['dtype']]} s{k}")
    params += [f"{C_NAMES[s['dtype']]} *out{k}" for k, s in enumerate(out_specs) if s["kind"] == "scalar"]
    return f"int32_t {symbol}({', '.join(params) or 'void'});"


def _host_cpu() -> str:
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_name()


def load_built(so_path: str | Path, info: dict[str, Any]):  # noqa: ANN201
    """A callable over the block's live-ins returning its live-outs, from a built library.

    Needs only ctypes and NumPy: `info` is BuiltBlock.info of an LLVM block (JSON-able).
    """
    lib = ctypes.CDLL(str(so_path))
    cfn = getattr(lib, info["symbol"])
    in_specs, out_specs = info["inputs"], info["outputs"]
    argtypes: list[Any] = []
    for s in in_specs:
        if s["kind"] == "array":
            argtypes += [ctypes.c_void_p] + [ctypes.c_int64] * (2 * s["rank"])
        else:
            argtypes.append(getattr(ctypes, CTYPE_NAMES[s["dtype"]]))
    out_ctypes = [getattr(ctypes, CTYPE_NAMES[s["dtype"]]) for s in out_specs if s["kind"] == "scalar"]
    argtypes += [ctypes.c_void_p] * len(out_ctypes)
    cfn.argtypes = argtypes
    cfn.restype = ctypes.c_int32 if info["abi"] != "mcodec-llvm-1" else None  # (1: built before the status)
    convs = [None if s["kind"] == "array" else _scalar_converter(s["dtype"]) for s in in_specs]
    np_dtypes = [np.dtype(NUMPY_NAME[s["dtype"]]) for s in in_specs]
    out_np = [np.dtype(NUMPY_NAME[s["dtype"]]).type if s["kind"] == "scalar" else None for s in out_specs]
    independent = info.get("independent_loops", 0) > 0

    def call(*args: Any) -> tuple:
        cargs: list[Any] = []
        arrays: list[Any] = []
        for s, conv, dt, a in zip(in_specs, convs, np_dtypes, args):
            if conv is None:
                if not isinstance(a, np.ndarray) or a.dtype != dt:
                    a = np.asarray(a, dtype=dt)
                if (s["copy"] or not a.flags.c_contiguous or not a.flags.aligned
                        or (s["written"] and not a.flags.writeable)):
                    a = a.copy()  # C order: the code assumes contiguous strides
                cargs.append(a.ctypes.data)
                cargs.extend(a.shape)
                cargs.extend(a.strides)
            else:
                cargs.append(conv(a))
            arrays.append(a)
        if independent:
            _separate_read_only(in_specs, arrays, cargs)
        outs = [t() for t in out_ctypes]
        cargs.extend(ctypes.addressof(o) for o in outs)
        status = cfn(*cargs)
        if status:
            error, message = STATUS_ERRORS[status]
            raise error(message)
        res: list[Any] = []
        k = 0
        for s, t in zip(out_specs, out_np):
            if t is None:
                res.append(arrays[s["live_in"]])
            else:
                v = outs[k].value
                k += 1
                res.append(np.bool_(v != 0) if s["dtype"] == "bool" else t(v))
        return tuple(res)

    call.__name__ = info["symbol"]
    return call


def _separate_read_only(in_specs: list[dict[str, Any]], arrays: list[Any], cargs: list[Any]) -> None:
    """A loop declared parallel reorders its loads and stores, so a read-only array that
    shares memory with a written one (nothing the block itself sees) is copied first:
    values, not references, so its copy is what the block is to read anyway."""
    written = [a for s, a in zip(in_specs, arrays) if s["kind"] == "array" and s["written"]]
    if not written:
        return
    k = 0
    for j, (s, a) in enumerate(zip(in_specs, arrays)):
        if s["kind"] == "array" and not s["written"] and any(np.may_share_memory(a, w) for w in written):
            arrays[j] = a = a.copy()
            cargs[k] = a.ctypes.data
        k += 1 + 2 * s["rank"] if s["kind"] == "array" else 1


class LLVMBackend:
    name = "llvm"

    def load_built_block(self, root: Path, view: BlockView, entry: dict[str, Any],
                         strategy: OptimizationStrategy) -> BuiltBlock:
        """Reload a stored block from its shared library: ctypes only, nothing compiled."""
        so = next(f for f in entry["files"] if f.endswith(".so"))
        return BuiltBlock(view.id, strategy.strategy_id, load_built(Path(root) / so, entry["info"]),
                          info=dict(entry["info"]))

    def can_lower(self, block: BlockView, strategy: OptimizationStrategy) -> tuple[bool, str]:
        if strategy.backend != "llvm":
            return False, f"strategy {strategy.strategy_id} is not an llvm strategy"
        try:
            import llvmlite  # noqa: F401
        except ImportError:
            return False, "llvmlite is not installed"
        plan, why = analyze(block)
        return (plan is not None), why

    def lower(self, block: BlockView, strategy: OptimizationStrategy, workdir: Path | None = None) -> BuiltBlock:
        if workdir is None:  # the library is loaded and its bytes kept, so a scratch dir will do
            with tempfile.TemporaryDirectory(prefix="mcodec-llvm-") as tmp:
                return self.lower(block, strategy, Path(tmp))
        plan, why = analyze(block)
        if plan is None:
            raise LoweringError(f"block {block.id}: {why}")
        try:
            ir_text, in_specs, out_specs = _Codegen(plan, strategy.jit_level >= 2).build()
        except LoweringError:
            raise
        except Exception as e:  # noqa: BLE001 - any codegen failure means "cannot lower"
            raise LoweringError(f"block {block.id}: code generation failed: {e!r}") from e
        digest = hashlib.sha1(ir_text.encode() + strategy.strategy_id.encode()).hexdigest()[:10]
        stem = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', block.id)}.{strategy.strategy_id}.{digest}"
        so_path = Path(workdir) / f"{stem}.so"
        if not so_path.is_file():  # content-addressed: never overwrite a library that may be loaded
            so_path = link_shared(compile_object(ir_text, strategy.jit_level), Path(workdir), stem)
        info = {"symbol": symbol_name(block.id), "inputs": in_specs, "outputs": out_specs,
                "so": f"lib/{block.id}.so", "ll": f"blocks/{block.id}.ll", "abi": "mcodec-llvm-2",
                "c_signature": c_signature(symbol_name(block.id), in_specs, out_specs),
                "target_cpu": _host_cpu(), "jit_level": strategy.jit_level,
                "independent_loops": ir_text.count("llvm.loop.parallel_accesses")}
        try:
            call = load_built(so_path, info)
        except OSError as e:
            raise LoweringError(f"block {block.id}: cannot load {so_path.name}: {e}") from e
        files = {f"blocks/{block.id}.ll": ir_text.encode(), f"lib/{block.id}.so": so_path.read_bytes()}
        return BuiltBlock(block.id, strategy.strategy_id, call, ir_text, files=files,
                          info=dict(info, so_path=str(so_path)))
