"""Economics: idle cost, amortization, all-in cost per million tokens against utilization (local or
API?), break-even volume against API prices and payback against cloud instances."""

from __future__ import annotations

from typing import Any

from ...analysis import formulas as f
from ...fmt import clean
from ...record import slug
from ..model import Chart, Column, Section, Table
from ..plots import legend_right, plain_log
from ..sources import tag
from . import ORIGIN, SOURCE, currency_unit, provenance_caption, with_currency

MACHINE_COLUMNS = [
    Column("machine", "machine", kind="text"), ORIGIN, SOURCE,
    Column.of("hardware_cost", prov=True), Column.of("amortization_years", prov=True),
    Column.of("amortization_per_hour", prov=True),
    Column.of("amortization_per_month", prov=True),
    Column.of("idle_w", prov=True),
    Column.of("idle_cost_per_month", prov=True),
    Column.of("idle_cost_per_year", prov=True),
    Column.of("fixed_per_month", prov=True),
]
API_COLUMNS = [
    Column("machine", "machine", kind="text"), Column("workload", "workload", kind="text"), ORIGIN,
    Column("api", "API", kind="text"), Column("price_source", "price from", kind="text"),
    Column.of("api_per_mtok"),
    Column.of("marginal_per_mtok", prov=True),
    Column.of("monthly_fixed", prov=True),
    Column.of("capacity_mtok_per_month", prov=True),
    Column.of("breakeven_mtok_per_month", prov=True),
    Column("note", "note", kind="text"),
]
CLOUD_COLUMNS = [
    Column("machine", "machine", kind="text"), Column("workload", "workload", kind="text"), ORIGIN,
    Column("instance", "cloud instance", kind="text"), Column("price_source", "price from", kind="text"),
    Column.of("cloud_hourly"), Column.of("hours_per_day"),
    Column.of("payback_months", prov=True), Column("note", "note", kind="text"),
]
MAX_CURVE_CHARTS = 6
MAX_API_LINES = 6
UTILIZATION = [0.01 * 1.1 ** k for k in range(49)] + [1.0]   # 1% … 100%


def build(ctx: Any) -> Section | None:
    blocks: list[Any] = []
    machines = machine_rows(ctx)
    if machines:
        blocks.append(Table("economics_machines", "What each machine costs whether it works or not",
                            with_currency(MACHINE_COLUMNS, currency_unit(machines)), machines,
                            note="Amortization = hardware ÷ (years × 8,760 h); idle cost = idle W × 730 h (month) or "
                                 "8,760 h (year) × electricity price; fixed cost = amortization + idle cost a month."))
    blocks += curve_charts(ctx)
    for name, title, cols, frame, note in (
            ("breakeven", "Break-even against API prices", API_COLUMNS, ctx.analysis.api,
             "Monthly volume at which owning costs what the API costs: fixed cost ÷ (API price − local marginal "
             "electricity); none where the API is cheaper than the electricity or the machine cannot generate "
             "that much."),
            ("payback", "Payback against cloud instances", CLOUD_COLUMNS, ctx.analysis.cloud,
             "Months until the hardware has paid for itself against renting a cloud instance for the same hours.")):
        rows = _rows(ctx, frame)
        measured = [r for r in rows if not r["published"]]
        if measured and len(measured) < len(rows):   # measured open, the published comparison beside it
            blocks.append(Table(name, title, with_currency(cols, currency_unit(measured)), measured, note=note))
            published = [r for r in rows if r["published"]]
            blocks.append(Table(f"{name}_published", f"{title}: published figures", with_currency(cols, currency_unit(
                published)), published))
        elif rows:
            blocks.append(Table(name, title, with_currency(cols, currency_unit(rows)), rows, note=note))
    if not blocks:
        return None
    return Section("economics", "Economics", blocks,
                   intro="All-in cost = (amortization + electricity at load for the hours used + idle electricity "
                         "for the rest) ÷ tokens generated. Low utilization spreads the fixed costs over few tokens.")



def machine_rows(ctx: Any) -> list[dict[str, Any]]:

    out: dict[tuple, dict[str, Any]] = {}
    for g in ctx.groups():
        if g.get("amortization_per_hour") is None and g.get("idle_cost_per_month") is None:
            continue
        row = out.setdefault((g["machine"], g["provenance"], g["source"]), {
            "machine": g["machine"], "provenance": g["provenance"], "source": g["source"],
            "currency": g["currency"], "_prov": {}, "published": g["published"]})
        for key in ("hardware_cost", "amortization_years", "amortization_per_hour", "idle_w", "idle_cost_per_month",
                    "idle_cost_per_year", "electricity_per_kwh"):
            if g.get(key) is not None:
                row[key] = g[key]
                row["_prov"][key] = g["_prov"].get(key) or ("published" if g["published"] else "declared")
    for row in out.values():
        if row.get("amortization_per_hour") is not None:
            row["amortization_per_month"] = f.amortization_per_month(row.get("hardware_cost"),
                                                                    row.get("amortization_years"))
            row["_prov"]["amortization_per_month"] = row["_prov"].get("amortization_per_hour")
        fixed = f.monthly_fixed_cost(row.get("hardware_cost"), row.get("amortization_years"), row.get("idle_w"),
                                     row.get("electricity_per_kwh"))
        if fixed is not None:
            row["fixed_per_month"] = fixed
            row["_prov"]["fixed_per_month"] = row["_prov"].get("idle_cost_per_month")
    return sorted(out.values(), key=lambda r: (r["provenance"] != "measured", str(r["machine"]), str(r["source"])))


def _rows(ctx: Any, frame: Any) -> list[dict[str, Any]]:
    if frame is None or not len(frame):
        return []
    groups = {g["group_id"]: g for g in ctx.groups()}
    out = []
    for row in frame.to_dict("records"):
        row = clean(row)
        g = groups.get(row["group_id"], {})
        row["published"] = g.get("published", False)
        # the figures keep the analyzer's label (estimated where power or idle is); the row's `provenance`
        # is set below to its data origin (measured/published), as in every other table
        row["_prov"] = {k: row.get("provenance") for k in ("marginal_per_mtok", "monthly_fixed",
                                                           "capacity_mtok_per_month", "breakeven_mtok_per_month",
                                                           "payback_months")}
        row["_prov"]["capacity_mtok_per_month"] = g.get("_prov", {}).get("output_tok_s")
        row["provenance"] = g.get("provenance")
        out.append(row)
    out.sort(key=lambda r: (r["provenance"] != "measured", str(r["machine"]), str(r["workload"])))
    return out


# --- all-in cost against utilization ----------------------------------------------------------------

def curve_charts(ctx: Any) -> list[Chart]:

    by_model: dict[tuple[str, str], list[dict[str, Any]]] = {}
    groups = ctx.groups("llm")
    plain = {(g["series"], g.get("model")) for g in groups if not g.get("matrix")}
    for g in groups:
        if g.get("matrix") and (g["series"], g.get("model")) in plain:
            continue   # matrix combinations are in the sweeps section; one curve per machine here
        inputs = (g.get("hardware_cost"), g.get("amortization_years"), g.get("system_w"), g.get("idle_w"),
                  g.get("electricity_per_kwh"), g.get("output_tok_s"))
        if any(v is None for v in inputs) or f.all_in_per_mtok(*inputs, 0.5) is None:
            continue
        g["_curve"] = [f.all_in_per_mtok(*inputs, u) for u in UTILIZATION]
        by_model.setdefault((str(g.get("model") or g["workload"]), g.get("currency") or "USD"), []).append(g)
    ranked = sorted(by_model.items(), key=lambda kv: (-len({g["series"] for g in kv[1]}), kv[0]))
    apis = _api_prices(ctx)
    return [_curve_chart(ctx, model, currency, rows, apis.get(currency, []))
            for (model, currency), rows in ranked[:MAX_CURVE_CHARTS]]


def _api_prices(ctx: Any) -> dict[str, list[tuple[str, float]]]:
    """currency → [(label, price per Mtok)] from the API prices the analysis compared against."""
    frame = ctx.analysis.api
    out: dict[str, dict[str, float]] = {}
    if frame is not None and len(frame):
        for name, src, cur, price in zip(frame["api"], frame["price_source"], frame["currency"], frame["api_per_mtok"]):
            if price is None or price != price:
                continue
            label = str(name)
            if isinstance(src, str) and src.startswith("published "):
                label += f" (published: {tag(src.removeprefix('published '))})"
            out.setdefault(cur, {})[label] = float(price)
    return {cur: sorted(v.items(), key=lambda kv: kv[1])[:MAX_API_LINES] for cur, v in out.items()}


def _curve_chart(ctx: Any, model: str, currency: str, rows: list[dict[str, Any]],
                 apis: list[tuple[str, float]]) -> Chart:

    def draw(fig: Any) -> None:

        ax = fig.subplots()
        fig.subplots_adjust(left=0.1)
        xs = [u * 100 for u in UTILIZATION]
        seen: dict[str, int] = {}
        for g in rows:
            label = f"{g['series']} · {g['workload']}" if g["workload"] != model else g["series"]
            variant = seen[g["series"]] = seen.get(g["series"], -1) + 1
            style = "--" if g["published"] else ("-", "-.", ":", (0, (5, 1)))[variant % 4]
            ax.plot(xs, g["_curve"], linestyle=style, color=ctx.palette.get(g["series"]), label=label[:60])
        for i, (name, price) in enumerate(apis):
            ax.axhline(price, color="#555", linestyle=(0, (1 + i, 2)), linewidth=1)
            ax.annotate(f"{name} {price:g}", (xs[0], price), fontsize=7, va="bottom", color="#333")
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log(ax.yaxis)
        plain_log(ax.xaxis)
        ticks = [1, 2, 5, 10, 20, 50, 100]
        ax.set_xticks(ticks, [f"{t}%" for t in ticks])
        ax.set_xlabel("utilization (share of hours spent generating)")
        ax.set_ylabel(f"all-in {currency} per million tokens")
        ax.grid(alpha=0.3)
        legend_right(ax)

    lines = f"horizontal lines: API prices ({', '.join(n for n, _ in apis)}). " if apis else ""
    return Chart(f"economics-utilization-{slug(model).lower()}-{currency.lower()}",
                 f"{model}: all-in cost per million tokens against utilization",
                 f"One curve per machine (dashed: published); {lines}Where a curve lies above an API line, the API "
                 "is cheaper at that utilization. " + provenance_caption(rows, "all_in_per_mtok"), draw,
                 size=(10.0, 4.5))
