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

from .errors import UserError
from .fmt import clean
from .migrations import SCHEMA_VERSION
from .record_model import STATUSES, Record, RecordError, from_json, migrate

__all__ = ["SCHEMA_VERSION", "STATUSES", "Record", "RecordError", "clean_floats", "load_record", "load_records",
           "load_typed", "load_typed_records", "migrate", "new_session_id", "record_files", "run_path",
           "save_record", "skip_line", "slug", "utc_now", "validate_record"]


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
    """Write atomically (temp file + rename). Refuses to replace a file of another run."""
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
    the field that is wrong (`iterations.3.duration_s: Input should be a valid number`)."""
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    record = migrate(record)
    from_json(record)
    return record


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read: {exc}") from None
    except ValueError as exc:
        raise RecordError(f"not JSON: {exc}") from None


def load_record(path: Path | str) -> dict[str, Any]:
    """Load, migrate and validate one record, as a dict with its `_path`; RecordError when it is not one."""
    path = Path(path)
    record = validate_record(_read(path))
    record["_path"] = str(path)
    return record


def load_typed(path: Path | str) -> Record:
    """Load one record as a RunRecord or IdleRecord (migrated, validated, `.path` set)."""
    path = Path(path)
    record = from_json(_read(path))
    record.path = str(path)
    return record


def skip_line(path: Path | str, why: str) -> str:
    """The one line that says a file was skipped: `<file>: <field>: <what>`."""
    return f"{path}: {why}"


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
