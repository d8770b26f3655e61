"""NumPy behaviours that the front end encodes in the IR, so that every back end agrees
with the reference: checked under each strategy against NumPy itself."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_util import build_source
from mcodec.compiler.driver import frontend
from mcodec.compiler.ir import print_module

HALF_POWER = """fn f(x: f64[N], y: f32[N], s: f64) -> (f64[N], f32[N], f64):
    return x ** 0.5, (y * 2.0) ** 0.5, s ** 0.5
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "numba-fast", "llvm", "mlx-cpu"])
def test_array_to_the_half_power_is_sqrt(strategy: str) -> None:
    """NumPy computes `array ** 0.5` as sqrt (its fast path for a scalar exponent): NaN
    at -inf and -0.0 at -0.0, where C's pow (compiled back ends) gives inf and +0.0. A
    scalar base keeps pow, as NumPy's scalar power does."""
    module = frontend(HALF_POWER, "half.mc")
    text = print_module(module)
    assert text.count("mc.sqrt") == 2 and text.count("mc.pow") == 1
    program = build_source(HALF_POWER, strategy, "half.mc")
    x = np.array([-np.inf, np.inf, -0.0, 0.0, -1.0, 4.0, np.nan, 2.0])
    y = x.astype(np.float32)
    with np.errstate(invalid="ignore"):
        want = (x ** 0.5, (y * np.float32(2.0)) ** 0.5, np.float64(-np.inf) ** 0.5)
        got = program.f(x, y, -np.inf)
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(np.signbit(g), np.signbit(w))


DIAGONAL_OFFSETS = """fn band(A: f64[N, N], w: i64) -> f64[N, N]:
    return triu(A, -w) - triu(A, w + 1) + tril(A, w - 3) * 0.5

fn shifted_eye(n: i64, k: i64) -> f64[?, ?]:
    return eye(n, n + 1, k) + eye(n, n + 1, k=1 - k)

fn diagonals(A: f64[N, N], v: f64[M], k: i64) -> (f64[?], f64[?, ?]):
    return diag(A, k) * 2.0, diag(v, -k)
"""


@pytest.mark.parametrize("strategy", ["numpy", "numpy-mem", "numba", "numba-par", "mlx-cpu"])
def test_diagonal_offsets_computed_at_run_time(strategy: str) -> None:
    """triu/tril/eye/diag take any integer `k`, as NumPy's do: a run-time value is an
    operand, not a compile error (diag's result size is then known at run time)."""
    program = build_source(DIAGONAL_OFFSETS, strategy, "diag.mc")
    a = np.random.default_rng(0).standard_normal((6, 6))
    for w in (-2, 0, 1, 4, 9):
        want = np.triu(a, -w) - np.triu(a, w + 1) + np.tril(a, w - 3) * 0.5
        np.testing.assert_allclose(program.band(a, w), want, rtol=1e-15, atol=0)
    for n, k in ((4, 0), (4, 2), (3, -1), (5, 7)):
        np.testing.assert_array_equal(program.shifted_eye(n, k), np.eye(n, n + 1, k) + np.eye(n, n + 1, k=1 - k))
    v = np.arange(1.0, 4.0)
    for k in (-2, 0, 1, 5):
        d, m = program.diagonals(a, v, k)
        np.testing.assert_array_equal(d, np.diag(a, k) * 2.0)
        np.testing.assert_array_equal(m, np.diag(v, -k))


LITERAL_POWERS = """fn cbrt_neg() -> f64:
    return (-8.0) ** (1.0 / 3.0)

fn half_neg() -> f64:
    return (-2.0) ** 0.5

fn third() -> f64:
    return 8.0 ** (1.0 / 3.0)
"""


@pytest.mark.parametrize("strategy", ["numpy", "numba", "llvm"])
def test_literal_arithmetic_folds_as_numpy_scalars(strategy: str) -> None:
    """Constant folding computes literals as the NumPy f64 scalars the program would:
    a negative base to a fractional power is NaN (Python's ** gave a complex, typed
    f64, that no back end could use)."""
    program = build_source(LITERAL_POWERS, strategy, "powers.mc")
    with np.errstate(invalid="ignore"):
        assert np.isnan(program.cbrt_neg()) and np.isnan(program.half_neg())
    assert program.third() == np.float64(8.0) ** (1.0 / 3.0)
