"""The corpus differential test: every corpus program, at preset S, against its
independent NumPy implementation in tests/corpus_reference."""

from __future__ import annotations

import mcodec
import numpy as np
import pytest
from corpus_util import (
    CORPUS,
    assert_same,
    corpus_names,
    inputs_module,
    reference_module,
    run_entry,
)


def test_corpus_is_big_enough() -> None:
    assert len(corpus_names()) >= 24


@pytest.mark.parametrize("name", corpus_names())
def test_corpus_program_matches_numpy(name: str) -> None:
    inputs_mod = inputs_module(name)
    program = mcodec.compile_file(CORPUS / f"{name}.mc")
    inputs = inputs_mod.make_inputs("S", seed=0)
    want = reference_module(name).reference(inputs)
    got = run_entry(program, inputs_mod.ENTRY, inputs)
    assert set(got) == set(want), f"{name}: outputs {sorted(got)} vs reference {sorted(want)}"
    for key in want:
        assert_same(got[key], want[key], f"{name}:{key}")


def test_assert_same_scales_by_finite_values() -> None:
    # a NaN or inf in the expected values once made the absolute tolerance NaN or inf:
    # every difference then failed (NaN) or passed (inf)
    want = np.array([1.0, np.nan, np.inf, 2.0])
    assert_same(want + np.array([1e-16, 0.0, 0.0, 0.0]), want, "rounding")
    for wrong in ([1.0, np.nan, np.inf, 2.5], [1.0, 0.0, np.inf, 2.0], [1.0, np.nan, -np.inf, 2.0]):
        with pytest.raises(AssertionError):
            assert_same(np.array(wrong), want, "wrong")
