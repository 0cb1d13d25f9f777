"""Result records: creation, atomic saving (never overwriting another run), loading and migration."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import UserError
from .fmt import clean
from .limits import MAX_RECORD_BYTES
from .migrations import SCHEMA_VERSION
from .record_model import STATUSES, Record, RecordError, from_json, migrate
from .redact import redact

__all__ = ["SCHEMA_VERSION", "STATUSES", "Record", "RecordError", "clean_floats", "load_record", "load_records",
           "load_typed", "load_typed_records", "migrate", "new_session_id", "record_files", "run_path",
           "save_record", "skip_line", "slug", "utc_now", "validate_record"]


def utc_now() -> str:
    """ISO 8601 UTC timestamp with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


SESSION_RANDOM_BYTES = 8        # 64 random bits after the time stamp: runs started in one second never collide
STALE_TMP_S = 60.0               # a temporary file this old belongs to a save that was killed


def new_session_id() -> str:
    """Sortable and unique: UTC time plus 16 random hex digits."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(SESSION_RANDOM_BYTES)}"


def run_slug(name: str, params: Any = None) -> str:
    """The workload part of a run id: a readable slug plus a short hash of the full name and params,
    so names that slug alike (`gen a/b`, `gen a b`, `gen_a_b`; matrix prompts `Hi!`, `Hi?`) never share a file."""
    full = json.dumps([name, params], sort_keys=True, default=str, ensure_ascii=False)
    return f"{slug(name, 48)}-{hashlib.sha256(full.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


@contextmanager
def session_lock(folder: Path, session_id: str) -> Iterator[None]:
    """Hold the session's lock while running it: a second run or `--resume` of the same session
    (in another process) is refused with one line instead of interleaving its saves."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        yield
        return
    locks = Path(folder) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    fh = open(locks / f"{slug(session_id)}.lock", "a+", encoding="utf-8")  # noqa: SIM115 - held while running
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            other = fh.read().strip() or "another process"
            raise UserError(f"session {session_id} is being run right now by {other}", field="--resume",
                            hint="wait for it to finish, or start a new run") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"benchbench pid {os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()


def clean_stale_temp(folder: Path, older_than_s: float = STALE_TMP_S) -> list[Path]:
    """Remove `.*.tmp` files that killed saves left in a results folder; returns them."""
    removed = []
    now = time.time()
    for tmp in Path(folder).glob(".*.tmp") if Path(folder).is_dir() else ():
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue
    return removed


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe form of a workload name; long names keep a hash for uniqueness."""
    safe = re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", text).strip("_.") or "workload"
    if len(safe) > limit:
        safe = f"{safe[:limit - 9]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return safe


def run_path(results: Path, machine: str, suite: str, run_id: str) -> Path:
    """results/<machine>/<suite>/<run_id>.json"""
    return Path(results) / slug(machine) / slug(suite) / f"{run_id}.json"


def save_record(record: dict[str, Any], path: Path) -> None:
    """Write atomically (temp file + rename), secrets redacted. Refuses to replace a file of another run."""
    record = redact(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            existing = {}
        if existing.get("run_id") != record.get("run_id"):
            raise RecordError(f"{path}: exists and belongs to another run; not overwritten")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1, default=_json_default, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def clean_floats(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively (benchbench.fmt.clean)."""
    return clean(value)


# --- loading (the typed record: benchbench/record_model.py) ---------------------------------------

def validate_record(record: Any) -> dict[str, Any]:
    """A record dict migrated to SCHEMA_VERSION and checked against the typed record; RecordError naming
    the field that is wrong (`iterations.3.duration_s: expected a number, found 'slow'`)."""
    try:
        if isinstance(record, dict):
            record = migrate(record)
        from_json(record)          # not a dict: says so
    except RecursionError:
        raise RecordError("nested too deep") from None
    return record


def _read(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise RecordError(f"is {size} bytes; a record is at most {MAX_RECORD_BYTES}")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read: {exc}") from None
    except RecursionError:
        raise RecordError("not JSON benchbench can read: nested too deep") from None
    except ValueError as exc:
        raise RecordError(f"not JSON: {exc}") from None


def load_record(path: Path | str) -> dict[str, Any]:
    """Load, redact, migrate and validate one record, as a dict with its `_path`; RecordError (naming the
    field) when it is not one."""
    path = Path(path)
    record = validate_record(_redacted(_read(path)))
    record["_path"] = str(path)
    return record


def load_typed(path: Path | str) -> Record:
    """Load one record as a RunRecord or IdleRecord (migrated, validated, `.path` set)."""
    path = Path(path)
    try:
        record = from_json(_redacted(_read(path)))
    except RecursionError:
        raise RecordError("nested too deep") from None
    record.path = str(path)
    return record


def _redacted(data: Any) -> Any:
    """Records written before redaction existed (or on an older host) may hold secrets: none gets further."""
    try:
        return redact(data)
    except RecursionError:
        raise RecordError("nested too deep") from None


def skip_line(path: Path | str, why: str) -> str:
    """The one line that says a file was skipped, naming the file and the field:
    `<file>: skipped (<field>: <what>)`; callers print it as a warning."""
    return f"{path}: skipped ({why})"


def record_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Every *.json under the given files or folders, in a stable order, each file once."""
    seen: set[Path] = set()
    for item in paths:
        item = Path(item)
        if item.is_dir():
            found = sorted(p for p in item.rglob("*.json") if not p.name.startswith("."))
        elif item.exists():
            found = [item]
        else:
            raise UserError("no such file or folder", file=str(item))
        for path in found:  # `report results results/x/run.json` must not count a run twice
            if path.resolve() not in seen:
                seen.add(path.resolve())
                yield path


def load_records(paths: Iterable[Path | str], on_skip: Callable[[Path, str], None] | None = None,
                 ) -> list[dict[str, Any]]:
    """Load every valid record (dicts); invalid files are skipped and reported through `on_skip`."""
    return _load_all(paths, load_record, on_skip)


def load_typed_records(paths: Iterable[Path | str], on_skip: Callable[[Path, str], None] | None = None,
                       ) -> list[Record]:
    """Load every valid record as RunRecord / IdleRecord; invalid files go to `on_skip(path, why)`."""
    return _load_all(paths, load_typed, on_skip)


def _load_all(paths: Iterable[Path | str], load: Callable[[Path], Any],
              on_skip: Callable[[Path, str], None] | None) -> list[Any]:
    records = []
    for path in record_files(paths):
        try:
            records.append(load(path))
        except RecordError as exc:
            if on_skip:
                on_skip(path, str(exc))
    return records
