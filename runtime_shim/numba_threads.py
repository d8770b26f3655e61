"""The thread count for compiled blocks, in a form Numba's on-disk cache accepts.

`numba.get_num_threads()` in jitted code calls the threading layer through a ctypes
pointer, and Numba does not cache a function whose code holds an address ("dynamic
globals"): every block using it compiled again at each artifact load. `num_threads()`
calls the same C function by its symbol name, which the threading layer registers with
LLVM when it starts.
"""

from __future__ import annotations

from typing import Any

from numba import get_num_threads, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def num_threads(typingctx: Any) -> Any:
    """The number of threads a parallel region would use now (numba.get_num_threads)."""
    get_num_threads()  # starts the threading layer, which registers the symbol

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from llvmlite import ir

        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(cgutils.intp_t, []), "get_num_threads")
        return builder.call(fn, [])

    return types.intp(), codegen
