"""Golden IR tests, lit/FileCheck style: for every tests/golden/NAME.mc the printed IR
(`print_module(frontend(src, "NAME.mc"), with_locs=True)`) must equal NAME.ir exactly.

Regenerate after an intended IR change with

    MCODEC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_ir.py

and review the diff of tests/golden/*.ir before keeping it."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from mcodec.compiler.driver import frontend
from mcodec.compiler.ir import print_module

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(GOLDEN.glob("*.mc"))
UPDATE = os.environ.get("MCODEC_UPDATE_GOLDEN") == "1"


def render(mc: Path) -> str:
    text = print_module(frontend(mc.read_text(), mc.name), with_locs=True)
    return text if text.endswith("\n") else text + "\n"


def test_golden_cases_exist():
    assert len(CASES) >= 6
    missing = [c.name for c in CASES if not c.with_suffix(".ir").exists()]
    assert UPDATE or not missing, f"no .ir for {missing}; run with MCODEC_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("mc", CASES, ids=[c.stem for c in CASES])
def test_golden_ir(mc: Path):
    actual = render(mc)
    expected_path = mc.with_suffix(".ir")
    if UPDATE:
        expected_path.write_text(actual)
        return
    assert expected_path.exists(), f"{expected_path.name} missing; run with MCODEC_UPDATE_GOLDEN=1"
    expected = expected_path.read_text()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"{expected_path.name} (golden)", f"{mc.name} (actual)"))
        pytest.fail(f"IR for {mc.name} differs from the golden file:\n{diff}", pytrace=False)


@pytest.mark.parametrize("mc", CASES, ids=[c.stem for c in CASES])
def test_golden_ir_is_deterministic(mc: Path):
    assert render(mc) == render(mc)
