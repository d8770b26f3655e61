"""Regressions found by held-out batch 6 (back ends): small programs written to the
language contract, run under the strategy that got them wrong and compared against
the reference lowering and a direct NumPy expression."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from strategy_checks import built, check, raises_like_reference

# ---- max/min/argmax/argmin over an empty axis raise, as NumPy (Numba gave -inf/inf/0) ------
# and MLX's argmax/argmin of an empty array whose reduced axis is not empty give an empty result
EMPTY_RED_SRC = """fn red(A: f64[N, M]) -> (f64[N], f64[N], i64[N], i64[N], f64[N]):
    return max(A, axis=1), min(A, axis=1), argmax(A, axis=1), argmin(A, axis=1), mean(A, axis=1)

fn red_all(x: i32[N]) -> (i32, i64):
    return max(x), argmin(x)
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "mlx-cpu"])
def test_reduction_without_identity_over_empty_axis(strategy: str) -> None:
    pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
    lowered = strategy.split("-")[0]
    raises_like_reference(EMPTY_RED_SRC, strategy, "red", {"A": np.zeros((3, 0))})
    raises_like_reference(EMPTY_RED_SRC, strategy, "red", {"A": np.zeros((0, 0))})
    raises_like_reference(EMPTY_RED_SRC, strategy, "red_all", {"x": np.zeros(0, dtype=np.int32)})
    A = np.zeros((0, 4))
    e = np.zeros(0)
    check(EMPTY_RED_SRC, strategy, "red", {"A": A}, (e, e, e.astype(np.int64), e.astype(np.int64), e),
          lowered_by=lowered)
    A = np.array([[3.0, -1.0, 7.0], [0.5, 0.5, -2.0]])
    check(EMPTY_RED_SRC, strategy, "red", {"A": A},
          (A.max(1), A.min(1), A.argmax(1), A.argmin(1), A.mean(1)))


# ---- a batched matmul (rank > 2) is declined by Numba's can_lower with its reason, not -----
# found by a failed Numba compile (seconds) whose typing error became the fallback reason
BMM_SRC = """fn bmm(A: f64[P, M, K], B: f64[K, N], C: f64[P, K, N]) -> (f64[P, M, N], f64[P, M, N]):
    return A @ B, A @ C
"""


@pytest.mark.parametrize("strategy", ["numba", "llvm"])
def test_batched_matmul_declined_up_front(strategy: str) -> None:
    pytest.importorskip("numba")
    result, _ = built(BMM_SRC, strategy)
    reasons = [f.reason for b in result.blocks.values() for f in b.fallbacks]
    assert any("batched matrix products" in r for r in reasons), reasons
    assert not any("lowering failed" in r for r in reasons), reasons
    rng = np.random.default_rng(0)
    A, B, C = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(2, 4, 5))
    check(BMM_SRC, strategy, "bmm", {"A": A, "B": B, "C": C}, (A @ B, A @ C))


# ---- numba-par: a row loop over range(-2, N) writes rows N-2 and N-1 twice (as -2 and -1); -----
# in parallel the earlier iteration's value could win (8 rows on 2 threads: rows 6, 7 came out
# as -2, -1). Such a loop runs in parallel only while its variable keeps one sign (checked at
# run time), else as one serial chunk; and not at all while its body checks indices it could
# not prove (Numba runs a prange that may raise serially), as here
NEG_ROWS_SRC = """fn neg_rows(X: f64[N, M]) -> f64[N, M]:
    let A = copy(X)
    for i in range(-2, N):
        A[i, :] = f64(i)
    return A

fn var_rows(X: f64[N, M], lo: i64, st: i64) -> f64[N, M]:
    let B = zeros((N, M), dtype=f64)
    for i in range(lo, N, st):
        for j in range(M):
            B[i, j] = X[i, j] + f64(i) * 10.0 + f64(j)
    return B
"""


def test_parallel_rows_with_negative_loop_variable() -> None:
    pytest.importorskip("numba")
    X = np.zeros((8, 3))
    A = X.copy()
    for i in range(-2, 8):
        A[i, :] = i
    check(NEG_ROWS_SRC, "numba-par", "neg_rows", {"X": X}, A, lowered_by="numba-par")
    for lo, st in [(-3, 1), (0, 2), (-8, 1), (7, -1), (-1, -1)]:
        B = np.zeros_like(X)
        for i in range(lo, 8, st):
            for j in range(3):
                B[i, j] = X[i, j] + i * 10.0 + j
        check(NEG_ROWS_SRC, "numba-par", "var_rows", {"X": X, "lo": lo, "st": st}, B)
    result, _ = built(NEG_ROWS_SRC, "numba-par")
    loops = [b.built for b in result.blocks.values() if b.kind == "loop"]
    # (checked_index): written serial from the start, without the run-time sign check
    assert loops and not any("prange(" in b.source or "_nch" in b.source for b in loops)
    assert not any(b.info["prange_loops"] or b.info["parallel"] for b in loops)


# ---- Numba: a signed integer to a negative power is NumPy's ValueError (Numba gave 0 or 1) ----
INT_POW_SRC = """fn ipow(a: i64[N], e: i64[N]) -> (i64[N], i64[N]):
    let r = zeros((N,), dtype=i64)
    for i in range(N):
        r[i] = a[i] ** e[i]
    return r, a ** e

fn spow(a: i32, e: i32) -> i32:
    return a ** e
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_integer_negative_power_raises(strategy: str) -> None:
    pytest.importorskip("numba")
    a, e = np.array([2, 1, -1, 3]), np.array([3, 5, 3, 39])
    check(INT_POW_SRC, strategy, "ipow", {"a": a, "e": e}, (a ** e, a ** e), lowered_by="numba")
    check(INT_POW_SRC, strategy, "spow", {"a": np.int32(-3), "e": np.int32(5)}, np.int32(-243))
    raises_like_reference(INT_POW_SRC, strategy, "ipow", {"a": a, "e": np.array([3, -1, 2, 0])})
    raises_like_reference(INT_POW_SRC, strategy, "spow", {"a": np.int32(1), "e": np.int32(-1)})


# ---- one array as two inout arguments from Python (f(X, X), f(x[1:], x[:-1])): the compiled ----
# blocks assume distinct inout arrays never overlap (Numba's fused row loop read rows of B it
# had just written through A: 12, 19, 26 where NumPy gives 12, 15, 18); such a call runs the
# NumPy reference, as the reference lowering and NumPy on the same arrays do
ALIAS_INOUT_SRC = """fn h(inout A: f64[N, M], inout B: f64[N, M]):
    A[1:, :] = B[:-1, :] * 2.0 + A[1:, :]

fn k(inout a: f64[N], inout b: f64[N]) -> f64:
    for i in range(1, N):
        a[i] = b[i - 1] * 3.0 + a[i]
    return sum(b)
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "llvm"])
def test_overlapping_inout_arguments(strategy: str) -> None:
    pytest.importorskip("numba")
    result, _ = built(ALIAS_INOUT_SRC, strategy)
    X = np.arange(12.0).reshape(4, 3)
    want = X.copy()
    want[1:, :] = want[:-1, :] * 2.0 + want[1:, :]
    result.program.h(X, X)
    np.testing.assert_array_equal(X, want)
    x = np.linspace(1.0, 2.0, 9)
    want = x.copy()
    a, b = want[1:], want[:-1]
    for i in range(1, 8):
        a[i] = b[i - 1] * 3.0 + a[i]
    got = result.program.k(x[1:], x[:-1])
    np.testing.assert_allclose(x, want, rtol=1e-12)
    assert got == pytest.approx(b.sum(), rel=1e-12)
    y, z = np.arange(8.0), np.arange(8.0) + 1.0  # distinct arrays keep the compiled path
    check(ALIAS_INOUT_SRC, strategy, "k", {"a": y, "b": z}, None, lowered_by=strategy.split("-")[0])


# ---- MLX: a reduction of an empty array (sum over the empty axis 0 of a (0, 3) array) hung ----
# at times inside MLX 0.32's CPU kernel (eager and compiled); an empty operand now gets
# NumPy's result (identity, NaN for mean/std/var, ValueError for max/min) without MLX
EMPTY_MLX_SRC = """fn red(A: f64[N, M]) -> (f64[M], f64[M], f64[N], bool[M], bool[N], f64[N, 1], f64):
    return sum(A, axis=0), mean(A, axis=0), prod(A, axis=1), any(A > 0.0, axis=0), all(A > 0.0, axis=1), std(A, axis=1, keepdims=true), sum(A)

fn red_max(A: i32[N, M]) -> (i32[N], i64[N]):
    return max(A, axis=1), argmax(A, axis=1)
"""


def test_mlx_reductions_of_empty_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    mx = pytest.importorskip("mlx.core")
    result, _ = built(EMPTY_MLX_SRC, "mlx-cpu")
    assert all(b.built.strategy_id == "mlx-cpu" for b in result.blocks.values())
    for shape in [(0, 3), (3, 0), (0, 0), (2, 3)]:
        A = np.arange(float(np.prod(shape))).reshape(shape) - 1.5
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            want = (A.sum(0), A.mean(0), A.prod(1), (A > 0).any(0), (A > 0).all(1), A.std(1, keepdims=True), A.sum())
        if 0 in shape:  # MLX's reductions are not called at all
            for name in ("sum", "mean", "prod", "any", "all", "std"):
                monkeypatch.setattr(mx, name, None, raising=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the reference's mean of nothing
            check(EMPTY_MLX_SRC, "mlx-cpu", "red", {"A": A}, want)
        monkeypatch.undo()
        Ai = A.astype(np.int32)
        if shape[1] == 0:
            raises_like_reference(EMPTY_MLX_SRC, "mlx-cpu", "red_max", {"A": Ai})
        else:
            check(EMPTY_MLX_SRC, "mlx-cpu", "red_max", {"A": Ai}, (Ai.max(1), Ai.argmax(1)))


# ---- LLVM: a for loop whose variable would pass i64's end after its last value ---------------
# (range(0, 2**63 - 1, 2**62): 0, 2**62 and then 2**63, which wraps) never stopped: the loop
# compared the wrapped variable with the stop. It counts Python's trip count now
RANGE_SRC = """fn cnt(a: i64, b: i64, s: i64) -> (i64, i64):
    let c = 0
    let last = -1
    for i in range(a, b, s):
        c += 1
        last = i
    return c, last

fn cnt_const(b: i64) -> i64:
    let c = 0
    for i in range(0, b, 4611686018427387904):
        c += 1
    for i in range(b, -b, -4611686018427387904):
        c += 10
    return c
"""


def _call_with_timeout(fn: Any, *args: Any, seconds: float = 30.0) -> Any:
    """A native loop that never ends cannot be interrupted: run it on a daemon thread."""
    import threading

    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    t.start()
    t.join(seconds)
    assert out, f"{fn} did not return within {seconds} s"
    return out[0]


def test_llvm_loop_trip_count_near_i64_end() -> None:
    pytest.importorskip("llvmlite")
    result, _ = built(RANGE_SRC, "llvm")
    assert all(b.built.strategy_id == "llvm" for b in result.blocks.values())
    big = 2**63 - 1
    for a, b, s in [(0, big, 2**62), (-5, -big, -(2**62)), (0, 100, 7), (100, 0, -7), (3, 3, 1), (5, 2, 1),
                    (-big, big, 2**62 + 1), (0, 10, -1), (10, 0, 1), (-2**63, 0, 2**62)]:
        r = range(a, b, s)
        want = (np.int64(len(r)), np.int64(r[-1] if len(r) else -1))
        got = _call_with_timeout(result.program.cnt, a, b, s)
        assert got == want, (a, b, s, got, want)
    assert _call_with_timeout(result.program.cnt_const, big) == len(range(0, big, 2**62)) + \
        10 * len(range(big, -big, -(2**62)))


# ---- Numba's inlined log of a negative number: NumPy's NaN has the sign bit set (x86's -------
# default NaN, from libm); the inlined polynomials gave np.nan's positive one
def test_numba_log_of_negative_is_numpys_nan() -> None:
    pytest.importorskip("numba")
    from mcodec.runtime_shim import numba_math
    from numba import njit

    for name, dt in [("log_f32", np.float32), ("log_f64", np.float64)]:
        f = getattr(numba_math, name)

        @njit(error_model="numpy")
        def apply(x: np.ndarray, out: np.ndarray, f: Any = f) -> None:
            for i in range(x.shape[0]):
                out[i] = f(x[i])

        x = np.array([-1.0, -np.inf, -1e-30, 2.0, 0.0, -0.0, np.nan], dtype=dt)
        got = np.empty_like(x)
        apply(x, got)
        with np.errstate(all="ignore"):
            want = np.log(x)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
