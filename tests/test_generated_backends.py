"""Random well-typed programs (the front end's property-test generator) built with every
standard strategy, against direct NumPy evaluation: each back end lowers what it claims
and falls back for the rest, and the stitched program means the same thing.

Example counts are small (every example compiles its blocks); scale them with
``MCODEC_PROPERTY_SCALE`` as for tests/test_properties.py.
"""

from __future__ import annotations

import os
import re
import sys
import warnings

import numpy as np
import pytest
from corpus_util import assert_same
from hypothesis import given, settings
from mcodec.compiler.build import BuildWarning, build_module
from mcodec.compiler.driver import frontend
from mcodec.compiler.strategy import REGISTRY

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import progen  # noqa: E402
from test_properties import SETTINGS, _n  # noqa: E402

# GPU strategies are the CPU ones here (no device): one of each back end's variants
STRATEGIES = [s for s in REGISTRY if REGISTRY[s].device_target != "gpu" and s != "numpy"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_generated_programs_under_every_strategy(strategy: str) -> None:
    fast = REGISTRY[strategy].jit_level >= 2
    lowered = []  # blocks the strategy itself ran (the rest fell back)

    @settings(max_examples=_n(6), **SETTINGS)
    @given(progen.programs())
    def check(case: progen.Case) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            result = build_module(frontend(case.source, "gen.mc"), default=strategy)
        lowered.extend(b for b in result.blocks.values() if b.built.strategy_id == strategy)
        args = case.fresh_args()
        before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in args.items()}
        got = case.call(result.program, args)
        where = f"{strategy}\n{case!r}"
        # back ends round transcendental functions differently by an ulp or two: a
        # program with any f32 arithmetic is compared at f32's tolerance throughout
        narrow = np.float32 if re.search(r"\b(f32|c64)\b", case.source) else None
        assert_same(got, case.expected, where, fastmath=fast, computed_in=narrow)
        for name, _t, inout in case.params:
            if inout:
                assert_same(args[name], case.inout_expected[name], f"inout {name}: {where}", fastmath=fast,
                            computed_in=narrow)
            elif isinstance(before[name], np.ndarray):
                assert np.array_equal(args[name], before[name]), f"{name} was modified: {where}"

    check()
    assert lowered, f"{strategy} lowered no block of any generated program"
