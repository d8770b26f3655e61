"""Huge pages for large arrays that compiled Numba blocks allocate.

NumPy asks Linux for transparent huge pages on large allocations (`madvise`, when the
system leaves the choice to programs); Numba's allocator does not, so a block that
fills a fresh 300 MB array takes a 4 KiB page fault every 4 KiB and runs about three
times slower than NumPy on the same array. Generated blocks call `advise_huge(a)`
right after allocating `a` (before touching it).

The call to `madvise` goes through an LLVM declaration of the libc symbol, not a
ctypes pointer: a pointer would be baked into Numba's on-disk cache and be wrong in
the next process.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

HUGE_BYTES = 1 << 22  # NumPy's own threshold (4 MiB)
MADV_HUGEPAGE = 14  # Linux only
_LINUX = sys.platform.startswith("linux")


@intrinsic
def _madvise(typingctx: Any, addr: Any, length: Any, advice: Any) -> Any:
    sig = types.int32(types.uintp, types.uintp, types.int32)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(8).as_pointer(), ir.IntType(64), ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "madvise")
        ptr = builder.inttoptr(args[0], ir.IntType(8).as_pointer())
        return builder.call(fn, [ptr, args[1], args[2]])

    return sig, codegen


if _LINUX:
    @njit(nogil=True, cache=False)
    def advise_huge(a: Any) -> None:
        n = a.nbytes
        if n >= HUGE_BYTES:
            p = a.ctypes.data
            start = (p + 4095) & ~4095
            end = (p + n) & ~4095
            if end > start:
                _madvise(np.uintp(start), np.uintp(end - start), np.int32(MADV_HUGEPAGE))
else:
    @njit(nogil=True, cache=False)
    def advise_huge(a: Any) -> None:
        pass


@njit(nogil=True, cache=False)
def _span(a: Any) -> tuple[int, int]:
    """The first and one-past-last byte addresses an array's elements occupy."""
    lo = hi = a.ctypes.data
    for k in range(a.ndim):
        ext = (a.shape[k] - 1) * a.strides[k]
        if ext < 0:
            lo += ext
        else:
            hi += ext
    return lo, hi + a.itemsize


@njit(nogil=True, cache=False)
def overlaps(a: Any, b: Any) -> bool:
    """Whether the memory spans of two arrays intersect (a store from one into the other
    must then read from a copy, as NumPy's does)."""
    if a.size == 0 or b.size == 0:
        return False
    lo_a, hi_a = _span(a)
    lo_b, hi_b = _span(b)
    return lo_a < hi_b and lo_b < hi_a
