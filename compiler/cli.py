"""The `mcodec` command line: check, ir, run (and, with the back ends, build).

Exit codes: 0 success, 1 the program has errors, 2 bad command-line usage,
3 a run-time failure (bad inputs, an error while running the program)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from mcodec import __version__

from .diagnostics import CompileError, Diagnostic, Span

EXIT_COMPILE, EXIT_USAGE, EXIT_RUNTIME = 1, 2, 3


class UsageError(Exception):
    pass


class RunError(Exception):
    """A failure outside the program's code that the user can act on (the preset module,
    a state file): reported in one line, exit 3."""


def _read(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path}: is a directory, not an M-CODE program")
    if not p.exists():
        raise UsageError(f"{path}: no such file")
    try:
        data = p.read_bytes()  # (a FIFO or /dev/null reads as it would for any compiler)
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return data.decode()
    except UnicodeDecodeError as e:  # an error in the program, at the byte: a pasted Latin-1 letter
        raise _not_utf8(data, e, path) from None


def _not_utf8(data: bytes, e: UnicodeDecodeError, path: str) -> CompileError:
    before = data[:e.start]
    line = before.count(b"\n") + 1
    col = len(before[before.rfind(b"\n") + 1:].decode(errors="replace")) + 1
    span = Span(line, col, line, col + 1)
    hint = "M-CODE source is UTF-8 text: re-save the file as UTF-8 (or remove the character)"
    return CompileError([Diagnostic(f"byte 0x{data[e.start]:02x} is not UTF-8", span, hint)],
                        data.decode(errors="replace"), path)


def load_inputs_module(program: Path) -> ModuleType:
    """The preset module beside a program: `prog.py` next to `prog.mc`."""
    path = program.with_suffix(".py")
    if not path.is_file():
        raise UsageError(f"{program}: no preset inputs module {path.name} beside it "
                         "(it defines ENTRY, PRESETS and make_inputs(preset, seed))")
    spec = importlib.util.spec_from_file_location(f"mcodec_inputs_{program.stem}", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
    except Exception as e:  # the user's module: say which file failed, not only how
        raise RunError(f"{path}: the preset inputs module failed to load ({type(e).__name__}: {e})") from e
    return mod


def check_preset_module(mod: ModuleType, program: Path, preset: str, functions: Any) -> str:
    """The preset module's ENTRY, once it names a function of the program and the module
    can make inputs for `preset` (else a usage error, not a KeyError mid-profile)."""
    entry = getattr(mod, "ENTRY", None)
    if not isinstance(entry, str) or entry not in functions:
        raise UsageError(f"{program.with_suffix('.py')}: ENTRY = {entry!r} names no function of {program.name}; "
                         f"its functions: {', '.join(functions) or 'none'}")
    if not callable(getattr(mod, "make_inputs", None)):
        raise UsageError(f"{program.with_suffix('.py')}: defines no make_inputs(preset, seed)")
    presets = getattr(mod, "PRESETS", {})
    if preset not in presets:
        raise UsageError(f"unknown preset {preset!r}; available: {', '.join(presets)}")
    return entry


def make_inputs(mod: ModuleType, preset: str, **kw: Any) -> dict[str, Any]:
    """The preset module's inputs for `preset`; its failures name the module."""
    try:
        inputs = mod.make_inputs(preset, **kw)
    except Exception as e:
        raise RunError(f"{mod.__file__}: make_inputs({preset!r}) failed ({type(e).__name__}: {e})") from e
    if not isinstance(inputs, dict):
        raise RunError(f"{mod.__file__}: make_inputs({preset!r}) returned {type(inputs).__name__}, "
                       "not a dict of argument name -> value")
    return inputs


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

    failed = unreadable = False
    for path in args.files:  # every file is checked, as a compiler checks every unit
        try:
            module = frontend(_read(path), path, passes=[])  # checking needs the IR built, not optimized
        except CompileError as e:
            print(str(e), file=sys.stderr)
            failed = True
            continue
        except UsageError as e:  # a missing or binary file: the others are still checked
            print(f"mcodec: error: {e}", file=sys.stderr)
            unreadable = True
            continue
        if args.verbose:
            for fn in module.functions.values():
                print(fn.signature_text)
        if not args.quiet:
            print(f"{path}: ok ({len(module.functions)} function{'s' if len(module.functions) != 1 else ''})")
    return EXIT_USAGE if unreadable else EXIT_COMPILE if failed else 0


def cmd_ir(args: argparse.Namespace) -> int:
    from .driver import default_passes, frontend
    from .ir import print_module

    passes = [] if args.raw else default_passes()
    module = frontend(_read(args.file), args.file, passes=passes)
    text = print_module(module, with_locs=not args.no_locs)
    if args.output:
        if Path(args.output).resolve() == Path(args.file).resolve():  # as gcc: never write over the input
            raise UsageError(f"{args.output}: the output would overwrite the program")
        try:
            Path(args.output).write_text(text)
        except OSError as e:
            raise UsageError(f"{args.output}: cannot write the IR ({e.strerror})") from None
    else:
        sys.stdout.write(text)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    import json

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

    if args.strategy is not None and args.optimize:  # (it was silently ignored)
        raise UsageError("--strategy and --optimize both choose the strategies: give one of them")
    strategy = args.strategy or "numpy"
    for sid in [strategy, *plan.values()]:
        if not isinstance(sid, str) or sid not in REGISTRY:  # (a list there was "unhashable type")
            raise UsageError(f"unknown strategy {sid!r}; known: {', '.join(REGISTRY)}")
    if plan and args.optimize:  # the policy's plan would silently replace it
        raise UsageError("--plan and --optimize both choose the strategies: give one of them")
    if plan:  # a misspelt block id would silently get the default strategy
        from .stitch import block_views

        ids = {view.id for fn in module.functions.values() for view in block_views(fn)}
        unknown = sorted(set(plan) - ids)
        if unknown:
            raise UsageError(f"{args.plan}: no block {', '.join(unknown)} in {args.file}; "
                             f"its blocks: {', '.join(sorted(ids))}")
    t0 = time.perf_counter()
    decisions: list = []
    notes: list[str] = []
    if args.preset and not args.optimize:
        print("mcodec: warning: --preset is read by --optimize only (the shapes the policy decides for); "
              "ignored", file=sys.stderr)
    if args.optimize:
        from .optimize import (
            decide,
            dims_from_inputs,
            live_block_sigs,
            load_learner,
            train_from_store,
        )

        store = _store(args)
        learner = load_learner(notes)
        n = train_from_store(learner, store)
        notes.append(f"policy retrained on {n} profiled block runs from {store.path}" if n else
                     "no profiles for this machine yet: run `mcodec profile` for a profile-guided rebuild")
        dims = None
        if args.preset:  # a preset that cannot be used is an error, not silently no shapes
            mod = load_inputs_module(src_path)
            entry = check_preset_module(mod, src_path, args.preset, module.functions)
            dims = dims_from_inputs(module, entry, make_inputs(mod, args.preset))
        live = live_block_sigs(module)
        stale = [sig for sig in store.stale(live, module.functions) if sig]
        if stale and args.verbose:
            notes.append(f"{len(stale)} profiled block signature(s) of this program's functions match none of "
                         "its blocks (stale: recorded before an edit)")
        plan, decisions = decide(module, learner, explore=False, dims=dims, store=store)
        for n in notes:  # unusable policy state is reported even without --emit-ir
            if "not used" in n:
                print(f"mcodec: warning: {n}", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        # only written here, not run: blocks from the block cache need not be loaded
        result = build_module(module, plan, default=strategy, use_cache=not args.no_cache, runnable=False)
    out = Path(args.output or src_path.with_suffix(".mcx").name)
    try:
        write_artifact(result, source, out, presets=src_path.with_suffix(".py"))
    except OSError as e:  # (the message would name the temporary folder written first)
        raise UsageError(f"{out}: cannot write the artifact ({e.strerror or e})") from None
    if args.emit_ir:
        _emit_ir(args.emit_ir, result, decisions, notes, out, args.quiet)
    for w in caught:
        print(f"mcodec: warning: {w.message}", file=sys.stderr)
    # (JSON on stdout stays parseable: the summary goes to stderr then)
    summary = sys.stderr if args.emit_ir == "json" else sys.stdout
    if not args.quiet:
        print(f"built {out} in {time.perf_counter() - t0:.2f} s", file=summary)
        rows = [("block", "kind", "requested", "strategy", "note")]
        for b in result.blocks.values():
            note = (b.fallbacks[0].reason if b.fallbacks else b.built.info.get("device_fallback")
                    or ("cached" if b.built.info.get("cached") else ""))
            rows.append((b.block_id, b.kind, b.requested, b.built.strategy_id, note[:60]))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            print("  " + "  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + ("  " + r[4] if r[4] else ""),
                  file=summary)
    return 0


def _store(args: argparse.Namespace):  # noqa: ANN202 - ProfileStore
    from mcodec.runtime_shim.profile_store import ProfileStore

    return ProfileStore(Path(args.profile_db) if getattr(args, "profile_db", None) else None)


def _emit_ir(kind: str, result, decisions: list, notes: list[str], out: Path, quiet: bool) -> None:  # noqa: ANN001
    from .annotate import annotate_dot, annotate_json, annotate_text, render_png

    if kind == "text":
        text = annotate_text(result, decisions, notes)
        (out / "annotated-ir.txt").write_text(text)
        print(text)
    elif kind == "json":
        text = annotate_json(result, decisions, notes)
        (out / "annotated-ir.json").write_text(text)
        print(text)
    elif kind == "dot":
        dot = out / "blocks.dot"
        dot.write_text(annotate_dot(result, decisions))
        try:
            png = render_png(dot)
            note = f" and {png}" if png else " (install Graphviz for a PNG)"
        except (OSError, subprocess.CalledProcessError) as e:  # the .dot is written: a warning, not a failure
            detail = (getattr(e, "stderr", b"") or b"").decode(errors="replace").strip()
            print(f"mcodec: warning: Graphviz could not render {dot}: {detail or e}", file=sys.stderr)
            note = ""
        if not quiet:
            print(f"wrote {dot}{note}")
    else:
        raise UsageError(f"--emit-ir takes text, json or dot, not {kind!r}")


def cmd_profile(args: argparse.Namespace) -> int:
    from mcodec.runtime_shim.profile_store import default_path

    from .pgo import profile_program

    db = Path(args.profile_db) if args.profile_db else default_path()
    if args.show and not db.exists():  # looking creates nothing (a mistyped path made directories)
        print(f"{db}: no profiles yet")
        return 0
    store = _store(args)
    if args.show:
        rows = store.summary()
        if not rows:
            print(f"{store.path}: no profiles yet")
            return 0
        print(f"{store.path}: {sum(r['runs'] for r in rows)} block runs")
        print(f"  {'block sig':<14}{'strategy':<12}{'runs':>6}{'ok':>6}{'median':>12}  blocks")
        for r in rows:
            med = f"{r['median_seconds'] * 1e3:.3f} ms" if r["median_seconds"] is not None else "-"
            print(f"  {r['block_sig'][:12]:<14}{r['strategy_id']:<12}{r['runs']:>6}{r['success_rate']:>6.0%}{med:>12}"
                  f"  {', '.join(sorted(r['block_ids']))[:40]}")
        if args.file:
            from .driver import frontend
            from .optimize import live_block_sigs

            module = frontend(_read(args.file), args.file)
            live = live_block_sigs(module)
            program_sigs = {r["block_sig"] for r in rows}
            stale = store.stale(live, module.functions)
            print(f"{args.file}: {len(live & program_sigs)} of {len(live)} blocks have profiles; "
                  f"{len(stale)} profiled signature(s) of its functions match none of its blocks "
                  "(stale: recorded before an edit)")
        return 0
    if not args.file:
        raise UsageError("mcodec profile needs a program (or --show)")
    store.require_writable()
    from .driver import frontend

    path = Path(args.file)
    module = frontend(_read(args.file), args.file)  # its errors come before any profiling
    mod = load_inputs_module(path)
    check_preset_module(mod, path, args.preset, module.functions)
    progress = open(os.devnull, "w") if args.quiet else sys.stderr  # noqa: SIM115 - closed below
    try:
        print(f"profiling {path.name} at preset {args.preset}: a NumPy baseline and {args.rounds} exploring "
              f"round(s), {args.runs} timed run(s) each", file=progress)
        rounds = profile_program(path, mod, args.preset, args.rounds, args.runs, store, log=progress)
    finally:
        if progress is not sys.stderr:
            progress.close()
    best = min(rounds, key=lambda r: r["ms"])
    if not args.quiet:
        print(f"best round {best['round']}: {best['ms']:.2f} ms (baseline {rounds[0]['ms']:.2f} ms); "
              f"profiles in {store.path}; rebuild with `mcodec build --optimize {path}`")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import mcodec

    path = Path(args.program)
    timer = store = None
    if args.profile:
        if not path.is_dir():
            raise UsageError("--profile runs a built artifact: `mcodec build` it first (or use `mcodec profile`)")
        from mcodec.runtime_shim.profiling import BlockTimer

        timer = BlockTimer()
        store = _store(args)  # opened first: a bad store is reported before the run, not after it
        store.require_writable()
    if path.is_dir():
        from mcodec.runtime_shim.artifact import load as load_artifact

        program = load_artifact(path, wrap=timer.wrap if timer else None)
        presets = path / "source.py"
        inputs_mod = load_inputs_module(path / "source.mc") if presets.is_file() else None
        if inputs_mod is None:
            raise UsageError(f"{path}: the artifact holds no preset inputs module")
    elif path.suffix == ".mc":
        _read(args.program)
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
    fn = program.entries.get(entry)  # not getattr: an entry may be named `info` or `entries`
    if fn is None:
        raise UsageError(f"no entry '{entry}'; entries: {', '.join(program.entries)}")
    times = []
    result = None
    for i in range(args.repeat):
        inputs = make_inputs(inputs_mod, args.preset, seed=args.seed)
        t0 = time.perf_counter()
        result = fn(**inputs)
        times.append(time.perf_counter() - t0)
        if timer is not None:
            timer.end_run()
        if args.verbose:
            print(f"  run {i + 1}/{args.repeat}: {times[-1] * 1e3:.2f} ms", file=sys.stderr)
    print(f"{path.name} {entry} preset {args.preset}: median {statistics.median(times) * 1e3:.2f} ms "
          f"over {len(times)} run(s)")
    print(f"  result: {describe(result)}")
    for p in program.entries[entry].fn.params:
        if p.inout:
            print(f"  inout {p.name}: {describe(inputs[p.name])}")
    if timer is not None:
        _record_profile(args, path, program, timer, inputs, entry, store)
    return 0


def _record_profile(args: argparse.Namespace, path: Path, program: Any, timer: Any, inputs: dict[str, Any],
                    entry: str, store: Any) -> None:
    """Record the timed runs; `inputs`: the last run's (their shapes and dtypes are what
    the records keep: made again, a preset's inputs can take seconds)."""
    from types import SimpleNamespace

    from .optimize import profile_records

    blocks = {bid: SimpleNamespace(built=b) for bid, b in program.info["built"].items()}
    source = (path / "source.mc").read_text()
    recs = profile_records(source, program.info["module"], blocks, timer, args.repeat, inputs, entry)
    store.record(recs)
    print(f"  profiled {len(recs)} block(s) into {store.path}")
    for r in recs:
        print(f"    {r.block_id:<24}{r.strategy_id:<12}{r.seconds * 1e3:10.3f} ms/run")


def _count(least: int) -> Any:
    """An argparse type: an integer >= least (a usage error, not a crash mid-run)."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
        if n < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, not {n}")
        return n
    return parse


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mcodec", description="Ahead-of-time optimizing compiler for M-CODE.")
    ap.add_argument("--version", action="version", version=f"mcodec {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser, default: Any = argparse.SUPPRESS) -> None:
        # accepted before the command too (`mcodec -v run ...`); the command's own copy
        # must not reset what was given there, so its default is SUPPRESS
        p.add_argument("-v", "--verbose", action="store_true", default=default, help="say more")
        p.add_argument("-q", "--quiet", action="store_true", default=default, help="print only errors")

    common(ap, False)

    p = sub.add_parser("check", help="parse and type-check programs")
    p.add_argument("files", nargs="+", metavar="FILE.mc")
    common(p)
    p.set_defaults(parser=p, func=cmd_check)

    p = sub.add_parser("ir", help="print the program's IR (MLIR-like text)")
    p.add_argument("file", metavar="FILE.mc")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--raw", action="store_true", help="before canonicalization and partitioning")
    p.add_argument("--no-locs", action="store_true", help="omit source locations")
    common(p)
    p.set_defaults(parser=p, func=cmd_ir)

    p = sub.add_parser("build", help="build an artifact directory (strategy per block, fallbacks shown)")
    p.add_argument("file", metavar="FILE.mc")
    p.add_argument("-o", "--output", help="artifact directory (default: FILE.mcx)")
    p.add_argument("--strategy", help="strategy for every block (default numpy)")
    p.add_argument("--plan", help="JSON file mapping block ids to strategy ids")
    p.add_argument("--no-cache", action="store_true", help="rebuild every block (ignore the block cache)")
    p.add_argument("--optimize", action="store_true", help="let the learned policy choose each block's strategy")
    p.add_argument("--emit-ir", nargs="?", const="text", choices=("text", "json", "dot"), metavar="text|json|dot",
                   help="print the IR annotated with each block's decision")
    p.add_argument("--preset", help="size preset whose shapes inform --optimize (from FILE.py)")
    p.add_argument("--profile-db", help="profile store (default: the user cache)")
    common(p)
    p.set_defaults(parser=p, func=cmd_build)

    p = sub.add_parser("profile", help="profile a program's blocks under explored strategies (PGO)")
    p.add_argument("file", nargs="?", metavar="FILE.mc")
    p.add_argument("--preset", default="S")
    p.add_argument("--rounds", type=_count(0), default=3, help="exploring rounds after the NumPy baseline")
    p.add_argument("--runs", type=_count(1), default=3, help="timed runs per round (fewer once they took 2 s)")
    p.add_argument("--show", action="store_true", help="summarize the profile store")
    p.add_argument("--profile-db", help="profile store (default: the user cache)")
    common(p)
    p.set_defaults(parser=p, func=cmd_profile)

    p = sub.add_parser("run", help="run an entry on preset inputs and summarize the result")
    p.add_argument("program", metavar="FILE.mc|ARTIFACT")
    p.add_argument("--entry", help="entry function (default: the preset module's ENTRY)")
    p.add_argument("--preset", default="S", help="input size preset (default S)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=_count(1), default=1, help="runs to time (median is shown)")
    p.add_argument("--profile", action="store_true", help="time every block and record it in the profile store")
    p.add_argument("--profile-db", help="profile store (default: the user cache)")
    common(p)
    p.set_defaults(parser=p, func=cmd_run)
    return ap


def _interrupted(e: BaseException) -> bool:
    """Whether a KeyboardInterrupt is behind `e` (its cause or context chain)."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def main(argv: list[str] | None = None) -> int:
    import mcodec
    from mcodec.passes.policy import PolicyStateError
    from mcodec.runtime_shim.artifact import ArtifactError
    from mcodec.runtime_shim.profile_store import ProfileStoreError

    ap = build_parser()
    args, extra = ap.parse_known_args(argv)
    # warnings (a device fallback, NumPy's on the running program) as the tool's own lines
    warnings.showwarning = lambda message, category, *rest, **kw: print(f"mcodec: warning: {message}",
                                                                         file=sys.stderr)
    if not getattr(args, "func", None):
        ap.error("a command is required (check, ir, build, profile or run); see `mcodec --help`")
    if extra:  # reported with the command's usage, not the top level's
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
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
    except (mcodec.ArgumentError, RunError, ProfileStoreError, PolicyStateError) as e:
        # the message names the file and what to do: no "use -v for the traceback"
        print(f"mcodec: error: {e}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print("mcodec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mcodec ... | head`: the reader is gone, as for any Unix tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (no error at exit's flush)
        return 141
    except Exception as e:  # an error raised by the running program (e.g. an index out of range)
        if _interrupted(e):  # Ctrl-C inside compiled code comes back as a SystemError
            print("mcodec: interrupted", file=sys.stderr)
            return 130
        if getattr(args, "verbose", False):
            raise
        where = "".join(f" ({n})" for n in getattr(e, "__notes__", ())[:1])  # (the innermost block)
        print(f"mcodec: run-time error: {type(e).__name__}: {str(e).rstrip()}{where} (use -v for the traceback)",
              file=sys.stderr)
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
