"""The ledger database: SQLite in WAL mode, one row per interval and channel or source, versioned.

Tables (schema version in PRAGMA user_version, migrated by `update_to_N` like the records):

    meta(key, value)                      format, created_at
    sessions(id, uuid, machine, host, boot_id, pid, started_wall, interval_s, version, config,
             stopped_wall, stop_reason)  one per recorder start; config holds sources and profile (JSON)
    names(id, kind, name, info)           channels, sources and models, stored once
    intervals(session, seq, start_ms, span_us, flags)
    energy(session, seq, channel, millijoules, source)     one row per interval and power channel
    work(session, seq, source, model, requests, input_tokens, cached_tokens, output_tokens, busy_ms, flags)
                                          one row per interval, source and model that served something
    events(session, wall, seq, kind, message)               what happened, said in words
    state(session, key, value)            the last counter readings, to recover a gap after a crash

`start_ms` is wall-clock milliseconds (UNIX time, UTC, for labels); `span_us` comes from the monotonic
clock. Figures are stored as integers in the unit of the column name (SQLite writes small integers in
1 to 4 bytes, a float in 8): that keeps a month of a big machine under 20 MB. Each
interval is written in one transaction (with synchronous=FULL), so a crash, a kill -9 or a full disk
leaves the database as it was after the last complete interval.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..redact import redact, redact_text

SCHEMA_VERSION = 1
APPLICATION_ID = 0x62626C67          # "bblg": tells a ledger from any other SQLite file
FORMAT = "benchbench-ledger"
SQLITE_MAGIC = b"SQLite format 3\x00"

# interval flags
CLOCK_STEP, WRITTEN_LATE, GAP, FIRST = 1, 2, 4, 8
# work flags
COUNTER_RESET, SOURCE_DOWN, CATCH_UP, ESTIMATED, PARTIAL = 1, 2, 4, 8, 16
# energy sources
ENERGY_SOURCES = {"counter": 1, "integrated": 2, "declared": 3, "estimated": 4}
ENERGY_SOURCE_NAMES = {v: k for k, v in ENERGY_SOURCES.items()}

SCHEMA_V1 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions(id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, machine TEXT NOT NULL,
    host TEXT NOT NULL, boot_id TEXT, pid INTEGER, started_wall REAL NOT NULL, interval_s REAL NOT NULL,
    version TEXT, config TEXT NOT NULL, stopped_wall REAL, stop_reason TEXT);
CREATE TABLE names(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, info TEXT,
    UNIQUE(kind, name));
CREATE TABLE intervals(session INTEGER NOT NULL, seq INTEGER NOT NULL, start_ms INTEGER NOT NULL,
    span_us INTEGER NOT NULL, flags INTEGER NOT NULL, PRIMARY KEY(session, seq)) WITHOUT ROWID;
CREATE TABLE energy(session INTEGER NOT NULL, seq INTEGER NOT NULL, channel INTEGER NOT NULL,
    millijoules INTEGER NOT NULL, source INTEGER NOT NULL, PRIMARY KEY(session, seq, channel)) WITHOUT ROWID;
CREATE TABLE work(session INTEGER NOT NULL, seq INTEGER NOT NULL, source INTEGER NOT NULL,
    model INTEGER NOT NULL, requests INTEGER, input_tokens INTEGER, cached_tokens INTEGER,
    output_tokens INTEGER, busy_ms INTEGER, flags INTEGER NOT NULL,
    PRIMARY KEY(session, seq, source, model)) WITHOUT ROWID;
CREATE TABLE events(session INTEGER NOT NULL, wall REAL NOT NULL, seq INTEGER, kind TEXT NOT NULL,
    message TEXT NOT NULL);
CREATE UNIQUE INDEX events_key ON events(session, wall, kind, message);
CREATE TABLE state(session INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY(session, key)) WITHOUT ROWID;
"""


class LedgerError(UserError):
    """A file that is not a ledger, or one written by a newer benchbench."""


@dataclass
class WorkRow:
    """What one source served for one model during one interval (None: the source can't tell)."""

    source: str
    model: str
    requests: int | None = None
    input_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int | None = None
    busy_s: float | None = None
    flags: int = 0


@dataclass
class Tick:
    """One interval of one session, written in one transaction."""

    seq: int
    start_wall: float
    span_s: float
    flags: int = 0
    energy: list[tuple[str, float, str]] = field(default_factory=list)   # channel, joules, source
    work: list[WorkRow] = field(default_factory=list)
    events: list[tuple[float, str, str]] = field(default_factory=list)   # wall, kind, message
    state: dict[str, Any] = field(default_factory=dict)


def update_to_1(conn: sqlite3.Connection) -> None:
    """An empty file → version 1 (statement by statement: executescript would commit midway)."""
    for statement in SCHEMA_V1.split(";"):
        if statement.strip():
            conn.execute(statement)


MIGRATIONS = {1: update_to_1}


def is_ledger(path: Path) -> bool:
    """True for a SQLite file that carries the ledger's application id."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(72)
    except OSError:
        return False
    if len(head) < 72 or head[:16] != SQLITE_MAGIC:
        return False
    if int.from_bytes(head[68:72], "big") == APPLICATION_ID:
        return True
    try:   # a new ledger's first page may still be in its WAL: ask SQLite (without writing anything)
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=2.0)
        try:
            return conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def find_ledgers(paths: Iterable[Path | str]) -> list[Path]:
    """Ledger files among `paths` (files, or folders searched for *.db / *.sqlite / *.ledger)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted(p for ext in ("*.db", "*.sqlite", "*.ledger") for p in path.rglob(ext))
        else:
            candidates = [path]
        found += [p for p in candidates if p.is_file() and is_ledger(p) and p not in found]
    return found


def connect(path: Path | str, readonly: bool = False, timeout_s: float = 10.0) -> sqlite3.Connection:
    """A connection with the ledger's pragmas; `readonly` opens without creating or migrating."""
    path = Path(path)
    if readonly:   # read-write underneath (so the last one out tidies the WAL away), queries only
        try:
            conn = sqlite3.connect(f"file:{path.resolve()}?mode=rw", uri=True, timeout=timeout_s,
                                   isolation_level=None)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:   # a read-only file or medium
            conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=timeout_s,
                                   isolation_level=None)
            conn.execute("PRAGMA query_only=ON")
        return conn
    conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def open_ledger(path: Path | str) -> sqlite3.Connection:
    """Open (creating and migrating as needed) a ledger for writing; UserError when it can't be."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size and not is_ledger(path):
            raise LedgerError("is not a benchbench ledger (another SQLite database or file)", file=str(path),
                              hint="choose another --ledger path")
        conn = connect(path)
        migrate(conn, str(path))
    except sqlite3.Error as exc:
        raise UserError(f"cannot open the ledger: {exc}", file=str(path),
                        hint="check the folder exists, is writable and has free space") from None
    except OSError as exc:
        raise UserError(f"cannot open the ledger: {exc.strerror or exc}", file=str(path),
                        hint="check the folder exists, is writable and has free space") from None
    return conn


def migrate(conn: sqlite3.Connection, where: str = "ledger") -> int:
    """Bring the schema to SCHEMA_VERSION (each step in one transaction); returns the version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise LedgerError(f"ledger schema {version} is newer than this benchbench's ({SCHEMA_VERSION})",
                          file=where, hint="upgrade benchbench")
    while version < SCHEMA_VERSION:
        step = version + 1
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != version:  # another process migrated it
                conn.execute("ROLLBACK")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                continue
            MIGRATIONS[step](conn)
            if step == 1:
                conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                conn.execute("INSERT INTO meta VALUES ('format', ?), ('created_at', strftime('%s','now'))",
                             (FORMAT,))
            conn.execute(f"PRAGMA user_version={step}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = step
    return version


class Ledger:
    """A writer: one session of one recorder. Writes raise sqlite3.Error; the recorder keeps the
    ticks it could not write and tries again (store.py never loses a tick by itself)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self.conn = open_ledger(self.path)
        self.session: int | None = None
        self._names: dict[tuple[str, str], int] = {}

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def start_session(self, uuid: str, machine: str, host: str, boot_id: str | None, pid: int,
                      started_wall: float, interval_s: float, version: str, config: dict[str, Any]) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO sessions(uuid, machine, host, boot_id, pid, started_wall, interval_s, version, config)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (uuid, machine, host, boot_id, pid, started_wall, interval_s, version, json.dumps(redact(config))))
            self.session = int(cur.lastrowid or 0)
        return self.session

    def previous_session(self, machine: str, roles: set[str]) -> dict[str, Any] | None:
        """The newest earlier session of this machine sharing a role (power or a source), with its
        state and last interval: what a restart needs to say what it missed and recover the gap."""
        rows = self.conn.execute(
            "SELECT id, uuid, boot_id, stopped_wall, stop_reason, config FROM sessions "
            "WHERE machine=? AND id<>? ORDER BY id DESC LIMIT 20", (machine, self.session or -1)).fetchall()
        for sid, uuid, boot, stopped, reason, config in rows:
            cfg = json.loads(config)
            if not roles & set(cfg.get("roles") or []):
                continue
            last = self.conn.execute("SELECT seq, start_ms / 1e3 + span_us / 1e6 FROM intervals WHERE session=? "
                                     "ORDER BY seq DESC LIMIT 1", (sid,)).fetchone()
            state = {k: json.loads(v) for k, v in
                     self.conn.execute("SELECT key, value FROM state WHERE session=?", (sid,))}
            return {"id": sid, "uuid": uuid, "boot_id": boot, "stopped_wall": stopped, "stop_reason": reason,
                    "last_seq": last[0] if last else None, "last_end_wall": last[1] if last else None,
                    "state": state}
        return None

    def stop_session(self, wall: float, reason: str) -> None:
        with self.transaction():
            self.conn.execute("UPDATE sessions SET stopped_wall=?, stop_reason=? WHERE id=?",
                              (wall, redact_text(reason), self.session))

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    def name_id(self, kind: str, name: str, info: dict[str, Any] | None = None) -> int:
        name = redact_text(name)                   # a channel, source or model name never stores a secret
        key = (kind, name)
        if key not in self._names:
            self.conn.execute("INSERT OR IGNORE INTO names(kind, name, info) VALUES (?,?,?)",
                              (kind, name, json.dumps(redact(info)) if info else None))
            self._names[key] = self.conn.execute("SELECT id FROM names WHERE kind=? AND name=?", key).fetchone()[0]
        return self._names[key]

    def write(self, ticks: list[Tick]) -> None:
        """Write ticks (all or none). Raises sqlite3.Error (disk full, read-only...)."""
        with self.transaction():
            for tick in ticks:
                self._write_tick(tick)

    def _write_tick(self, tick: Tick) -> None:
        s = self.session
        self.conn.execute("INSERT INTO intervals VALUES (?,?,?,?,?)",
                          (s, tick.seq, round(tick.start_wall * 1e3), round(tick.span_s * 1e6), tick.flags))
        self.conn.executemany("INSERT INTO energy VALUES (?,?,?,?,?)", [
            (s, tick.seq, self.name_id("channel", ch), round(joules * 1e3), ENERGY_SOURCES[src])
            for ch, joules, src in tick.energy])
        self.conn.executemany("INSERT INTO work VALUES (?,?,?,?,?,?,?,?,?,?)", [
            (s, tick.seq, self.name_id("source", w.source), self.name_id("model", w.model), w.requests,
             w.input_tokens, w.cached_tokens, w.output_tokens, None if w.busy_s is None else round(w.busy_s * 1e3),
             w.flags) for w in tick.work])
        self.conn.executemany("INSERT OR IGNORE INTO events VALUES (?,?,?,?,?)",
                              [(s, wall, tick.seq, kind, redact_text(msg)) for wall, kind, msg in tick.events])
        self.conn.executemany("INSERT OR REPLACE INTO state VALUES (?,?,?)",
                              [(s, k, json.dumps(v)) for k, v in tick.state.items()])

    def event(self, wall: float, kind: str, message: str) -> None:
        with self.transaction():
            self.conn.execute("INSERT OR IGNORE INTO events VALUES (?,?,?,?,?)",
                              (self.session, wall, None, kind, redact_text(message)))


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK (and forget cached name ids) on any error."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def __enter__(self) -> None:
        self.ledger.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        conn = self.ledger.conn
        if exc_type is None:
            try:
                conn.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        self.ledger._names.clear()   # ids inserted in the failed transaction are gone
        try:
            if self.ledger.conn.in_transaction:
                self.ledger.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def describe_error(exc: BaseException) -> str:
    """A short reason for a failed write: disk full, read-only, I/O error..."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "disk full"
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return "read-only"
    if name.startswith("SQLITE_IOERR") or "disk I/O" in text:
        return f"I/O error ({text})"
    if name.startswith("SQLITE_BUSY") or "locked" in text:
        return "database locked by another process"
    return text or type(exc).__name__
