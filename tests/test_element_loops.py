"""Loops that update whole arrays elementwise (`for c in coef: acc = acc * z + c`) run
element-major under the Numba strategies: tiles of elements, each carried through every
iteration while it is in cache (compiler/backends/numba_element_loops.py). Each
element's operations keep their order, so results are the reference's exactly without
fastmath; loops that read other elements, reduce, or may raise in an element op keep
their iteration-major form."""

from __future__ import annotations

import random

import numpy as np
import pytest
from mcodec.compiler.types import NUMPY_NAME
from strategy_checks import built, check, loop_source, raises_like_reference

SRC = """
fn horner(coef: c128[K], z: c128[N]) -> c128[N]:
    let acc = zeros_like(z)
    for c in coef:
        acc = acc * z + c
    return acc

fn logistic(x0: f64[N], r: f64, T: i64) -> f64[N]:
    let x = copy(x0)
    for t in range(T):
        x = r * x * (1.0 - x)
    return x

fn leapfrog(x0: f64[R, C], v0: f64[R, C], dt: f64, T: i64) -> (f64[R, C], f64[R, C]):
    let x = copy(x0)
    let v = copy(v0)
    for t in range(T):
        let a = 0.0 - x - 0.1 * v * f64(t)
        x, v = x + dt * v, v + dt * a
    return x, v

fn series(w: f32[K], x: f32[N]) -> f32[N]:
    let s = zeros_like(x)
    for k in range(1, K, 2):
        let c = w[k] / f32(k)
        s = where(x > c, s + c * x, s - x / c)
    return s

fn counts(x: i32[N], T: i64) -> i32[N]:
    let y = copy(x)
    for t in range(T):
        y = y * 3 + i32(t) >> 1
    return y

fn normalized(x0: f64[N], T: i64) -> f64[N]:
    let x = copy(x0)
    for t in range(T):
        x = x / sum(x)
    return x

fn smooth(x0: f64[N], T: i64) -> f64[N]:
    let x = copy(x0)
    for t in range(T):
        x[1:] = 0.5 * (x[1:] + x[:-1])
    return x

fn rows(x0: f64[R, C], b: f64[C], T: i64) -> f64[R, C]:
    let x = copy(x0)
    for t in range(T):
        x = x * 0.5 + b
    return x

fn cols(x0: f64[R, C], b: f64[R, 1], m: f64[1, C], T: i64) -> f64[R, C]:
    let x = copy(x0)
    for t in range(T):
        x = x * m - b + x0
    return x

fn ipow(x0: i64[N], k: i64[T]) -> i64[N]:
    let x = copy(x0)
    for t in range(T):
        x = x ** k[t] + 1
    return x
"""

# entry -> whether its loop runs element-major
ELEMENT_MAJOR = {"horner": True, "logistic": True, "leapfrog": True, "series": True, "counts": True,
                 "normalized": False, "smooth": False, "rows": True, "ipow": False, "cols": True}
STRATEGIES = ["numba", "numba-par", "numba-fast-par"]


def _args(entry: str, n: int, trips: int) -> dict:
    rng = np.random.default_rng(n + 7 * trips)
    if entry == "horner":
        c = rng.standard_normal(trips) + 1j * rng.standard_normal(trips)
        z = (rng.random(n) - 0.5) + 1j * (rng.random(n) - 0.5)
        return {"coef": c, "z": z}
    if entry == "logistic":
        return {"x0": rng.random(n), "r": 3.7, "T": trips}
    if entry == "cols":
        m = max(n // 3, 1) if n else 0
        return {"x0": rng.standard_normal((3, m)), "b": rng.random((3, 1)), "m": rng.random((1, m)), "T": trips}
    if entry in ("leapfrog", "rows"):
        m = max(n // 3, 1) if n else 0
        shape = (3, m) if entry == "leapfrog" else (m, 3)
        args = {"x0": rng.standard_normal(shape), "T": trips}
        return {**args, "v0": rng.standard_normal(shape), "dt": 0.01} if entry == "leapfrog" else {**args, "b": rng.random(3)}
    if entry == "series":
        return {"w": rng.random(2 * trips + 1).astype(np.float32) + 0.5, "x": rng.random(n).astype(np.float32)}
    if entry == "counts":
        return {"x": rng.integers(-1 << 30, 1 << 30, n).astype(np.int32), "T": trips}
    if entry == "ipow":
        return {"x0": rng.integers(-3, 4, n), "k": rng.integers(0, 4, trips)}
    return {"x0": rng.random(n) + 0.5, "T": trips}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("entry", list(ELEMENT_MAJOR))
def test_element_major_loops(entry: str, strategy: str) -> None:
    body = loop_source(SRC, strategy, entry)
    assert ("element-major loop" in body) == ELEMENT_MAJOR[entry], body
    if ELEMENT_MAJOR[entry]:  # tiles in parallel under the parallel strategies
        assert ("prange(" in body) == (strategy != "numba"), body
    for n in (0, 1, 511, 512, 513, 1300):
        for trips in (0, 1, 6):
            args = _args(entry, n, trips)
            got = check(SRC, strategy, entry, args)
            if ELEMENT_MAJOR[entry] and strategy != "numba-fast-par" and entry != "horner":  # same ops, same order
                _, ref = built(SRC, strategy)
                want = getattr(ref, entry)(**args)
                for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
                    assert g.dtype == w.dtype and np.array_equal(g, w, equal_nan=True), (entry, n, trips)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_scalar_errors_keep_their_order(strategy: str) -> None:
    """The scalar part of an element-major loop runs first, in the loop's order: an index
    out of range raises as in the reference, also when the arrays hold no element."""
    src = """
fn shifted(coef: f64[K], z: f64[N]) -> f64[N]:
    let acc = zeros_like(z)
    for i in range(K):
        acc = acc * z + coef[i + 1]
    return acc
"""
    assert "element-major loop" in loop_source(src, strategy, "shifted")
    for n in (0, 5, 700):
        raises_like_reference(src, strategy, "shifted", {"coef": np.arange(4.0), "z": np.ones(n)})


def _generated(seed: int) -> tuple[str, str, int]:
    """A random loop that updates one or two arrays elementwise from themselves, the
    input, a per-iteration scalar and the loop variable: (source, dtype, rank)."""
    rng = random.Random(seed)
    dt = rng.choice(["f64", "f32", "i64", "i32", "u8", "c128"])
    rank = rng.choice([1, 2, 3])
    shape = ", ".join("NML"[:rank])
    two = rng.random() < 0.5
    arrays = ["x0", "a", *(["x1"] if two else [])]
    ops = ["+", "-", "*", *(["//", "%", "&", "^"] if dt[0] in "iu" else ["/"])]

    def expr(depth: int) -> str:
        if depth == 0 or rng.random() < 0.25:
            return rng.choice([*arrays, "c", "tt", rng.choice(["2", "3"] if dt[0] in "iu" else ["0.5", "1.5"])])
        if rng.random() < 0.2 and dt[0] != "c":
            return f"where({expr(depth - 1)} > {expr(0)}, {expr(depth - 1)}, {expr(depth - 1)})"
        return f"({expr(depth - 1)} {rng.choice(ops)} {expr(depth - 1)})"

    news = [f"astype({expr(3)} {rng.choice('+-*')} {rng.choice(arrays)}, {dt})" for _ in arrays[::2]]
    lo, hi, st = rng.choice([("0", "T", "1"), ("1", "T", "2"), ("T - 1", "-1", "-1")])
    tt = "c128(f64(t))" if dt == "c128" else f"{dt}(t)"
    src = (f"fn f(a: {dt}[{shape}], k: {dt}[T]) -> ({', '.join([f'{dt}[{shape}]'] * len(news))}):\n"
           + "".join(f"    let x{j} = copy(a)\n" for j in range(len(news)))
           + f"    for t in range({lo}, {hi}, {st}):\n        let c = k[t]\n        let tt = {tt}\n"
           + f"        {', '.join(f'x{j}' for j in range(len(news)))} = {', '.join(news)}\n"
           + f"    return {', '.join(f'x{j}' for j in range(len(news)))}\n")
    return src, dt, rank


@pytest.mark.parametrize("seed", range(6))
def test_generated_element_loops(seed: int) -> None:
    src, dt, rank = _generated(seed)
    rng = np.random.default_rng(seed)
    for strategy in STRATEGIES:
        assert "element-major loop" in loop_source(src, strategy, "f"), src
        for last in (0, 3, 700):
            shape = (*rng.integers(1, 4, rank - 1), last)
            a, k = rng.random(shape) * 40, rng.random(5) * 4 + 1
            if dt == "c128":
                a, k = a + 1j * rng.random(shape), k + 1j
            with np.errstate(all="ignore"):
                check(src, strategy, "f", {"a": a.astype(NUMPY_NAME[dt]), "k": k.astype(NUMPY_NAME[dt])})


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_bounds_of_other_integer_types(strategy: str) -> None:
    src = """
fn narrow(x0: f64[N], lo: u8, hi: i32, k: f64[T]) -> f64[N]:
    let x = copy(x0)
    for t in range(lo, hi, 2):
        x = x * 0.5 + k[t]
    return x
"""
    assert "element-major loop" in loop_source(src, strategy, "narrow")
    for lo, hi in [(0, 9), (3, 8), (200, 9), (1, 1)]:
        check(src, strategy, "narrow", {"x0": np.arange(700.0), "lo": np.uint8(lo), "hi": np.int32(hi),
                                        "k": np.arange(10.0)})
