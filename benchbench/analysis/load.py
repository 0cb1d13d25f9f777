"""Records → tidy pandas frames: runs, iterations, energy, idle records (samples: see samples.py)."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputSkipped
from ..fmt import finite
from ..provenance import BASIS_PROVENANCE, SOURCE_PROVENANCE, channel_provenance, worst
from ..record import load_typed_records, skip_line
from ..record_model import IdleRecord, IdleSource, Iteration, Record, RunRecord, from_json

PROFILE_KEYS = ("electricity_per_kwh", "hardware_cost", "amortization_years", "idle_w", "load_w",
                "non_gpu_overhead_w", "memory_bandwidth_gbs", "utilization", "cloud_hourly", "hours_per_day")
_POWER_FILE = re.compile(r"^(?P<run_id>.+)\.power\d*\.csv$")


@dataclass
class Loaded:
    """The frames of a set of records, plus the files that were skipped."""

    runs: Any
    iterations: Any
    energy: Any
    idle: Any
    skipped: list[tuple[str, str]] = field(default_factory=list)
    requests: dict[tuple[str, int], list[tuple[float | None, ...]]] = field(default_factory=dict)


def read_records(paths: Iterable[Path | str]) -> tuple[list[Record], list[tuple[str, str]]]:
    """Every valid record under `paths` (typed); unreadable files are skipped with a warning naming them."""
    skipped: list[tuple[str, str]] = []

    def skip(path: Path, why: str) -> None:
        skipped.append((str(path), why))
        warnings.warn(skip_line(path, why), InputSkipped, stacklevel=3)

    return load_typed_records(paths, on_skip=skip), skipped


def typed(records: Iterable[Record | dict[str, Any]]) -> list[Record]:
    """Records as RunRecord / IdleRecord (dicts are migrated and validated)."""
    out = []
    for rec in records:
        if isinstance(rec, dict):
            path = rec.get("_path")
            rec = from_json(rec)
            rec.path = path
        out.append(rec)
    return out


def build(records: Iterable[Record | dict[str, Any]], skipped: list[tuple[str, str]] | None = None) -> Loaded:
    """The tidy frames of already loaded records (run records and idle records)."""
    import pandas as pd

    records = typed(records)
    power_files = _power_files(records)
    runs, iterations, energy, idle = [], [], [], []
    requests: dict[tuple[str, int], list[tuple[float | None, ...]]] = {}
    for rec in records:
        if isinstance(rec, IdleRecord):
            idle.extend(_idle_rows(rec))
            continue
        runs.append(_run_row(rec, power_files.get(rec.run_id, [])))
        for it in rec.iterations:
            row, channels = _iteration_row(rec.run_id, it)
            iterations.append(row)
            energy.extend(channels)
            if it.raw:
                requests[(rec.run_id, it.index)] = requests_usage(it)
    return Loaded(
        runs=pd.DataFrame(runs, columns=RUN_COLUMNS),
        iterations=_iterations_frame(iterations),
        energy=pd.DataFrame(energy, columns=ENERGY_COLUMNS),
        idle=pd.DataFrame(idle, columns=IDLE_COLUMNS),
        skipped=list(skipped or []), requests=requests,
    )


# --- runs -----------------------------------------------------------------------------------

RUN_COLUMNS = ["run_id", "session_id", "path", "status", "started_at", "finished_at", "machine", "suite",
               "workload", "base_name", "kind", "backend", "model", "params", "params_key", "matrix",
               "facts", "model_size_bytes", "provenance", "source", "currency", *PROFILE_KEYS,
               "profile_prices", "suite_prices", "idle_system_w", "idle_provenance", "idle_record",
               "warnings", "n_iterations", "power_files"]


def _run_row(rec: RunRecord, files: list[str]) -> dict[str, Any]:
    wl, machine = rec.workload, rec.machine
    profile = machine.profile or {}
    ref = rec.reference or {}
    idle_w, idle_prov, idle_record = _record_idle(rec)
    row = {
        "run_id": rec.run_id, "session_id": rec.session_id, "path": rec.path, "status": rec.status,
        "started_at": rec.started_at, "finished_at": rec.finished_at,
        "machine": machine.name or profile.get("name") or "?", "suite": rec.suite.name if rec.suite else None,
        "workload": wl.name, "base_name": wl.base_name or wl.name, "kind": wl.kind, "backend": wl.backend,
        "model": str(wl.params.get("model") or wl.params.get("architecture") or ""), "params": wl.params,
        "params_key": json.dumps(wl.params, sort_keys=True, default=str), "matrix": wl.matrix,
        "facts": wl.facts, "model_size_bytes": finite(wl.facts.get("model_size_bytes")),
        "provenance": "published" if ref else ("imported" if rec.imported else "measured"),
        "source": ref.get("source") or (rec.imported.source if rec.imported else None),
        "currency": profile.get("currency") or "USD", "profile_prices": profile.get("prices") or {},
        "suite_prices": (rec.suite.prices if rec.suite else None) or {},
        "idle_system_w": idle_w, "idle_provenance": idle_prov, "idle_record": idle_record,
        "warnings": rec.warning_codes, "n_iterations": len(rec.iterations), "power_files": files,
    }
    for key in PROFILE_KEYS:
        row[key] = finite(profile.get(key))
    return row


def _record_idle(rec: RunRecord) -> tuple[float | None, str | None, str | None]:
    """(system idle W, provenance, idle run_id) from a run record's `idle` + `idle_source`."""
    watts = finite((rec.idle or {}).get("system"))
    if watts is None:
        return None, None, None
    src = rec.idle_source or IdleSource()
    if rec.reference:
        return watts, "published", None
    if src.system_basis in BASIS_PROVENANCE:   # a measured idle record whose system figure is estimated
        return watts, BASIS_PROVENANCE[src.system_basis], src.record
    label = src.source or "declared"
    return watts, SOURCE_PROVENANCE.get(label, label), src.record


def _power_files(records: list[Record]) -> dict[str, list[str]]:
    """run_id → its `<run_id>.power*.csv` files, listing each folder once."""
    out: dict[str, list[str]] = {}
    folders = {str(Path(r.path).parent) for r in records if r.path}
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            m = _POWER_FILE.match(name)
            if m:
                out.setdefault(m["run_id"], []).append(os.path.join(folder, name))
    return out


# --- iterations and energy ------------------------------------------------------------------

PREFILL_METRICS = ("prompt_s", "pp_tok_s", "ttft_s", "ttft_median_s", "ttft_p99_s")
ITERATION_COLUMNS = ["run_id", "index", "warmup", "measured", "error", "started_at", "duration_s", "energy_s",
                     "mono_start_s", "mono_end_s", "energy_start_s", "energy_end_s", "gpu_w", "gpu_j",
                     "gpu_provenance", "system_w", "system_j", "system_basis", "system_provenance"]
_NUMERIC_ITERATION_COLUMNS = ("index", "duration_s", "energy_s", "mono_start_s", "mono_end_s", "energy_start_s",
                              "energy_end_s", "gpu_w", "gpu_j", "system_w", "system_j")
ENERGY_COLUMNS = ["run_id", "index", "channel", "joules", "avg_w", "source", "basis", "provenance"]
IDLE_COLUMNS = ["run_id", "machine", "started_at", "channel", "watts", "provenance", "path"]


def _iteration_row(run_id: str, it: Iteration) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    duration = finite(it.duration_s)
    energy_s = finite(it.energy_s)   # the iteration, or the part its energy covers (llama-bench's decode test)
    row = {"run_id": run_id, "index": it.index, "warmup": it.warmup, "measured": it.measured,
           "error": it.error or None, "started_at": it.started_at, "duration_s": duration, "energy_s": energy_s,
           "mono_start_s": finite(it.mono_start_s), "mono_end_s": finite(it.mono_end_s)}
    window = it.energy_window
    narrowed = window is not None and window.mono_start_s is not None and window.mono_end_s is not None
    row.update(energy_start_s=finite(window.mono_start_s) if narrowed else row["mono_start_s"],
               energy_end_s=finite(window.mono_end_s) if narrowed else row["mono_end_s"])
    channels = []
    gpu_w: list[float | None] = []
    gpu_j: list[float | None] = []
    gpu_prov: list[str | None] = []
    for name, entry in it.energy.items():
        joules, avg_w = finite(entry.joules), finite(entry.watts(energy_s))
        prov = channel_provenance(entry.source, entry.basis)
        channels.append({"run_id": run_id, "index": it.index, "channel": name, "joules": joules, "avg_w": avg_w,
                         "source": entry.source, "basis": entry.basis, "provenance": prov})
        if name == "system":
            row.update(system_w=avg_w, system_j=joules, system_basis=entry.basis, system_provenance=prov)
        elif name.startswith("gpu"):
            gpu_w.append(avg_w)
            gpu_j.append(joules)
            gpu_prov.append(prov)
    if gpu_w:
        row["gpu_w"] = sum(gpu_w) if None not in gpu_w else None
        row["gpu_j"] = sum(gpu_j) if None not in gpu_j else None
        row["gpu_provenance"] = worst(*gpu_prov)
    row.update(_flatten(it.metrics))
    if any(w.code == "prompt_cached" for w in it.warnings or []):
        row.update(dict.fromkeys(PREFILL_METRICS))   # the server reused its cache: not a prefill measurement
    requests = requests_usage(it)
    if requests:
        row.update(usage_requests=len(requests), usage_input_tokens=_sum(r[0] for r in requests),
                   usage_output_tokens=_sum(r[1] for r in requests),
                   usage_cached_tokens=_sum(r[2] for r in requests))
    return row, channels


def requests_usage(it: Iteration) -> list[tuple[float | None, float | None, float | None]]:
    """(input, output, cached) tokens of each API request of an iteration, from `raw.requests[].usage`
    (the openai backend), else `raw.usage`; [] when the iteration recorded no usage."""
    usages = [r.get("usage") for r in it.requests] or [(it.raw or {}).get("usage")]
    return [_tokens(u) for u in usages if isinstance(u, dict)]


def _tokens(usage: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """OpenAI-style (prompt/completion tokens) or Anthropic-style (input/output tokens) usage."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else usage.get("cache_read_input_tokens")
    return (finite(usage.get("prompt_tokens", usage.get("input_tokens"))),
            finite(usage.get("completion_tokens", usage.get("output_tokens"))), finite(cached))


def _sum(values: Iterable[float | None]) -> float | None:
    values = list(values)
    return None if any(v is None for v in values) else float(sum(values))


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested metrics (stages_s, peak_mem_gb) become `stages_s.stage1`-style columns."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif name not in ITERATION_COLUMNS:
            out[name] = value
    return out


def _iterations_frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(rows)
    for col in ITERATION_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    for col in _NUMERIC_ITERATION_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame["warmup"] = frame["warmup"].astype(bool)
    frame["measured"] = frame["measured"].astype(bool)
    extra = [c for c in frame.columns if c not in ITERATION_COLUMNS]
    return frame[ITERATION_COLUMNS + extra]


def _idle_rows(rec: IdleRecord) -> list[dict[str, Any]]:
    """Channels of an idle record: measured, except `system` when its basis is not the wall."""
    system = BASIS_PROVENANCE.get(rec.system_basis or "wall", "estimated")
    return [{"run_id": rec.run_id, "machine": rec.machine.name or "?", "started_at": rec.started_at,
             "channel": channel, "watts": finite(watts),
             "provenance": "published" if rec.reference else (system if channel == "system" else "measured"),
             "path": rec.path}
            for channel, watts in rec.idle.items() if finite(watts) is not None]
