"""Gathers (`x[idx]`, `A[:, idx]`) read inside the loop that uses them (Numba back end):
results against the reference, the fused read in the generated source, and NumPy's
errors for index arrays out of range."""

from __future__ import annotations

import re

import numpy as np
import pytest
from strategy_checks import built, check, raises_like_reference

STRATEGIES = ["numba", "numba-fast-par"]

BILINEAR = """
fn resize(img: f64[H, W], OH: i64, OW: i64) -> f64[?, ?]:
    let ys = linspace(0.0, f64(H - 1), OH)
    let xs = linspace(0.0, f64(W - 1), OW)
    let y0 = clip(i64(floor(ys)), 0, H - 2)
    let x0 = clip(i64(floor(xs)), 0, W - 2)
    let wy = (ys - f64(y0))[:, newaxis]
    let wx = (xs - f64(x0))[newaxis, :]
    let top = img[y0]
    let bot = img[y0 + 1]
    let upper = top[:, x0] * (1.0 - wx) + top[:, x0 + 1] * wx
    let lower = bot[:, x0] * (1.0 - wx) + bot[:, x0 + 1] * wx
    return upper * (1.0 - wy) + lower * wy
"""

LOOKUP = """
fn lookup(lut: f32[K], codes: u8[N], idx: i64[M], x: f64[M]) -> (f32[N], f64, f64[M]):
    let y = lut[codes] * 2.0 + 1.0
    let s = sum(x[idx] * x)
    return y, s, x[idx] - x
"""

SHIFTED_STORE = """
fn chase(inout q: i64[N], r: i64[N]):
    q[1:] = r[q[:-1]] * 2
"""


def fn_source(src: str, strategy: str) -> str:
    result, _ = built(src, strategy)
    return "".join(b.built.source for b in result.blocks.values() if b.built.strategy_id == strategy)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("shape", [(7, 9, 13, 5), (2, 2, 1, 1), (30, 17, 64, 3)])
def test_bilinear_gathers_fused(strategy: str, shape: tuple[int, int, int, int]) -> None:
    h, w, oh, ow = shape
    img = np.random.default_rng(h * w).random((h, w))
    check(BILINEAR, strategy, "resize", {"img": img, "OH": oh, "OW": ow}, lowered_by="numba")
    text = fn_source(BILINEAR, strategy)
    # the corners are read through both index arrays: no (OH, W) rows, no (OH, OW) corners
    assert re.search(r"img_\d+\[\(y0_\d+\[i\d+_0\]", text) and not re.search(r"top_\d+ =", text), text


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_lookup_and_reduction_through_a_gather(strategy: str) -> None:
    rng = np.random.default_rng(3)
    lut = rng.random(256).astype(np.float32)
    codes = rng.integers(0, 256, 1000).astype(np.uint8)
    idx = rng.integers(-50, 50, 50)  # negative indices count from the end, as in NumPy
    x = rng.random(50)
    want = (lut[codes] * 2.0 + 1.0, float(np.sum(x[idx] * x)), x[idx] - x)
    check(LOOKUP, strategy, "lookup", {"lut": lut, "codes": codes, "idx": idx, "x": x}, want=want,
          lowered_by="numba")
    assert re.search(r"lut_\d+\[codes_\d+\[", fn_source(LOOKUP, strategy))  # (u8: never negative)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("bad", [50, -51])
def test_index_out_of_range_raises(strategy: str, bad: int) -> None:
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 50, 50)
    idx[17] = bad
    args = {"lut": np.ones(4, np.float32), "codes": np.zeros(3, np.uint8), "idx": idx, "x": rng.random(50)}
    raises_like_reference(LOOKUP, strategy, "lookup", args)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_empty_index_arrays(strategy: str) -> None:
    args = {"lut": np.ones(4, np.float32), "codes": np.zeros(0, np.uint8),
            "idx": np.zeros(0, np.int64), "x": np.zeros(0)}
    check(LOOKUP, strategy, "lookup", args, lowered_by="numba")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_store_through_its_own_index_array(strategy: str) -> None:
    """q[i + 1] = r[q[i]] * 2 for all i at once: q[i] is read before q[i] is stored,
    whatever order the store's loop takes."""
    q = np.array([3, 0, 4, 1, 2, 0, 3])
    r = np.array([10, 11, 12, 13, 14, 15, 16])
    want = q.copy()
    want[1:] = r[q[:-1]] * 2
    result, ref = built(SHIFTED_STORE, strategy)
    for program in (result.program, ref):
        args = {"q": q.copy(), "r": r}
        program.chase(**args)
        assert np.array_equal(args["q"], want)


# found by trying to break the fusion: a gather reads other elements than the one a
# fused store writes; a view's offset must not shift a negative index; the IndexError
# comes where NumPy raises it, before later ops' errors
ALIASING = """
fn upd(inout A: f64[N, K], idx: i64[K]):
    A[0, :] += A[0, :][idx]

fn rev_tail(inout x: f64[N], idx: i64[?]):
    x[1:] = x[1:][idx] * 2.0

fn rowchain(inout A: i64[N, K], y: i64[K], j: i64[K]):
    A[0, :] = y[A[0, :]][j] * 1000000000000

fn tailneg(x: f64[N], idx: i64[M]) -> f64[M]:
    return x[1:][idx] * 2.0 + sum(x[2:5][idx % 3])

fn order(x: f64[N], idx: i64[M], z: f64[K], a: f64[K], b: f64[L]) -> f64[M]:
    let g = x[idx]
    let m = max(z)
    let c = a + b
    return g + m + sum(c)
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_gathers_from_the_slice_a_store_writes(strategy: str) -> None:
    result, ref = built(ALIASING, strategy)
    cases = [("upd", {"A": np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]), "idx": np.array([3, 2, 1, 0])}),
             ("rev_tail", {"x": np.arange(6.0), "idx": np.array([4, 3, 2, 1, 0])}),
             ("rowchain", {"A": np.array([[0, 1, 2, 3]]), "y": np.array([1, 2, 3, 4]), "j": np.array([3, 2, 1, 0])})]
    for entry, args in cases:
        want, got = ({k: v.copy() for k, v in args.items()} for _ in range(2))
        getattr(ref, entry)(**want)
        getattr(result.program, entry)(**got)
        for k in args:
            assert np.array_equal(got[k], want[k]), (entry, k, got[k], want[k])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_negative_indices_through_views(strategy: str) -> None:
    x = np.arange(10.0)
    idx = np.array([-1, -2, 0, 1, -9])
    check(ALIASING, strategy, "tailneg", {"x": x, "idx": idx}, x[1:][idx] * 2.0 + np.sum(x[2:5][idx % 3]))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_index_error_comes_first(strategy: str) -> None:
    x, bad = np.arange(5.0), np.array([0, 7])
    raises_like_reference(ALIASING, strategy, "order", {"x": x, "idx": bad, "z": np.zeros(0), "a": np.ones(0),
                                                         "b": np.ones(3)})
    raises_like_reference(ALIASING, strategy, "order", {"x": x, "idx": bad, "z": np.ones(2), "a": np.ones(2),
                                                         "b": np.ones(3)})


# index arrays of any rank: the result's axes are the index array's, then the base's rest
TABLES = """
fn equalize(lut: u8[256], img: u8[H, W]) -> (u8[H, W], f64):
    let out = lut[img]
    return out, sum(f64(lut[img]) * 0.5)

fn rows_of(A: f32[N, M], pick: i32[P, Q], w: f32[M]) -> f32[P, Q, M]:
    return A[pick] * w
"""


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_index_arrays_of_higher_rank(strategy: str) -> None:
    rng = np.random.default_rng(6)
    lut = rng.integers(0, 256, 256).astype(np.uint8)
    img = rng.integers(0, 256, (37, 29)).astype(np.uint8)
    check(TABLES, strategy, "equalize", {"lut": lut, "img": img},
          (lut[img], float(np.sum(lut[img].astype(np.float64) * 0.5))), lowered_by="numba")
    A = rng.random((6, 5)).astype(np.float32)
    pick = rng.integers(-6, 6, (4, 3)).astype(np.int32)
    w = rng.random(5).astype(np.float32)
    check(TABLES, strategy, "rows_of", {"A": A, "pick": pick, "w": w}, A[pick] * w)
    assert re.search(r"A_\d+\[\(pick_\d+\[i\d+_0, i\d+_1\]", fn_source(TABLES, strategy))
    pick[2, 1] = 6
    raises_like_reference(TABLES, strategy, "rows_of", {"A": A, "pick": pick, "w": w})
