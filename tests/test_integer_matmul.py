"""Integer matrix products are compiled as loop nests (NumPy has no BLAS for integers;
they fell back to NumPy's naive loop): exact, wrapping on overflow as NumPy does, for
every rank combination and mixed integer dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_checks import check, raises_like_reference

SRC = """
fn mm(A: i64[N, K], B: i64[K, M]) -> i64[N, M]:
    return A @ B

fn mv(A: i32[N, K], x: i32[K]) -> i32[N]:
    return A @ x

fn vm(x: i16[K], B: i64[K, M]) -> i64[M]:
    return x @ B

fn vv(x: u8[K], y: u8[K]) -> u8:
    return x @ y

fn loose(x: i64[N, K], y: i64[?, ?], v: i64[?], w: i64[J]) -> (i64[?, ?], i64[?], i64):
    return x @ y, x @ v, dot(v, w)

fn chain(A: i64[N, N], p: i64) -> i64[N, N]:
    let R = A @ A % p
    return R @ A % p
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "numba-fast-par"])
@pytest.mark.parametrize("n, k, m", [(5, 7, 3), (1, 1, 1), (0, 4, 2), (3, 0, 2), (33, 17, 65)])
def test_integer_products(strategy: str, n: int, k: int, m: int) -> None:
    rng = np.random.default_rng(n * 100 + k * 10 + m)
    A = rng.integers(-2**40, 2**40, (n, k))  # products wrap past 2**63, as in NumPy
    B = rng.integers(-2**40, 2**40, (k, m))
    check(SRC, strategy, "mm", {"A": A, "B": B}, A @ B, lowered_by="numba")
    A32 = rng.integers(-2**20, 2**20, (n, k)).astype(np.int32)
    x32 = rng.integers(-2**20, 2**20, k).astype(np.int32)
    check(SRC, strategy, "mv", {"A": A32, "x": x32}, A32 @ x32)
    x16 = rng.integers(-300, 300, k).astype(np.int16)
    check(SRC, strategy, "vm", {"x": x16, "B": B}, x16 @ B)
    u, v = rng.integers(0, 256, (2, k)).astype(np.uint8)
    check(SRC, strategy, "vv", {"x": u, "y": v}, u @ v)
    C = rng.integers(0, 1000, (n, n))
    check(SRC, strategy, "chain", {"A": C, "p": 997}, (C @ C % 997) @ C % 997)


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_mismatched_inner_sizes_raise(strategy: str) -> None:
    """Sizes the checker could not match (`?`, two symbols) are compared at run time:
    the loops read past an operand's end otherwise."""
    ones = np.ones
    ok = {"x": ones((3, 4), np.int64), "y": ones((4, 2), np.int64), "v": ones(4, np.int64), "w": ones(4, np.int64)}
    check(SRC, strategy, "loose", ok, (ok["x"] @ ok["y"], ok["x"] @ ok["v"], 4))
    for bad in ({"y": ones((5, 2), np.int64)}, {"v": ones(1, np.int64)}, {"w": ones(3, np.int64)}):
        raises_like_reference(SRC, strategy, "loose", {**ok, **bad})
