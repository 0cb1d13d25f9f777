"""The job store: one SQLite table, so the queue and every job's outcome survive a restart."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..redact import redact_text

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINISHED = (DONE, FAILED, CANCELLED)
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    status TEXT NOT NULL,
    prompt TEXT NOT NULL,
    duration_s REAL NOT NULL,
    seed INTEGER NOT NULL,
    image TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    error TEXT,
    exit_code INTEGER,
    pid INTEGER,
    record TEXT,
    video TEXT,
    metrics TEXT
)
"""


@dataclass
class Job:
    """One generation request and what became of it. Times are Unix epoch seconds."""

    id: str
    status: str
    prompt: str
    duration_s: float
    seed: int
    created_at: float
    image: str | None = None        # file name of the uploaded image in the job folder
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    exit_code: int | None = None
    pid: int | None = None
    record: str | None = None       # result record path, relative to the results folder
    video: str | None = None        # MP4 path, relative to the results folder
    metrics: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None

    @property
    def queue_s(self) -> float | None:
        return None if self.started_at is None else self.started_at - self.created_at

    @property
    def run_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


def iso(ts: float | None) -> str | None:
    """Epoch seconds → ISO 8601 UTC with milliseconds (the record's format)."""
    if ts is None:
        return None
    stamp = dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def new_job_id() -> str:
    """12 hex digits, like the published server's ids."""
    return secrets.token_hex(6)


class JobStore:
    """Thread-safe access to the jobs table (one connection guarded by a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                   timeout=10)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- reading -----------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _job(row) if row else None

    def list(self, status: str | None = None, limit: int = 1000) -> list[Job]:
        """Newest first."""
        sql, args = "SELECT * FROM jobs", ()
        if status:
            sql, args = sql + " WHERE status=?", (status,)
        with self._lock:
            rows = self._db.execute(f"{sql} ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [_job(r) for r in rows]

    def position(self, job: Job) -> int:
        """How many jobs run before this queued one (0: it is next)."""
        with self._lock:
            ahead = self._db.execute("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?) AND seq<?",
                                     (QUEUED, RUNNING, job.seq)).fetchone()[0]
        return int(ahead)

    def count(self, *statuses: str) -> int:
        marks = ",".join("?" * len(statuses))
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})",
                                        statuses).fetchone()[0])

    # --- writing -----------------------------------------------------------------------
    def add(self, job: Job) -> Job:
        """Insert a job without any admission check (tests, imports)."""
        admitted = self.admit(job, max_queue=None)
        assert admitted
        return job

    def admit(self, job: Job, max_queue: int | None, place: Callable[[], None] | None = None) -> bool:
        """Queue `job` unless `max_queue` jobs already wait, in one transaction: the count, the
        row and `place()` (which moves the job's prepared folder into place) commit together or
        not at all. False when the queue is full (nothing written)."""
        data = asdict(job)
        data.pop("seq")
        data["metrics"] = json.dumps(data["metrics"])
        cols = ",".join(data)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                waiting = self._db.execute("SELECT COUNT(*) FROM jobs WHERE status=?", (QUEUED,)).fetchone()[0]
                if max_queue is not None and waiting >= max_queue:
                    self._db.execute("ROLLBACK")
                    return False
                cur = self._db.execute(f"INSERT INTO jobs ({cols}) VALUES ({','.join('?' * len(data))})",
                                       tuple(data.values()))
                if place is not None:
                    place()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        job.seq = cur.lastrowid
        return True

    def ids(self) -> set[str]:
        """Every job id in the table."""
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM jobs").fetchall()}

    def claim_next(self) -> Job | None:
        """Mark the oldest queued job running and return it (None when the queue is empty)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT id FROM jobs WHERE status=? ORDER BY seq LIMIT 1",
                                       (QUEUED,)).fetchone()
                if row:
                    self._db.execute("UPDATE jobs SET status=?, started_at=? WHERE id=?",
                                     (RUNNING, time.time(), row["id"]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self.get(row["id"]) if row else None

    def update(self, job_id: str, **values: Any) -> None:
        if isinstance(values.get("error"), str):   # error text quotes logs and URLs
            values["error"] = redact_text(values["error"])
        if "metrics" in values:
            values["metrics"] = json.dumps(values["metrics"])
        sets = ",".join(f"{k}=?" for k in values)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {sets} WHERE id=?", (*values.values(), job_id))

    def finish(self, job_id: str, status: str, **values: Any) -> None:
        self.update(job_id, status=status, finished_at=time.time(), **values)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job; False when it is not queued (any more)."""
        with self._lock:
            cur = self._db.execute("UPDATE jobs SET status=?, finished_at=? WHERE id=? AND status=?",
                                   (CANCELLED, time.time(), job_id, QUEUED))
        return cur.rowcount == 1

    def recover(self, reason: str) -> list[Job]:
        """Mark jobs left `running` by a server that died as failed; returns them as they were."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE status=?", (RUNNING,)).fetchall()
            self._db.execute("UPDATE jobs SET status=?, finished_at=?, error=? WHERE status=?",
                             (FAILED, time.time(), reason, RUNNING))
        return [_job(r) for r in rows]


def _job(row: sqlite3.Row) -> Job:
    data = dict(row)
    data["metrics"] = json.loads(data["metrics"] or "{}")
    return Job(**data)
