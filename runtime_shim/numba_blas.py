"""BLAS matrix products that accumulate into an existing array, for compiled Numba
blocks: `c = alpha * (a @ b) + beta * c` as one GEMM call (Numba's `np.dot` always
writes a fresh product with beta = 0, so `C += A @ B` costs a temporary as large as C
and another pass over both).

The call goes to Numba's own `numba_xxgemm` helper by symbol name (as Numba's
`np.dot` does), so compiled blocks stay valid in Numba's on-disk cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mcodec.runtime_shim.native_gemm import try_gemm
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas, get_blas_kind

ensure_blas()


@intrinsic
def _gemm_c(typingctx: Any, a: Any, b: Any, c: Any, alpha: Any, beta: Any) -> Any:
    """GEMM on C-contiguous arrays (checked by the caller) of one float dtype: a and b
    2-D, c of any rank holding the (a.shape[0], b.shape[1]) product in C order."""
    if not all(isinstance(t, types.Array) and t.dtype == c.dtype for t in (a, b, c)) or a.ndim != 2 or b.ndim != 2:
        return None
    sig = types.void(a, b, c, alpha, beta)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        ll_char = ir.IntType(8)
        ll_void_p = ll_char.as_pointer()
        intp = cgutils.intp_t
        fnty = ir.FunctionType(ir.IntType(32), [ll_char, ll_char, ll_char, intp, intp, intp, ll_void_p,
                                                ll_void_p, intp, ll_void_p, intp, ll_void_p, ll_void_p, intp])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        arrs = [context.make_array(t)(context, builder, v) for t, v in zip(signature.args[:3], args[:3])]
        (m, k), (_, n) = (cgutils.unpack_tuple(builder, x.shape, 2) for x in arrs[:2])
        dt = signature.args[2].dtype
        slots = [cgutils.alloca_once_value(builder, context.cast(builder, v, t, dt))
                 for v, t in zip(args[3:], signature.args[3:])]
        notrans = ir.Constant(ll_char, ord("n"))
        kind = ir.Constant(ll_char, ord(get_blas_kind(dt)))
        data = [builder.bitcast(x.data, ll_void_p) for x in arrs]
        # row-major C = A @ B is column-major C^T = B^T @ A^T: no transposes, ld = row length
        builder.call(fn, (kind, notrans, notrans, n, m, k, builder.bitcast(slots[0], ll_void_p),
                          data[1], n, data[0], k, builder.bitcast(slots[1], ll_void_p), data[2], n))
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, cache=False)
def matmul_acc(a: Any, b: Any, c: Any, alpha: Any, beta: Any) -> None:
    """c = alpha * (a @ b) + beta * c, in place (c of shape (a.shape[0], b.shape[1]))."""
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0 or not c.flags.c_contiguous:
        # element loops, not `c[:, :] = ...`: Numba's slice store compiles a formatted
        # shape-mismatch error (seconds, in every block that calls this)
        p = a @ b if k else np.zeros((m, n), dtype=c.dtype)
        for i in range(m):
            for j in range(n):
                c[i, j] = alpha * p[i, j] + beta * c[i, j]
        return
    if not try_gemm(a, b, c, alpha, beta):
        _gemm_c(np.ascontiguousarray(a), np.ascontiguousarray(b), c, alpha, beta)


@njit(nogil=True, cache=False)
def matmul_acc_into(a: Any, b: Any, c: Any, alpha: Any, beta: Any) -> None:
    """matmul_acc into a C-contiguous c of any rank with a.shape[0] * b.shape[1]
    elements, taken as that matrix in C order (the caller checks both)."""
    if a.shape[0] == 0 or b.shape[1] == 0:
        return
    if a.shape[1] == 0:
        c *= beta
        return
    if not try_gemm(a, b, c.reshape((a.shape[0], b.shape[1])), alpha, beta):
        _gemm_c(np.ascontiguousarray(a), np.ascontiguousarray(b), c, alpha, beta)


@njit(nogil=True, cache=False)
def matmul_into(a: Any, b: Any, out: Any) -> None:
    """out = a @ b for 2-D operands and a fresh C-contiguous out of the product's shape."""
    if not try_gemm(a, b, out, 1.0, 0.0):
        np.dot(a, b, out)


# SYRK (C = A^T A in one triangle, half a GEMM's work) is not among Numba's BLAS
# helpers: SciPy's is made known to LLVM by a symbol name, at import, so a compiled
# block calls it by name and stays valid in Numba's on-disk cache (an address baked
# into the code would not be, in another process).
def _register_syrk() -> None:
    import ctypes

    import scipy.linalg.cython_blas as cython_blas
    from llvmlite import binding

    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    for kind in "sd":
        capsule = cython_blas.__pyx_capi__[f"{kind}syrk"]
        binding.add_symbol(f"mcodec_{kind}syrk", get_pointer(capsule, get_name(capsule)))


_register_syrk()


@intrinsic
def _syrk_c(typingctx: Any, a: Any, c: Any, at_a: Any) -> Any:
    """One triangle of a.T @ a (at_a) or a @ a.T into c, for a C-contiguous float32 or
    float64 matrix a: the lower one in c's row-major order (checked by the caller)."""
    if not (isinstance(a, types.Array) and isinstance(c, types.Array) and a.dtype == c.dtype
            and a.dtype in (types.float32, types.float64) and a.ndim == 2 and c.ndim == 2):
        return None
    sig = types.void(a, c, at_a)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        ll_char, i32 = ir.IntType(8), ir.IntType(32)
        dt = signature.args[0].dtype
        fty = context.get_value_type(dt)
        fnty = ir.FunctionType(ir.VoidType(), [ll_char.as_pointer(), ll_char.as_pointer(), i32.as_pointer(),
                                               i32.as_pointer(), fty.as_pointer(), fty.as_pointer(), i32.as_pointer(),
                                               fty.as_pointer(), fty.as_pointer(), i32.as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, f"mcodec_{get_blas_kind(dt)}syrk")
        arr_a = context.make_array(signature.args[0])(context, builder, args[0])
        arr_c = context.make_array(signature.args[1])(context, builder, args[1])
        rows, cols = cgutils.unpack_tuple(builder, arr_a.shape, 2)

        def slot(v: Any) -> Any:
            return cgutils.alloca_once_value(builder, v)

        # row-major a (rows x cols) is column-major A = a^T (cols x rows, ld cols):
        # a.T @ a = A A^T ('N', order cols, inner rows); a @ a.T = A^T A ('T', order rows)
        n, k, lda = (builder.trunc(x, i32) for x in (builder.select(args[2], cols, rows),
                                                      builder.select(args[2], rows, cols), cols))
        trans = builder.select(args[2], ir.Constant(ll_char, ord("N")), ir.Constant(ll_char, ord("T")))
        builder.call(fn, (slot(ir.Constant(ll_char, ord("U"))), slot(trans), slot(n), slot(k),
                          slot(ir.Constant(fty, 1.0)), builder.bitcast(arr_a.data, fty.as_pointer()), slot(lda),
                          slot(ir.Constant(fty, 0.0)), builder.bitcast(arr_c.data, fty.as_pointer()), slot(n)))
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, cache=False)
def gram(a: Any, at_a: bool) -> Any:
    """a.T @ a (at_a) or a @ a.T of a float matrix, by SYRK: half the multiply-adds of
    a general product, then the lower triangle mirrored."""
    n = a.shape[1] if at_a else a.shape[0]
    c = np.empty((n, n), dtype=a.dtype)
    if a.shape[0] == 0 or a.shape[1] == 0:
        c[:] = 0
        return c
    if a.shape[0] >= 2**31 or a.shape[1] >= 2**31:  # (BLAS sizes are int32)
        return a.T @ a if at_a else a @ a.T
    _syrk_c(np.ascontiguousarray(a), c, at_a)
    for i in range(n):
        for j in range(i + 1, n):
            c[i, j] = c[j, i]
    return c
