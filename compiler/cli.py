"""The `mcodec` command line: check, ir, run (and, with the back ends, build).

Exit codes: 0 success, 1 the program has errors, 2 bad command-line usage,
3 a run-time failure (bad inputs, an error while running the program)."""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from mcodec import __version__

from .diagnostics import CompileError

EXIT_COMPILE, EXIT_USAGE, EXIT_RUNTIME = 1, 2, 3


class UsageError(Exception):
    pass


def _read(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        return p.read_text()
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a UTF-8 text file") from None


def load_inputs_module(program: Path) -> ModuleType:
    """The preset module beside a program: `prog.py` next to `prog.mc`."""
    path = program.with_suffix(".py")
    if not path.is_file():
        raise UsageError(f"{program}: no preset inputs module {path.name} beside it "
                         "(it defines ENTRY, PRESETS and make_inputs(preset, seed))")
    spec = importlib.util.spec_from_file_location(f"mcodec_inputs_{program.stem}", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def describe(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ")"
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return f"{value.dtype}{list(value.shape)} (empty)"
        finite = value[np.isfinite(value)] if value.dtype.kind in "fc" else value
        stats = ""
        if finite.size and value.dtype.kind in "iufb":
            stats = f" min={finite.min():.6g} max={finite.max():.6g} mean={finite.astype(np.float64).mean():.6g}"
        return f"{value.dtype}{list(value.shape)}{stats}"
    if value is None:
        return "none"
    return f"{np.asarray(value).dtype} {value!r}"


def cmd_check(args: argparse.Namespace) -> int:
    from .driver import frontend

    for path in args.files:
        module = frontend(_read(path), path)
        if args.verbose:
            for fn in module.functions.values():
                print(fn.signature_text)
        if not args.quiet:
            print(f"{path}: ok ({len(module.functions)} function{'s' if len(module.functions) != 1 else ''})")
    return 0


def cmd_ir(args: argparse.Namespace) -> int:
    from .driver import default_passes, frontend
    from .ir import print_module

    passes = [] if args.raw else default_passes()
    module = frontend(_read(args.file), args.file, passes=passes)
    text = print_module(module, with_locs=not args.no_locs)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    import json
    import warnings

    from mcodec.runtime_shim.artifact import write_artifact

    from .build import BuildWarning, build_module
    from .driver import frontend

    src_path = Path(args.file)
    source = _read(args.file)
    module = frontend(source, args.file)
    plan: dict[str, str] = {}
    if args.plan:
        try:
            plan = json.loads(Path(args.plan).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise UsageError(f"{args.plan}: cannot read plan ({e})") from None
        if not isinstance(plan, dict):
            raise UsageError(f"{args.plan}: a plan is a JSON object of block id -> strategy id")
    from .strategy import REGISTRY

    for sid in [args.strategy, *plan.values()]:
        if sid not in REGISTRY:
            raise UsageError(f"unknown strategy {sid!r}; known: {', '.join(REGISTRY)}")
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        result = build_module(module, plan, default=args.strategy, use_cache=not args.no_cache)
    out = Path(args.output or src_path.with_suffix(".mcx").name)
    write_artifact(result, source, out, presets=src_path.with_suffix(".py"))
    for w in caught:
        print(f"mcodec: warning: {w.message}", file=sys.stderr)
    if not args.quiet:
        print(f"built {out} in {time.perf_counter() - t0:.2f} s")
        rows = [("block", "kind", "requested", "strategy", "note")]
        for b in result.blocks.values():
            note = b.fallbacks[0].reason if b.fallbacks else ("cached" if b.built.info.get("cached") else "")
            rows.append((b.block_id, b.kind, b.requested, b.built.strategy_id, note[:60]))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            print("  " + "  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + ("  " + r[4] if r[4] else ""))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import mcodec

    path = Path(args.program)
    if path.is_dir():
        program = mcodec.load(path)
        presets = path / "source.py"
        inputs_mod = load_inputs_module(path / "source.mc") if presets.is_file() else None
        if inputs_mod is None:
            raise UsageError(f"{path}: the artifact holds no preset inputs module")
    elif path.suffix == ".mc":
        program = mcodec.compile_file(path)
        inputs_mod = load_inputs_module(path)
    else:
        raise UsageError(f"{path}: expected an .mc program or an artifact directory")
    entry = args.entry or getattr(inputs_mod, "ENTRY", None)
    if entry is None:
        raise UsageError("no --entry given and the preset module names no ENTRY")
    presets = getattr(inputs_mod, "PRESETS", {})
    if args.preset not in presets:
        raise UsageError(f"unknown preset {args.preset!r}; available: {', '.join(presets)}")
    fn = getattr(program, entry) if entry in program.entries else None
    if fn is None:
        raise UsageError(f"no entry '{entry}'; entries: {', '.join(program.entries)}")
    times = []
    result = None
    for i in range(args.repeat):
        inputs = inputs_mod.make_inputs(args.preset, seed=args.seed)
        t0 = time.perf_counter()
        result = fn(**inputs)
        times.append(time.perf_counter() - t0)
        if args.verbose:
            print(f"  run {i + 1}/{args.repeat}: {times[-1] * 1e3:.2f} ms", file=sys.stderr)
    print(f"{path.name} {entry} preset {args.preset}: median {statistics.median(times) * 1e3:.2f} ms "
          f"over {len(times)} run(s)")
    print(f"  result: {describe(result)}")
    for p in program.entries[entry].fn.params:
        if p.inout:
            print(f"  inout {p.name}: {describe(inputs[p.name])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mcodec", description="Ahead-of-time optimizing compiler for M-CODE.")
    ap.add_argument("--version", action="version", version=f"mcodec {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-v", "--verbose", action="store_true", help="say more")
        p.add_argument("-q", "--quiet", action="store_true", help="print only errors")

    p = sub.add_parser("check", help="parse and type-check programs")
    p.add_argument("files", nargs="+", metavar="FILE.mc")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("ir", help="print the program's IR (MLIR-like text)")
    p.add_argument("file", metavar="FILE.mc")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--raw", action="store_true", help="before canonicalization and partitioning")
    p.add_argument("--no-locs", action="store_true", help="omit source locations")
    common(p)
    p.set_defaults(func=cmd_ir)

    p = sub.add_parser("build", help="build an artifact directory (strategy per block, fallbacks shown)")
    p.add_argument("file", metavar="FILE.mc")
    p.add_argument("-o", "--output", help="artifact directory (default: FILE.mcx)")
    p.add_argument("--strategy", default="numpy", help="strategy for every block (default numpy)")
    p.add_argument("--plan", help="JSON file mapping block ids to strategy ids")
    p.add_argument("--no-cache", action="store_true", help="rebuild every block (ignore the block cache)")
    common(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="run an entry on preset inputs and summarize the result")
    p.add_argument("program", metavar="FILE.mc|ARTIFACT")
    p.add_argument("--entry", help="entry function (default: the preset module's ENTRY)")
    p.add_argument("--preset", default="S", help="input size preset (default S)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1, help="runs to time (median is shown)")
    common(p)
    p.set_defaults(func=cmd_run)
    return ap


def main(argv: list[str] | None = None) -> int:
    import mcodec
    from mcodec.runtime_shim.artifact import ArtifactError

    ap = build_parser()
    args = ap.parse_args(argv)
    if not getattr(args, "func", None):
        ap.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except CompileError as e:
        print(str(e), file=sys.stderr)
        return EXIT_COMPILE
    except UsageError as e:
        print(f"mcodec: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ArtifactError as e:
        print(f"mcodec: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except mcodec.ArgumentError as e:
        print(f"mcodec: error: {e}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print("mcodec: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an error raised by the running program (e.g. an index out of range)
        if getattr(args, "verbose", False):
            raise
        print(f"mcodec: run-time error: {type(e).__name__}: {e} (use -v for the traceback)", file=sys.stderr)
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
