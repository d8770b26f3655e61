"""Loop unswitching (passes/loop_unswitch.py): which branches are hoisted out of their
loops, and that programs mean the same with and without the pass (the reference built
from the IR without it, hand-written NumPy, and the compiled strategies)."""

from __future__ import annotations

import numpy as np
import pytest
from mcodec.compiler.driver import default_passes, frontend
from mcodec.compiler.ir import Module, Op
from mcodec.compiler.reference import reference_program
from mcodec.passes.loop_unswitch import MAX_LOOP_OPS, LoopUnswitch
from strategy_checks import check

SRC = """
fn damp(x: f64[N], T: i64, clip: bool, lo: f64) -> f64[N]:
    let u = copy(x)
    for t in range(T):
        u = u * 0.5
        if clip:
            u = maximum(u, lo)
        else:
            u[0] = lo
        u = u + 1.0
    return u

fn softmax_heads(S: f32[H, N, M], masked: bool[N, M], causal: bool) -> f32[H, N, M]:
    let out = empty((H, N, M), dtype=f32)
    for h in range(H):
        let s = S[h] * f32(0.125)
        if causal:
            s = where(masked, f32(-1e30), s)
        let e = exp(s - max(s, axis=1, keepdims=true))
        out[h] = e / sum(e, axis=1, keepdims=true)
    return out

fn variant(x: f64[N]) -> f64:
    let s = 0.0
    for i in range(N):
        if x[i] > 0.0:
            s += x[i]
    return s

fn exits(x: f64[N], stop: bool) -> f64:
    let s = 0.0
    for i in range(N):
        if stop:
            break
        s += x[i]
    return s

fn nested(A: f64[N, M], flip: bool) -> f64[N, M]:
    let B = zeros((N, M))
    for i in range(N):
        for j in range(M):
            if flip:
                B[i, j] = A[i, M - 1 - j]
            else:
                B[i, j] = A[i, j] * 2.0
    return B
"""


def _module(unswitch: bool) -> Module:
    passes = [p for p in default_passes() if unswitch or not isinstance(p, LoopUnswitch)]
    return frontend(SRC, "unswitch.mc", passes=passes)


def _ifs_in_loops(module: Module, fn: str) -> int:
    return sum(1 for loop in module.functions[fn].walk() if loop.name == "mc.for"
               for o in loop.walk() if o.name == "mc.if")


def _outer_ifs(module: Module, fn: str) -> list[Op]:
    return [o for o in module.functions[fn].walk() if o.name == "mc.if"
            and any(x.name == "mc.for" for r in o.regions for x in r.ops)]


@pytest.mark.parametrize("fn", ["damp", "softmax_heads", "nested"])
def test_invariant_branches_leave_their_loops(fn: str) -> None:
    before, after = _module(False), _module(True)
    assert _ifs_in_loops(before, fn) >= 1
    assert _ifs_in_loops(after, fn) == 0
    assert len(_outer_ifs(after, fn)) == 1


@pytest.mark.parametrize("fn", ["variant", "exits"])
def test_other_branches_stay(fn: str) -> None:
    """A condition computed in the loop, and a branch that leaves the loop."""
    assert _ifs_in_loops(_module(True), fn) == _ifs_in_loops(_module(False), fn) == 1


def test_large_loops_are_not_copied() -> None:
    body = "\n".join(f"        s = s + x[i] * {k}.0" for k in range(MAX_LOOP_OPS))
    src = f"fn big(x: f64[N], c: bool) -> f64:\n    let s = 0.0\n    for i in range(N):\n" \
          f"        if c:\n            s = s + 1.0\n{body}\n    return s\n"
    module = frontend(src, "big.mc")
    assert _ifs_in_loops(module, "big") == 1


def _inputs(seed: int, flag: bool) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    n, m = 7, 5
    return {
        "damp": {"x": rng.standard_normal(9), "T": 4, "clip": flag, "lo": 0.3},
        "softmax_heads": {"S": rng.standard_normal((3, n, m)).astype(np.float32),
                          "masked": np.triu(np.ones((n, m), dtype=bool), 1), "causal": flag},
        "nested": {"A": rng.standard_normal((n, m)), "flip": flag},
    }


@pytest.mark.parametrize("flag", [False, True])
def test_same_results_with_and_without_the_pass(flag: bool) -> None:
    plain, unswitched = reference_program(_module(False)), reference_program(_module(True))
    for fn, args in _inputs(1, flag).items():
        want = getattr(plain, fn)(**{k: np.copy(v) for k, v in args.items()})
        got = getattr(unswitched, fn)(**{k: np.copy(v) for k, v in args.items()})
        np.testing.assert_array_equal(got, want)
    x = np.arange(9.0) - 3.0
    u = x.copy()
    for _ in range(4):
        u = u * 0.5
        if flag:
            u = np.maximum(u, 0.3)
        else:
            u[0] = 0.3
        u = u + 1.0
    np.testing.assert_array_equal(unswitched.damp(x=x, T=4, clip=flag, lo=0.3), u)


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "llvm"])
@pytest.mark.parametrize("flag", [False, True])
def test_compiled_strategies_agree(strategy: str, flag: bool) -> None:
    for fn, args in _inputs(2, flag).items():
        if strategy == "llvm" and fn != "nested":
            continue
        check(SRC, strategy, fn, args)
