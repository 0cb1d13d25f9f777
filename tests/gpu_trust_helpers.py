"""Recorded samples of Part 15's real-GPU check (benchmarks/gpu_trust.py on one NVIDIA H100 80GB HBM3,
driver 580.159.04), replayed here: run records, their power samples (`<name>.power.csv`, benchbench's own
long format), the idle record, a 6 s full-power burst (benchmarks/gpu_burst.py), and slices of the
independent energy-counter trace read every 10 ms (`trace.csv.gz`, benchmarks/energy_trace.py)."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
from pathlib import Path
from typing import Any

from power_helpers import HandSampler

from benchbench.power.base import Channel
from benchbench.power.monitor import PowerMonitor

GPU_TRUST = Path(__file__).resolve().parent / "fixtures" / "gpu-trust"
EXTRAS = ("util_pct", "mem_used_gb", "sm_clock_mhz", "mem_clock_mhz", "temp_c", "throttle")


def record(name: str) -> dict[str, Any]:
    return json.loads((GPU_TRUST / f"{name}.json").read_text())


def samples(name: str) -> list[dict[str, str]]:
    with open(GPU_TRUST / f"{name}.power.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


class Replay(HandSampler):
    """The recorded NVML samples behind the sampler interface (named `nvml`, as when recorded)."""

    name = "nvml"


def replay_monitor(name: str, profile: Any = None) -> tuple[PowerMonitor, Replay]:
    """A started PowerMonitor whose gpu0 series holds the recorded samples of `name`."""
    sampler = Replay([Channel("gpu0", "gpu", "nvml", "NVIDIA H100 80GB HBM3", counter=True,
                              counter_resolution_j=0.001)])
    mon = PowerMonitor([([sampler], False)], 0.5, profile, ["nvml"])
    mon.start()
    sampler.stop()   # no thread: the series is filled by hand
    for row in samples(name):
        extra = {k: float(row[k]) for k in EXTRAS if row.get(k) not in (None, "")}
        sampler.push(row["channel"], float(row["t_s"]), float(row["power_w"]) if row["power_w"] else None,
                     float(row["energy_j"]) if row["energy_j"] else None, **extra)
    return mon, sampler


def trace() -> Any:
    """The independent trace, through benchmarks/gpu_trust.py's Trace (the reference estimator)."""
    spec = importlib.util.spec_from_file_location("gpu_trust", GPU_TRUST.parents[2] / "benchmarks" / "gpu_trust.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with gzip.open(GPU_TRUST / "trace.csv.gz", "rt") as fh:
        rows = [(float(line.split(",")[0]), float(line.split(",")[2])) for line in fh.read().splitlines()[1:]]
    return module.Trace(rows)
