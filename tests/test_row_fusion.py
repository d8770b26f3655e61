"""Row fusion in the Numba back end (compiler/backends/numba_rows.py), differentially:
random chains of elementwise ops and reductions along rows (keepdims) over [N, M]
arrays, some intermediate values returned, built with the Numba strategies and
compared with the same chain evaluated directly in NumPy. Every program must form a row
group (the tests would otherwise pass without exercising it)."""

from __future__ import annotations

import random
import warnings
from typing import Any

import numpy as np
import pytest
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend

UNARY = {"exp": np.exp, "tanh": np.tanh, "abs": np.abs, "neg": np.negative}
BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}
REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}


def chain(seed: int) -> tuple[str, Any, int]:
    """(M-CODE source of `fn f(x: D[N, M], g: D[M]) -> (...)`, a NumPy evaluator, the
    number of results). Values are [N, M] ("w"), [N, 1] ("c") or [N] ("r"): reductions
    with and without keepdims, columns `v[:, 0]`, and ops on same-kind rows."""
    rng = random.Random(seed)
    dtype = rng.choice(["f32", "f64"])
    kind = {"x": "w"}
    names = ["x"]
    lines: list[str] = []
    steps: list[tuple] = []
    for k in range(rng.randint(3, 8)):
        v = f"v{k}"
        roll = rng.random()
        a = rng.choice(names)
        wide = [n for n in names if kind[n] == "w"]
        if roll < 0.35 and wide:
            a = rng.choice(wide)
            f = rng.choice(list(REDUCE))
            keep = rng.random() < 0.7
            lines.append(f"    let {v} = {f}({a}, axis=1, keepdims={'true' if keep else 'false'})")
            steps.append(("reduce", v, f, a, keep))
            kind[v] = "c" if keep else "r"
        elif roll < 0.45 and any(kind[n] == "c" for n in names):
            a = rng.choice([n for n in names if kind[n] == "c"])
            lines.append(f"    let {v} = {a}[:, 0]")
            steps.append(("column", v, a))
            kind[v] = "r"
        elif roll < 0.6:
            f = rng.choice(list(UNARY))
            if f == "exp":  # keep it finite: exp of a value bounded by tanh
                lines.append(f"    let {v} = exp(tanh({a}))")
                steps.append(("unary", v, "exp_tanh", a))
            else:
                lines.append(f"    let {v} = {'-' + a if f == 'neg' else f + '(' + a + ')'}")
                steps.append(("unary", v, f, a))
            kind[v] = kind[a]
        else:
            if kind[a] == "r":
                b = rng.choice([n for n in names if kind[n] == "r"] + ["2.0"])
            else:
                b = rng.choice([n for n in names if kind[n] != "r"] + ["g"])
            op = rng.choice(list(BINARY))
            if op == "/":  # a denominator away from zero
                lines.append(f"    let {v} = {a} / (abs({b}) + 1.0)")
                steps.append(("div", v, a, b))
            else:
                lines.append(f"    let {v} = {a} {op} {b}")
                steps.append(("binary", v, op, a, b))
            kind[v] = "w" if "w" in (kind[a], kind.get(b)) or b == "g" else kind[a]
        names.append(v)
    outs = [names[-1]] + rng.sample(names[1:-1], k=min(len(names) - 2, rng.randint(0, 2)))
    shapes = {"w": "[N, M]", "c": "[N, 1]", "r": "[N]"}
    types = ", ".join(f"{dtype}{shapes[kind[o]]}" for o in outs)
    src = f"fn f(x: {dtype}[N, M], g: {dtype}[M]) -> ({types}):\n" + "\n".join(lines) + \
        f"\n    return {', '.join(outs)}\n"

    def evaluate(x: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        env: dict[str, Any] = {"x": x, "g": g, "2.0": 2.0}
        one = x.dtype.type(1.0)
        for s in steps:
            if s[0] == "reduce":
                env[s[1]] = REDUCE[s[2]](env[s[3]], axis=1, keepdims=s[4])
            elif s[0] == "column":
                env[s[1]] = env[s[2]][:, 0]
            elif s[0] == "unary":
                a = env[s[3]]
                env[s[1]] = np.exp(np.tanh(a)) if s[2] == "exp_tanh" else UNARY[s[2]](a)
            elif s[0] == "div":
                env[s[1]] = env[s[2]] / (np.abs(env[s[3]]) + one)
            else:
                env[s[1]] = BINARY[s[2]](env[s[3]], env[s[4]])
        return [env[o] for o in outs]

    return src, evaluate, len(outs)


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "numba-fast"])
def test_random_row_chains_match_numpy(strategy: str) -> None:
    formed = 0
    for seed in range(30):
        src, evaluate, n_out = chain(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            result = build_module(frontend(src, "rows.mc"), default=strategy, use_cache=False)
        formed += sum(b.built.info.get("row_groups", 0) for b in result.blocks.values())
        rng = np.random.default_rng(seed)
        for n, m in ((4, 21), (1, 8), (0, 3)):
            dt = np.float32 if "f32" in src else np.float64
            x = rng.standard_normal((n, m)).astype(dt)
            g = rng.standard_normal(m).astype(dt)
            got = result.program.f(x, g)
            got = list(got) if isinstance(got, tuple) else [got]
            want = evaluate(x, g)
            assert len(got) == n_out
            rtol = 2e-5 if dt == np.float32 else (1e-9 if strategy == "numba-fast" else 1e-12)
            for a, b in zip(got, want):
                assert a.dtype == b.dtype and a.shape == b.shape, src
                np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=src)
    assert formed >= 15, f"only {formed} of 30 random chains formed a row group"


LOOP_SRC = """
fn lse(X: f64[N, M], T: i64) -> f64[N]:
    let acc = zeros((N,), dtype=f64)
    for t in range(T):
        let Y = X * f64(t + 1)
        acc = acc + log(sum(exp(Y - max(Y, axis=1, keepdims=true)), axis=1))
    return acc
"""


@pytest.mark.parametrize("strategy", ["numba-par", "numba-fast-par"])
def test_row_group_in_a_loop_runs_parallel_when_large(strategy: str) -> None:
    """Inside a sequential loop a row group tests its size at run time: at least
    PRANGE_IN_LOOP_MIN elements (rows times the reduced width, not the width of a
    keepdims result) call its rows as an outlined prange, fewer run inline."""
    from mcodec.compiler.backends.numba_backend import PRANGE_IN_LOOP_MIN

    with warnings.catch_warnings():
        warnings.simplefilter("error", BuildWarning)
        res = build_module(frontend(LOOP_SRC, "lse.mc"), default=strategy)
    src = next(b.built.source for b in res.blocks.values() if b.kind == "loop")
    assert f"(X_0.shape[0]) * (X_0.shape[1]) >= {PRANGE_IN_LOOP_MIN}" in src, src
    helper = src.split("def blk_")[0]
    assert "_mc_pnest_" in helper and "prange((" in helper and "// 32)" in helper
    rng = np.random.default_rng(0)
    for shape in ((3, 5), (1100, 1000)):  # below and above the threshold
        X = rng.standard_normal(shape)
        want = np.zeros(shape[0])
        for t in range(3):
            Y = X * (t + 1)
            want = want + np.log(np.exp(Y - Y.max(axis=1, keepdims=True)).sum(axis=1))
        np.testing.assert_allclose(res.program.lse(X=X, T=3), want, rtol=1e-12 if "fast" not in strategy else 1e-9)
