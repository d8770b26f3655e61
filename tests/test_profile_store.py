"""The profile store: a real SQLite database shared by concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest
from mcodec.runtime_shim.profile_store import (
    SCHEMA_VERSION,
    ProfileRecord,
    ProfileStore,
    ProfileStoreError,
    default_path,
)


def rec(block_sig: str = "b1", strategy: str = "numpy", seconds: float | None = 0.01, success: bool = True,
        **kw) -> ProfileRecord:
    return ProfileRecord(program_sig=kw.pop("program_sig", "p1"), block_id=kw.pop("block_id", "f/b0"),
                         block_sig=block_sig, strategy_id=strategy, shapes=[[4, 5], []],
                         dtypes=["float32", "int64"], seconds=seconds, success=success, **kw)


def test_round_trip_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    with ProfileStore(path) as st:
        assert st.journal_mode() == "wal"
        r1 = rec(features=[1.0, 2.5], machine_fingerprint="m1")
        r2 = rec("b2", "numba", None, False, error="lowering failed: x", machine_fingerprint="m2")
        assert st.record([r1, r2]) == 2
    with ProfileStore(path) as st:  # reopened: persisted
        got = st.query()
        assert got == [r1, r2]
        assert got[0].shapes == [[4, 5], []] and got[0].features == [1.0, 2.5]
        assert st.query(block_sig="b2") == [r2]
        assert st.query(strategy_id="numpy") == [r1]
        assert st.query(machine="m2") == [r2]
        assert st.query(block_sig="b1", machine="m2") == []
    con = sqlite3.connect(path)
    assert con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    con.close()


def test_default_path_follows_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "c"))
    assert default_path() == tmp_path / "c" / "profiles.sqlite3"
    monkeypatch.delenv("MCODEC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_path() == tmp_path / "x" / "mcodec" / "profiles.sqlite3"
    st = ProfileStore()
    st.record([rec()])
    st.close()
    assert (tmp_path / "x" / "mcodec" / "profiles.sqlite3").exists()


def _writer(path: str, worker: int, n: int) -> None:
    st = ProfileStore(Path(path))
    for i in range(n):
        # small transactions, interleaved with the other writers
        st.record([rec(f"w{worker}", "numpy", 0.001 * i, block_id=f"{worker}/{i}")])
    st.close()


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 200)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with ProfileStore(path) as st:
        assert st.count() == 800
        for w in range(4):
            ids = {r.block_id for r in st.query(block_sig=f"w{w}")}
            assert ids == {f"{w}/{i}" for i in range(200)}


def test_corrupt_file_is_reported_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "profiles.sqlite3"
    garbage = bytes(range(256)) * 40
    path.write_bytes(garbage)
    with pytest.raises(ProfileStoreError) as ei:
        ProfileStore(path)
    msg = str(ei.value)
    assert str(path) in msg and "not a SQLite database" in msg and "move it aside" in msg
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profiles.sqlite3"]


def test_sqlite_header_but_garbage_body(tmp_path: Path) -> None:
    path = tmp_path / "profiles.sqlite3"
    data = b"SQLite format 3\x00" + b"\xff" * 4000
    path.write_bytes(data)
    with pytest.raises(ProfileStoreError, match="profiles.sqlite3"):
        ProfileStore(path)
    assert path.read_bytes() == data


def test_foreign_and_future_schemas(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE users (name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(ProfileStoreError, match="not an mcodec profile database"):
        ProfileStore(other)
    con = sqlite3.connect(other)
    assert con.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]
    con.close()

    future = tmp_path / "future.db"
    ProfileStore(future).close()
    con = sqlite3.connect(future)
    con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(ProfileStoreError, match="newer"):
        ProfileStore(future)

    broken = tmp_path / "broken.db"
    con = sqlite3.connect(broken)
    con.execute("CREATE TABLE schema_version (version INTEGER)")
    con.execute("INSERT INTO schema_version VALUES (1)")
    con.execute("CREATE TABLE profiles (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(ProfileStoreError, match="malformed schema"):
        ProfileStore(broken)


def test_stale_signatures(tmp_path: Path) -> None:
    with ProfileStore(tmp_path / "p.sqlite3") as st:
        st.record([rec("a"), rec("b"), rec("c"), rec("b", "numba")])
        assert st.stale({"a", "c", "z"}) == ["b"]
        assert st.stale(set()) == ["a", "b", "c"]
        assert st.stale({"a", "b", "c"}) == []
        assert st.forget(["b"]) == 2
        assert st.stale({"a", "c"}) == []


def test_stale_signatures_of_one_programs_functions(tmp_path: Path) -> None:
    """Another program's profiles are not stale for this one (they were reported so:
    with two programs profiled, each saw the other's blocks as stale)."""
    with ProfileStore(tmp_path / "p.sqlite3") as st:
        st.record([rec("s0", block_id="softmax.b0"), rec("s1", block_id="softmax.b1"),
                   rec("c0", block_id="crc16.b0"), rec("old", block_id="softmax.b2")])
        assert st.stale({"s0", "s1"}, ["softmax"]) == ["old"]
        assert st.stale({"c0"}, ["crc16"]) == []
        assert st.stale({"s0", "s1"}) == ["c0", "old"]


def test_summary_numbers(tmp_path: Path) -> None:
    with ProfileStore(tmp_path / "p.sqlite3") as st:
        st.record([rec("a", "numpy", t) for t in (0.3, 0.1, 0.2)]
                  + [rec("a", "numba", 0.05), rec("a", "numba", 0.07), rec("a", "numba", None, False, error="x")]
                  + [rec("b", "llvm", None, False, error="y")])
        rows = {(r["block_sig"], r["strategy_id"]): r for r in st.summary()}
        assert [(r["block_sig"], r["strategy_id"]) for r in st.summary()] == [
            ("a", "numba"), ("a", "numpy"), ("b", "llvm")]
        np_ = rows[("a", "numpy")]
        assert np_["runs"] == 3 and np_["success_rate"] == 1.0
        assert np_["median_seconds"] == pytest.approx(0.2)
        nb = rows[("a", "numba")]
        assert nb["runs"] == 3 and nb["successes"] == 2
        assert nb["success_rate"] == pytest.approx(2 / 3)
        assert nb["median_seconds"] == pytest.approx(0.06)
        lv = rows[("b", "llvm")]
        assert lv["success_rate"] == 0.0 and lv["median_seconds"] is None
