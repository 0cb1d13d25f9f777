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

PROVENANCES = ("measured", "imported", "estimated", "declared", "published")
_RANK = {name: i for i, name in enumerate(PROVENANCES)}
_SOURCE_PROVENANCE = {"counter": "measured", "integrated": "measured", "measured": "measured", "imported": "imported",
                      "estimated": "estimated", "declared": "declared", "published": "published"}
_BASIS_PROVENANCE = {"wall": "measured", "gpu+cpu+overhead": "estimated", "gpu+overhead": "estimated",
                     "declared": "declared", "published": "published"}
PROFILE_KEYS = ("electricity_per_kwh", "hardware_cost", "amortization_years", "idle_w", "load_w",
                "non_gpu_overhead_w", "memory_bandwidth_gbs", "utilization", "cloud_hourly", "hours_per_day")
_POWER_FILE = re.compile(r"^(?P<run_id>.+)\.power\d*\.csv$")


def worst(*labels: str | None) -> str | None:
    """The least direct of some provenance labels (measured < estimated < declared < published)."""
    known = [x for x in labels if x in _RANK]
    return max(known, key=_RANK.__getitem__) if known else None


def derived(*labels: str | None) -> str | None:
    """The label of a figure computed from inputs with these labels: published if any input is,
    else estimated if any input is estimated or declared, else imported if any input came from
    another tool (`benchbench import`), else measured."""
    known = [x for x in labels if x in _RANK]
    if not known:
        return None
    if "published" in known:
        return "published"
    if any(x in ("estimated", "declared") for x in known):
        return "estimated"
    return "imported" if "imported" in known else "measured"


def channel_provenance(entry: dict[str, Any]) -> str | None:
    """measured / estimated / declared / published for one energy entry (basis wins over source)."""
    basis = entry.get("basis")
    if basis in _BASIS_PROVENANCE:
        return _BASIS_PROVENANCE[basis]
    return _SOURCE_PROVENANCE.get(entry.get("source"))


@dataclass
class Loaded:
    """The frames of a set of records, plus the files that were skipped."""

    runs: Any
    iterations: Any
    energy: Any
    idle: Any
    skipped: list[tuple[str, str]] = field(default_factory=list)
    requests: dict[tuple[str, int], list[tuple[float | None, ...]]] = field(default_factory=dict)


def read_records(paths: Iterable[Path | str]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Every valid record under `paths`; unreadable files are skipped with a warning naming them."""
    from ..record import load_records

    skipped: list[tuple[str, str]] = []

    def skip(path: Path, why: str) -> None:
        skipped.append((str(path), why))
        warnings.warn(f"{path}: skipped ({why})", stacklevel=3)

    return load_records(paths, on_skip=skip), skipped


def build(records: list[dict[str, Any]], skipped: list[tuple[str, str]] | None = None) -> Loaded:
    """The tidy frames of already loaded records (run records and idle records)."""
    import pandas as pd

    power_files = _power_files(records)
    runs, iterations, energy, idle = [], [], [], []
    requests: dict[tuple[str, int], list[tuple[float | None, ...]]] = {}
    for rec in records:
        kind = rec.get("type", "run")
        if kind == "idle":
            idle.extend(_idle_rows(rec))
        elif kind == "run":
            runs.append(_run_row(rec, power_files.get(rec["run_id"], [])))
            for it in rec.get("iterations") or []:
                row, channels = _iteration_row(rec["run_id"], it)
                iterations.append(row)
                energy.extend(channels)
                if it.get("raw"):
                    requests[(rec["run_id"], it.get("index"))] = requests_usage(it)
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


def _run_row(rec: dict[str, Any], files: list[str]) -> dict[str, Any]:
    wl = rec.get("workload") or {}
    machine = rec.get("machine") or {}
    profile = machine.get("profile") or {}
    params = wl.get("params") or {}
    ref = rec.get("reference") or {}
    idle_w, idle_prov, idle_record = _record_idle(rec)
    facts = wl.get("facts") or {}
    row = {
        "run_id": rec["run_id"], "session_id": rec.get("session_id"), "path": rec.get("_path"),
        "status": rec.get("status"), "started_at": rec.get("started_at"),
        "finished_at": rec.get("finished_at"), "machine": machine.get("name") or profile.get("name") or "?",
        "suite": (rec.get("suite") or {}).get("name"), "workload": wl.get("name", "?"),
        "base_name": wl.get("base_name") or wl.get("name", "?"), "kind": wl.get("kind"),
        "backend": wl.get("backend"),
        "model": str(params.get("model") or params.get("architecture") or ""), "params": params,
        "params_key": json.dumps(params, sort_keys=True, default=str), "matrix": wl.get("matrix") or {},
        "facts": facts, "model_size_bytes": _number(facts.get("model_size_bytes")),
        "provenance": "published" if ref else ("imported" if rec.get("imported") else "measured"),
        "source": ref.get("source") or _imported_source(rec.get("imported")),
        "currency": profile.get("currency") or "USD",
        "profile_prices": profile.get("prices") or {}, "suite_prices": (rec.get("suite") or {}).get("prices") or {},
        "idle_system_w": idle_w, "idle_provenance": idle_prov, "idle_record": idle_record,
        "warnings": sorted({w.get("code") for w in rec.get("warnings") or [] if w.get("code")}),
        "n_iterations": len(rec.get("iterations") or []), "power_files": files,
    }
    for key in PROFILE_KEYS:
        row[key] = _number(profile.get(key))
    return row


def _imported_source(imported: Any) -> str | None:
    """`llama-bench b5163 (8cf427ff)`: the tool and version of an imported record."""
    if not isinstance(imported, dict):
        return None
    return " ".join(str(x) for x in (imported.get("tool"), imported.get("version")) if x)


def _record_idle(rec: dict[str, Any]) -> tuple[float | None, str | None, str | None]:
    """(system idle W, provenance, idle run_id) from a run record's `idle` + `idle_source`."""
    idle = rec.get("idle") or {}
    watts = _number(idle.get("system"))
    if watts is None:
        return None, None, None
    src = rec.get("idle_source") or {}
    if rec.get("reference"):
        return watts, "published", None
    basis = src.get("system_basis")
    if basis in _BASIS_PROVENANCE:       # a measured idle record whose system figure is estimated
        return watts, _BASIS_PROVENANCE[basis], src.get("record")
    label = src.get("source") or idle.get("source") or "declared"
    return watts, _SOURCE_PROVENANCE.get(label, label), src.get("record")


def _power_files(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """run_id → its `<run_id>.power*.csv` files, listing each folder once."""
    out: dict[str, list[str]] = {}
    folders = {str(Path(r["_path"]).parent) for r in records if r.get("_path")}
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
                     "mono_start_s", "mono_end_s", "gpu_w", "gpu_j", "gpu_provenance", "system_w",
                     "system_j", "system_basis", "system_provenance"]
_NUMERIC_ITERATION_COLUMNS = ("index", "duration_s", "energy_s", "mono_start_s", "mono_end_s", "gpu_w", "gpu_j",
                              "system_w", "system_j")
ENERGY_COLUMNS = ["run_id", "index", "channel", "joules", "avg_w", "source", "basis", "provenance"]
IDLE_COLUMNS = ["run_id", "machine", "started_at", "channel", "watts", "provenance", "path"]


def _iteration_row(run_id: str, it: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    duration = _number(it.get("duration_s"))
    # the window `energy` covers: the iteration, or the workload's measured part (llama-bench's decode test)
    energy_s = _number((it.get("energy_window") or {}).get("duration_s")) or duration
    row = {"run_id": run_id, "index": it.get("index"), "warmup": bool(it.get("warmup")),
           "measured": not it.get("warmup") and not it.get("error"), "error": it.get("error") or None,
           "started_at": it.get("started_at"), "duration_s": duration, "energy_s": energy_s,
           "mono_start_s": _number(it.get("mono_start_s")), "mono_end_s": _number(it.get("mono_end_s"))}
    channels = []
    gpu_w: list[float | None] = []
    gpu_j: list[float | None] = []
    gpu_prov: list[str | None] = []
    for name, entry in (it.get("energy") or {}).items():
        if not isinstance(entry, dict):
            continue
        joules, avg_w = _number(entry.get("joules")), _number(entry.get("avg_w"))
        if avg_w is None and joules is not None and energy_s:
            avg_w = joules / energy_s
        prov = channel_provenance(entry)
        channels.append({"run_id": run_id, "index": it.get("index"), "channel": name, "joules": joules,
                         "avg_w": avg_w, "source": entry.get("source"), "basis": entry.get("basis"),
                         "provenance": prov})
        if name == "system":
            row.update(system_w=avg_w, system_j=joules, system_basis=entry.get("basis"),
                       system_provenance=prov)
        elif name.startswith("gpu"):
            gpu_w.append(avg_w)
            gpu_j.append(joules)
            gpu_prov.append(prov)
    if gpu_w:
        row["gpu_w"] = sum(gpu_w) if None not in gpu_w else None
        row["gpu_j"] = sum(gpu_j) if None not in gpu_j else None
        row["gpu_provenance"] = worst(*gpu_prov)
    row.update(_flatten(it.get("metrics") or {}))
    if any(w.get("code") == "prompt_cached" for w in it.get("warnings") or [] if isinstance(w, dict)):
        row.update(dict.fromkeys(PREFILL_METRICS))   # the server reused its cache: not a prefill measurement
    requests = requests_usage(it)
    if requests:
        row.update(usage_requests=len(requests), usage_input_tokens=_sum(r[0] for r in requests),
                   usage_output_tokens=_sum(r[1] for r in requests),
                   usage_cached_tokens=_sum(r[2] for r in requests))
    return row, channels


def requests_usage(it: dict[str, Any]) -> list[tuple[float | None, float | None, float | None]]:
    """(input, output, cached) tokens of each API request of an iteration, from `raw.requests[].usage`
    (the openai backend), else `raw.usage`; [] when the iteration recorded no usage."""
    raw = it.get("raw") or {}
    usages = [r.get("usage") for r in raw.get("requests") or [] if isinstance(r, dict)] or [raw.get("usage")]
    return [_tokens(u) for u in usages if isinstance(u, dict)]


def _tokens(usage: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """OpenAI-style (prompt/completion tokens) or Anthropic-style (input/output tokens) usage."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else usage.get("cache_read_input_tokens")
    return (_number(usage.get("prompt_tokens", usage.get("input_tokens"))),
            _number(usage.get("completion_tokens", usage.get("output_tokens"))), _number(cached))


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


def _idle_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Channels of an idle record: measured, except `system` when its basis is not the wall."""
    machine = (rec.get("machine") or {}).get("name") or "?"
    system = _BASIS_PROVENANCE.get(rec.get("system_basis") or "wall", "estimated")
    return [{"run_id": rec["run_id"], "machine": machine, "started_at": rec.get("started_at"),
             "channel": channel, "watts": _number(watts),
             "provenance": "published" if rec.get("reference") else (system if channel == "system" else "measured"),
             "path": rec.get("_path")}
            for channel, watts in (rec.get("idle") or {}).items() if _number(watts) is not None]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if value == value and value not in (float("inf"), float("-inf")) else None
