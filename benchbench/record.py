"""Result records: creation, atomic saving (never overwriting another run), loading and migration."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import BenchError, UserError
from .redact import redact

SCHEMA_VERSION = 1
STATUSES = ("complete", "interrupted", "failed")


class RecordError(BenchError):
    """A file that is not a valid benchbench record."""


def utc_now() -> str:
    """ISO 8601 UTC timestamp with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session_id() -> str:
    """Sortable and unique: UTC time plus 4 random hex digits."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(2)}"


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
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: clean_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_floats(v) for v in value]
    return value


# --- migration -----------------------------------------------------------------------------

def update_to_1(record: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (pre-release) kept `results` instead of `iterations` and no run type."""
    record = dict(record)
    if "iterations" not in record and "results" in record:
        record["iterations"] = record.pop("results")
    record.setdefault("type", "run")
    record.setdefault("warnings", [])
    record.setdefault("errors", [])
    record["schema_version"] = 1
    return record


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: update_to_1}


def migrate(record: dict[str, Any]) -> dict[str, Any]:
    """Bring a record up to SCHEMA_VERSION through the update_to_N chain."""
    version = record.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise RecordError(f"schema_version {version!r} is newer than this benchbench understands")
    while version < SCHEMA_VERSION:
        record = MIGRATIONS[version](record)
        version = record["schema_version"]
    return record


def validate_record(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    record = migrate(record)
    kind = record.get("type", "run")
    needed = ("run_id", "status", "machine") + (("workload", "iterations") if kind == "run" else ())
    missing = [k for k in needed if k not in record]
    if missing:
        raise RecordError(f"missing {', '.join(missing)}")
    if kind == "run" and record["status"] not in STATUSES:
        raise RecordError(f"unknown status {record['status']!r}")
    wrong = [k for k, t in (("machine", dict), ("workload", dict), ("iterations", list), ("warnings", list),
                            ("errors", list)) if k in record and not isinstance(record[k], t)]
    if kind == "run" and "iterations" not in wrong and not all(isinstance(it, dict) for it in record["iterations"]):
        wrong.append("iterations")
    if wrong:
        raise RecordError(f"malformed {', '.join(wrong)}")
    return record


def load_record(path: Path | str) -> dict[str, Any]:
    """Load and migrate one record; RecordError when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read: {exc}") from None
    except ValueError as exc:
        raise RecordError(f"not JSON: {exc}") from None
    record = redact(validate_record(data))   # records written before redaction existed
    record["_path"] = str(path)
    return record


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
    """Load every valid record; invalid files are skipped and reported through `on_skip`."""
    records = []
    for path in record_files(paths):
        try:
            records.append(load_record(path))
        except RecordError as exc:
            if on_skip:
                on_skip(path, str(exc))
    return records
