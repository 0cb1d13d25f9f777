"""Consistent copies of a live ledger (SQLite's online backup) and merging ledgers into one.

A ledger that a recorder is writing cannot be copied file by file (the WAL holds the newest
intervals); `snapshot` uses the backup API, which reads one consistent state. `merge` adds what a
source ledger has and the destination lacks, keyed by session uuid and interval number, so merging
the same ledger twice (every `benchbench gather`) adds nothing and never rewrites what is there.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from ..errors import UserError
from .store import SCHEMA_VERSION, connect, is_ledger, open_ledger

TABLE_COPIES = (
    ("intervals", "INSERT OR IGNORE INTO main.intervals SELECT m.dst, i.seq, i.start_ms, i.span_us, i.flags "
                  "FROM src.intervals i JOIN temp.map_s m ON m.src = i.session"),
    ("energy", "INSERT OR IGNORE INTO main.energy SELECT m.dst, e.seq, c.dst, e.millijoules, e.source "
               "FROM src.energy e JOIN temp.map_s m ON m.src = e.session JOIN temp.map_n c ON c.src = e.channel"),
    ("work", "INSERT OR IGNORE INTO main.work SELECT m.dst, w.seq, s.dst, o.dst, w.requests, w.input_tokens, "
             "w.cached_tokens, w.output_tokens, w.busy_ms, w.flags FROM src.work w "
             "JOIN temp.map_s m ON m.src = w.session JOIN temp.map_n s ON s.src = w.source "
             "JOIN temp.map_n o ON o.src = w.model"),
    ("events", "INSERT OR IGNORE INTO main.events SELECT m.dst, e.wall, e.seq, e.kind, e.message "
               "FROM src.events e JOIN temp.map_s m ON m.src = e.session"),
    ("state", "INSERT INTO main.state SELECT m.dst, t.key, t.value FROM src.state t "
              "JOIN temp.map_s m ON m.src = t.session WHERE true ON CONFLICT(session, key) "
              "DO UPDATE SET value = excluded.value WHERE state.value <> excluded.value"),
)


def require_ledger(path: Path) -> None:
    if not path.is_file():
        raise UserError("no such ledger", file=str(path))
    if not is_ledger(path):
        raise UserError("is not a benchbench ledger", file=str(path), hint="ledgers are written by `benchbench watch`")


def snapshot(src: Path | str, dst: Path | str) -> Path:
    """Write a consistent copy of the ledger `src` to `dst` (which must not exist)."""
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    require_ledger(src)
    if dst.exists():
        raise UserError("exists; a snapshot never overwrites a file", file=str(dst))
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".part", dir=dst.parent)
    os.close(fd)
    try:
        source = connect(src, readonly=True)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
            source.close()
        os.link(tmp, dst)
    except sqlite3.Error as exc:
        raise UserError(f"cannot copy the ledger: {exc}", file=str(src)) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dst


def merge(src: Path | str, dst: Path | str) -> dict[str, int]:
    """Add the sessions, intervals, rows and events of ledger `src` that ledger `dst` lacks
    (creating `dst` if needed); returns the number of rows added per table. A ledger of an older
    schema is migrated in a temporary copy first (the file itself is left as it is)."""
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    require_ledger(src)
    probe = connect(src, readonly=True)
    try:
        version = probe.execute("PRAGMA user_version").fetchone()[0]
    finally:
        probe.close()
    if version > SCHEMA_VERSION:
        raise UserError(f"ledger schema {version} is newer than this benchbench's ({SCHEMA_VERSION})",
                        file=str(src), hint="upgrade benchbench")
    if version == SCHEMA_VERSION:
        return _merge(src, dst)
    with tempfile.TemporaryDirectory(dir=dst.parent) as folder:
        current = snapshot(src, Path(folder) / "migrated.db")
        open_ledger(current).close()
        return _merge(current, dst)


def _merge(src: Path, dst: Path) -> dict[str, int]:
    conn = open_ledger(dst)
    added: dict[str, int] = {}
    try:
        conn.execute("ATTACH DATABASE ? AS src", (str(src.resolve()),))
        conn.execute("BEGIN IMMEDIATE")
        before = conn.total_changes
        conn.execute("INSERT OR IGNORE INTO main.sessions(uuid, machine, host, boot_id, pid, started_wall, "
                     "interval_s, version, config, stopped_wall, stop_reason) SELECT uuid, machine, host, boot_id, "
                     "pid, started_wall, interval_s, version, config, stopped_wall, stop_reason FROM src.sessions")
        added["sessions"] = conn.total_changes - before
        conn.execute("UPDATE main.sessions SET stopped_wall = s.stopped_wall, stop_reason = s.stop_reason "
                     "FROM src.sessions s WHERE s.uuid = main.sessions.uuid AND main.sessions.stopped_wall IS NULL "
                     "AND s.stopped_wall IS NOT NULL")
        conn.execute("INSERT OR IGNORE INTO main.names(kind, name, info) SELECT kind, name, info FROM src.names")
        conn.execute("CREATE TEMP TABLE map_s AS SELECT s.id AS src, d.id AS dst FROM src.sessions s "
                     "JOIN main.sessions d ON d.uuid = s.uuid")
        conn.execute("CREATE TEMP TABLE map_n AS SELECT s.id AS src, d.id AS dst FROM src.names s "
                     "JOIN main.names d ON d.kind = s.kind AND d.name = s.name")
        for table, sql in TABLE_COPIES:
            before = conn.total_changes
            conn.execute(sql)
            added[table] = conn.total_changes - before
        conn.execute("DROP TABLE temp.map_s")
        conn.execute("DROP TABLE temp.map_n")
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise UserError(f"cannot merge the ledger: {exc}", file=str(src)) from None
    finally:
        conn.close()
    return added
