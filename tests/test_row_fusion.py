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
    number of results)."""
    rng = random.Random(seed)
    dtype = rng.choice(["f32", "f64"])
    names = ["x"]  # values of shape [N, M] or [N, 1]
    wide = {"x": True}
    lines: list[str] = []
    steps: list[tuple] = []
    for k in range(rng.randint(3, 7)):
        v = f"v{k}"
        kind = rng.random()
        a = rng.choice(names)
        if kind < 0.35 and any(wide[n] for n in names):
            a = rng.choice([n for n in names if wide[n]])
            f = rng.choice(list(REDUCE))
            lines.append(f"    let {v} = {f}({a}, axis=1, keepdims=true)")
            steps.append(("reduce", v, f, a))
            wide[v] = False
        elif kind < 0.55:
            f = rng.choice(list(UNARY))
            text = f"-{a}" if f == "neg" else f"{f}({a})"
            if f == "exp":  # keep it finite: exp of a value bounded by tanh
                text = f"exp(tanh({a}))"
                steps.append(("unary", v, "exp_tanh", a))
            else:
                steps.append(("unary", v, f, a))
            lines.append(f"    let {v} = {text}")
            wide[v] = wide[a]
        else:
            b = rng.choice(names + ["g"])
            op = rng.choice(list(BINARY))
            if op == "/":  # a denominator away from zero
                lines.append(f"    let {v} = {a} / (abs({b}) + 1.0)")
                steps.append(("div", v, a, b))
            else:
                lines.append(f"    let {v} = {a} {op} {b}")
                steps.append(("binary", v, op, a, b))
            wide[v] = wide[a] or b == "g" or wide.get(b, False)
        names.append(v)
    outs = [names[-1]] + rng.sample(names[1:-1], k=min(len(names) - 2, rng.randint(0, 2)))
    types = ", ".join(f"{dtype}[N, {'M' if wide[o] else '1'}]" for o in outs)
    src = f"fn f(x: {dtype}[N, M], g: {dtype}[M]) -> ({types}):\n" + "\n".join(lines) + \
        f"\n    return {', '.join(outs)}\n"

    def evaluate(x: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        env = {"x": x, "g": g}
        one = x.dtype.type(1.0)
        for s in steps:
            if s[0] == "reduce":
                env[s[1]] = REDUCE[s[2]](env[s[3]], axis=1, keepdims=True)
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
