"""A built block at rest: its generated code and native files in a directory, plus a
JSON entry (strategy, files, info). Artifacts and the block build cache both store
blocks this way, and load them back without compiling where the back end allows."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """The JSON-serializable part of a block's info (namespaces, callables stay out)."""
    out = {}
    for k, v in d.items():
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        out[k] = v
    return out


def store_block(built: Any, root: Path) -> dict[str, Any]:
    """Write a BuiltBlock's files under `root`; return its JSON entry."""
    files = []
    if built.source:
        ext = "ll" if built.source.lstrip().startswith(";") else "py"
        name = f"blocks/{built.block_id}.{built.strategy_id}.{ext}"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(built.source)
        files.append(name)
    for rel, data in built.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        files.append(rel)
    return {"strategy": built.strategy_id, "files": files, "info": _jsonable(built.info),
            "sha256": {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in files}}


def damaged_file(root: Path, entry: dict[str, Any]) -> str | None:
    """The first of a stored block's files that is missing or differs from the hash its
    entry recorded (a truncated library would crash the process that loads it), else
    None. An entry without hashes (an older build) is taken as it is."""
    hashes = entry.get("sha256")
    if not isinstance(hashes, dict):
        return None
    for rel in entry["files"]:
        try:
            if hashlib.sha256((root / rel).read_bytes()).hexdigest() != hashes.get(rel):
                return rel
        except OSError:
            return rel
    return None


def _python_sources(entry: dict[str, Any]) -> list[str]:
    """The generated Python files of a stored block (relative paths)."""
    return [rel for rel in entry["files"] if rel.startswith("blocks/") and rel.endswith(".py")]


def _jit_cache_files(source: Path) -> list[Path]:
    """The on-disk JIT cache of a generated Python file: Numba's `__pycache__/<stem>.*`."""
    cache_dir = source.parent / "__pycache__"
    return [f for f in cache_dir.iterdir() if f.name.startswith(source.stem + ".")] if cache_dir.is_dir() else []


def copy_jit_cache(entry: dict[str, Any], src: Path, dst: Path) -> None:
    """Copy a stored block's generated Python and the on-disk JIT cache beside it from
    `src` to `dst`. The source keeps its mtime: Numba's cache index is stamped with it,
    so the copy is a cache hit at `dst`."""
    for rel in _python_sources(entry):
        source, target = src / rel, dst / rel
        cached = _jit_cache_files(source)
        if not source.is_file() or not cached:
            continue
        pairs = [(source, target)] + [(f, target.parent / "__pycache__" / f.name) for f in cached]
        for a, b in pairs:  # each file replaced atomically: a cache entry may be read meanwhile
            b.parent.mkdir(parents=True, exist_ok=True)
            tmp = b.with_name(f".{b.name}.{os.getpid()}.tmp")
            shutil.copy2(a, tmp)
            os.replace(tmp, b)


def has_jit_cache(entry: dict[str, Any], root: Path) -> bool:
    """Whether every generated Python file of a stored block has JIT cache files."""
    return all(_jit_cache_files(root / rel) for rel in _python_sources(entry))


def load_block(root: Path, view: Any, entry: dict[str, Any]) -> Any:
    """A stored block, loaded so that it can be called."""
    try:
        return _with_stored_files(_load(root, view, entry), root, entry)
    except Exception:
        # a damaged on-disk JIT cache (a torn copy, a disk error) made the back end fail;
        # it is only a cache: drop it and compile afresh rather than fail for good
        stale = [f for rel in _python_sources(entry) for f in _jit_cache_files(root / rel)]
        try:
            for f in stale:
                f.unlink()
        except OSError:
            stale = []
        if not stale:
            raise
    return _with_stored_files(_load(root, view, entry), root, entry)


def read_block(root: Path, view: Any, entry: dict[str, Any]) -> Any:
    """A stored block's code and files only, not loaded (`call` is None): enough to write
    an artifact, without starting the back end that would run it."""
    from mcodec.compiler.backends.base import BuiltBlock

    return _with_stored_files(BuiltBlock(view.id, entry["strategy"], None, info=dict(entry["info"])), root, entry)


def _with_stored_files(built: Any, root: Path, entry: dict[str, Any]) -> Any:
    built.origin = root
    # keep the stored code with the block, so it can be stored again (cache -> artifact)
    source_file = next((f for f in entry["files"] if f.startswith("blocks/")), None)
    if not built.source and source_file:
        built.source = (root / source_file).read_text()
    if not built.files:
        built.files = {f: (root / f).read_bytes() for f in entry["files"] if f != source_file}
    return built


def _load(root: Path, view: Any, entry: dict[str, Any]) -> Any:
    """A BuiltBlock from its stored form. NumPy blocks are plain Python; back ends with
    a `load_built_block` (native libraries, exports) reload without compiling; any
    other back end lowers the block again."""
    from mcodec.compiler.backends.base import BuiltBlock
    from mcodec.compiler.build import backend
    from mcodec.compiler.reference import exec_source
    from mcodec.compiler.strategy import get

    strategy = get(entry["strategy"])
    if strategy.backend == "numpy":
        py = next(f for f in entry["files"] if f.endswith(".py"))
        ns = exec_source((root / py).read_text(), f"{view.id}:numpy")
        fname = "blk_" + view.id.replace(".", "_")
        return BuiltBlock(view.id, strategy.strategy_id, ns[fname], info={"namespace": ns})
    be = backend(strategy.backend)
    if be is None:
        raise RuntimeError(f"back end {strategy.backend} is unavailable")
    loader = getattr(be, "load_built_block", None)
    if loader is not None:
        return loader(root, view, entry, strategy)
    return be.lower(view, strategy, Path(tempfile.mkdtemp(prefix="mcodec-load-")))
