#!/usr/bin/env python
"""Time from process start to first result: a built mcodec artifact (per --strategies)
against Numba `njit(cache=True)` of the same program, each with a warm on-disk cache.
Medians of --repeat fresh processes, after one run that warms the caches.

The Numba side is the automatic port of the program's NumPy reference
(tests/corpus_reference/NAME.py, rewritten by tests/bench/peers.py) where Numba accepts
it, and a hand-written port where tests/bench/numba_ports/NAME.py exists. Each process
builds the preset's inputs the same way; the warm-up run's result is checked against
the NumPy reference ("n/a": it did not run; "wrong": it gave another answer).

    .venv/bin/python tests/bench/bench_startup.py
    .venv/bin/python tests/bench/bench_startup.py --programs crc16,gemm,jacobi_2d --repeat 3
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = ROOT / "corpus"
HAND_PORTS = HERE / "numba_ports"
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from corpus_util import inputs_module, reference_module  # noqa: E402
from peers import ARG_PREFIX, Peer, PortError, check_result, write_port  # noqa: E402

PRELUDE = '''
import os, sys
sys.path.insert(0, {tests!r})
from corpus_util import inputs_module
inputs = inputs_module({name!r}).make_inputs({preset!r})
'''
# a port is imported as a registered module: Numba's cache finds its functions by module
LOAD_PORT = '''
import importlib.util
def load_port(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
'''
EPILOGUE = '''
import numpy as np
dump = os.environ.get("MCODEC_STARTUP_DUMP")
if dump:
    import pickle
    with open(dump, "wb") as f:
        pickle.dump(result, f)
flat = lambda v: v if isinstance(v, tuple) else (v,)
print(" ".join(f"{{k}}=" + "/".join(f"{{np.asarray(x).sum():.6g}}" for x in flat(v)) for k, v in result.items()))
'''


@dataclass
class Runner:
    program: str
    label: str
    script: str = ""  # empty: n/a
    status: str = "ok"
    reason: str = ""
    loose: bool = False  # reassociating compilation: compare with the fast-math tolerance
    seconds: float | None = None
    out: str = ""


def prelude(name: str, preset: str) -> str:
    return PRELUDE.format(tests=str(HERE.parent), name=name, preset=preset)


def artifact_runner(name: str, preset: str, strategy: str, tmp: Path) -> Runner:
    from mcodec.compiler.strategy import get

    r = Runner(name, f"mcodec artifact ({strategy})", loose=get(strategy).jit_level >= 2)
    art = tmp / f"{name}-{strategy}.mcx"
    built = subprocess.run([sys.executable, "-m", "mcodec", "build", str(CORPUS / f"{name}.mc"), "-o", str(art),
                            "--strategy", strategy, "-q"], capture_output=True, text=True)
    if built.returncode:
        r.status, r.reason = "n/a", "build failed: " + (built.stderr.strip().splitlines() or ["?"])[-1]
        return r
    entry = inputs_module(name).ENTRY
    r.script = (prelude(name, preset) + "import mcodec\nfrom corpus_util import run_entry\n"
                f"result = run_entry(mcodec.load({str(art)!r}), {entry!r}, inputs)\n" + EPILOGUE.format())
    return r


def auto_port_runner(name: str, preset: str, tmp: Path) -> Runner:
    r = Runner(name, "numba njit(cache=True) of the reference")
    try:
        path, spec = write_port(name, tmp, cache=True)
    except PortError as e:
        r.status, r.reason = "n/a", f"no automatic port: {e}"
        return r
    r.script = (prelude(name, preset) + LOAD_PORT + f"port = load_port({str(path)!r}, {path.stem!r})\n"
                f"kwargs = {{{ARG_PREFIX!r} + k: inputs[k] for k in {spec.params!r} if k in inputs}}\n"
                f"result = dict(zip({spec.outputs!r}, port.reference(**kwargs)))\n" + EPILOGUE.format())
    return r


def hand_port_runner(name: str, preset: str, tmp: Path) -> Runner | None:
    """The hand port, copied to `tmp` so that its Numba cache starts empty there."""
    if not (HAND_PORTS / f"{name}.py").is_file():
        return None
    path = tmp / f"{name}_hand_port.py"
    shutil.copyfile(HAND_PORTS / f"{name}.py", path)
    return Runner(name, "numba hand port (cache=True)",
                  prelude(name, preset) + LOAD_PORT
                  + f"result = load_port({str(path)!r}, 'hand_port_{name}').reference(inputs)\n" + EPILOGUE.format())


def baseline_runner(name: str, preset: str) -> Runner:
    """Python, NumPy and the inputs alone: what every runner pays before its own work."""
    return Runner(name, "python + numpy + inputs (baseline)",
                  prelude(name, preset) + "result = {}\n" + EPILOGUE.format())


def short_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "failed")[:110]


def warm_and_check(r: Runner, want: dict[str, Any], tmp: Path) -> None:
    """The cache-warming run; its result must match the NumPy reference."""
    dump = tmp / "result.pkl"
    dump.unlink(missing_ok=True)
    p = subprocess.run([sys.executable, "-c", r.script], capture_output=True, text=True,
                       env={**os.environ, "MCODEC_STARTUP_DUMP": str(dump)})
    if p.returncode:
        r.status, r.reason = "n/a", short_error(p.stderr)
        return
    got = pickle.loads(dump.read_bytes())
    if not got:  # the baseline computes nothing
        return
    peer = Peer(r.label)
    check_result(peer, got, want, r.loose)
    r.status, r.reason = peer.status, peer.reason


def time_runner(r: Runner, want: dict[str, Any], repeat: int, tmp: Path) -> Runner:
    if r.status != "ok":
        return r
    warm_and_check(r, want, tmp)
    if r.status != "ok":
        return r
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", r.script], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
        r.out = p.stdout.strip()
    r.seconds = statistics.median(times)
    return r


def runners(name: str, preset: str, strategies: list[str], tmp: Path) -> list[Runner]:
    out = [baseline_runner(name, preset)]
    out += [artifact_runner(name, preset, s, tmp) for s in strategies]
    out.append(auto_port_runner(name, preset, tmp))
    hand = hand_port_runner(name, preset, tmp)
    return out + ([hand] if hand else [])


def print_table(rows: list[Runner], preset: str, repeat: int) -> None:
    head = f"{'program':<14}{'process start -> first result':<44}{'seconds':>9}  result"
    print(f"preset {preset}; median of {repeat} fresh processes with warm caches")
    print(head)
    print("-" * len(head))
    for r in rows:
        secs = f"{r.seconds:9.3f}" if r.seconds is not None else f"{r.status:>9}"
        shown = r.out if r.status == "ok" else r.reason
        print(f"{r.program:<14}{r.label:<44}{secs}  {shown[:90]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--programs", default="crc16", help="comma-separated corpus names (default crc16)")
    ap.add_argument("--preset", default="S")
    ap.add_argument("--strategies", default="llvm,numba", help="artifact strategies (default llvm,numba)")
    args = ap.parse_args()
    strategies = [s for s in args.strategies.split(",") if s]
    rows: list[Runner] = []
    with tempfile.TemporaryDirectory(prefix="mcodec-startup-") as tmp:
        for name in [n for n in args.programs.split(",") if n]:
            want = reference_module(name).reference(inputs_module(name).make_inputs(args.preset))
            for r in runners(name, args.preset, strategies, Path(tmp)):
                print(f"  {name}: {r.label}", file=sys.stderr, flush=True)
                rows.append(time_runner(r, want, args.repeat, Path(tmp)))
    print_table(rows, args.preset, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
