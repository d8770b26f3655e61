"""The packed matrix product for 512-bit vector CPUs (runtime_shim/native_gemm.py)
against NumPy: edge tiles, several cache blocks along every axis, operand layouts,
alpha/beta, special values, and its use by compiled blocks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcodec.runtime_shim import native_gemm
from mcodec.runtime_shim.native_gemm import KC, MR, NATIVE_MIN_MACS, NC, THREADS_MIN_MACS, try_gemm
from numba import njit

needs_native = pytest.mark.skipif(not native_gemm.NATIVE, reason="the host has no 512-bit vectors")


@njit
def _call(a: Any, b: Any, c: Any, alpha: float, beta: float) -> bool:
    return try_gemm(a, b, c, alpha, beta)


def _tol(dt: Any, k: int) -> dict[str, float]:
    return {"rtol": 1e-4 if dt == np.float32 else 1e-11, "atol": (1e-4 if dt == np.float32 else 1e-11) * k}


SHAPES = [
    (MR * 20, 64 * 8, 2 * KC),  # whole tiles only
    (MR * 20 + 5, 64 * 8 + 3, 2 * KC + 7),  # an edge tile on both axes, a short last k block
    (401, 397, 300),  # split by rows, each thread with its own edge
    (37, 1003, 255),  # wide: split by columns
    (MR + 1, NC + 29, 150),  # two column blocks
    (300, 20, 400),  # narrow columns: below one sliver of some dtypes
    (MR * 5 + 3, 67, 61),  # small enough for one thread
]


def test_shapes_cover_both_paths() -> None:
    macs = [m * n * k for m, n, k in SHAPES]
    assert min(macs) >= NATIVE_MIN_MACS
    assert any(x < THREADS_MIN_MACS for x in macs) and any(x >= THREADS_MIN_MACS for x in macs)


@needs_native
@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_numpy(dt: Any, shape: tuple[int, int, int]) -> None:
    m, n, k = shape
    rng = np.random.default_rng(m * n + k)
    a, b = rng.standard_normal((m, k)).astype(dt), rng.standard_normal((k, n)).astype(dt)
    c0 = rng.standard_normal((m, n)).astype(dt)
    c = c0.copy()
    assert _call(a, b, c, 1.5, -0.5)
    np.testing.assert_allclose(c, 1.5 * (a.astype(np.float64) @ b) - 0.5 * c0, **_tol(dt, k))


@needs_native
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_layouts(dt: Any) -> None:
    """Fortran-ordered, transposed and strided operands are read in place, and a
    row-contiguous destination inside a larger array keeps its neighbours."""
    rng = np.random.default_rng(3)
    big = rng.standard_normal((500, 700)).astype(dt)
    a = big[::2, 5:305]  # (250, 300), strided rows
    b = np.asfortranarray(rng.standard_normal((300, 260)).astype(dt))
    host = np.zeros((260, 300), dtype=dt)
    c = host[3:253, 10:270]  # row stride 300
    assert _call(a, b, c, 1.0, 0.0)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, **_tol(dt, 300))
    assert not host[:3].any() and not host[253:].any() and not host[:, :10].any() and not host[:, 270:].any()
    ct = np.zeros((260, 250), dtype=dt)
    assert _call(b.T, a.T, ct, 1.0, 0.0)
    np.testing.assert_allclose(ct, (a.astype(np.float64) @ b).T, **_tol(dt, 300))


@needs_native
def test_beta_zero_does_not_read_destination() -> None:
    """BLAS's rule: with beta 0, NaNs already in C are overwritten, not propagated."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((203, 300)), rng.standard_normal((300, 211))
    c = np.full((203, 211), np.nan)
    assert _call(a, b, c, 2.0, 0.0)
    np.testing.assert_allclose(c, 2.0 * (a @ b), rtol=1e-11, atol=1e-10)


@needs_native
def test_special_values_stay_in_their_rows_and_columns() -> None:
    """inf in A and B reach exactly the entries NumPy's product gives them; the zero
    padding of edge tiles does not turn them into NaNs elsewhere."""
    rng = np.random.default_rng(5)
    m, n, k = 2 * MR + 3, 300, 300
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    a[m - 1, 7] = np.inf
    b[11, n - 1] = -np.inf
    a[0, 11] = 0.0
    c = np.zeros((m, n))
    assert m * n * k >= NATIVE_MIN_MACS and _call(a, b, c, 1.0, 0.0)
    ref = a @ b
    np.testing.assert_array_equal(np.isnan(c), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(c), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(c[fin], ref[fin], rtol=1e-11, atol=1e-10)


def test_small_products_go_to_blas() -> None:
    a = np.ones((MR - 1, 500))
    c = np.zeros((MR - 1, 500))
    assert not _call(a, np.ones((500, 500)), c, 1.0, 0.0)  # fewer rows than a tile
    assert not c.any()  # declined: nothing written
    small = np.ones((32, 32))
    assert not _call(small, small, np.zeros((32, 32)), 1.0, 0.0)


SWITCHED_OFF = '''
import warnings
import numpy as np
from mcodec.compiler.build import build_module
from mcodec.compiler.driver import frontend
from mcodec.runtime_shim import native_gemm
src = """
fn f(A: f64[N, K], B: f64[K, M], C: f64[N, M]) -> f64[N, M]:
    let D = C + 2.0 * (A @ B)
    return D + A @ B
"""
with warnings.catch_warnings():
    warnings.simplefilter("error")  # a block falling back to NumPy warns
    res = build_module(frontend(src, "f.mc"), default="numba", use_cache=False)
rng = np.random.default_rng(0)
A, B, C = rng.random((90, 80)), rng.random((80, 70)), rng.random((90, 70))
assert np.allclose(res.program.f(A=A, B=B, C=C), C + 3.0 * (A @ B))
print(native_gemm.NATIVE, sorted({b.built.strategy_id for b in res.blocks.values()}))
'''


def test_switched_off_by_environment() -> None:
    """Without the native product (MCODEC_NATIVE_GEMM=0, or a CPU without 512-bit
    vectors) blocks with matrix products still compile, calling BLAS."""
    env = {**os.environ, "MCODEC_NATIVE_GEMM": "0"}
    out = subprocess.run([sys.executable, "-c", SWITCHED_OFF], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "False ['numba']"


PRODUCTS = """
fn f(A: f64[N, K], B: f64[K, M], X: f32[N, K], Y: f32[K, M]) -> (f64[N, M], f32[N, M]):
    return 2.0 * (A @ B), X @ Y
"""

LOAD_AND_RUN = '''
import sys
import numpy as np
import mcodec
prog = mcodec.load(sys.argv[1])
rng = np.random.default_rng(1)
A, B = rng.random((300, 200)), rng.random((200, 250))
X, Y = A.astype(np.float32), B.astype(np.float32)
d, s = prog.f(A=A, B=B, X=X, Y=Y)
assert np.allclose(d, 2.0 * (A @ B)) and np.allclose(s, X @ Y, rtol=1e-4)
stats = [b.info["dispatcher"].stats for b in prog.info["built"].values()]
print(sum(len(x.cache_hits) for x in stats), sum(len(x.cache_misses) for x in stats))
'''


@needs_native
def test_blocks_call_the_product_by_symbol(tmp_path: Path, monkeypatch: Any) -> None:
    """A block declares the product's C symbol instead of linking its code in (which
    cost seconds of LLVM work per block), and a fresh process that loads the artifact
    finds the symbol before Numba's cache loads the block: it runs, compiling nothing."""
    from mcodec.compiler.build import build_module
    from mcodec.compiler.driver import frontend
    from mcodec.runtime_shim.artifact import write_artifact

    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "cache"))
    res = build_module(frontend(PRODUCTS, "f.mc"), default="numba", warn=False)
    (block,) = res.blocks.values()
    llvm = "\n".join(block.built.info["dispatcher"].inspect_llvm().values())
    for dt in ("float32", "float64"):
        assert f"declare i32 @{native_gemm.symbol(dt)}(" in llvm
    assert "llvm.fma.v8f64" not in llvm and "llvm.fma.v16f32" not in llvm  # the kernel is not linked in
    write_artifact(res, PRODUCTS, tmp_path / "f.mcx")
    out = subprocess.run([sys.executable, "-c", LOAD_AND_RUN, str(tmp_path / "f.mcx")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["1", "0"]  # the block from Numba's cache
