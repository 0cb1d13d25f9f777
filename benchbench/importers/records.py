"""Imported runs → run records: `imported: {tool, version, file, sha256}`, one iteration per measured
unit the tool reports, power matched by time from a `benchbench sample` file when one is given."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__


@dataclass
class Iteration:
    """One measured unit of an imported run, with its wall-clock window when the tool says it."""

    metrics: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    window_unix_s: tuple[float, float] | None = None     # for power matching
    window_note: str = ""                                  # how exact the window is
    sub_windows: dict[str, tuple[float, float]] = field(default_factory=dict)   # prefill/decode


@dataclass
class Imported:
    """One run of another tool: what the record needs besides the machine."""

    tool: str                       # llama-bench | sweep-bench | vllm | guidellm
    backend: str                    # the record's workload.backend
    name: str
    params: dict[str, Any]
    version: str | None
    iterations: list[Iteration]
    facts: dict[str, Any] = field(default_factory=dict)
    started_unix_s: float | None = None


def unix_to_iso(t: float | None) -> str | None:
    if t is None:
        return None
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_records(runs: list[Imported], path: Path, machine: str, profile: Any, power: Any,
               session_id: str) -> list[dict[str, Any]]:
    """Run records for the runs of one file; `power` is a RecordedPower or None."""
    from ..record import slug, utc_now

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    records = []
    for k, run in enumerate(runs):
        its, matched = [], 0
        for i, it in enumerate(run.iterations):
            entry, found = _iteration(i, it, power)
            its.append(entry)
            matched += found
        started = unix_to_iso(run.started_unix_s) or utc_now()
        records.append({
            "schema_version": 1, "type": "run", "run_id": f"{session_id}--{slug(f'{run.name}-{k}')}",
            "session_id": session_id, "status": "complete", "started_at": started, "finished_at": started,
            "benchbench_version": __version__,
            "suite": {"name": f"imported-{run.tool}", "path": str(path), "sha256": digest},
            "machine": {"name": machine, "profile": profile.to_record() if profile else None, "fingerprint": {}},
            "workload": {"name": run.name, "base_name": run.name, "kind": "llm", "backend": run.backend,
                         "params": run.params, "matrix": {}, "warmups": 0, "repetitions": len(its),
                         "facts": {**run.facts, "tool": run.tool, "tool_version": run.version}},
            "imported": {"tool": run.tool, "version": run.version, "file": str(path), "sha256": digest,
                         "imported_at": utc_now(),
                         "power": _power_label(power, matched, len(its))},
            "iterations": its, "power": _power_section(power, matched), "idle": None,
            "warnings": [], "errors": [], "resumes": [],
        })
    return records


def _iteration(index: int, it: Iteration, power: Any) -> tuple[dict[str, Any], bool]:
    window = it.window_unix_s
    out: dict[str, Any] = {"index": index, "warmup": False, "started_at": unix_to_iso(window[0]) if window else None,
                           "duration_s": (window[1] - window[0]) if window else None,
                           "metrics": it.metrics, "energy": {}, "raw": it.raw}
    if power is None or window is None:
        return out, False
    energy = power.energy(*window)
    if not energy:
        return out, False
    out["energy"] = energy
    out["energy_window"] = {"name": "matched", "unix_start_s": window[0], "unix_end_s": window[1],
                            "duration_s": window[1] - window[0], "note": it.window_note}
    from ..workloads.llamacpp_tools import power_figures

    for name, (t0, t1) in it.sub_windows.items():
        sub = power.energy(t0, t1)
        tok_s = it.metrics.get("pp_tok_s" if name == "prefill" else "tg_tok_s")
        figures = power_figures(sub, tok_s)
        it.metrics.update({f"{name}_w": figures["w"], f"{name}_j": figures["j"],
                           f"{name}_j_per_tok": figures["j_per_tok"]})
    return out, True


def _power_label(power: Any, matched: int, total: int) -> str:
    if power is None:
        return "none: no power was recorded alongside (record it with `benchbench sample`)"
    if not matched:
        return f"none: {power.path.name} does not cover this run's time (or the tool gives no times)"
    return f"matched by time from {power.path.name} ({matched} of {total} iterations)"


def _power_section(power: Any, matched: int) -> dict[str, Any] | None:
    if power is None or not matched:
        return None
    section = dict(power.meta.get("power") or {})
    section.update(samples=None, matched_from=str(power.path))
    return section
