"""Hold-out batch 11: programs written to the language contract that found bugs, each
checked against NumPy computed here, never through mcodec.

* `arange` with float bounds or a float dtype under Numba (and the back ends that fall
  back to it): Numba computes `start + i * step` in f64 and casts each element, where
  NumPy casts `start` and `start + step` to the dtype and steps by their difference in
  it. `arange(0.0, 2.0, 0.3, dtype=i64)` is all 0s in NumPy (its step is i64(0.3) -
  i64(0.0)); Numba gave 0 0 0 0 1 1 1. Float ranges differed in the last bit.
* `outer` of narrow integers fused into its one user under Numba: the product was
  Numba's 64-bit one, never wrapped to the dtype (u8 200 * 3 gave 600, NumPy's 88).
* i64 `+ - *` in Numba code carry `nsw` (signed overflow cannot happen), so LLVM folded
  `x + 1 > x` to true and `x + INT_MIN` to `x | INT_MIN`, where NumPy wraps.
* MLX: a u64 literal at or above 2**63 (`x & 9223372036854775808`, an FNV offset)
  raised std::bad_cast at every call."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_checks import check

STRATS = ["numpy-mem", "numba", "numba-par", "llvm", "mlx-cpu"]

ARANGE = """
fn ints(a: f64, b: f64, s: f64) -> i64[?]:
    return arange(a, b, s, dtype=i64)

fn small(a: f64, b: f64, s: f64) -> i8[?]:
    return arange(a, b, s, dtype=i8)

fn unsigned(a: f64, b: f64, s: f64) -> u8[?]:
    return arange(a, b, s, dtype=u8)

fn single(a: f64, b: f64, s: f64) -> f64[?]:
    return arange(a, b, s, dtype=f32) * 1.0

fn literal() -> f64[?]:
    return arange(0.0, 1.0, 0.1, dtype=f32) * 1.0

fn wide(a: f64, b: f64, s: f64) -> f64[?]:
    return arange(a, b, s)

fn from_single(a: f32, b: f64) -> f64[?]:
    return arange(a, b)

fn int_bounds(a: i64, b: i64, s: i64) -> f64[?]:
    return arange(a, b, s, dtype=f32) * 1.0
"""


@pytest.mark.parametrize("strategy", STRATS)
def test_arange_values_are_numpys(strategy: str) -> None:
    for a, b, s in [(0.0, 2.0, 0.3), (0.5, 5.0, 1.5), (-3.7, 4.2, 0.9), (10.0, -2.0, -1.3)]:
        check(ARANGE, strategy, "ints", {"a": a, "b": b, "s": s}, np.arange(a, b, s, dtype=np.int64))
    check(ARANGE, strategy, "small", {"a": -5.5, "b": 300.0, "s": 2.5}, np.arange(-5.5, 300.0, 2.5, dtype=np.int8))
    check(ARANGE, strategy, "unsigned", {"a": 0.5, "b": 400.0, "s": 3.3}, np.arange(0.5, 400.0, 3.3, dtype=np.uint8))
    for a, b, s in [(0.3, 100.0, 0.7), (0.1, 1.0, 0.1)]:
        want = np.arange(a, b, s, dtype=np.float32).astype(np.float64)
        got = check(ARANGE, strategy, "single", {"a": a, "b": b, "s": s}, want)
        np.testing.assert_array_equal(got, want)  # bit for bit: the tolerance would hide an ulp
        got = check(ARANGE, strategy, "wide", {"a": a, "b": b, "s": s}, np.arange(a, b, s))
        np.testing.assert_array_equal(got, np.arange(a, b, s))
    want = np.arange(0.0, 1.0, 0.1, dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(check(ARANGE, strategy, "literal", {}, want), want)
    a32 = np.float32(0.1)
    want = np.arange(a32, 5.3)  # f32(0.1) + 1 is an f32 sum in NumPy
    np.testing.assert_array_equal(check(ARANGE, strategy, "from_single", {"a": a32, "b": 5.3}, want), want)
    want = np.arange(16777215, 16777230, 1, dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(check(ARANGE, strategy, "int_bounds", {"a": 16777215, "b": 16777230, "s": 1}, want),
                                  want)


OUTER = """
fn scaled(a: u8[N], b: u8[M]) -> f64[N, M]:
    return outer(a, b) * 1.0

fn total(a: i32[N], b: i32[M]) -> i64:
    return sum(outer(a, b))
"""


@pytest.mark.parametrize("strategy", STRATS)
def test_fused_outer_of_narrow_integers_wraps(strategy: str) -> None:
    a, b = np.array([200, 17], np.uint8), np.array([3, 255], np.uint8)
    check(OUTER, strategy, "scaled", {"a": a, "b": b}, np.outer(a, b) * 1.0)
    ai, bi = np.array([2**30, 3], np.int32), np.array([4, 70000], np.int32)
    check(OUTER, strategy, "total", {"a": ai, "b": bi}, np.sum(np.outer(ai, bi)))


WRAPS = """
fn wrap_cmp(x: i64[N]) -> bool[N]:
    return x + 1 > x

fn wrap_loop(x: i64[N]) -> i64:
    let c = 0
    for i in range(N):
        if x[i] + 1 < x[i]:
            c += 1
    return c

fn add_min(x: i64[N]) -> i64[N]:
    return x + (-9223372036854775807 - 1)

fn halves(x: i64[N]) -> bool[N]:
    return (x * 2) // 2 == x

fn scalar(a: i64) -> bool:
    return a + 1 > a

fn sign_flips(x: i64[N]) -> i64:
    let c = 0
    for i in range(N):
        if x[i] * 4 < 0 and x[i] > 0:
            c += 1
    return c
"""


@pytest.mark.parametrize("strategy", STRATS)
def test_i64_arithmetic_wraps_as_numpy(strategy: str) -> None:
    big = np.iinfo(np.int64).max
    x = np.array([5, big, np.iinfo(np.int64).min, -3, 2**62], np.int64)
    with np.errstate(over="ignore"):
        check(WRAPS, strategy, "wrap_cmp", {"x": x}, x + 1 > x)
        check(WRAPS, strategy, "wrap_loop", {"x": x}, np.int64(np.sum(x + 1 < x)))
        check(WRAPS, strategy, "add_min", {"x": x}, x + np.iinfo(np.int64).min)
        check(WRAPS, strategy, "halves", {"x": x}, (x * 2) // 2 == x)
        check(WRAPS, strategy, "sign_flips", {"x": x}, np.int64(np.sum((x * 4 < 0) & (x > 0))))
    check(WRAPS, strategy, "scalar", {"a": big}, False)
    check(WRAPS, strategy, "scalar", {"a": 7}, True)


U64_LITERALS = """
fn fnv(x: u64[N]) -> u64[N]:
    let h = (x * 0 + 14695981039346656037) ^ x
    return h * 1099511628211

fn top_bit(x: u64[N]) -> u64[N]:
    return x & 9223372036854775808

fn is_max(x: u64[N]) -> bool[N]:
    return x == 18446744073709551615
"""


@pytest.mark.parametrize("strategy", STRATS)
def test_u64_literals_beyond_i64(strategy: str) -> None:
    x = np.array([1, 2, 2**64 - 1], np.uint64)
    with np.errstate(over="ignore"):
        want = ((x * np.uint64(0) + np.uint64(14695981039346656037)) ^ x) * np.uint64(1099511628211)
    check(U64_LITERALS, strategy, "fnv", {"x": x}, want)
    check(U64_LITERALS, strategy, "top_bit", {"x": x}, x & np.uint64(2**63))
    check(U64_LITERALS, strategy, "is_max", {"x": x}, x == np.uint64(2**64 - 1))
