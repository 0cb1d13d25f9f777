"""Usage: what the machines actually served and drew (from `benchbench watch` ledgers), what it really
cost, and what the same requests would have cost at an API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ... import metrics
from ...fmt import MISSING, aligned_table
from ...ledger.economics import economics, model_rows, profile_for
from ...ledger.usage import read, summarize
from ..model import Column, Note, Section, Table
from . import currency_unit, mixed_currency, with_currency

NOTABLE = ("recovered", "gap", "clock_step", "counter_reset", "energy_counter", "source_down", "write_resumed",
           "no_power", "sampler_unavailable")
MAX_EVENTS = 200


@dataclass
class LedgerView:
    """What build_report hands this section: rows per period, per model, events, the API names."""

    period: str
    periods: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    apis: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def view(paths: list[Any], period: str, apis: list[str], start: float | None = None,
         end: float | None = None) -> LedgerView | None:
    """Read the ledgers and compute the section's rows; None when there are none."""
    ledgers = read(paths, start, end)
    if not ledgers.intervals:
        return None
    out = LedgerView(period, apis=list(apis), files=ledgers.files)
    profiles = {m: profile_for(m, p) for m, p in ledgers.profiles.items()}
    for u in summarize(ledgers, period):
        out.periods.append(economics(u, profiles.get(u.machine), apis))
    for u in summarize(ledgers, "all"):
        out.models += model_rows(u, apis, profiles.get(u.machine))
    for machine, events in sorted(ledgers.events.items()):
        for e in events:
            if e["kind"] in NOTABLE:
                when = dt.datetime.fromtimestamp(e["wall"], dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
                out.events.append({"machine": machine, "time": when, "kind": e["kind"], "message": e["message"]})
    out.events = out.events[-MAX_EVENTS:]
    return out


PERIOD_METRICS = ("covered_h", "realized_utilization_pct", "energy_kwh", "serving_kwh", "idle_kwh",
                  "observed_idle_w", "electricity_cost", "serving_electricity_cost", "idle_electricity_cost",
                  "amortization_cost", "requests", "input_mtok", "cached_pct", "output_mtok",
                  "realized_electricity_per_mtok", "realized_all_in_per_mtok")
MODEL_METRICS = ("requests", "served_input_tokens", "cached_pct", "served_output_tokens", "input_per_request",
                 "output_per_request", "tokens_estimated")


def api_columns(apis: list[str]) -> list[Column]:
    """One column per API model (`api:<model>`), in the unit of the registry's `api_cost`."""
    unit = metrics.get("api_cost").shown_unit
    return [Column(f"api:{a}", f"at {a}", unit) for a in apis]


def period_columns(apis: list[str], cur: str, mixed: bool = False) -> list[Column]:
    """The per-period table's columns; `mixed`: the machines' currencies differ (a column says which)."""
    cols = [Column("machine", "machine", kind="text"), Column("period", "period (UTC)", kind="text"),
            *([Column("currency", "currency", kind="text")] if mixed else []),
            Column.of("covered_h"), Column.of("realized_utilization_pct"),
            Column("busy_basis", "busy from", kind="text"), *(Column.of(n) for n in PERIOD_METRICS[2:3]),
            Column("energy_source", "energy from", kind="text"), *(Column.of(n) for n in PERIOD_METRICS[3:])]
    return with_currency(cols, cur) + api_columns(apis)


MODEL_COLUMNS = [Column("machine", "machine", kind="text"), Column("source", "source", kind="text"),
                 Column("model", "model", kind="text"), *(Column.of(n) for n in MODEL_METRICS)]
EVENT_COLUMNS = [Column("machine", "machine", kind="text"), Column("time", "time (UTC)", kind="text"),
                 Column("kind", "what", kind="text"), Column("message", "said", kind="text")]


def build(ctx: Any) -> Section | None:
    v: LedgerView | None = getattr(ctx, "ledger", None)
    if v is None or not v.periods:
        return None
    cur = currency_unit(v.periods)
    blocks: list[Any] = [
        Table("usage_periods", f"What each machine served and drew, per {v.period}",
              period_columns(v.apis, cur, mixed_currency(v.periods)), v.periods, note=_period_note(v)),
        Table("usage_models", "Tokens served per model: the real mix", MODEL_COLUMNS + api_columns(v.apis), v.models,
              note="Input includes cached input. Estimated: a streamed OpenAI answer without usage, whose "
                   "output was counted one token per chunk and whose input is unknown."),
    ]
    if v.events:
        blocks.append(Table("usage_events", "What happened while recording", EVENT_COLUMNS, v.events,
                            note="Restarts of the recorder or the servers, clock steps and write failures, as "
                                 "the ledger recorded them (`benchbench ledger info` lists them all)."))
    if not v.apis:
        blocks.append(Note("Add --api MODEL (a genai-prices name such as gpt-4o-mini) to see what the same "
                           "requests would have cost at that API."))
    return Section("usage", "Usage: what the machines actually served", blocks,
                   intro="Measured by `benchbench watch` from the servers' own counters and the power samplers, "
                         f"from {len(v.files)} ledger(s). Work is counted; energy is the `system` channel's, "
                         "measured at the wall or from counters, else estimated (GPU + CPU + the profile's "
                         "overhead) or declared, as `energy from` says; idle power is measured from quiet "
                         "intervals, else the profile's (declared). Figures are realized over each period "
                         "(docs/metrics.md, scope `period`).")


def _period_note(v: LedgerView) -> str:
    sources = sorted({r["idle_w_source"] for r in v.periods if r.get("idle_w_source")})
    return ("Utilization = busy time ÷ recorded time; busy time comes from each source (proxy: a request in "
            "flight; llama.cpp: slot-seconds; vLLM: request-seconds; the last two exceed wall time when "
            "requests run together, so utilization is capped at 100%). Idle power: "
            + ("; ".join(sources) or "unknown") + ". Idle energy = idle power × the time not busy; serving energy "
            "= the rest. Amortization = hardware ÷ (years × 8,760 h) × recorded hours. Realized all-in = "
            "(electricity + amortization) ÷ output tokens. API columns price every request's input, cached "
            "input and output tokens with genai-prices.")


TEXT_METRICS = ("covered_h", "realized_utilization_pct", "energy_kwh", "serving_kwh", "idle_kwh",
                "electricity_cost", "amortization_cost", "requests", "input_mtok", "cached_pct", "output_mtok",
                "realized_all_in_per_mtok")


def render_text(v: LedgerView) -> str:
    """The terminal table of `benchbench report LEDGER` (no -o): labels, units (a second header line) and
    formats from the registry."""
    cur = currency_unit(v.periods)
    cols: list[tuple[str, str, str, Any]] = [("machine", "machine", "", str), ("period", "period", "UTC", str)]
    for name in TEXT_METRICS:
        m = metrics.get(name)
        cols.append((name, m.label, m.shown_unit.replace("{cur}", cur), m.format))
    api = metrics.get("api_cost")
    cols += [(f"api:{a}", f"at {a}", api.shown_unit, api.format) for a in v.apis]
    table = [[label for _, label, _, _ in cols], [unit for _, _, unit, _ in cols]]
    for row in v.periods:
        table.append([MISSING if row.get(k) is None else show(row[k]) for k, _, _, show in cols])
    return (f"usage per {v.period} (UTC) from {len(v.files)} ledger(s):\n" + aligned_table(table, header_rows=2)
            + (f"{len(v.events)} notable event(s): see `benchbench ledger info`\n" if v.events else ""))
