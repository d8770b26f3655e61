"""Elementwise nests inside sequential loops (time steps of a stencil) run as prange
under the parallel Numba strategies when they are large enough, a condition tested at
run time (numba_backend.NumbaEmitter.nest_parallel): a fork and join per iteration pays
off only for large nests. Both branches must compute what the reference computes; a
nest inside a loop that already runs as prange, or under a serial strategy, stays serial."""

from __future__ import annotations

import copy
import re
import warnings

import mcodec.compiler.backends.numba_backend as nb
import numpy as np
import pytest
from corpus_util import assert_same
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.reference import reference_program
from strategy_checks import built, loop_source

SRC = """
fn heat(T: i64, inout A: f32[N, N, N], inout B: f32[N, N, N]):
    for t in range(T):
        B[1:-1, 1:-1, 1:-1] = 0.125 * (A[2:, 1:-1, 1:-1] + A[:-2, 1:-1, 1:-1] + A[1:-1, 2:, 1:-1]) \\
            + 0.5 * A[1:-1, 1:-1, 1:-1]
        A[1:-1, 1:-1, 1:-1] = 0.125 * (B[2:, 1:-1, 1:-1] + B[:-2, 1:-1, 1:-1] + B[1:-1, 1:-1, :-2]) \\
            + 0.5 * B[1:-1, 1:-1, 1:-1]

fn relax(x0: f64[N, M], T: i64) -> f64[N, M]:
    let x = copy(x0)
    for t in range(T):
        let y = 0.5 * x[:, ::-1] + f64(t)
        x[1:, :] = y[1:, :] - 0.25 * x[:-1, :]
    return x

fn shrink(x: f64[N], steps: i64) -> f64[?]:
    let a = x
    for t in range(steps):
        if a.size > 1:
            a = a[1:] * 2.0
        else:
            a = concatenate((a, a))
    return a

fn rows(x: f64[N, M]) -> f64[N, M]:
    let out = zeros((N, M), dtype=f64)
    for i in range(N):
        out[i, :] = 2.0 * x[i, :] + 1.0
    return out
"""
STRATS = ["numba-par", "numba-fast-par"]


def agree(prog: object, ref: object, name: str, args: dict, fast: bool) -> None:
    """`name` under the build and the reference: equal results and final arguments."""
    got_args, want_args = copy.deepcopy(args), copy.deepcopy(args)
    got, want = getattr(prog, name)(**got_args), getattr(ref, name)(**want_args)
    if want is not None:
        assert_same(got, want, name, fastmath=fast)
    for k in args:
        assert_same(got_args[k], want_args[k], f"{name} {k}", fastmath=fast)


def heat_args(n: int, t: int) -> dict:
    rng = np.random.default_rng(n)
    return {"T": t, "A": rng.random((n, n, n), dtype=np.float32), "B": rng.random((n, n, n), dtype=np.float32)}


def relax_args(n: int, m: int, t: int) -> dict:
    return {"x0": np.random.default_rng(n + m).random((n, m)), "T": t}


@pytest.mark.parametrize("strategy", ["numba-par"])  # (numba-fast-par's source differs only in its flags)
def test_time_loop_nests_run_as_prange_above_the_threshold(strategy: str) -> None:
    src = loop_source(SRC, strategy, "heat")
    helpers, main = src.split("def blk_")
    # each store's nest: `if <elements> >= MIN:` a call of the nest outlined as prange
    # (only it compiles with Numba's parallel passes), else the same nest inline
    assert main.count(f">= {nb.PRANGE_IN_LOOP_MIN}:") == 2 and "prange(" not in main, src
    calls = re.findall(r"^( *)(_mc_pnest_\d+)\(", main, re.M)
    time_loop = re.search(r"^( *)for t_\w* in range\(", main, re.M)
    assert len(calls) == 2 and time_loop and all(len(ind) > len(time_loop.group(1)) for ind, _ in calls), src
    for _, name in calls:
        assert re.search(rf"def {name}\(.*\n\s+for \w+ in prange\(", helpers), helpers
    assert nb.PRANGE_IN_LOOP_MIN >= 1 << 15  # small nests stay serial (a wake-up per iteration)
    result, _ = built(SRC, strategy)
    info = next(b for b in result.blocks.values() if b.kind == "loop").built.info
    assert info["parallel"] is False  # the block itself: no parallel passes over it


@pytest.mark.parametrize("strategy", STRATS)
@pytest.mark.parametrize("n", [0, 1, 3, 12, 40])
def test_heat_matches_the_reference(strategy: str, n: int) -> None:
    result, ref = built(SRC, strategy)
    agree(result.program, ref, "heat", heat_args(n, 3), "fast" in strategy)


@pytest.mark.parametrize("strategy", STRATS)
@pytest.mark.parametrize("shape", [(0, 5), (1, 1), (7, 9), (300, 200)])
def test_reversed_reads_in_a_time_loop_match_the_reference(strategy: str, shape: tuple[int, int]) -> None:
    result, ref = built(SRC, strategy)
    agree(result.program, ref, "relax", relax_args(*shape, 4), "fast" in strategy)


def shrink(x: np.ndarray, steps: int) -> np.ndarray:
    a = x
    for _ in range(steps):
        a = a[1:] * 2.0 if a.size > 1 else np.concatenate((a, a))
    return a


@pytest.mark.parametrize("strategy", STRATS)
def test_a_carried_array_changing_shape_keeps_its_values(strategy: str) -> None:
    # with Numba's parallel passes over the whole block, x = [0.0] after 2 steps came back
    # empty (the nest was not even run in parallel: below the threshold)
    result, ref = built(SRC, strategy)
    for n, steps in [(1, 2), (1, 3), (4, 5), (0, 2), (3, 0)]:
        x = np.arange(1.0, n + 1.0)
        agree(result.program, ref, "shrink", {"x": x, "steps": steps}, "fast" in strategy)
        assert_same(result.program.shrink(x=x, steps=steps), shrink(x, steps), "shrink vs NumPy")


def test_serial_strategies_and_nests_under_a_prange_stay_serial() -> None:
    assert "prange(" not in loop_source(SRC, "numba", "heat")
    # the row loop itself runs as prange; its row update stays a serial nest inside it
    rows = loop_source(SRC, "numba-par", "rows")
    assert len(re.findall(r"prange\(", rows)) == 1 and f">= {nb.PRANGE_IN_LOOP_MIN}" not in rows, rows


@pytest.mark.parametrize("strategy", ["numba-par"])
def test_every_size_is_right_when_every_nest_runs_as_prange(strategy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # threshold 0: the prange branch runs, even for empty and one-element nests
    monkeypatch.setattr(nb, "PRANGE_IN_LOOP_MIN", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        prog = build_module(frontend(SRC, "t.mc"), default=strategy, use_cache=False).program
    ref = reference_program(frontend(SRC, "t.mc"))
    for name, args in [("heat", heat_args(n, 2)) for n in (0, 1, 2, 5)] + \
            [("relax", relax_args(*s, 3)) for s in ((0, 4), (1, 1), (2, 3), (6, 5))] + \
            [("shrink", {"x": np.arange(1.0, n + 1.0), "steps": k}) for n, k in ((1, 2), (1, 3), (4, 5), (0, 2))]:
        agree(prog, ref, name, args, "fast" in strategy)
