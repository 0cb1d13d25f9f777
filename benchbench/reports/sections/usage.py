"""Usage: what the machines actually served and drew (from `benchbench watch` ledgers), what it really
cost, and what the same requests would have cost at an API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import Column, Note, Section, Table
from . import currency_unit

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
    import datetime as dt

    from ...ledger.economics import economics, model_rows, profile_for
    from ...ledger.usage import read, summarize

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


def period_columns(apis: list[str], cur: str) -> list[Column]:
    cols = [Column("machine", "machine", kind="text"), Column("period", "period (UTC)", kind="text"),
            Column("covered_h", "recorded", "h"), Column("utilization_pct", "utilization", kind="pct"),
            Column("busy_basis", "busy from", kind="text"),
            Column("energy_kwh", "energy", "kWh"), Column("serving_kwh", "serving", "kWh"),
            Column("idle_kwh", "idle", "kWh"), Column("idle_w", "idle power", "W"),
            Column("electricity", "electricity", cur), Column("serving_electricity", "of it serving", cur),
            Column("idle_electricity", "of it idle", cur), Column("amortization", "amortization", cur),
            Column("requests", "requests", kind="int"), Column("input_mtok", "input", "Mtok"),
            Column("cached_pct", "cached input", kind="pct"), Column("output_mtok", "output", "Mtok"),
            Column("electricity_per_mtok", "electricity", f"{cur}/Mtok out"),
            Column("all_in_per_mtok", "realized all-in", f"{cur}/Mtok out")]
    return cols + [Column(f"api:{a}", f"at {a}", "USD") for a in apis]


MODEL_COLUMNS = [Column("machine", "machine", kind="text"), Column("source", "source", kind="text"),
                 Column("model", "model", kind="text"), Column("requests", "requests", kind="int"),
                 Column("input_tokens", "input", "tok", kind="int"), Column("cached_pct", "cached", kind="pct"),
                 Column("output_tokens", "output", "tok", kind="int"),
                 Column("input_per_request", "input / request", "tok"),
                 Column("output_per_request", "output / request", "tok"),
                 Column("tokens_estimated", "estimated", kind="bool")]
EVENT_COLUMNS = [Column("machine", "machine", kind="text"), Column("time", "time (UTC)", kind="text"),
                 Column("kind", "what", kind="text"), Column("message", "said", kind="text")]


def build(ctx: Any) -> Section | None:
    v: LedgerView | None = getattr(ctx, "ledger", None)
    if v is None or not v.periods:
        return None
    cur = currency_unit(v.periods)
    blocks: list[Any] = [
        Table("usage_periods", f"What each machine served and drew, per {v.period}", period_columns(v.apis, cur),
              v.periods, note=_period_note(v)),
        Table("usage_models", "Tokens served per model: the real mix", MODEL_COLUMNS +
              [Column(f"api:{a}", f"at {a}", "USD") for a in v.apis], v.models,
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
                         f"from {len(v.files)} ledger(s). Every figure here is measured, except the idle power "
                         "when the ledger has too few idle intervals (then the profile's, declared).")


def _period_note(v: LedgerView) -> str:
    sources = sorted({r["idle_w_source"] for r in v.periods if r.get("idle_w_source")})
    return ("Utilization = busy time ÷ recorded time; busy time comes from each source (proxy: a request in "
            "flight; llama.cpp: slot-seconds; vLLM: request-seconds; the last two exceed wall time when "
            "requests run together, so utilization is capped at 100%). Idle power: "
            + ("; ".join(sources) or "unknown") + ". Idle energy = idle power × the time not busy; serving energy "
            "= the rest. Amortization = hardware ÷ (years × 8,760 h) × recorded hours. Realized all-in = "
            "(electricity + amortization) ÷ output tokens. API columns price every request's input, cached "
            "input and output tokens with genai-prices.")


TEXT_COLUMNS = (("machine", "machine"), ("period", "period"), ("covered_h", "h"), ("utilization_pct", "util%"),
                ("energy_kwh", "kWh"), ("serving_kwh", "serving"), ("idle_kwh", "idle"),
                ("electricity", "electricity"), ("amortization", "amort."), ("requests", "requests"),
                ("input_mtok", "in Mtok"), ("cached_pct", "cached%"), ("output_mtok", "out Mtok"),
                ("all_in_per_mtok", "all-in/Mtok"))


def render_text(v: LedgerView) -> str:
    """The terminal table of `benchbench report LEDGER` (no -o)."""
    from ..fmt import MISSING, number

    cols = list(TEXT_COLUMNS) + [(f"api:{a}", f"at {a} (USD)") for a in v.apis]
    table = [[title for _, title in cols]]
    for row in v.periods:
        table.append([_cell(row.get(k), MISSING, number) for k, _ in cols])
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    lines = []
    for j, r in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    cur = currency_unit(v.periods)
    return (f"usage per {v.period} (UTC) from {len(v.files)} ledger(s); money in {cur}:\n" + "\n".join(lines)
            + "\n" + (f"{len(v.events)} notable event(s): see `benchbench ledger info`\n" if v.events else ""))


def _cell(value: object, missing: str, number: object) -> str:
    if value is None:
        return missing
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return number(value)  # type: ignore[operator]
