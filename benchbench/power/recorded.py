"""Power recorded on its own (`benchbench sample`), saved to a file and read back to find the energy of
a wall-clock window, for results imported from other tools (`benchbench import --power FILE`).

The file is JSON (`type: power-samples`): the monitor's `power` section (channels, system basis,
overhead), the clock offset `unix_minus_monotonic_s`, and the samples in long format beside it
(`<stem>.power.csv`, the same columns as beside run records, `t_s` on time.monotonic()).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..errors import UserError
from ..record import clean_floats
from .base import Channel
from .monitor import PowerMonitor
from .series import Series

FILE_TYPE = "power-samples"


def samples_path(path: Path) -> Path:
    """The CSV beside a power-samples JSON file."""
    return path.with_name(path.name.removesuffix(".json") + ".power.csv")


def save_session(monitor: PowerMonitor, path: Path, meta: dict[str, Any]) -> None:
    """Write the JSON and its CSV (both replaced atomically; call it as often as you like)."""
    csv_name = monitor.save_samples(samples_path(path))
    power = {**monitor.record_section(), "samples": csv_name}
    data = clean_floats({"type": FILE_TYPE, "schema_version": 1, **meta, "power": power})
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def clock_offset_s() -> float:
    """time.time() − time.monotonic(): adds to a monotonic reading to give Unix time."""
    return time.time() - time.monotonic()


class _Replay:
    """A stand-in sampler holding recorded series (what PowerMonitor.energy needs of a sampler)."""

    def __init__(self, name: str, interval_s: float, declared_w: float | None) -> None:
        self.name, self.interval_s, self.declared_system_w = name, interval_s, declared_w
        self.series: dict[str, Series] = {}

    def sample_now(self) -> None:
        return None

    def sample_edge(self, which: str) -> None:   # recorded series: no source to read at a window's edge
        return None

    def wait_past(self, t_s: float) -> None:
        return None


class RecordedPower:
    """A `benchbench sample` file: energy per channel (and `system`) over Unix-time windows."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read power samples: {exc}", file=str(path)) from None
        if not isinstance(data, dict) or data.get("type") != FILE_TYPE:
            raise UserError("not a `benchbench sample` file (type power-samples)", file=str(path),
                            hint="record one with `benchbench sample --out FILE`")
        self.meta = data
        self.offset_s = float(data["clock"]["unix_minus_monotonic_s"])
        self.monitor = self._monitor(data["power"])

    def _monitor(self, power: dict[str, Any]) -> PowerMonitor:
        interval = float(power.get("interval_s") or 0.5)
        profile = SimpleNamespace(non_gpu_overhead_w=power.get("overhead_w"))
        monitor = PowerMonitor([], interval, profile)
        samplers: dict[str, _Replay] = {}
        for entry in power.get("channels") or []:
            sampler = samplers.setdefault(entry["sampler"], _Replay(entry["sampler"], interval,
                                                                    power.get("declared_w")))
            ch = Channel(name=entry["name"], kind=entry["kind"], sampler=entry["sampler"],
                         device=entry.get("device", ""), counter=bool(entry.get("counter")),
                         in_system=entry.get("in_system", True), covers=tuple(entry.get("covers") or ()))
            sampler.series[ch.name] = Series()
            monitor.channels.append((ch.name, sampler, ch))
        monitor.active = list(samplers.values())
        name = power.get("samples")
        if name:
            self._read_csv(self.path.with_name(name), monitor)
        return monitor

    @staticmethod
    def _read_csv(path: Path, monitor: PowerMonitor) -> None:
        by_name = {public: sampler.series[ch.name] for public, sampler, ch in monitor.channels}
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    series = by_name.get(row.get("channel", ""))
                    if series is None:
                        continue
                    power = float(row["power_w"]) if row.get("power_w") else None
                    energy = float(row["energy_j"]) if row.get("energy_j") else None
                    series.add(float(row["t_s"]), power, energy)
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"cannot read the samples: {exc}", file=str(path)) from None

    @property
    def span_unix_s(self) -> tuple[float, float] | None:
        """(first, last) sample time in Unix seconds, None when empty."""
        times = [t for _, s, ch in self.monitor.channels for t in s.series[ch.name].t]
        return (min(times) + self.offset_s, max(times) + self.offset_s) if times else None

    def energy(self, t0_unix_s: float, t1_unix_s: float) -> dict[str, dict[str, Any]]:
        """{channel: {joules, avg_w, source}} (+ system) over a Unix-time window; {} outside the samples."""
        span = self.span_unix_s
        if span is None or t0_unix_s < span[0] or t1_unix_s > span[1] or t1_unix_s <= t0_unix_s:
            return {}
        return self.monitor.energy(t0_unix_s - self.offset_s, t1_unix_s - self.offset_s)


__all__ = ["FILE_TYPE", "RecordedPower", "clock_offset_s", "samples_path", "save_session"]
