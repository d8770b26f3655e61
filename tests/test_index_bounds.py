"""Bounds-check elimination (compiler/index_bounds.py) and what the back ends do with
it: an index proven in range is not checked; any other raises IndexError as NumPy
does, under every compiled strategy, instead of reading or writing outside the array."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.index_bounds import unchecked_accesses
from mcodec.compiler.stitch import block_views


def unproven_lines(src: str) -> list[int]:
    module = frontend(src, "t.mc")
    return sorted(op.loc.line for fn in module.functions.values() for v in block_views(fn)
                  for op in unchecked_accesses(v.region))


@pytest.mark.parametrize("body, proven", [
    ("for i in range(N):\n        s += x[i]", True),
    ("for i in range(1, N - 1):\n        s += x[i - 1] + x[i + 1]", True),
    ("for i in range(1, N):\n        s += x[i - 1]", True),           # the loop ran: N >= 2
    ("for i in range(N):\n        s += x[0]", True),                # the loop ran: N >= 1
    ("for i in range(N - 1, -1, -1):\n        s += x[i]", True),     # counting down
    ("for i in range(N):\n        for j in range(i):\n            s += A[i, j]", True),
    ("for i in range(N):\n        s += x[i + 1]", False),           # x[N] on the last trip
    ("for i in range(N + 1):\n        s += x[i]", False),
    ("for i in range(M):\n        s += x[i]", False),               # another dim
    ("s += x[0]", False),                                          # N may be 0
    ("s += x[k]", False),                                          # data
    ("s += t[k % 256]", True),                                      # floored modulo
    ("for i in range(N):\n        s += x[k % N]", False),           # (k % 0 is 0 in NumPy)
    ("for i in range(N):\n        s += t[k & 255]", True),          # a mask below t's 256
    ("for i in range(N):\n        s += t[k & 256]", False),
    ("for i in range(N):\n        s += x[idx[i]]", False),          # an index read from data
    ("s += t[u8(k)]", True),                                       # a u8 is below 256
    ("s += t[i64(u8(k))]", True),
    ("s += t[i8(u8(k))]", False),                                  # a narrowing cast: not followed
    ("for i in range(N):\n        s += x[i16(i)]", False),         # (i16(40000) wraps)
    ("for i in range(N):\n        s += x[-N + i]", True),           # negative, wraps as NumPy
    ("for i in range(N):\n        s += x[-N - 1 + i]", False),
    # windows clipped with minimum/maximum: either bound proves its side
    ("for i in range(N):\n        for j in range(minimum(N, i + 1)):\n            s += x[i - j]", True),
    ("for i in range(N):\n        for j in range(maximum(0, i - k), minimum(N, i + k + 1)):\n"
     "            s += x[j]", True),
    ("for i in range(N):\n        for j in range(maximum(-N - 1, i - k), minimum(N, i + k + 1)):\n"
     "            s += x[j]", False),                                  # x[-N - 1]
    ("for i in range(N):\n        for j in range(minimum(N + 1, i + 2)):\n            s += x[j]", False),
    ("for i in range(N):\n        s += t[codes[i]]", True),        # u8 data below t's 256
    ("for i in range(N):\n        s += x[codes[i]]", False),
    ("s += sum(t[codes]) + sum(t[u16(codes)])", False),               # a u16 array may reach 256
    ("s += sum(t[codes])", True),
    ("s += idx[argmin(x)] + idx[argmax(x)]", True),                 # a position in x (N of them)
    ("s += t[argmax(x)]", False),                                  # x may be longer than t
    ("s += x[argmax(A)]", False),                                  # a flat position in A: N * N
])
def test_which_indices_are_proven(body: str, proven: bool) -> None:
    src = (f"fn f(x: f64[N], A: f64[N, N], t: f64[256], idx: i64[N], M: i64, k: i64, codes: u8[N]) -> f64:\n"
           f"    let s = 0.0\n    {body}\n    return s\n")
    assert (unproven_lines(src) == []) is proven, unproven_lines(src)


@pytest.mark.parametrize("src, proven", [
    # an output made with zeros((h, w)) and filled in loops over range(h), range(w)
    ("fn f(h: i64, w: i64) -> i64[?, ?]:\n    let c = zeros((h, w), dtype=i64)\n"
     "    for y in range(h):\n        for x in range(w):\n            c[y, x] = y + x\n    return c\n", True),
    ("fn f(h: i64, w: i64) -> i64[?, ?]:\n    let c = zeros((h, w), dtype=i64)\n"
     "    for y in range(w):\n        for x in range(h):\n            c[y, x] = y + x\n    return c\n", False),
    # j counts from i + 1, so i + 1 <= j <= N - 1 (nussinov)
    ("fn f(inout t: i32[N, N]):\n    for i in range(N - 1, -1, -1):\n        for j in range(i + 1, N):\n"
     "            t[i, j] = t[i + 1, j]\n", True),
    ("fn f(x: f64[?]) -> f64:\n    let s = 0.0\n    for i in range(x.shape[0]):\n        s += x[i]\n"
     "    return s\n", True),
    # a loop-carried array rebound to another shape is not the array it started as
    ("fn f(n: i64, m: i64) -> f64:\n    let a = zeros((n,), dtype=f64)\n    let s = 0.0\n"
     "    for t in range(3):\n        for i in range(n):\n            s += a[i]\n        a = zeros((m,), dtype=f64)\n"
     "    return s\n", False),
    ("fn f(x: f64[N]) -> f64:\n    let s = 0.0\n    let i = 0\n    while i < N:\n        s += x[i]\n"
     "        i += 1\n    return s\n", False),  # (no facts from conditions)
])
def test_relations_and_array_origins(src: str, proven: bool) -> None:
    assert (unproven_lines(src) == []) is proven, unproven_lines(src)


SRC = """fn at(x: f64[N], i: i64) -> f64:
    return x[i]

fn put(inout x: f64[N], i: i64):
    x[i] = 1.0

fn gather_loop(x: f64[N], idx: i64[K]) -> f64:
    let s = 0.0
    for k in range(K):
        s += x[idx[k]]
    return s

fn gather(x: f32[N], idx: i64[K]) -> f32[K]:
    return x[idx] * 2.0

fn gather_rows(x: f64[N], idx: i64[K]) -> f64[K]:
    let y = zeros((K,), dtype=f64)
    for i in range(K):
        y[i] = x[idx[i]] * 2.0
    return y
"""

COMPILED = ("numba", "numba-par", "numba-fast", "llvm", "llvm-fast", "mlx-cpu")


@pytest.fixture(scope="module")
def built() -> dict:
    out = {}
    for s in COMPILED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            out[s] = build_module(frontend(SRC, "oob.mc"), default=s, use_cache=False)
    return out


@pytest.mark.parametrize("strategy", COMPILED)
def test_out_of_range_index_raises_index_error(built: dict, strategy: str) -> None:
    p = built[strategy].program
    x = np.arange(4.0)
    far = np.zeros(10_000, np.int64)
    far[5_000] = 99
    for call in (lambda: p.at(x, 4), lambda: p.at(x, -5), lambda: p.put(x.copy(), 9),
                 lambda: p.gather_loop(x, np.array([0, 7])), lambda: p.gather(x.astype(np.float32), np.array([1, -9])),
                 lambda: p.gather_rows(x, far)):  # (a loop Numba would run in threads)
        with pytest.raises(IndexError):
            call()
    # in range, negative indices wrap as in NumPy
    assert p.at(x, -1) == 3.0
    assert p.gather_loop(x, np.array([0, -1])) == 3.0
    np.testing.assert_array_equal(p.gather(x.astype(np.float32), np.array([-1, 0])), [6.0, 0.0])
    y = x.copy()
    p.put(y, -4)
    assert y[0] == 1.0


def test_only_unproven_indices_are_checked(built: dict) -> None:
    for strategy in ("llvm", "llvm-fast"):
        blocks = built[strategy].blocks
        assert all(blocks[b].built.strategy_id == strategy for b in ("at.b0", "put.b0", "gather_loop.b1"))
        # native code: one check (its compare and branch to the status return) per unproven index
        assert blocks["gather_loop.b1"].built.source.count("br i1") >= 2  # (the loop's, the check's)
        assert "fail1" in blocks["gather_loop.b1"].built.source and "fail1" in blocks["at.b0"].built.source
        assert "fail" not in blocks["gather_loop.b0"].built.source
    # Numba checks the unproven index alone: x[idx[k]], not idx[k] for k in range(K)
    source = built["numba"].blocks["gather_loop.b1"].built.source
    assert source.count("checked_index(") == 1 and "checked_index(idx" not in source


def test_a_range_step_that_may_be_zero_raises_as_python_does() -> None:
    src = "fn steps(n: i64, s: i64) -> i64:\n    let c = 0\n    for i in range(0, n, s):\n        c += 1\n    return c\n"
    for strategy in ("llvm", "numba"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            p = build_module(frontend(src, "steps.mc"), default=strategy, use_cache=False).program
        assert (p.steps(10, 3), p.steps(10, -1)) == (4, 0)
        with pytest.raises(ValueError, match="must not be zero"):
            p.steps(10, 0)
