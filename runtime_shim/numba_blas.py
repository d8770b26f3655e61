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
    _gemm_c(np.ascontiguousarray(a), np.ascontiguousarray(b), c, alpha, beta)
