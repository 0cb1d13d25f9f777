"""Energy per interval for the ledger, from the project's samplers (benchbench/power/).

The samplers run as in a benchmark, but slowly: power every `power_interval_s` (1 s by default) where
a channel has no energy counter, and the counters (NVML total energy, RAPL, plug totals) read at
every interval edge. Per channel, an interval's energy is the counter's advance when it is sane (not
negative, not faster than MAX_CHANNEL_W); the advances add up to the counter's total, so a counter
that moves in coarse steps (a Tasmota plug's 3.6 kJ, an H200's ~100 ms updates) is exact over a day
even when single minutes are not. Otherwise power is integrated (trapezoid). Readings older than the last edge are
dropped, so memory stays flat however long `watch` runs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ..power import energy as en
from ..power.monitor import PowerMonitor, build_monitor, max_gap

MAX_CHANNEL_W = 50_000.0     # a counter advancing faster than this is not believed (a glitch, not power)
EDGE_ONLY_MS = 10 ** 9       # NVML: read the (slow) energy counter only at interval edges
POLL_AT_INTERVAL = ("rapl", "shelly", "tasmota", "amdsmi")   # counters: no need to poll fast


def build(samplers: list[str], interval_s: float, power_interval_s: float, profile: Any,
          plugs: dict[str, list[str]] | None = None) -> PowerMonitor:
    """The monitor `watch` runs: the suite's sampler machinery with ledger-friendly options."""
    slow_ms = min(60_000, max(1, round(interval_s * 1000)))
    # NVML: one counter read per edge (edge_steps 0: no polling for the counter's next steps, which costs
    # CPU every interval; the ledger's per-interval advances telescope to the counter's total anyway)
    options: dict[str, dict[str, Any]] = {"nvml": {"counter_interval_ms": EDGE_ONLY_MS, "extras": False,
                                                   "edge_steps": 0, "interval_ms": round(power_interval_s * 1000)}}
    for name in POLL_AT_INTERVAL:
        options.setdefault(name, {})["interval_ms"] = slow_ms
    for name, urls in (plugs or {}).items():
        options.setdefault(name, {})["url"] = urls if len(urls) > 1 else urls[0]
    config = SimpleNamespace(samplers=samplers, interval_ms=round(power_interval_s * 1000), options=options)
    # not under load: a benchmark's declared load_w is not what a machine draws all day, so `system` is
    # power/system.py's rule without it (wall, else GPU + CPU + overhead, else an explicit `declared` sampler)
    monitor = build_monitor(config, profile, under_load=False)
    monitor.fallback = None   # nor does `auto` fall back to the declared sampler where nothing measures
    return monitor


class PowerTap:
    """Energy per channel (and the derived `system`) between interval edges."""

    def __init__(self, monitor: PowerMonitor) -> None:
        self.monitor = monitor
        self.counter_at: dict[str, float] = {}     # each counter's value at the last edge

    def start(self, interval_s: float | None = None) -> list[tuple[str, str]]:
        """Open the samplers; events saying which could not. A polling sampler whose channels all
        have an energy counter needs no fast power readings: it is then polled once per interval."""
        self.monitor.start()
        for sampler in self.monitor.active:
            if interval_s and sampler.channels and all(ch.counter for ch in sampler.channels) \
                    and hasattr(sampler, "read"):
                sampler.interval_s = max(sampler.interval_s, min(interval_s, 60.0))
        events = [("sampler_unavailable", f"{u['sampler']}: {u['reason']}") for u in self.monitor.unavailable]
        events += [("sampler_skipped", f"{s['sampler']}: {s['reason']}") for s in self.monitor.skipped]
        if not self.monitor.channels and self.monitor.declared_w is None:
            events.append(("no_power", "no power channel could be opened: energy is not recorded "
                                       "(give a plug, or `declared` with load_w in the profile)"))
        return events

    def channels(self) -> dict[str, dict[str, Any]]:
        """The channels recorded, `system` described as a run record's power section does (PowerMonitor.
        system_section: the one rule of power/system.py)."""
        out = {public: {**ch.to_record(), "name": public} for public, _, ch in self.monitor.channels}
        system = self.monitor.system_section()
        if system["system_basis"]:
            out["system"] = {"name": "system", **system}
        return out

    def mark(self) -> None:
        """Read every source now (the first edge)."""
        self.monitor.mark()

    def energy(self, t0_s: float, t1_s: float) -> tuple[list[tuple[str, float, str]], list[tuple[str, str]]]:
        """([(channel, joules, source)], events) for [t0_s, t1_s]; then forgets readings before t1_s."""
        self.monitor.read_edge(t1_s)
        per: dict[str, dict[str, Any]] = {}
        events: list[tuple[str, str]] = []
        for public, sampler, ch in self.monitor.channels:
            got = self._channel(public, sampler, ch, t0_s, t1_s, events)
            if got is not None:
                per[public] = got
        rows = [(name, e["joules"], e["source"]) for name, e in per.items()]
        system = self.monitor.system_energy(per, t1_s - t0_s)
        if system is not None:
            rows.append(("system", system["joules"], system["source"]))
        for sampler in self.monitor.active:
            for series in sampler.series.values():
                series.drop_before(t1_s)
        return rows, events

    def _channel(self, public: str, sampler: Any, ch: Any, t0: float, t1: float,
                 events: list[tuple[str, str]]) -> dict[str, Any] | None:
        tp, p, te, e = sampler.series[ch.name].snapshot()
        gap = max_gap(sampler)
        integrated = en.trapezoid(tp, p, t0, t1, gap)
        if ch.counter:
            end = en.counter_at(te, e, t1, gap, tp, p)
            start = self.counter_at.get(public)
            if start is None:
                start = en.counter_at(te, e, t0, gap, tp, p)
            if end is not None:
                self.counter_at[public] = end
            if start is not None and end is not None:
                delta = end - start
                if 0 <= delta <= MAX_CHANNEL_W * (t1 - t0) + 2 * ch.counter_resolution_j:
                    return {"joules": delta, "source": "counter"}
                what = "went back (reset: driver reload, plug reboot?)" if delta < 0 else \
                    f"jumped {delta:.0f} J in {t1 - t0:.1f} s"
                events.append(("energy_counter", f"{public}: the energy counter {what}; this interval "
                                                 "uses integrated power"))
        if integrated is None:
            return None
        return {"joules": integrated, "source": "integrated"}

    def gap(self, previous: dict[str, float], t_s: float, span_s: float) -> list[tuple[str, float, str]]:
        """Energy drawn while no recorder ran, from counters that kept counting (same boot): each
        counter's value now against the previous recorder's last one; the counters then start here."""
        per: dict[str, dict[str, Any]] = {}
        for public, sampler, ch in self.monitor.channels:
            if not ch.counter:
                continue
            tp, p, te, e = sampler.series[ch.name].snapshot()
            now = en.counter_at(te, e, t_s, max_gap(sampler), tp, p)
            if now is None:
                continue
            self.counter_at[public] = now
            delta = now - previous.get(public, float("nan"))
            if 0 <= delta <= MAX_CHANNEL_W * span_s:
                per[public] = {"joules": delta, "source": "counter"}
        rows = [(name, e["joules"], e["source"]) for name, e in per.items()]
        system = self.monitor.system_energy(per, span_s) if per else None
        if system is not None and system["source"] in ("counter", "estimated"):
            rows.append(("system", system["joules"], system["source"]))
        return rows

    def counters(self) -> dict[str, float]:
        """Each counter channel's value at the last edge (kept in the ledger's state)."""
        return dict(self.counter_at)

    def stop(self) -> None:
        self.monitor.stop()
