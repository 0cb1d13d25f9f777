"""The power monitor the runner starts around each workload run.

Contract with the runner (keep it when extending):
- ``with monitor:`` starts and stops sampling (bounded, idempotent stop);
- ``energy(t0_s, t1_s)`` → {channel: {"joules", "avg_w", "source"}} between two time.monotonic() instants;
- ``record_section()`` → the record's ``power`` mapping;
- ``save_samples(path)`` appends the samples not yet written beside the record, returns the file name or None;
- ``run_warnings(iterations, devices)`` → validity warnings (RunWarning) for the run.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from ..errors import BenchError, UserError
from ..fmt import csv_number
from ..warnings_ import RunWarning
from . import energy as en
from . import system
from .base import Channel, Sampler, SamplerUnavailable
from .checks import run_warnings
from .registry import check_options, check_samplers, plan, sampler_class

SYSTEM_PARTS = ("gpu", "cpu", "dram", "ane")
EXTRA_COLUMNS = ("util_pct", "mem_used_gb", "sm_clock_mhz", "mem_clock_mhz", "temp_c", "throttle")


class PowerMonitor:
    """Runs samplers in background threads and turns their readings into energy per window."""

    def __init__(self, slots: list[tuple[list[Sampler], bool]] | None = None, interval_s: float = 0.5,
                 profile: Any = None, requested: list[str] | None = None,
                 fallback: Sampler | None = None, under_load: bool = True) -> None:
        self.slots = slots or []
        self.fallback = fallback  # `auto` on a host where nothing can be measured: declared
        self.under_load = under_load  # False for `benchbench idle`: a declared load_w is no idle figure
        self.interval_s = interval_s
        self.profile = profile
        self.requested = list(requested or [])
        self.active: list[Sampler] = []
        self.unavailable: list[dict[str, str]] = []
        self.skipped: list[dict[str, str]] = []
        self.channels: list[tuple[str, Sampler, Channel]] = []   # (public name, sampler, channel)
        self._entered = False
        self._written: dict[str, int] = {}        # rows of each channel already in the samples file
        self._samples_path: Path | None = None
        self._extras: list[str] = []

    # --- life cycle -------------------------------------------------------------------------
    def __enter__(self) -> PowerMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._entered:
            return
        self._entered = True
        try:
            for alternatives, from_auto in self.slots:
                self._open_slot(alternatives, from_auto)
            if not self.active and self.fallback is not None:
                self.slots.append(([self.fallback], True))
                self._open_slot([self.fallback], True)
        except BaseException:
            self.stop()
            raise
        self._name_channels()

    def _open_slot(self, alternatives: list[Sampler], from_auto: bool) -> None:
        reasons = []
        for sampler in alternatives:
            try:
                sampler.start()
            except (SamplerUnavailable, BenchError, OSError) as exc:
                if isinstance(exc, UserError):
                    raise
                sampler.stop()
                reasons.append(f"{sampler.name}: {exc}" if len(alternatives) > 1 else str(exc))
                continue
            self.active.append(sampler)
            if reasons:
                self.skipped.append({"sampler": sampler.name, "reason": "; ".join(reasons)})
            return
        entry = {"sampler": "/".join(s.name for s in alternatives), "reason": "; ".join(reasons)}
        (self.skipped if from_auto else self.unavailable).append(entry)

    def _name_channels(self) -> None:
        taken: set[str] = set()
        for sampler in self.active:
            for ch in sampler.channels:
                public = ch.name
                if public in taken:  # two samplers measure the same device: keep both, sum one
                    public = f"{ch.name}@{sampler.name}"
                    ch.in_system = False
                taken.add(public)
                self.channels.append((public, sampler, ch))

    def stop(self) -> None:
        """Stop every sampler (bounded; safe to call again)."""
        for alternatives, _ in self.slots:
            for sampler in alternatives:
                sampler.stop()

    # --- energy -------------------------------------------------------------------------------
    def energy(self, t0_s: float, t1_s: float) -> dict[str, dict[str, Any]]:
        """Per channel {"joules", "avg_w", "source"} over [t0_s, t1_s], plus the derived `system`."""
        self.read_edge(t1_s)
        out: dict[str, dict[str, Any]] = {}
        for public, sampler, ch in self.channels:
            w = en.window(sampler.series[ch.name], t0_s, t1_s, max_gap(sampler), ch.counter,
                          ch.counter_resolution_j)
            if w is not None:
                out[public] = w
        system = self.system_energy(out, t1_s - t0_s)
        if system is not None:
            out["system"] = system
        return out

    def mark(self) -> None:
        """Read every in-process source now: called just before an iteration starts, so its start edge
        sits next to a counter reading even after a long model load (stepped counters are polled until
        their next steps, at most a few hundred ms, before the iteration starts)."""
        for sampler in self.active:
            sampler.sample_edge("start")

    def read_edge(self, t_s: float) -> None:
        """Read every in-process source now (counters included, stepped ones until their next steps)
        and wait for streams to pass t_s: an iteration's edge then sits within milliseconds of a reading."""
        for sampler in self.active:
            sampler.sample_edge("end")
            sampler.wait_past(t_s)

    @property
    def overhead_w(self) -> float | None:
        return getattr(self.profile, "non_gpu_overhead_w", None) if self.profile is not None else None

    @property
    def declared_w(self) -> float | None:
        """The `declared` sampler's watts; else, when nothing measures the machine, the profile's load_w."""
        sampler = next((s.declared_system_w for s in self.active if s.declared_system_w is not None), None)
        if sampler is not None or not self.under_load or any(self.system_parts()):
            return sampler
        return getattr(self.profile, "load_w", None) if self.profile is not None else None

    def system_parts(self) -> tuple[list[str], list[str]]:
        """(wall channels, channels summed in the gpu+cpu+overhead estimate)."""
        walls = [p for p, _, ch in self.channels if ch.kind == "wall"]
        covered = {k for _, _, ch in self.channels for k in ch.covers}
        parts = [p for p, _, ch in self.channels
                 if ch.in_system and ch.kind in SYSTEM_PARTS and ch.kind not in covered]
        return walls, parts

    def system_basis(self) -> str | None:
        walls, parts = self.system_parts()
        return system.basis(bool(walls), bool(parts), self.declared_w)

    def system_energy(self, per: dict[str, dict[str, Any]], duration: float) -> dict[str, Any] | None:
        """The derived `system` entry from per-channel energy over `duration` seconds (None: unknown), by
        power/system.py's rule: the run's iterations and the usage ledger's intervals alike."""
        walls, parts = self.system_parts()
        return system.entry(per, duration, walls, parts, self.overhead_w, self.declared_w)

    def system_section(self) -> dict[str, Any]:
        """How `system` is made on this host (power/system.py's rule): system_basis, system_channels, and
        overhead_w (gpu+cpu+overhead) or declared_w when they apply."""
        walls, parts = self.system_parts()
        out: dict[str, Any] = {"system_basis": self.system_basis(), "system_channels": walls or parts}
        if out["system_basis"] == "gpu+cpu+overhead":
            out["overhead_w"] = self.overhead_w
        if self.declared_w is not None:
            out["declared_w"] = self.declared_w
        return out

    # --- record -------------------------------------------------------------------------------
    def record_section(self) -> dict[str, Any]:
        checks = {}
        for public, sampler, ch in self.channels:
            if ch.counter:
                found = en.cross_check(sampler.series[ch.name], max_gap(sampler))
                if found:
                    checks[public] = found
        out: dict[str, Any] = {
            "samplers": [s.name for s in self.active], "requested": self.requested,
            "interval_s": self.interval_s,
            "channels": [{**ch.to_record(), "name": public} for public, _, ch in self.channels],
            "samples": None, "unavailable": self.unavailable, **self.system_section(),
            "sampler_stats": [s.summary() for s in self.active],
        }
        if self.skipped:
            out["skipped"] = self.skipped
        if checks:
            out["counter_check"] = checks
        return out

    def save_samples(self, path: Path) -> str | None:
        """Append the readings not yet written to the long-format CSV beside the record (t_s, channel,
        power_w, energy_j, then the extras seen), creating it with its header; the runner calls this after
        every iteration, so an interrupted run keeps its samples. A file that is new, gone, or meets an
        extra column for the first time is written again whole (temp file + rename). Returns its name or None."""
        fresh = path != self._samples_path or not path.exists()
        rows = self._unwritten(fresh)
        if not rows:
            return None if fresh else path.name
        extras = [c for c in EXTRA_COLUMNS if c in self._extras or any(c in r[4] for r in rows)]
        if not fresh and extras != self._extras:
            rows, fresh = self._unwritten(True), True     # the file again, whole, with the new column
        self._samples_path, self._extras = path, extras
        rows.sort(key=lambda r: r[0])
        target = path.with_name(f".{path.name}.tmp") if fresh else path
        with open(target, "w" if fresh else "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if fresh:
                writer.writerow(["t_s", "channel", "power_w", "energy_j", *extras])
            for t, name, p, e, x in rows:
                writer.writerow([f"{t:.4f}", name, csv_number(p, 3), csv_number(e, 4),
                                 *(csv_number(x.get(c), 3) for c in extras)])
        if fresh:
            os.replace(target, path)
        return path.name

    def _unwritten(self, from_start: bool) -> list[tuple[float, str, Any, Any, dict[str, Any]]]:
        """Readings not yet in the samples file (all of them `from_start`), marked as written."""
        if from_start:
            self._written = {}
        rows = []
        for public, sampler, ch in self.channels:
            taken = sampler.series[ch.name].rows()
            rows += [(t, public, p, e, x) for t, p, e, x in taken[self._written.get(public, 0):]]
            self._written[public] = len(taken)
        return rows

    def run_warnings(self, iterations: list[dict[str, Any]], devices: list[str],
                     compute_device: str | None = None) -> list[RunWarning]:
        return run_warnings(self, iterations, devices, compute_device)


def max_gap(sampler: Sampler) -> float:
    """How far a power reading may be held past the last one: two intervals and some jitter."""
    return 2 * sampler.interval_s + 0.25


def build_monitor(config: Any, profile: Any = None, under_load: bool = True) -> PowerMonitor:
    """The monitor for a suite's `power:` config (a suite.PowerConfig) on this host; `under_load=False`
    (idle measurement) never falls back to the profile's declared load_w."""

    requested = list(getattr(config, "samplers", None) or ["auto"])
    interval_s = float(getattr(config, "interval_ms", 500)) / 1000
    options = dict(getattr(config, "options", None) or {})
    bad = check_samplers(requested)
    if bad:
        raise UserError(bad[1], field="power.samplers", hint=bad[2])
    for name, opts in options.items():
        problem = check_options(name, opts)
        if problem:
            raise UserError(problem, field=f"power.{name}")
    slots = [([sampler_class(n)(interval_s, options.get(n), profile) for n in names], from_auto)
             for names, from_auto in plan(requested, options)]
    fallback = None
    if "auto" in requested and "declared" not in requested and getattr(profile, "load_w", None) is not None:
        fallback = sampler_class("declared")(interval_s, options.get("declared"), profile)
    return PowerMonitor(slots, interval_s, profile, requested, fallback, under_load)
