"""Bad input and bad state at the command line and the Python API: a one-line report
(or a located diagnostic), the documented exit code, never a traceback, and never a
user's file lost."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import mcodec
import numpy as np
import pytest
from mcodec.compiler.cli import main
from mcodec.runtime_shim import profile_store
from mcodec.runtime_shim.artifact import ArtifactError
from mcodec.runtime_shim.profile_store import ProfileRecord, ProfileStore, ProfileStoreError

PROG = "fn f(x: f64[N]) -> f64[N]:\n    return x + 1.0\n"
PRESETS = ("import numpy as np\nENTRY = 'f'\nPRESETS = {'S': 8}\n\n"
           "def make_inputs(preset, seed=0):\n    return {'x': np.arange(PRESETS[preset], dtype=np.float64)}\n")


def program(tmp_path: Path, presets: str = PRESETS) -> Path:
    src = tmp_path / "prog.mc"
    src.write_text(PROG)
    src.with_suffix(".py").write_text(presets)
    return src


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "use -v for the traceback" not in err, err
    return rc, out, err


def built(tmp_path: Path, capsys: pytest.CaptureFixture[str], strategy: str = "numpy") -> Path:
    out = tmp_path / "prog.mcx"
    assert cli(capsys, "build", program(tmp_path), "-o", out, "--strategy", strategy, "-q")[0] == 0
    return out


# -- build never deletes what it did not write ---------------------------------------


def test_build_refuses_to_replace_a_directory_that_is_not_an_artifact(tmp_path: Path, capsys) -> None:
    precious = tmp_path / "results"
    (precious / "sub").mkdir(parents=True)
    (precious / "data.txt").write_text("important")
    rc, _, err = cli(capsys, "build", program(tmp_path), "-o", precious, "-q")
    assert rc == 2 and "not an mcodec artifact" in err
    assert (precious / "data.txt").read_text() == "important" and (precious / "sub").is_dir()
    # an artifact, even a corrupt one, is rebuilt in place
    art = built(tmp_path, capsys)
    (art / "manifest.json").write_text("{ torn")
    assert cli(capsys, "build", tmp_path / "prog.mc", "-o", art, "-q")[0] == 0
    assert mcodec.load(art).f(np.ones(3)).tolist() == [2.0, 2.0, 2.0]
    # but not an artifact the user put a file of their own in
    (art / "notes.txt").write_text("mine")
    rc, _, err = cli(capsys, "build", tmp_path / "prog.mc", "-o", art, "-q")
    assert rc == 2 and "holds files no build wrote (notes.txt)" in err
    assert (art / "notes.txt").read_text() == "mine"


def test_build_refuses_to_replace_a_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    rc, _, err = cli(capsys, "build", program(tmp_path), "-o", target, "-q")
    assert rc == 2 and "notes.txt" in err
    assert target.read_text() == "mine" and not (tmp_path / "notes.txt.old").exists()


def test_build_over_the_current_directory_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    src = program(tmp_path)
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli(capsys, "build", src, "-o", ".", "-q")
    assert rc == 2 and "mcodec: error:" in err and src.is_file()
    (tmp_path / "gone").mkdir()
    monkeypatch.chdir(tmp_path / "gone")
    (tmp_path / "gone").rmdir()  # a deleted working directory is no reason to fail
    assert cli(capsys, "build", src, "-o", tmp_path / "x.mcx", "-q")[0] == 0


def _rebuild(out: str, src: str, n: int) -> None:
    from mcodec.compiler.build import build_module
    from mcodec.compiler.driver import frontend
    from mcodec.runtime_shim.artifact import write_artifact

    result = build_module(frontend(src, "prog.mc"), default="numpy", runnable=False)
    for _ in range(n):
        write_artifact(result, src, Path(out))


def test_concurrent_builds_of_one_artifact_all_succeed(tmp_path: Path) -> None:
    import multiprocessing as mp

    out = tmp_path / "prog.mcx"
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    procs = [ctx.Process(target=_rebuild, args=(str(out), PROG, 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 4  # a shared `prog.mcx.old` gave ENOTEMPTY
    assert [p.name for p in tmp_path.iterdir()] == ["prog.mcx"]
    assert mcodec.load(out).f(np.ones(2)).tolist() == [2.0, 2.0]


# -- corrupt artifacts are reported as such ------------------------------------------


def test_manifest_with_missing_keys_or_files_is_reported(tmp_path: Path, capsys) -> None:
    import json

    art = built(tmp_path, capsys)
    manifest = json.loads((art / "manifest.json").read_text())
    (block,) = manifest["blocks"].values()
    for rel in block["files"]:
        (art / rel).unlink()
    with pytest.raises(ArtifactError, match="is missing"):
        mcodec.load(art)
    del manifest["blocks"]
    (art / "manifest.json").write_text(json.dumps(manifest))
    rc, _, err = cli(capsys, "run", art)
    assert rc == 2 and "corrupt manifest" in err


def test_damaged_block_code_is_an_artifact_error(tmp_path: Path, capsys) -> None:
    art = built(tmp_path, capsys)
    (py,) = (art / "blocks").glob("*.py")
    py.write_text("def (\n")
    with pytest.raises(ArtifactError, match="does not match the hash the build recorded"):
        mcodec.load(art)


def test_ctrl_c_inside_compiled_code_is_an_interruption(tmp_path: Path, capsys, monkeypatch) -> None:
    """Ctrl-C while a Numba block runs reaches Python as a SystemError ('returned a
    result with an exception set') whose context is the KeyboardInterrupt."""
    import mcodec.compiler.cli as cli_module

    def run_interrupted(args: object) -> int:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("CPUDispatcher(blk) returned a result with an exception set") from None

    art = built(tmp_path, capsys)
    monkeypatch.setattr(cli_module, "cmd_run", run_interrupted)
    rc, _, err = cli(capsys, "run", art)
    assert rc == 130 and err.strip() == "mcodec: interrupted"


def test_damaged_numba_jit_cache_is_recompiled(tmp_path: Path, capsys) -> None:
    pytest.importorskip("numba")
    art = built(tmp_path, capsys, "numba")
    cached = list((art / "blocks" / "__pycache__").glob("*.nb[ci]"))
    assert cached
    for f in cached:
        f.write_bytes(b"\xd6 not a pickle")
    assert mcodec.load(art).f(np.ones(3)).tolist() == [2.0, 2.0, 2.0]


# -- command-line usage --------------------------------------------------------------


def test_run_of_a_missing_program_is_a_usage_error(tmp_path: Path, capsys) -> None:
    rc, _, err = cli(capsys, "run", tmp_path / "nope.mc")
    assert rc == 2 and "no such file" in err
    rc, _, err = cli(capsys, "check", tmp_path)
    assert rc == 2 and "is a directory" in err


@pytest.mark.parametrize("argv", [["run", "{src}", "--repeat", "0"],
                                  ["profile", "{src}", "--runs", "0"],
                                  ["profile", "{src}", "--rounds", "-1"]])
def test_counts_are_checked_before_running(tmp_path: Path, capsys, argv: list[str]) -> None:
    src = program(tmp_path)
    with pytest.raises(SystemExit) as ei:
        main([a.format(src=src) for a in argv])
    assert ei.value.code == 2 and "must be at least" in capsys.readouterr().err


def test_bad_emit_ir_kind_builds_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "x.mcx"
    with pytest.raises(SystemExit) as ei:
        main(["build", str(program(tmp_path)), "-o", str(out), "--emit-ir=xml"])
    assert ei.value.code == 2 and "invalid choice" in capsys.readouterr().err
    assert not out.exists()


def test_plan_naming_no_block_of_the_program_is_an_error(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"f.b9": "numba"}')
    rc, _, err = cli(capsys, "build", program(tmp_path), "--plan", plan, "-o", tmp_path / "x.mcx")
    assert rc == 2 and "f.b9" in err and "f.b0" in err


def test_optimize_with_an_unknown_preset_is_an_error(tmp_path: Path, capsys) -> None:
    rc, _, err = cli(capsys, "build", program(tmp_path), "--optimize", "--preset", "XL",
                     "--profile-db", tmp_path / "p.sqlite3", "-o", tmp_path / "x.mcx", "-q")
    assert rc == 2 and "unknown preset 'XL'" in err


def test_ir_to_an_unwritable_path_is_reported(tmp_path: Path, capsys) -> None:
    rc, _, err = cli(capsys, "ir", program(tmp_path), "-o", tmp_path / "no" / "dir" / "x.txt")
    assert rc == 2 and "cannot write" in err


def test_build_to_an_unwritable_path_is_a_usage_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "prog.mcx"  # under a file: no folder can be made there
    rc, _, err = cli(capsys, "build", program(tmp_path), "-o", out, "-q")
    assert rc == 2 and f"{out}: cannot write the artifact" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "prog.mc", "prog.py"]  # nothing left behind


def test_a_byte_that_is_not_utf8_is_located_in_the_program(tmp_path: Path, capsys) -> None:
    src = tmp_path / "latin1.mc"
    src.write_bytes(b"fn f(x: f64) -> f64:\n    # caf\xe9 au lait\n    return x\n")
    rc, _, err = cli(capsys, "check", src)
    assert rc == 1 and f"{src}:2:10: error: byte 0xe9 is not UTF-8" in err, err
    shown, caret = err.splitlines()[1:3]
    assert caret.index("^") == shown.index("\ufffd") and "hint: " in err, err


def test_check_reads_what_is_not_a_regular_file(tmp_path: Path, capsys) -> None:
    assert cli(capsys, "check", os.devnull)[0] == 0  # empty: a program of no functions


def test_preset_without_optimize_is_ignored_with_a_warning(tmp_path: Path, capsys) -> None:
    rc, _, err = cli(capsys, "build", program(tmp_path), "-o", tmp_path / "p.mcx", "--preset", "S", "-q")
    assert rc == 0 and "--preset is read by --optimize only" in err, err


def test_failing_preset_module_is_named(tmp_path: Path, capsys) -> None:
    src = program(tmp_path, PRESETS + "raise ValueError('broken presets')\n")
    rc, _, err = cli(capsys, "run", src)
    assert rc == 3 and "prog.py" in err and "broken presets" in err
    src.with_suffix(".py").write_text("ENTRY = 'f'\nPRESETS = {'S': 8}\n\ndef make_inputs(preset, seed=0):\n"
                                      "    return [1.0]\n")
    rc, _, err = cli(capsys, "run", src)
    assert rc == 3 and "not a dict" in err


# -- state: the profile store and the policy -----------------------------------------


def test_corrupt_profile_store_is_reported_before_a_profiled_run(tmp_path: Path, capsys) -> None:
    art = built(tmp_path, capsys)
    db = tmp_path / "bad.sqlite3"
    db.write_text("not sqlite")
    rc, out, err = cli(capsys, "run", art, "--profile", "--profile-db", db)
    assert rc == 3 and "not a SQLite database" in err and "median" not in out
    assert db.read_text() == "not sqlite"
    rc, _, err = cli(capsys, "profile", "--show", "--profile-db", tmp_path)
    assert rc == 3 and "is a directory" in err


def test_locked_profile_store_is_reported_as_locked_in_bounded_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(profile_store, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(profile_store, "LOCK_WAIT_S", 0.5)
    path = tmp_path / "p.sqlite3"
    store = ProfileStore(path)
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProfileStoreError, match="locked by another process"):
            store.record([ProfileRecord("p", "f.b0", "s", "numpy", [], [], 0.1, True)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # a locked file is not called corrupt when it is opened either
    other = tmp_path / "q.sqlite3"
    holder = sqlite3.connect(str(other), isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t VALUES (1)")
    try:
        with pytest.raises(ProfileStoreError, match="locked by another process"):
            ProfileStore(other)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_unusable_policy_state_is_reported_without_emit_ir(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MCODEC_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache" / "policy").mkdir(parents=True)
    (tmp_path / "cache" / "policy" / "policy.json").write_text("{ torn")
    rc, _, err = cli(capsys, "build", program(tmp_path), "--optimize", "--profile-db", tmp_path / "p.sqlite3",
                     "-o", tmp_path / "x.mcx", "-q")
    assert rc == 0 and "warning" in err and "not valid JSON" in err


# -- the Python API ------------------------------------------------------------------


def test_scalars_out_of_range_are_argument_errors() -> None:
    prog = mcodec.compile_source("fn f(a: i8) -> i8:\n    return a\n"
                                 "fn g(a: i64) -> i64:\n    return a\n"
                                 "fn h(a: f32) -> f32:\n    return a\n")
    for call in (lambda: prog.f(300), lambda: prog.f(np.int64(300)), lambda: prog.g(2**70),
                 lambda: prog.g(np.uint64(2**64 - 1)), lambda: prog.h(1e300)):
        with pytest.raises(mcodec.ArgumentError, match="out of its range"):
            call()
    assert prog.f(-128) == -128 and prog.h(np.inf) == np.inf and prog.g(np.uint64(5)) == 5


def test_ragged_array_argument_is_an_argument_error() -> None:
    prog = mcodec.compile_source(PROG)
    with pytest.raises(mcodec.ArgumentError, match="argument 'x'"):
        prog.f([[1.0, 2.0], [1.0]])


def test_profile_show_of_a_missing_store_creates_nothing(tmp_path: Path, capsys) -> None:
    db = tmp_path / "no" / "such" / "p.sqlite3"
    rc, out, _ = cli(capsys, "profile", "--show", "--profile-db", db)
    assert rc == 0 and "no profiles yet" in out and not (tmp_path / "no").exists()


# -- diagnostics ---------------------------------------------------------------------


@pytest.mark.parametrize("sep", ["\x0c", "\u2028", "\x1e", "\x85"])
def test_diagnostic_shows_the_line_it_points_at(sep: str) -> None:
    # a comment may hold characters that str.splitlines() takes for line breaks
    src = f"# page{sep}break\nfn f(x: f64) -> f64:\n    return x + y\n"
    with pytest.raises(mcodec.CompileError) as ei:
        mcodec.compile_source(src, "p.mc")
    assert "p.mc:3:16" in str(ei.value) and "    3 |     return x + y" in str(ei.value)
    # the parser's own line counting too: an error at the end of the file is on its last line
    with pytest.raises(mcodec.CompileError) as ei:
        mcodec.compile_source(f"# page{sep}break\nfn f(x: f64) -> f64:", "p.mc")
    assert "p.mc:2:21: error: unexpected end of file" in str(ei.value)
    assert "    2 | fn f(x: f64) -> f64:" in str(ei.value)


def test_verbose_and_quiet_are_accepted_before_the_command(tmp_path: Path, capsys) -> None:
    src = program(tmp_path)
    rc, out, _ = cli(capsys, "-v", "check", src)
    assert rc == 0 and "fn f(x: f64[N]) -> f64[N]" in out
    rc, out, _ = cli(capsys, "-q", "check", src)
    assert rc == 0 and out == ""
    rc, out, _ = cli(capsys, "check", src)
    assert rc == 0 and "fn f" not in out and "ok" in out


def test_profile_store_that_is_no_regular_file_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(ProfileStoreError, match="is not a regular file") as ei:
        ProfileStore("/dev/null")
    assert "mv /dev/null" not in str(ei.value)  # never advise moving a device aside
    (tmp_path / "cache").write_text("a file where the cache directory should be")
    with pytest.raises(ProfileStoreError, match="a directory above it is a file"):
        ProfileStore(tmp_path / "cache" / "profiles.sqlite3")


def test_value_argument_aliasing_an_inout_argument_keeps_its_value() -> None:
    src = ("fn f(inout x: f64[N], y: f64[N]):\n    for i in range(1, N):\n        x[i] = x[i] + y[i - 1]\n\n"
           "fn g(inout x: f64[N]):\n    f(x, x)\n")
    prog = mcodec.compile_source(src)
    x = np.arange(5.0)
    prog.g(x)  # an M-CODE call passes y as a value
    want = x.copy()
    x = np.arange(5.0)
    prog.f(x, x)  # so does an entry called from Python with the same array twice
    assert x.tolist() == want.tolist() == [0.0, 1.0, 3.0, 5.0, 7.0]


def test_malformed_profile_rows_are_reported_with_their_id(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    with ProfileStore(path) as st:
        st.record([ProfileRecord("p", "f.b0", "s", "numpy", [], [], 0.1, True, features=[1.0])] * 3)
    db = sqlite3.connect(str(path))
    db.execute("UPDATE profiles SET shapes = '{torn' WHERE id = 2")
    db.execute("UPDATE profiles SET seconds = 'abc' WHERE id = 3")
    db.commit()
    db.close()
    with ProfileStore(path) as st:
        with pytest.raises(ProfileStoreError, match="row 2 of table profiles is malformed"):
            st.query()
        with pytest.raises(ProfileStoreError, match="row 3 of table profiles is malformed"):
            st.summary()


def test_usage_errors_go_to_stderr_with_the_commands_usage(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as ei:
        main([])
    out, err = capsys.readouterr()
    assert ei.value.code == 2 and out == "" and "a command is required" in err
    with pytest.raises(SystemExit) as ei:
        main(["run", str(program(tmp_path)), "-o", "x"])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "usage: mcodec run" in err and "unrecognized arguments: -o x" in err


def test_full_profile_store_is_not_called_corrupt(tmp_path: Path) -> None:
    with ProfileStore(tmp_path / "p.sqlite3") as st:
        conn = st._connect()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL, as on a full disk
        with pytest.raises(ProfileStoreError, match="cannot be written .*full.*free space"):
            st.record([ProfileRecord("p", "f.b0", "s", "numpy", [], [], 0.1, True, features=[1.0] * 5000)])


class _ReadOnlyMount:
    """What a read-write open of a WAL database on a read-only mount gives."""

    def execute(self, *args: object) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    def close(self) -> None:
        pass


def test_read_only_profile_store_is_read_and_refuses_writes_up_front(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "p.sqlite3"
    with ProfileStore(path) as st:
        st.record([ProfileRecord("p", "f.b0", "s", "numpy", [], [], 0.1, True)])
    real = sqlite3.connect
    monkeypatch.setattr(profile_store.sqlite3, "connect",
                        lambda db, *a, uri=False, **kw: real(db, *a, uri=uri, **kw) if uri else _ReadOnlyMount())
    with ProfileStore(path) as st:  # was: "is corrupt or not a profile database; move it aside"
        assert st.count() == 1 and st.summary()[0]["runs"] == 1
        with pytest.raises(ProfileStoreError, match="read-only"):
            st.require_writable()
        with pytest.raises(ProfileStoreError, match="read-only"):
            st.record([ProfileRecord("p", "f.b0", "s", "numpy", [], [], 0.1, True)])


def test_profile_checks_the_program_and_its_preset_module_first(tmp_path: Path, capsys) -> None:
    db = tmp_path / "p.sqlite3"
    src = program(tmp_path, PRESETS.replace("ENTRY = 'f'", "ENTRY = 'g'"))
    rc, _, err = cli(capsys, "profile", src, "--rounds", "0", "--runs", "1", "--profile-db", db)
    assert rc == 2 and "ENTRY = 'g' names no function of prog.mc" in err  # was KeyError: 'g'
    src.write_text("fn f(x: f64[N]) -> f64[N]:\n    return x + y\n")
    rc, _, err = cli(capsys, "profile", src, "--profile-db", db)
    assert rc == 1 and "prog.mc:2:16" in err and "profiling" not in err


def test_run_an_entry_named_like_a_program_attribute(tmp_path: Path, capsys) -> None:
    src = tmp_path / "prog.mc"
    src.write_text(PROG.replace("fn f(", "fn info("))
    src.with_suffix(".py").write_text(PRESETS.replace("ENTRY = 'f'", "ENTRY = 'info'"))
    rc, out, _ = cli(capsys, "run", src)  # was: TypeError: 'dict' object is not callable
    assert rc == 0 and "float64[8]" in out


def test_check_goes_on_past_a_missing_file(tmp_path: Path, capsys) -> None:
    good = program(tmp_path)
    bad = tmp_path / "bad.mc"
    bad.write_text("fn g() -> f64:\n    return y\n")
    rc, out, err = cli(capsys, "check", tmp_path / "missing.mc", good, bad)
    assert rc == 2 and "missing.mc: no such file" in err and "prog.mc: ok" in out and "bad.mc:2:12" in err


def test_diagnostic_shows_control_characters_visibly() -> None:
    # a raw \r or escape sequence in the echoed line rewrote the terminal line
    with pytest.raises(mcodec.CompileError) as ei:
        mcodec.compile_source("fn f(x: f64) -> f64:\n    return x\x1b[2J + y\r\n")
    shown = str(ei.value).splitlines()[1]
    assert "\x1b" not in shown and "\r" not in shown and "\u241b[2J" in shown


def test_artifact_whose_source_does_not_compile_names_the_artifact(tmp_path: Path, capsys) -> None:
    import hashlib
    import json

    art = built(tmp_path, capsys)
    (art / "source.mc").write_text("fn f(x: f64[N]) -> f64[N]:\n    return y\n")  # e.g. a newer mcodec's
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["source_sha256"] = hashlib.sha256((art / "source.mc").read_bytes()).hexdigest()
    (art / "manifest.json").write_text(json.dumps(manifest))
    rc, _, err = cli(capsys, "run", art)
    assert rc == 2 and "does not compile with this mcodec" in err and f"{art / 'source.mc'}:2:12" in err


def test_plan_with_a_non_string_strategy_or_with_optimize_is_a_usage_error(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"f.b0": ["numba"]}')
    rc, _, err = cli(capsys, "build", program(tmp_path), "--plan", plan, "-o", tmp_path / "x.mcx")
    assert rc == 2 and "unknown strategy ['numba']" in err  # was: TypeError: unhashable type: 'list'
    plan.write_text('{"f.b0": "numba"}')
    rc, _, err = cli(capsys, "build", tmp_path / "prog.mc", "--plan", plan, "--optimize",
                     "--profile-db", tmp_path / "p.sqlite3", "-o", tmp_path / "x.mcx")
    assert rc == 2 and "--plan and --optimize" in err and not (tmp_path / "x.mcx").exists()


def test_ir_never_writes_over_its_program(tmp_path: Path, capsys, monkeypatch) -> None:
    src = program(tmp_path)
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli(capsys, "ir", src, "-o", "./prog.mc")
    assert rc == 2 and "overwrite the program" in err and src.read_text() == PROG


def test_a_failing_graphviz_is_a_warning(tmp_path: Path, capsys, monkeypatch) -> None:
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Error: bad dot' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    rc, out, err = cli(capsys, "build", program(tmp_path), "-o", tmp_path / "x.mcx", "--emit-ir=dot", "-q")
    assert rc == 0 and "Error: bad dot" in err and (tmp_path / "x.mcx" / "blocks.dot").is_file()


def test_interrupted_rebuild_keeps_the_previous_artifact(tmp_path: Path, capsys, monkeypatch) -> None:
    from mcodec.runtime_shim import artifact

    art = built(tmp_path, capsys)
    real = os.replace

    def interrupted(a: Path, b: Path) -> None:
        if Path(b) == art.resolve() and ".old." not in Path(a).name:
            raise KeyboardInterrupt  # Ctrl-C after the old artifact was moved aside
        real(a, b)

    monkeypatch.setattr(artifact.os, "replace", interrupted)
    assert main(["build", str(tmp_path / "prog.mc"), "-o", str(art), "-q"]) == 130
    monkeypatch.setattr(artifact.os, "replace", real)
    assert mcodec.load(art).f(np.ones(2)).tolist() == [2.0, 2.0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_optimize_and_strategy_together_are_refused(tmp_path: Path, capsys) -> None:
    rc, _, err = cli(capsys, "build", program(tmp_path), "-o", tmp_path / "o.mcx", "--optimize", "--strategy", "numba")
    assert rc == 2 and "--strategy and --optimize" in err


def test_emit_ir_json_on_stdout_is_json_alone(tmp_path: Path, capsys) -> None:
    import json

    rc, out, err = cli(capsys, "build", program(tmp_path), "-o", tmp_path / "o.mcx", "--emit-ir=json")
    assert rc == 0 and isinstance(json.loads(out), dict)  # (the block table went to stderr)
    assert "built " in err


def test_a_device_fallback_is_shown_and_warned_as_the_tools_own(tmp_path: Path, capsys) -> None:
    pytest.importorskip("mlx.core")
    from mcodec.compiler.backends.mlx_backend import gpu_available

    if gpu_available():
        pytest.skip("this machine has a GPU: nothing falls back")
    src = tmp_path / "g.mc"  # (f32: MLX GPUs have no f64)
    src.write_text("fn g(x: f32[N]) -> f32[N]:\n    return x * 2.0\n")
    src.with_suffix(".py").write_text(PRESETS.replace("'f'", "'g'").replace("np.float64", "np.float32"))
    out = tmp_path / "g.mcx"
    rc, table, _ = cli(capsys, "build", src, "-o", out, "--strategy", "mlx-gpu")
    assert rc == 0 and "MLX has no GPU on this machine" in table  # the block table's note
    import mcodec.compiler.backends.mlx_backend as mlx_backend

    mlx_backend._fallback_warned = False  # (one warning per process: as a fresh `mcodec run`)
    rc, _, err = cli(capsys, "run", out, "-q")
    assert rc == 0 and err.count("mcodec: warning: MLX has no GPU") == 1 and ".py:" not in err


def test_hand_edited_block_table_or_other_machine_is_reported(tmp_path: Path, capsys) -> None:
    """A strategy edited from numba to numpy in the manifest ran the Numba source as
    Python (1000x slower, no message); an artifact from another machine ran silently."""
    import json
    import warnings

    art = built(tmp_path, capsys, "numba")
    text = (art / "manifest.json").read_text()
    manifest = json.loads(text)
    (block,) = manifest["blocks"].values()
    block["strategy"] = "numpy"
    (art / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="block table does not match the hash"):
        mcodec.load(art)
    manifest = json.loads(text)
    manifest["machine"]["fingerprint"] = "elsewhere"
    (art / "manifest.json").write_text(json.dumps(manifest))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert mcodec.load(art).f(np.ones(2)).tolist() == [2.0, 2.0]
    assert any("built on another machine (elsewhere" in str(w.message) for w in caught)
