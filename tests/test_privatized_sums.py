"""Outer loops that accumulate into an array at indices other than their own row
(`s[j] += A[i, j] * r[i]`, `counts[k[i]] += 1`) run as `prange` under the parallel
Numba strategies: each thread adds into its own zeroed copy of the array, and the
copies are added to it after the loop. Regrouping the sum is exact for integers
(numba-par and numba-fast-par) and allowed for floats only with fastmath
(numba-fast-par). Arrays that may share memory with another, or that the loop also
reads or writes by row, keep the loop serial."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_checks import check, loop_source, raises_like_reference

SRC = """
fn bicg(A: f64[N, M], p: f64[M], r: f64[N]) -> (f64[M], f64[N]):
    let s = zeros((M,), dtype=f64)
    let q = zeros((N,), dtype=f64)
    for i in range(N):
        for j in range(M):
            s[j] += r[i] * A[i, j]
            q[i] += A[i, j] * p[j]
    return s, q

fn scatter(k: i64[N], w: i64[N], nb: i64) -> i64[?]:
    let counts = zeros((nb,), dtype=i64)
    for i in range(N):
        counts[k[i] % nb] += w[i]
        counts[0] -= 1
    return counts

fn scatter8(k: i64[N], w: i64[N]) -> i64[8]:
    let counts = zeros((8,), dtype=i64)
    for i in range(N):
        counts[k[i] % 8] += w[i]
        counts[0] -= 1
    return counts

fn narrow8(k: i64[N]) -> u8[8]:
    let counts = zeros((8,), dtype=u8)
    for i in range(N):
        counts[k[i] & 7] += u8(k[i] % 5)
    return counts

fn back8(k: i64[N]) -> (i64[8], i64[N]):
    let counts = full((8,), 7, dtype=i64)
    let out = zeros((N,), dtype=i64)
    for i in range(N - 1, -1, -2):
        counts[k[i] % 8] += i
        out[i] = k[i] * 2
    return counts, out

fn narrow(k: i64[N], nb: i64) -> u8[?]:
    let counts = zeros((nb,), dtype=u8)
    for i in range(N):
        counts[k[i] % nb] += u8(k[i] % 5)
    return counts

fn back(k: i64[N], nb: i64) -> (i64[?], i64[N]):
    let counts = full((nb,), 7, dtype=i64)
    let out = zeros((N,), dtype=i64)
    for i in range(N - 1, -1, -2):
        counts[k[i] % nb] += i
        out[i] = k[i] * 2
    return counts, out

fn mixed_sign(k: i64[N], nb: i64) -> (i64[?], i64[N]):
    let counts = zeros((nb,), dtype=i64)
    let out = zeros((N,), dtype=i64)
    for i in range(-3, N - 3):
        counts[k[i + 3] % nb] += 1
        out[i] = out[i] + i
    return counts, out

fn reread(k: i64[N], nb: i64) -> i64[?]:
    let counts = zeros((nb,), dtype=i64)
    for i in range(N):
        counts[k[i] % nb] += counts[0] + 1
    return counts

fn scaled(k: i64[N], nb: i64) -> i64[?]:
    let counts = ones((nb,), dtype=i64)
    for i in range(N):
        counts[k[i] % nb] = counts[k[i] % nb] * 3
    return counts

fn inout_acc(k: i64[N], inout counts: i64[B]) -> i64[B]:
    for i in range(N):
        counts[k[i] % B] += 1
    return counts * 1

fn rows_too(A: f64[N, N]) -> f64[N]:
    let s = zeros((N,), dtype=f64)
    for i in range(N):
        s[i] = s[i] + 1.0
        for j in range(N):
            s[j] += A[i, j]
    return s
"""

# entry -> whether its loop accumulates into thread-private copies under
# (numba-par, numba-fast-par). `counts[k[i] % nb]` is an index checked at run time: a
# loop that may raise runs serially, so scatter, narrow, back and mixed_sign are plain
# serial loops; their `% 8` twins are proven in range and run in parallel.
PRIVATE = {"bicg": (False, True), "scatter8": (True, True), "narrow8": (True, True), "back8": (True, True),
           "scatter": (False, False), "narrow": (False, False), "back": (False, False),
           "mixed_sign": (False, False), "reread": (False, False), "scaled": (False, False),
           "inout_acc": (False, False), "rows_too": (False, False)}


def _args(entry: str, n: int) -> dict:
    rng = np.random.default_rng(n)
    k = rng.integers(0, 1 << 40, size=n)
    if entry == "bicg":
        return {"A": rng.random((n, n + 3)), "p": rng.random(n + 3), "r": rng.random(n)}
    if entry == "rows_too":
        return {"A": rng.random((n, n))}
    if entry == "scatter":
        return {"k": k, "w": rng.integers(-(1 << 62), 1 << 62, size=n), "nb": 5}  # sums wrap
    if entry == "scatter8":
        return {"k": k, "w": rng.integers(-(1 << 62), 1 << 62, size=n)}
    if entry in ("narrow8", "back8"):
        return {"k": k}
    if entry == "mixed_sign":
        return {"k": rng.integers(0, 100, size=max(n, 3)), "nb": 4}
    if entry == "inout_acc":
        return {"k": k, "counts": np.arange(6, dtype=np.int64)}
    return {"k": k, "nb": 7}


@pytest.mark.parametrize("strategy", ["numba-par", "numba-fast-par"])
@pytest.mark.parametrize("entry", list(PRIVATE))
def test_privatized_accumulations(entry: str, strategy: str) -> None:
    body = loop_source(SRC, strategy, entry)
    assert ("_part = np.zeros(" in body) == PRIVATE[entry][strategy == "numba-fast-par"], body
    for n in (0, 1, 2, 3, 17, 1000):
        check(SRC, strategy, entry, _args(entry, n))



@pytest.mark.parametrize("strategy", ["numba-par", "numba-fast-par"])
def test_index_errors_leave_a_checked_loop(strategy: str) -> None:
    """An index the compiler cannot prove in range is checked, and its loop runs
    serially, without thread-private copies: an index out of range raises NumPy's
    IndexError; negative indices count from the end, as NumPy's do."""
    src = """
fn hist(k: i64[N], nb: i64) -> i64[?]:
    let counts = zeros((nb,), dtype=i64)
    for i in range(N):
        counts[k[i]] += 1
    return counts
"""
    body = loop_source(src, strategy, "hist")
    assert "_part = np.zeros(" not in body and "prange(" not in body, body
    check(src, strategy, "hist", {"k": np.array([0, 1, -1, 2, -3] * 100), "nb": 4})
    for bad in ([0, 1, 2, 3] * 100 + [4], [-5] + [0, 1, 2, 3] * 100):
        raises_like_reference(src, strategy, "hist", {"k": np.array(bad), "nb": 4})
