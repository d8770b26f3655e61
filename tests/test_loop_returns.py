"""`return` inside loops: the return sets hidden
variables and breaks out, and each loop passes it on (`if flag: return`), so the loop
is a block a back end compiles. A return inside a loop made the whole loop run as
Python before (a first-index search: 75 ms against 0.34 ms written with `break`).
Every expected value is Python's own, run on the same source's meaning here."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_checks import built, check, raises_like_reference

STRATS = ["numpy-mem", "numba", "numba-par", "llvm", "mlx-cpu"]

PROGRAMS = """
fn first_above(x: f64[N], t: f64) -> i64:
    for i in range(N):
        if x[i] > t:
            return i
    return -1

fn find_pair(A: i64[N, M], v: i64) -> (i64, i64):
    for i in range(N):
        for j in range(M):
            if A[i, j] == v:
                return i, j
    return -1, -1

fn is_prime(n: i64) -> bool:
    if n < 2:
        return false
    let d = 2
    while d * d <= n:
        if n % d == 0:
            return false
        d += 1
    return true

fn count_primes(n: i64) -> i64:
    let c = 0
    for k in range(n):
        if is_prime(k):
            c += 1
    return c

fn bisect(lo0: f64, hi0: f64, c: f64) -> f64:
    let lo = lo0
    let hi = hi0
    while true:
        let mid = 0.5 * (lo + hi)
        if hi - lo < 1e-12:
            return mid
        if mid * mid > c:
            hi = mid
        else:
            lo = mid

fn clear_until(inout x: f64[N], stop: f64):
    for i in range(N):
        if x[i] == stop:
            return
        x[i] = 0.0

fn narrowed(x: f64[N]) -> f32:
    let s = 0.0
    for i in range(N):
        s += x[i]
        if s > 10.0:
            return s
    return -s
"""


def first_above(x: np.ndarray, t: float) -> int:
    return next((i for i, v in enumerate(x) if v > t), -1)


def find_pair(A: np.ndarray, v: int) -> tuple[int, int]:
    hits = np.argwhere(A == v)
    return (int(hits[0][0]), int(hits[0][1])) if len(hits) else (-1, -1)


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n ** 0.5) + 1))


def narrowed(x: np.ndarray) -> np.float32:
    s = 0.0
    for v in x:
        s += v
        if s > 10.0:
            return np.float32(s)
    return np.float32(-s)


@pytest.mark.parametrize("strategy", STRATS)
def test_returns_inside_loops(strategy: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.random(50) * 4.0
    for t in (3.9, 0.5, 5.0):
        check(PROGRAMS, strategy, "first_above", {"x": x, "t": t}, np.int64(first_above(x, t)))
    A = rng.integers(0, 30, (6, 7))
    for v in (int(A[3, 2]), 31):
        got = check(PROGRAMS, strategy, "find_pair", {"A": A, "v": v})
        assert tuple(int(g) for g in got) == find_pair(A, v)
    for n in (0, 1, 2, 9, 97, 91):
        check(PROGRAMS, strategy, "is_prime", {"n": n}, is_prime(n))
    check(PROGRAMS, strategy, "count_primes", {"n": 200}, np.int64(sum(map(is_prime, range(200)))))
    got = check(PROGRAMS, strategy, "bisect", {"lo0": 0.0, "hi0": 4.0, "c": 2.0})
    assert abs(got - 2 ** 0.5) < 1e-9
    x2 = np.arange(8.0)
    want = x2.copy()
    want[:5] = 0.0
    out = x2.copy()
    built(PROGRAMS, strategy)[0].program.clear_until(x=out, stop=5.0)
    assert np.array_equal(out, want)
    for xs in (np.ones(30), np.ones(5)):
        check(PROGRAMS, strategy, "narrowed", {"x": xs}, narrowed(xs))


@pytest.mark.parametrize("strategy", ["numba", "llvm"])
def test_the_loops_are_compiled(strategy: str) -> None:
    result, _ = built(PROGRAMS, strategy)
    for entry in ("first_above", "find_pair", "is_prime", "bisect", "count_primes"):
        loops = [b for b in result.blocks.values() if b.block_id.startswith(f"{entry}.") and b.kind == "loop"]
        assert loops and all(b.built.strategy_id == strategy for b in loops), entry


# Helpers with early returns are inlined (they stayed calls, and a loop calling one ran as
# Python: `clamp` with two guard returns, called per element)
HELPERS = """
fn clamp(x: f64, lo: f64, hi: f64) -> f64:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x

fn sign_class(x: f64) -> (i64, f64):
    if x > 0.0:
        if x > 1.0:
            return 2, x
        return 1, x
    elif x < 0.0:
        return -1, -x
    else:
        let z = 0.0
    return 0, z

fn bump_until(inout c: i64[K], v: f64) -> bool:
    c[0] += 1
    if v > 0.5:
        return true
    c[1] += 1
    return false

fn totals(v: f64[N]) -> (f64, i64, f64, i64):
    let s = 0.0
    let k = 0
    let m = 0.0
    let counts = zeros((2,), dtype=i64)
    for i in range(N):
        s += clamp(v[i], 0.2, 0.8)
        let cls, mag = sign_class(v[i] * 3.0 - 1.0)
        k += cls
        m += mag
        if bump_until(counts, v[i]):
            k += 100
    return s, k, m, counts[0] * 1000 + counts[1]
"""


def totals(v: np.ndarray) -> tuple:
    s, k, m, c0, c1 = 0.0, 0, 0.0, 0, 0
    for x in v:
        s += min(max(x, 0.2), 0.8)
        y = x * 3.0 - 1.0
        cls = (2 if y > 1.0 else 1) if y > 0.0 else (-1 if y < 0.0 else 0)
        k += cls
        m += abs(y)
        c0 += 1
        if x > 0.5:
            k += 100
        else:
            c1 += 1
    return s, k, m, c0 * 1000 + c1


@pytest.mark.parametrize("strategy", STRATS)
def test_helpers_with_early_returns_are_inlined(strategy: str) -> None:
    v = np.random.default_rng(4).random(40)
    got = check(HELPERS, strategy, "totals", {"v": v})
    want = totals(v)
    assert all(abs(float(g) - w) < 1e-9 for g, w in zip(got, want)), (got, want)
    if strategy in ("numba", "llvm"):
        result, _ = built(HELPERS, strategy)
        assert result.blocks["totals.b1"].built.strategy_id == strategy


# Array results: the hidden result starts as an empty array of the result's dtype and
# rank, and a caller's loop inlines the callee (its loop ran as Python around the call)
ARRAYS = """
fn head_until(x: f64[N], t: f64) -> f64[?]:
    for i in range(N):
        if x[i] > t:
            return x[:i]
    return x

fn first_row_with(A: i64[N, M], v: i64) -> i64[M]:
    for i in range(N):
        for j in range(M):
            if A[i, j] == v:
                return A[i]
    return zeros((M,), dtype=i64)

fn first_row(x: f64[N, M], t: f64) -> f64[3]:
    for i in range(N):
        if x[i, 0] > t:
            return x[i, :3]
    return zeros((3,))

fn scan(x: f64[N], T: i64) -> (f64, i64[4]):
    let s = 0.0
    let B = reshape(i64(x * 10.0), (N // 4, 4))
    let acc = zeros((4,), dtype=i64)
    for t in range(T):
        s += sum(head_until(x, f64(t) / f64(T)))
        acc += first_row_with(B, t)
    return s, acc
"""


def head_until(x: np.ndarray, t: float) -> np.ndarray:
    hit = np.flatnonzero(x > t)
    return x[:hit[0]] if len(hit) else x


def first_row_with(A: np.ndarray, v: int) -> np.ndarray:
    rows = np.flatnonzero((A == v).any(axis=1))
    return A[rows[0]] if len(rows) else np.zeros(A.shape[1], np.int64)


@pytest.mark.parametrize("strategy", STRATS)
def test_array_results_returned_inside_loops(strategy: str) -> None:
    x = np.random.default_rng(5).random(24)
    for t in (0.5, 2.0, -1.0):
        check(ARRAYS, strategy, "head_until", {"x": x, "t": t}, head_until(x, t))
    B = (x * 10.0).astype(np.int64).reshape(6, 4)
    for v in (int(B[4, 1]), 11):
        check(ARRAYS, strategy, "first_row_with", {"A": B, "v": v}, first_row_with(B, v))
    X = np.arange(12.0).reshape(3, 4)
    for t in (4.0, 100.0):
        check(ARRAYS, strategy, "first_row", {"x": X, "t": t}, X[X[:, 0] > t][0, :3] if t < 8 else np.zeros(3))
    raises_like_reference(ARRAYS, strategy, "first_row", {"x": X[:, :2].copy(), "t": 1.0})  # 2 of 3
    T = 12
    want_s = sum(float(np.sum(head_until(x, t / T))) for t in range(T))
    want_acc = sum(first_row_with(B, t) for t in range(T))
    s, acc = check(ARRAYS, strategy, "scan", {"x": x, "T": T})
    assert abs(s - want_s) < 1e-9 and np.array_equal(acc, want_acc)
    if strategy == "numba":  # (the LLVM back end makes no arrays)
        result, _ = built(ARRAYS, strategy)
        loops = [b for b in result.blocks.values() if b.block_id.startswith("scan.") and b.kind == "loop"]
        assert loops and all(b.built.strategy_id == strategy for b in loops)
