"""Idle baselines: measure them (`benchbench idle`), store them as idle records, and look up the
newest one for a machine (else the profile's declared `idle_w`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..provenance import BASIS_PROVENANCE
from ..record import SCHEMA_VERSION, new_session_id, run_path, slug, utc_now

IDLE_FOLDER = "idle"
DEFAULT_SETTLE_S = 5.0
_PREFERENCE = {"measured": 0, "published": 0, "declared": 1, "estimated": 2}


@dataclass(frozen=True)
class IdleCandidate:
    """An idle `system` figure that could be the machine's: watts, its provenance, where it comes from."""

    watts: float
    provenance: str
    where: str


def choose_idle(candidates: list[IdleCandidate]) -> IdleCandidate | None:
    """The one rule for a machine's idle power: measured (at the wall, or published) beats declared (the
    profile's idle_w), which beats estimated (an idle record whose `system` is GPU + CPU + overhead); among
    equals, the first given (callers list the newest and closest first)."""
    ranked = [c for c in candidates if c.provenance in _PREFERENCE]
    return min(ranked, key=lambda c: _PREFERENCE[c.provenance]) if ranked else None


def idle_records(results: Path, machine: str) -> list[tuple[dict[str, Any], Path]]:
    """Every idle record of a machine, oldest first."""
    folder = Path(results) / slug(machine) / IDLE_FOLDER
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("type") == "idle" and isinstance(data.get("idle"), dict):
            found.append((data, path))
    found.sort(key=lambda item: (item[0].get("started_at") or "", item[1].name))
    return found


def idle_fields(results: Path, machine: str, profile: Any = None
                ) -> tuple[dict[str, float] | None, dict[str, Any] | None]:
    """(record `idle`, record `idle_source`): the newest idle record's channels; its `system` when
    measured at the wall, else the profile's declared idle_w, else its estimated system figure."""
    declared = getattr(profile, "idle_w", None) if profile is not None else None
    records = idle_records(results, machine)
    if not records:
        if declared is None:
            return None, None
        return {"system": float(declared)}, {"source": "declared", "record": None, "system_basis": "declared"}
    record, _ = records[-1]
    idle = {k: float(v) for k, v in record["idle"].items() if isinstance(v, (int, float))}
    basis = record.get("system_basis")
    candidates = [IdleCandidate(idle["system"], BASIS_PROVENANCE.get(basis or "wall", "estimated"), "record")
                  ] if "system" in idle else []
    if declared is not None:
        candidates.append(IdleCandidate(float(declared), "declared", "profile"))
    chosen = choose_idle(candidates)
    if chosen is not None and chosen.where == "profile":
        idle["system"], basis = chosen.watts, "declared"
    source = {"source": "measured", "record": record.get("run_id"), "measured_at": record.get("started_at"),
              "system_basis": basis if "system" in idle else None}
    return idle, source


def lookup(results: Path, machine: str, profile: Any = None) -> dict[str, float] | None:
    """{channel: watts} for the record's `idle` field, or None when unknown."""
    return idle_fields(results, machine, profile)[0]


def measure_idle(monitor: Any, seconds: float, settle_s: float = DEFAULT_SETTLE_S,
                 sleep: Any = time.sleep) -> dict[str, Any]:
    """Idle watts per channel over `seconds` after `settle_s`; the monitor must be running."""

    sleep(settle_s)
    started_at = utc_now()
    t0 = time.monotonic()
    monitor.read_edge(t0)
    sleep(seconds)
    t1 = time.monotonic()
    per = monitor.energy(t0, t1)
    details = {}
    for public, sampler, ch in monitor.channels:
        tp, p, _, _ = sampler.series[ch.name].snapshot()
        inside = [w for t, w in zip(tp, p, strict=True) if t0 <= t <= t1]
        if public in per:
            details[public] = {**per[public], "readings": len(inside),
                               "min_w": min(inside) if inside else None, "max_w": max(inside) if inside else None}
    if "system" in per:
        details["system"] = per["system"]
    return {"t0_s": t0, "t1_s": t1, "seconds": t1 - t0, "started_at": started_at,
            "idle": {ch: d["avg_w"] for ch, d in details.items() if d.get("avg_w") is not None},
            "details": details, "system_basis": per.get("system", {}).get("basis")}


def idle_record(measured: dict[str, Any], monitor: Any, machine: str, profile: Any,
                fingerprint: dict[str, Any], settle_s: float) -> dict[str, Any]:
    """The idle record (type: idle) for results/<machine>/idle/<run_id>.json."""

    session = new_session_id()
    return {
        "schema_version": SCHEMA_VERSION, "type": "idle", "run_id": f"{session}--idle",
        "session_id": session, "status": "complete", "started_at": measured["started_at"],
        "finished_at": utc_now(),
        "benchbench_version": __version__,
        "machine": {"name": machine, "profile": profile.to_record() if profile is not None else None,
                    "fingerprint": fingerprint},
        "seconds": measured["seconds"], "settle_s": settle_s, "idle": measured["idle"],
        "details": measured["details"], "system_basis": measured["system_basis"],
        "mono_start_s": measured["t0_s"], "mono_end_s": measured["t1_s"],
        "power": monitor.record_section(), "warnings": [], "errors": [],
    }


def idle_path(results: Path, machine: str, run_id: str) -> Path:
    return run_path(results, machine, IDLE_FOLDER, run_id)
