"""Float reductions of a whole array to one value (`max(u)`, `sum(x)`, `mean(exp(A))`)
run in lanes along each last-axis row, the rows combined in order: as one branching
scalar chain `max(u)` ran 40x slower than NumPy. NaN anywhere gives NaN, as in NumPy;
an empty array raises for max/min and sums to 0."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_checks import check, loop_source, raises_like_reference

SRC = """
fn spread(u: f32[N, M]) -> f32:
    return max(u) - min(u)

fn whole(x: f64[N], A: f64[P, Q, R]) -> (f64, f64, f64, f64, f64, f64):
    return max(x), min(x), sum(x), mean(A), prod(A * 0.5 + 0.75), sum(exp(A))

fn staged(A: f32[N, M]) -> (f32, f32):
    return max(sqrt(A) * 2.0), mean(log(A + 1.0))
"""
STRATEGIES = ["numba", "numba-par", "numba-fast-par"]


def _whole(x: np.ndarray, A: np.ndarray) -> tuple:
    return x.max(), x.min(), x.sum(), A.mean(), np.prod(A * 0.5 + 0.75), np.exp(A).sum()


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("n", [1, 7, 8, 9, 1000])
def test_whole_array_reductions(strategy: str, n: int) -> None:
    rng = np.random.default_rng(n)
    u = rng.standard_normal((3, n)).astype(np.float32)
    check(SRC, strategy, "spread", {"u": u}, u.max() - u.min(), lowered_by="numba")
    x, A = rng.standard_normal(n), rng.random((2, 3, n))
    check(SRC, strategy, "whole", {"x": x, "A": A}, _whole(x, A))
    B = rng.random((4, n)).astype(np.float32)
    check(SRC, strategy, "staged", {"A": B}, (np.max(np.sqrt(B) * 2.0), np.mean(np.log(B + 1.0))))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("where", [0, 5, 16, -1])
def test_nan_anywhere_gives_nan(strategy: str, where: int) -> None:
    x = np.arange(17.0) - 8.0
    x[where] = np.nan
    A = np.ones((2, 2, 17))
    A[1, 0, where] = np.nan
    got = check(SRC, strategy, "whole", {"x": x, "A": A})
    assert all(np.isnan(g) for g in got)
    u = np.ones((2, 17), np.float32)
    u[1, where] = np.nan
    assert np.isnan(check(SRC, strategy, "spread", {"u": u}))
    x[where] = -np.inf
    assert check(SRC, strategy, "whole", {"x": x, "A": np.ones((1, 1, 1))})[1] == -np.inf


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_empty_arrays(strategy: str) -> None:
    raises_like_reference(SRC, strategy, "spread", {"u": np.zeros((3, 0), np.float32)})
    raises_like_reference(SRC, strategy, "whole", {"x": np.zeros(0), "A": np.ones((1, 1, 1))})


def test_the_rows_run_in_lanes() -> None:
    src = "fn f(u: f32[N, M]) -> (f32, f32):\n    let s = 0.0\n    for i in range(N):\n" \
          "        s += max(u[i, :]) + min(u)\n    return s, max(u)\n"
    assert loop_source(src, "numba", "f").count("_7 = ") >= 2  # eight lanes each (s_k_0 .. s_k_7)
    check(src, "numba", "f", {"u": np.random.default_rng(1).random((5, 33)).astype(np.float32)})
