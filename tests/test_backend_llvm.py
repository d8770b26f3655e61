"""The LLVM back end: differential over the corpus (llvm blocks stitched with NumPy
blocks must match the independent references), coverage of the blocks it must lower,
scalar semantics against the NumPy reference lowering, and reloading a built shared
library without llvmlite."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from corpus_util import (
    CORPUS,
    ROOT,
    assert_same,
    corpus_names,
    inputs_module,
    reference_module,
    run_entry,
)
from mcodec.compiler.backends.base import LoweringError
from mcodec.compiler.backends.llvm_backend import LLVMBackend
from mcodec.compiler.backends.numpy_backend import NumpyBackend
from mcodec.compiler.driver import frontend
from mcodec.compiler.stitch import block_views, stitch
from mcodec.compiler.strategy import get
from mcodec.runtime_shim.program import Program

pytest.importorskip("llvmlite")

# scalar loop blocks the LLVM back end must lower (the test fails if it refuses them)
MUST_LOWER = {
    "crc16": ["crc16.b1"],
    "floyd_warshall": ["floyd_warshall.b1"],
    "mandelbrot": ["mandelbrot.b1"],
    "collatz": ["collatz.b1"],
    "int_hash": ["int_hash.b1"],
    "seidel_2d": ["seidel_2d.b1"],
    "lu": ["lu.b1"],
    "go_fast": ["go_fast.b1"],
    "xorshift": ["xorshift.b3"],
}


def build_program(module, strategy_id: str, workdir: Path, use_llvm: bool = True):  # noqa: ANN001, ANN201
    """Every block LLVM can lower with `strategy_id`, the rest with NumPy; stitched."""
    llvm, numpy = LLVMBackend(), NumpyBackend()
    st, nst = get(strategy_id), get("numpy")
    built, lowered = {}, []
    for fn in module.functions.values():
        for b in block_views(fn):
            if use_llvm and llvm.can_lower(b, st)[0]:
                built[b.id] = llvm.lower(b, st, workdir)
                lowered.append(b.id)
            elif numpy.can_lower(b, nst)[0]:
                built[b.id] = numpy.lower(b, nst)
    impls, _ = stitch(module, built)
    return Program(module.functions, impls), lowered, built


@pytest.mark.parametrize("strategy_id", ["llvm", "llvm-fast"])
@pytest.mark.parametrize("name", corpus_names())
def test_corpus_differential(name: str, strategy_id: str, tmp_path: Path) -> None:
    module = frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc")
    prog, lowered, _ = build_program(module, strategy_id, tmp_path)
    for bid in MUST_LOWER.get(name, []):
        assert bid in lowered, f"{bid} was not lowered by llvm: {lowered}"
    im = inputs_module(name)
    inputs = im.make_inputs("S")
    want = reference_module(name).reference(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = run_entry(prog, im.ENTRY, inputs)
    for k in want:
        assert_same(got[k], want[k], f"{name}:{k}", fastmath=strategy_id == "llvm-fast")


def test_refuses_array_ops_with_reasons() -> None:
    module = frontend((CORPUS / "softmax.mc").read_text(), "softmax.mc")
    for fn in module.functions.values():
        for b in block_views(fn):
            ok, why = LLVMBackend().can_lower(b, get("llvm"))
            assert not ok and why
            with pytest.raises(LoweringError):
                LLVMBackend().lower(b, get("llvm"), Path("."))
    b = block_views(frontend((CORPUS / "crc16.mc").read_text()).functions["crc16"])[1]
    assert not LLVMBackend().can_lower(b, get("numpy"))[0]


SEMANTICS = """
fn ops(a: i64[N], b: i64[N], x: f64[N], y: f64[N], f: f32[N], m: u8[N], k: i32[N],
       inout oi: i64[N, 8], inout of: f64[N, 8], inout os: f32[N, 4], inout ok: i32[N, 2]):
    for i in range(N):
        let p = a[i]
        let q = b[i]
        oi[i, 0] = p // q
        oi[i, 1] = p % q
        oi[i, 2] = (p << (q & 7)) ^ (p >> 3) ^ (p >> 70)
        oi[i, 3] = i64(x[i] * 100.0)
        oi[i, 4] = a[-1 - i] + a[-1]
        oi[i, 5] = i64(m[i]) * 3 - i64(m[i] >> 2) + i64(~m[i])
        oi[i, 6] = 1 if x[i] < y[i] else 0
        oi[i, 7] = abs(p) + sign(q) + (p & 255) * (q | 3)
        of[i, 0] = x[i] // y[i]
        of[i, 1] = x[i] % y[i]
        of[i, 2] = p / q
        of[i, 3] = sqrt(abs(x[i])) + exp(-abs(y[i]))
        of[i, 4] = tanh(x[i]) + floor(y[i]) + ceil(x[i])
        of[i, 5] = maximum(x[i], y[i]) - minimum(x[i], y[i])
        of[i, 6] = x[i] ** 2.0 + round(y[i] * 3.0)
        of[i, 7] = arctan2(x[i], y[i]) + log(abs(x[i]) + 1.0) + sin(x[i]) * cos(y[i])
        os[i, 0] = f[i] * 0.1 + 1.0
        os[i, 1] = f[i] // 0.3
        os[i, 2] = f32(x[i]) % f[i]
        os[i, 3] = f[i] / 3
        ok[i, 0] = k[i] * 1000003 + 7
        ok[i, 1] = k[i] // 3 - k[i] % -5


fn loops(x: f64[N, M], lim: i64) -> (f64, i64, bool):
    let s = 0.0
    let c = 0
    let neg = false
    for i in range(N - 1, -1, -1):
        let j = 0
        while j < M:
            j += 1
            if x[i, j - 1] < -1.5:
                neg = true
                continue
            if c >= lim:
                break
            s += x[i, j - 1] * f64(i)
            c += 1
    return s, c, neg


fn wrap(a: i32[N]) -> i32:
    let h: i32 = 17
    for i in range(N):
        h = h * 31 + a[i]
    return h


fn flags(inout bits: bool[N], v: f64[N]) -> i64:
    let n = 0
    for i in range(N):
        bits[i] = v[i] > 0.0 and not isnan(v[i])
        if bits[i]:
            n += 1
    return n
"""


def _semantics_inputs(n: int = 64) -> dict:
    rng = np.random.default_rng(7)
    b = rng.integers(-9, 10, n)
    b[b == 0] = 3
    y = rng.normal(0, 3, n)
    y[::5] *= -1
    x = rng.normal(0, 3, n)
    x[3] = 0.0
    return {
        "a": rng.integers(-10**12, 10**12, n), "b": b, "x": x, "y": y,
        "f": (rng.normal(0, 2, n) + 0.05).astype(np.float32), "m": rng.integers(0, 256, n, dtype=np.uint8),
        "k": rng.integers(-2**31, 2**31 - 1, n, dtype=np.int32),
        "oi": np.zeros((n, 8), np.int64), "of": np.zeros((n, 8)), "os": np.zeros((n, 4), np.float32),
        "ok": np.zeros((n, 2), np.int32),
    }


def _run(prog, entry: str, args: dict):  # noqa: ANN001, ANN202
    import copy

    args = copy.deepcopy(args)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = getattr(prog, entry)(**args)
    return res, args


@pytest.mark.parametrize("strategy_id", ["llvm", "llvm-fast"])
def test_scalar_semantics_match_numpy(strategy_id: str, tmp_path: Path) -> None:
    module = frontend(SEMANTICS, "semantics.mc")
    ref, _, _ = build_program(module, "numpy", tmp_path, use_llvm=False)
    prog, lowered, _ = build_program(module, strategy_id, tmp_path)
    for fn in ("ops", "loops", "wrap", "flags"):
        assert any(b.startswith(fn + ".") for b in lowered), f"{fn}: no block lowered ({lowered})"
    fast = strategy_id == "llvm-fast"
    inputs = _semantics_inputs()
    want, wargs = _run(ref, "ops", inputs)
    got, gargs = _run(prog, "ops", inputs)
    for k in ("oi", "of", "os", "ok"):
        assert_same(gargs[k], wargs[k], f"ops:{k}", fastmath=fast)
    x = np.random.default_rng(3).normal(0, 1, (9, 40))
    strided = np.random.default_rng(4).normal(0, 1, (40, 9)).T  # non-contiguous
    for arr, lim in ((x, 10**6), (x, 50), (strided, 77)):
        assert_same(_run(prog, "loops", {"x": arr, "lim": lim})[0],
                    _run(ref, "loops", {"x": arr, "lim": lim})[0], "loops", fastmath=fast)
    a = np.random.default_rng(5).integers(-2**31, 2**31 - 1, 1000, dtype=np.int32)
    assert_same(_run(prog, "wrap", {"a": a})[0], _run(ref, "wrap", {"a": a})[0], "wrap")
    v = np.array([1.0, -1.0, np.nan, 0.0, 2.0, np.inf])
    g_n, g_args = _run(prog, "flags", {"bits": np.zeros(6, bool), "v": v})
    w_n, w_args = _run(ref, "flags", {"bits": np.zeros(6, bool), "v": v})
    assert_same(g_n, w_n, "flags:n")
    assert_same(g_args["bits"], w_args["bits"], "flags:bits")


def test_returned_scalars_are_numpy_scalars(tmp_path: Path) -> None:
    module = frontend(SEMANTICS, "semantics.mc")
    prog, _, _ = build_program(module, "llvm", tmp_path)
    s, c, neg = _run(prog, "loops", {"x": np.ones((3, 4)), "lim": 5})[0]
    assert type(s) is np.float64 and type(c) is np.int64 and type(neg) is np.bool_
    assert type(_run(prog, "wrap", {"a": np.arange(5, dtype=np.int32)})[0]) is np.int32


RELOAD_SCRIPT = """
import json, sys, warnings
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
from corpus_util import CORPUS, assert_same, inputs_module, reference_module, run_entry
from mcodec.compiler.backends.llvm_backend import load_built
from mcodec.compiler.backends.numpy_backend import NumpyBackend
from mcodec.compiler.driver import frontend
from mcodec.compiler.stitch import block_views, stitch
from mcodec.compiler.strategy import get
from mcodec.runtime_shim.program import Program
art = Path(sys.argv[3])
name = sys.argv[4]
infos = json.loads((art / "info.json").read_text())
module = frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc")
built = {}
for fn in module.functions.values():
    for b in block_views(fn):
        built[b.id] = NumpyBackend().lower(b, get("numpy"))
        if b.id in infos:
            built[b.id].call = load_built(art / infos[b.id]["so"], infos[b.id])
prog = Program(module.functions, stitch(module, built)[0])
im = inputs_module(name)
inputs = im.make_inputs("S")
want = reference_module(name).reference(inputs)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)
    got = run_entry(prog, im.ENTRY, inputs)
for k in want:
    assert_same(got[k], want[k], k)
assert "llvmlite" not in sys.modules, "llvmlite was imported"
print("reloaded", sorted(infos))
"""


@pytest.mark.parametrize("name", ["crc16", "collatz", "floyd_warshall"])
def test_reload_without_llvmlite(name: str, tmp_path: Path) -> None:
    """The built .so files and JSON info alone run the program in a fresh interpreter."""
    module = frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc")
    _, lowered, built = build_program(module, "llvm", tmp_path / "build")
    assert lowered
    art = tmp_path / "artifact"
    infos = {}
    for bid in lowered:
        blk = built[bid]
        assert blk.files[f"blocks/{bid}.ll"].startswith(b"; ModuleID")
        for rel, data in blk.files.items():
            (art / rel).parent.mkdir(parents=True, exist_ok=True)
            (art / rel).write_bytes(data)
        infos[bid] = {k: v for k, v in blk.info.items() if k != "so_path"}
    (art / "info.json").write_text(json.dumps(infos))
    proc = subprocess.run([sys.executable, "-c", RELOAD_SCRIPT, str(ROOT.parent), str(ROOT / "tests"),
                           str(art), name], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "reloaded" in proc.stdout


COPIES = """
fn snap(inout x: f64[N]) -> f64:
    let s = 0.0
    for i in range(N):
        let old = x
        x[i] = 2.0 * x[i]
        s += old[i] + old[N - 1 - i]
    return s


fn twice(a: f64[N]) -> f64[N]:
    let b = a
    for i in range(N):
        b[i] = b[i] + 1.0
    for i in range(N):
        b[i] = b[i] * a[i]
    return b
"""


def test_updates_that_are_not_in_place(tmp_path: Path) -> None:
    """Families updated out of place are copied once on entry, unless an old version is
    read after an update (then the block is refused and NumPy runs it)."""
    module = frontend(COPIES, "copies.mc")
    views = {b.id: b for fn in module.functions.values() for b in block_views(fn)}
    ok, why = LLVMBackend().can_lower(views["snap.b1"], get("llvm"))
    assert not ok and "old version" in why
    assert LLVMBackend().can_lower(views["twice.b1"], get("llvm"))[0]
    assert LLVMBackend().can_lower(views["twice.b2"], get("llvm"))[0]
    ref, _, _ = build_program(module, "numpy", tmp_path, use_llvm=False)
    prog, lowered, _ = build_program(module, "llvm", tmp_path)
    assert "twice.b2" in lowered
    x = np.arange(7.0)
    for entry, args in (("snap", {"x": x}), ("twice", {"a": x})):
        (g, gargs), (w, wargs) = _run(prog, entry, args), _run(ref, entry, args)
        assert_same(g, w, entry)
        for k in args:
            assert_same(gargs[k], wargs[k], f"{entry}:{k}")


SEQUENTIAL_SUM = """fn total(x: f32[N]) -> f32:
    let s = f32(0.0)
    for i in range(N):
        s += x[i]
    return s
"""


def test_loop_sums_keep_their_order_without_fastmath(tmp_path: Path) -> None:
    """Without fastmath a loop-carried float sum is added in the loop's order, as the
    reference adds it (reassociated to vectorize, [1e8, 1 x 1001, -1e8] in f32 summed to
    992 instead of 0); `llvm-fast` may reorder it."""
    module = frontend(SEQUENTIAL_SUM, "sum.mc")
    prog, lowered, built = build_program(module, "llvm", tmp_path)
    assert "total.b1" in lowered, lowered
    x = np.array([1e8] + [1.0] * 1001 + [-1e8], dtype=np.float32)
    want = np.float32(0.0)
    for v in x:
        want = np.float32(want + v)
    assert prog.total(x) == want == np.float32(0.0)
    assert "fadd" in built["total.b1"].source and "reassoc" not in built["total.b1"].source
