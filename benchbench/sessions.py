"""The sessions of one suite's runs in a results folder: its records (bad files skipped with one line each)
and which session `--resume` means (`latest`: the one started last; else a session id, a prefix of one,
or a run id)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import UserError
from .record import load_records


def suite_records(folder: Path, suite_name: str, on_skip: Callable[[Path, str], None]) -> list[dict[str, Any]]:
    """This suite's run records in `folder` (other suites may share the folder's slug), validated."""
    if not folder.is_dir():
        return []
    return [r for r in load_records([folder], on_skip=on_skip) if r.get("type", "run") == "run"
            and (r.get("suite") or {}).get("name", suite_name) == suite_name]


def pick_session(ref: str, records: list[dict[str, Any]], folder: Path) -> str:
    """The session id `--resume REF` names among `records`; a one-line UserError when none or several."""
    if not records:
        raise UserError(f"nothing to resume in {folder}", field="--resume",
                        hint="run the suite first, or check --results and --machine")
    started: dict[str, str] = {}
    for r in records:
        sid = str(r.get("session_id", ""))
        started[sid] = max(started.get(sid, ""), str(r.get("started_at") or ""))
    sessions = sorted(started, key=lambda sid: (started[sid], sid))
    if ref == "latest":
        return sessions[-1]
    matches = [x for x in sessions if x == ref] or sorted(
        {str(r.get("session_id")) for r in records
         if r["run_id"] == ref or str(r.get("session_id")).startswith(ref)})
    if len(matches) != 1:
        raise UserError(f"no single run matches {ref!r} in {folder}", field="--resume",
                        hint="use `latest` or a session id: " + ", ".join(sessions[-3:]))
    return matches[0]
