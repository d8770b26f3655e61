"""The Numba back end, differentially: every block of a corpus program that Numba can
lower is built with a Numba strategy (the rest with the NumPy back end), the blocks are
stitched, and the program is run at preset S against the independent reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from corpus_util import (
    CORPUS,
    assert_same,
    corpus_names,
    inputs_module,
    reference_module,
    run_entry,
)

pytest.importorskip("numba")

from mcodec.compiler.backends.base import LoweringError  # noqa: E402
from mcodec.compiler.backends.numba_backend import NumbaBackend  # noqa: E402
from mcodec.compiler.backends.numpy_backend import NumpyBackend  # noqa: E402
from mcodec.compiler.driver import frontend  # noqa: E402
from mcodec.compiler.reference import reference_program  # noqa: E402
from mcodec.compiler.stitch import block_views, stitch  # noqa: E402
from mcodec.compiler.strategy import get  # noqa: E402
from mcodec.runtime_shim.program import Program  # noqa: E402

NUMBA = NumbaBackend()


def build(module: Any, strategy_id: str) -> tuple[Program, dict[str, Any]]:
    """Every block Numba accepts built with Numba (a LoweringError fails the test), the
    rest with NumPy. Returns the program and {block id: BuiltBlock or refusal reason}."""
    st = get(strategy_id)
    built, report = {}, {}
    for fn in module.functions.values():
        for b in block_views(fn):
            ok, why = NUMBA.can_lower(b, st)
            if ok:
                built[b.id] = report[b.id] = NUMBA.lower(b, st)
            else:
                assert why, f"{b.id}: a refusal must say why"
                report[b.id] = why
                if NumpyBackend().can_lower(b, get("numpy"))[0]:
                    built[b.id] = NumpyBackend().lower(b, get("numpy"))
    impls, _ = stitch(module, built)
    return Program(module.functions, impls), report


def check_program(name: str, strategy_id: str) -> dict[str, Any]:
    module = frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc")
    program, report = build(module, strategy_id)
    for bid in lowered(report):  # else an artifact would compile the block at each load
        assert report[bid].info["jit_cacheable"], f"{bid}: Numba cannot cache the block ({strategy_id})"
    inputs_mod = inputs_module(name)
    inputs = inputs_mod.make_inputs("S", seed=0)
    want = reference_module(name).reference(inputs)
    got = run_entry(program, inputs_mod.ENTRY, inputs)
    assert set(got) == set(want)
    for key in want:
        assert_same(got[key], want[key], f"{name}:{key}:{strategy_id}",
                    fastmath=get(strategy_id).jit_level >= 2)
    return report


def lowered(report: dict[str, Any]) -> list[str]:
    return [bid for bid, r in report.items() if not isinstance(r, str)]


# Blocks the back end refuses on purpose (reason checked loosely); everything else in the
# corpus must be lowered by Numba.
EXPECTED_REFUSALS = {
    "kmeans_step.b1": "boolean",
}


@pytest.mark.parametrize("name", corpus_names())
def test_corpus_numba(name: str) -> None:
    report = check_program(name, "numba")
    for bid, r in report.items():
        if isinstance(r, str):
            key = bid if bid in EXPECTED_REFUSALS else name
            assert key in EXPECTED_REFUSALS and EXPECTED_REFUSALS[key] in r, f"{bid} refused: {r}"


@pytest.mark.parametrize("name", ["mandelbrot", "histogram", "softmax", "correlation"])
def test_corpus_numba_parallel(name: str) -> None:
    report = check_program(name, "numba-par")
    assert lowered(report)
    for b in map(report.get, lowered(report)):  # threads only where a prange was emitted
        assert bool(b.info["options"]["parallel"]) == bool(b.info["prange_loops"])
    if name in ("mandelbrot", "histogram", "correlation"):  # row-wise writes: outer loop in prange
        loop = report[f"{name}.b1"]
        assert loop.info["prange_loops"] == 1 and "prange(" in loop.source


@pytest.mark.parametrize("name", ["layernorm", "gemm", "jacobi_2d"])
def test_corpus_numba_fastmath(name: str) -> None:
    report = check_program(name, "numba-fast")
    assert all(b.info["options"]["fastmath"] for b in map(report.get, lowered(report)))


@pytest.mark.parametrize("name", ["crc16", "floyd_warshall", "cholesky"])
def test_loop_blocks_are_lowered_by_numba(name: str) -> None:
    module = frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc")
    st = get("numba")
    loops = [b for fn in module.functions.values() for b in block_views(fn) if b.kind == "loop"]
    assert loops
    for b in loops:
        ok, why = NUMBA.can_lower(b, st)
        assert ok, f"{b.id}: {why}"
        built = NUMBA.lower(b, st)
        assert built.strategy_id == "numba" and built.block_id == b.id
        assert "range(" in built.source and "np.arange" not in built.source


def test_elementwise_chains_are_fused() -> None:
    module = frontend((CORPUS / "quantize.mc").read_text(), "quantize.mc")
    (b,) = block_views(module.functions["quantize"])
    built = NUMBA.lower(b, get("numba"))
    assert built.info["fused_ops"] >= 2  # clip -> mul -> round -> ... in one loop nest
    report = check_program("pair_energy", "numba")
    info = report["pair_energy.b0"].info
    assert info["fused_reductions"] >= 1 and info["fused_ops"] >= 1


EARLY_EXIT = """fn first_pos(x: f64[N]) -> f64:
    for i in range(N):
        if x[i] > 0.0:
            return x[i]
    return 0.0
"""


def test_can_lower_rejects_early_exit_and_other_backends() -> None:
    module = frontend(EARLY_EXIT, "early.mc")
    blocks = block_views(module.functions["first_pos"])
    early = [b for b in blocks if b.has_early_exit()]
    assert early
    ok, why = NUMBA.can_lower(early[0], get("numba"))
    assert not ok and "return" in why
    with pytest.raises(LoweringError):
        NUMBA.lower(early[0], get("numba"))
    ok, why = NUMBA.can_lower(blocks[0], get("numpy"))
    assert not ok and why


COMPLEX = """fn arith(z: c128[N], w: c128[N], s: c64[N]) -> (c128[N], c128[N], c128[N], f64[N], c64[N], c128, bool[N]):
    let q = z / w + conj(z) * 2.0
    return q, exp(z * 1000.0), sqrt(z) + log(w), abs(z) + real(w) * imag(w), s / s + s ** 2, sum(z * w), z == w

fn ordered(z: c128[N], w: c128[N]) -> bool[N]:
    return z < w

fn trig(z: c128[N]) -> c128[N]:
    return tanh(z)
"""


def test_complex_arithmetic_is_lowered_as_numpy_computes_it() -> None:
    """Complex arithmetic is compiled: quotients by zero are NumPy's inf/NaN (Numba's
    own raises), exp keeps a zero imaginary part at overflow, c64 stays single
    precision. Orderings (lexicographic in NumPy) and the trigonometric functions (NaN
    parts where NumPy has finite ones) are left to NumPy, with the reason."""
    module = frontend(COMPLEX, "complex.mc")
    program, report = build(module, "numba")
    assert lowered(report) == ["arith.b0"], report
    assert "complex" in report["ordered.b0"] and "complex" in report["trig.b0"]
    rng = np.random.default_rng(3)
    z = rng.standard_normal(40) + 1j * rng.standard_normal(40)
    z[:4] = [0, 1000, 1000 + 1e-3j, -0.0]  # exp(1000 * 1000 + 0j): inf + 0j
    w = rng.standard_normal(40) + 1j * rng.standard_normal(40)
    w[:3] = [0, -0.0, complex(0, -0.0)]  # z / 0
    s = (rng.standard_normal(40) + 1j * rng.standard_normal(40)).astype(np.complex64)
    s[0] = 0
    want = reference_program(frontend(COMPLEX, "complex.mc")).arith(z, w, s)
    got = program.arith(z, w, s)
    for g, x in zip(got, want):
        assert np.asarray(g).dtype == np.asarray(x).dtype
        np.testing.assert_allclose(g, x, rtol=1e-6 if np.asarray(x).dtype == np.complex64 else 1e-12)
        assert np.array_equal(np.isnan(g), np.isnan(x)) and np.array_equal(np.isinf(g), np.isinf(x))


SCALARS = """fn mix(a: i32, b: f32, c: u8) -> (i32, f32, u8, f64, bool):
    let x = a * 3 + 7
    let y = b * 2.5 - 1.0
    let z = c + 250
    let w = f64(a) / 3.0
    return x, y, z, w, y > b
"""


def test_scalar_dtypes_and_wraparound() -> None:
    module = frontend(SCALARS, "scalars.mc")
    program, report = build(module, "numba")
    assert lowered(report)
    got = program.mix(np.int32(2**30), np.float32(1.5), np.uint8(10))
    with np.errstate(over="ignore"):
        big = np.int32(2**30) * np.int32(3) + np.int32(7)
    want = (big, np.float32(1.5) * np.float32(2.5) - np.float32(1),
            np.uint8(4), np.float64(2**30) / 3.0, np.True_)
    for g, w in zip(got, want):
        assert type(g) is type(w), (g, w)
        assert g == w


EDGES = """fn f(a: i8[N, M], b: u8[M], x: f32[N, M], y: f64[M], z: f32[N]) -> (i8[N, M], u8[M], f32[N, M], i64[M], f32[N, 1], f64[N], i64[N], bool[M], f32, f64[M, N], i64, f32[N, M]):
    let r1 = a * 3 + a
    let r2 = b + 250
    let r3 = where(x > 0.5, x * 2.0, -x) + z[:, newaxis]
    let r4 = argmax(x, axis=0)
    let r5 = min(x, axis=1, keepdims=true)
    let r6 = mean(a, axis=1)
    let r7 = sum(a, axis=1)
    let r8 = any(x > 0.9, axis=0)
    let r9 = prod(x[0, :] * 0.5 + 1.0)
    let r10 = (x.T * y[:, newaxis]) / 3
    let r11 = argmin(x)
    let r12 = exp(x) - log(x + 1.0) * sqrt(abs(x))
    return r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12
"""


def test_dtypes_broadcasting_and_reductions_match_numpy() -> None:
    """Small-int wraparound, weak literals, newaxis broadcasting, axis/keepdims reductions."""
    from mcodec.compiler.reference import reference_program

    program, report = build(frontend(EDGES, "edges.mc"), "numba")
    assert len(lowered(report)) == len(report)
    rng = np.random.default_rng(0)
    args = dict(a=rng.integers(-100, 100, (5, 7)).astype(np.int8), b=rng.integers(0, 255, 7).astype(np.uint8),
                x=rng.random((5, 7)).astype(np.float32), y=rng.random(7), z=rng.random(5).astype(np.float32))
    with np.errstate(over="ignore"):
        want = reference_program(frontend(EDGES, "edges.mc")).f(**args)
    got = program.f(**args)
    assert_same(got, want, "edges")
    assert type(got[8]) is np.float32 and type(got[10]) is np.int64


def _f32_ulps(got: np.ndarray, exact: np.ndarray) -> float:
    """The largest error in float32 ulps where the exact (float64) value is a normal float32."""
    want = exact.astype(np.float32)
    normal = np.isfinite(want) & (np.abs(want) >= np.finfo(np.float32).tiny)
    return float(np.max(np.abs(got[normal].astype(np.float64) - exact[normal]) / np.spacing(np.abs(want[normal]))))


def _apply_f32(name: str, x: np.ndarray, fastmath: Any = False) -> np.ndarray:
    from mcodec.runtime_shim import numba_math
    from numba import njit

    f = getattr(numba_math, name)

    @njit(error_model="numpy", fastmath=fastmath)  # (as blocks are compiled: no division-by-zero branch)
    def apply(x: np.ndarray, out: np.ndarray) -> None:
        for i in range(x.shape[0]):
            out[i] = f(x[i])

    out = np.empty_like(x)
    apply(x, out)
    return out


def test_float32_exp_is_vectorizable_and_accurate() -> None:
    """exp on float32 is the inlined polynomial (not libm's scalar expf) and stays within
    2 ulp of the exact value over the whole range: overflow to inf, subnormal results,
    0 far below, NaN through."""
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 88.72283, 88.7229, 89.5, -87.3, -100.0, -103.9, -110.0, 1e-8]
    x = np.concatenate([np.linspace(-110, 95, 400_001), special]).astype(np.float32)
    got = _apply_f32("exp_f32", x)
    with np.errstate(over="ignore", under="ignore"):
        exact = np.exp(x.astype(np.float64))
        want = exact.astype(np.float32)
    assert np.array_equal(np.isnan(got), np.isnan(x))
    assert np.array_equal(np.isinf(got), np.isinf(want))
    assert _f32_ulps(got, exact) <= 2.0
    normal = np.isfinite(want) & (want >= np.finfo(np.float32).tiny)
    sub = np.isfinite(want) & ~normal
    assert np.max(np.abs(got[sub] - want[sub])) <= 2 * np.finfo(np.float32).smallest_subnormal

    source = "fn f(x: f32[N], y: f64[N]) -> (f32[N], f64[N]):\n    return exp(x * 2.0) - 1.0, exp(y)\n"
    program, report = build(frontend(source, "exp.mc"), "numba")
    assert "exp_f32(" in report["f.b0"].source
    xs = np.linspace(-60, 40, 1001).astype(np.float32)
    got32, got64 = program.f(x=xs, y=xs.astype(np.float64))
    assert_same(got32, np.exp(xs * np.float32(2.0)) - np.float32(1.0), "exp f32")
    assert_same(got64, np.exp(xs.astype(np.float64)), "exp f64")


def test_float32_tanh_and_log_are_inlined_and_accurate() -> None:
    """tanh and log on float32 are inlined polynomials too (libm's tanhf and logf keep a
    loop scalar), within 2 ulp everywhere, with NumPy's special values: tanh keeps -0.0
    and saturates to +-1, log is -inf at 0, NaN below 0, inf at inf, exact on
    subnormal inputs."""
    x = np.concatenate([np.linspace(-20, 20, 400_001),
                        [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 0.6249, 0.625, -0.625]]).astype(np.float32)
    got = _apply_f32("tanh_f32", x)
    exact = np.tanh(x.astype(np.float64))
    assert _f32_ulps(got, exact) <= 2.0
    np.testing.assert_array_equal(got[-10:-3], np.tanh(x[-10:-3]))  # (signed zeros and +-1 exactly)
    assert np.signbit(got[-6])

    x = np.concatenate([np.exp(np.linspace(-100, 88, 400_001)),
                        [np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, 1e-45, 1e-40, 1.0, 3.4e38]]).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = _apply_f32("log_f32", x)
        exact = np.log(x.astype(np.float64))
        np.testing.assert_array_equal(got[-10:], np.log(x[-10:]))
    assert _f32_ulps(got, exact) <= 2.0

    source = "fn g(x: f32[N]) -> f32[N]:\n    return tanh(x) * log(abs(x) + 1.0)\n"
    program, report = build(frontend(source, "g.mc"), "numba")
    assert "tanh_f32(" in report["g.b0"].source and "log_f32(" in report["g.b0"].source
    xs = np.linspace(-30, 30, 1001).astype(np.float32)
    assert_same(program.g(xs), np.tanh(xs) * np.log(np.abs(xs) + np.float32(1.0)), "tanh*log f32")


STAGED = """fn lse(x: f32[N, M], y: f64[N, M]) -> (f32[N], f64[N, 1], f64[N]):
    return log(sum(exp(x - 1.0), axis=1)), sum(sqrt(y) * 2.0, axis=-1, keepdims=true), mean(exp(y), axis=1)
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par"])
def test_reductions_of_math_functions_are_staged_per_row(strategy: str) -> None:
    """A row sum of exp/sqrt/... fills a row buffer in a vectorizable loop, then sums
    it in lanes: same results as NumPy for rows shorter than, equal to and longer than
    the lane count, empty rows and a single row; one buffer per row under prange."""
    from mcodec.compiler.reference import reference_program

    program, report = build(frontend(STAGED, "staged.mc"), strategy)
    (b,) = (r for r in report.values() if not isinstance(r, str))
    assert b.info.get("staged_reductions") == 3
    ref = reference_program(frontend(STAGED, "staged.mc"))
    rng = np.random.default_rng(7)
    for n, m in [(3, 0), (1, 1), (4, 7), (5, 8), (2, 9), (6, 33)]:
        args = dict(x=rng.standard_normal((n, m)).astype(np.float32), y=rng.random((n, m)))
        assert_same(program.lse(**args), ref.lse(**args), f"staged {strategy} {n}x{m}")


FILLS = """fn fills(x: f64[N], lo: i64, hi: i64, st: i64) -> (f64[N], f64[N], i32[N]):
    let a = copy(x)
    a[lo:hi:st] = -1.0
    let b = copy(x)
    b[lo::3] = 2
    b[:hi] = 5.0
    let c = zeros((N,), dtype=i32)
    c[1::2] = 7
    c[-3:] = 9
    return a, b, c
"""


@pytest.mark.parametrize("bounds", [(0, 10, 1), (2, 100, 3), (-5, 9, 2), (4, -2, 1), (9, 1, -2),
                                    (50, 60, 1), (3, 3, 4), (-100, 100, 5)])
def test_strided_scalar_fills_match_numpy(bounds: tuple[int, int, int]) -> None:
    """Slice stores of a scalar into 1-D arrays are counted loops when the bounds are
    non-negative and the step positive at run time; negative bounds and steps take
    NumPy's slice store. The results are NumPy's either way (clamped stops, empty
    slices, casts of the stored value)."""
    from mcodec.compiler.reference import reference_program

    program, report = build(frontend(FILLS, "fills.mc"), "numba")
    assert sum(r.info.get("strided_fills", 0) for r in report.values() if not isinstance(r, str)) == 5
    lo, hi, st = bounds
    args = dict(x=np.arange(17, dtype=np.float64), lo=lo, hi=hi, st=st)
    assert_same(program.fills(**args), reference_program(frontend(FILLS, "fills.mc")).fills(**args), str(bounds))


ARRAY_STORES = """\
fn stores(x: f64[N], m: f64[N, M], r: f64[M], c: f64[N, 1], lo: i64) -> (f64[N], f64[N, M], f32[N, M], i64[N]):
    let a = copy(x)
    a[1:] = a[:-1]
    let b = copy(m)
    b[1:, :] = b[:-1, :]
    b[0] = r
    b[1:3, :] = r
    b[:, 0:1] = c
    b[lo:, 1:] = b[lo:, :-1] * 2.0
    let f = zeros((N, M), dtype=f32)
    f[:, :] = m
    let k = zeros((N,), dtype=i64)
    k[::2] = i64(x[::2] * 10.0)
    k[::-1] = k
    for t in range(2):
        b[t] = b[t + 1]
    return a, b, f, k
"""


@pytest.mark.parametrize("strategy", ["numba", "numba-par", "numba-fast"])
def test_array_stores_broadcast_cast_and_overlap_as_numpy(strategy: str) -> None:
    """Stores of arrays into views are loops (Numba's slice store compiles a formatted
    error path, seconds per store); they broadcast, cast and read an overlapping source
    from a copy exactly as NumPy's slice assignment does."""
    from mcodec.compiler.reference import reference_program

    module = frontend(ARRAY_STORES, "stores.mc")
    program, report = build(module, strategy)
    assert sum(r.info.get("loop_stores", 0) for r in report.values() if not isinstance(r, str)) >= 8
    rng = np.random.default_rng(0)
    for n, m, lo in [(7, 5, 2), (4, 1, 0), (9, 3, -3)]:
        args = dict(x=rng.random(n), m=rng.random((n, m)), r=rng.random(m), c=rng.random((n, 1)), lo=lo)
        want = reference_program(frontend(ARRAY_STORES, "stores.mc")).stores(**args)
        assert_same(program.stores(**args), want, f"{strategy} {n}x{m}")


@pytest.mark.parametrize("k", [4, 0])
def test_matmul_acc_into_a_strided_view_and_with_an_empty_inner_dim(k: int) -> None:
    """The BLAS accumulation helper's general path (a non-contiguous target, or no
    inner dimension) computes c = alpha * (a @ b) + beta * c in place, leaving the
    rest of the parent array alone."""
    from mcodec.runtime_shim.numba_blas import matmul_acc

    rng = np.random.default_rng(1)
    a, b, parent = rng.random((5, k)), rng.random((k, 6)), rng.random((6, 10))
    want = parent.copy()
    want[:5, 2:8] = 2.0 * (a @ b) + 0.5 * want[:5, 2:8]
    matmul_acc(a, b, parent[:5, 2:8], 2.0, 0.5)
    np.testing.assert_allclose(parent, want, rtol=1e-12)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs x87 long double as the exact reference")
@pytest.mark.parametrize(("name", "x"), [
    ("exp", np.concatenate([np.linspace(-745, 709.7, 300_001), np.linspace(-1, 1, 100_001)])),
    ("tanh", np.concatenate([np.linspace(-25, 25, 300_001), np.linspace(-1e-3, 1e-3, 10_001)])),
    ("log", np.concatenate([np.exp(np.linspace(-700, 700, 300_001)), np.linspace(0.5, 2.0, 100_001)])),
])
def test_float64_math_is_inlined_and_within_2_ulp(name: str, x: np.ndarray) -> None:
    """exp, tanh and log on float64 are inlined Cephes polynomials as well (vectorized:
    libm's scalar calls are 2-4x slower here), within 2 ulp of the value computed in
    long double, with NumPy's special values (inf, NaN, signed zero, subnormals)."""
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 5e-324, 709.79, 710.5, -745.2, -746.0])
    got = _apply_f32(f"{name}_f64", x)
    exact = getattr(np, name)(x.astype(np.longdouble))
    want = exact.astype(np.float64)
    ok = np.isfinite(want) & (np.abs(want) >= np.finfo(np.float64).tiny)
    assert ok.sum() > 0.9 * x.size
    ulps = np.abs((got[ok] - exact[ok]) / np.spacing(np.abs(want[ok])).astype(np.longdouble))
    assert float(ulps.max()) <= 2.0
    with np.errstate(all="ignore"):
        sg, sw = _apply_f32(f"{name}_f64", special), getattr(np, name)(special)
    np.testing.assert_array_equal(sg, sw)
    # (a NaN's sign is not specified, and NumPy's own differs: -nan for log(-1) where
    # it runs its AVX-512 loops, nan elsewhere)
    num = ~np.isnan(sw)
    np.testing.assert_array_equal(np.signbit(sg[num]), np.signbit(sw[num]))
    # under fastmath (reassociation may undo the two-part ln 2 and regroup the scaling):
    # special values still exact, the rest within 1e-13
    from mcodec.compiler.backends.numba_backend import FAST_FLAGS

    fast = _apply_f32(f"{name}_f64", x, FAST_FLAGS)
    np.testing.assert_allclose(fast[ok], want[ok], rtol=1e-13)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(_apply_f32(f"{name}_f64", special, FAST_FLAGS), sw)
    source = f"fn h(x: f64[N]) -> f64[N]:\n    return {name}(x) * 2.0\n"
    program, report = build(frontend(source, "h.mc"), "numba")
    assert f"{name}_f64(" in report["h.b0"].source
    xs = np.linspace(0.1, 30.0, 1001)
    assert_same(program.h(xs), getattr(np, name)(xs) * 2.0, f"{name} f64")


TRIANGLES = """fn tri(a: f64[N, M], b: i32[N, M], c: bool[N, M]) -> (f64[N, M], i32[N, M], bool[N, M], f64[N, M], f32[N, M]):
    return triu(a, 1), tril(b, -1), triu(c), tril(a * 2.0, 2), triu(ones((N, M), dtype=f32), -2) > 0.5
"""


@pytest.mark.parametrize("strategy_id", ["numba", "numba-par", "numba-fast"])
def test_triangles_are_loops_that_zero_exactly(strategy_id: str) -> None:
    """triu/tril of a matrix are one loop nest; the zeroed part is 0 even where the input
    is NaN or inf (a multiply by 0 would leave NaN), on wide, tall and empty matrices."""
    module = frontend(TRIANGLES.replace("f32[N, M]):", "bool[N, M]):", 1), "tri.mc")
    program, report = build(module, strategy_id)
    for bid in lowered(report):  # else an artifact would compile the block at each load
        assert report[bid].info["jit_cacheable"], f"{bid}: Numba cannot cache the block ({strategy_id})"
    assert "np.triu(" not in report["tri.b0"].source and "np.tril(" not in report["tri.b0"].source
    rng = np.random.default_rng(1)
    for n, m in [(5, 8), (9, 3), (0, 4), (1, 1)]:
        a = rng.standard_normal((n, m))
        a[::2, ::3] = np.nan
        a[1::3, ::2] = -np.inf
        b = rng.integers(-50, 50, (n, m)).astype(np.int32)
        c = rng.random((n, m)) > 0.3
        want = (np.triu(a, 1), np.tril(b, -1), np.triu(c), np.tril(a * 2.0, 2),
                np.triu(np.ones((n, m), dtype=np.float32), -2) > 0.5)
        for g, w in zip(program.tri(a, b, c), want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


GRAM = """fn gram(x: f64[N, M], y: f32[N, M]) -> (f64[M, M], f64[N, N], f32[M, M], f64[?, M]):
    let c = x[1:, :] - mean(x, axis=0)
    return x.T @ x, x @ x.T, y.T @ y, c.T @ c + transpose(x) @ x
"""


@pytest.mark.parametrize("strategy_id", ["numba", "numba-par"])
def test_gram_products_use_syrk_and_survive_a_fresh_process(strategy_id: str, tmp_path: Any) -> None:
    """X.T @ X and X @ X.T of float matrices go to BLAS SYRK (half a GEMM's work, a
    symmetric result) for contiguous and strided X; an artifact with them runs in a
    fresh process (SciPy's SYRK is linked by symbol name, not by a baked address)."""
    import subprocess
    import sys

    program, report = build(frontend(GRAM, "gram.mc"), strategy_id)
    assert report["gram.b0"].source.count("gram(") >= 4
    rng = np.random.default_rng(2)
    for n, m in [(9, 4), (3, 7), (1, 1)]:
        x = rng.standard_normal((n, m))
        y = rng.standard_normal((n, m)).astype(np.float32)
        c = x[1:] - x.mean(0)
        want = (x.T @ x, x @ x.T, y.T @ y, c.T @ c + x.T @ x)
        for g, w in zip(program.gram(x, y), want):
            assert g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-5 if g.dtype == np.float32 else 1e-12, atol=1e-5)
            np.testing.assert_array_equal(g, g.T)
    src = tmp_path / "gram.mc"
    src.write_text(GRAM)
    out = tmp_path / "gram.mcx"
    r = subprocess.run([sys.executable, "-m", "mcodec", "build", str(src), "-o", str(out), "--strategy", strategy_id],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    code = ("import mcodec, numpy as np; p = mcodec.load(%r); x = np.arange(12.0).reshape(4, 3); "
            "y = x.astype(np.float32); r = p.gram(x, y); "
            "assert np.allclose(r[0], x.T @ x) and np.allclose(r[1], x @ x.T) and np.allclose(r[2], y.T @ y); print('ok')")
    r = subprocess.run([sys.executable, "-c", code % str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


ROW_EXTREMES = """fn ext(x: f64[N, M], y: f32[N, M]) -> (f64[N], f64[N, 1], f32[N], f32[N]):
    return max(x, axis=1), min(x, axis=-1, keepdims=true), max(y * 2.0, axis=1), min(exp(y), axis=1)
"""


@pytest.mark.parametrize("strategy_id", ["numba", "numba-par", "numba-fast"])
def test_row_max_min_are_selects_with_nan_on_the_side(strategy_id: str) -> None:
    """A float max/min along rows is ordered compares in eight lanes (vectorizable) plus
    a NaN flag: a NaN anywhere in a row (in the lanes or the remainder) gives NaN, as
    NumPy's; rows of -inf, +inf and mixed signs give NumPy's values."""
    program, report = build(frontend(ROW_EXTREMES, "ext.mc"), strategy_id)
    assert report["ext.b0"].source.count("nan_") >= 4
    # eight partial maxima/minima joined by a tree (a single select chain stays scalar)
    assert "max(max(" in report["ext.b0"].source and "min(min(" in report["ext.b0"].source
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 9))
    x[1, 0] = np.nan
    x[2, 8] = np.nan
    x[3, :] = np.nan
    x[4, :] = -np.inf
    x[5, :] = np.inf
    x[6, 4] = -np.inf
    y = x.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        want = (x.max(1), x.min(-1, keepdims=True), (y * np.float32(2.0)).max(1), np.exp(y).min(1))
    for g, w in zip(program.ext(x, y), want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=2e-7)  # (NaN where NumPy has NaN)


ROW_GROUPS = """fn softmax(x: f32[N, M]) -> f32[N, M]:
    let m = max(x, axis=1, keepdims=true)
    let e = exp(x - m)
    return e / sum(e, axis=1, keepdims=true)

fn norm(x: f64[N, D], g: f64[D]) -> (f64[N, D], f64[N, 1]):
    let mu = mean(x, axis=-1, keepdims=true)
    let xc = x - mu
    let v = mean(xc * xc, axis=-1, keepdims=true)
    return xc / sqrt(v + 1e-5) * g, v

fn lse(x: f64[N, C]) -> f64[N]:
    let m = max(x, axis=1, keepdims=true)
    return log(sum(exp(x - m), axis=1)) + m[:, 0]
"""


def _np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("strategy_id", ["numba", "numba-par", "numba-fast"])
def test_row_groups_fuse_reductions_with_their_row_users(strategy_id: str) -> None:
    """Reductions along rows and the elementwise ops around them are one loop over rows
    (numba_rows.py): temporaries only the group reads are a row buffer or a per-row
    scalar, results read later are whole arrays. Values as NumPy's, NaN and infinite rows
    included, odd widths (lane remainders), no rows; an empty row raises as NumPy."""
    program, report = build(frontend(ROW_GROUPS, "rows.mc"), strategy_id)
    assert report["softmax.b0"].info["row_groups"] == 1
    src = report["softmax.b0"].source
    assert "rb_" in src and "rs_" in src and src.count("np.empty(") == 2  # the result and one row buffer
    assert report["norm.b0"].info["row_groups"] == 1  # v is returned: a whole array
    tol = 1e-5 if strategy_id == "numba-fast" else 1e-6
    rng = np.random.default_rng(7)
    for n, m in ((5, 19), (3, 8), (1, 1), (0, 4)):
        x = rng.standard_normal((n, m)).astype(np.float32)
        if n >= 3:
            x[1, 2] = np.nan
            x[2, :] = -np.inf
        with np.errstate(invalid="ignore"):
            want = _np_softmax(x)
        got = program.softmax(x)
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=1e-7)
        xd = rng.standard_normal((n, m)) * 3.0
        gd = rng.standard_normal(m)
        mu = xd.mean(axis=-1, keepdims=True)
        v = ((xd - mu) ** 2).mean(axis=-1, keepdims=True)
        out, vv = program.norm(xd, gd)
        np.testing.assert_allclose(vv, v, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(out, (xd - mu) / np.sqrt(v + 1e-5) * gd, rtol=1e-9, atol=1e-12)
        mx = xd.max(axis=1, keepdims=True)
        np.testing.assert_allclose(program.lse(xd), np.log(np.exp(xd - mx).sum(axis=1)) + mx[:, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="zero-size array"):
        program.softmax(np.zeros((3, 0), np.float32))


def _last_printed(code: str, var: str, preset: str | None, unset: tuple[str, ...] = ()) -> str:
    """The last word `code` prints, run in a fresh interpreter whose environment has
    `var` set to `preset` (None: unset) and none of `unset`."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != var and k not in unset}
    if preset:
        env[var] = preset
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()[-1]


@pytest.mark.parametrize(("var", "preset", "want", "strategy", "body"), [
    ("GOMP_SPINCOUNT", None, "2000", "numba-par", "x * 2.0 + 1.0"),
    ("GOMP_SPINCOUNT", "77", "77", "numba-par", "x * 2.0 + 1.0"),
    ("OMP_WAIT_POLICY", "passive", "None", "numba-par", "x * 2.0 + 1.0"),
    ("GOMP_SPINCOUNT", None, "2000", "numba", "x @ x.T + 1.0")])  # a serial block: the product's threads
def test_parallel_blocks_make_idle_openmp_threads_spin_briefly(var: str, preset: str | None, want: str,
                                                               strategy: str, body: str) -> None:
    """Compiling a parallel block, or one whose matrix product may run threads, sets
    GOMP_SPINCOUNT before Numba loads its OpenMP layer (idle threads spinning for
    libgomp's default took the cores from BLAS and the next parallel loop; sleeping at
    once made each parallel nest in a time loop wait for a wake-up), and keeps what the
    user set for either variable."""
    code = ("import os, numpy as np\n"
            "from mcodec.compiler.build import build_module\n"
            "from mcodec.compiler.driver import frontend\n"
            f"r = build_module(frontend('fn f(x: f64[N, N]) -> f64[N, N]:\\n    return {body}\\n', 'p.mc'),"
            f" default={strategy!r}, use_cache=False)\n"
            f"x = np.ones((3, 3))\nassert np.array_equal(r.program.f(x), {body})\n"
            "print(os.environ.get('GOMP_SPINCOUNT'))\n")
    assert _last_printed(code, var, preset, unset=("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")) == want


@pytest.mark.parametrize("preset", [None, "26"])
def test_blas_threads_spin_briefly_from_import(preset: str | None) -> None:
    """`import mcodec` sets OPENBLAS_THREAD_TIMEOUT before NumPy loads OpenBLAS (idle
    BLAS threads of NumPy's and SciPy's libraries spun for 0.1 s after each call,
    taking the cores from each other's next call), and keeps a value the user set."""
    code = ("import importlib.abc, os, sys\n"
            "seen = []\n"
            "class Watch(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'numpy' and not seen:\n"
            "            seen.append(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))\n"
            "sys.meta_path.insert(0, Watch())\n"
            "import mcodec\n"
            "print(seen[0])\n")
    assert _last_printed(code, "OPENBLAS_THREAD_TIMEOUT", preset) == (preset or "20")
