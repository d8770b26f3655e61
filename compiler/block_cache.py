"""The block build cache: built blocks stored by content key, so rebuilding an
unchanged program (or one whose edits touch other blocks) reuses them.

The key hashes the block's structure (its structural id), the block id (generated
names derive from it), the strategy, the live-in types, the mcodec version, the
machine and the back ends' source. Entries are written atomically and record a hash of
every file; an unreadable or damaged entry is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcodec.runtime_shim.profile_store import cache_root

from .backends.base import BlockView, BuiltBlock
from .strategy import OptimizationStrategy


@lru_cache(maxsize=1)
def codegen_digest() -> str:
    """A hash of the back ends' own source: a changed lowering must not reuse blocks
    that the old one built (the version number is not bumped for every change)."""
    h = hashlib.sha1()
    here = Path(__file__).resolve().parent
    # (and the analyses they lower by: what bounds checks a block needs, ...)
    for p in [*sorted((here / "backends").glob("*.py")), here / "index_bounds.py", here / "ir_facts.py"]:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


def block_key(view: BlockView, strategy: OptimizationStrategy) -> str:
    from mcodec import __version__
    from mcodec.runtime_shim.hardware import machine

    parts = [view.op.attrs["sid"], view.id, json.dumps(strategy.to_json(), sort_keys=True),
             [str(v.type) for v in view.live_ins], __version__, machine()["fingerprint"], codegen_digest()]
    return hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:20]


def lookup(view: BlockView, strategy: OptimizationStrategy, load: bool = True) -> BuiltBlock | None:
    """The cached build of a block, loaded to be called, or (`load=False`) its stored
    code and files only."""
    from mcodec.runtime_shim.stored_block import load_block, read_block

    d = cache_root() / "blocks" / block_key(view, strategy)
    try:
        entry = json.loads((d / "entry.json").read_text())
        if not _intact(d, entry):
            return None  # (store() replaces it)
        return (load_block if load else read_block)(d, view, entry)
    except Exception:  # missing, corrupt or stale: rebuild
        return None


def store(view: BlockView, strategy: OptimizationStrategy, built: BuiltBlock) -> Path | None:
    """Store a built block (kept when an equal one is there already); its entry's
    directory, or None when the cache cannot be written."""
    from mcodec.runtime_shim.stored_block import store_block

    root = cache_root() / "blocks"
    final = root / block_key(view, strategy)
    tmp: Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
        entry: dict[str, Any] = store_block(built, tmp)
        (tmp / "entry.json").write_text(json.dumps(entry))
        if not (final.exists() and _entry_readable(final)):  # new, or torn/edited: replaced
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
    except OSError:
        return None  # a read-only or full cache never fails a build
    finally:  # (also on Ctrl-C: no half-written entry stays behind)
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _entry_readable(d: Path) -> bool:
    try:
        entry = json.loads((d / "entry.json").read_text())
        return isinstance(entry, dict) and _intact(d, entry)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _intact(d: Path, entry: dict[str, Any]) -> bool:
    """Every file the entry lists is there with the hash it recorded (an entry from
    before hashes were recorded counts as damaged: rebuilt once)."""
    from mcodec.runtime_shim.stored_block import damaged_file

    return isinstance(entry.get("sha256"), dict) and damaged_file(d, entry) is None


def build_in_cache(view: BlockView, strategy: OptimizationStrategy, source_only: BuiltBlock) -> BuiltBlock | None:
    """Store a block's generated code (not compiled yet) and compile it from its cache
    entry: one compile, whose on-disk JIT cache lands in the entry, where an artifact
    copies it from instead of compiling again. None when the cache cannot be written;
    a block that fails to compile leaves no entry behind."""
    from mcodec.runtime_shim.stored_block import load_block

    final = store(view, strategy, source_only)
    if final is None:
        return None
    try:
        return load_block(final, view, json.loads((final / "entry.json").read_text()))
    except Exception:
        shutil.rmtree(final, ignore_errors=True)
        raise


def adopt_jit_cache(view: BlockView, strategy: OptimizationStrategy, entry: dict[str, Any], root: Path) -> None:
    """Copy the JIT cache of a block stored under `root` (an artifact just warmed) into
    the block's cache entry, so the next build that reuses the entry compiles nothing."""
    from mcodec.runtime_shim.stored_block import copy_jit_cache

    final = cache_root() / "blocks" / block_key(view, strategy)
    if (final / "entry.json").is_file():
        try:
            copy_jit_cache(entry, root, final)
        except OSError:
            pass  # a read-only or full cache never fails a build
