"""Hold-out batch 8a: kernels a scientist would write to the language contract (PolyBench
kernels outside the corpus, solvers, scans, image filters, dynamic programming, hashing,
small ML steps), each checked against a NumPy expression written here, never through
mcodec, at a tiny size and a size that reaches the parallel and vectorized paths. Each
program is built once, under one compiled strategy or a random per-block mix (assigned in
turn, so the file covers every strategy while staying fast), beside the reference lowering."""

from __future__ import annotations

import copy
import random
import warnings
from typing import Any

import numpy as np
import pytest
from corpus_util import assert_same
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.reference import reference_program
from mcodec.compiler.stitch import block_views
from mcodec.compiler.strategy import REGISTRY

P: list[dict[str, Any]] = []


def prog(name: str, src: str, entry: str, inout: tuple[str, ...] = ()):  # noqa: ANN201
    """Register a program: the decorated function returns (make_args(size), expect(args)),
    expect giving (the result, {inout name: final array}) computed with NumPy."""
    def deco(fns):  # noqa: ANN001, ANN202
        mk, ex = fns()
        P.append(dict(name=name, src=src, entry=entry, make=mk, expect=ex, inout=inout))
        return fns
    return deco


def R(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# 1 syrk (lower triangle, polybench), f64, inout C
SYRK = """fn syrk(alpha: f64, beta: f64, inout C: f64[N, N], A: f64[N, M]):
    for i in range(N):
        C[i, :i + 1] *= beta
        for k in range(M):
            C[i, :i + 1] += alpha * A[i, k] * A[:i + 1, k]
"""
@prog("syrk", SYRK, "syrk", ("C",))
def _():
    def mk(s):
        n, m = (3, 5) if s == "tiny" else (120, 97)
        r = R(1)
        return dict(alpha=1.5, beta=1.2, C=r.random((n, n)), A=r.random((n, m)))
    def ex(a):
        C, A = a["C"].copy(), a["A"]
        n, m = A.shape
        for i in range(n):
            C[i, :i + 1] *= a["beta"]
            for k in range(m):
                C[i, :i + 1] += a["alpha"] * A[i, k] * A[:i + 1, k]
        return None, dict(C=C)
    return mk, ex

# 2 syr2k, f32, whole-row variant with a helper function
SYR2K = """fn rank2_row(alpha: f32, a: f32[M], b: f32[M], A: f32[?, M], B: f32[?, M]) -> f32[?]:
    return alpha * (A @ b + B @ a)

fn syr2k(alpha: f32, beta: f32, inout C: f32[N, N], A: f32[N, M], B: f32[N, M]):
    for i in range(N):
        C[i, :i + 1] = beta * C[i, :i + 1] + rank2_row(alpha, A[i], B[i], A[:i + 1], B[:i + 1])
"""
@prog("syr2k", SYR2K, "syr2k", ("C",))
def _():
    def mk(s):
        n, m = (5, 3) if s == "tiny" else (150, 77)
        r = R(2)
        f = np.float32
        return dict(alpha=f(0.7), beta=f(1.3), C=r.random((n, n)).astype(f), A=r.random((n, m)).astype(f), B=r.random((n, m)).astype(f))
    def ex(a):
        C = a["C"].copy()
        A, B = a["A"], a["B"]
        for i in range(C.shape[0]):
            C[i, :i + 1] = a["beta"] * C[i, :i + 1] + a["alpha"] * (A[:i + 1] @ B[i] + B[:i + 1] @ A[i])
        return None, dict(C=C)
    return mk, ex

# 3 trmm
TRMM = """fn trmm(alpha: f64, A: f64[M, M], inout B: f64[M, N]):
    for i in range(M):
        for j in range(N):
            B[i, j] += dot(A[i + 1:, i], B[i + 1:, j])
    B *= alpha
"""
@prog("trmm", TRMM, "trmm", ("B",))
def _():
    def mk(s):
        m, n = (3, 5) if s == "tiny" else (90, 257)
        r = R(3)
        return dict(alpha=1.5, A=r.random((m, m)), B=r.random((m, n)))
    def ex(a):
        A, B = a["A"], a["B"].copy()
        for i in range(B.shape[0]):
            for j in range(B.shape[1]):
                B[i, j] += np.dot(A[i + 1:, i], B[i + 1:, j])
        B *= a["alpha"]
        return None, dict(B=B)
    return mk, ex

# 4 symm
SYMM = """fn symm(alpha: f64, beta: f64, inout C: f64[M, N], A: f64[M, M], B: f64[M, N]):
    let temp2 = empty((N,), dtype=f64)
    C *= beta
    for i in range(M):
        for j in range(N):
            C[:i, j] += alpha * B[i, j] * A[i, :i]
            temp2[j] = dot(B[:i, j], A[i, :i])
        C[i, :] += alpha * B[i, :] * A[i, i] + alpha * temp2
"""
@prog("symm", SYMM, "symm", ("C",))
def _():
    def mk(s):
        m, n = (5, 3) if s == "tiny" else (60, 257)
        r = R(4)
        return dict(alpha=1.5, beta=1.2, C=r.random((m, n)), A=r.random((m, m)), B=r.random((m, n)))
    def ex(a):
        alpha, beta, A, B = a["alpha"], a["beta"], a["A"], a["B"]
        C = a["C"].copy()
        M, N = C.shape
        temp2 = np.empty(N)
        C *= beta
        for i in range(M):
            for j in range(N):
                C[:i, j] += alpha * B[i, j] * A[i, :i]
                temp2[j] = B[:i, j] @ A[i, :i]
            C[i, :] += alpha * B[i, :] * A[i, i] + alpha * temp2
        return None, dict(C=C)
    return mk, ex

# 5 covariance f32
COV = """fn center(data: f32[N, M]) -> f32[N, M]:
    return data - mean(data, axis=0)

fn covariance(data: f32[N, M]) -> f32[M, M]:
    let d = center(data)
    let cov = zeros((M, M), dtype=f32)
    for i in range(M):
        cov[i, i:] = (d[:, i] @ d[:, i:]) / f32(N - 1)
        cov[i:, i] = cov[i, i:]
    return cov
"""
@prog("covariance", COV, "covariance")
def _():
    def mk(s):
        n, m = (5, 3) if s == "tiny" else (300, 57)
        return dict(data=R(5).random((n, m)).astype(np.float32))
    def ex(a):
        d = a["data"] - a["data"].mean(axis=0)
        M = d.shape[1]
        N = d.shape[0]
        cov = np.zeros((M, M), np.float32)
        for i in range(M):
            cov[i, i:] = (d[:, i] @ d[:, i:]) / np.float32(N - 1)
            cov[i:, i] = cov[i, i:]
        return cov, {}
    return mk, ex

# 6 adi (polybench numpy)
ADI = """fn adi(tsteps: i64, inout u: f64[N, N]):
    let v = zeros((N, N), dtype=f64)
    let p = zeros((N, N), dtype=f64)
    let q = zeros((N, N), dtype=f64)
    let DX = 1.0 / f64(N)
    let DY = 1.0 / f64(N)
    let DT = 1.0 / f64(tsteps)
    let B1 = 2.0
    let B2 = 1.0
    let mul1 = B1 * DT / (DX * DX)
    let mul2 = B2 * DT / (DY * DY)
    let a = -mul1 / 2.0
    let b = 1.0 + mul1
    let c = a
    let d = -mul2 / 2.0
    let e = 1.0 + mul2
    let f = d
    for t in range(1, tsteps + 1):
        v[0, 1:N - 1] = 1.0
        p[1:N - 1, 0] = 0.0
        q[1:N - 1, 0] = v[0, 1:N - 1]
        for j in range(1, N - 1):
            p[1:N - 1, j] = -c / (a * p[1:N - 1, j - 1] + b)
            q[1:N - 1, j] = (-d * u[j, 0:N - 2] + (1.0 + 2.0 * d) * u[j, 1:N - 1] - f * u[j, 2:N] - a * q[1:N - 1, j - 1]) / (a * p[1:N - 1, j - 1] + b)
        v[N - 1, 1:N - 1] = 1.0
        for j in range(N - 2, 0, -1):
            v[j, 1:N - 1] = p[1:N - 1, j] * v[j + 1, 1:N - 1] + q[1:N - 1, j]
        u[1:N - 1, 0] = 1.0
        p[1:N - 1, 0] = 0.0
        q[1:N - 1, 0] = u[1:N - 1, 0]
        for j in range(1, N - 1):
            p[1:N - 1, j] = -f / (d * p[1:N - 1, j - 1] + e)
            q[1:N - 1, j] = (-a * v[0:N - 2, j] + (1.0 + 2.0 * a) * v[1:N - 1, j] - c * v[2:N, j] - d * q[1:N - 1, j - 1]) / (d * p[1:N - 1, j - 1] + e)
        u[1:N - 1, N - 1] = 1.0
        for j in range(N - 2, 0, -1):
            u[1:N - 1, j] = p[1:N - 1, j] * u[1:N - 1, j + 1] + q[1:N - 1, j]
"""
@prog("adi", ADI, "adi", ("u",))
def _():
    def mk(s):
        n, t = (5, 3) if s == "tiny" else (80, 4)
        return dict(tsteps=t, u=R(6).random((n, n)))
    def ex(a):
        tsteps = a["tsteps"]
        u = a["u"].copy()
        N = u.shape[0]
        v = np.zeros((N, N))
        p = np.zeros((N, N))
        q = np.zeros((N, N))
        DX = 1.0 / N
        DY = 1.0 / N
        DT = 1.0 / tsteps
        B1 = 2.0
        B2 = 1.0
        mul1 = B1 * DT / (DX * DX)
        mul2 = B2 * DT / (DY * DY)
        A_ = -mul1 / 2.0
        b = 1.0 + mul1
        c = A_
        d = -mul2 / 2.0
        e = 1.0 + mul2
        f = d
        a_ = A_
        for _t in range(1, tsteps + 1):
            v[0, 1:N - 1] = 1.0
            p[1:N - 1, 0] = 0.0
            q[1:N - 1, 0] = v[0, 1:N - 1]
            for j in range(1, N - 1):
                p[1:N - 1, j] = -c / (a_ * p[1:N - 1, j - 1] + b)
                q[1:N - 1, j] = (-d * u[j, 0:N - 2] + (1.0 + 2.0 * d) * u[j, 1:N - 1] - f * u[j, 2:N] - a_ * q[1:N - 1, j - 1]) / (a_ * p[1:N - 1, j - 1] + b)
            v[N - 1, 1:N - 1] = 1.0
            for j in range(N - 2, 0, -1):
                v[j, 1:N - 1] = p[1:N - 1, j] * v[j + 1, 1:N - 1] + q[1:N - 1, j]
            u[1:N - 1, 0] = 1.0
            p[1:N - 1, 0] = 0.0
            q[1:N - 1, 0] = u[1:N - 1, 0]
            for j in range(1, N - 1):
                p[1:N - 1, j] = -f / (d * p[1:N - 1, j - 1] + e)
                q[1:N - 1, j] = (-a_ * v[0:N - 2, j] + (1.0 + 2.0 * a_) * v[1:N - 1, j] - c * v[2:N, j] - d * q[1:N - 1, j - 1]) / (d * p[1:N - 1, j - 1] + e)
            u[1:N - 1, N - 1] = 1.0
            for j in range(N - 2, 0, -1):
                u[1:N - 1, j] = p[1:N - 1, j] * u[1:N - 1, j + 1] + q[1:N - 1, j]
        return None, dict(u=u)
    return mk, ex

# 7 ludcmp: LU in place then forward/back substitution
LUDCMP = """fn ludcmp(inout A: f64[N, N], b: f64[N]) -> f64[N]:
    for i in range(N):
        for j in range(i):
            A[i, j] -= dot(A[i, :j], A[:j, j])
            A[i, j] /= A[j, j]
        for j in range(i, N):
            A[i, j] -= dot(A[i, :i], A[:i, j])
    let y = zeros((N,), dtype=f64)
    for i in range(N):
        y[i] = b[i] - dot(A[i, :i], y[:i])
    let x = zeros((N,), dtype=f64)
    for i in range(N - 1, -1, -1):
        x[i] = (y[i] - dot(A[i, i + 1:], x[i + 1:])) / A[i, i]
    return x
"""
@prog("ludcmp", LUDCMP, "ludcmp", ("A",))
def _():
    def mk(s):
        n = 5 if s == "tiny" else 120
        r = R(7)
        A = r.random((n, n)) + n * np.eye(n)
        return dict(A=A, b=r.random(n))
    def ex(a):
        A = a["A"].copy()
        b = a["b"]
        N = len(b)
        for i in range(N):
            for j in range(i):
                A[i, j] -= A[i, :j] @ A[:j, j]
                A[i, j] /= A[j, j]
            for j in range(i, N):
                A[i, j] -= A[i, :i] @ A[:i, j]
        y = np.zeros(N)
        for i in range(N):
            y[i] = b[i] - A[i, :i] @ y[:i]
        x = np.zeros(N)
        for i in range(N - 1, -1, -1):
            x[i] = (y[i] - A[i, i + 1:] @ x[i + 1:]) / A[i, i]
        return x, dict(A=A)
    return mk, ex

# 8 weighted jacobi with while-loop convergence (f32)
WJAC = """fn residual(u: f32[N], f: f32[N], h2: f32) -> f32:
    let r = f[1:-1] + (u[:-2] - 2.0 * u[1:-1] + u[2:]) / h2
    return sqrt(sum(r * r))

fn wjacobi(inout u: f32[N], f: f32[N], omega: f32, tol: f32, maxit: i64) -> i64:
    let h = 1.0 / f64(N - 1)
    let h2 = f32(h * h)
    let it = 0
    while it < maxit and residual(u, f, h2) > tol:
        let unew = 0.5 * (u[:-2] + u[2:] + h2 * f[1:-1])
        u[1:-1] = (1.0 - omega) * u[1:-1] + omega * unew
        it += 1
    return it
"""
@prog("wjacobi", WJAC, "wjacobi", ("u",))
def _():
    def mk(s):
        n = 5 if s == "tiny" else 257
        f = np.float32
        return dict(u=np.zeros(n, f), f=np.ones(n, f), omega=f(0.8), tol=f(1e-3), maxit=(50 if s == "tiny" else 200))
    def ex(a):
        u = a["u"].copy()
        fv = a["f"]
        omega = a["omega"]
        N = len(u)
        h = 1.0 / (N - 1)
        h2 = np.float32(h * h)
        def res(u):
            r = fv[1:-1] + (u[:-2] - 2.0 * u[1:-1] + u[2:]) / h2
            return np.sqrt(np.sum(r * r))
        it = 0
        while it < a["maxit"] and res(u) > a["tol"]:
            unew = 0.5 * (u[:-2] + u[2:] + h2 * fv[1:-1])
            u[1:-1] = (1.0 - omega) * u[1:-1] + omega * unew
            it += 1
        return it, dict(u=u)
    return mk, ex

# 9 3-D 7-point stencil
ST3 = """fn lap3(A: f64[N, M, K]) -> f64[?, ?, ?]:
    return A[2:, 1:-1, 1:-1] + A[:-2, 1:-1, 1:-1] + A[1:-1, 2:, 1:-1] + A[1:-1, :-2, 1:-1] + A[1:-1, 1:-1, 2:] + A[1:-1, 1:-1, :-2] - 6.0 * A[1:-1, 1:-1, 1:-1]

fn diffuse3(steps: i64, nu: f64, inout A: f64[N, M, K]) -> f64:
    for t in range(steps):
        A[1:-1, 1:-1, 1:-1] += nu * lap3(A)
    return sum(A) / f64(A.size)
"""
@prog("diffuse3", ST3, "diffuse3", ("A",))
def _():
    def mk(s):
        sh = (3, 5, 3) if s == "tiny" else (20, 17, 33)
        return dict(steps=3, nu=0.1, A=R(9).random(sh))
    def ex(a):
        A = a["A"].copy()
        for _t in range(a["steps"]):
            L = A[2:, 1:-1, 1:-1] + A[:-2, 1:-1, 1:-1] + A[1:-1, 2:, 1:-1] + A[1:-1, :-2, 1:-1] + A[1:-1, 1:-1, 2:] + A[1:-1, 1:-1, :-2] - 6.0 * A[1:-1, 1:-1, 1:-1]
            A[1:-1, 1:-1, 1:-1] += a["nu"] * L
        return np.sum(A) / A.size, dict(A=A)
    return mk, ex

# 10 Thomas tridiagonal solver
THOMAS = """fn thomas(a: f64[N], b: f64[N], c: f64[N], d: f64[N]) -> f64[N]:
    let cp = zeros((N,), dtype=f64)
    let dp = zeros((N,), dtype=f64)
    cp[0] = c[0] / b[0]
    dp[0] = d[0] / b[0]
    for i in range(1, N):
        let m = b[i] - a[i] * cp[i - 1]
        cp[i] = c[i] / m
        dp[i] = (d[i] - a[i] * dp[i - 1]) / m
    let x = zeros((N,), dtype=f64)
    x[N - 1] = dp[N - 1]
    for i in range(N - 2, -1, -1):
        x[i] = dp[i] - cp[i] * x[i + 1]
    return x
"""
@prog("thomas", THOMAS, "thomas")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 2001
        r = R(10)
        return dict(a=r.random(n), b=4.0 + r.random(n), c=r.random(n), d=r.random(n))
    def ex(a):
        A, B, C, D = a["a"], a["b"], a["c"], a["d"]
        n = len(A)
        cp = np.zeros(n)
        dp = np.zeros(n)
        cp[0] = C[0] / B[0]
        dp[0] = D[0] / B[0]
        for i in range(1, n):
            m = B[i] - A[i] * cp[i - 1]
            cp[i] = C[i] / m
            dp[i] = (D[i] - A[i] * dp[i - 1]) / m
        x = np.zeros(n)
        x[-1] = dp[-1]
        for i in range(n - 2, -1, -1):
            x[i] = dp[i] - cp[i] * x[i + 1]
        return x, {}
    return mk, ex

# 11 prefix sums and running maxima (i32 / f32)
SCAN = """fn scans(x: i32[N], y: f32[N]) -> (i32[N], i32[N], f32[N], i64):
    let inc = zeros((N,), dtype=i32)
    let exc = zeros((N,), dtype=i32)
    let rmax = zeros((N,), dtype=f32)
    let acc: i32 = 0
    let best = y[0]
    let changes = 0
    for i in range(N):
        exc[i] = acc
        acc += x[i]
        inc[i] = acc
        if y[i] > best:
            best = y[i]
            changes += 1
        rmax[i] = best
    return inc, exc, rmax, changes
"""
@prog("scans", SCAN, "scans")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 3001
        r = R(11)
        return dict(x=r.integers(-1000, 1000, n).astype(np.int32), y=r.normal(size=n).astype(np.float32))
    def ex(a):
        x, y = a["x"], a["y"]
        inc = np.cumsum(x, dtype=np.int32)
        exc = np.concatenate([[0], inc[:-1]]).astype(np.int32)
        rmax = np.maximum.accumulate(y)
        ch = int(np.sum(rmax[1:] > rmax[:-1]))
        return (inc, exc, rmax, ch), {}
    return mk, ex

# 12 n-body forces
NBODY = """fn forces(pos: f64[N, 3], mass: f64[N], soft: f64) -> f64[N, 3]:
    let dx = pos[newaxis, :, 0] - pos[:, newaxis, 0]
    let dy = pos[newaxis, :, 1] - pos[:, newaxis, 1]
    let dz = pos[newaxis, :, 2] - pos[:, newaxis, 2]
    let inv = (dx * dx + dy * dy + dz * dz + soft * soft) ** -1.5
    let F = zeros((N, 3), dtype=f64)
    F[:, 0] = (dx * inv) @ mass
    F[:, 1] = (dy * inv) @ mass
    F[:, 2] = (dz * inv) @ mass
    return F * mass[:, newaxis]

fn kick(inout pos: f64[N, 3], inout vel: f64[N, 3], mass: f64[N], dt: f64, steps: i64) -> f64:
    for s in range(steps):
        vel += dt * forces(pos, mass, 0.1) / mass[:, newaxis]
        pos += dt * vel
    return 0.5 * sum(mass * sum(vel * vel, axis=1))
"""
@prog("nbody", NBODY, "kick", ("pos", "vel"))
def _():
    def mk(s):
        n = 3 if s == "tiny" else 300
        r = R(12)
        return dict(pos=r.normal(size=(n, 3)), vel=np.zeros((n, 3)), mass=r.random(n) + 0.5, dt=0.01, steps=3)
    def ex(a):
        pos = a["pos"].copy()
        vel = a["vel"].copy()
        mass = a["mass"]
        def forces(pos):
            d = pos[np.newaxis, :, :] - pos[:, np.newaxis, :]
            inv = (np.sum(d * d, axis=2) + 0.01) ** -1.5
            F = np.stack([(d[:, :, k] * inv) @ mass for k in range(3)], axis=1)
            return F * mass[:, None]
        for _s in range(a["steps"]):
            vel += a["dt"] * forces(pos) / mass[:, None]
            pos += a["dt"] * vel
        return 0.5 * np.sum(mass * np.sum(vel * vel, axis=1)), dict(pos=pos, vel=vel)
    return mk, ex

# 13 Black-Scholes with polynomial CND (f32)
BS = """fn cnd(d: f32[N]) -> f32[N]:
    let k = 1.0 / (1.0 + 0.2316419 * abs(d))
    let poly = k * (0.31938153 + k * (-0.356563782 + k * (1.781477937 + k * (-1.821255978 + k * 1.330274429))))
    let w = 1.0 - 0.3989422804014327 * exp(-0.5 * d * d) * poly
    return where(d < 0.0, 1.0 - w, w)

fn black_scholes(S: f32[N], K: f32[N], T: f32[N], r: f32, sigma: f32) -> (f32[N], f32[N]):
    let sq = sigma * sqrt(T)
    let d1 = (log(S / K) + (r + 0.5 * sigma * sigma) * T) / sq
    let d2 = d1 - sq
    let disc = K * exp(-r * T)
    let call = S * cnd(d1) - disc * cnd(d2)
    let put = call - S + disc
    return call, put
"""
@prog("black_scholes", BS, "black_scholes")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 4001
        r = R(13)
        f = np.float32
        return dict(S=(5 + 30 * r.random(n)).astype(f), K=(1 + 100 * r.random(n)).astype(f), T=(0.25 + 10 * r.random(n)).astype(f), r=f(0.02), sigma=f(0.3))
    def ex(a):
        S, K, T, r, sigma = a["S"], a["K"], a["T"], a["r"], a["sigma"]
        def cnd(d):
            k = 1.0 / (1.0 + 0.2316419 * np.abs(d))
            poly = k * (0.31938153 + k * (-0.356563782 + k * (1.781477937 + k * (-1.821255978 + k * 1.330274429))))
            w = 1.0 - 0.3989422804014327 * np.exp(-0.5 * d * d) * poly
            return np.where(d < 0.0, 1.0 - w, w)
        sq = sigma * np.sqrt(T)
        d1 = (np.log(S / K) + (r + 0.5 * sigma * sigma) * T) / sq
        d2 = d1 - sq
        disc = K * np.exp(-r * T)
        call = S * cnd(d1) - disc * cnd(d2)
        return (call, call - S + disc), {}
    return mk, ex

# 14 Monte Carlo pi with an integer LCG (i64, masks)
MC = """fn lcg(s: i64) -> i64:
    return (s * 1103515245 + 12345) & 0x7FFFFFFF

fn mc_pi(n: i64, seed: i64) -> (f64, i64):
    let s = seed
    let hits = 0
    for i in range(n):
        s = lcg(s)
        let x = f64(s) / 2147483648.0
        s = lcg(s)
        let y = f64(s) / 2147483648.0
        if x * x + y * y < 1.0:
            hits += 1
    return 4.0 * f64(hits) / f64(n), s
"""
@prog("mc_pi", MC, "mc_pi")
def _():
    def mk(s):
        return dict(n=5 if s == "tiny" else 20001, seed=42)
    def ex(a):
        s = a["seed"]
        hits = 0
        for _i in range(a["n"]):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            x = s / 2147483648.0
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            y = s / 2147483648.0
            if x * x + y * y < 1.0:
                hits += 1
        return (4.0 * hits / a["n"], s), {}
    return mk, ex

# 15 Newton sqrt (vector of scalars) + bisection for cubic root
NEWTON = """fn newton_sqrt(a: f64, tol: f64) -> (f64, i64):
    let x = a if a > 1.0 else 1.0
    let it = 0
    while abs(x * x - a) > tol * a and it < 100:
        x = 0.5 * (x + a / x)
        it += 1
    return x, it

fn cubic(x: f64, c: f64) -> f64:
    return x * x * x - 2.0 * x - c

fn bisect(c: f64, lo: f64, hi: f64) -> f64:
    let a = lo
    let b = hi
    while b - a > 1e-12:
        let m = 0.5 * (a + b)
        if cubic(a, c) * cubic(m, c) <= 0.0:
            b = m
        else:
            a = m
    return 0.5 * (a + b)

fn roots(vals: f64[N]) -> (f64[N], i64[N], f64[N]):
    let r = zeros((N,), dtype=f64)
    let its = zeros((N,), dtype=i64)
    let cr = zeros((N,), dtype=f64)
    for i in range(N):
        r[i], its[i] = newton_sqrt(vals[i], 1e-14)
        cr[i] = bisect(vals[i], 0.0, 10.0)
    return r, its, cr
"""
@prog("roots", NEWTON, "roots")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 301
        return dict(vals=R(15).random(n) * 50 + 0.01)
    def ex(a):
        vals = a["vals"]
        n = len(vals)
        r = np.zeros(n)
        its = np.zeros(n, np.int64)
        cr = np.zeros(n)
        for i in range(n):
            av = vals[i]
            x = av if av > 1.0 else 1.0
            it = 0
            while abs(x * x - av) > 1e-14 * av and it < 100:
                x = 0.5 * (x + av / x)
                it += 1
            r[i] = x
            its[i] = it
            lo, hi = 0.0, 10.0
            f = lambda x, av=av: x * x * x - 2.0 * x - av
            while hi - lo > 1e-12:
                m = 0.5 * (lo + hi)
                if f(lo) * f(m) <= 0.0:
                    hi = m
                else:
                    lo = m
            cr[i] = 0.5 * (lo + hi)
        return (r, its, cr), {}
    return mk, ex

# 16 power iteration with normalization
POWER = """fn normalize(inout v: f64[N]) -> f64:
    let nrm = sqrt(sum(v * v))
    v /= nrm
    return nrm

fn power_iter(A: f64[N, N], iters: i64) -> (f64, f64[N]):
    let v = ones((N,), dtype=f64)
    let lam = 0.0
    normalize(v)
    for k in range(iters):
        let w = A @ v
        lam = dot(v, w)
        v = w
        normalize(v)
    return lam, v
"""
@prog("power_iter", POWER, "power_iter")
def _():
    def mk(s):
        n = 3 if s == "tiny" else 300
        r = R(16)
        B = r.random((n, n))
        return dict(A=B + B.T, iters=20)
    def ex(a):
        A = a["A"]
        n = A.shape[0]
        v = np.ones(n)
        v /= np.sqrt(np.sum(v * v))
        lam = 0.0
        for _k in range(a["iters"]):
            w = A @ v
            lam = v @ w
            v = w / np.sqrt(np.sum(w * w))
        return (lam, v), {}
    return mk, ex

# 17 banded matrix-vector (diagonal storage), f32
BAND = """fn band_mv(D: f32[K, N], x: f32[N], p: i64) -> f32[N]:
    let y = zeros((N,), dtype=f32)
    for k in range(K):
        let off = k - p
        if off >= 0:
            y[:N - off] += D[k, :N - off] * x[off:]
        else:
            y[-off:] += D[k, -off:] * x[:N + off]
    return y
"""
@prog("band_mv", BAND, "band_mv")
def _():
    def mk(s):
        k, n = (3, 5) if s == "tiny" else (7, 3001)
        r = R(17)
        return dict(D=r.random((k, n)).astype(np.float32), x=r.random(n).astype(np.float32), p=k // 2)
    def ex(a):
        D, x, p = a["D"], a["x"], a["p"]
        K, N = D.shape
        y = np.zeros(N, np.float32)
        for k in range(K):
            off = k - p
            if off >= 0:
                y[:N - off] += D[k, :N - off] * x[off:]
            else:
                y[-off:] += D[k, -off:] * x[:N + off]
        return y, {}
    return mk, ex

# 18 box blur 3x3 (f32) + sobel magnitude
IMG = """fn box_blur(img: f32[H, W]) -> f32[H, W]:
    let out = copy(img)
    out[1:-1, 1:-1] = (img[:-2, :-2] + img[:-2, 1:-1] + img[:-2, 2:] + img[1:-1, :-2] + img[1:-1, 1:-1] + img[1:-1, 2:] + img[2:, :-2] + img[2:, 1:-1] + img[2:, 2:]) / 9.0
    return out

fn sobel(img: f32[H, W]) -> (f32[?, ?], f32):
    let b = box_blur(img)
    let gx = (b[:-2, 2:] + 2.0 * b[1:-1, 2:] + b[2:, 2:]) - (b[:-2, :-2] + 2.0 * b[1:-1, :-2] + b[2:, :-2])
    let gy = (b[2:, :-2] + 2.0 * b[2:, 1:-1] + b[2:, 2:]) - (b[:-2, :-2] + 2.0 * b[:-2, 1:-1] + b[:-2, 2:])
    let mag = sqrt(gx * gx + gy * gy)
    return mag, max(mag)
"""
@prog("sobel", IMG, "sobel")
def _():
    def mk(s):
        sh = (3, 5) if s == "tiny" else (300, 257)
        return dict(img=R(18).random(sh).astype(np.float32))
    def ex(a):
        img = a["img"]
        b = img.copy()
        b[1:-1, 1:-1] = (img[:-2, :-2] + img[:-2, 1:-1] + img[:-2, 2:] + img[1:-1, :-2] + img[1:-1, 1:-1] + img[1:-1, 2:] + img[2:, :-2] + img[2:, 1:-1] + img[2:, 2:]) / 9.0
        gx = (b[:-2, 2:] + 2.0 * b[1:-1, 2:] + b[2:, 2:]) - (b[:-2, :-2] + 2.0 * b[1:-1, :-2] + b[2:, :-2])
        gy = (b[2:, :-2] + 2.0 * b[2:, 1:-1] + b[2:, 2:]) - (b[:-2, :-2] + 2.0 * b[:-2, 1:-1] + b[:-2, 2:])
        mag = np.sqrt(gx * gx + gy * gy)
        return (mag, mag.max()), {}
    return mk, ex

# 19 median-of-3 filter (rows) and erosion with min on u8
MORPH = """fn med3(a: i16[N, M], b: i16[N, M], c: i16[N, M]) -> i16[N, M]:
    return maximum(minimum(a, b), minimum(maximum(a, b), c))

fn median_rows(img: i16[N, M]) -> i16[N, M]:
    let out = copy(img)
    out[:, 1:-1] = med3(img[:, :-2], img[:, 1:-1], img[:, 2:])
    return out

fn erode(img: u8[H, W], iters: i64) -> (u8[H, W], i64):
    let cur = copy(img)
    for t in range(iters):
        let nxt = copy(cur)
        nxt[1:-1, 1:-1] = minimum(minimum(cur[:-2, 1:-1], cur[2:, 1:-1]), minimum(minimum(cur[1:-1, :-2], cur[1:-1, 2:]), cur[1:-1, 1:-1]))
        cur = nxt
    return cur, sum(i64(cur))
"""
@prog("median_rows", MORPH, "median_rows")
def _():
    def mk(s):
        sh = (3, 5) if s == "tiny" else (300, 257)
        return dict(img=R(19).integers(-3000, 3000, sh).astype(np.int16))
    def ex(a):
        img = a["img"]
        out = img.copy()
        out[:, 1:-1] = np.median(np.stack([img[:, :-2], img[:, 1:-1], img[:, 2:]]), axis=0).astype(np.int16)
        return out, {}
    return mk, ex

@prog("erode", MORPH, "erode")
def _():
    def mk(s):
        sh = (5, 3) if s == "tiny" else (300, 257)
        return dict(img=R(20).integers(0, 256, sh).astype(np.uint8), iters=2)
    def ex(a):
        cur = a["img"].copy()
        for _t in range(a["iters"]):
            nxt = cur.copy()
            nxt[1:-1, 1:-1] = np.min(np.stack([cur[:-2, 1:-1], cur[2:, 1:-1], cur[1:-1, :-2], cur[1:-1, 2:], cur[1:-1, 1:-1]]), axis=0)
            cur = nxt
        return (cur, int(cur.astype(np.int64).sum())), {}
    return mk, ex

# 20 histogram equalization of u8 data
HEQ = """fn hist256(x: u8[N]) -> i64[256]:
    let h = zeros((256,), dtype=i64)
    for v in x:
        h[i64(v)] += 1
    return h

fn equalize(x: u8[N]) -> (u8[N], i64[256]):
    let h = hist256(x)
    let cdf = zeros((256,), dtype=i64)
    let run = 0
    for k in range(256):
        run += h[k]
        cdf[k] = run
    let cmin = 0
    for k in range(256):
        if cdf[k] > 0:
            cmin = cdf[k]
            break
    let lut = zeros((256,), dtype=u8)
    if N > cmin:
        lut[:] = u8((cdf - cmin) * 255 // (N - cmin))
    let idx = i64(x)
    return lut[idx], cdf
"""
@prog("equalize", HEQ, "equalize")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 30001
        r = R(21)
        return dict(x=np.clip(r.normal(100, 20, n), 0, 255).astype(np.uint8))
    def ex(a):
        x = a["x"]
        N = len(x)
        h = np.bincount(x, minlength=256).astype(np.int64)
        cdf = np.cumsum(h)
        cmin = cdf[cdf > 0][0]
        lut = np.zeros(256, np.uint8)
        if N > cmin:
            lut[:] = ((cdf - cmin) * 255 // (N - cmin)).astype(np.uint8)
        return (lut[x.astype(np.int64)], cdf), {}
    return mk, ex

# 21 run-length counting
RLE = """fn runs(x: i32[N]) -> (i64, i64, i32):
    let nruns = 1
    let cur = 1
    let best = 1
    let bestv = x[0]
    for i in range(1, N):
        if x[i] == x[i - 1]:
            cur += 1
        else:
            nruns += 1
            cur = 1
        if cur > best:
            best = cur
            bestv = x[i]
    return nruns, best, bestv
"""
@prog("runs", RLE, "runs")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 20001
        return dict(x=R(22).integers(0, 3, n).astype(np.int32))
    def ex(a):
        x = a["x"]
        nr = 1
        cur = 1
        best = 1
        bv = x[0]
        for i in range(1, len(x)):
            if x[i] == x[i - 1]:
                cur += 1
            else:
                nr += 1
                cur = 1
            if cur > best:
                best = cur
                bv = x[i]
        return (nr, best, np.int32(bv)), {}
    return mk, ex

# 22 top-k by repeated argmax
TOPK = """fn topk(x: f64[N], k: i64) -> (i64[?], f64[?]):
    let w = copy(x)
    let idx = zeros((k,), dtype=i64)
    let val = zeros((k,), dtype=f64)
    for j in range(k):
        let m = argmax(w)
        idx[j] = m
        val[j] = w[m]
        w[m] = -1e300
    return idx, val
"""
@prog("topk", TOPK, "topk")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 3001
        return dict(x=R(23).normal(size=n), k=3 if s == "tiny" else 17)
    def ex(a):
        x = a["x"]
        idx = np.argsort(-x, kind="stable")[:a["k"]]
        return (idx.astype(np.int64), x[idx]), {}
    return mk, ex

# 23 matrix power by squaring (i64 mod) + f64 version
MPOW = """fn mulmod(A: i64[N, N], B: i64[N, N], m: i64) -> i64[N, N]:
    let C = zeros((N, N), dtype=i64)
    for i in range(N):
        for k in range(N):
            C[i, :] = (C[i, :] + A[i, k] * B[k, :]) % m
    return C

fn matpow(A: i64[N, N], e: i64, m: i64) -> i64[N, N]:
    let R = eye(N, dtype=i64)
    let P = A % m
    let k = e
    while k > 0:
        if k & 1 == 1:
            R = mulmod(R, P, m)
        P = mulmod(P, P, m)
        k >>= 1
    return R

fn fpow(A: f64[N, N], e: i64) -> f64[N, N]:
    let R = eye(N)
    let P = copy(A)
    let k = e
    while k > 0:
        if k % 2 == 1:
            R = R @ P
        P = P @ P
        k //= 2
    return R
"""
@prog("matpow", MPOW, "matpow")
def _():
    def mk(s):
        n = 3 if s == "tiny" else 40
        return dict(A=R(24).integers(-50, 1000, (n, n)), e=13, m=1_000_003)
    def ex(a):
        m = a["m"]
        A = a["A"] % m
        n = A.shape[0]
        def mm(A, B):
            C = np.zeros((n, n), np.int64)
            for i in range(n):
                for k in range(n):
                    C[i, :] = (C[i, :] + A[i, k] * B[k, :]) % m
            return C
        Rm = np.eye(n, dtype=np.int64)
        e = a["e"]
        while e > 0:
            if e & 1:
                Rm = mm(Rm, A)
            A = mm(A, A)
            e >>= 1
        return Rm, {}
    return mk, ex

@prog("fpow", MPOW, "fpow")
def _():
    def mk(s):
        n = 3 if s == "tiny" else 120
        return dict(A=R(25).random((n, n)) / n, e=11)
    def ex(a):
        return np.linalg.matrix_power(a["A"], a["e"]), {}
    return mk, ex

# 24 cumulative products and log-sum (f64 and f32)
CPROD = """fn cumprod_rows(inout X: f32[N, M]) -> f32[N]:
    for j in range(1, M):
        X[:, j] *= X[:, j - 1]
    return prod(X, axis=1)

fn growth(r: f64[N]) -> (f64[N], f64):
    let c = zeros((N,), dtype=f64)
    let acc = 1.0
    for i in range(N):
        acc *= 1.0 + r[i]
        c[i] = acc
    return c, prod(1.0 + r)
"""
@prog("cumprod_rows", CPROD, "cumprod_rows", ("X",))
def _():
    def mk(s):
        sh = (3, 5) if s == "tiny" else (300, 33)
        return dict(X=(0.9 + 0.2 * R(26).random(sh)).astype(np.float32))
    def ex(a):
        X = np.cumprod(a["X"], axis=1, dtype=np.float32)
        return np.prod(X, axis=1), dict(X=X)
    return mk, ex

@prog("growth", CPROD, "growth")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 3001
        return dict(r=R(27).normal(0, 0.01, n))
    def ex(a):
        return (np.cumprod(1.0 + a["r"]), np.prod(1.0 + a["r"])), {}
    return mk, ex

# 25 integer hashing: FNV-1a u64 and adler32, and xor-shift mix on u32
HASH = """fn fnv1a(data: u8[N]) -> u64:
    let h: u64 = u64(14695981039346656037)
    for b in data:
        h ^= u64(b)
        h *= u64(1099511628211)
    return h

fn adler32(data: u8[N]) -> i64:
    let a = 1
    let b = 0
    for i in range(N):
        a = (a + i64(data[i])) % 65521
        b = (b + a) % 65521
    return (b << 16) | a

fn mix32(x: u32[N]) -> u32[N]:
    let h = x ^ (x >> 16)
    h *= u32(0x45d9f3b)
    h ^= h >> 16
    h *= u32(0x45d9f3b)
    h ^= h >> 16
    return h

fn digest(data: u8[N], words: u32[M]) -> (u64, i64, u32):
    let m = mix32(words)
    let acc: u32 = u32(0)
    for i in range(M):
        acc = acc ^ (m[i] + u32(i))
    return fnv1a(data), adler32(data), acc
"""
@prog("digest", HASH, "digest")
def _():
    def mk(s):
        n, m = (5, 3) if s == "tiny" else (30001, 3001)
        r = R(28)
        return dict(data=r.integers(0, 256, n).astype(np.uint8), words=r.integers(0, 2**32, m).astype(np.uint32))
    def ex(a):
        data = a["data"]
        words = a["words"]
        h = 14695981039346656037
        for b in data.tolist():
            h ^= b
            h = (h * 1099511628211) & (2**64 - 1)
        A, B = 1, 0
        for b in data.tolist():
            A = (A + b) % 65521
            B = (B + A) % 65521
        x = words.astype(np.uint64)
        M = 2**32 - 1
        hh = x ^ (x >> 16)
        hh = (hh * 0x45d9f3b) & M
        hh ^= hh >> 16
        hh = (hh * 0x45d9f3b) & M
        hh ^= hh >> 16
        acc = 0
        for i, v in enumerate(hh.tolist()):
            acc ^= (v + i) & M
        return (np.uint64(h), (B << 16) | A, np.uint32(acc)), {}
    return mk, ex

# 26 edit distance on int arrays
EDIT = """fn edit_distance(a: i32[N], b: i32[M]) -> i64:
    let D = zeros((N + 1, M + 1), dtype=i64)
    for i in range(N + 1):
        D[i, 0] = i
    for j in range(M + 1):
        D[0, j] = j
    for i in range(1, N + 1):
        for j in range(1, M + 1):
            let cost = 0 if a[i - 1] == b[j - 1] else 1
            D[i, j] = minimum(minimum(D[i - 1, j] + 1, D[i, j - 1] + 1), D[i - 1, j - 1] + cost)
    return D[N, M]
"""
@prog("edit_distance", EDIT, "edit_distance")
def _():
    def mk(s):
        n, m = (3, 5) if s == "tiny" else (300, 257)
        r = R(29)
        return dict(a=r.integers(0, 4, n).astype(np.int32), b=r.integers(0, 4, m).astype(np.int32))
    def ex(a):
        A, B = a["a"], a["b"]
        n, m = len(A), len(B)
        D = np.zeros((n + 1, m + 1), np.int64)
        D[:, 0] = np.arange(n + 1)
        D[0, :] = np.arange(m + 1)
        for i in range(1, n + 1):
            for j in range(1, m + 1):
                D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1, D[i - 1, j - 1] + (A[i - 1] != B[j - 1]))
        return D[n, m], {}
    return mk, ex

# 27 longest increasing subsequence O(n^2)
LIS = """fn lis(x: f64[N]) -> (i64, i64[N]):
    let L = ones((N,), dtype=i64)
    for i in range(N):
        for j in range(i):
            if x[j] < x[i] and L[j] + 1 > L[i]:
                L[i] = L[j] + 1
    return max(L), L
"""
@prog("lis", LIS, "lis")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 701
        return dict(x=R(30).normal(size=n))
    def ex(a):
        x = a["x"]
        n = len(x)
        L = np.ones(n, np.int64)
        for i in range(n):
            for j in range(i):
                if x[j] < x[i] and L[j] + 1 > L[i]:
                    L[i] = L[j] + 1
        return (L.max(), L), {}
    return mk, ex

# 28 0/1 knapsack
KNAP = """fn knapsack(w: i64[N], v: i32[N], cap: i64) -> i64:
    let dp = zeros((cap + 1,), dtype=i64)
    for i in range(N):
        for c in range(cap, w[i] - 1, -1):
            let cand = dp[c - w[i]] + i64(v[i])
            if cand > dp[c]:
                dp[c] = cand
    return dp[cap]
"""
@prog("knapsack", KNAP, "knapsack")
def _():
    def mk(s):
        n, cap = (5, 7) if s == "tiny" else (101, 2001)
        r = R(31)
        return dict(w=r.integers(1, 50, n), v=r.integers(1, 100, n).astype(np.int32), cap=cap)
    def ex(a):
        w, v, cap = a["w"], a["v"], a["cap"]
        dp = np.zeros(cap + 1, np.int64)
        for i in range(len(w)):
            for c in range(cap, w[i] - 1, -1):
                dp[c] = max(dp[c], dp[c - w[i]] + v[i])
        return dp[cap], {}
    return mk, ex

# 29 k-nearest neighbours regression
KNN = """fn sqdist(Q: f64[P, D], X: f64[N, D]) -> f64[P, N]:
    return sum(Q * Q, axis=1, keepdims=true) - 2.0 * (Q @ X.T) + sum(X * X, axis=1)

fn knn(Q: f64[P, D], X: f64[N, D], y: f64[N], k: i64) -> (f64[P], i64[P]):
    let d = sqdist(Q, X)
    let pred = zeros((P,), dtype=f64)
    let first = zeros((P,), dtype=i64)
    for p in range(P):
        let row = copy(d[p])
        let acc = 0.0
        for j in range(k):
            let m = argmin(row)
            if j == 0:
                first[p] = m
            acc += y[m]
            row[m] = 1e300
        pred[p] = acc / f64(k)
    return pred, first
"""
@prog("knn", KNN, "knn")
def _():
    def mk(s):
        p, n, d = (3, 5, 1) if s == "tiny" else (57, 300, 8)
        r = R(32)
        return dict(Q=r.random((p, d)), X=r.random((n, d)), y=r.random(n), k=3)
    def ex(a):
        Q, X, y, k = a["Q"], a["X"], a["y"], a["k"]
        d = np.sum(Q * Q, axis=1, keepdims=True) - 2.0 * (Q @ X.T) + np.sum(X * X, axis=1)
        idx = np.argsort(d, axis=1, kind="stable")[:, :k]
        return (y[idx].sum(axis=1) / k, idx[:, 0].astype(np.int64)), {}
    return mk, ex

# 30 logistic regression gradient steps (f32, inout w)
LOGREG = """fn sigmoid(z: f32[N]) -> f32[N]:
    return 1.0 / (1.0 + exp(-z))

fn logreg(X: f32[N, D], y: f32[N], inout w: f32[D], lr: f32, steps: i64) -> f32:
    let loss: f32 = 0.0
    for s in range(steps):
        let p = sigmoid(X @ w)
        let g = X.T @ (p - y) / f32(N)
        w -= lr * g
        loss = -mean(y * log(p + 1e-7) + (1.0 - y) * log(1.0 - p + 1e-7))
    return loss
"""
@prog("logreg", LOGREG, "logreg", ("w",))
def _():
    def mk(s):
        n, d = (5, 3) if s == "tiny" else (300, 17)
        r = R(33)
        f = np.float32
        return dict(X=r.normal(size=(n, d)).astype(f), y=(r.random(n) > 0.5).astype(f), w=np.zeros(d, f), lr=f(0.5), steps=10)
    def ex(a):
        X, y, lr = a["X"], a["y"], a["lr"]
        w = a["w"].copy()
        N = X.shape[0]
        loss = np.float32(0)
        for _s in range(a["steps"]):
            p = 1.0 / (1.0 + np.exp(-(X @ w)))
            g = X.T @ (p - y) / np.float32(N)
            w -= lr * g
            loss = -np.mean(y * np.log(p + 1e-7) + (1.0 - y) * np.log(1.0 - p + 1e-7))
        return np.float32(loss), dict(w=w)
    return mk, ex

# 31 batch normalization (f32) with running stats inout
BN = """fn batchnorm(x: f32[B, C], gamma: f32[C], beta: f32[C], inout rmean: f32[C], inout rvar: f32[C], mom: f32) -> f32[B, C]:
    let mu = mean(x, axis=0)
    let v = var(x, axis=0)
    rmean[:] = (1.0 - mom) * rmean + mom * mu
    rvar[:] = (1.0 - mom) * rvar + mom * v
    return gamma * (x - mu) / sqrt(v + 1e-5) + beta
"""
@prog("batchnorm", BN, "batchnorm", ("rmean", "rvar"))
def _():
    def mk(s):
        b, c = (5, 3) if s == "tiny" else (300, 257)
        r = R(34)
        f = np.float32
        return dict(x=r.normal(2, 3, (b, c)).astype(f), gamma=r.random(c).astype(f), beta=r.random(c).astype(f), rmean=np.zeros(c, f), rvar=np.ones(c, f), mom=f(0.1))
    def ex(a):
        x, mom = a["x"], a["mom"]
        mu = x.mean(axis=0)
        v = x.var(axis=0)
        rm = (1.0 - mom) * a["rmean"] + mom * mu
        rv = (1.0 - mom) * a["rvar"] + mom * v
        return a["gamma"] * (x - mu) / np.sqrt(v + 1e-5) + a["beta"], dict(rmean=rm, rvar=rv)
    return mk, ex

# 32 causal attention (f32)
ATT = """fn softmax_rows(s: f32[N, N]) -> f32[N, N]:
    let e = exp(s - max(s, axis=1, keepdims=true))
    return e / sum(e, axis=1, keepdims=true)

fn causal_attention(Q: f32[N, D], K: f32[N, D], V: f32[N, D]) -> f32[N, D]:
    let s = (Q @ K.T) / sqrt(f32(D))
    let mask = triu(ones((N, N), dtype=f32), 1)
    let masked = where(mask > 0.0, -1e30, s)
    return softmax_rows(masked) @ V
"""
@prog("causal_attention", ATT, "causal_attention")
def _():
    def mk(s):
        n, d = (5, 3) if s == "tiny" else (300, 64)
        r = R(35)
        f = np.float32
        return dict(Q=r.normal(size=(n, d)).astype(f), K=r.normal(size=(n, d)).astype(f), V=r.normal(size=(n, d)).astype(f))
    def ex(a):
        Q, K, V = a["Q"], a["K"], a["V"]
        n, d = Q.shape
        s = (Q @ K.T) / np.sqrt(np.float32(d))
        m = np.triu(np.ones((n, n), np.float32), 1)
        s = np.where(m > 0.0, np.float32(-1e30), s)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)) @ V, {}
    return mk, ex

# 33 conjugate gradient with while loop
CG = """fn cg(A: f64[N, N], b: f64[N], tol: f64, maxit: i64) -> (f64[N], i64):
    let x = zeros((N,), dtype=f64)
    let r = b - A @ x
    let p = copy(r)
    let rs = dot(r, r)
    let it = 0
    while sqrt(rs) > tol and it < maxit:
        let Ap = A @ p
        let alpha = rs / dot(p, Ap)
        x += alpha * p
        r -= alpha * Ap
        let rsn = dot(r, r)
        p = r + (rsn / rs) * p
        rs = rsn
        it += 1
    return x, it
"""
@prog("cg", CG, "cg")
def _():
    def mk(s):
        n = 5 if s == "tiny" else 200
        r = R(36)
        B = r.random((n, n))
        return dict(A=B @ B.T + n * np.eye(n), b=r.random(n), tol=1e-10, maxit=500)
    def ex(a):
        A, b = a["A"], a["b"]
        x = np.zeros(len(b))
        r = b - A @ x
        p = r.copy()
        rs = r @ r
        it = 0
        while np.sqrt(rs) > a["tol"] and it < a["maxit"]:
            Ap = A @ p
            al = rs / (p @ Ap)
            x += al * p
            r -= al * Ap
            rsn = r @ r
            p = r + (rsn / rs) * p
            rs = rsn
            it += 1
        return (x, it), {}
    return mk, ex

# 34 game of life (i32 via bool)
LIFE = """fn life(inout G: i32[H, W], steps: i64) -> i64:
    for s in range(steps):
        let n = zeros((H, W), dtype=i32)
        n[1:-1, 1:-1] = G[:-2, :-2] + G[:-2, 1:-1] + G[:-2, 2:] + G[1:-1, :-2] + G[1:-1, 2:] + G[2:, :-2] + G[2:, 1:-1] + G[2:, 2:]
        let alive = logical_or(n == 3, logical_and(G == 1, n == 2))
        G[:, :] = where(alive, 1, 0)
        G[0, :] = 0
        G[-1, :] = 0
        G[:, 0] = 0
        G[:, -1] = 0
    return sum(i64(G))
"""
@prog("life", LIFE, "life", ("G",))
def _():
    def mk(s):
        sh = (5, 5) if s == "tiny" else (300, 257)
        return dict(G=(R(37).random(sh) < 0.3).astype(np.int32), steps=4)
    def ex(a):
        G = a["G"].copy()
        for _s in range(a["steps"]):
            n = np.zeros_like(G)
            n[1:-1, 1:-1] = G[:-2, :-2] + G[:-2, 1:-1] + G[:-2, 2:] + G[1:-1, :-2] + G[1:-1, 2:] + G[2:, :-2] + G[2:, 1:-1] + G[2:, 2:]
            alive = (n == 3) | ((G == 1) & (n == 2))
            G[:, :] = np.where(alive, 1, 0)
            G[0, :] = 0
            G[-1, :] = 0
            G[:, 0] = 0
            G[:, -1] = 0
        return int(G.astype(np.int64).sum()), dict(G=G)
    return mk, ex

# 35 Chebyshev Clenshaw + Simpson integration (f64 scalar functions)
CHEB = """fn clenshaw(c: f64[K], x: f64) -> f64:
    let b1 = 0.0
    let b2 = 0.0
    for k in range(K - 1, 0, -1):
        let t = 2.0 * x * b1 - b2 + c[k]
        b2 = b1
        b1 = t
    return x * b1 - b2 + c[0]

fn simpson(c: f64[K], a: f64, b: f64, n: i64) -> f64:
    let h = (b - a) / f64(n)
    let s = clenshaw(c, a) + clenshaw(c, b)
    for i in range(1, n):
        let w = 4.0 if i % 2 == 1 else 2.0
        s += w * clenshaw(c, a + f64(i) * h)
    return s * h / 3.0

fn cheb_eval(c: f64[K], xs: f64[N]) -> (f64[N], f64):
    let out = zeros((N,), dtype=f64)
    for i in range(N):
        out[i] = clenshaw(c, xs[i])
    return out, simpson(c, -1.0, 1.0, 2 * N)
"""
@prog("cheb_eval", CHEB, "cheb_eval")
def _():
    def mk(s):
        k, n = (3, 5) if s == "tiny" else (17, 301)
        r = R(38)
        return dict(c=r.normal(size=k), xs=np.linspace(-1, 1, n))
    def ex(a):
        c, xs = a["c"], a["xs"]
        def cl(x):
            return np.polynomial.chebyshev.chebval(x, c)
        n = 2 * len(xs)
        h = 2.0 / n
        s = cl(-1.0) + cl(1.0)
        for i in range(1, n):
            s += (4.0 if i % 2 == 1 else 2.0) * cl(-1.0 + i * h)
        return (cl(xs), s * h / 3.0), {}
    return mk, ex

# 36 deriche-like recursive filter along rows (f32) with scalar coefficients
DERICHE = """fn deriche(img: f32[W, H], alpha: f32) -> f32[W, H]:
    let k = (1.0 - exp(-alpha)) * (1.0 - exp(-alpha)) / (1.0 + 2.0 * alpha * exp(-alpha) - exp(-2.0 * alpha))
    let a1 = k
    let a2 = k * exp(-alpha) * (alpha - 1.0)
    let b1 = 2.0 ** (-alpha)
    let b2 = -exp(-2.0 * alpha)
    let y1 = zeros((W, H), dtype=f32)
    for i in range(W):
        let ym1: f32 = 0.0
        let ym2: f32 = 0.0
        let xm1: f32 = 0.0
        for j in range(H):
            y1[i, j] = a1 * img[i, j] + a2 * xm1 + b1 * ym1 + b2 * ym2
            xm1 = img[i, j]
            ym2 = ym1
            ym1 = y1[i, j]
    return y1
"""
@prog("deriche", DERICHE, "deriche")
def _():
    def mk(s):
        sh = (3, 5) if s == "tiny" else (300, 257)
        return dict(img=R(39).random(sh).astype(np.float32), alpha=np.float32(0.25))
    def ex(a):
        img, alpha = a["img"], a["alpha"]
        e = np.exp(-alpha)
        k = (1.0 - e) * (1.0 - e) / (1.0 + 2.0 * alpha * e - np.exp(-2.0 * alpha))
        a1 = k
        a2 = k * e * (alpha - 1.0)
        b1 = 2.0 ** (-alpha)
        b2 = -np.exp(-2.0 * alpha)
        W, H = img.shape
        y1 = np.zeros((W, H), np.float32)
        for i in range(W):
            ym1 = ym2 = xm1 = np.float32(0.0)
            for j in range(H):
                y1[i, j] = a1 * img[i, j] + a2 * xm1 + b1 * ym1 + b2 * ym2
                xm1 = img[i, j]
                ym2 = ym1
                ym1 = y1[i, j]
        return y1, {}
    return mk, ex

# hillis-steele scan: overlapping in-place slices
HS = """fn hs_scan(x: f64[N]) -> f64[N]:
    let y = copy(x)
    let s = 1
    while s < N:
        y[s:] = y[s:] + y[:-s]
        s *= 2
    return y

fn hs_scan_int(inout y: i32[N]) -> i32:
    let s = 1
    while s < N:
        y[s:] += y[:N - s]
        s = s * 2
    return y[N - 1]
"""
@prog("hs_scan", HS, "hs_scan")
def _():
    def mk(s):
        return dict(x=R(40).random({"one": 1, "tiny": 5, "medium": 3001}[s]))
    def ex(a):
        y = a["x"].copy()
        s = 1
        while s < len(y):
            y[s:] = y[s:] + y[:-s]
            s *= 2
        return y, {}
    return mk, ex

@prog("hs_scan_int", HS, "hs_scan_int", ("y",))
def _():
    def mk(s):
        return dict(y=R(41).integers(-100, 100, {"one": 1, "tiny": 5, "medium": 3001}[s]).astype(np.int32))
    def ex(a):
        y = a["y"].copy()
        s = 1
        n = len(y)
        while s < n:
            y[s:] += y[:n - s].copy()
            s *= 2
        return y[n - 1], dict(y=y)
    return mk, ex

# in-place smoothing, symmetrize / transpose in place
INPL = """fn smooth(inout x: f64[N], passes: i64):
    for p in range(passes):
        x[1:-1] = 0.25 * x[:-2] + 0.5 * x[1:-1] + 0.25 * x[2:]

fn symmetrize(inout A: f32[N, N]):
    A[:, :] = 0.5 * (A + A.T)

fn transpose_inplace(inout A: i64[N, N]):
    A[:] = A.T

fn shift_right(inout x: i64[N], k: i64):
    x[k:] = x[:N - k]
    x[:k] = 0
"""
@prog("smooth", INPL, "smooth", ("x",))
def _():
    def mk(s):
        return dict(x=R(42).random({"one": 1, "tiny": 5, "medium": 3001}[s]), passes=3)
    def ex(a):
        x = a["x"].copy()
        for _p in range(3):
            x[1:-1] = 0.25 * x[:-2] + 0.5 * x[1:-1] + 0.25 * x[2:]
        return None, dict(x=x)
    return mk, ex


@prog("transpose_inplace", INPL, "transpose_inplace", ("A",))
def _():
    def mk(s):
        n = {"one": 1, "tiny": 5, "medium": 257}[s]
        return dict(A=np.arange(n * n).reshape(n, n))
    def ex(a):
        return None, dict(A=a["A"].T.copy())
    return mk, ex


# scatter with duplicate indices (NumPy: buffered, no accumulation)
SCAT = """fn scatter_counts(idx: i64[N], nb: i64) -> (i64[?], i64[?], f64[?]):
    let once = zeros((nb,), dtype=i64)
    once[idx] += 1
    let loop = zeros((nb,), dtype=i64)
    for i in range(N):
        loop[idx[i]] += 1
    let last = zeros((nb,), dtype=f64)
    last[idx] = arange(N) * 1.0
    return once, loop, last
"""
@prog("scatter_counts", SCAT, "scatter_counts")
def _():
    def mk(s):
        n = {"one": 1, "tiny": 5, "medium": 3001}[s]
        return dict(idx=R(44).integers(-7, 7, n), nb=7)
    def ex(a):
        idx = a["idx"]
        nb = a["nb"]
        once = np.zeros(nb, np.int64)
        once[idx] += 1
        loop = np.zeros(nb, np.int64)
        np.add.at(loop, idx, 1)
        last = np.zeros(nb)
        last[idx] = np.arange(len(idx)) * 1.0
        return (once, loop, last), {}
    return mk, ex

# leapfrog wave equation with array rebinding (aliasing)
WAVE = """fn wave(u0: f64[N], c: f64, steps: i64) -> (f64[N], f64[N]):
    let prev = copy(u0)
    let u = copy(u0)
    for t in range(steps):
        let nxt = copy(u)
        nxt[1:-1] = 2.0 * u[1:-1] - prev[1:-1] + c * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        prev = u
        u = nxt
    return u, prev

fn wave_inplace(inout u: f64[N], inout prev: f64[N], c: f64, steps: i64):
    for t in range(steps):
        let old = u[:]
        u[1:-1] = 2.0 * u[1:-1] - prev[1:-1] + c * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        prev[:] = old
"""
@prog("wave", WAVE, "wave")
def _():
    def mk(s):
        n = {"one": 1, "tiny": 5, "medium": 3001}[s]
        return dict(u0=np.sin(np.linspace(0, 3, n)), c=0.2, steps=7)
    def ex(a):
        prev = a["u0"].copy()
        u = a["u0"].copy()
        for _t in range(a["steps"]):
            nxt = u.copy()
            nxt[1:-1] = 2.0 * u[1:-1] - prev[1:-1] + a["c"] * (u[2:] - 2.0 * u[1:-1] + u[:-2])
            prev = u
            u = nxt
        return (u, prev), {}
    return mk, ex

@prog("wave_inplace", WAVE, "wave_inplace", ("u", "prev"))
def _():
    def mk(s):
        n = {"one": 1, "tiny": 5, "medium": 3001}[s]
        return dict(u=np.sin(np.linspace(0, 3, n)), prev=np.sin(np.linspace(0, 3, n)) * 0.9, c=0.2, steps=7)
    def ex(a):
        u = a["u"].copy()
        prev = a["prev"].copy()
        for _t in range(a["steps"]):
            old = u.copy()
            u[1:-1] = 2.0 * u[1:-1] - prev[1:-1] + a["c"] * (u[2:] - 2.0 * u[1:-1] + u[:-2])
            prev[:] = old
        return None, dict(u=u, prev=prev)
    return mk, ex

# LU with partial pivoting: row swap through tuple assignment and through let
PIVOT = """fn lu_pivot(inout A: f64[N, N]) -> i64[N]:
    let perm = arange(N)
    for k in range(N):
        let p = argmax(abs(A[k:, k])) + k
        if p != k:
            A[k], A[p] = A[p], A[k]
            perm[k], perm[p] = perm[p], perm[k]
        A[k + 1:, k] /= A[k, k]
        A[k + 1:, k + 1:] -= outer(A[k + 1:, k], A[k, k + 1:])
    return perm
"""
@prog("lu_pivot", PIVOT, "lu_pivot", ("A",))
def _():
    def mk(s):
        n = {"one": 1, "tiny": 5, "medium": 60}[s]
        return dict(A=R(46).normal(size=(n, n)))
    def ex(a):
        A = a["A"].copy()
        n = A.shape[0]
        perm = np.arange(n)
        for k in range(n):
            p = np.argmax(np.abs(A[k:, k])) + k
            if p != k:
                A[[k, p]] = A[[p, k]]
                perm[[k, p]] = perm[[p, k]]
            A[k + 1:, k] /= A[k, k]
            A[k + 1:, k + 1:] -= np.outer(A[k + 1:, k], A[k, k + 1:])
        return perm, dict(A=A)
    return mk, ex


# inout view arguments: normalize rows via calls on A[i], scale a tail
VIEWS = """fn unit(inout v: f64[M]) -> f64:
    let n = sqrt(sum(v * v))
    if n > 0.0:
        v /= n
    return n

fn normalize_rows(inout A: f64[N, M]) -> f64[N]:
    let norms = zeros((N,), dtype=f64)
    for i in range(N):
        norms[i] = unit(A[i])
    return norms
"""
@prog("normalize_rows", VIEWS, "normalize_rows", ("A",))
def _():
    def mk(s):
        sh = {"one": (1, 1), "tiny": (5, 3), "medium": (300, 257)}[s]
        A = R(60).normal(size=sh)
        A[0] = 0.0
        return dict(A=A)
    def ex(a):
        A = a["A"].copy()
        n = np.sqrt(np.sum(A * A, axis=1))
        nz = n > 0
        A[nz] /= n[nz, None]
        return n, dict(A=A)
    return mk, ex


# ---- the checks ---------------------------------------------------------------------------
LABELS = ["numba", "numba-par", "numba-fast", "llvm", "llvm-fast", "mlx-cpu", "numpy-mem", "mix0", "mix1"]
_BUILT: dict[tuple[str, str], Any] = {}


def _label(i: int) -> str:
    return LABELS[i % len(LABELS)]


def _build(p: dict[str, Any], label: str) -> Any:
    key = (p["name"], label)
    if key not in _BUILT:
        module = frontend(p["src"], f"{p['name']}.mc")
        if label.startswith("mix"):  # a random per-block mix, as tests/test_strategies.py makes
            rng = random.Random(f"{p['name']}:{label[3:]}")
            kw: dict[str, Any] = {"plan": {b.id: rng.choice(sorted(REGISTRY))
                                           for fn in module.functions.values() for b in block_views(fn)}}
        else:
            kw = {"default": label}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            _BUILT[key] = build_module(module, use_cache=False, **kw)
    return _BUILT[key]


def _run(program: Any, p: dict[str, Any], args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    a = copy.deepcopy(args)
    with np.errstate(all="ignore"):
        r = getattr(program, p["entry"])(**a)
    return r, {k: a[k] for k in p["inout"]}


def _same(got: tuple[Any, dict[str, Any]], want: tuple[Any, dict[str, Any]], where: str, fast: bool) -> None:
    if want[0] is not None:
        assert_same(got[0], want[0], f"{where}: result", fastmath=fast)
    for k, v in want[1].items():
        assert_same(got[1][k], v, f"{where}: {k}", fastmath=fast)


@pytest.mark.parametrize("i", range(len(P)), ids=[p["name"] for p in P])
def test_program(i: int) -> None:
    p, label = P[i], _label(i)
    if label.startswith("mlx") or label.startswith("mix"):
        pytest.importorskip("mlx.core")
    pytest.importorskip("numba")
    ref = reference_program(frontend(p["src"], f"{p['name']}.mc"))
    result = _build(p, label)
    fast = any(REGISTRY[b.built.strategy_id].jit_level >= 2 for b in result.blocks.values())
    for size in ("one", "tiny", "medium"):
        try:
            args = p["make"](size)
        except KeyError:  # not every program has a size-1 case
            continue
        with np.errstate(all="ignore"):
            want = p["expect"](copy.deepcopy(args))
        _same(_run(ref, p, args), want, f"{p['name']}/{size}/reference", False)
        _same(_run(result.program, p, args), want, f"{p['name']}/{size}/{label}", fast)


# ---- regressions --------------------------------------------------------------------------
# LLVM: an integer power in a scalar loop failed to lower ("lowering failed: mc.pow on i64")
# and the block fell back to Numba; it is now squaring in the dtype (wrapping as NumPy's),
# a negative signed exponent raising NumPy's ValueError
IPOW_SRC = """fn ipow_loop(inout out: i64[N], a: i64[N], e: i64[N]):
    for i in range(N):
        out[i] = a[i] ** e[i] + (e[i] % 7) ** 3

fn upow(inout out: u8[N], a: u8[N], e: u8[N]):
    for i in range(N):
        out[i] = a[i] ** e[i]

fn spow(inout out: i8[N], a: i8[N], e: i8[N]):
    for i in range(N):
        out[i] = a[i] ** e[i]
"""


@pytest.mark.parametrize("strategy", ["llvm", "llvm-fast"])
def test_llvm_integer_power_in_scalar_loop(strategy: str) -> None:
    pytest.importorskip("llvmlite")
    from strategy_checks import built, raises_like_reference

    result, _ = built(IPOW_SRC, strategy)
    assert all(b.built.strategy_id == strategy for b in result.blocks.values()), \
        [f.reason for b in result.blocks.values() for f in b.fallbacks]
    a, e = np.array([2, -3, 0, 1, -1, 7, 3, 0]), np.array([10, 3, 0, 100, 7, 0, 40, 5])
    out = np.zeros(8, np.int64)
    result.program.ipow_loop(out, a, e)
    np.testing.assert_array_equal(out, a ** e + (e % 7) ** 3)
    ua, ue = np.array([3, 255, 0, 2, 16], np.uint8), np.array([5, 2, 0, 9, 200], np.uint8)
    uo = np.zeros(5, np.uint8)
    result.program.upow(uo, ua, ue)
    np.testing.assert_array_equal(uo, ua ** ue)
    sa, se = np.array([3, -128, -2, 2, 5], np.int8), np.array([5, 2, 7, 9, 0], np.int8)
    so = np.zeros(5, np.int8)
    result.program.spow(so, sa, se)
    np.testing.assert_array_equal(so, sa ** se)
    assert so.dtype == np.int8
    raises_like_reference(IPOW_SRC, strategy, "ipow_loop",
                          {"out": np.zeros(2, np.int64), "a": np.array([2, 2]), "e": np.array([1, -1])})
    raises_like_reference(IPOW_SRC, strategy, "spow",
                          {"out": np.zeros(1, np.int8), "a": np.array([2], np.int8), "e": np.array([-3], np.int8)})
    with pytest.raises(ValueError, match="negative integer powers"):
        result.program.ipow_loop(np.zeros(2, np.int64), np.array([2, 2]), np.array([1, -1]))


# ---- NumPy's float maximum/minimum give the second of two equal operands, and its clip keeps ----
# x at a bound: maximum(0.0, -0.0) is -0.0, maximum(-0.0, 0.0) (a ReLU of -0.0) is 0.0, clip(-0.0,
# 0.0, 1.0) is -0.0. Numba's np.maximum and the LLVM select kept the first (1 / relu(-0.0) gave
# -inf where NumPy gives inf), and every compiled clip (MLX's too) gave 0.0
MINMAX0_SRC = """fn mm(inout o1: f64[N], inout o2: f64[N], inout o3: f32[N], x: f64[N], y: f64[N], z: f32[N]):
    for i in range(N):
        o1[i] = maximum(x[i], y[i])
        o2[i] = minimum(x[i], y[i])
        o3[i] = clip(z[i], 0.0, 1.0)

fn relu(x: f32[N, M]) -> (f32[N, M], f32[N, M], f32[N, M], f64[N, M]):
    let r = maximum(x, 0.0)
    return r, 1.0 / r, clip(x, 0.0, 1.0), 1.0 / clip(f64(x), 0.0, 2.0)
"""


def _same_bits(got: Any, want: Any, where: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, where
    np.testing.assert_array_equal(got, want, err_msg=where)
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got)[ok], np.signbit(want)[ok], err_msg=f"{where}: sign")


@pytest.mark.parametrize("strategy", ["numba", "llvm", "mlx-cpu"])
def test_float_maximum_minimum_clip_of_equal_values(strategy: str) -> None:
    pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")
    from strategy_checks import built

    result, ref = built(MINMAX0_SRC, strategy)
    v = [np.nan, 0.0, -0.0, 1.0, -1.0, np.inf]
    x = np.array([a for a in v for b in v])
    y = np.array([b for a in v for b in v])
    z = x.astype(np.float32)
    want = (np.maximum(x, y), np.minimum(x, y), np.clip(z, np.float32(0.0), np.float32(1.0)))
    assert np.signbit(want[0][(x == 0) & (y == 0)]).tolist() == [False, True, False, True]
    X = np.array([[-0.0, 0.0, -1.0], [2.0, -0.0, np.nan]], np.float32)
    with np.errstate(all="ignore"):
        r = np.maximum(X, np.float32(0.0))
        wr = (r, np.float32(1.0) / r, np.clip(X, np.float32(0.0), np.float32(1.0)),
              1.0 / np.clip(X.astype(np.float64), 0.0, 2.0))
    for who, p in (("reference", ref), (strategy, result.program)):
        o = [np.zeros_like(x), np.zeros_like(x), np.zeros_like(z)]
        p.mm(*o, x, y, z)
        for k, (g, w) in enumerate(zip(o, want)):
            _same_bits(g, w, f"{who} mm[{k}]")
        with np.errstate(all="ignore"):
            got = p.relu(X)
        for k, (g, w) in enumerate(zip(got, wr)):
            _same_bits(g, w, f"{who} relu[{k}]")
