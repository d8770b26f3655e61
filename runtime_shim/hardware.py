"""The machine a build is for: a small, stable fingerprint."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from functools import lru_cache
from typing import Any


def import_mlx() -> Any | None:
    """`mlx.core`, or None where MLX is not installed.

    MLX runs float32 matrix products as TF32 on tensor-core GPUs unless told otherwise
    (about 1e-3 relative error, seen on an H100), while an M-CODE f32 is an IEEE f32 as
    in NumPy: full precision unless the user set MLX_ENABLE_TF32 themselves."""
    os.environ.setdefault("MLX_ENABLE_TF32", "0")
    try:
        import mlx.core as mx
    except Exception:
        return None
    return mx


OPENMP_SPIN_COUNT = "2000"  # about 60 us of spinning here


def short_openmp_spins() -> None:
    """Numba runs `prange` loops on its OpenMP layer (GNU libgomp), whose idle threads
    spin after each parallel loop: by default for about 8 ms of CPU. Those spinning
    threads take the cores that BLAS's threads or other processes need: on a 2-core
    machine a 1000-element `prange` loop took 6 ms instead of 26 us, 12 ms right after
    a matrix product. Threads that sleep at once (OMP_WAIT_POLICY=PASSIVE) must be woken
    at every parallel loop instead, 20-50 us each, which a sequential loop of parallel
    nests pays at every step (heat-3d at 80^3: 4.6 ms passive, 3.1 ms with this). So
    idle threads spin briefly (GOMP_SPINCOUNT, about 60 us) and then sleep. libgomp
    reads it once, when Numba first loads it (the first parallel block), so this is
    called before any parallel block is compiled or loaded; a value the user set for
    either variable is kept."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN_COUNT)


BLAS_SPIN_EXPONENT = "20"  # 2**20 cycles: under a millisecond


def short_blas_spins() -> None:
    """OpenBLAS's idle threads spin for 2**28 cycles (about 0.1 s) after each call
    before they sleep. A process here holds two OpenBLAS libraries, NumPy's and SciPy's
    (which Numba's matrix products call), each with its own threads: one library's
    spinning threads take the cores the other's next call needs. On a 2-core machine,
    a program of three matrix products alternating between them ran in 96 ms instead
    of 47 (with 2**20, 2**24 or 2**16 cycles: 46-48). OpenBLAS reads
    OPENBLAS_THREAD_TIMEOUT when it loads, so this is set when mcodec is imported:
    for NumPy's library only when mcodec is imported first; a value the user set is
    kept."""
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", BLAS_SPIN_EXPONENT)


@lru_cache(maxsize=1)
def mlx_devices() -> list[str]:
    mx = import_mlx()
    if mx is None:
        return []
    devices = ["cpu"]
    for probe in ("metal", "cuda"):
        mod = getattr(mx, probe, None)
        try:
            if mod is not None and mod.is_available():
                devices.append("gpu")
                break
        except Exception:
            pass
    return devices


@lru_cache(maxsize=1)
def machine() -> dict[str, Any]:
    import numpy as np

    info = {
        "system": platform.system(),
        "arch": platform.machine(),
        "cpus": os.cpu_count() or 1,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mlx_devices": mlx_devices(),
    }
    info["fingerprint"] = hashlib.sha1(json.dumps(
        {k: info[k] for k in ("system", "arch", "cpus", "mlx_devices")}, sort_keys=True).encode()).hexdigest()[:12]
    return info
