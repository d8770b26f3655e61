"""A packed matrix product for CPUs with 512-bit vectors, for compiled Numba blocks.

The BLAS that Numba and NumPy call here (OpenBLAS) may run its AVX2 kernels on an
AVX-512 machine, by its own choice or pinned by OPENBLAS_CORETYPE: half the width the
CPU has. This product is the classic Goto/BLIS scheme written for the host's vectors:

- B is packed into KC x NR slivers and A into MR x KC panels (zero-padded), so the
  inner loop reads both with unit stride from L1 and L2;
- a micro-kernel keeps an MR x NR tile of C in registers (MR x 2 vectors: 28 of the 32
  vector registers) and does MR x 2 fused multiply-adds per step of k, one element of
  A broadcast against two vectors of B. It is written as LLVM vector IR, because
  Numba's loop vectorizer does not keep such a tile in registers;
- threads each take a share of C's rows, or of its columns when C is wider than
  tall: every thread packs all of the other operand, so that one is the smaller.

Products too small to pay for the packing go to BLAS (`NATIVE_MIN_MACS`); so do all
products on CPUs without 512-bit vectors, and all products when MCODEC_NATIVE_GEMM=0.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from mcodec.runtime_shim.hardware import short_openmp_spins
from mcodec.runtime_shim.numba_threads import num_threads
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload


def _host_has_512bit_vectors() -> bool:
    if os.environ.get("MCODEC_NATIVE_GEMM", "1") == "0":
        return False
    from llvmlite import binding

    return bool(binding.get_host_cpu_features().get("avx512f", False))


NATIVE = _host_has_512bit_vectors()
NATIVE_MIN_MACS = 1 << 18  # m * n * k below this (64^3): BLAS, whose fixed cost is lower
THREADS_MIN_MACS = 1 << 22  # below this, one thread: waking the others costs 20-50 us
MR = 14  # rows of a register tile
KC, MC, NC = 256, 168, 3072  # cache blocks: a B sliver (KC x NR) fits L1, an A block L2
PB = 8  # rows of B packed together


def lanes(dtype: Any) -> int:
    """Elements of a Numba float type in one 512-bit vector."""
    return 512 // dtype.bitwidth


@intrinsic
def _tile(typingctx: Any, kc: Any, ap: Any, aoff: Any, bp: Any, boff: Any, c: Any, coff: Any, ldc: Any,
          alpha: Any, beta: Any) -> Any:
    """c[coff + i * ldc + j] = alpha * sum_p ap[aoff + p*MR + i] * bp[boff + p*NR + j]
    (+ beta * c[...] unless beta is 0, when c is not read) for an MR x NR tile."""
    dt = c.dtype
    if dt not in (types.float32, types.float64) or ap.dtype != dt or bp.dtype != dt:
        return None
    sig = types.void(kc, ap, aoff, bp, boff, c, coff, ldc, dt, dt)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        kc_v, ap_v, aoff_v, bp_v, boff_v, c_v, coff_v, ldc_v = args[:8]
        alpha_v, beta_v = args[8:]
        w = lanes(dt)
        nr = 2 * w
        fty = context.get_value_type(dt)
        vty = ir.VectorType(fty, w)
        i64 = ir.IntType(64)

        def k64(x: int) -> Any:
            return ir.Constant(i64, x)

        def base(pos: int, off: Any) -> Any:
            arr = context.make_array(signature.args[pos])(context, builder, args[pos])
            return builder.gep(arr.data, [off])

        def splat(x: Any) -> Any:
            v = builder.insert_element(ir.Constant(vty, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
            return builder.shuffle_vector(v, ir.Constant(vty, ir.Undefined),
                                          ir.Constant(ir.VectorType(ir.IntType(32), w), [0] * w))

        def vec_at(ptr: Any, off: int) -> Any:
            return builder.bitcast(builder.gep(ptr, [k64(off)]), vty.as_pointer())

        a, b, cbase = base(1, aoff_v), base(3, boff_v), base(5, coff_v)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3),
                                             f"llvm.fma.v{w}f{dt.bitwidth}")
        zero = ir.Constant(vty, [0.0] * w)
        # C's tile is read (or written) only after the k loop: ask for its cache lines
        # now, so that the loop hides their latency instead of stalling on them at the end
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                                  "llvm.prefetch.p0")
        for i in range(MR):
            crow = builder.gep(cbase, [builder.mul(ldc_v, k64(i))])
            for off in (0, nr - 1):
                line = builder.bitcast(builder.gep(crow, [k64(off)]), i8p)
                builder.call(prefetch, [line, ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        entry = builder.block
        loop, done = builder.append_basic_block("tile.k"), builder.append_basic_block("tile.store")
        builder.cbranch(builder.icmp_signed(">", kc_v, k64(0)), loop, done)
        # the k loop: the accumulators are phis, so LLVM keeps all of them in registers
        builder.position_at_end(loop)
        p = builder.phi(i64)
        p.add_incoming(k64(0), entry)
        acc = [[builder.phi(vty) for _ in range(2)] for _ in range(MR)]
        for row in acc:
            for x in row:
                x.add_incoming(zero, entry)
        brow = builder.gep(b, [builder.mul(p, k64(nr))])
        bv = [builder.load(vec_at(brow, j * w), align=dt.bitwidth // 8) for j in range(2)]
        arow = builder.gep(a, [builder.mul(p, k64(MR))])
        new = []
        for i in range(MR):
            av = splat(builder.load(builder.gep(arow, [k64(i)])))
            new.append([builder.call(fma, [av, bv[j], acc[i][j]]) for j in range(2)])
        p_next = builder.add(p, k64(1))
        p.add_incoming(p_next, loop)
        for i in range(MR):
            for j in range(2):
                acc[i][j].add_incoming(new[i][j], loop)
        builder.cbranch(builder.icmp_signed("<", p_next, kc_v), loop, done)
        builder.position_at_end(done)
        sums = []
        for i in range(MR):
            row = []
            for j in range(2):
                s = builder.phi(vty)
                s.add_incoming(zero, entry)
                s.add_incoming(new[i][j], loop)
                row.append(s)
            sums.append(row)
        va, vb = splat(alpha_v), splat(beta_v)
        with builder.if_else(builder.fcmp_ordered("==", beta_v, ir.Constant(fty, 0.0))) as (overwrite, update):
            for keep_old in (False, True):
                with update if keep_old else overwrite:
                    for i in range(MR):
                        crow = builder.gep(cbase, [builder.mul(ldc_v, k64(i))])
                        for j in range(2):
                            ptr = vec_at(crow, j * w)
                            val = builder.fmul(va, sums[i][j])
                            if keep_old:
                                val = builder.call(fma, [vb, builder.load(ptr, align=dt.bitwidth // 8), val])
                            builder.store(val, ptr, align=dt.bitwidth // 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _sliver_width(typingctx: Any, c: Any) -> Any:
    """NR, the columns of a register tile (two vectors) for c's dtype, as a constant:
    loops bounded by it are unrolled and vectorized."""
    sig = types.intp(c)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return context.get_constant(types.intp, 2 * lanes(c.dtype))

    return sig, codegen


# Both packings read their source along its rows. Reading down columns (one element
# from each of MR or KC rows, then the next) thrashes the caches when rows are a power
# of two apart (4096 f32: packing took longer than the product).
@njit(nogil=True, inline="always")
def _pack_a(a: Any, ap: Any, i0: int, mc: int, p0: int, kc: int) -> None:
    """a[i0:i0+mc, p0:p0+kc] as MR-row panels, each column of a panel contiguous."""
    for ip in range(0, mc, MR):
        base = (ip // MR) * kc * MR
        h = min(MR, mc - ip)
        for ii in range(MR):
            if ii < h:
                for p in range(kc):
                    ap[base + p * MR + ii] = a[i0 + ip + ii, p0 + p]
            else:
                for p in range(kc):
                    ap[base + p * MR + ii] = 0


@intrinsic
def _copy_sliver_row(typingctx: Any, b: Any, row: Any, col: Any, bp: Any, dst: Any) -> Any:
    """bp[dst:dst+NR] = b[row, col:col+NR] as one vector load and store, for a b whose
    rows are contiguous (checked by the caller). An element loop does not vectorize:
    LLVM cannot tell that bp and b do not overlap."""
    if not (isinstance(b, types.Array) and b.ndim == 2 and bp.dtype == b.dtype):
        return None
    sig = types.void(b, row, col, bp, dst)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        dt = b.dtype
        vty = ir.VectorType(context.get_value_type(dt), 2 * lanes(dt))
        src = context.make_array(b)(context, builder, args[0])
        stride0 = cgutils.unpack_tuple(builder, src.strides, 2)[0]
        offset = builder.add(builder.mul(args[1], stride0), builder.mul(args[2], ir.Constant(args[2].type, dt.bitwidth // 8)))
        sptr = builder.gep(builder.bitcast(src.data, ir.IntType(8).as_pointer()), [offset])
        out = context.make_array(bp)(context, builder, args[3])
        dptr = builder.gep(out.data, [args[4]])
        val = builder.load(builder.bitcast(sptr, vty.as_pointer()), align=dt.bitwidth // 8)
        builder.store(val, builder.bitcast(dptr, vty.as_pointer()), align=dt.bitwidth // 8)
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, inline="always")
def _pack_b(b: Any, bp: Any, p0: int, kc: int, j0: int, nc: int, nr: int) -> None:
    """b[p0:p0+kc, j0:j0+nc] as nr-column slivers, each row of a sliver contiguous.
    PB rows at a time: each sliver then gets PB rows written together, while at most
    PB rows of b are being read."""
    full = nc // nr * nr
    rows_contiguous = b.strides[1] == b.itemsize
    for pb in range(0, kc, PB):
        pe = min(kc, pb + PB)
        for jp in range(0, full, nr):
            dst = (jp // nr) * kc * nr
            for p in range(pb, pe):
                if rows_contiguous:
                    _copy_sliver_row(b, p0 + p, j0 + jp, bp, dst + p * nr)
                else:
                    for jj in range(nr):
                        bp[dst + p * nr + jj] = b[p0 + p, j0 + jp + jj]
        if full < nc:
            dst = (full // nr) * kc * nr
            for p in range(pb, pe):
                for jj in range(nr):
                    bp[dst + p * nr + jj] = b[p0 + p, j0 + full + jj] if full + jj < nc else 0


# _gemm_part and _gemm_threads are cached on disk: compiling them takes seconds, once
# per dtype (the C entry below links them in, and is cached too).
@njit(nogil=True, cache=True)
def _gemm_part(a: Any, b: Any, c: Any, alpha: Any, beta: Any, i0: int, i1: int, j0: int, j1: int) -> None:
    """c[i0:i1, j0:j1] = alpha * a[i0:i1] @ b[:, j0:j1] + beta * c[i0:i1, j0:j1] for a
    row-contiguous c (beta 0: c is not read)."""
    dt = c.dtype
    nr = _sliver_width(c)
    k = a.shape[1]
    ldc = c.strides[0] // c.itemsize
    kmax = min(KC, k)
    ap = np.empty(((MC + MR - 1) // MR) * MR * kmax, dtype=dt)
    bp = np.empty(((min(NC, j1 - j0) + nr - 1) // nr) * nr * kmax, dtype=dt)
    tile = np.empty(MR * nr, dtype=dt)
    zero = dt.type(0)
    for jc in range(j0, j1, NC):
        nc = min(NC, j1 - jc)
        for pc in range(0, k, KC):
            kc = min(KC, k - pc)
            be = beta if pc == 0 else dt.type(1)
            _pack_b(b, bp, pc, kc, jc, nc, nr)
            for ic in range(i0, i1, MC):
                mc = min(MC, i1 - ic)
                _pack_a(a, ap, ic, mc, pc, kc)
                for jp in range(0, nc, nr):
                    w = min(nr, nc - jp)
                    for ip in range(0, mc, MR):
                        h = min(MR, mc - ip)
                        aoff, boff = (ip // MR) * kc * MR, (jp // nr) * kc * nr
                        if h == MR and w == nr:
                            _tile(kc, ap, aoff, bp, boff, c, (ic + ip) * ldc + jc + jp, ldc, alpha, be)
                        else:  # an edge tile: computed whole into `tile`, its valid part kept
                            _tile(kc, ap, aoff, bp, boff, tile, 0, nr, alpha, zero)
                            for ii in range(h):
                                for jj in range(w):
                                    old = c[ic + ip + ii, jc + jp + jj] if be != 0 else zero
                                    c[ic + ip + ii, jc + jp + jj] = tile[ii * nr + jj] + be * old


# `nt` is an argument because Numba does not cache a function that reads
# get_num_threads() itself.
@njit(nogil=True, parallel=True, cache=True)
def _gemm_threads(a: Any, b: Any, c: Any, alpha: Any, beta: Any, nt: int) -> None:
    m, n = c.shape
    by_rows = m >= n  # each thread packs all of the other operand: the smaller one
    extent = m if by_rows else n
    quantum = MR if by_rows else _sliver_width(c)
    chunk = ((extent + nt - 1) // nt + quantum - 1) // quantum * quantum
    parts = (extent + chunk - 1) // chunk
    for t in prange(parts):
        lo, hi = t * chunk, min(extent, (t + 1) * chunk)
        if by_rows:
            _gemm_part(a, b, c, alpha, beta, lo, hi, 0, n)
        else:
            _gemm_part(a, b, c, alpha, beta, 0, m, lo, hi)


@intrinsic
def _strided(typingctx: Any, ptr: Any, rows: Any, cols: Any, s0: Any, s1: Any) -> Any:
    """A 2-D array view of `rows x cols` elements at `ptr` with byte strides s0, s1."""
    arr_t = types.Array(ptr.dtype, 2, "A")

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from numba.np.arrayobj import populate_array

        data, rows, cols, s0, s1 = args
        ary = context.make_array(arr_t)(context, builder)
        itemsize = context.get_constant(types.intp, context.get_abi_sizeof(context.get_data_type(arr_t.dtype)))
        populate_array(ary, data=data, shape=cgutils.pack_array(builder, [rows, cols]),
                       strides=cgutils.pack_array(builder, [s0, s1]), itemsize=itemsize, meminfo=None)
        return ary._getvalue()

    return arr_t(ptr, rows, cols, s0, s1), codegen


def _c_entry(m: int, n: int, k: int, ap: Any, as0: int, as1: int, bp: Any, bs0: int, bs1: int,
             cp: Any, cs0: int, cs1: int, alpha: Any, beta: Any, nt: int) -> int:
    """The product behind a C symbol (see `require`): operands as pointers and byte
    strides. Returns 1: an exception cannot leave a C callback (Numba reports it and
    returns 0), and the caller then takes BLAS."""
    a, b, c = _strided(ap, m, k, as0, as1), _strided(bp, k, n, bs0, bs1), _strided(cp, m, n, cs0, cs1)
    if nt > 1 and m * n * k >= THREADS_MIN_MACS:
        _gemm_threads(a, b, c, alpha, beta, nt)
    else:
        _gemm_part(a, b, c, alpha, beta, 0, m, 0, n)
    return 1


# Blocks call the product through a C symbol per dtype rather than as a Numba function:
# Numba links a callee's code into every caller and optimizes and compiles it again
# there (4-5 s per block); the C entry is compiled once per machine (Numba's on-disk
# cache) and a block only declares the symbol, so its own cached code is valid in
# another process once `require` has registered the symbol there.
_ENTRIES: dict[str, Any] = {}


def symbol(dtype: Any) -> str:
    return f"mcodec_native_gemm_{np.dtype(str(dtype)).name}"


def require(dtype: Any) -> None:
    """Make the product's C symbol for `dtype` (float32 or float64) known to LLVM,
    compiling it on first use on this machine. Loading a compiled block that calls it
    needs this first."""
    name = symbol(dtype)
    if not NATIVE or name in _ENTRIES:
        return
    from llvmlite import binding
    from numba import cfunc, from_dtype

    dt = from_dtype(np.dtype(str(dtype)))
    ptr, i = types.CPointer(dt), types.intp
    sig = types.int32(i, i, i, ptr, i, i, ptr, i, i, ptr, i, i, dt, dt, i)
    short_openmp_spins()  # before the threading layer loads, in a block that is not parallel itself
    get_num_threads()  # starts Numba's threading layer, whose symbols the cached code calls
    entry = cfunc(sig, cache=True, nogil=True)(_c_entry)
    binding.add_symbol(name, entry.address)
    _ENTRIES[name] = entry  # kept alive: the symbol points into its code


@intrinsic
def _call_entry(typingctx: Any, a: Any, b: Any, c: Any, alpha: Any, beta: Any, nt: Any) -> Any:
    dt = c.dtype
    sig = types.int32(a, b, c, dt, dt, types.intp)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        intp = cgutils.intp_t
        ll_ptr = context.get_value_type(dt).as_pointer()
        fnty = ir.FunctionType(ir.IntType(32), [intp] * 3 + [ll_ptr, intp, intp] * 3
                               + [context.get_value_type(dt)] * 2 + [intp])
        fn = cgutils.get_or_insert_function(builder.module, fnty, symbol(dt))
        arrs = [context.make_array(t)(context, builder, v) for t, v in zip(signature.args[:3], args[:3])]
        (m, k), (_, n) = (cgutils.unpack_tuple(builder, x.shape, 2) for x in arrs[:2])
        operands = []
        for x in arrs:
            operands += [builder.bitcast(x.data, ll_ptr), *cgutils.unpack_tuple(builder, x.strides, 2)]
        return builder.call(fn, [m, n, k, *operands, *args[3:]])

    return sig, codegen


def try_gemm(a: Any, b: Any, c: Any, alpha: Any, beta: Any) -> bool:
    """c = alpha * (a @ b) + beta * c by the packed product, for 2-D a and b of any
    layout and a 2-D c, when it takes it (float32 or float64, c row-contiguous, large
    enough, a host with 512-bit vectors); False, with nothing written, otherwise."""
    raise NotImplementedError("called from compiled code only")


@overload(try_gemm, jit_options={"nogil": True})
def _try_gemm(a: Any, b: Any, c: Any, alpha: Any, beta: Any) -> Any:
    def declined(a: Any, b: Any, c: Any, alpha: Any, beta: Any) -> bool:
        return False

    if not (NATIVE and c.ndim == 2 and c.dtype in (types.float32, types.float64)):
        return declined
    require(str(c.dtype))

    def impl(a: Any, b: Any, c: Any, alpha: Any, beta: Any) -> bool:
        m, n, k = a.shape[0], b.shape[1], a.shape[1]
        if m * n * k < NATIVE_MIN_MACS or min(m, n) < MR or c.strides[1] != c.itemsize:
            return False
        return _call_entry(a, b, c, c.dtype.type(alpha), c.dtype.type(beta), num_threads()) == 1

    return impl
