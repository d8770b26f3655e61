"""Builds, artifacts and graceful degradation (with the NumPy back end, which every
machine has; the other back ends have their own test files)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import mcodec
import numpy as np
import pytest
from corpus_util import CORPUS, assert_same, inputs_module, reference_module, run_entry
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.strategy import REGISTRY, OptimizationStrategy, register
from mcodec.runtime_shim.artifact import ArtifactError, write_artifact

SOFTMAX = (CORPUS / "softmax.mc").read_text()


def test_registry_has_standard_strategies_and_validates() -> None:
    assert {"numpy", "numba", "numba-par", "llvm", "mlx-cpu", "mlx-gpu"} <= set(REGISTRY)
    with pytest.raises(ValueError):
        OptimizationStrategy("bad", "bad", "cuda")
    s = register(OptimizationStrategy("numpy-test", "test-only", "numpy", memory_optimization=1))
    assert REGISTRY["numpy-test"] is s
    del REGISTRY["numpy-test"]


@pytest.mark.parametrize("name", ["crc16", "softmax", "jacobi_2d", "attention"])
def test_numpy_block_build_matches_reference(name: str) -> None:
    module = frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc")
    result = build_module(module, default="numpy")
    assert result.blocks, "every function has blocks"
    im = inputs_module(name)
    inputs = im.make_inputs("S")
    want = reference_module(name).reference(inputs)
    got = run_entry(result.program, im.ENTRY, inputs)
    for k in want:
        assert_same(got[k], want[k], name)


def test_impossible_strategy_falls_back_with_reason() -> None:
    module = frontend(SOFTMAX, "softmax.mc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        result = build_module(module, default="llvm")  # llvm lowers scalar loop nests only
    (block,) = result.blocks.values()
    assert block.built.strategy_id != "llvm"
    assert block.fallbacks and block.fallbacks[0].strategy_id == "llvm" and block.fallbacks[0].reason
    assert any("softmax.b0" in str(w.message) for w in caught)
    assert 'strategy = "' in mcodec.compiler.ir.print_module(result.module)


def _build_artifact(tmp_path: Path, name: str = "softmax") -> Path:
    src = (CORPUS / f"{name}.mc").read_text()
    result = build_module(frontend(src, f"{name}.mc"), default="numpy")
    return write_artifact(result, src, tmp_path / f"{name}.mcx", presets=CORPUS / f"{name}.py")


def test_artifact_round_trip_and_move(tmp_path: Path) -> None:
    art = _build_artifact(tmp_path)
    manifest = json.loads((art / "manifest.json").read_text())
    assert manifest["blocks"]["softmax.b0"]["strategy"] == "numpy"
    assert manifest["machine"]["fingerprint"]
    moved = shutil.move(str(art), str(tmp_path / "elsewhere.mcx"))
    prog = mcodec.load(moved)
    x = np.random.default_rng(0).random((8, 5)).astype(np.float32)
    e = np.exp(x - x.max(-1, keepdims=True))
    np.testing.assert_allclose(prog.softmax(x), e / e.sum(-1, keepdims=True), rtol=1e-5)


def test_corrupt_or_tampered_artifact_is_reported(tmp_path: Path) -> None:
    art = _build_artifact(tmp_path)
    (art / "source.mc").write_text((art / "source.mc").read_text() + "\n# edited\n")
    with pytest.raises(ArtifactError, match="does not match"):
        mcodec.load(art)
    (art / "manifest.json").write_text("{ not json")
    with pytest.raises(ArtifactError, match="corrupt manifest"):
        mcodec.load(art)


def test_cli_build_and_run_artifact(tmp_path: Path) -> None:
    out = tmp_path / "crc.mcx"
    cmd = [sys.executable, "-m", "mcodec"]
    r = subprocess.run(cmd + ["build", str(CORPUS / "crc16.mc"), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "crc16.b1" in r.stdout and (out / "manifest.json").is_file()
    r = subprocess.run(cmd + ["run", str(out), "--preset", "S"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    inputs = inputs_module("crc16").make_inputs("S")
    want = reference_module("crc16").reference(inputs)["return"]
    assert f"np.int64({int(want)})" in r.stdout
    r = subprocess.run(cmd + ["build", str(CORPUS / "crc16.mc"), "--strategy", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown strategy" in r.stderr and "Traceback" not in r.stderr


def test_rebuild_reuses_cached_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "cache"))
    src = (CORPUS / "crc16.mc").read_text()
    first = build_module(frontend(src, "crc16.mc"), default="numpy")
    assert not any(b.built.info.get("cached") for b in first.blocks.values())
    # an unrelated edit elsewhere in the file keeps the blocks' keys
    second = build_module(frontend(src + "\nfn other(x: f64) -> f64:\n    return x * 2.0\n", "crc16.mc"),
                          default="numpy")
    cached = [bid for bid, b in second.blocks.items() if b.built.info.get("cached")]
    assert set(first.blocks) <= set(cached)
    data = inputs_module("crc16").make_inputs("S")
    assert second.program.crc16(**data) == first.program.crc16(**data)


def test_a_torn_cache_entry_is_rebuilt_not_a_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache entry that cannot be read is replaced: the block is built with its
    strategy again (it fell back to NumPy, 'lowering failed: JSONDecodeError')."""
    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "cache"))
    src = (CORPUS / "crc16.mc").read_text()
    build_module(frontend(src, "crc16.mc"), default="numba", warn=False)
    entries = list((tmp_path / "cache" / "blocks").glob("*/entry.json"))
    assert entries
    for e in entries:
        e.write_text("{torn")
    again = build_module(frontend(src, "crc16.mc"), default="numba", warn=False)
    assert not again.fallbacks
    assert again.blocks["crc16.b1"].built.strategy_id == "numba"
    data = inputs_module("crc16").make_inputs("S")
    assert again.program.crc16(**data) == reference_module("crc16").reference(data)["return"]


@pytest.mark.parametrize("strategy, pattern", [("llvm", "*.so"), ("numba", "*.py")])
def test_damaged_block_files_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strategy: str,
                                        pattern: str) -> None:
    """A truncated native library killed the process loading it ('Bus error'), and a
    damaged cache entry was reused by every later build: files are checked against the
    hashes their entry records. In the cache the entry is rebuilt; in an artifact the
    load says which file and to rebuild."""
    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "cache"))
    src = (CORPUS / "crc16.mc").read_text()
    first = build_module(frontend(src, "crc16.mc"), default=strategy, warn=False)
    out = write_artifact(first, src, tmp_path / "a.mcx")
    damaged = [f for f in (tmp_path / "cache" / "blocks").rglob(pattern) if "__pycache__" not in f.parts]
    assert damaged
    for f in damaged:
        f.write_bytes(f.read_bytes()[:200])
    again = build_module(frontend(src, "crc16.mc"), default=strategy, warn=False)
    assert not any(b.built.info.get("cached") for b in again.blocks.values()) and not again.fallbacks
    data = inputs_module("crc16").make_inputs("S")
    assert again.program.crc16(**data) == reference_module("crc16").reference(data)["return"]
    lib = next(f for f in out.rglob(pattern) if "__pycache__" not in f.parts and f.parent != out)
    lib.write_bytes(lib.read_bytes()[:-7])
    with pytest.raises(ArtifactError, match="does not match the hash the build recorded"):
        mcodec.load(out)


def test_an_interrupted_cache_store_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mcodec.runtime_shim.stored_block as stored_block

    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "cache"))

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(stored_block, "store_block", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_module(frontend((CORPUS / "crc16.mc").read_text(), "crc16.mc"), default="numpy", warn=False)
    assert list((tmp_path / "cache" / "blocks").iterdir()) == []


def test_native_artifact_loads_without_compiling(tmp_path: Path) -> None:
    """A moved artifact whose loop block is native code loads in a fresh process with
    neither llvmlite nor Numba imported, and computes the reference result."""
    src = (CORPUS / "crc16.mc").read_text()
    result = build_module(frontend(src, "crc16.mc"), default="llvm", warn=False)
    assert result.blocks["crc16.b1"].built.strategy_id == "llvm"
    art = write_artifact(result, src, tmp_path / "a" / "crc16.mcx", presets=CORPUS / "crc16.py")
    moved = shutil.move(str(art), str(tmp_path / "moved.mcx"))
    want = int(reference_module("crc16").reference(inputs_module("crc16").make_inputs("S"))["return"])
    script = (
        "import sys, importlib.util\n"
        "import mcodec\n"
        f"prog = mcodec.load({moved!r})\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(Path(moved) / 'source.py')!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(int(prog.crc16(**m.make_inputs('S'))))\n"
        "print('llvmlite' in sys.modules, 'numba' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(want), "False", "False"]


@pytest.mark.parametrize(("name", "block"), [("crc16", "crc16.b1"), ("correlation", "correlation.b0"),
                                           ("floyd_warshall", "floyd_warshall.b1")])
def test_numba_artifact_loads_from_numba_cache(tmp_path: Path, name: str, block: str) -> None:
    """Numba blocks are compiled into the artifact's own cache at build time: a fresh
    process loading the moved artifact and running it gets cache hits and compiles
    nothing (also for blocks calling runtime helpers: correlation's SYRK, linked by
    symbol name, and its inlined float math intrinsics; Floyd-Warshall's outlined loop)."""
    src = (CORPUS / f"{name}.mc").read_text()
    result = build_module(frontend(src, f"{name}.mc"), default="numba", warn=False)
    assert result.blocks[block].built.strategy_id == "numba"
    art = write_artifact(result, src, tmp_path / "a" / f"{name}.mcx", presets=CORPUS / f"{name}.py")
    moved = shutil.move(str(art), str(tmp_path / "moved.mcx"))
    script = (
        "import importlib.util, mcodec\n"
        "from numba.core import event\n"
        "with event.install_recorder('numba:compile') as rec:\n"
        f"    prog = mcodec.load({moved!r})\n"
        f"    spec = importlib.util.spec_from_file_location('p', {str(Path(moved) / 'source.py')!r})\n"
        "    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"    getattr(prog, m.ENTRY)(**m.make_inputs('S'))\n"
        "for bid, b in sorted(prog.info['built'].items()):\n"
        "    d = b.info['dispatcher']\n"
        "    print(bid, len(d.stats.cache_hits), len(d.stats.cache_misses))\n"
        "print('compiles', sum(e.is_start for _, e in rec.buffer))\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert rows[-1] == ["compiles", "0"], r.stdout
    assert rows[:-1] and all(hits == "1" and misses == "0" for _, hits, misses in rows[:-1]), r.stdout


def test_build_leaves_no_scratch_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Native blocks are linked in a scratch directory that must not outlive the build
    (each in-memory build used to leave one behind in /tmp), and the program still runs."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    src = (CORPUS / "crc16.mc").read_text()
    result = build_module(frontend(src, "crc16.mc"), default="llvm", warn=False, use_cache=False)
    assert result.blocks["crc16.b1"].built.strategy_id == "llvm"
    assert list(tmp_path.iterdir()) == []
    inputs = inputs_module("crc16").make_inputs("S")
    want = int(reference_module("crc16").reference(dict(inputs))["return"])
    assert int(result.program.crc16(**inputs)) == want


def test_builds_compile_each_numba_block_once(tmp_path: Path) -> None:
    """A cold build compiles a Numba block once, from its block-cache entry, and the
    artifact it writes copies that JIT cache instead of compiling again; a rebuild of
    the unchanged program loads the block from the cache (a cache hit, not a compile);
    a fresh process loading the artifact compiles nothing either."""
    import os

    env = {**os.environ, "MCODEC_CACHE_DIR": str(tmp_path / "cache")}
    build = (
        "import sys, mcodec\n"
        "from numba.core import event\n"
        "from mcodec.compiler.build import build_module\n"
        "from mcodec.compiler.driver import frontend\n"
        "from mcodec.runtime_shim.artifact import write_artifact\n"
        f"src = open({str(CORPUS / 'crc16.mc')!r}).read()\n"
        "result = build_module(frontend(src, 'crc16.mc'), default='numba', warn=False)\n"
        "b = result.blocks['crc16.b1'].built\n"
        "d = b.info['dispatcher']\n"
        "with event.install_recorder('numba:compile') as rec:\n"
        f"    write_artifact(result, src, __import__('pathlib').Path({str(tmp_path / 'crc16.mcx')!r}))\n"
        "blocks = [e for _, e in rec.buffer if e.is_start and e.data['dispatcher'].py_func.__name__.startswith('blk_')]\n"
        "print(b.strategy_id, b.origin is not None, len(d.stats.cache_hits), len(d.stats.cache_misses), len(blocks))\n"
    )
    runs = [subprocess.run([sys.executable, "-c", build], capture_output=True, text=True, env=env) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert runs[0].stdout.split() == ["numba", "True", "0", "1", "0"]  # cold: compiled once, in its cache entry
    assert runs[1].stdout.split() == ["numba", "True", "1", "0", "0"]  # cached: loaded, no compile
    assert _jit_cache_stats(tmp_path / "crc16.mcx", "crc16.b1", env) == ["1", "0"]


def _jit_cache_stats(artifact: Path, block_id: str, env: dict[str, str]) -> list[str]:
    """Numba's cache hits and misses for a block when a fresh process loads `artifact`."""
    load = (
        "import mcodec\n"
        f"prog = mcodec.load({str(artifact)!r})\n"
        f"d = prog.info['built'][{block_id!r}].info['dispatcher']\n"
        "print(len(d.stats.cache_hits), len(d.stats.cache_misses))\n"
    )
    r = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_cached_rebuild_writes_the_artifact_without_starting_numba(tmp_path: Path) -> None:
    """`mcodec build` of an unchanged program takes its blocks from the block cache
    without loading them: Numba is never imported (that and loading the blocks were
    most of a cached build's time), and the artifact still loads from the JIT cache
    copied with each block, compiling nothing."""
    import os

    env = {**os.environ, "MCODEC_CACHE_DIR": str(tmp_path / "cache")}
    art = tmp_path / "crc16.mcx"
    build = (
        "import sys\n"
        "from mcodec.compiler.cli import main\n"
        f"main(['build', {str(CORPUS / 'crc16.mc')!r}, '--strategy', 'numba', '-q', '-o', {str(art)!r}])\n"
        "print('numba' in sys.modules)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", build], capture_output=True, text=True, env=env) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert [r.stdout.split() for r in runs] == [["True"], ["False"]]  # cold compiles; cached does not
    assert _jit_cache_stats(art, "crc16.b1", env) == ["1", "0"]
    # a cache entry that lost its JIT cache: the build warms the artifact's own instead
    for d in (tmp_path / "cache" / "blocks").glob("*/blocks/__pycache__"):
        shutil.rmtree(d)
    r = subprocess.run([sys.executable, "-c", build], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.split() == ["True"], r.stderr
    assert _jit_cache_stats(art, "crc16.b1", env) == ["1", "0"]


def test_block_that_numba_cannot_compile_falls_back_and_leaves_no_cache_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Numba block that fails to compile from its cache entry (here: generated code
    broken on purpose) falls back to the next back end with Numba's reason, and its
    entry is removed, so no later build loads it."""
    from mcodec.compiler.backends.numba_backend import NumbaBackend

    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "cache"))
    real = NumbaBackend.lower_source

    def broken(self, block, strategy):  # noqa: ANN001, ANN202
        built = real(self, block, strategy)
        built.source = built.source.replace("    return (", "    undefined_name_\n    return (", 1)
        return built

    monkeypatch.setattr(NumbaBackend, "lower_source", broken)
    src = (CORPUS / "crc16.mc").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        result = build_module(frontend(src, "crc16.mc"), default="numba")
    block = result.blocks["crc16.b1"]
    assert block.built.strategy_id != "numba"
    assert any(f.strategy_id == "numba" and "numba could not compile" in f.reason for f in block.fallbacks)
    entries = [p for p in (tmp_path / "cache" / "blocks").iterdir() if (p / "entry.json").is_file()]
    assert all(json.loads((p / "entry.json").read_text())["strategy"] != "numba" for p in entries)
    data = inputs_module("crc16").make_inputs("S")
    assert result.program.crc16(**data) == reference_module("crc16").reference(data)["return"]


@pytest.mark.parametrize("strategy", ["numpy", "numba"])
def test_run_time_errors_say_which_block_and_lines(tmp_path: Path, strategy: str) -> None:
    """A shape mismatch found at run time names the block and its source lines (the
    back end's own message names none), in the API's exception and in `mcodec run`."""
    src = "fn f(x: f64[N], y: f64[M]) -> f64[N]:\n    let z = x * 2.0\n    return z + y\n"
    result = build_module(frontend(src, "bc.mc"), default=strategy, warn=False)
    with pytest.raises(ValueError) as info:
        result.program.f(np.ones(3), np.ones(5))
    if sys.version_info >= (3, 11):
        assert info.value.__notes__ == ["in block f.b0, lines 2-3"]
    (tmp_path / "bc.mc").write_text(src)
    (tmp_path / "bc.py").write_text('import numpy as np\nENTRY = "f"\nPRESETS = {"S": 1}\n'
                                    'def make_inputs(preset, seed=0):\n    return {"x": np.ones(3), "y": np.ones(5)}\n')
    cmd = [sys.executable, "-m", "mcodec"]
    env = {**os.environ, "MCODEC_CACHE_DIR": str(tmp_path / "cache")}
    art = tmp_path / "bc.mcx"
    assert subprocess.run(cmd + ["build", str(tmp_path / "bc.mc"), "--strategy", strategy, "-o", str(art)],
                          env=env, capture_output=True).returncode == 0
    for target in (art, tmp_path / "bc.mc"):  # a built artifact, and a program run by the reference
        r = subprocess.run(cmd + ["run", str(target)], env=env, capture_output=True, text=True)
        assert r.returncode != 0 and "run-time error: ValueError" in r.stderr and "Traceback" not in r.stderr
        if sys.version_info >= (3, 11):
            assert "(in block f.b0, lines 2-3)" in r.stderr


def test_jit_cacheable_tells_code_numba_cannot_cache() -> None:
    """The detector behind `jit_cacheable` (checked for every Numba block in the
    corpus and hold-out tests, and a build warning): code that embeds an address, as
    numba.get_num_threads() does in jitted code, cannot go to Numba's on-disk cache."""
    import numba
    from mcodec.compiler.backends.numba_backend import jit_cacheable
    from mcodec.runtime_shim.numba_threads import num_threads

    pointer = numba.njit(lambda: numba.get_num_threads())
    symbol = numba.njit(lambda: num_threads())
    assert pointer() == symbol() == numba.get_num_threads()
    assert not jit_cacheable(pointer) and jit_cacheable(symbol)
