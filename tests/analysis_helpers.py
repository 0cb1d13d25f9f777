"""Synthetic result records in the real layout (docs/internals.md), for analysis and report tests.

    rec, samples = llm_run(tok_s=[40, 42, 41], gpu_w=200, wall_w=300, idle_w=100)
    path = write_run(tmp_path / "results", rec, samples)

Power is constant within an iteration and drops to `idle_w` between iterations; each iteration's
`energy` holds what a monitor would have written for that: channel joules = watts × duration, plus
the derived `system` channel (basis `wall` when a wall channel exists, else `gpu+cpu+overhead` with
`overhead_w`, else `declared` with `load_w`). `samples` (a DataFrame in the `<run_id>.power.csv`
format) holds readings every `interval_s` over the whole run; GPU channels carry a cumulative
energy counter, the wall channel only power.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchbench.metrics import derive_throughput
from benchbench.record import SCHEMA_VERSION, slug

PROFILE = {"name": "box", "electricity_per_kwh": 0.20, "currency": "USD", "hardware_cost": 3000.0,
           "amortization_years": 3.0, "idle_w": 80.0, "non_gpu_overhead_w": 60.0,
           "memory_bandwidth_gbs": 400.0}


def _listify(value: float | Sequence[float] | None, n: int) -> list[float | None]:
    if value is None or isinstance(value, (int, float)):
        return [value] * n
    if len(value) != n:
        raise ValueError(f"need {n} values, got {len(value)}")
    return list(value)


def run_record(kind: str, metrics: Sequence[dict[str, Any]], *, machine: str = "box",
               workload: str = "w", backend: str = "ollama", params: dict[str, Any] | None = None,
               warmups: int = 1, profile: dict[str, Any] | bool | None = None, session: str = "20250101T000000Z-0001",
               suite: str = "s", durations: float | Sequence[float] = 10.0,
               gpu_w: float | Sequence[float] | None = None,
               n_gpus: int = 1, wall_w: float | Sequence[float] | None = None, cpu_w: float | None = None,
               overhead_w: float | None = None, load_w: float | None = None, idle_w: float | None = None,
               idle_source: str = "measured", idle_basis: str | None = None,
               facts: dict[str, Any] | None = None, t0_s: float = 1000.0,
               gap_s: float = 2.0, interval_s: float | None = None, errors: dict[int, str] | None = None,
               suite_prices: dict[str, Any] | None = None, warnings: Sequence[str] = (),
               started_at: str = "2025-01-01T00:00:00.000Z") -> tuple[dict[str, Any], pd.DataFrame | None]:
    """One run record (+ power samples when `interval_s` is given); the first `warmups` entries of
    `metrics` are warmups. `gpu_w` is per GPU; `errors` maps iteration index → error message."""
    n = len(metrics)
    durs, gpus, walls = _listify(durations, n), _listify(gpu_w, n), _listify(wall_w, n)
    errors = errors or {}
    iterations, spans = [], []
    t = t0_s
    for i, m in enumerate(metrics):
        start, end = t, t + durs[i]
        spans.append((start, end, gpus[i], walls[i]))
        it: dict[str, Any] = {"index": i, "warmup": i < warmups, "started_at": started_at,
                              "duration_s": durs[i], "mono_start_s": start, "mono_end_s": end,
                              "metrics": {} if i in errors else _with_throughput(kind, m, durs[i]),
                              "energy": _energy(durs[i], gpus[i], n_gpus, walls[i], cpu_w, overhead_w, load_w)}
        if i in errors:
            it["error"] = errors[i]
        iterations.append(it)
        t = end + gap_s
    prof = None if profile is False else {**PROFILE, "name": machine, **(profile or {})}
    run_id = f"{session}--{slug(workload)}"
    idle = None
    if idle_w is not None:
        idle = {"system": idle_w} | ({"gpu0": idle_w / 4} if gpu_w is not None else {})
    rec = {
        "schema_version": SCHEMA_VERSION, "type": "run", "run_id": run_id, "session_id": session, "status": "complete",
        "started_at": started_at, "finished_at": started_at, "benchbench_version": "0.1.0",
        "suite": {"name": suite, "path": f"/suites/{suite}.yaml", "sha256": hashlib.sha256(suite.encode()).hexdigest()}
        | ({"prices": suite_prices} if suite_prices else {}),
        "machine": {"name": machine, "profile": prof,
                    "fingerprint": {"hostname": machine, "cpu": "Test CPU", "cores": 8, "ram_gb": 64, "gpus": [],
                                    "os": "Linux", "kernel": "6", "python": "3.11", "packages": {}, "env": {}}},
        "workload": {"name": workload, "base_name": workload.split("[")[0], "kind": kind, "backend": backend,
                     "params": params if params is not None else {"model": "m"}, "matrix": {},
                     "warmups": warmups, "repetitions": n - warmups, "facts": facts or {}},
        "iterations": iterations,
        "power": {"samplers": ["fake"], "interval_s": interval_s, "channels": [], "samples": None},
        "idle": idle,
        "idle_source": {"source": idle_source, "record": None,
                        "system_basis": idle_basis or ("wall" if idle_source == "measured" else "declared")}
        if idle is not None else None,
        "warnings": [{"code": c, "message": c} for c in warnings],
        "errors": [{"iteration": i, "message": e} for i, e in errors.items()], "resumes": [],
    }
    samples = None
    if interval_s:
        samples = power_samples(spans, n_gpus, interval_s, idle_w or 0.0, t0_s - gap_s, t + gap_s)
        rec["power"]["samples"] = f"{run_id}.power.csv"
    return rec, samples


def _with_throughput(kind: str, metrics: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """As the runner records an LLM iteration: its output tokens and the throughput over its duration."""
    m = dict(metrics)
    if kind == "llm" and "gen_tokens" in m:
        m.setdefault("output_tokens", m["gen_tokens"])
        derive_throughput(m, duration_s)
    return m


def throughput(rec: dict[str, Any]) -> float:
    """The machine's output throughput over a record's measured iterations: Σ tokens ÷ Σ seconds."""
    its = [it for it in rec["iterations"] if not it["warmup"] and not it.get("error")]
    return sum(it["metrics"]["output_tokens"] for it in its) / sum(it["duration_s"] for it in its)


def _energy(dur: float, gpu_w: float | None, n_gpus: int, wall_w: float | None, cpu_w: float | None,
            overhead_w: float | None, load_w: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if gpu_w is not None:
        for g in range(n_gpus):
            out[f"gpu{g}"] = {"joules": gpu_w * dur, "avg_w": gpu_w, "source": "counter"}
    if cpu_w is not None:
        out["cpu-package0"] = {"joules": cpu_w * dur, "avg_w": cpu_w, "source": "counter"}
    if wall_w is not None:
        out["wall"] = {"joules": wall_w * dur, "avg_w": wall_w, "source": "integrated"}
        out["system"] = {"joules": wall_w * dur, "avg_w": wall_w, "source": "integrated", "basis": "wall"}
    elif gpu_w is not None and overhead_w is not None:
        watts = gpu_w * n_gpus + (cpu_w or 0) + overhead_w
        out["system"] = {"joules": watts * dur, "avg_w": watts, "source": "estimated", "basis": "gpu+cpu+overhead"}
    elif load_w is not None:
        out["system"] = {"joules": load_w * dur, "avg_w": load_w, "source": "declared", "basis": "declared"}
    return out


def power_samples(spans: Sequence[tuple[float, float, float | None, float | None]], n_gpus: int,
                  interval_s: float, idle_w: float, t_first: float, t_last: float) -> pd.DataFrame:
    """Readings every interval_s: load power inside iterations, idle power between them."""
    t = np.arange(t_first, t_last + interval_s / 2, interval_s)
    frames = []
    has_gpu = any(s[2] is not None for s in spans)
    has_wall = any(s[3] is not None for s in spans)
    for channel, col, idle in [*((f"gpu{g}", 2, idle_w / 4) for g in range(n_gpus if has_gpu else 0)),
                               *((("wall", 3, idle_w),) if has_wall else ())]:
        p = np.full(len(t), idle, dtype=float)
        for span in spans:
            p[(t >= span[0]) & (t <= span[1])] = span[col]
        energy = np.concatenate(([0.0], np.cumsum(np.diff(t) * (p[1:] + p[:-1]) / 2))) if col == 2 else None
        frames.append(pd.DataFrame({"t_s": t, "channel": channel, "power_w": p,
                                    "energy_j": energy if energy is not None else np.nan}))
    return pd.concat(frames, ignore_index=True).sort_values(["t_s", "channel"], kind="stable")


def llm_run(tok_s: Sequence[float] = (40.0, 42.0, 41.0), warmup_tok_s: Sequence[float] = (30.0,),
            gen_tokens: int = 256, **kw: Any) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """An LLM run: warmups then measured iterations at the given decode speeds."""
    speeds = [*warmup_tok_s, *tok_s]
    metrics = [{"prompt_tokens": 64, "prompt_s": 0.1, "pp_tok_s": 640.0, "gen_tokens": gen_tokens,
                "gen_s": gen_tokens / r, "tg_tok_s": r, "ttft_s": 0.12, "e2e_s": 0.1 + gen_tokens / r,
                "load_s": 0.0, "done_reason": "length"} for r in speeds]
    kw.setdefault("durations", [m["e2e_s"] for m in metrics])
    kw.setdefault("params", {"model": "llama3.1:8b", "prompt_tokens": 64, "max_tokens": gen_tokens})
    return run_record("llm", metrics, warmups=len(warmup_tok_s), **kw)


def tts_run(runs: Sequence[tuple[float, float]] = ((60.0, 20.0), (50.0, 20.0), (55.0, 22.0)),
            chars: int = 300, **kw: Any) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """A TTS run from (gen_s, audio_s) pairs, all measured unless warmups= is given."""
    metrics = [{"chars": chars, "gen_s": g, "audio_s": a, "rtf": g / a, "sample_rate": 24000} for g, a in runs]
    kw.setdefault("durations", [g for g, _ in runs])
    kw.setdefault("warmups", 0)
    kw.setdefault("backend", "espeak-ng")
    return run_record("tts", metrics, **kw)


def video_run(gen_s: Sequence[float] = (600.0, 620.0), video_s: float = 4.0, fps: float = 24.0,
              **kw: Any) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """A video run: one clip per iteration."""
    frames = int(video_s * fps) + 1
    metrics = [{"frames": frames, "fps": fps, "video_s": video_s, "width": 768, "height": 512, "gen_s": g,
                "stages_s": {"text_encode": 5.0, "stage1": g * 0.4, "upsample": 3.0, "stage2": g * 0.5,
                             "decode": 20.0},
                "peak_mem_gb": {"cuda:0": 10.8, "cuda:1": 9.3}} for g in gen_s]
    kw.setdefault("durations", list(gen_s))
    kw.setdefault("warmups", 0)
    kw.setdefault("backend", "ltx2")
    return run_record("video", metrics, **kw)


def idle_record(machine: str = "box", watts: dict[str, float] | None = None, *,
                session: str = "20250102T000000Z-0002", started_at: str = "2025-01-02T00:00:00.000Z",
                system_basis: str | None = "wall") -> dict[str, Any]:
    """A `type: idle` record as `benchbench idle` stores it (`system_basis`: how `system` was got)."""
    return {"schema_version": 1, "type": "idle", "run_id": f"{session}--idle", "session_id": session,
            "status": "complete", "started_at": started_at, "finished_at": started_at,
            "machine": {"name": machine, "profile": None, "fingerprint": {"hostname": machine}},
            "seconds": 60.0, "settle_s": 5.0, "idle": watts or {"system": 90.0, "gpu0": 20.0},
            "details": {}, "system_basis": system_basis, "warnings": [], "errors": []}


def write_run(results: Path, rec: dict[str, Any], samples: pd.DataFrame | None = None) -> Path:
    """results/<machine>/<suite>/<run_id>.json (+ <run_id>.power.csv)."""
    folder = Path(results) / slug(rec["machine"]["name"]) / slug(rec.get("suite", {}).get("name", "idle"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rec['run_id']}.json"
    path.write_text(json.dumps(rec, indent=1), encoding="utf-8")
    if samples is not None:
        samples.to_csv(folder / f"{rec['run_id']}.power.csv", index=False, float_format="%.6f")
    return path


def write_idle(results: Path, rec: dict[str, Any]) -> Path:
    """results/<machine>/idle/<run_id>.json"""
    folder = Path(results) / slug(rec["machine"]["name"]) / "idle"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rec['run_id']}.json"
    path.write_text(json.dumps(rec, indent=1), encoding="utf-8")
    return path
