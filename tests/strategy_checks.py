"""Small programs written to the language contract, built under one strategy and run
beside the reference lowering: the hold-out regression files share these."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import pytest
from corpus_util import assert_same
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.reference import reference_program

_BUILT: dict[tuple[str, str], Any] = {}


def built(src: str, strategy: str) -> tuple[Any, Any]:
    """(the build's program, the reference program), one build per program and strategy."""
    if (src, strategy) not in _BUILT:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            result = build_module(frontend(src, "holdout.mc"), default=strategy, use_cache=False)
        for b in result.blocks.values():  # else an artifact would compile the block at each load
            assert b.built.info.get("jit_cacheable", True), f"{b.block_id}: Numba cannot cache the block"
        _BUILT[src, strategy] = result, reference_program(frontend(src, "holdout.mc"))
    return _BUILT[src, strategy]


def loop_source(src: str, strategy: str, entry: str) -> str:
    """The generated function of `entry`'s loop block, built under `strategy` (not
    fallen back), without the wrapper that calls it."""
    result, _ = built(src, strategy)
    block = next(b for b in result.blocks.values() if b.block_id.startswith(f"{entry}.") and b.kind == "loop")
    assert block.built.strategy_id == strategy
    return block.built.source.split("def call_")[0]


def check(src: str, strategy: str, entry: str, args: dict[str, Any], want: Any = None,
          lowered_by: str | None = None) -> Any:
    """Run `entry` under `strategy` and the reference: both equal `want` (when given) and
    each other. `lowered_by`: a back end that must have built a block of the program."""
    result, ref = built(src, strategy)
    if lowered_by is not None:
        assert any(b.built.strategy_id.startswith(lowered_by) for b in result.blocks.values()), \
            {b.block_id: [f.reason for f in b.fallbacks] for b in result.blocks.values()}
    expect = getattr(ref, entry)(**copy.deepcopy(args))
    got = getattr(result.program, entry)(**copy.deepcopy(args))
    fast = "-fast" in strategy
    assert_same(got, expect, f"{strategy} vs reference", fastmath=fast)
    if want is not None:
        assert_same(got, want, f"{strategy} vs NumPy", fastmath=fast)
    return got


def raises_like_reference(src: str, strategy: str, entry: str, args: dict[str, Any]) -> None:
    result, ref = built(src, strategy)
    with pytest.raises(Exception) as want:
        getattr(ref, entry)(**copy.deepcopy(args))
    with pytest.raises(want.type):
        getattr(result.program, entry)(**copy.deepcopy(args))
