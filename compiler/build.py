"""Building: lower every block with the strategy its plan names, falling back along a
chain (down to NumPy) when a back end cannot lower a block, then stitch the blocks
into entry functions. The result is a Program plus what an artifact needs."""

from __future__ import annotations

import importlib
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcodec.runtime_shim.program import Program

from . import block_cache
from .backends.base import BlockView, BuiltBlock, LoweringError
from .ir import Module
from .stitch import block_views, stitch, stitched_source
from .strategy import REGISTRY, OptimizationStrategy, get

# back end name -> (module, class); imported on first use so a missing optional
# dependency (MLX, say) disables that back end only
BACKEND_CLASSES = {
    "numpy": ("mcodec.compiler.backends.numpy_backend", "NumpyBackend"),
    "numba": ("mcodec.compiler.backends.numba_backend", "NumbaBackend"),
    "llvm": ("mcodec.compiler.backends.llvm_backend", "LLVMBackend"),
    "mlx": ("mcodec.compiler.backends.mlx_backend", "MLXBackend"),
}
# where a block goes when its strategy cannot lower it
FALLBACK = {"mlx": ["numba", "numpy"], "llvm": ["numba", "numpy"], "numba": ["numpy"], "numpy": []}
FALLBACK_STRATEGY = {"numba": "numba", "numpy": "numpy"}

_backends: dict[str, Any] = {}
_unavailable: dict[str, str] = {}


class BuildWarning(UserWarning):
    pass


def backend(name: str) -> Any | None:
    """The back end object, or None (with the reason kept) when it cannot be imported."""
    if name in _backends:
        return _backends[name]
    if name in _unavailable:
        return None
    mod_name, cls_name = BACKEND_CLASSES[name]
    try:
        _backends[name] = getattr(importlib.import_module(mod_name), cls_name)()
    except Exception as e:  # ImportError, or the library failing to initialize
        _unavailable[name] = f"{type(e).__name__}: {e}"
        return None
    return _backends[name]


def unavailable_reason(name: str) -> str:
    return _unavailable.get(name, "")


@dataclass
class Fallback:
    block_id: str
    strategy_id: str
    reason: str


@dataclass
class BlockBuild:
    block_id: str
    kind: str
    sid: str
    requested: str
    built: BuiltBlock
    fallbacks: list[Fallback]
    seconds: float


@dataclass
class BuildResult:
    module: Module
    blocks: dict[str, BlockBuild]
    program: Program | None  # None for a build made only to be written (runnable=False)
    stitched_source: str
    fallbacks: list[Fallback] = field(default_factory=list)


def _chain(strategy: OptimizationStrategy) -> list[OptimizationStrategy]:
    out = [strategy]
    for b in FALLBACK[strategy.backend]:
        out.append(get(FALLBACK_STRATEGY[b]))
    return out


def build_block(view: BlockView, strategy: OptimizationStrategy, workdir: Path,
                use_cache: bool = True, load_cached: bool = True) -> tuple[BuiltBlock, list[Fallback]]:
    fallbacks: list[Fallback] = []
    for s in _chain(strategy):
        be = backend(s.backend)
        if be is None:
            fallbacks.append(Fallback(view.id, s.strategy_id, f"back end unavailable ({unavailable_reason(s.backend)})"))
            continue
        ok, why = be.can_lower(view, s)
        if not ok:
            fallbacks.append(Fallback(view.id, s.strategy_id, why))
            continue
        try:
            cached = block_cache.lookup(view, s, load_cached) if use_cache else None
            if cached is not None:
                cached.info["cached"] = True
                return cached, fallbacks
            # a JIT back end compiles once, from the cache entry (an artifact then copies
            # its on-disk JIT cache); elsewhere, or without a writable cache, in memory
            lower_source = getattr(be, "lower_source", None) if use_cache else None
            built = block_cache.build_in_cache(view, s, lower_source(view, s)) if lower_source else None
            if built is None:
                built = be.lower(view, s, workdir)
                if use_cache:
                    block_cache.store(view, s, built)
            return built, fallbacks
        except LoweringError as e:
            fallbacks.append(Fallback(view.id, s.strategy_id, f"lowering failed: {e}"))
        except Exception as e:  # a back end library error (Numba typing, LLVM verifier, ...)
            fallbacks.append(Fallback(view.id, s.strategy_id, f"lowering failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"))
    raise AssertionError("unreachable: the NumPy reference lowers every block")


def build_module(module: Module, plan: dict[str, str] | None = None, default: str = "numpy",
                 workdir: Path | None = None, warn: bool = True,
                 wrap: Any = None, use_cache: bool = True, runnable: bool = True) -> BuildResult:
    """Lower each block with plan[block_id] (or `default`), stitch, and return a Program.
    `runnable=False` builds only what an artifact holds: blocks found in the block
    cache are not loaded (no back end starts for them) and there is no Program."""
    plan = plan or {}
    for sid in list(plan.values()) + [default]:
        get(sid)  # unknown strategy ids fail early with the list of known ones
    blocks: dict[str, BlockBuild] = {}
    built: dict[str, BuiltBlock] = {}
    all_fallbacks: list[Fallback] = []
    # Native libraries are dlopen'ed and their bytes kept in BuiltBlock.files while lowering,
    # so a scratch directory of our own can go as soon as every block is built.
    with tempfile.TemporaryDirectory(prefix="mcodec-build-") as tmp:
        for fn in module.functions.values():
            for view in block_views(fn):
                requested = plan.get(view.id, default)
                t0 = time.perf_counter()
                if view.has_early_exit():
                    view.op.attrs["strategy"] = "numpy"  # run inline by the stitched function, which owns the return
                    continue
                b, fbs = build_block(view, get(requested), workdir or Path(tmp), use_cache, load_cached=runnable)
                blocks[view.id] = BlockBuild(view.id, view.kind, view.op.attrs["sid"], requested, b, fbs,
                                             time.perf_counter() - t0)
                built[view.id] = b
                view.op.attrs["strategy"] = b.strategy_id
                if fbs:
                    view.op.attrs["fallback"] = "; ".join(f"{f.strategy_id}: {f.reason}" for f in fbs)
                all_fallbacks.extend(f for f in fbs if f.strategy_id == requested)
    if warn:
        for f in all_fallbacks:
            warnings.warn(f"block {f.block_id}: strategy {f.strategy_id} not used: {f.reason}", BuildWarning, stacklevel=2)
        for bid, b in built.items():
            if b.info.get("jit_cacheable") is False:
                warnings.warn(f"block {bid}: Numba cannot keep its compiled code on disk; loading the artifact "
                              "compiles it again", BuildWarning, stacklevel=2)
    if not runnable:
        return BuildResult(module, blocks, None, stitched_source(module, built), all_fallbacks)
    impls, source = stitch(module, built, wrap)
    program = Program(module.functions, impls, module.filename, {"backend": "mixed"}, reference_entries(module))
    return BuildResult(module, blocks, program, source, all_fallbacks)


def reference_entries(module: Module) -> Any:
    """Makes the NumPy reference's entry functions of `module` (for calls whose inout
    arguments overlap: see runtime_shim.program.Entry)."""
    def make() -> dict[str, Any]:
        from .reference import reference_program

        return {name: e.impl for name, e in reference_program(module).entries.items()}
    return make


def standard_strategies() -> list[str]:
    return list(REGISTRY)
