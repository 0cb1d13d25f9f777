"""LLM: per model × machine speed, power, energy and cost, with charts of tok/s and cost per model."""

from __future__ import annotations

from typing import Any

from ..model import Chart, Column, Section, Table
from ..plots import Bar, hbars, wide_range
from . import ORIGIN, SOURCE, chunks, currency_unit, provenance_caption, row_order, with_currency

COLUMNS = [
    Column("model", "model", kind="text"), Column("machine", "machine", kind="text"),
    Column("workload", "workload", kind="text"), ORIGIN, SOURCE,
    Column.of("tg_tok_s", kind="stat", prov=True),
    Column.of("output_tok_s", prov=True), Column.of("concurrency"),
    Column.of("pp_tok_s", prov=True),
    Column.of("ttft_s", prov=True),
    Column.of("gpu_w", prov=True), Column.of("system_w", prov=True),
    Column.of("tok_s_per_w", prov=True), Column.of("tok_s_per_gpu_w", prov=True),
    Column.of("j_per_token", prov=True),
    Column.of("electricity_per_mtok", prov=True),
    Column.of("all_in_per_mtok", prov=True),
    Column.of("utilization_pct"),
    Column.of("roofline_pct", prov=True),
    Column("system_basis", "system power from", kind="text"),
    Column("warnings", "warnings", kind="list"),
]


def build(ctx: Any) -> Section | None:
    groups = [g for g in ctx.groups("llm") if any(g.get(k) is not None for k in ("tg_tok_s", "output_tok_s",
                                                                                  "pp_tok_s"))]
    if not groups:
        return None
    for g in groups:
        g["tg_tok_s_n"] = g.get("n") if not g["published"] else None
        shown = g.get("utilization") is not None and g.get("all_in_per_mtok") is not None
        g["utilization_pct"] = g["utilization"] * 100 if shown else None
    measured_models = {g.get("model") for g in groups if not g["published"]}
    groups.sort(key=lambda g: (g.get("model") not in measured_models, str(g.get("model")), g["published"],
                               bool(g.get("matrix")), *row_order(g)))
    unit = currency_unit(groups)
    cols = with_currency(COLUMNS, unit)
    if unit == "cur.":
        cols.insert(5, Column("currency", "currency", kind="text"))
    table = Table("llm", "LLM speed, power and cost per model and machine", cols, groups,
                  note="Generation is one stream's decode speed, mean ± sample stdev over measured iterations "
                       "(warmups and failures left out); throughput is the machine's, all concurrent requests "
                       "together: output tokens ÷ the iterations' seconds. Energy per token, tok/s per W and every "
                       "cost use throughput. All-in cost adds hardware amortization and idle power at the "
                       "utilization shown. % of roofline compares one stream's decode speed with memory "
                       "bandwidth ÷ model size.")
    charted = chart_groups(groups)
    blocks: list[Any] = [table, *speed_charts(ctx, charted), *cost_charts(ctx, charted)]
    return Section("llm", "LLM", blocks)


def _bar_label(g: dict[str, Any]) -> str:
    """`model — machine`, with the workload name when it says more than the model's, or the matrix values."""
    model, workload = str(g.get("model") or ""), str(g["workload"])
    if g.get("matrix"):
        name = f"{model} [" + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in g["matrix"].items()) + "]"
    else:
        same = not model or _alnum(model) in _alnum(workload) or _alnum(workload) in _alnum(model)
        name = workload if same else f"{model} · {workload}"
    return f"{name} — {g['machine']}"


def _alnum(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def chart_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups for the bar charts: matrix combinations only where the machine has no plain run of that
    model (the sweeps section charts them)."""
    plain = {(g["series"], g.get("model")) for g in groups if not g.get("matrix")}
    return [g for g in groups if not g.get("matrix") or (g["series"], g.get("model")) not in plain]


def speed_charts(ctx: Any, groups: list[dict[str, Any]]) -> list[Chart]:

    rows = [g for g in groups if g.get("tg_tok_s") is not None]
    out = []
    for i, part in enumerate(chunks(rows, ctx.max_bars)):
        bars = [Bar(_bar_label(g), g["series"], g["tg_tok_s"], g["published"]) for g in part]
        suffix = f" ({i + 1})" if len(rows) > ctx.max_bars else ""
        out.append(Chart(f"llm-tok-s-{i + 1}", f"Generation speed per model, by machine{suffix}",
                         "Decode tokens per second (higher is better); hatched bars are published reference "
                         "figures. " + provenance_caption(part, "tg_tok_s"),
                         lambda fig, bars=bars: hbars(fig, bars, "generation (tok/s)", ctx.palette),
                         size=(10.0, 1.0 + 0.24 * len(bars))))
    return out


def cost_charts(ctx: Any, groups: list[dict[str, Any]]) -> list[Chart]:

    out = []
    for currency in sorted({g.get("currency") or "USD" for g in groups}):
        rows = [g for g in groups if (g.get("currency") or "USD") == currency
                and g.get("electricity_per_mtok") is not None]
        for i, part in enumerate(chunks(rows, ctx.max_bars)):
            if not part:
                continue
            bars = [Bar(_bar_label(g), g["series"], g["electricity_per_mtok"], g["published"],
                        back=g.get("all_in_per_mtok")) for g in part]
            suffix = f" ({i + 1})" if len(rows) > ctx.max_bars else ""
            out.append(Chart(
                f"llm-cost-{currency.lower()}-{i + 1}", f"Cost per million tokens ({currency}){suffix}",
                "Electricity at load (solid) and all-in with amortization and idle (light), per million generated "
                "tokens (lower is better). " + provenance_caption(part, "electricity_per_mtok", "all_in_per_mtok"),
                lambda fig, bars=bars, cur=currency: hbars(
                    fig, bars, f"{cur} per million tokens", ctx.palette,
                    log=wide_range(b.back or b.value for b in bars), back_label="all-in", front_label="electricity"),
                size=(10.0, 1.0 + 0.24 * len(bars))))
    return out
