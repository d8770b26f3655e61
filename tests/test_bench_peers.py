"""The automatic peers of the benchmarks (tests/bench/peers.py): the source rewrite
that makes a reference Numba-compilable, and peers that cannot compile or give another
answer reported (n/a, wrong) instead of raising."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

import peers  # noqa: E402
from peers import PortError, make_peers, numba_port_source, port_kwargs, short_reason  # noqa: E402

STENCIL = '''import numpy as np


def _smooth(src, dst):
    dst[1:-1] = 0.5 * (src[:-2] + src[2:])


def reference(inputs: dict) -> dict:
    a = inputs["a"].copy()
    b = np.zeros_like(a)
    for _ in range(inputs.get("steps", 3)):
        _smooth(a, b)
        _smooth(b, a)
    if a.shape[0] == 0:
        return {"a": a, "return": 0.0}
    return {"a": a, "return": float(a.sum())}
'''
UNSUPPORTED = '''import numpy as np


def reference(inputs: dict) -> dict:
    return {"return": np.einsum("ij->i", inputs["x"])}
'''
WRONG = '''def reference(inputs: dict) -> dict:
    return {"return": 1 if inputs["x"].size else 0}
'''


def test_port_source_takes_keys_and_returns_a_tuple() -> None:
    spec = numba_port_source(STENCIL, parallel=True)
    assert spec.params == ["a", "steps"] and spec.outputs == ["a", "return"]
    assert "def reference(in_a, in_steps=3):" in spec.source
    assert spec.source.count("@_peer_njit(cache=False, parallel=True)") == 2
    assert "return (a, float(a.sum()))" in spec.source and "inputs" not in spec.source
    assert port_kwargs(spec, {"a": 1, "other": 2}) == {"in_a": 1}


@pytest.mark.parametrize("src, why", [
    ("def reference(inputs):\n    return {'r': len(inputs)}\n", "other than by constant keys"),
    ("def reference(inputs):\n    return inputs['x']\n", "dict literal"),
    ("def reference(inputs):\n    if inputs['x']:\n        return {'a': 1}\n    return {'b': 2}\n", "different keys"),
    ("def helper(inputs):\n    return {'a': 1}\n", "no top-level reference"),
])
def test_port_source_rejects_what_it_cannot_rewrite(src: str, why: str) -> None:
    with pytest.raises(PortError, match=why):
        numba_port_source(src)


def _references(where: Path, monkeypatch: pytest.MonkeyPatch, **sources: str) -> None:
    """Reference modules NAME.py in `where`, seen by the peers in place of the corpus's."""
    where.mkdir()
    for name, src in sources.items():
        (where / f"{name}.py").write_text(src)
    monkeypatch.setattr(peers, "REFERENCES", where)


def test_numba_peer_matches_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _references(tmp_path / "refs", monkeypatch, stencil=STENCIL)
    inputs = {"a": np.linspace(0.0, 1.0, 50)}
    want = peers.load_module(tmp_path / "refs" / "stencil.py", "stencil_ref").reference(inputs)
    (peer,) = make_peers("stencil", inputs, want, ["numba"], tmp_path)
    assert peer.status == "ok", peer.reason
    got = peers.port_result(numba_port_source(STENCIL), peer.call(peer.prepare(inputs)))
    np.testing.assert_allclose(got["a"], want["a"])
    assert peer.first_call_s is not None and peer.first_call_s > 0


def test_peers_that_cannot_run_or_differ_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _references(tmp_path / "refs", monkeypatch, unsupported=UNSUPPORTED, wrong=WRONG)
    x = np.ones((3, 4))
    (na,) = make_peers("unsupported", {"x": x}, {"return": x.sum(axis=1)}, ["numba"], tmp_path)
    assert na.status == "n/a" and na.call is None and "einsum" in na.reason
    (bad,) = make_peers("wrong", {"x": x}, {"return": 7}, ["numba"], tmp_path)
    assert bad.status == "wrong" and "got 1, NumPy gives 7" in bad.reason


def test_short_reason_keeps_the_informative_line() -> None:
    e = RuntimeError("Failed in nopython mode pipeline (step: nopython frontend)\n\x1b[1mUnknown attribute 'x'\x1b[0m\n")
    assert short_reason(e) == "RuntimeError: Unknown attribute 'x'"
