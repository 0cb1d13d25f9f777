"""The power monitor the runner starts around each workload run.

Contract with the runner (keep it when extending):
- ``with monitor:`` starts and stops sampling (bounded, idempotent stop);
- ``energy(t0_s, t1_s)`` → {channel: {"joules", "avg_w", "source"}} between two time.monotonic() instants;
- ``record_section()`` → the record's ``power`` mapping;
- ``save_samples(path)`` writes the samples beside the record, returns the file name or None;
- ``run_warnings(iterations, devices)`` → validity warnings (RunWarning) for the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..workloads.base import RunWarning


class PowerMonitor:
    """No samplers yet: records that power was not measured."""

    def __init__(self, interval_s: float = 0.5, reason: str = "no power sampler is built yet") -> None:
        self.interval_s = interval_s
        self.reason = reason

    def __enter__(self) -> PowerMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def energy(self, t0_s: float, t1_s: float) -> dict[str, dict[str, Any]]:
        return {}

    def record_section(self) -> dict[str, Any]:
        return {"samplers": [], "interval_s": self.interval_s, "channels": [], "samples": None,
                "unavailable": [{"sampler": "auto", "reason": self.reason}]}

    def save_samples(self, path: Path) -> str | None:
        return None

    def run_warnings(self, iterations: list[dict[str, Any]], devices: list[str]) -> list[RunWarning]:
        return [RunWarning("power_unavailable", f"power was not measured: {self.reason}")]


def build_monitor(config: Any, profile: Any = None) -> PowerMonitor:
    """The monitor for a suite's `power:` config on this host."""
    return PowerMonitor(interval_s=float(getattr(config, "interval_ms", 500)) / 1000)
