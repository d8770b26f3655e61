"""Differential tests across strategies: random per-block mixes of the standard
strategies must agree with the independent NumPy references."""

from __future__ import annotations

import random
import warnings

import pytest
from corpus_util import (
    CORPUS,
    assert_same,
    corpus_names,
    inputs_module,
    reference_module,
    run_entry,
)
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.stitch import block_views
from mcodec.compiler.strategy import REGISTRY

# a spread of kinds: scalar loops, stencils, tensor code, irregular access, calls
MIXED = ["crc16", "jacobi_2d", "softmax", "attention", "spmv", "cholesky", "histogram", "go_fast"]


@pytest.mark.parametrize("name", [n for n in MIXED if n in corpus_names()])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_per_block_strategy_mix(name: str, seed: int) -> None:
    module = frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc")
    rng = random.Random(f"{name}:{seed}")
    plan = {b.id: rng.choice(sorted(REGISTRY)) for fn in module.functions.values() for b in block_views(fn)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        result = build_module(module, plan=plan)
    for b in result.blocks.values():  # every block ran as its plan said, or says why not
        assert b.built.strategy_id == b.requested or b.fallbacks
    im = inputs_module(name)
    inputs = im.make_inputs("S")
    want = reference_module(name).reference(inputs)
    got = run_entry(result.program, im.ENTRY, inputs)
    fast = any(REGISTRY[b.built.strategy_id].jit_level >= 2 for b in result.blocks.values())
    for k in want:
        assert_same(got[k], want[k], f"{name}:{k} plan={plan}", fastmath=fast)
