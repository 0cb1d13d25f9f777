"""Imported runs → run records (schema 2, checked against the typed record): `imported: {tool, version, file,
sha256, imported_at, power}`, one iteration per measured unit the tool reports, power matched by time from a
`benchbench sample` file when one is given.

Throughput follows the registry's definition: output tokens ÷ the window they were made in, the window the
iteration's energy covers. For serving benchmarks that is the tool's measured duration; for llama-bench the
decode test's seconds by its own clock (Σ samples), its energy the mean power over an approximate window
around the test × those seconds (said in `energy_window.note`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..metrics import check_names, derive_throughput
from ..record import SCHEMA_VERSION, slug, utc_now
from ..record_model import from_json
from ..workloads.llamacpp_tools import power_figures


@dataclass
class Iteration:
    """One measured unit of an imported run, with its wall-clock window when the tool says it."""

    metrics: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    window_unix_s: tuple[float, float] | None = None     # for power matching
    window_note: str = ""                                  # how exact the window is
    sub_windows: dict[str, tuple[float, float]] = field(default_factory=dict)   # prefill/decode
    # the seconds each sub-window's tokens took by the tool's own clock (llama-bench: Σ samples)
    sub_seconds: dict[str, float] = field(default_factory=dict)
    # which sub-window the iteration's energy and throughput cover when narrower than the run (llama-bench:
    # decode); its length is sub_seconds[measured]
    measured: str | None = None


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
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    records = []
    for k, run in enumerate(runs):
        its, matched = [], 0
        for i, it in enumerate(run.iterations):
            entry, found = _iteration(i, it, power)
            its.append(_checked(entry))
            matched += found
        started = unix_to_iso(run.started_unix_s) or utc_now()
        record = {
            "schema_version": SCHEMA_VERSION, "type": "run", "run_id": f"{session_id}--{slug(f'{run.name}-{k}')}",
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
        }
        from_json(record)   # what is written is a valid record (RecordError names the field otherwise)
        records.append(record)
    return records


def _iteration(index: int, it: Iteration, power: Any) -> tuple[dict[str, Any], bool]:
    window = it.window_unix_s
    duration = (window[1] - window[0]) if window else None
    measured_s = it.sub_seconds.get(it.measured) if it.measured else None
    metrics = derive_throughput(dict(it.metrics), measured_s or duration)   # the tool's own figures are kept
    out: dict[str, Any] = {"index": index, "warmup": False, "started_at": unix_to_iso(window[0]) if window else None,
                           "duration_s": duration if duration is not None else measured_s,
                           "metrics": metrics, "energy": {}, "raw": it.raw}
    sub = it.sub_windows.get(it.measured) if it.measured else None
    if measured_s is not None:
        out["energy_window"] = {"name": it.measured, "duration_s": measured_s,
                                **({"unix_start_s": sub[0], "unix_end_s": sub[1]} if sub else {}),
                                "note": f"{it.measured}: the seconds its tokens took by the tool's own clock"}
    if power is None or window is None:
        return out, False
    energy = power.energy(*window)
    if not energy:
        return out, False
    if measured_s is None:
        out["energy"] = energy
        out["energy_window"] = {"name": "matched", "unix_start_s": window[0], "unix_end_s": window[1],
                                "duration_s": duration, "note": it.window_note}
    elif sub and (narrow := power.energy(*sub)):
        out["energy_iteration"] = energy
        out["energy"] = _scaled(narrow, measured_s)
        out["energy_window"]["note"] += (" × the mean power over an approximate window around it ("
                                         f"{it.window_note})")
    else:
        return out, False
    for name in ("prefill", "decode"):
        if name not in it.sub_windows:
            continue
        t0, t1 = it.sub_windows[name]
        tokens = metrics.get("input_tokens" if name == "prefill" else "output_tokens")
        figures = power_figures(power.energy(t0, t1), tokens, it.sub_seconds.get(name))
        metrics.update({f"{name}_w": figures["w"], f"{name}_j": figures["j"],
                        f"{name}_j_per_tok": figures["j_per_tok"]})
    return out, True


def _checked(out: dict[str, Any]) -> dict[str, Any]:
    check_names(out["metrics"])   # every name in the registry (the test suite raises on one that is not)
    return out


def _scaled(energy: dict[str, dict[str, Any]], seconds: float) -> dict[str, dict[str, Any]]:
    """Each channel's mean power over a window × `seconds` (the time the work inside it took)."""
    return {name: {**entry, "joules": entry["avg_w"] * seconds} if isinstance(entry.get("avg_w"), (int, float))
            else entry for name, entry in energy.items()}


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
