"""Reading ledgers back: intervals per machine, then utilization, energy and the real token mix.

Definitions (docs/ledger.md says the same):
- covered time: the summed length of the machine's recorded intervals;
- busy time: what the sources say they were serving (proxy: time with a request in flight;
  llama.cpp: slot-seconds; vLLM: request-seconds), summed over sources and capped at the covered
  time of the period: exact for the proxy and single-slot servers, an upper bound with batching;
- utilization = busy ÷ covered time;
- idle power: the median system power of intervals in which no source served anything, nor in the
  next interval (a request counted when it ends may have started one interval earlier); without
  enough of them (MIN_IDLE_INTERVALS), the profile's idle_w (declared);
- idle energy = idle power × (time with energy − busy time); serving energy = the rest.
Days, weeks (ISO) and months are UTC; an interval belongs to the period it starts in.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .store import ENERGY_SOURCE_NAMES, ESTIMATED, connect, find_ledgers

MIN_IDLE_INTERVALS = 5
PERIODS = ("day", "week", "month", "all")


@dataclass
class Interval:
    machine: str
    session: str
    seq: int
    start: float
    span_s: float
    flags: int
    system_j: float | None = None
    system_source: str | None = None
    work: list[tuple[str, str, int | None, int | None, int | None, int | None, float | None, int]] = \
        field(default_factory=list)    # source, model, requests, input, cached, output, busy_s, flags

    @property
    def active(self) -> bool:
        return any((w[3] or w[5] or w[2] or (w[6] or 0) > 0) for w in self.work)


@dataclass
class Ledgers:
    """Every interval of the ledgers read, de-duplicated, with each machine's profile and sources."""

    intervals: dict[str, list[Interval]] = field(default_factory=dict)       # machine → sorted
    profiles: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    sources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def read(paths: Iterable[Path | str], start: float | None = None, end: float | None = None,
         machine: str | None = None) -> Ledgers:
    """Ledgers under `paths` (files or folders), limited to [start, end) and one machine if given."""
    out = Ledgers()
    seen: set[tuple[str, int]] = set()
    for path in find_ledgers(paths):
        out.files.append(str(path))
        conn = connect(path, readonly=True)
        try:
            _read_one(conn, out, seen, start, end, machine)
        finally:
            conn.close()
    for rows in out.intervals.values():
        rows.sort(key=lambda i: i.start)
    return out


def _read_one(conn: Any, out: Ledgers, seen: set[tuple[str, int]], start: float | None, end: float | None,
              machine: str | None) -> None:
    names = {i: n for i, n in conn.execute("SELECT id, name FROM names")}
    sessions = {}
    for sid, uuid, mach, config in conn.execute("SELECT id, uuid, machine, config FROM sessions ORDER BY id"):
        if machine is not None and mach != machine:
            continue
        cfg = json.loads(config)
        sessions[sid] = (uuid, mach)
        if cfg.get("profile"):
            out.profiles[mach] = cfg["profile"]
        else:
            out.profiles.setdefault(mach, None)
        out.sources.setdefault(mach, {}).update(cfg.get("sources") or {})
    lo, hi = start if start is not None else -1e18, end if end is not None else 1e18
    by_key: dict[tuple[int, int], Interval] = {}
    for sid, seq, t0, span, flags in conn.execute(
            "SELECT session, seq, start_ms / 1e3, span_us / 1e6, flags FROM intervals WHERE start_ms >= ? "
            "AND start_ms < ?", (lo * 1e3, hi * 1e3)):
        if sid not in sessions or (sessions[sid][0], seq) in seen:
            continue
        seen.add((sessions[sid][0], seq))
        item = Interval(sessions[sid][1], sessions[sid][0], seq, t0, span, flags)
        by_key[(sid, seq)] = item
        out.intervals.setdefault(item.machine, []).append(item)
    system = next((i for i, n in names.items() if n == "system"), None)
    for sid, seq, joules, source in conn.execute("SELECT session, seq, millijoules / 1e3, source FROM energy "
                                                 "WHERE channel=?", (system,)):
        item = by_key.get((sid, seq))
        if item is not None:
            item.system_j, item.system_source = joules, ENERGY_SOURCE_NAMES.get(source)
    for sid, seq, src, model, *values in conn.execute(
            "SELECT session, seq, source, model, requests, input_tokens, cached_tokens, output_tokens, "
            "busy_ms / 1e3, flags FROM work"):
        item = by_key.get((sid, seq))
        if item is not None:
            item.work.append((names[src], names[model], *values))
    for sid, wall, kind, message in conn.execute("SELECT session, wall, kind, message FROM events ORDER BY wall"):
        if sid in sessions and lo <= wall < hi:
            out.events.setdefault(sessions[sid][1], []).append({"wall": wall, "kind": kind, "message": message})


def period_key(t: float, period: str) -> str:
    d = dt.datetime.fromtimestamp(t, dt.UTC)
    if period == "day":
        return d.strftime("%Y-%m-%d")
    if period == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return d.strftime("%Y-%m")
    return "all"


@dataclass
class TokenMix:
    requests: int | None = None
    input_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int = 0
    estimated: bool = False

    def add(self, requests: int | None, inputs: int | None, cached: int | None, output: int | None,
            estimated: bool) -> None:
        if requests is not None:
            self.requests = (self.requests or 0) + requests
        if inputs is not None:
            self.input_tokens = (self.input_tokens or 0) + inputs
        if cached is not None:
            self.cached_tokens = (self.cached_tokens or 0) + cached
        self.output_tokens += output or 0
        self.estimated |= estimated

    @property
    def cached_fraction(self) -> float | None:
        if not self.input_tokens or self.cached_tokens is None:
            return None
        return self.cached_tokens / self.input_tokens


@dataclass
class Usage:
    """One machine over one period (or the whole window)."""

    machine: str
    period: str
    start: float
    end: float
    covered_s: float = 0.0
    energy_covered_s: float = 0.0
    busy_s: float = 0.0
    busy_in_energy_s: float = 0.0
    energy_j: float | None = None
    energy_sources: set[str] = field(default_factory=set)
    idle_w: float | None = None
    idle_w_source: str | None = None
    intervals: int = 0
    models: dict[tuple[str, str], TokenMix] = field(default_factory=dict)   # (source, model)
    busy_basis: set[str] = field(default_factory=set)

    @property
    def utilization(self) -> float | None:
        return min(1.0, self.busy_s / self.covered_s) if self.covered_s > 0 else None

    @property
    def idle_energy_j(self) -> float | None:
        if self.energy_j is None or self.idle_w is None:
            return None
        idle_s = max(0.0, self.energy_covered_s - min(self.busy_in_energy_s, self.energy_covered_s))
        return min(self.energy_j, self.idle_w * idle_s)

    @property
    def serving_energy_j(self) -> float | None:
        idle = self.idle_energy_j
        return None if idle is None or self.energy_j is None else max(0.0, self.energy_j - idle)

    @property
    def mix(self) -> TokenMix:
        """All models together: the real request shape."""
        total = TokenMix()
        for m in self.models.values():
            total.add(m.requests, m.input_tokens, m.cached_tokens, m.output_tokens, m.estimated)
        return total


def idle_power(intervals: list[Interval], profile: dict[str, Any] | None) -> tuple[float | None, str | None]:
    """(watts, source label): measured from quiet intervals, else the profile's idle_w (declared)."""
    quiet = []
    for k, item in enumerate(intervals):
        nxt = intervals[k + 1] if k + 1 < len(intervals) else None
        if item.system_j is None or item.span_s <= 0 or item.active or (nxt is not None and nxt.active):
            continue
        quiet.append(item.system_j / item.span_s)
    if len(quiet) >= MIN_IDLE_INTERVALS:
        return statistics.median(quiet), f"measured (median of {len(quiet)} idle intervals)"
    if profile and profile.get("idle_w") is not None:
        return float(profile["idle_w"]), "declared (profile idle_w)"
    return None, None


def summarize(ledgers: Ledgers, period: str = "day") -> list[Usage]:
    """Usage per machine and period (`all`: the whole window), oldest first."""
    out: list[Usage] = []
    for machine, intervals in sorted(ledgers.intervals.items()):
        profile = ledgers.profiles.get(machine)
        idle_w, idle_src = idle_power(intervals, profile)
        bases = {f"{(info.get('kind') or '?')}: {info.get('busy_basis') or '?'}"
                 for info in ledgers.sources.get(machine, {}).values()}
        groups: dict[str, Usage] = {}
        for item in intervals:
            key = period_key(item.start, period)
            u = groups.get(key)
            if u is None:
                u = groups[key] = Usage(machine, key, item.start, item.start + item.span_s, idle_w=idle_w,
                                        idle_w_source=idle_src, busy_basis=bases)
            _add(u, item)
        out += list(groups.values())
    return out


def _add(u: Usage, item: Interval) -> None:
    u.intervals += 1
    u.start, u.end = min(u.start, item.start), max(u.end, item.start + item.span_s)
    u.covered_s += item.span_s
    busy = sum(w[6] or 0.0 for w in item.work)
    u.busy_s = min(u.covered_s, u.busy_s + busy)
    if item.system_j is not None:
        u.energy_j = (u.energy_j or 0.0) + item.system_j
        u.energy_covered_s += item.span_s
        u.busy_in_energy_s += busy
        u.energy_sources.add(item.system_source or "?")
    for source, model, requests, inputs, cached, output, _, flags in item.work:
        if inputs is None and output is None and requests is None:
            continue
        mix = u.models.setdefault((source, model), TokenMix())
        mix.add(requests, inputs, cached, output, bool(flags & ESTIMATED))


def machine_usage(paths: Iterable[Path | str], machine: str | None = None, start: float | None = None,
                  end: float | None = None) -> dict[str, Usage]:
    """Per machine, over [start, end) (UNIX seconds; default everything): utilization (`.utilization`,
    busy ÷ covered time, with `.busy_basis`), the real token mix (`.mix`, `.models`), energy split
    into serving and idle. The verdict (part 13) uses this where a ledger exists."""
    return {u.machine: u for u in summarize(read(paths, start, end, machine), "all")}


def ledger_info(path: Path, events: int = 20) -> dict[str, Any]:
    """What `benchbench ledger info` shows."""
    conn = connect(path, readonly=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        sessions = []
        for sid, uuid, mach, host, t0, t1, reason, interval, config in conn.execute(
                "SELECT id, uuid, machine, host, started_wall, stopped_wall, stop_reason, interval_s, config "
                "FROM sessions ORDER BY id"):
            n = conn.execute("SELECT count(*) FROM intervals WHERE session=?", (sid,)).fetchone()[0]
            sessions.append({"uuid": uuid, "machine": mach, "host": host, "started": _utc(t0),
                             "stopped": _utc(t1) if t1 else None, "stop_reason": reason, "interval_s": interval,
                             "intervals": n, "roles": json.loads(config).get("roles") or []})
        rows = conn.execute("SELECT wall, kind, message FROM events ORDER BY wall DESC LIMIT ?",
                            (max(0, events),)).fetchall()
    finally:
        conn.close()
    return {"path": str(path), "schema_version": version, "size_bytes": path.stat().st_size,
            "sessions": sessions,
            "events": [{"time": _utc(w), "kind": k, "message": m} for w, k, m in reversed(rows)]}


def _utc(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def events_by_kind(ledgers: Ledgers) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for machine, items in ledgers.events.items():
        for e in items:
            out[machine][e["kind"]] = out[machine].get(e["kind"], 0) + 1
    return dict(out)
