"""NumPy's IndexError in compiled Numba blocks, for the indices mcodec could not prove
in range (compiler/index_bounds.py): generated code wraps such an index, and only such
an index, so the accesses proven safe keep their loops vectorized and parallel.

(Numba's own `boundscheck` checks every access of a function, slowing a strided slice
store by a quarter, and none inside a parallel loop; a check that raises inside a
`prange` loop makes Numba run that loop serially, which keeps the order of effects.)
"""

from __future__ import annotations

from typing import Any

from numba import njit


@njit(inline="always")
def checked_index(i: Any, n: Any) -> Any:
    """`i`, an index of an axis of length n; IndexError unless -n <= i < n."""
    if i < -n or i >= n:
        raise IndexError("index out of bounds")
    return i


@njit(inline="always")
def checked_indices(idx: Any, n: Any) -> Any:
    """`idx`, an index array for an axis of length n; IndexError if one is out of range
    (one pass, inlined: a gather per row of a sparse matrix reads a few indices)."""
    for i in idx.flat:
        if i < -n or i >= n:
            raise IndexError("index out of bounds")
    return idx
