"""Held-out batch 7a: language semantics through the whole pipeline. About forty small
programs written to the language contract (integers near their limits, bool arithmetic,
NumPy 2 promotion, complex numbers, strided and negative-step slices, multi-axis
reductions, NaN/inf, empty and one-element arrays, while loops, calls with inout views,
tuple results and defaults, loops a parallel back end must keep serial), each checked
against an expected value computed directly in NumPy, under the reference lowering and
every strategy; programs the contract forbids are rejected with a located diagnostic."""

from __future__ import annotations

import copy
import io
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus_util import assert_same
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.reference import reference_program

STRATEGIES = ["reference", "numpy-mem", "numba", "numba-par", "numba-fast", "llvm", "llvm-fast", "mlx-cpu"]
SOURCES: list[tuple[str, str, list[tuple[str, dict[str, Any], Any]]]] = []


def add(name: str, src: str, cases: list[tuple[str, dict[str, Any], Any]]) -> None:
    """A program and its cases (entry, arguments, want): want is the NumPy value, an
    exception type the call must raise, or a check(result, arguments after the call)."""
    SOURCES.append((name, src, cases))


# the expected values below overflow, divide by zero and take NaNs as the programs do
_ERRSTATE = np.seterr(all="ignore")
_WARNINGS = warnings.catch_warnings()
_WARNINGS.__enter__()
warnings.simplefilter("ignore", RuntimeWarning)  # (var with ddof >= n, mean of empty slices)


# ---- integers near their limits: wraparound, floor division and modulo of negatives, shifts
# --- integer wraparound
INT_SRC = """fn wrap8(x: i8[N]) -> i8[N]:
    return x * x + x

fn u8sub(a: u8[N], b: u8[N]) -> (u8[N], u8[N]):
    return a - b, a + b * 2

fn fdm(a: i64[N], b: i64[N]) -> (i64[N], i64[N]):
    return a // b, a % b

fn sfd(n: i64) -> i64:
    let s = 0
    for i in range(-n, n):
        s += (i // 3) * 7 + i % 5 + (i // -4) - i % -3
    return s

fn shifts(x: u32[N], k: i64) -> (u32[N], i64[N], u32[N]):
    return x << 3, x >> k, (x << 28) >> 28

fn lcg(x: u64[N]) -> u64[N]:
    return x * 6364136223846793005 + 1442695040888963407

fn acc16(x: i16[N]) -> i16:
    let s = i16(0)
    for v in x:
        s += v
    return s

fn sums_small(a: i8[N], b: u8[N], c: i32[N], d: bool[N]) -> (i64, u64, i64, f64, i64):
    return sum(a), sum(b), prod(c), mean(c), sum(d)

fn fact(n: i64) -> i64:
    let p = 1
    for i in range(1, n + 1):
        p *= i
    return p

fn fnv1a(data: u8[N]) -> u32:
    let h = u32(2166136261)
    for b in data:
        h = (h ^ u32(b)) * u32(16777619)
    return h

fn xorshift(seed: u64, n: i64) -> u64[?]:
    let x = seed
    let out = zeros((n,), dtype=u64)
    for i in range(n):
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        out[i] = x
    return out

fn absmin(x: i8[N]) -> (i8[N], i8[N]):
    return abs(x), -x
"""


def np_fact(n):
    p = np.int64(1)
    for i in range(1, n + 1):
        p = p * np.int64(i)
    return p


def np_xs(seed, n):
    x = np.uint64(seed)
    out = np.zeros(n, np.uint64)
    for i in range(n):
        x ^= x << np.uint64(13)
        x ^= x >> np.uint64(7)
        x ^= x << np.uint64(17)
        out[i] = x
    return out


def np_fnv(d):
    h = np.uint32(2166136261)
    for b in d:
        h = (h ^ np.uint32(b)) * np.uint32(16777619)
    return h


x8 = np.array([127, -128, 100, -7, 0, 50], np.int8)
a8 = np.array([0, 1, 200, 255], np.uint8)
b8 = np.array([1, 2, 100, 255], np.uint8)
ia = np.array([7, -7, 7, -7, 0, -1, 9223372036854775807, -9223372036854775807 - 1])
ib = np.array([2, 2, -2, -2, 5, 3, 2, 3])
u32 = np.array([1, 0xFFFFFFFF, 0x12345678, 15], np.uint32)
u64 = np.array([0, 1, 2**63, 2**64 - 1], np.uint64)
i16 = np.array([30000, 30000, -1000, 5000], np.int16)
sa = np.array([100, 100, 100], np.int8)
sb = np.array([200, 200, 255], np.uint8)
sc = np.array([70000, 70000, 3], np.int32)
sd = np.array([True, False, True])


def sfd(n):
    s = 0
    for i in range(-n, n):
        s += (i // 3) * 7 + i % 5 + (i // -4) - i % -3
    return np.int64(s)


data = np.frombuffer(b"hello, world", np.uint8).copy()
add(
    "ints",
    INT_SRC,
    [
        ("wrap8", {"x": x8}, x8 * x8 + x8),
        ("u8sub", {"a": a8, "b": b8}, (a8 - b8, a8 + b8 * np.uint8(2))),
        ("fdm", {"a": ia, "b": ib}, (ia // ib, ia % ib)),
        ("sfd", {"n": 10}, sfd(10)),
        ("shifts", {"x": u32, "k": 2}, (u32 << 3, u32 >> np.int64(2), (u32 << 28) >> 28)),
        ("lcg", {"x": u64}, u64 * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)),
        ("acc16", {"x": i16}, np.int16(np.sum(i16, dtype=np.int16))),
        (
            "sums_small",
            {"a": sa, "b": sb, "c": sc, "d": sd},
            (np.sum(sa), np.sum(sb), np.prod(sc), np.mean(sc), np.sum(sd)),
        ),
        ("fact", {"n": 25}, np_fact(25)),
        ("fnv1a", {"data": data}, np_fnv(data)),
        ("xorshift", {"seed": np.uint64(88172645463325252), "n": 5}, np_xs(88172645463325252, 5)),
        ("absmin", {"x": x8}, (np.abs(x8), -x8)),
    ],
)

BOOL_SRC = """fn bools(a: bool[N], b: bool[N]) -> (bool[N], bool[N], i64, bool[N], bool[N], i64[N], f64[N]):
    return a + b, a * b, sum(a & b), a ^ b, ~a, a + 1, a * 2.5

fn count_true(x: f64[N], t: f64) -> (i64, i64, f64):
    let c = 0
    for v in x:
        c += i64(v > t)
    return c, sum(x > t), mean(x > t)

fn mixed(a: i32[N], b: f32[N], c: u8[N], d: i8[N], e: u64[N], f: i64[N]) -> (f64[N], f64[N], i16[N], f64[N], i32[N], f32[N]):
    return a + 1.5, b + f, c + d, e + f, a * 2, b * 3
"""
ba = np.array([True, True, False, False])
bb = np.array([True, False, True, False])
xx = np.array([0.5, 1.5, -2.0, 3.0, 1.0])
ma = np.array([1, -2, 2**31 - 1], np.int32)
mb = np.array([1.5, 2.5, 3.5], np.float32)
mc = np.array([255, 0, 7], np.uint8)
md = np.array([-128, 127, -1], np.int8)
me = np.array([2**64 - 1, 0, 5], np.uint64)
mf = np.array([-1, 2, 3])
add(
    "bools",
    BOOL_SRC,
    [
        ("bools", {"a": ba, "b": bb}, (ba + bb, ba * bb, np.sum(ba & bb), ba ^ bb, ~ba, ba + 1, ba * 2.5)),
        ("count_true", {"x": xx, "t": 1.0}, (np.int64(2), np.sum(xx > 1.0), np.mean(xx > 1.0))),
        (
            "mixed",
            {"a": ma, "b": mb, "c": mc, "d": md, "e": me, "f": mf},
            (ma + 1.5, mb + mf, mc + md, me + mf, ma * 2, mb * 3),
        ),
    ],
)

CPLX_SRC = """fn cplx(z: c128[N], w: c64[N]) -> (c128[N], f64[N], c64[N], f32[N], c128):
    return z * w, abs(z), conj(w) * 2.0, imag(w), sum(z * conj(z))

fn cexp(z: c128[N]) -> (c128[N], c128[N], f64[N], f64[N]):
    return exp(z), sqrt(z), real(z * z), real(z) ** 2 - imag(z) ** 2

fn rotate(n: i64, theta: f64) -> c128:
    let acc = zeros((1,), dtype=c128)
    acc[0] = c128(1.0)
    for i in range(n):
        acc[0] = acc[0] * (cos(theta) + sqrt(zeros((1,), dtype=c128) - 1.0)[0] * sin(theta))
    return acc[0]

fn cmat(A: c128[N, N], x: c128[N]) -> (c128[N], c128):
    return A @ x, trace(A)
"""
z = np.array([1 + 2j, -3 + 0.5j, 0j, -4 + 0j])
wv = np.array([2 - 1j, 0.5j, 1 + 1j, -1 + 0j], np.complex64)


def rot(n, th):
    acc = np.complex128(1.0)
    for _ in range(n):
        acc = acc * (np.cos(th) + np.sqrt(np.complex128(-1.0)) * np.sin(th))
    return acc


A = np.array([[1 + 1j, 2], [3j, -1 - 1j]])
xv = np.array([1j, 2 + 0j])
add(
    "cplx",
    CPLX_SRC,
    [
        (
            "cplx",
            {"z": z, "w": wv},
            (z * wv, np.abs(z), np.conj(wv) * 2.0, np.imag(wv), np.sum(z * np.conj(z))),
        ),
        ("cexp", {"z": z}, (np.exp(z), np.sqrt(z), np.real(z * z), np.real(z) ** 2 - np.imag(z) ** 2)),
        ("rotate", {"n": 6, "theta": np.pi / 3}, rot(6, np.pi / 3)),
        ("cmat", {"A": A, "x": xv}, (A @ xv, np.trace(A))),
    ],
)


# ---- negative-step and strided slices, multi-axis reductions, size-1 broadcasting, NaN/inf
SL_SRC = """fn slices(x: f64[N], A: f64[N, M]) -> (f64[?], f64[?], f64[?], f64[?, ?], f64[?], f64[?]):
    return x[::-1], x[-2:0:-2], x[5:1:-1], A[::-1, 1::2], x[N:0:-3], x[-100:100:3]

fn strided_store(x: f64[N]) -> f64[N]:
    let y = zeros((N,), dtype=f64)
    y[::3] = x[1::3][0]
    y[N - 1:0:-2] += x[:N // 2]
    y[::-1][0] = -5.0
    return y

fn rev_accum(x: f64[N]) -> f64[N]:
    let y = copy(x)
    for i in range(N - 2, -1, -1):
        y[i] += y[i + 1]
    return y

fn swap_halves(inout x: i32[N]):
    let h = N // 2
    let t = copy(x[:h])
    x[:h] = x[N - h:]
    x[N - h:] = t
"""
x = np.arange(10.0) * 1.5 - 3
A = np.arange(20.0).reshape(4, 5)


def strided(x):
    N = len(x)
    y = np.zeros(N)
    y[::3] = x[1::3][0]
    y[N - 1 : 0 : -2] += x[: N // 2]
    y[::-1][0] = -5.0
    return y


def rev(x):
    y = x.copy()
    for i in range(len(x) - 2, -1, -1):
        y[i] += y[i + 1]
    return y


def swap_check(got, args):
    xs = np.arange(7, dtype=np.int32)
    h = 3
    t = xs[:h].copy()
    xs[:h] = xs[7 - h :]
    xs[7 - h :] = t
    assert got is None and np.array_equal(args["x"], xs) and args["x"].dtype == np.int32, (got, args["x"])


add(
    "slices",
    SL_SRC,
    [
        (
            "slices",
            {"x": x, "A": np.arange(50.0).reshape(10, 5)},
            (
                x[::-1],
                x[-2:0:-2],
                x[5:1:-1],
                np.arange(50.0).reshape(10, 5)[::-1, 1::2],
                x[10:0:-3],
                x[-100:100:3],
            ),
        ),
        ("strided_store", {"x": x}, strided(x)),
        ("rev_accum", {"x": x}, rev(x)),
        ("swap_halves", {"x": np.arange(7, dtype=np.int32)}, swap_check),
    ],
)

RED_SRC = """fn reds(A: f64[P, Q, R]) -> (f64[1, Q, 1], f64[P], f64[Q], f64[P, 1, 1], f64[R], i64[Q, R], f64[Q]):
    return sum(A, axis=(0, 2), keepdims=true), max(A, axis=(1, 2)), mean(A, axis=(0, 2)), std(A, axis=(1, 2), keepdims=true), var(A, axis=(0, 1)), argmax(A, axis=0), min(A, axis=(-1, 0))
"""
RED_SRC = """fn reds(A: f64[P, Q, R]) -> (f64[1, Q, 1], f64[P], f64[Q], f64[P, 1, 1], f64[R], i64[Q, R], f64[Q]):
    return sum(A, axis=(0, 2), keepdims=true), max(A, axis=(1, 2)), mean(A, axis=(0, 2)), std(A, axis=(1, 2), keepdims=true), var(A, axis=(0, 1)), argmax(A, axis=0), min(A, axis=(-1, 0))

fn ireds(A: i32[P, Q]) -> (i64[Q], i32[P], i64, f64[1, Q], bool[P], bool[Q], i64[P]):
    return sum(A, axis=0), max(A, axis=1), prod(A), mean(A, axis=0, keepdims=true), any(A > 3, axis=1), all(A != 0, axis=0), argmin(A, axis=1)

fn f32red(x: f32[N, M]) -> (f32, f32[M], f32, f32[N]):
    return sum(x), mean(x, axis=0), std(x), var(x, axis=1)

fn bcast(a: f64[N, 1], b: f64[1, M], c: f64[1, 1, K]) -> (f64[N, M], f64[N, M, K], f64[1, M]):
    return a * b, (a + b)[:, :, newaxis] - c[0], sum(a - b, axis=0, keepdims=true)

fn reshape_red(x: f64[N]) -> (f64[?], f64[?], f64[?, ?]):
    let B = reshape(x, (N // 6, 2, 3))
    return sum(B, axis=1)[:, 0], max(transpose(reshape(x, (6, N // 6))), axis=0), transpose(B[:, 1, :])
"""
rng = np.random.default_rng(1)
A3 = rng.normal(size=(3, 4, 5))
Ai = np.array([[1, -2, 3, 70000], [4, 5, -6, 70000], [0, 8, 9, 1]], np.int32)
x32 = rng.normal(size=(5, 7)).astype(np.float32)
ba, bb, bc = rng.normal(size=(3, 1)), rng.normal(size=(1, 4)), rng.normal(size=(1, 1, 2))
xr = np.arange(24.0) ** 1.3
B = xr.reshape(4, 2, 3)
add(
    "reds",
    RED_SRC,
    [
        (
            "reds",
            {"A": A3},
            (
                A3.sum(axis=(0, 2), keepdims=True),
                A3.max(axis=(1, 2)),
                A3.mean(axis=(0, 2)),
                A3.std(axis=(1, 2), keepdims=True),
                A3.var(axis=(0, 1)),
                A3.argmax(axis=0),
                A3.min(axis=(-1, 0)),
            ),
        ),
        (
            "ireds",
            {"A": Ai},
            (
                Ai.sum(axis=0),
                Ai.max(axis=1),
                Ai.prod(),
                Ai.mean(axis=0, keepdims=True),
                (Ai > 3).any(axis=1),
                (Ai != 0).all(axis=0),
                Ai.argmin(axis=1),
            ),
        ),
        ("f32red", {"x": x32}, (x32.sum(), x32.mean(axis=0), x32.std(), x32.var(axis=1))),
        (
            "bcast",
            {"a": ba, "b": bb, "c": bc},
            (ba * bb, (ba + bb)[:, :, None] - bc[0], (ba - bb).sum(axis=0, keepdims=True)),
        ),
        ("reshape_red", {"x": xr}, (B.sum(axis=1)[:, 0], xr.reshape(6, 4).T.max(axis=0), B[:, 1, :].T)),
    ],
)

NAN_SRC = """fn nanops(x: f64[N], y: f64[N]) -> (f64[N], f64[N], f64[N], f64[N], f64[N], bool[N]):
    return maximum(x, y), minimum(x, 0.0), clip(x, -1.0, 1.0), where(isnan(x), 0.0, x), where(x > y, x, y), isinf(x * 2.0)

fn nanred(x: f64[N]) -> (f64, f64, i64, i64, f64, f64):
    return max(x), min(x), argmax(x), argmin(x), sum(x), mean(x)

fn f32nan(x: f32[N]) -> (f32[N], f32[N], f32, f32[N]):
    return maximum(x, 1.0), clip(x, 0.0, 2.0), max(x), sign(x)

fn safe_log(x: f64[N]) -> f64[N]:
    return where(x > 0.0, log(maximum(x, 1e-300)), -inf_sub(x))

fn inf_sub(x: f64[N]) -> f64[N]:
    return zeros_like(x) + 1e308 * 10.0
"""
xn = np.array([1.0, np.nan, -np.inf, np.inf, -0.5, 3.0, np.nan, -0.0])
yn = np.array([np.nan, 2.0, 0.0, np.nan, -1.0, 5.0, np.nan, 0.0])
xf = xn.astype(np.float32)
xn2 = np.array([1.0, -np.inf, 3.0, np.nan, 7.0, np.nan])
xn3 = np.array([1.0, -np.inf, 3.0, np.inf, -2.0])
sx = np.array([2.0, 0.0, -1.0, 1e-310])
add(
    "nan",
    NAN_SRC,
    [
        (
            "nanops",
            {"x": xn, "y": yn},
            (
                np.maximum(xn, yn),
                np.minimum(xn, 0.0),
                np.clip(xn, -1.0, 1.0),
                np.where(np.isnan(xn), 0.0, xn),
                np.where(xn > yn, xn, yn),
                np.isinf(xn * 2.0),
            ),
        ),
        (
            "nanred",
            {"x": xn2},
            (np.max(xn2), np.min(xn2), np.argmax(xn2), np.argmin(xn2), np.sum(xn2), np.mean(xn2)),
        ),
        (
            "nanred",
            {"x": xn3},
            (np.max(xn3), np.min(xn3), np.argmax(xn3), np.argmin(xn3), np.sum(xn3), np.mean(xn3)),
        ),
        ("f32nan", {"x": xf}, (np.maximum(xf, 1.0), np.clip(xf, 0.0, 2.0), np.max(xf), np.sign(xf))),
        (
            "safe_log",
            {"x": sx},
            np.where(sx > 0.0, np.log(np.maximum(sx, 1e-300)), -(np.zeros_like(sx) + 1e308 * 10.0)),
        ),
    ],
)


# ---- data-dependent while loops, calls (inout views, tuple results, defaults), empty arrays
W_SRC = """fn newton_sqrt(a: f64[N], tol: f64 = 1e-12) -> (f64[N], i64):
    let x = a * 0.5 + 0.5
    let it = 0
    while max(abs(x * x - a)) > tol and it < 100:
        x = 0.5 * (x + a / x)
        it += 1
    return x, it

fn collatz(n0: i64) -> i64:
    let n = n0
    let steps = 0
    while n != 1:
        if n % 2 == 0:
            n //= 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps

fn bisect(lo0: f64, hi0: f64) -> f64:
    let lo = lo0
    let hi = hi0
    while hi - lo > 1e-10:
        let mid = 0.5 * (lo + hi)
        if mid * mid * mid - 2.0 * mid - 5.0 > 0.0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)

fn first_above(x: f64[N], t: f64) -> i64:
    let i = 0
    while i < N:
        if x[i] > t:
            break
        i += 1
    return i

fn skip_sum(x: i64[N]) -> i64:
    let s = 0
    let i = 0
    while true:
        if i >= N:
            break
        let v = x[i]
        i += 1
        if v < 0:
            continue
        s += v
    return s

fn gcd(a0: i64, b0: i64) -> i64:
    let a = a0
    let b = b0
    while b != 0:
        a, b = b, a % b
    return a
"""


def nsq(a, tol=1e-12):
    x = a * 0.5 + 0.5
    it = 0
    while np.max(np.abs(x * x - a)) > tol and it < 100:
        x = 0.5 * (x + a / x)
        it += 1
    return x, np.int64(it)


def coll(n):
    s = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        s += 1
    return np.int64(s)


def bis(lo, hi):
    while hi - lo > 1e-10:
        mid = 0.5 * (lo + hi)
        if mid**3 - 2 * mid - 5 > 0:
            hi = mid
        else:
            lo = mid
    return np.float64(0.5 * (lo + hi))


av = np.array([2.0, 9.0, 0.25, 1e6])
xs = np.array([0.1, 0.5, 0.3, 2.0, 0.7])
ks = np.array([3, -1, 4, -1, 5, -9, 2, 6])
add(
    "while",
    W_SRC,
    [
        ("newton_sqrt", {"a": av}, nsq(av)),
        ("newton_sqrt", {"a": av, "tol": 1e-3}, nsq(av, 1e-3)),
        ("collatz", {"n0": 27}, coll(27)),
        ("bisect", {"lo0": 0.0, "hi0": 3.0}, bis(0.0, 3.0)),
        ("first_above", {"x": xs, "t": 0.6}, np.int64(3)),
        ("first_above", {"x": xs, "t": 5.0}, np.int64(5)),
        ("skip_sum", {"x": ks}, np.int64(ks[ks >= 0].sum())),
        ("gcd", {"a0": 1071, "b0": -462}, np.int64(-21)),
    ],
)

FN_SRC = """fn axpy(a: f64, x: f64[N], inout y: f64[N]):
    y += a * x

fn stats(x: f64[N], ddof: i64 = 0) -> (f64, f64):
    let m = mean(x)
    let v = sum((x - m) ** 2) / f64(N - ddof)
    return m, v

fn normalize(inout x: f64[N], eps: f64 = 1e-8) -> f64:
    let m, v = stats(x)
    x[:] = (x - m) / sqrt(v + eps)
    return v

fn driver(X: f64[R, N]) -> (f64[R, N], f64[R], f64[R], f64):
    let Y = copy(X)
    let vs = zeros((R,), dtype=f64)
    let ms = zeros((R,), dtype=f64)
    for r in range(R):
        vs[r] = normalize(Y[r])
        let m, v = stats(X[r], 1)
        ms[r] = v
    let acc = zeros((N,), dtype=f64)
    for r in range(R):
        axpy(f64(r + 1), Y[r], acc)
    return Y, vs, ms, sum(acc)

fn clamp_count(inout x: i32[N], lo: i32, hi: i32 = 10) -> i64:
    let c = 0
    for i in range(N):
        if x[i] < lo:
            x[i] = lo
            c += 1
        elif x[i] > hi:
            x[i] = hi
            c += 1
    return c

fn call_defaults(x: i32[N]) -> (i64, i64, i32[N]):
    let y = copy(x)
    let a = clamp_count(y, i32(0))
    let b = clamp_count(y, i32(2), i32(5))
    return a, b, y

fn minmax(x: f64[N]) -> (f64, f64):
    return min(x), max(x)

fn rescale(x: f64[N]) -> f64[N]:
    let lo, hi = minmax(x)
    return (x - lo) / (hi - lo)
"""
rng = np.random.default_rng(3)
X = rng.normal(size=(3, 6))


def drv(X):
    Y = X.copy()
    vs = np.zeros(3)
    ms = np.zeros(3)
    for r in range(3):
        m = Y[r].mean()
        v = ((Y[r] - m) ** 2).sum() / 6
        Y[r] = (Y[r] - m) / np.sqrt(v + 1e-8)
        vs[r] = v
        ms[r] = ((X[r] - X[r].mean()) ** 2).sum() / 5
    acc = np.zeros(6)
    for r in range(3):
        acc += (r + 1) * Y[r]
    return Y, vs, ms, acc.sum()


xi = np.array([-5, 3, 12, 7, 1, 0], np.int32)


def cd(x):
    y = x.copy()
    a = 0
    for i in range(len(y)):
        if y[i] < 0:
            y[i] = 0
            a += 1
        elif y[i] > 10:
            y[i] = 10
            a += 1
    b = 0
    for i in range(len(y)):
        if y[i] < 2:
            y[i] = 2
            b += 1
        elif y[i] > 5:
            y[i] = 5
            b += 1
    return np.int64(a), np.int64(b), y


xv = np.array([3.0, -1.0, 4.0, 1.5])
add(
    "fns",
    FN_SRC,
    [
        ("driver", {"X": X}, drv(X)),
        ("call_defaults", {"x": xi}, cd(xi)),
        ("rescale", {"x": xv}, (xv - xv.min()) / (xv.max() - xv.min())),
    ],
)

EMPTY_SRC = """fn empties(x: f64[N], A: f64[N, M]) -> (f64, f64, bool, bool, f64[M], f64[N], i64):
    let c = 0
    for v in x:
        c += 1
    for i in range(N):
        c += 10
    return sum(x), prod(x), any(x > 0.0), all(x > 0.0), sum(A, axis=0), max(A, axis=1), c

fn one(x: f64[N]) -> (f64, f64, i64, f64[N], f64):
    return std(x), var(x), argmax(x), x[::-1] * x[-1], mean(x)

fn cat_empty(x: f64[N], y: f64[M]) -> (f64[?], f64[?, ?], f64[?, ?]):
    return concatenate((x, y)), vstack((reshape(x, (1, N)), reshape(x, (1, N)))), hstack((reshape(y, (M, 1)), reshape(y, (M, 1))))

fn mask_sel(x: f64[N], t: f64) -> (f64[?], i64, f64):
    let s = x[x > t]
    return s * 2.0, s.shape[0], sum(s)
"""
e0 = np.zeros(0)
A0 = np.zeros((0, 3))
A1 = np.zeros((2, 0))
o1 = np.array([4.5])
add(
    "empty",
    EMPTY_SRC,
    [
        (
            "empties",
            {"x": e0, "A": A0},
            (np.float64(0.0), np.float64(1.0), np.False_, np.True_, np.zeros(3), np.zeros(0), np.int64(0)),
        ),
        (
            "one",
            {"x": o1},
            (np.float64(0.0), np.float64(0.0), np.int64(0), o1[::-1] * o1[-1], np.float64(4.5)),
        ),
        (
            "cat_empty",
            {"x": e0, "y": np.array([1.0, 2.0])},
            (np.array([1.0, 2.0]), np.zeros((2, 0)), np.array([[1.0, 1.0], [2.0, 2.0]])),
        ),
        (
            "cat_empty",
            {"x": np.array([3.0]), "y": e0},
            (np.array([3.0]), np.array([[3.0], [3.0]]), np.zeros((0, 2))),
        ),
        ("mask_sel", {"x": xv, "t": 10.0}, (np.zeros(0), np.int64(0), np.float64(0.0))),
        ("mask_sel", {"x": xv, "t": 1.0}, (xv[xv > 1.0] * 2, np.int64(3), xv[xv > 1].sum())),
    ],
)


# ---- narrow scalars in loops, float and integer divmod (by 0, INT64_MIN // -1), big shifts,
# rounding half to even, casts, integer matmul; constructors, shapes, indexing, loop variables
I64MIN = np.iinfo(np.int64).min
S_SRC = """fn narrow_scalars(x: i8[N], y: u8[N]) -> (i8, u8, i16, u32):
    let s = i8(1)
    let t = u8(0)
    let w = i16(7)
    let h = u32(1)
    for i in range(N):
        s = s * 3 + x[i]
        t = t + y[i] * 2
        w = w * w + i16(i)
        h = (h << 5) + h + u32(y[i])
    return s, t, w, h

fn fmod(a: f64[N], b: f64[N]) -> (f64[N], f64[N], f64, f64, f64, f64):
    let s = 0.0
    let t = 0.0
    for i in range(N):
        s += a[i] % b[i]
        t += a[i] // b[i]
    return a % b, a // b, s, t, -7.5 % 2.0, 7.5 // -2.0

fn idiv0(a: i64[N], b: i64[N]) -> (i64[N], i64[N], i64, i64):
    let s = 0
    let t = 0
    for i in range(N):
        s += a[i] // b[i]
        t += a[i] % b[i]
    return a // b, a % b, s, t

fn bigshift(x: i64[N], k: i64[N], u: u8[N]) -> (i64[N], i64[N], u8[N], u8[N]):
    return x << k, x >> k, u << 9, u >> 8

fn rounding(x: f64[N], y: f32[N]) -> (f64[N], f32[N], f64):
    let s = 0.0
    for v in x:
        s += round(v)
    return round(x), round(y), s

fn casts(x: i64[N], f: f64[N]) -> (u8[N], i8[N], i32[N], bool[N], u16[N], f32[N]):
    return u8(x), i8(x), i32(f), bool(f), astype(x, u16), f32(x)

fn ipow(a: i64[N]) -> (i64[N], f64[N], i64, f64):
    return a ** 3, 2.0 ** a, a[0] ** 40, (-8.0) ** (1.0 / 3.0)

fn imatmul(A: i32[N, K], B: i32[K, M], v: i64[K]) -> (i32[N, M], i64[N], i64[N, K]):
    return A @ B, A @ v, outer(A[:, 0], v)
"""


def ns(x, y):
    s = np.int8(1)
    t = np.uint8(0)
    w = np.int16(7)
    h = np.uint32(1)
    for i in range(len(x)):
        s = s * np.int8(3) + x[i]
        t = t + y[i] * np.uint8(2)
        w = w * w + np.int16(i)
        h = (h << np.uint32(5)) + h + np.uint32(y[i])
    return s, t, w, h


nx = np.array([100, -50, 77, 127, -128], np.int8)
ny = np.array([200, 13, 255, 0, 99], np.uint8)
fa = np.array([-7.5, 7.5, -7.5, 7.5, 5.0, -0.0, 3.0])
fb = np.array([2.0, -2.0, -2.0, 2.0, 0.0, 2.0, np.inf])


def fm(a, b):
    s = 0.0
    t = 0.0
    for i in range(len(a)):
        s += a[i] % b[i]
        t += a[i] // b[i]
    return a % b, a // b, np.float64(s), np.float64(t), np.float64(-7.5 % 2.0), np.float64(7.5 // -2.0)


ia = np.array([7, -7, I64MIN, I64MIN, 5])
ib = np.array([0, 0, -1, 1, -3])


def idz(a, b):
    s = np.int64(0)
    t = np.int64(0)
    for i in range(len(a)):
        s += a[i] // b[i]
        t += a[i] % b[i]
    return a // b, a % b, s, t


sx = np.array([1, -1, 5, -5, 1, -8])
sk = np.array([63, 63, 64, 64, 70, 2])
su = np.array([1, 255, 128, 7, 64, 3], np.uint8)
rx = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49999, 1e16 + 1])
ry = rx.astype(np.float32)
cx = np.array([300, -1, 256 + 127, 65536 + 70000, -129])
cf = np.array([-3.7, 3.7, 0.0, np.nan, 1e9])
pa = np.array([2, -3, 1000000, 0, 3000000])
A = np.array([[2**20, 3], [-7, 2**16]], np.int32)
B = np.array([[2**12, 1, 0], [5, 2**16, -1]], np.int32)
v = np.array([2**40, 3])
add(
    "scal",
    S_SRC,
    [
        ("narrow_scalars", {"x": nx, "y": ny}, ns(nx, ny)),
        ("fmod", {"a": fa, "b": fb}, fm(fa, fb)),
        ("idiv0", {"a": ia, "b": ib}, idz(ia, ib)),
        ("bigshift", {"x": sx, "k": sk, "u": su}, (sx << sk, sx >> sk, su << 9, su >> 8)),
        (
            "rounding",
            {"x": rx, "y": ry},
            (np.round(rx), np.round(ry), np.float64(np.sum([np.round(v) for v in rx]))),
        ),
        (
            "casts",
            {"x": cx, "f": cf[[0, 1, 2, 2, 4]]},
            (
                cx.astype(np.uint8),
                cx.astype(np.int8),
                cf[[0, 1, 2, 2, 4]].astype(np.int32),
                cf[[0, 1, 2, 2, 4]].astype(bool),
                cx.astype(np.uint16),
                cx.astype(np.float32),
            ),
        ),
        ("ipow", {"a": pa}, (pa**3, 2.0**pa, pa[0] ** 40, np.float64(np.nan))),
        ("imatmul", {"A": A, "B": B, "v": v}, (A @ B, A @ v, np.outer(A[:, 0], v))),
    ],
)

MK_SRC = """fn makes(n: i64) -> (i64[?], f64[?], f64[?], i32[?, ?], f64[?, ?], i64[?], f32[?]):
    return arange(5, -5, -2), arange(0.0, 1.0, 0.1), linspace(0, 1, n), eye(n, dtype=i32), full((2, n), 2.5), full((n,), 3), full((n,), 2.5, dtype=f32)

fn shapes(A: f64[N, M], v: f64[K]) -> (f64[?], f64[?, ?], f64[?, ?], f64[?, ?], f64[?, ?], f64[?, ?, ?], i64):
    return diag(A), diag(v), triu(A, -1), tril(A, 2), flip(A, axis=1), stack((A, A * 2.0), axis=1), A.size + A.ndim * 100 + v.T.shape[0]

fn idx(x: f64[N], ix: i64[K], A: f64[N, M]) -> (f64[K], f64[?, ?], f64[?], f64[?, ?]):
    let y = copy(x)
    y[x < 0.0] = 0.0
    y[ix] += 1.0
    return x[ix], A[:, newaxis, 1], y, A[-1:, :2 * M]

fn loopvar(n: i64) -> (i64, i64, i64):
    let i = -1
    let c = 0
    for i in range(n, 0, -2):
        c += i
    let j = 100
    for j in range(0, -5):
        c += 1000
    return i, j, c
"""
AA = np.arange(12.0).reshape(3, 4) - 5
AB = np.arange(20.0).reshape(5, 4)
vv = np.array([1.0, -2.0])
xx = np.array([1.0, -2.0, 3.0, -4.0, 5.0])
ix = np.array([-1, 0, -3, 4])
yy = xx.copy()
yy[xx < 0] = 0.0
yy[ix] += 1.0
add(
    "makes",
    MK_SRC,
    [
        (
            "makes",
            {"n": 4},
            (
                np.arange(5, -5, -2),
                np.arange(0.0, 1.0, 0.1),
                np.linspace(0, 1, 4),
                np.eye(4, dtype=np.int32),
                np.full((2, 4), 2.5),
                np.full((4,), 3),
                np.full((4,), 2.5, dtype=np.float32),
            ),
        ),
        (
            "shapes",
            {"A": AA, "v": vv},
            (
                np.diag(AA),
                np.diag(vv),
                np.triu(AA, -1),
                np.tril(AA, 2),
                np.flip(AA, axis=1),
                np.stack((AA, AA * 2.0), axis=1),
                np.int64(12 + 200 + 2),
            ),
        ),
        ("idx", {"x": xx, "ix": ix, "A": AB}, (xx[ix], AB[:, None, 1], yy, AB[-1:, :4])),
        ("loopvar", {"n": 7}, (np.int64(1), np.int64(100), np.int64(7 + 5 + 3 + 1))),
    ],
)


# ---- values, not references: overlapping stores, in-place transposes, views passed as inout
AL_SRC = """fn shift_right(x: f64[N]) -> (f64[N], f64[N], f64[N]):
    let a = copy(x)
    a[1:] = a[:-1]
    let b = copy(x)
    b[1:] += b[:-1]
    let c = copy(x)
    c[::-1] = c
    return a, b, c

fn tr_inplace(inout A: f64[N, N]):
    A[:] = A.T

fn tr_add(inout A: f64[N, N]):
    A += A.T

fn axpy(a: f64, x: f64[K], inout y: f64[K]):
    for i in range(K):
        y[i] += a * x[i]

fn overlap_call(x: f64[N]) -> f64[N]:
    let z = copy(x)
    axpy(2.0, z[:-1], z[1:])
    return z

fn keep_old(A: f64[N, M]) -> (f64[M], f64[N, M], f64[M, N]):
    let B = copy(A)
    let v = B[0]
    B[0, 0] = 99.0
    let T = B.T
    B[1, :] = -1.0
    return v, B, T

fn no_write_param(x: f64[N]) -> f64[N]:
    let y = x
    y[0] = 123.0
    y *= 2.0
    return y

fn rebind_rev(x: f64[N]) -> f64[N]:
    let y = copy(x)
    y = y[::-1]
    y[0] = -1.0
    y = y + y[::-1]
    return y

fn stencil_inplace(inout u: f64[N], steps: i64):
    for t in range(steps):
        u[1:-1] = 0.5 * u[1:-1] + 0.25 * (u[:-2] + u[2:])

fn gauss_seidel(inout u: f64[N], steps: i64):
    for t in range(steps):
        for i in range(1, N - 1):
            u[i] = 0.5 * (u[i - 1] + u[i + 1])

fn roll1(inout x: i64[N]):
    let last = x[N - 1]
    x[1:] = x[:N - 1]
    x[0] = last
"""
x5 = np.array([1.0, 2.0, 4.0, 8.0, 16.0])


def sr(x):
    a = x.copy()
    a[1:] = a[:-1]
    b = x.copy()
    b[1:] += b[:-1]
    c = x.copy()
    c[::-1] = c
    return a, b, c


A5 = np.arange(16.0).reshape(4, 4) ** 1.5


def chk_tr(got, args):
    assert np.array_equal(args["A"], A5.T), args["A"]


def chk_tra(got, args):
    assert np.array_equal(args["A"], A5 + A5.T), args["A"]


def ov(x):
    z = x.copy()
    xs = z[:-1].copy()
    for i in range(len(xs)):
        z[1:][i] += 2.0 * xs[i]
    return z


def ko(A):
    B = A.copy()
    v = B[0].copy()
    B[0, 0] = 99.0
    T = B.T.copy()
    B[1, :] = -1.0
    return v, B, T


def nwp(got, args):
    assert np.array_equal(args["x"], x5), args["x"]
    y = x5.copy()
    y[0] = 123.0
    y *= 2.0
    assert np.array_equal(got, y), got


def rr(x):
    y = x.copy()[::-1].copy()
    y[0] = -1.0
    return y + y[::-1]


u0 = np.array([0.0, 1.0, 5.0, 2.0, 7.0, 3.0, 10.0])


def st(got, args):
    u = u0.copy()
    for _ in range(3):
        u[1:-1] = 0.5 * u[1:-1] + 0.25 * (u[:-2] + u[2:])
    np.testing.assert_allclose(args["u"], u, rtol=1e-12)


def gs(got, args):
    u = u0.copy()
    for _ in range(3):
        for i in range(1, len(u) - 1):
            u[i] = 0.5 * (u[i - 1] + u[i + 1])
    np.testing.assert_allclose(args["u"], u, rtol=1e-12)


def r1(got, args):
    assert np.array_equal(args["x"], np.roll(np.arange(6), 1)), args["x"]


add(
    "alias",
    AL_SRC,
    [
        ("shift_right", {"x": x5}, sr(x5)),
        ("tr_inplace", {"A": A5.copy()}, chk_tr),
        ("tr_add", {"A": A5.copy()}, chk_tra),
        ("overlap_call", {"x": x5}, ov(x5)),
        ("keep_old", {"A": A5[:3]}, ko(A5[:3])),
        ("no_write_param", {"x": x5}, nwp),
        ("rebind_rev", {"x": x5}, rr(x5)),
        ("stencil_inplace", {"u": u0.copy(), "steps": 3}, st),
        ("gauss_seidel", {"u": u0.copy(), "steps": 3}, gs),
        ("roll1", {"x": np.arange(6)}, r1),
    ],
)


# ---- complex ordering (lexicographic, as NumPy), an inout growing (a reshape of literal
# sizes that do not fit, run here once, is a compile error now: test_frontend_errors9.py)
C_SRC = """fn ccmp(x: c128[N], y: c128[N]) -> (bool[N], bool[N], bool[N], c128[N], c128, i64):
    return x < y, x >= y, x == y, maximum(x, y), max(x), argmax(x)

fn grow(inout x: f64[N]):
    x = concatenate((x, x))
"""
cx = np.array([1 + 2j, 1 + 1j, 2 + 0j, -1 - 1j, np.nan + 0j])
cy = np.array([1 + 3j, 1 + 1j, 1 + 5j, -1 + 0j, 0j])
add(
    "ccmp",
    C_SRC,
    [
        (
            "ccmp",
            {"x": cx[:4], "y": cy[:4]},
            (
                cx[:4] < cy[:4],
                cx[:4] >= cy[:4],
                cx[:4] == cy[:4],
                np.maximum(cx[:4], cy[:4]),
                np.max(cx[:4]),
                np.argmax(cx[:4]),
            ),
        ),
        ("grow", {"x": np.ones(3)}, ValueError),
    ],
)


# ---- loops a parallel back end must keep serial; float32 sums (pairwise in NumPy)
P_SRC = """fn hist(b: i64[N], nb: i64) -> (i64[?], f64[?]):
    let h = zeros((nb,), dtype=i64)
    let w = zeros((nb,), dtype=f64)
    for i in range(N):
        h[b[i] % nb] += 1
        w[b[i] % nb] += 0.5
    return h, w

fn rowrec(X: f64[N, M]) -> f64[N, M]:
    let A = copy(X)
    for i in range(1, N):
        A[i, :] = A[i - 1, :] * 0.5 + A[i, :]
    return A

fn prevval(x: f64[N]) -> f64[N]:
    let out = zeros((N,), dtype=f64)
    let last = 0.0
    for i in range(N):
        out[i] = x[i] - last
        last = x[i]
    return out

fn runmax(x: f64[N]) -> (f64[N], i64[N]):
    let m = zeros((N,), dtype=f64)
    let am = zeros((N,), dtype=i64)
    let cur = x[0]
    let arg = 0
    for i in range(N):
        if x[i] > cur:
            cur = x[i]
            arg = i
        m[i] = cur
        am[i] = arg
    return m, am

fn scatter_perm(p: i64[N], x: f64[N]) -> f64[N]:
    let y = zeros((N,), dtype=f64)
    for i in range(N):
        y[p[i]] = y[p[i]] + x[i]
    return y

fn early(x: f64[N]) -> (i64, f64):
    let found = -1
    let acc = 0.0
    for i in range(N):
        acc += x[i]
        if acc > 10.0:
            found = i
            break
    return found, acc

fn colcum(X: f64[N, M]) -> f64[N, M]:
    let C = zeros((N, M), dtype=f64)
    for j in range(M):
        let s = 0.0
        for i in range(N):
            s += X[i, j]
            C[i, j] = s
    return C

fn f32sum(x: f32[N]) -> (f32, f32, f32, f32):
    return sum(x), mean(x), std(x), sum(x * x)

fn f32loop(x: f32[N]) -> f32:
    let s = f32(0.0)
    for v in x:
        s += v
    return s
"""
rng = np.random.default_rng(7)
b = rng.integers(0, 1000, 5000)
X = rng.normal(size=(50, 8))


def rr(X):
    A = X.copy()
    for i in range(1, len(A)):
        A[i, :] = A[i - 1, :] * 0.5 + A[i, :]
    return A


xx = rng.normal(size=300)


def rm(x):
    m = np.zeros(len(x))
    am = np.zeros(len(x), np.int64)
    cur = x[0]
    arg = 0
    for i in range(len(x)):
        if x[i] > cur:
            cur = x[i]
            arg = i
        m[i] = cur
        am[i] = arg
    return m, am


p = rng.integers(0, 20, 300)


def sp(p, x):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[p[i]] += x[i]
    return y


def ea(x):
    acc = 0.0
    for i in range(len(x)):
        acc += x[i]
        if acc > 10.0:
            return np.int64(i), np.float64(acc)
    return np.int64(-1), np.float64(acc)


xe = np.abs(xx)
big = np.ones(1 << 20, np.float32)
big[0] = 2.0**24  # a float32 running sum stays at 2**24; pairwise, it does not
mixed = (rng.random(200_000) * 0.1).astype(np.float32)
add(
    "par",
    P_SRC,
    [
        (
            "hist",
            {"b": b, "nb": 37},
            (np.bincount(b % 37, minlength=37).astype(np.int64), np.bincount(b % 37, minlength=37) * 0.5),
        ),
        ("rowrec", {"X": X}, rr(X)),
        ("prevval", {"x": xx}, xx - np.concatenate(([0.0], xx[:-1]))),
        ("runmax", {"x": xx}, rm(xx)),
        ("scatter_perm", {"p": p, "x": xx}, sp(p, xx)),
        ("early", {"x": xe}, ea(xe)),
        ("colcum", {"X": X}, np.cumsum(X, axis=0)),
        ("f32sum", {"x": big}, (np.sum(big), np.mean(big), np.std(big), np.sum(big * big))),
        ("f32sum", {"x": mixed}, (np.sum(mixed), np.mean(mixed), np.std(mixed), np.sum(mixed * mixed))),
        ("f32loop", {"x": mixed}, np.cumsum(mixed, dtype=np.float32)[-1]),
    ],
)


# ---- weak Python-int literals against narrow integers (NEP 50): comparisons see the true
# value, where() casts the literal unsafely, maximum() takes one in range (one out of
# range is a compile error, see FORBIDDEN, where NumPy raises OverflowError for every x)
WEAK_SRC = """fn cmp(x: u8[N]) -> (bool[N], bool[N], bool[N], bool[N]):
    return x < 300, x == -1, x > -5, 256 != x

fn edge_max(x: i8[N], u: u8[N], k: i64) -> (i8[N], u8[N], i8[N], i64, f32[N]):
    return minimum(127, x), maximum(u, 0), maximum(x, -128), maximum(k, 2), maximum(f32(x), 1e300)

fn big_where(x: i8[N]) -> i8[N]:
    return where(x > 0, x, 500)
"""
x = np.array([1, -2, 127, -128], np.int8)
u = np.array([0, 255, 44, 3], np.uint8)
add(
    "weak",
    WEAK_SRC,
    [
        ("cmp", {"x": u}, (u < 300, u == -1, u > -5, 256 != u)),
        (
            "edge_max",
            {"x": x, "u": u, "k": -5},
            (
                np.minimum(127, x),
                np.maximum(u, 0),
                np.maximum(x, -128),
                np.int64(2),
                np.maximum(x.astype(np.float32), 1e300),
            ),
        ),
        ("big_where", {"x": x}, np.where(x > 0, x, 500)),
    ],
)

M_SRC = """fn misc(n: i64, x: f64[N], z: c128[M], k: i32[K]) -> (f64[?], f64[?], f64[?, ?], f64[?], f64[?], c128[M], f64, f64, i64, bool, bool):
    return arange(1.0, 1.3, 0.1), linspace(2.0, 3.0, n), eye(n), reshape(x, (-1,)), linspace(0.0, 1.0, 1), sign(z), var(z), std(k), argmax(reshape(x, (2, -1))), any(x != x), all(x)

fn intfns(k: i32[K]) -> (i32[K], i32[K], i32[K], f64[K], i32[K], f64[K]):
    return round(k), abs(k), sign(k), floor(k), k ** 2, k ** 0.5
"""
xx = np.array([1.0, np.nan, 3.0, 0.5, -2.0, 7.0])
zz = np.array([3 + 4j, 0j, -1 + 0j, 1j])
kk = np.array([-3, 0, 4, 9, -2147483648], np.int32)
add(
    "misc",
    M_SRC,
    [
        (
            "misc",
            {"n": 1, "x": xx, "z": zz, "k": kk},
            (
                np.arange(1.0, 1.3, 0.1),
                np.linspace(2.0, 3.0, 1),
                np.eye(1),
                xx.reshape(-1),
                np.linspace(0.0, 1.0, 1),
                np.sign(zz),
                np.var(zz),
                np.std(kk),
                np.argmax(xx.reshape(2, -1)),
                np.any(xx != xx),
                np.all(xx),
            ),
        ),
        (
            "misc",
            {"n": 0, "x": xx, "z": zz, "k": kk},
            (
                np.arange(1.0, 1.3, 0.1),
                np.linspace(2.0, 3.0, 0),
                np.eye(0),
                xx.reshape(-1),
                np.linspace(0.0, 1.0, 1),
                np.sign(zz),
                np.var(zz),
                np.std(kk),
                np.argmax(xx.reshape(2, -1)),
                np.any(xx != xx),
                np.all(xx),
            ),
        ),
        (
            "intfns",
            {"k": kk},
            (np.round(kk), np.abs(kk), np.sign(kk), np.floor(kk).astype(np.float64), kk**2, kk**0.5),
        ),
    ],
)

# ---- scalars of every width (wrap, u64 beside i64, bool ~), mixed-sign comparisons, special
# values, ddof, traces and dots of integers, stacking, reshapes of transposed and strided arrays
SC_SRC = """fn scal_mix(k: i64, c: bool) -> (i32, u8, u8, bool, f64, u64, bool, bool, bool, f64, i64):
    let a = i32(2147483647)
    let u = u8(1)
    let h = u64(18446744073709551615)
    let b = true
    for i in range(3):
        a = a + 1
        u = -u
        b = ~b
    let r = h + k
    let big = u64(9223372036854775808)
    return a, u, ~u8(0), b, r, h // 3, big > -1, h == -1, h > k, (1.5 if c else 2), k % -3

fn mixed_cmp(x: u64[N], y: i64[N]) -> (bool[N], bool[N], bool[N], f64[N]):
    return x > y, x == y, x <= y, x + y

fn specials(x: f64[N]) -> (f64[N], f64[N], f64[N], f64[N], f64[N], f64[N]):
    return sqrt(x), log(x), arctan2(x, -1.0), 0.0 ** x, round(x, 2), x ** -1.0

fn ddof(x: f64[N], A: f64[N, M]) -> (f64, f64, f64[M], f64[N], f64[?]):
    return var(x, ddof=1), std(x, ddof=N), std(A, axis=0, ddof=1), mean(A, axis=1), mean(A[:, :0], axis=1)

fn traces(A: i32[N, N], B: u8[N, N], C: bool[N, N], v: i32[N]) -> (i64, u64, i64, i32, i32[N], i64, i64[?, ?]):
    return trace(A), trace(B), trace(C), dot(v, v), A @ v, prod(A[:, :0]), i64(outer(v, v))

fn stacks(x: f64[N], y: f64[N], A: f64[N, M]) -> (f64[?], f64[?, ?], f64[?, ?], f64[?, ?], f64[?, ?], f64[?, ?, ?], f64[?, ?]):
    return hstack((x, y)), vstack((x, y)), concatenate((A, A), axis=1), stack((x, y), axis=-1), flip(A), transpose(reshape(A, (1, N, M))), eye(N, M, k=1)

fn noncontig(A: f64[N, M], x: f64[N]) -> (f64[?], f64[?, ?], f64[M], f64[?], f64[N, N]):
    let T = A.T
    return reshape(T, (-1,)), reshape(A[:, ::2], (-1, 1)), T @ x, reshape(A[::-1, 1:], (N * (M - 1),)), A @ A.T
"""


def sm(k, c):
    a = np.int32(2147483647)
    u = np.uint8(1)
    h = np.uint64(2**64 - 1)
    b = np.True_
    for _ in range(3):
        a = a + 1
        u = -u
        b = ~b
    return (
        a,
        u,
        ~np.uint8(0),
        b,
        h + np.int64(k),
        h // 3,
        np.uint64(2**63) > -1,
        h == -1,
        h > np.int64(k),
        np.float64(1.5 if c else 2),
        np.int64(k) % -3,
    )


xu = np.array([2**64 - 1, 2**63, 0, 5], np.uint64)
yi = np.array([-1, -1, 0, 5])
xs = np.array([4.0, 0.0, -1.0, -0.0, np.inf, 0.125, 2.345])
A1 = np.array([[1.0, 2.0, 3.0]])
x1 = np.array([5.0])
Ai = np.array([[2**30, 1], [5, 2**30]], np.int32)
Bu = np.array([[200, 1], [5, 100]], np.uint8)
Cb = np.array([[True, False], [True, True]])
vi = np.array([2**16, 3], np.int32)
sx = np.array([1.0, 2.0, 3.0])
sy = np.array([-1.0, 0.5, 9.0])
SA = np.arange(12.0).reshape(3, 4)
NA = np.arange(20.0).reshape(4, 5) ** 1.1
nx = np.array([1.0, -1.0, 2.0, 0.5])
add(
    "sc",
    SC_SRC,
    [
        ("scal_mix", {"k": -7, "c": False}, sm(-7, False)),
        ("mixed_cmp", {"x": xu, "y": yi}, (xu > yi, xu == yi, xu <= yi, xu + yi)),
        (
            "specials",
            {"x": xs},
            (np.sqrt(xs), np.log(xs), np.arctan2(xs, -1.0), 0.0**xs, np.round(xs, 2), xs**-1.0),
        ),
        (
            "ddof",
            {"x": x1, "A": A1},
            (
                np.var(x1, ddof=1),
                np.std(x1, ddof=1),
                np.std(A1, axis=0, ddof=1),
                np.mean(A1, axis=1),
                np.mean(A1[:, :0], axis=1),
            ),
        ),
        (
            "traces",
            {"A": Ai, "B": Bu, "C": Cb, "v": vi},
            (
                np.trace(Ai),
                np.trace(Bu),
                np.trace(Cb),
                np.dot(vi, vi),
                Ai @ vi,
                np.prod(Ai[:, :0]),
                np.outer(vi, vi).astype(np.int64),
            ),
        ),
        (
            "stacks",
            {"x": sx, "y": sy, "A": SA},
            (
                np.hstack((sx, sy)),
                np.vstack((sx, sy)),
                np.concatenate((SA, SA), axis=1),
                np.stack((sx, sy), axis=-1),
                np.flip(SA),
                np.transpose(SA.reshape(1, 3, 4)),
                np.eye(3, 4, k=1),
            ),
        ),
        (
            "noncontig",
            {"A": NA, "x": nx},
            (NA.T.reshape(-1), NA[:, ::2].reshape(-1, 1), NA.T @ nx, NA[::-1, 1:].reshape(16), NA @ NA.T),
        ),
    ],
)

# ---- NumPy 2 promotion with typed (strong) scalars, reduction result dtypes, where() of mixed
# dtypes; regression: clip(u8, -5, 300) gave 44 everywhere in the back ends (300 cast to u8),
# where NumPy 2 takes a literal beyond the dtype on its own side as no bound
P_SRC = """fn strong(x: f32[N], t: f64, k: i64, u: u8[N], i: i32[N]) -> (bool[N], bool[N], f64[N], i64[N], i64[N], bool[N]):
    return x == t, x < t, x + t, u + k, i * k, x == 0.1

fn red_types(b: bool[N, M], u: u64[N], i: i8[N, M], f: f32[N, M]) -> (i64[M], f64, f64, bool[N], i8[M], f64[N], f32[M], f32[N], i64[N]):
    return sum(b, axis=0), mean(b), mean(u), max(b, axis=1), max(i, axis=0), var(i, axis=1), prod(f, axis=0), var(f, axis=1), argmax(f, axis=1)

fn mixwhere(m: bool[N], a: i8[N], b: f32[N], c: u64[N], d: i64[N]) -> (f32[N], f64[N], u8[N], f64[N], u8[N]):
    return where(m, a, b), where(m, c, d), clip(astype(a, u8), -5, 300), clip(a, 0.5, 2.5), abs(astype(a, u8))
"""
x13 = np.array([0.1, 0.2, 1.0, -3.5], np.float32)
u = np.array([250, 1, 0, 7], np.uint8)
ii = np.array([2**30, -7, 3, 0], np.int32)
b = np.array([[True, False, True], [False, False, True]])
uu = np.array([2**64 - 1, 2**63], np.uint64)
i8 = np.array([[-128, 5, 127], [3, -1, 0]], np.int8)
f = np.array([[1.5, np.nan, 3.0], [-2.0, 4.0, 0.25]], np.float32)
m = np.array([True, False, True, False])
a = np.array([-3, 100, 7, -128], np.int8)
bf = np.array([0.5, 1.5, 2.5, 3.5], np.float32)
c = np.array([2**64 - 1, 5, 7, 2**63], np.uint64)
d = np.array([-1, -2, 3, 4])
add(
    "prom",
    P_SRC,
    [
        (
            "strong",
            {"x": x13, "t": 0.1, "k": 1000, "u": u, "i": ii},
            (
                x13 == np.float64(0.1),
                x13 < np.float64(0.1),
                x13 + np.float64(0.1),
                u + np.int64(1000),
                ii * np.int64(1000),
                x13 == 0.1,
            ),
        ),
        (
            "red_types",
            {"b": b, "u": uu, "i": i8, "f": f},
            (
                b.sum(axis=0),
                b.mean(),
                uu.mean(),
                b.max(axis=1),
                i8.max(axis=0),
                i8.var(axis=1),
                f.prod(axis=0),
                f.var(axis=1),
                f.argmax(axis=1),
            ),
        ),
        (
            "mixwhere",
            {"m": m, "a": a, "b": bf, "c": c, "d": d},
            (
                np.where(m, a, bf),
                np.where(m, c, d),
                np.clip(a.astype(np.uint8), -5, 300),
                np.clip(a, 0.5, 2.5),
                np.abs(a.astype(np.uint8)),
            ),
        ),
    ],
)

# ---- calls: early returns inside loops, strided and reversed views as inout arguments,
# keyword and default arguments, a local array rebound to shrinking shapes, nested breaks
F_SRC = """fn scale(inout v: f64[K], a: f64):
    v *= a

fn find(x: f64[N], t: f64) -> i64:
    for i in range(N):
        if x[i] >= t:
            return i
    return -1

fn clipped_mean(x: f64[N], lo: f64 = -1.0, hi: f64 = 1.0) -> f64:
    if N == 0:
        return 0.0
    let s = 0.0
    for v in x:
        if v < lo:
            s += lo
            continue
        elif v > hi:
            s += hi
            continue
        s += v
    return s / f64(N)

fn views(X: f64[N, M]) -> (f64[N, M], i64, i64, f64, f64):
    let A = copy(X)
    scale(A[::-2, 0], -1.0)
    scale(A[:, 1], 10.0)
    scale(A[1, ::-1], 0.5)
    let k = find(A[0], 5.0) + find(A[:, 2], 1.0e9) * 100
    let j = 0
    for row in A:
        j += find(row, 0.0)
    return A, k, j, clipped_mean(X[0]), clipped_mean(X[:, 0], hi=0.5) + clipped_mean(X[0, :0])

fn halving(x: f64[N]) -> (f64, i64):
    let v = copy(x)
    let rounds = 0
    while v.shape[0] > 1:
        let h = v.shape[0] // 2
        if v.shape[0] % 2 == 1:
            v = concatenate((v[:h] + v[h:2 * h], v[2 * h:]))
        else:
            v = v[:h] + v[h:]
        rounds += 1
    return v[0], rounds

fn nested_break(A: i64[N, M]) -> (i64, i64):
    let total = 0
    let rows = 0
    for i in range(N):
        for j in range(M):
            if A[i, j] < 0:
                break
            total += A[i, j]
        if total > 20:
            break
        rows += 1
    return total, rows

fn annotated(x: f32[N]) -> (f32, f32[N], i8, u16):
    let a: f32 = 1.0
    let b: f32[N] = x * 2.0
    let c: i8 = 100
    let d: u16 = 65535
    for v in x:
        a = a * 0.5 + v
    c += 27
    d += 1
    return a, b, c, d

fn kw_calls(x: f64[N]) -> (f64, f64, f64):
    return clipped_mean(x, hi=0.25), clipped_mean(lo=0.0, x=x), clipped_mean(x, -0.5, 0.5)
"""
rng = np.random.default_rng(12)
X = rng.normal(size=(5, 4)) * 3


def np_find(x, t):
    for i in range(len(x)):
        if x[i] >= t:
            return i
    return -1


def cm(x, lo=-1.0, hi=1.0):
    if len(x) == 0:
        return 0.0
    return float(np.clip(x, lo, hi).sum() / len(x))


def views(X):
    A = X.copy()
    A[::-2, 0] *= -1.0
    A[:, 1] *= 10.0
    A[1, ::-1] *= 0.5
    k = np_find(A[0], 5.0) + np_find(A[:, 2], 1e9) * 100
    j = sum(np_find(r, 0.0) for r in A)
    return A, np.int64(k), np.int64(j), np.float64(cm(X[0])), np.float64(cm(X[:, 0], hi=0.5) + cm(X[0, :0]))


def halv(x):
    v = x.copy()
    r = 0
    while v.shape[0] > 1:
        h = v.shape[0] // 2
        v = np.concatenate((v[:h] + v[h : 2 * h], v[2 * h :])) if v.shape[0] % 2 else v[:h] + v[h:]
        r += 1
    return np.float64(v[0]), np.int64(r)


AI = np.array([[3, 4, -1, 100], [5, 6, 7, 8], [1, 1, 1, 1]])


def nb(A):
    total = 0
    rows = 0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            if A[i, j] < 0:
                break
            total += A[i, j]
        if total > 20:
            break
        rows += 1
    return np.int64(total), np.int64(rows)


x32 = np.array([0.5, -1.25, 3.0], np.float32)


def ann(x):
    a = np.float32(1.0)
    for v in x:
        a = a * np.float32(0.5) + v
    return a, x * np.float32(2.0), np.int8(127), np.uint16(0)


xh = rng.normal(size=13)
xk = rng.normal(size=7)
add(
    "calls",
    F_SRC,
    [
        ("views", {"X": X}, views(X)),
        ("halving", {"x": xh}, halv(xh)),
        ("halving", {"x": xh[:1]}, halv(xh[:1])),
        ("nested_break", {"A": AI}, nb(AI)),
        ("annotated", {"x": x32}, ann(x32)),
        (
            "kw_calls",
            {"x": xk},
            (np.float64(cm(xk, hi=0.25)), np.float64(cm(xk, lo=0.0)), np.float64(cm(xk, -0.5, 0.5))),
        ),
    ],
)


# ---- narrow integer floor division and modulo by zero and of the minimum by -1 (NumPy: 0, wrap)
a8 = np.array([-128, 7, -7, 100, 5], np.int8)
b8 = np.array([-1, 0, 2, -3, 0], np.int8)
a32 = np.array([-(2**31), 7, -7, 100, 5], np.int32)
b32 = np.array([-1, 0, 2, -3, 0], np.int32)
u8 = np.array([255, 7, 0, 100, 5], np.uint8)
v8 = np.array([0, 0, 2, 3, 255], np.uint8)


def ld(a, b):
    s = 0
    for i in range(len(a)):
        s += int(a[i] // b[i]) + int(a[i] % b[i])
    return np.int64(s)


add(
    "nd",
    """fn narrow_div(a: i8[N], b: i8[N], c: i32[N], d: i32[N], u: u8[N], v: u8[N]) -> (i8[N], i8[N], i32[N], i32[N], u8[N], u8[N], i64):
    let s = 0
    for i in range(N):
        s += i64(a[i] // b[i]) + i64(a[i] % b[i])
    return a // b, a % b, c // d, c % d, u // v, u % v, s

fn loop_div(a: i8[N], b: i8[N]) -> i8[N]:
    let out = zeros((N,), dtype=i8)
    for i in range(N):
        out[i] = a[i] // b[i] + a[i] % b[i]
    return out
""",
    [
        (
            "narrow_div",
            {"a": a8, "b": b8, "c": a32, "d": b32, "u": u8, "v": v8},
            (a8 // b8, a8 % b8, a32 // b32, a32 % b32, u8 // v8, u8 % v8, ld(a8, b8)),
        ),
        ("loop_div", {"a": a8, "b": b8}, (a8 // b8 + a8 % b8)),
    ],
)

# ---- stores cast unsafely, as NumPy's assignment does: floats truncate into integer arrays,
# i64 wraps into u8, bools become 0.0/1.0, f32 overflows to inf
x = np.array([2.7, -2.7, 0.5, 1e3])
k = np.array([300, -1, 65535, 2**40])
m = np.array([True, False, True, True])


def st(x, k, m):
    y = np.zeros(4, np.int32)
    y[0] = 2.7
    y[1:3] = x[1:3]
    z = np.zeros(4, np.uint8)
    z[:] = k
    w = np.zeros(4)
    w[:] = m
    v = np.zeros(4, np.int16)
    v[::2] = -2.5
    f = np.zeros(4, np.float32)
    f[:] = x * 1e40
    return y, z, w, v, f


add(
    "stores",
    """fn stores(x: f64[N], k: i64[N], m: bool[N]) -> (i32[N], u8[N], f64[N], i16[N], f32[N]):
    let y = zeros((N,), dtype=i32)
    y[0] = 2.7
    y[1:3] = x[1:3]
    let z = zeros((N,), dtype=u8)
    z[:] = k
    let w = zeros((N,), dtype=f64)
    w[:] = m
    let v = zeros((N,), dtype=i16)
    v[::2] = -2.5
    let f = zeros((N,), dtype=f32)
    f[:] = x * 1e40
    return y, z, w, v, f

fn loop_stores(x: f64[N], k: i64[N]) -> (i32[N], u8[N]):
    let y = zeros((N,), dtype=i32)
    let z = zeros((N,), dtype=u8)
    for i in range(N):
        y[i] = x[i]
        z[i] = k[i]
    return y, z
""",
    [
        ("stores", {"x": x, "k": k, "m": m}, st(x, k, m)),
        ("loop_stores", {"x": x, "k": k}, (x.astype(np.int32), k.astype(np.uint8))),
    ],
)


# ---- max/min/argmax/argmin along rows with NaN, +-inf and ties at every position (first wins)
rng = np.random.default_rng(17)
A = rng.integers(0, 3, size=(9, 37)).astype(np.float32)
A[1, 9] = np.nan
A[2, 36] = np.nan
A[3, :] = -np.inf
A[4, :] = np.inf
A[5, 35] = 7.0
A[6, :] = np.nan
A[7, 0] = np.nan
A[8, :] = 5.0
B = A.astype(np.float64)
I = rng.integers(-3, 3, size=(9, 37)).astype(np.int16)
I[0, :] = 2


def want(A, B, I):
    return (
        A.max(axis=1),
        A.min(axis=1),
        A.argmax(axis=1),
        A.argmin(axis=1),
        B.max(axis=1),
        B.argmin(axis=1),
        I.max(axis=1),
        I.argmax(axis=1),
        I.argmin(axis=1),
        A.max(axis=0),
        B.argmax(axis=0),
        np.max(A),
        np.argmax(B),
        np.argmin(I),
    )


add(
    "lanes",
    """fn lanes(A: f32[N, M], B: f64[N, M], I: i16[N, M]) -> (f32[N], f32[N], i64[N], i64[N], f64[N], i64[N], i16[N], i64[N], i64[N], f32[M], i64[M], f32, i64, i64):
    return max(A, axis=1), min(A, axis=1), argmax(A, axis=1), argmin(A, axis=1), max(B, axis=-1), argmin(B, axis=1), max(I, axis=1), argmax(I, axis=1), argmin(I, axis=1), max(A, axis=0), argmax(B, axis=0), max(A), argmax(B), argmin(I)

fn lanes_t(A: f32[N, M]) -> (f32[M], i64[M]):
    let T = A.T
    let C = copy(T)
    return max(C, axis=1), argmax(C, axis=1)
""",
    [
        ("lanes", {"A": A, "B": B, "I": I}, want(A, B, I)),
        ("lanes_t", {"A": A}, (A.T.max(axis=1), A.T.argmax(axis=1))),
    ],
)


# ---- the same at sizes where the back ends vectorize and go parallel; multi-axis keepdims
rng = np.random.default_rng(18)
A = rng.integers(0, 4, size=(300, 2051)).astype(np.float32)
A[1, 1000] = np.nan
A[2, 2050] = np.nan
A[3, :] = -np.inf
A[5, 2049] = 9.0
A[7, 0] = np.nan
A[9, 1024:] = np.nan
B = A.astype(np.float64)
C = rng.normal(size=(64, 33, 40))
I = rng.integers(-100, 100, size=(300, 2051)).astype(np.int32)
add(
    "big",
    """fn big(A: f32[N, M], B: f64[N, M], C: f64[P, Q, R], I: i32[N, M]) -> (f32[N], i64[N], f64[N], i64[N], f64[1, Q, 1], f64[P, 1, R], f64[Q], i64[N], i64, f32[M], f32[N, 1]):
    return max(A, axis=1), argmax(A, axis=1), min(B, axis=1), argmin(B, axis=1), sum(C, axis=(0, 2), keepdims=true), max(C, axis=1, keepdims=true), std(C, axis=(0, 2)), sum(I, axis=1), sum(I), mean(A, axis=0), var(A, axis=1, keepdims=true)

fn rownorm(B: f64[N, M]) -> f64[N, M]:
    let out = zeros((N, M), dtype=f64)
    for i in range(N):
        let row = B[i]
        let m = max(row)
        let e = exp(row - m)
        out[i] = e / sum(e)
    return out
""",
    [
        (
            "big",
            {"A": A, "B": B, "C": C, "I": I},
            (
                A.max(axis=1),
                A.argmax(axis=1),
                B.min(axis=1),
                B.argmin(axis=1),
                C.sum(axis=(0, 2), keepdims=True),
                C.max(axis=1, keepdims=True),
                C.std(axis=(0, 2)),
                I.sum(axis=1),
                I.sum(),
                A.mean(axis=0),
                A.var(axis=1, keepdims=True),
            ),
        ),
        (
            "rownorm",
            {"B": B[:50] / 10},
            (
                lambda X: (
                    np.exp(X - X.max(axis=1, keepdims=True))
                    / np.exp(X - X.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)
                )
            )(B[:50] / 10),
        ),
    ],
)

# ---- bool scalars and arrays in arithmetic: + is or, * is and, casts after (b + b is True, 1)
x = np.array([1.5, -2.0, 3.0, 0.0])


def bs(x):
    c = np.int64(0)
    acc = np.False_
    for i in range(len(x)):
        b = x[i] > 0
        c = c + np.int64(b + b) * 10 + np.int64(b * b) + np.int64(b ^ True)
        acc = acc + b
    b0 = x[0] > 0
    return c, acc, np.int64(b0 + b0), (b0 + b0) * 3, np.float64(b0 + b0) / 2.0, np.int8(b0) + np.int8(b0 + b0)


add(
    "bscal",
    """fn bscal(x: f64[N]) -> (i64, bool, i64, i64, f64, i8):
    let c = 0
    let acc = false
    for i in range(N):
        let b = x[i] > 0.0
        c = c + i64(b + b) * 10 + i64(b * b) + i64(b ^ true)
        acc = acc + b
    let b0 = x[0] > 0.0
    return c, acc, i64(b0 + b0), (b0 + b0) * 3, f64(b0 + b0) / 2.0, i8(b0) + i8(b0 + b0)

fn barr(a: bool[N], b: bool[N]) -> (i64[N], f64[N], bool[N], u8[N], i64):
    return i64(a + b), f64(a * b) + 0.5, (a + b) * (a ^ b), astype(a + a, u8) + astype(b, u8), sum(a + b)
""",
    [
        ("bscal", {"x": x}, bs(x)),
        (
            "barr",
            {"a": np.array([True, True, False, False]), "b": np.array([True, False, True, False])},
            (
                lambda a, b: (
                    (a + b).astype(np.int64),
                    (a * b).astype(np.float64) + 0.5,
                    (a + b) * (a ^ b),
                    (a + a).astype(np.uint8) + b.astype(np.uint8),
                    np.sum(a + b),
                )
            )(np.array([True, True, False, False]), np.array([True, False, True, False])),
        ),
    ],
)


# ---- complex scalars carried through loops: Horner's rule, division by zero
z = np.array([1 + 2j, -0.5 + 0.25j, 0j, 3 - 1j])
w = z.astype(np.complex64)


def horner(z, x):
    acc = np.complex128(0)
    for c in z:
        acc = acc * x + c
    return acc


def loopc(z, w):
    out = np.zeros(len(z), np.complex128)
    s = np.float64(0.0)
    t = np.complex64(0)
    for i in range(len(z)):
        out[i] = z[i] * z[i] / (z[i] + 1.0) - np.conj(z[i])
        s += np.abs(z[i])
        t = t + w[i] * w[i]
    return out, s, t


add(
    "cl",
    """fn horner(z: c128[N], x: c128) -> c128:
    let acc = c128(0.0)
    for c in z:
        acc = acc * x + c
    return acc

fn loopc(z: c128[N], w: c64[N]) -> (c128[N], f64, c64):
    let out = zeros((N,), dtype=c128)
    let s = 0.0
    let t = c64(0.0)
    for i in range(N):
        out[i] = z[i] * z[i] / (z[i] + 1.0) - conj(z[i])
        s += abs(z[i])
        t = t + w[i] * w[i]
    return out, s, t

fn cdiv0(z: c128[N]) -> c128[N]:
    return z / zeros((N,), dtype=c128)
""",
    [
        ("horner", {"z": z, "x": np.complex128(0.5 - 1j)}, horner(z, np.complex128(0.5 - 1j))),
        ("loopc", {"z": z, "w": w}, loopc(z, w)),
        ("cdiv0", {"z": z}, z / np.zeros(4, np.complex128)),
    ],
)


# ---- integer reductions that wrap (u64 sum and prod, i64 prod, i32 prod along rows)
u = np.array([2**64 - 1, 5, 2**63], np.uint64)
i = np.array([2**62, 4, 3])
s = np.array([100, 100, 100], np.int8)
big = np.array([2**62, 2**62, 2**62, 3])
A = np.arange(12, dtype=np.int32).reshape(3, 4) * 100000000
add(
    "ired",
    """fn ired(u: u64[N], i: i64[N], s: i8[N], big: i64[K], A: i32[P, Q]) -> (u64, i64, i64, f64, f64, i64[Q], i64[P], u64):
    return sum(u), prod(i), sum(s), mean(big), mean(u), sum(A, axis=0), prod(A, axis=1), prod(u)
""",
    [
        (
            "ired",
            {"u": u, "i": i, "s": s, "big": big, "A": A},
            (
                np.sum(u),
                np.prod(i),
                np.sum(s),
                np.mean(big),
                np.mean(u),
                A.sum(axis=0),
                A.prod(axis=1),
                np.prod(u),
            ),
        )
    ],
)

# ---- a row loop with scalar reductions of several kinds (sum, max, count, product, last index)
rng = np.random.default_rng(24)
A = rng.normal(size=(4000, 64))


def preds_want(A):
    out = A.sum(axis=1)
    total = 0.0
    mx = -np.inf
    cnt = 0
    prod = 1.0
    last = -1
    for i in range(len(A)):
        total += out[i]
        mx = max(mx, out[i])
        cnt += int(out[i] > 0)
        prod *= 1.0 + out[i] * 1e-3
        if out[i] > 10.0:
            last = i
    return out, np.float64(total), np.float64(mx), np.int64(cnt), np.float64(prod), np.int64(last)


add(
    "preds",
    """fn preds(A: f64[N, M]) -> (f64[N], f64, f64, i64, f64, i64):
    let out = zeros((N,), dtype=f64)
    let total = 0.0
    let mx = -1.0e308
    let cnt = 0
    let prod = 1.0
    let last = -1
    for i in range(N):
        out[i] = sum(A[i])
        total += out[i]
        mx = maximum(mx, out[i])
        if out[i] > 0.0:
            cnt += 1
        prod *= 1.0 + out[i] * 0.001
        if out[i] > 10.0:
            last = i
    return out, total, mx, cnt, prod, last
""",
    [("preds", {"A": A}, preds_want(A))],
)


# ---- one array as both an input and the inout argument of a call, and overlapping views
x0 = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])


def sa(x):
    y = x.copy()
    xc = y.copy()
    for i in range(1, len(y)):
        y[i] += xc[i - 1]
    return y


def sa2(x):
    y = x.copy()
    xc = y.copy()
    y[1:] += xc[:-1]
    return y


def chk_both(got, args):
    np.testing.assert_array_equal(args["z"], sa(x0))


def chk2(got, args):
    w = x0.copy()
    w2 = w.copy()
    w[:-1] = w2[1:] * 2.0 + w2[:-1]
    np.testing.assert_array_equal(args["z"], w)


add(
    "alias2",
    """fn shift_add(x: f64[N], inout y: f64[N]):
    for i in range(1, N):
        y[i] += x[i - 1]

fn shift_add2(x: f64[N], inout y: f64[N]):
    y[1:] += x[:-1]

fn both(inout z: f64[N]):
    shift_add(z, z)

fn both2(z: f64[N]) -> f64[N]:
    let w = copy(z)
    shift_add2(w, w)
    return w

fn views_overlap(inout z: f64[N]):
    comb(z[1:], z[:-1])

fn comb(a: f64[K], inout b: f64[K]):
    for i in range(K):
        b[i] = a[i] * 2.0 + b[i]
""",
    [
        ("both", {"z": x0.copy()}, chk_both),
        ("both2", {"z": x0.copy()}, sa2(x0)),
        ("views_overlap", {"z": x0.copy()}, chk2),
    ],
)

np.seterr(**_ERRSTATE)
_WARNINGS.__exit__(None, None, None)


# ---- the runs ----------------------------------------------------------------------------
_PROGRAMS: dict[tuple[str, str], Any] = {}


def program(name: str, src: str, strategy: str) -> Any:
    if (name, strategy) not in _PROGRAMS:
        if strategy == "reference":
            _PROGRAMS[name, strategy] = reference_program(frontend(src, name + ".mc"))
        else:
            pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", BuildWarning)
                built = build_module(frontend(src, name + ".mc"), default=strategy, use_cache=False)
            _PROGRAMS[name, strategy] = built.program
    return _PROGRAMS[name, strategy]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", [s[0] for s in SOURCES])
def test_program(name: str, strategy: str) -> None:
    _, src, cases = next(s for s in SOURCES if s[0] == name)
    prog = program(name, src, strategy)
    for entry, args, want in cases:
        args = copy.deepcopy(args)
        where = f"{name}.{entry} under {strategy}"
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if isinstance(want, type) and issubclass(want, BaseException):
                with pytest.raises(want):
                    getattr(prog, entry)(**args)
                continue
            got = getattr(prog, entry)(**args)
        if callable(want):
            want(got, args)
        else:
            assert_same(got, want, where, fastmath="-fast" in strategy)


# ---- regression: MLX's CPU sums float32 in one running float32 sum ------------------------
# sum/mean/std of 2**24 followed by 2**20 - 1 ones gave 16777216 (6% low) and std 16384
# under mlx-cpu; NumPy sums pairwise (17825776). Float32 sums now accumulate in float64.
F32_SUM_SRC = """fn stats(x: f32[N], A: f32[M, N]) -> (f32, f32, f32, f32, f32[M], f32[1, N]):
    return sum(x), mean(x), std(x), var(x), sum(A, axis=1), mean(A, axis=0, keepdims=true)
"""


def test_mlx_float32_sum_is_not_a_running_float32_sum() -> None:
    pytest.importorskip("mlx.core")
    x = np.ones(1 << 20, np.float32)
    x[0] = 2.0**24
    A = np.stack([x, x[::-1]])
    want = (np.sum(x), np.mean(x), np.std(x), np.var(x), A.sum(axis=1), A.mean(axis=0, keepdims=True))
    for strategy in ("reference", "mlx-cpu"):
        got = program("f32sum", F32_SUM_SRC, strategy).stats(x=x, A=A)
        assert_same(got, want, strategy)
        assert got[0].dtype == np.float32 and got[0] > 1.78e7


# ---- forbidden programs: one located diagnostic from `mcodec check`, never a traceback ----
FORBIDDEN = {
    "write_param": ("fn f(x: f64[N]):\n    x[0] = 1.0\n", "cannot write parameter 'x'"),
    "scalar_param": ("fn f(a: i64) -> i64:\n    a = 3\n    return a\n", "read-only"),
    "tabs": ("fn f(x: f64[N]) -> f64:\n\treturn sum(x)\n", "tab"),
    "unknown_fn": ("fn f(x: f64[N]) -> f64[N]:\n    return cumsum(x)\n", "cumsum"),
    "keyword": ("fn f(x: f64[N]) -> f64:\n    let for = 1.0\n    return for\n", "keyword"),
    "rank_change": (
        "fn f(n: i64) -> f64[?]:\n    let x = zeros((n,))\n    x = zeros((n, n))\n    return x\n",
        "rebound",
    ),
    "dtype_change": ("fn f(n: i64) -> i64:\n    let i = 0\n    i = 1.5\n    return i\n", "dtype i64"),
    "and_arrays": ("fn f(x: bool[N], y: bool[N]) -> bool[N]:\n    return x and y\n", "scalars"),
    "ternary_arrays": ("fn f(x: f64[N], c: bool) -> f64[N]:\n    return x if c else -x\n", "scalars"),
    "bool_sub": ("fn f(x: bool[N], y: bool[N]) -> bool[N]:\n    return x - y\n", "bool"),
    "bool_neg": ("fn f(x: bool[N]) -> bool[N]:\n    return -x\n", "bool"),
    "inout_scalar": ("fn f(inout a: f64):\n    a = 1.0\n", "must be an array"),
    "default_array": ("fn f(x: f64[N] = 0.0) -> f64:\n    return sum(x)\n", "defaults"),
    "shapes": ("fn f(x: f64[3], y: f64[4]) -> f64[3]:\n    return x + y\n", "broadcast"),
    "missing_return": ("fn f(x: f64[N]) -> f64:\n    let s = sum(x)\n", "without returning"),
    "int_result": ("fn f(x: f64[N]) -> i64[N]:\n    return x\n", "dtype"),
    "break": ("fn f(x: f64[N]) -> f64:\n    break\n    return 1.0\n", "outside a loop"),
    "argc": (
        "fn g(a: f64, b: f64) -> f64:\n    return a + b\n\nfn f() -> f64:\n    return g(1.0)\n",
        "missing",
    ),
    "literal": ("fn f() -> i64:\n    return 18446744073709551616\n", "out of range"),
    "float_shift": ("fn f(x: f64[N]) -> f64[N]:\n    return x << 1\n", "<<"),
    "neg_pow": ("fn f() -> i64:\n    return 2 ** -1\n", "negative"),
    "axis": ("fn f(x: f64[N, M]) -> f64[N]:\n    return sum(x, axis=2)\n", "axis 2"),
    "float_index": ("fn f(x: f64[N]) -> f64:\n    return x[1.0]\n", "integer"),
    "float_range": (
        "fn f(n: f64) -> i64:\n    let s = 0\n    for i in range(n):\n        s += 1\n    return s\n",
        "integer",
    ),
    "matmul": ("fn f(A: f64[3, 4], B: f64[3, 4]) -> f64[3, 4]:\n    return A @ B\n", "inner dimensions"),
    "complex_floordiv": ("fn f(x: c128[N]) -> c128[N]:\n    return x // x\n", "//"),
    "recursion": (
        "fn f(n: i64) -> i64:\n    if n <= 1:\n        return 1\n    return n * f(n - 1)\n",
        "recursive",
    ),
    "inout_temp": (
        "fn g(inout y: f64[N]):\n    y += 1.0\n\nfn f(x: f64[N]) -> f64:\n    g(x * 2.0)\n    return 1.0\n",
        "must be a variable",
    ),
    "inout_shape": ("fn f(inout x: f64[N]):\n    x = zeros((3, 3))\n", "f64[N]"),
    "int_true_div": (
        "fn f(x: i64[N]) -> i64[N]:\n    let y = copy(x)\n    y /= 2\n    return y\n",
        "dtype i64",
    ),
    "narrow_literal": ("fn f(x: i8[N]) -> i8[N]:\n    return x + 300\n", "does not fit i8"),
    # regression: maximum(i8, 200) compiled and wrapped 200 to -56 in the back ends
    "maximum_literal": ("fn f(x: i8[N]) -> i8[N]:\n    return maximum(x, 200)\n", "does not fit i8"),
    "minimum_literal": ("fn f(x: u16[N]) -> u16[N]:\n    return minimum(-1, x)\n", "does not fit u16"),
    # regression: a clip bound beyond the integer dtype on the other side (NumPy: OverflowError)
    "clip_low_literal": ("fn f(x: u8[N]) -> u8[N]:\n    return clip(x, 300, 400)\n", "does not fit u8"),
    "clip_high_literal": ("fn f(x: u8[N]) -> u8[N]:\n    return clip(x, -10, -5)\n", "does not fit u8"),
    # regression: an integer literal the array's dtype cannot hold, put into it (NumPy raises
    # OverflowError; the back ends wrapped it: 300 -> 44, -1 -> 255, 40000 -> -25536)
    "full_literal": ("fn f(n: i64) -> u8[?]:\n    return full((n,), 300, dtype=u8)\n", "does not fit u8"),
    "full_like_literal": ("fn f(x: u8[N]) -> u8[N]:\n    return full_like(x, -1)\n", "does not fit u8"),
    "store_literal": (
        "fn f(x: u8[N]) -> u8[N]:\n    let y = copy(x)\n    y[0] = 300\n    return y\n",
        "does not fit u8",
    ),
    "slice_store_literal": ("fn f(inout x: u8[N]):\n    x[1:] = -1\n", "does not fit u8"),
    "loop_store_literal": (
        "fn f(x: i16[N]) -> i16[N]:\n    let y = copy(x)\n    for i in range(N):\n        y[i] = 40000\n    return y\n",
        "does not fit i16",
    ),
    "unsigned_literal": ("fn f(x: u8[N]) -> u8[N]:\n    return x + (-1)\n", "does not fit u8"),
    "void_result": (
        "fn g(x: f64[N]):\n    pass\n\nfn f(x: f64[N]) -> f64:\n    let a = g(x)\n    return 1.0\n",
        "no result",
    ),
    "unpack": (
        "fn g() -> (f64, f64):\n    return 1.0, 2.0\n\nfn f() -> f64:\n    let a, b, c = g()\n    return a\n",
        "unpack",
    ),
    "string": ('fn f(n: i64) -> i64:\n    let s = "abc"\n    return n\n', "unexpected character"),
}


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_forbidden_program_is_a_diagnostic(case: str, tmp_path: Path) -> None:
    from mcodec.compiler.cli import main

    src, words = FORBIDDEN[case]
    path = tmp_path / f"{case}.mc"
    path.write_text(src)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["check", str(path)])
    text = out.getvalue() + err.getvalue()
    assert rc == 1, text
    assert "Traceback" not in text, text
    assert f"{case}.mc:" in text and "error:" in text, text
    assert words in text, text


# ---- regression: constant folding took a literal beside a typed constant as np.int64 -----
# (or np.float64): `u64(2**64 - 1) // 3` went through f64 (6148914691236516864), `h % 10`
# gave 6 and `h * 1` gave 0; `f32(1.1) * 0.1` rounded twice (0.11, NumPy's is 0.11000001).
# NumPy 2 takes the literal as a weak Python number, in the other operand's dtype.
FOLD_SRC = """fn folded() -> (u64, u64, u64, u64, f32, f32, i8, f64):
    let h = u64(18446744073709551615)
    let a = f32(1.1)
    let b = i8(100)
    return h // 3, h % 10, h * 1, h - 5, a * 0.1, a / 3.0, b + b + 1, f64(i64(7) // 2) * 0.1

fn unfolded(h: u64, a: f32, b: i8) -> (u64, u64, u64, u64, f32, f32, i8):
    return h // 3, h % 10, h * 1, h - 5, a * 0.1, a / 3.0, b + b + 1
"""


@pytest.mark.parametrize("strategy", ["reference", "numba", "llvm"])
def test_constant_fold_keeps_literals_weak(strategy: str) -> None:
    h, a, b = np.uint64(2**64 - 1), np.float32(1.1), np.int8(100)
    with np.errstate(over="ignore"):
        want = (h // 3, h % 10, h * 1, h - 5, a * 0.1, a / 3.0, b + b + 1)
    prog = program("fold", FOLD_SRC, strategy)
    for got in (prog.folded()[:7], prog.unfolded(h=h, a=a, b=b)):
        assert [type(g) for g in got] == [type(w) for w in want], got
        assert got == want, (got, want)  # exact: the same operations in the same dtypes
    assert prog.folded()[7] == np.float64(3) * 0.1


# ---- regression: a zero range() step raised ZeroDivisionError in the reference (np.arange's),
# where Python's range() and every back end raise ValueError
RANGE0_SRC = """fn steps(a: i64, b: i64, s: i64) -> i64:
    let t = 0
    for i in range(a, b, s):
        t += i
    return t
"""


@pytest.mark.parametrize("strategy", ["reference", "numpy-mem", "numba", "llvm", "mlx-cpu"])
def test_zero_range_step_is_value_error(strategy: str) -> None:
    prog = program("range0", RANGE0_SRC, strategy)
    with pytest.raises(ValueError, match="must not be zero"):
        prog.steps(a=0, b=5, s=0)
    for a, b, s in [(10, 0, -3), (0, 10, 4), (-5, 5, -1)]:
        assert prog.steps(a=a, b=b, s=s) == sum(range(a, b, s))
