"""Held-out batch 8b: a differential fuzzer for loop nests and in-place array updates
(`tests/loopgen.py`). Each generated program is run at small and medium sizes under the
reference lowering, checked against its own NumPy rendering (the contract's meaning:
inout parameters written through, every `let` of an array a copy), and under every
strategy against the reference: parallel loops, bounds-check elimination, loop raising,
row fusion, copy elision and in-place writes all decide legality on these programs.

The seeds below were drawn from the hunt for what they exercise (numba-par's prange row
loops, loop-raised matrix products, row reductions, reused buffers, index errors at some
sizes); a hand-written part checks slices with computed bounds, `for x in A` over an array
the loop writes and inout views of one array passed to a callee, against NumPy."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from corpus_util import assert_same
from loopgen import SIZES, generate
from strategy_checks import built, check

STRATEGIES = ["numba", "numba-par", "numba-fast", "numba-fast-par", "llvm", "llvm-fast", "mlx-cpu", "numpy-mem"]
# (seed, kernel_p): see the module docstring of loopgen for what a seed draws
SEEDS = [(1002, 0.7), (1021, 0.7), (1034, 0.7), (1042, 0.7), (1025, 0.7)]


def _needs(strategy: str) -> None:
    pytest.importorskip("mlx.core" if strategy.startswith("mlx") else "numba")


def _call(fn, args):
    a = copy.deepcopy(args)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return fn(**a), a, None
        except Exception as e:  # noqa: BLE001 - an index error at some sizes is the program's meaning
            return None, a, type(e)


def _same(got, want, where: str, fast: bool) -> None:
    (r1, a1, e1), (r2, a2, e2) = got, want
    assert e1 == e2, f"{where}: exception {e1} where {e2}"
    if e2 is not None:
        return
    assert_same(r1, r2, f"{where} result", fastmath=fast)
    for k in a2:
        assert_same(a1[k], a2[k], f"{where} argument {k}", fastmath=fast)


_WANT: dict[tuple[int, float, float], list] = {}


def _cases(seed: int, kp: float, sp: float = 0.0) -> tuple[str, list]:
    """The program's source and, per size, (arguments, the oracle's outcome); the reference
    lowering agrees with the oracle."""
    prog = generate(seed, kp, sp)
    if (seed, kp, sp) not in _WANT:
        _, ref = built(prog.src, "numpy-mem")
        orc = prog.oracle()
        cases = []
        for k, sizes in enumerate(SIZES):
            args = prog.args(sizes, seed * 100 + k)
            want = _call(orc, args)
            _same(_call(ref.f, args), want, f"reference vs NumPy at {sizes}", False)
            cases.append((sizes, args, want))
        _WANT[seed, kp, sp] = cases
    return prog.src, _WANT[seed, kp, sp]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("seed", "kp"), SEEDS)
def test_generated_loop_program(seed: int, kp: float, strategy: str) -> None:
    _needs(strategy)
    src, cases = _cases(seed, kp)
    result, _ = built(src, strategy)
    for sizes, args, want in cases:
        _same(_call(result.program.f, args), want, f"{strategy} at {sizes}", "-fast" in strategy)


# programs whose loops accumulate into local arrays at computed indices (loopgen's
# scatter kernels): (seed, kernel_p, scatter_p) -> the strategies that privatize one of
# its loops per thread. None here: their indices are checked at run time, and a loop
# that may raise runs serially, without thread-private copies (test_privatized_sums.py
# has loops with proven indices that are privatized).
SCATTER_SEEDS: dict[tuple[int, float, float], set[str]] = {(9059, 0.7, 0.5): set(), (9008, 0.7, 0.5): set()}


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "numba-fast-par", "llvm"])
@pytest.mark.parametrize("key", list(SCATTER_SEEDS))
def test_generated_scatter_program(key: tuple[int, float, float], strategy: str) -> None:
    _needs(strategy)
    src, cases = _cases(*key)
    result, _ = built(src, strategy)
    privatized = any("_part = np.zeros(" in (b.built.source or "") for b in result.blocks.values())
    assert privatized == (strategy in SCATTER_SEEDS[key])
    for sizes, args, want in cases:
        _same(_call(result.program.f, args), want, f"{strategy} at {sizes}", "-fast" in strategy)


def test_generator_is_deterministic_and_valid() -> None:
    a, b = generate(1034, 0.7), generate(1034, 0.7)
    assert a.src == b.src and a.pysrc == b.pysrc
    assert "for " in a.src and "inout " in a.src


# ---- hand-written: slices whose bounds the loop computes (negative starts wrap, empty
# slices at the ends), iteration over an array the loop writes, inout views of one array
HAND_SRC = """fn s1(inout a: f64[N]) -> f64:
    let s = 0.0
    for i in range(N):
        a[i - 1:i + 1] = a[i - 1:i + 1] * 0.5 + 1.0
        s += sum(a[i - 2:i])
    return s

fn s4(inout a: f64[N]) -> f64:
    let s = 0.0
    for i in range(N - 1, -1, -1):
        a[:i] += a[N - i:]
        s += sum(a[-i:])
    return s

fn w2(inout A: f64[N, M]) -> f64[M]:
    let acc = zeros((M,))
    for row in A:
        A[-1, :] += row
        acc += row
    return acc

fn hprefix(inout y: f64[L], z: f64[L]) -> f64:
    for i in range(1, L):
        y[i] = 0.5 * y[i - 1] + z[i]
    return y[L - 1]

fn v1(inout a: f64[N]) -> f64:
    return hprefix(a[1:], a[:-1])
"""


def _np_s1(a):
    s = 0.0
    for i in range(a.shape[0]):
        a[i - 1:i + 1] = a[i - 1:i + 1] * 0.5 + 1.0
        s += np.sum(a[i - 2:i])
    return s


def _np_s4(a):
    n, s = a.shape[0], 0.0
    for i in range(n - 1, -1, -1):
        a[:i] += a[n - i:]
        s += np.sum(a[-i:])
    return s


def _np_w2(A):
    acc = np.zeros(A.shape[1])
    for row in A:  # each row is read when its iteration starts (a later row sees the
        row = row.copy()  # earlier writes), and is a value: `A[-1] += row` does not change it
        A[-1, :] += row
        acc += row
    return acc


def _np_v1(a):
    y, z = a[1:], a[:-1].copy()  # z is a value: the callee's writes to y do not reach it
    for i in range(1, y.shape[0]):
        y[i] = 0.5 * y[i - 1] + z[i]
    return y[-1]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_computed_slices_iteration_and_views(strategy: str) -> None:
    _needs(strategy)
    rng = np.random.default_rng(8)
    for n in (1, 2, 5, 9):
        x = rng.integers(-4, 5, n).astype(np.float64)
        for entry, fn in (("s1", _np_s1), ("s4", _np_s4), ("v1", _np_v1)):
            if entry == "v1" and n < 2:
                continue
            w = x.copy()
            want = fn(w)
            got = check(HAND_SRC, strategy, entry, {"a": x.copy()}, want=np.float64(want))
            assert isinstance(got, (float, np.floating))
            a = x.copy()
            getattr(built(HAND_SRC, strategy)[0].program, entry)(a)
            np.testing.assert_array_equal(a, w)
        A = rng.integers(-3, 4, (n, 3)).astype(np.float64)
        W = A.copy()
        want = _np_w2(W)
        check(HAND_SRC, strategy, "w2", {"A": A.copy()}, want=want)
        B = A.copy()
        built(HAND_SRC, strategy)[0].program.w2(B)
        np.testing.assert_array_equal(B, W)
