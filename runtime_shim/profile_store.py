"""The profile store: measured block timings, kept across runs in a SQLite database.

One row per (block, strategy, run): which program and block it was (`program_sig`,
`block_id`, and `block_sig`, the block's structural signature that survives edits
elsewhere in the program), the strategy, the input shapes and dtypes, the seconds it
took (or that it failed, and why), the machine fingerprint, the mcodec version and,
optionally, the feature vector the policy saw.

The database lives at `<cache>/profiles.sqlite3` (cache: `$MCODEC_CACHE_DIR`, else
`$XDG_CACHE_HOME/mcodec`, else `~/.cache/mcodec`). It runs in WAL mode with a busy
timeout, and every write is one short transaction retried on SQLITE_BUSY, so several
processes (parallel profiling runs, a test suite under xdist) can write at once.

A file that is not a SQLite database, has a schema this module does not recognise, or
was written by a newer mcodec raises `ProfileStoreError` naming the path; the file is
never deleted, reinitialised or written to in that case.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import stat
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
WRITE_RETRIES = 50
LOCK_WAIT_S = 30.0  # in all, over the retries: each may wait BUSY_TIMEOUT_MS in SQLite itself

_COLUMNS = ("program_sig", "block_id", "block_sig", "strategy_id", "shapes", "dtypes", "seconds",
            "success", "machine_fingerprint", "mcodec_version", "created_at", "features", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_sig TEXT NOT NULL,
    block_id TEXT NOT NULL,
    block_sig TEXT NOT NULL,
    strategy_id TEXT NOT NULL,
    shapes TEXT NOT NULL,
    dtypes TEXT NOT NULL,
    seconds REAL,
    success INTEGER NOT NULL,
    machine_fingerprint TEXT NOT NULL,
    mcodec_version TEXT NOT NULL,
    created_at REAL NOT NULL,
    features TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS profiles_block_strategy ON profiles (block_sig, strategy_id);
CREATE INDEX IF NOT EXISTS profiles_machine ON profiles (machine_fingerprint);
"""


class ProfileStoreError(Exception):
    """The profile database cannot be used (corrupt, foreign or from a newer mcodec)."""


def cache_root() -> Path:
    env = os.environ.get("MCODEC_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcodec"


def default_path() -> Path:
    return cache_root() / "profiles.sqlite3"


def _fingerprint() -> str:
    from mcodec.runtime_shim.hardware import machine

    return str(machine()["fingerprint"])


def _version() -> str:
    try:
        from mcodec import __version__
    except Exception:  # pragma: no cover - a partial checkout
        return "unknown"
    return str(__version__)


@dataclass
class ProfileRecord:
    program_sig: str
    block_id: str
    block_sig: str
    strategy_id: str
    shapes: Any  # JSON-able: e.g. [[4, 5], []]
    dtypes: Any  # JSON-able: e.g. ["float32", "int64"]
    seconds: float | None  # None (or anything) when the run failed
    success: bool
    machine_fingerprint: str = field(default_factory=_fingerprint)
    mcodec_version: str = field(default_factory=_version)
    created_at: float = field(default_factory=time.time)
    features: list[float] | None = None
    error: str | None = None

    def _row(self) -> tuple[Any, ...]:
        feats = None if self.features is None else json.dumps([float(x) for x in self.features])
        secs = None if self.seconds is None else float(self.seconds)
        return (self.program_sig, self.block_id, self.block_sig, self.strategy_id,
                json.dumps(self.shapes), json.dumps(self.dtypes), secs, int(bool(self.success)),
                self.machine_fingerprint, self.mcodec_version, float(self.created_at), feats, self.error)

    @staticmethod
    def _from_row(row: tuple[Any, ...]) -> ProfileRecord:
        d = dict(zip(_COLUMNS, row))
        d["shapes"] = json.loads(d["shapes"])
        d["dtypes"] = json.loads(d["dtypes"])
        d["success"] = bool(d["success"])
        d["features"] = None if d["features"] is None else json.loads(d["features"])
        # what the policy does arithmetic on must be numbers (a foreign writer, a bad sector)
        if not _is_number_or_none(d["seconds"]) or not (
                d["features"] is None or isinstance(d["features"], list) and all(map(_is_number, d["features"]))):
            raise ValueError("seconds or features are not numbers")
        return ProfileRecord(**d)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_number_or_none(x: Any) -> bool:
    return x is None or _is_number(x)


def _is_io(e: sqlite3.OperationalError) -> bool:
    msg = str(e).lower()
    return "disk i/o error" in msg or "disk is full" in msg


def _is_readonly(e: sqlite3.OperationalError) -> bool:
    msg = str(e).lower()
    return "readonly" in msg or "read-only" in msg or "unable to open database file" in msg


def _is_busy(e: sqlite3.OperationalError) -> bool:
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


class ProfileStore:
    """A profile database. Safe to use from several processes; one connection per
    process (reopened after a fork), guarded by a lock within the process."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self.read_only: sqlite3.OperationalError | None = None  # why, when it could only be opened to read
        self._connect()

    # -- connection and schema -------------------------------------------------------

    def _error(self, what: str, hint: str | None = None) -> ProfileStoreError:
        if hint is None and not self.path.exists():
            hint = "give a path in a directory that can be written (--profile-db, $MCODEC_CACHE_DIR)"
        quoted = shlex.quote(str(self.path))
        hint = hint or (f"move it aside (e.g. `mv {quoted} {shlex.quote(str(self.path) + '.bad')}`) and mcodec "
                        "will start a new profile database; the file was left untouched")
        return ProfileStoreError(f"profile database {self.path}: {what}; {hint}")

    def _check_header(self) -> None:
        where = "give the path of a database file (--profile-db, $MCODEC_CACHE_DIR)"
        try:
            mode = self.path.stat().st_mode
            if stat.S_ISDIR(mode):
                raise self._error("is a directory", where)
            if not stat.S_ISREG(mode):  # /dev/null, a pipe: "move it aside" would be bad advice
                raise self._error("is not a regular file", where)
            with open(self.path, "rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except FileNotFoundError:
            return
        except NotADirectoryError:
            raise self._error("cannot be created: a directory above it is a file", where) from None
        except OSError as e:
            raise self._error(f"cannot be read ({e})", "check its permissions") from e
        if head and head != SQLITE_MAGIC:
            raise self._error("is not a SQLite database")

    def _connect(self) -> sqlite3.Connection:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                return self._conn
            self._conn = None  # a connection inherited over fork is never used
            self._check_header()
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise self._error(f"cannot be created ({e.strerror})", "check --profile-db / $MCODEC_CACHE_DIR") from e
            try:
                conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None, check_same_thread=False)
            except sqlite3.Error as e:
                raise self._error(f"cannot be opened ({e})") from e
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self._check_schema(conn)
                mode = self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
                if str(mode).lower() != "wal":
                    raise self._error(f"could not switch to WAL mode (got {mode!r})",
                                      "is it on a network file system?")
                conn.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.DatabaseError as e:
                conn.close()
                if isinstance(e, sqlite3.OperationalError) and _is_readonly(e) and self.path.is_file():
                    # a read-only file or file system (a shared store): reading works, and a
                    # write says why it cannot
                    conn = self._connect_read_only(e)
                    self._conn, self._pid, self.read_only = conn, os.getpid(), e
                    return conn
                if isinstance(e, sqlite3.OperationalError) and _is_busy(e):
                    raise self._locked(e) from e
                if isinstance(e, sqlite3.OperationalError) and _is_io(e):
                    raise self._io_error(e) from e
                raise self._error(f"is corrupt or not a profile database ({e})") from e
            except BaseException:
                conn.close()
                raise
            self._conn, self._pid = conn, os.getpid()
            return conn

    def _connect_read_only(self, cause: sqlite3.OperationalError) -> sqlite3.Connection:
        url = "file:" + urllib.request.pathname2url(str(self.path.absolute()))
        # mode=ro still needs the -shm file of a WAL database; immutable=1 does not (and
        # takes no locks, right where nothing can write the file)
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            conn = sqlite3.connect(url + query, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            try:
                self._check_schema(conn)
                return conn
            except sqlite3.OperationalError as e:
                conn.close()
                if not _is_readonly(e):
                    raise self._error(f"is corrupt or not a profile database ({e})") from e
            except BaseException:
                conn.close()
                raise
        raise self._read_only(cause)

    def require_writable(self) -> None:
        """Raise now, not after a long run whose timings then could not be kept."""
        if self.read_only is not None:
            raise self._read_only(self.read_only)

    def _read_only(self, e: sqlite3.OperationalError) -> ProfileStoreError:
        return self._error(f"cannot be written ({e})", "it, or its directory (SQLite writes -wal and -shm files "
                           "beside it), is read-only; give a writable --profile-db")

    def _tables(self, conn: sqlite3.Connection) -> set[str]:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {r[0] for r in rows if not r[0].startswith("sqlite_")}

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        tables = self._tables(conn)
        if not tables:
            self._retry(lambda: self._init_schema(conn))
            tables = self._tables(conn)
        if "schema_version" not in tables:
            raise self._error(f"is a SQLite database but not an mcodec profile database "
                              f"(tables: {', '.join(sorted(tables))})")
        rows = conn.execute("SELECT version FROM schema_version").fetchall()
        if len(rows) != 1 or not isinstance(rows[0][0], int):
            raise self._error(f"has a malformed schema_version table ({rows!r})")
        version = rows[0][0]
        if version > SCHEMA_VERSION:
            raise self._error(f"has schema version {version}, newer than this mcodec understands "
                              f"({SCHEMA_VERSION})", "use a newer mcodec, or point $MCODEC_CACHE_DIR "
                              "elsewhere; the file was left untouched")
        if version < 1:
            raise self._error(f"has an invalid schema version {version}")
        cols = [r[1] for r in conn.execute("PRAGMA table_info(profiles)").fetchall()]
        missing = [c for c in _COLUMNS if c not in cols]
        if missing:
            raise self._error(f"has a malformed schema (profiles lacks {', '.join(missing)})")

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not self._tables(conn):  # another process may have won the race
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _locked(self, e: sqlite3.OperationalError) -> ProfileStoreError:
        return self._error(f"is locked by another process ({e})",
                           "wait for that process to finish (or end it) and run again; the file was left untouched")

    def _io_error(self, e: sqlite3.OperationalError) -> ProfileStoreError:
        # the file may be sound: "corrupt ... move it aside" would mislead
        return self._error(f"cannot be written ({e})",
                           "check the free space and health of its disk, then run again")

    def _retry(self, fn: Any) -> Any:
        delay = 0.005
        deadline = time.monotonic() + LOCK_WAIT_S  # 50 waits of BUSY_TIMEOUT_MS would hang 8 minutes
        for attempt in range(WRITE_RETRIES):
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if _is_io(e):
                    raise self._io_error(e) from e
                if _is_readonly(e):
                    raise self._read_only(e) from e
                if not _is_busy(e):
                    raise
                if attempt == WRITE_RETRIES - 1 or time.monotonic() >= deadline:
                    raise self._locked(e) from e
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        raise AssertionError("unreachable")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Not itself retried: callers pass the whole transaction to `_retry`."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # -- API -------------------------------------------------------------------------

    def record(self, records: Iterable[ProfileRecord]) -> int:
        """Append records in one short transaction; returns how many."""
        rows = [r._row() for r in records]
        if not rows:
            return 0
        sql = f"INSERT INTO profiles ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"

        def tx() -> None:
            with self._write() as conn:
                conn.executemany(sql, rows)

        with self._lock:
            self._retry(tx)
        return len(rows)

    def query(self, block_sig: str | None = None, strategy_id: str | None = None,
              machine: str | None = None, program_sig: str | None = None) -> list[ProfileRecord]:
        where, args = [], []
        for col, val in (("block_sig", block_sig), ("strategy_id", strategy_id),
                         ("machine_fingerprint", machine), ("program_sig", program_sig)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        sql = f"SELECT id, {', '.join(_COLUMNS)} FROM profiles"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        with self._lock:
            conn = self._connect()
            rows = self._retry(lambda: conn.execute(sql, args).fetchall())
        out = []
        for r in rows:
            try:
                out.append(ProfileRecord._from_row(r[1:]))
            except (ValueError, TypeError) as e:
                raise self._malformed(r[0], e) from e
        return out

    def _malformed(self, row_id: int, e: Exception) -> ProfileStoreError:
        return self._error(f"row {row_id} of table profiles is malformed ({e})",
                           f"delete it (`sqlite3 {shlex.quote(str(self.path))} 'DELETE FROM profiles WHERE id = {row_id}'`) "
                           "or move the file aside; the file was left untouched")

    def summary(self, machine: str | None = None) -> list[dict[str, Any]]:
        """Per (block_sig, strategy_id): runs, successes, success_rate and the median
        seconds of the successful runs (None when none succeeded), sorted by block then
        median time; for `mcodec profile --show`."""
        sql = "SELECT block_sig, strategy_id, seconds, success, block_id, id FROM profiles"
        args: list[Any] = []
        if machine is not None:
            sql += " WHERE machine_fingerprint = ?"
            args.append(machine)
        with self._lock:
            conn = self._connect()
            rows = self._retry(lambda: conn.execute(sql, args).fetchall())
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for sig, sid, secs, ok, bid, row_id in rows:
            if not _is_number_or_none(secs):
                raise self._malformed(row_id, ValueError(f"seconds is {secs!r}"))
            g = groups.setdefault((sig, sid), {"times": [], "runs": 0, "ok": 0, "ids": set()})
            g["runs"] += 1
            g["ids"].add(bid)
            if ok:
                g["ok"] += 1
                if secs is not None:
                    g["times"].append(secs)
        out = []
        for (sig, sid), g in groups.items():
            out.append({
                "block_sig": sig, "strategy_id": sid, "runs": g["runs"], "successes": g["ok"],
                "success_rate": g["ok"] / g["runs"],
                "median_seconds": statistics.median(g["times"]) if g["times"] else None,
                "block_ids": sorted(g["ids"]),
            })
        inf = float("inf")
        out.sort(key=lambda d: (d["block_sig"], d["median_seconds"] if d["median_seconds"] is not None else inf,
                                d["strategy_id"]))
        return out

    def block_sigs(self) -> set[str]:
        with self._lock:
            conn = self._connect()
            rows = self._retry(lambda: conn.execute("SELECT DISTINCT block_sig FROM profiles").fetchall())
        return {r[0] for r in rows}

    def stale(self, live_block_sigs: set[str], functions: Iterable[str] | None = None) -> list[str]:
        """Block signatures with profiles that match no live block (the program changed
        since they were measured), sorted; reported, never deleted here. With
        `functions`, only profiles of blocks of functions of those names (a program's
        own: the store holds every program's profiles)."""
        if functions is None:
            sigs = self.block_sigs()
        else:
            names = set(functions)
            with self._lock:
                conn = self._connect()
                rows = self._retry(lambda: conn.execute("SELECT DISTINCT block_sig, block_id FROM profiles").fetchall())
            sigs = {sig for sig, bid in rows if str(bid).rsplit(".", 1)[0] in names}
        return sorted(sigs - set(live_block_sigs))

    def forget(self, block_sigs: Iterable[str]) -> int:
        """Delete the profiles of these block signatures (an explicit user action, e.g.
        `mcodec profile --prune`); returns how many rows went."""
        sigs = list(block_sigs)
        if not sigs:
            return 0

        def tx() -> int:
            with self._write() as conn:
                n = 0
                for s in sigs:
                    n += conn.execute("DELETE FROM profiles WHERE block_sig = ?", (s,)).rowcount
                return n

        with self._lock:
            return int(self._retry(tx))

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._connect().execute("PRAGMA journal_mode").fetchone()[0])

    def count(self) -> int:
        with self._lock:
            conn = self._connect()
            return int(self._retry(lambda: conn.execute("SELECT COUNT(*) FROM profiles").fetchone()[0]))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> ProfileStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
