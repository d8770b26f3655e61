"""Outer loops whose iterations meet only in scalar sums or products run as `prange`
under the parallel Numba strategies: integer ones always (exact, wrapping), float ones
only with fastmath (numba-fast-par), since a parallel sum regroups its terms. So do
loops where each iteration accumulates into its own row (`out[i] += ...`, which scalar
promotion turns into a guarded read and write of out[i])."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_checks import check, loop_source

SRC = """
fn fsum(x: f64[N]) -> f64:
    let s = 0.0
    for i in range(N):
        s += sqrt(x[i]) * sin(x[i])
    return s

fn isum(k: i64[N]) -> i64:
    let c = 0
    let p = 1
    for i in range(N):
        c = c - k[i] % 7
        p = p * 3
    return c + p

fn prefix(x: f64[N]) -> f64[N]:
    let y = zeros((N,), dtype=f64)
    let s = 0.0
    for i in range(N):
        s += x[i]
        y[i] = s
    return y

fn seen(x: f64[N]) -> f64:
    let s = 0.0
    for i in range(N):
        s = s * 0.5 + x[i]
    return s

fn pairs(k: i64[N]) -> i64:
    let c = 0
    for i in range(N):
        for j in range(i + 1, N):
            c = c - k[i] * k[j]
    return c

fn rowsum(A: f64[N, M]) -> f64[N]:
    let out = zeros((N,), dtype=f64)
    for i in range(N):
        for j in range(M):
            out[i] += exp(-A[i, j] * A[i, j])
    return out

fn nested(A: f32[N, M]) -> f32:
    let s = f32(0.0)
    for i in range(N):
        for j in range(M):
            s += A[i, j] * A[i, j]
    return s
"""

# entry -> whether its loop runs in parallel under (numba-par, numba-fast-par)
PARALLEL = {"fsum": (False, True), "isum": (True, True), "prefix": (False, False),
            "seen": (False, False), "nested": (False, True), "pairs": (True, True),
            "rowsum": (True, True)}


def _args(entry: str, n: int) -> dict:
    rng = np.random.default_rng(n)
    if entry in ("isum", "pairs"):
        return {"k": rng.integers(-1000, 1000, size=n)}
    if entry == "nested":
        return {"A": rng.random((n, 5)).astype(np.float32)}
    if entry == "rowsum":
        return {"A": rng.random((n, 3))}
    return {"x": rng.random(n)}


@pytest.mark.parametrize("strategy", ["numba-par", "numba-fast-par"])
@pytest.mark.parametrize("entry", list(PARALLEL))
def test_reduction_loops(entry: str, strategy: str) -> None:
    body = loop_source(SRC, strategy, entry)
    assert ("prange(" in body) == PARALLEL[entry][strategy == "numba-fast-par"]
    for n in (0, 1, 9, 5000):
        check(SRC, strategy, entry, _args(entry, n))
