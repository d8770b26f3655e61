"""The corpus differential test: every corpus program, at preset S, against its
independent NumPy implementation in tests/corpus_reference."""

from __future__ import annotations

import mcodec
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
