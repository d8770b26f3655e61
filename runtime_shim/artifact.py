"""Artifacts: a self-contained directory per build.

Layout: manifest.json (format version, source hash, mcodec version, machine, strategy
and fallbacks per block), source.mc, ir.txt (IR annotated with strategies),
stitched.py, blocks/ (generated code per block), lib/ (native libraries), and the
preset module beside the source when there was one. Written atomically: built in a
temporary directory beside the target, then renamed into place.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .hardware import machine
from .stored_block import copy_jit_cache, damaged_file, has_jit_cache, load_block, store_block

FORMAT = "mcodec-artifact"
FORMAT_VERSION = 1


# the names a build writes into an artifact directory
_ARTIFACT_NAMES = {"manifest.json", "source.mc", "source.py", "ir.txt", "stitched.py", "blocks", "lib",
                   "annotated-ir.txt", "annotated-ir.json", "blocks.dot", "blocks.png"}


class ArtifactError(Exception):
    """A missing, corrupt or foreign artifact directory."""


def write_artifact(result: Any, source_text: str, out_dir: Path, presets: Path | None = None) -> Path:
    from mcodec import __version__
    from mcodec.compiler.ir import print_module

    _check_replaceable(Path(out_dir))
    out_dir = Path(out_dir).resolve()  # `-o dir/..` has no name to make a sibling temporary from
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (tmp / "source.mc").write_text(source_text)
        (tmp / "ir.txt").write_text(print_module(result.module))
        (tmp / "stitched.py").write_text(result.stitched_source)
        blocks: dict[str, Any] = {}
        for bid, bb in result.blocks.items():
            entry = store_block(bb.built, tmp)
            if bb.built.origin is not None:  # from the block cache: its JIT cache comes too
                copy_jit_cache(entry, bb.built.origin, tmp)
            entry.update({
                "kind": bb.kind, "sid": bb.sid, "requested": bb.requested,
                "fallbacks": [{"strategy": f.strategy_id, "reason": f.reason} for f in bb.fallbacks],
                "build_seconds": round(bb.seconds, 4),
            })
            blocks[bid] = entry
        if presets is not None and presets.is_file():
            shutil.copyfile(presets, tmp / "source.py")
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "mcodec_version": __version__,
            "source_name": Path(result.module.filename).name,
            "source_sha256": hashlib.sha256(source_text.encode()).hexdigest(),
            "machine": machine(), "entries": list(result.module.functions), "blocks": blocks,
            "blocks_sha256": _blocks_digest(blocks),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _move_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        _warm_jit_caches(out_dir, result, manifest)
    except FileNotFoundError:
        pass  # a concurrent build replaced it meanwhile: that build warms its own artifact
    return out_dir


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished directory over `out_dir`, moving an old one aside first. Builds
    into the same directory may run at once: each moves aside into its own empty
    directory (a shared `X.old` made them fail with ENOTEMPTY), and one that finds a
    newer artifact arrived meanwhile moves that aside in turn (the last build wins)."""
    for _ in range(100):
        old, moved = None, False
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            try:
                os.replace(out_dir, old)  # (a directory may be renamed over an empty one)
                moved = True
            except FileNotFoundError:
                pass  # another build moved it aside
        try:
            os.replace(tmp, out_dir)
            return
        except BaseException as e:
            if moved:  # failed or interrupted (Ctrl-C) between the renames: the old artifact goes back
                try:
                    os.replace(old, out_dir)  # type: ignore[arg-type]
                except OSError:
                    pass  # another build's artifact is there now
            if not (isinstance(e, OSError) and e.errno in (errno.ENOTEMPTY, errno.EEXIST)):
                raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    raise ArtifactError(f"{out_dir}: other builds kept replacing it; try again")


def _check_replaceable(out_dir: Path) -> None:
    """A build replaces its target whole: refuse any target that is not an artifact (a
    user's file or directory would be deleted) and one that is an ancestor of the cwd."""
    if not out_dir.resolve().name:
        raise ArtifactError(f"{out_dir}: cannot write an artifact over the root directory")
    try:
        mode = out_dir.lstat().st_mode  # one look: a concurrent build may move it meanwhile
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISDIR(mode):
        raise ArtifactError(f"{out_dir}: exists and is not a directory (or is a symbolic link); "
                            "choose another output path (-o)")
    try:
        names = {p.name for p in out_dir.iterdir()} if out_dir.is_dir() else set()
    except FileNotFoundError:  # a concurrent build of the same target moved it aside
        names = set()
    if names:
        try:
            manifest = json.loads((out_dir / "manifest.json").read_text())
        except (OSError, ValueError):
            manifest = None
        is_artifact = isinstance(manifest, dict) and manifest.get("format") == FORMAT
        # a torn or corrupt artifact holds only the names a build writes: it may be rebuilt
        if not is_artifact and not names <= _ARTIFACT_NAMES:
            raise ArtifactError(f"{out_dir}: a non-empty directory that is not an mcodec artifact; "
                                "it would be replaced whole, so choose another output path (-o)")
        foreign = sorted(names - _ARTIFACT_NAMES)
        if foreign:  # an artifact with the user's own files put in it: replacing it would delete them
            raise ArtifactError(f"{out_dir}: holds files no build wrote ({', '.join(foreign[:5])}"
                                f"{', ...' if len(foreign) > 5 else ''}); the artifact is replaced whole, so "
                                "move them out or choose another output path (-o)")
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # a deleted working directory: nothing to protect
        return
    if cwd.is_relative_to(out_dir.resolve()):
        raise ArtifactError(f"{out_dir}: contains the current directory; choose another output path (-o)")


def _warm_jit_caches(out_dir: Path, result: Any, manifest: dict[str, Any]) -> None:
    """Load each JIT-compiled block built outside the block cache once from the
    artifact's own files, so the back end writes its on-disk cache there (Numba:
    `__pycache__` beside the block source) and loading the artifact later compiles
    nothing. A block from the cache that came with its entry's JIT cache is skipped:
    Numba finds that cache wherever the files are (keyed by their content and mtime)."""
    from mcodec.compiler import block_cache
    from mcodec.compiler.build import backend
    from mcodec.compiler.stitch import block_views
    from mcodec.compiler.strategy import get

    for fn in result.module.functions.values():
        for view in block_views(fn):
            entry = manifest["blocks"].get(view.id)
            if entry is None or not entry["strategy"].startswith("numba") \
                    or (result.blocks[view.id].built.origin is not None and has_jit_cache(entry, out_dir)):
                continue
            be = backend("numba")
            if be is not None and hasattr(be, "load_built_block"):
                strategy = get(entry["strategy"])
                be.load_built_block(out_dir, view, entry, strategy)
                block_cache.adopt_jit_cache(view, strategy, entry, out_dir)  # for the next build


def read_manifest(path: Path) -> dict[str, Any]:
    mpath = Path(path) / "manifest.json"
    if not mpath.is_file():
        raise ArtifactError(f"{path}: not an mcodec artifact (no manifest.json)")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{mpath}: corrupt manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{mpath}: not an mcodec artifact manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{mpath}: artifact format {manifest.get('format_version')} is not supported "
                            f"(this mcodec reads format {FORMAT_VERSION}); rebuild it")
    source = Path(path) / "source.mc"
    if not source.is_file() or hashlib.sha256(source.read_bytes()).hexdigest() != manifest.get("source_sha256"):
        raise ArtifactError(f"{path}: source.mc is missing or does not match the manifest's hash")
    _check_blocks(Path(path), manifest)
    return manifest


def _blocks_digest(blocks: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(blocks, sort_keys=True).encode()).hexdigest()


def _check_blocks(path: Path, manifest: dict[str, Any]) -> None:
    """The manifest's shape and the block files it lists: a hand-edited or torn manifest
    is reported as such, not as a KeyError deep inside loading."""
    def bad(what: str) -> ArtifactError:
        return ArtifactError(f"{path / 'manifest.json'}: corrupt manifest ({what}); rebuild the artifact")

    if not isinstance(manifest.get("source_name"), str) or not isinstance(manifest.get("blocks"), dict):
        raise bad("no source_name or blocks")
    if "blocks_sha256" in manifest and manifest["blocks_sha256"] != _blocks_digest(manifest["blocks"]):
        # (a strategy edited from numba to numpy ran the Numba source as Python, 1000x slower)
        raise bad("its block table does not match the hash the build recorded: edited by hand?")
    root = path.resolve()
    for bid, entry in manifest["blocks"].items():
        if not (isinstance(entry, dict) and isinstance(entry.get("strategy"), str)
                and isinstance(entry.get("info"), dict) and isinstance(entry.get("files"), list)
                and all(isinstance(f, str) for f in entry["files"])):
            raise bad(f"block {bid} lacks a strategy, info or list of files")
        for rel in entry["files"]:
            f = (path / rel).resolve()
            if not f.is_relative_to(root):
                raise bad(f"block {bid} names a file outside the artifact: {rel}")
            if not f.is_file():
                raise ArtifactError(f"{path}: block {bid}'s file {rel} is missing; rebuild the artifact")
        damaged = damaged_file(path, entry)
        if damaged is not None:
            raise ArtifactError(f"{path}: block {bid}'s file {damaged} does not match the hash the build "
                                "recorded (damaged or edited); rebuild the artifact")


def load(path: str | Path, wrap: Any = None):  # noqa: ANN201 - returns runtime_shim.program.Program
    """Load an artifact directory as a Program (the same interface as compile_file).
    `wrap(block_id, call)` may interpose on block calls (profiling)."""
    from mcodec.compiler.diagnostics import CompileError
    from mcodec.compiler.driver import frontend
    from mcodec.compiler.stitch import block_views, stitch

    from .program import Program

    path = Path(path)
    manifest = read_manifest(path)
    built_on = manifest.get("machine") if isinstance(manifest.get("machine"), dict) else {}
    here = machine()
    if built_on.get("fingerprint") not in (None, here["fingerprint"]):
        warnings.warn(f"{path} was built on another machine ({built_on.get('fingerprint')}, this one is "
                      f"{here['fingerprint']}): its native code may not run or may be slow here; rebuild it",
                      RuntimeWarning, stacklevel=2)
    try:
        module = frontend((path / "source.mc").read_text(), manifest["source_name"])
    except CompileError as e:  # another mcodec built it: point at the file read, not the program's name
        e.filename = str(path / "source.mc")
        raise ArtifactError(f"{path}: its source does not compile with this mcodec (mcodec "
                            f"{manifest.get('mcodec_version', '?')} built it); rebuild the artifact\n{e}") from e
    built = {}
    for fn in module.functions.values():
        for view in block_views(fn):
            entry = manifest["blocks"].get(view.id)
            if entry is None:
                continue
            if entry.get("sid") != view.op.attrs["sid"]:
                raise ArtifactError(f"{path}: block {view.id} does not match its recorded structure")
            try:
                built[view.id] = load_block(path, view, entry)
            except Exception as e:  # a truncated library, damaged code or JIT cache, a foreign strategy
                raise ArtifactError(f"{path}: block {view.id} ({entry['strategy']}) cannot be loaded "
                                    f"({type(e).__name__}: {e}); rebuild the artifact") from e
    impls, _ = stitch(module, built, wrap)
    from mcodec.compiler.build import reference_entries

    return Program(module.functions, impls, str(path),
                   {"artifact": str(path), "manifest": manifest, "module": module, "built": built},
                   reference_entries(module))
