"""The profile-guided loop with real timings: profiles recorded per block, the policy
retrained on them, and the next build choosing differently. Only directions that
cannot flake are asserted (a compiled scalar loop beats the NumPy lowering by far)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mcodec.compiler.annotate import annotate_dot, annotate_json, annotate_text
from mcodec.compiler.build import build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.optimize import decide, live_block_sigs, train_from_store
from mcodec.compiler.pgo import profile_program
from mcodec.compiler.strategy import REGISTRY
from mcodec.passes.policy import ReinforcementLearner
from mcodec.runtime_shim.profile_store import ProfileRecord, ProfileStore

LOOP = """\
fn count(x: f64[N]) -> f64:
    let s = 0.0
    for i in range(N):
        let v = x[i]
        if v > 0.5:
            s += v * v
        else:
            s -= v
    return s
"""
INPUTS = """\
import numpy as np
ENTRY = "count"
PRESETS = {"S": {"N": 30000}}
def make_inputs(preset, seed=0):
    return {"x": np.random.default_rng(seed).random(PRESETS[preset]["N"])}
"""


@pytest.fixture()
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "count.mc").write_text(LOOP)
    (tmp_path / "count.py").write_text(INPUTS)
    return tmp_path / "count.mc"


def _inputs_module(path: Path):  # noqa: ANN202
    from mcodec.compiler.cli import load_inputs_module

    return load_inputs_module(path)


def _loop_block(decisions):  # noqa: ANN001, ANN202
    return next(d for d in decisions if d.kind == "loop")


def test_pgo_moves_a_wrong_prior_choice(program: Path, tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.sqlite3")
    fresh = ReinforcementLearner(REGISTRY.values())  # knows nothing: NumPy everywhere
    _, before = decide(frontend(LOOP, "count.mc"), fresh)
    assert _loop_block(before).chosen == "numpy"
    compiled = [s for s in ("llvm", "numba") if s in REGISTRY]
    rounds = profile_program(program, _inputs_module(program), "S", rounds=len(compiled), runs=2,
                             store=store, plans=compiled, save=False, log=open(os.devnull, "w"))
    assert rounds[0]["plan"]["count.b1"] == "numpy"
    assert store.count() >= 2 * len(rounds)
    learner = ReinforcementLearner(REGISTRY.values())
    assert train_from_store(learner, store) > 0
    _, after = decide(frontend(LOOP, "count.mc"), learner, store=store)
    loop = _loop_block(after)
    assert loop.chosen != "numpy", loop
    assert loop.measured["numpy"] > loop.measured[loop.chosen]


def test_a_blocks_own_measurements_choose_its_strategy(tmp_path: Path) -> None:
    """Where the store timed this very block under several candidate strategies, the
    build takes the fastest measured one, whatever the model predicts; the times used
    are those at the block's largest profiled inputs."""
    module = frontend(LOOP, "count.mc")
    loop_sid = next(op for op in module.functions["count"].body.ops if op.attrs.get("kind") == "loop").attrs["sid"]
    store = ProfileStore(tmp_path / "profiles.sqlite3")

    def runs(shape: list[int], times: dict[str, float]) -> list[ProfileRecord]:
        return [ProfileRecord(program_sig="p", block_id="count.b1", block_sig=loop_sid, strategy_id=s,
                              shapes={"x": shape}, dtypes={"x": "float64"}, seconds=t, success=True)
                for s, t in times.items() for _ in range(3)]

    # small inputs rank numba first; the larger ones (what counts) rank llvm first
    store.record(runs([100], {"numpy": 1e-3, "numba": 1e-6, "llvm": 5e-6}))
    store.record(runs([100000], {"numpy": 1e-1, "numba": 2e-4, "llvm": 1e-4}))
    fresh = ReinforcementLearner(REGISTRY.values())  # predicts nothing: NumPy everywhere
    _, decisions = decide(module, fresh, store=store)
    loop = _loop_block(decisions)
    assert loop.chosen == "llvm" and loop.from_profiles
    assert loop.measured == {"numpy": 1e-1, "numba": 2e-4, "llvm": 1e-4}
    assert "measured fastest" in annotate_text(build_module(module, {loop.block_id: loop.chosen}, warn=False),
                                               decisions, [])
    _, unprofiled = decide(frontend(LOOP, "count.mc"), fresh)
    assert _loop_block(unprofiled).chosen == "numpy" and not _loop_block(unprofiled).from_profiles


def test_measured_and_predicted_times_compare_on_the_blocks_numpy_time() -> None:
    """A strategy no round explored is judged by its predicted speedup over the block's
    measured NumPy time, so one measured alternative does not hide a better unmeasured
    one; an unbacked prediction (a strategy nothing measured anywhere) is not used."""
    from math import log

    from mcodec.compiler.optimize import _profile_guided

    ok = ["numpy", "numba", "mlx-cpu"]
    preds = {"numba": log(10.0), "mlx-cpu": 0.0}
    backed = {"numpy", "numba", "mlx-cpu"}
    assert _profile_guided("numba", ok, {"numpy": 1.0, "mlx-cpu": 0.5}, preds, {}, backed) == ("numba", False)
    assert _profile_guided("numba", ok, {"numpy": 1.0, "mlx-cpu": 0.05}, preds, {}, backed) == ("mlx-cpu", True)
    assert _profile_guided("numba", ok, {"numpy": 1.0, "mlx-cpu": 0.5}, preds, {}, {"numpy", "mlx-cpu"}) \
        == ("mlx-cpu", True)
    assert _profile_guided("numba", ok, {"mlx-cpu": 0.5}, preds, {}, backed) == ("numba", False)
    assert _profile_guided("numba", ok, {"numba": 0.5, "mlx-cpu": 0.4}, preds, {}, backed) == ("mlx-cpu", True)


def test_profiles_survive_unrelated_edits(program: Path, tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.sqlite3")
    profile_program(program, _inputs_module(program), "S", rounds=0, runs=1, store=store, save=False,
                    log=open(os.devnull, "w"))
    edited = "fn helper(a: f64) -> f64:\n    return a + 1.0\n\n" + LOOP.replace("let v", "let value").replace("v ", "value ").replace("v\n", "value\n")
    module = frontend(edited, "count.mc")
    live = live_block_sigs(module)
    profiled = {r["block_sig"] for r in store.summary()}
    assert profiled <= live, "renames and a new function keep every block's signature"
    assert store.stale(live) == []
    assert store.stale({"unrelated"}) == sorted(profiled)


def _normalize(text: str) -> str:
    return re.sub(r"decided in [0-9.]+ ms", "decided in X ms", text)


def test_annotated_ir_golden_and_formats() -> None:
    module = frontend(LOOP, "count.mc")
    plan, decisions = decide(module, ReinforcementLearner(REGISTRY.values()))
    result = build_module(module, plan, warn=False)
    text = _normalize(annotate_text(result, decisions, ["a note"]))
    golden = Path(__file__).parent / "golden_annotated" / "count.txt"
    if os.environ.get("MCODEC_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
    assert '"decisions"' in annotate_json(result, decisions, [])
    dot = annotate_dot(result, decisions)
    assert dot.startswith("digraph") and '"count.b0" -> "count.b1"' in dot


def test_cli_profile_show_and_optimize(program: Path, tmp_path: Path) -> None:
    env = {**os.environ, "MCODEC_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "mcodec"]
    r = subprocess.run(cmd + ["profile", str(program), "--rounds", "1", "--runs", "1"], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "round 0/1" in r.stderr
    r = subprocess.run(cmd + ["profile", "--show", str(program)], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "count.b1" in r.stdout, r.stdout + r.stderr
    out = tmp_path / "count.mcx"
    r = subprocess.run(cmd + ["build", "--optimize", str(program), "-o", str(out), "--emit-ir"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "// block count.b1 (loop)" in r.stdout and "retrained on" in r.stdout
    assert (out / "annotated-ir.txt").is_file()
    before = ProfileStore(tmp_path / "cache" / "profiles.sqlite3").count()
    r = subprocess.run(cmd + ["run", str(out), "--profile", "--repeat", "2"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "profiled" in r.stdout, r.stderr
    assert ProfileStore(tmp_path / "cache" / "profiles.sqlite3").count() > before


def test_profile_an_entry_named_like_a_program_attribute(tmp_path: Path) -> None:
    """An entry called `info` is the program's entry, not Program.info."""
    (tmp_path / "kw.mc").write_text("fn info(x: f64[N]) -> f64:\n    return sum(x)\n")
    (tmp_path / "kw.py").write_text('import numpy as np\nENTRY = "info"\nPRESETS = {"S": 1}\n'
                                     'def make_inputs(preset, seed=0):\n    return {"x": np.arange(1000.0)}\n')
    env = {**os.environ, "MCODEC_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "mcodec", "profile", str(tmp_path / "kw.mc"), "--rounds", "1",
                        "--runs", "1"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "round 1/1" in r.stderr and "best round" in r.stdout


def test_profile_quiet_prints_nothing(program: Path, tmp_path: Path) -> None:
    env = {**os.environ, "MCODEC_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "mcodec", "profile", "-q", str(program), "--rounds", "1", "--runs", "1"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    assert ProfileStore(tmp_path / "cache" / "profiles.sqlite3").count() > 0  # it profiled all the same


@pytest.mark.parametrize("damage", ["foreign", "features", "file"])
def test_profile_never_saves_over_a_policy_it_cannot_read(program: Path, tmp_path: Path, damage: str) -> None:
    """A user policy that cannot be used (here: a newer format, another feature set, or
    a file where the directory goes) is moved aside with a note, not overwritten by the
    retrained one."""
    cache = tmp_path / "cache"
    policy = cache / "policy"
    cache.mkdir()
    if damage == "file":
        policy.write_text("not a policy\n")
    else:
        ReinforcementLearner(REGISTRY.values()).save(policy)
        meta = policy / "policy.json"
        if damage == "foreign":
            meta.write_text(meta.read_text().replace('"format_version": 1', '"format_version": 99'))
        else:  # trained on another feature set (another mcodec): loadable, but not used
            meta.write_text(meta.read_text().replace('"n_features": null', '"n_features": 3'))
    def contents(d: Path) -> dict[str, bytes]:
        return {"": d.read_bytes()} if d.is_file() else {p.name: p.read_bytes() for p in d.iterdir()}

    original = contents(policy)
    env = {**os.environ, "MCODEC_CACHE_DIR": str(cache)}
    r = subprocess.run([sys.executable, "-m", "mcodec", "profile", str(program), "--rounds", "0", "--runs", "1"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    (aside,) = cache.glob("policy.unusable-*")
    assert "moved to" in r.stderr and str(aside) in r.stderr
    assert contents(aside) == original
    assert (policy / "policy.json").is_file()  # the retrained policy, saved in its place


def test_training_weighs_runs_by_their_block_share_of_program_time(tmp_path: Path) -> None:
    from mcodec.passes.features import FEATURE_NAMES
    from mcodec.runtime_shim.profile_store import ProfileRecord

    store = ProfileStore(tmp_path / "profiles.sqlite3")
    feats = [0.0] * len(FEATURE_NAMES)
    recs = []
    for block, numpy_s in (("f.b0", 9.0), ("f.b1", 1.0)):  # b0: 90% of the program's NumPy time
        for sid, secs in (("numpy", numpy_s), ("numba", numpy_s / 2)):
            recs.append(ProfileRecord(program_sig="p", block_id=block, block_sig=f"sig-{block}", strategy_id=sid,
                                      shapes={"x": [4]}, dtypes={"x": "float64"}, seconds=secs, success=True,
                                      features=feats))
    store.record(recs)
    flat = ReinforcementLearner(REGISTRY.values(), time_weight=0.0)
    assert train_from_store(flat, store) == 4 and set(flat.weights) == {1.0}
    learner = ReinforcementLearner(REGISTRY.values(), time_weight=0.5)
    assert train_from_store(learner, store) == 4
    assert sum(learner.weights) == pytest.approx(4.0)  # mean weight 1
    assert max(learner.weights) / min(learner.weights) == pytest.approx(3.0)  # sqrt(0.9 / 0.1)


def test_release_builds_choose_only_measured_strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A strategy no profile has measured (registered after the prior was trained) has an
    untrained, meaningless prediction: release builds never pick it on that; exploring
    builds may, which is how it gets measured."""
    import random

    from mcodec.compiler.stitch import block_views
    from mcodec.compiler.strategy import OptimizationStrategy
    from mcodec.passes.features import feature_vector
    from mcodec.runtime_shim.hardware import machine

    module = frontend(LOOP, "count.mc")
    learner = ReinforcementLearner([REGISTRY["numpy"], REGISTRY["numba"]])
    for fn in module.functions.values():
        for view in block_views(fn):  # numba measured slower than NumPy: its predictions < 0
            x = feature_vector(view, machine())
            learner.remember(x, "numpy", 0.0)
            learner.remember(x, "numba", -1.0)
    learner.learn()
    new = OptimizationStrategy("numpy-unmeasured", "test-only", "numpy", memory_optimization=1)
    monkeypatch.setitem(REGISTRY, new.strategy_id, new)
    learner.register_strategy(new)
    plan, decisions = decide(module, learner)
    assert plan and all(s == "numpy" for s in plan.values()), plan
    assert all("numpy-unmeasured" in d.predicted for d in decisions)  # still shown as an alternative
    explored = {d.chosen for seed in range(200) for d in decide(module, learner, explore=True, rng=random.Random(seed))[1]}
    assert "numpy-unmeasured" in explored


def test_time_entry_copies_inputs_outside_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each timed call gets its own copy of the inputs (an inout entry mutates it), and
    the copy is made before the clock starts: with a fake clock that a copy advances by
    1000 and each reading by 0.5, every call takes exactly 0.5."""
    import copy as copy_module

    import numpy as np
    from mcodec import compile_source
    from mcodec.compiler import pgo

    program = compile_source("fn bump(inout x: f64[N]) -> f64:\n    x += 1.0\n    return x[0]\n")
    clock = [0.0]
    real_deepcopy = copy_module.deepcopy

    def slow_copy(obj, memo=None):  # noqa: ANN001, ANN202
        clock[0] += 1000.0
        return real_deepcopy(obj, memo)

    def tick() -> float:
        clock[0] += 0.5
        return clock[0]

    monkeypatch.setattr(pgo.copy, "deepcopy", slow_copy)
    monkeypatch.setattr(pgo.time, "perf_counter", tick)
    inputs = {"x": np.zeros(3)}
    assert pgo.time_entry(program, "bump", inputs, 3) == [0.5, 0.5, 0.5]
    assert not inputs["x"].any()  # the caller's arrays are never written


def test_block_time_is_the_median_of_its_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A profiled block's time is the median of its per-run times: one run that stalled
    (on fresh pages' faults, on another process) does not move it, where it would have
    moved a mean by a third; a block a run did not call counts 0 in that run."""
    from mcodec.runtime_shim import profiling

    now = [0.0]
    monkeypatch.setattr(profiling.time, "perf_counter", lambda: now[0])
    timer = profiling.BlockTimer()

    def block(cost: float) -> None:
        now[0] += cost

    costs = {"b0": [1.0, 1.0, 9.0], "b1": [2.0, 0.0, 2.0], "b2": [0.0, 0.0, 5.0]}
    calls = {b: timer.wrap(b, block) for b in costs}
    for run in range(3):
        for b, c in costs.items():
            if c[run]:
                calls[b](c[run])
        timer.end_run()
    assert timer.per_run("b0", 3) == 1.0 and timer.per_run("b1", 3) == 2.0 and timer.per_run("b2", 3) == 0.0
    timer.reset()
    calls["b0"](6.0)  # runs not closed: the mean over the runs the caller names
    assert timer.per_run("b0", 3) == 2.0
