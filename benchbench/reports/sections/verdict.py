"""The verdict, first in every report: per model family measured, the cheapest machine meeting the SLOs and what
1,000 requests of the work's shape cost on it, the nearest API's cost, the break-even volume and the caveats that
could change the answer; below it, cost per million tokens against p90 latency, machines and APIs on one chart.
The details (every machine's chosen point, the APIs, break-even, payback) are in the next section."""

from __future__ import annotations

from typing import Any

from ...fmt import clean, missing
from ..model import Chart, Column, Section, Table
from ..plots import colors, legend_right, plain_log
from . import currency_unit, with_currency

MAX_CHARTS = 4
VERDICT_COLUMNS = [
    Column("models", "model", kind="text"), Column("shape", "request shape", kind="text"),
    Column("machine", "cheapest machine meeting the SLOs", kind="text"),
    Column("label", "load point", kind="text"),
    Column.of("local_per_1k_requests", prov=True),
    Column("api", "nearest API", kind="text"), Column.of("api_per_1k_requests"),
    Column.of("breakeven_requests_per_month", prov=True), Column.of("breakeven_tokens_per_month", prov=True),
    Column("breakeven_note", "no break-even because", kind="text"),
    Column("caveats", "caveats that could change the answer", kind="list"),
]


def build(ctx: Any) -> Section | None:
    a = ctx.analysis
    frame = getattr(a, "verdict", None)
    if frame is None or not len(frame):
        return None
    rows = [clean(r) for r in frame.to_dict("records")]
    for r in rows:
        r["machine"] = r["machine"] if r["meets_slo"] is not False else f"{r['machine']} (misses the SLOs)"
        why = r.get("chosen_why") or ""
        r["label"] = why if why.startswith("single stream") or not r.get("label") else f"{r['label']} ({why})"
        r["_prov"] = {**(r.get("_prov") or {}), "breakeven_requests_per_month": r["_prov"].get("local_per_1k_requests"),
                      "breakeven_tokens_per_month": r["_prov"].get("local_per_1k_requests")}
    blocks: list[Any] = [Table("verdict", "Which machine, what the work costs on it, and when an API is cheaper",
                               with_currency(VERDICT_COLUMNS, currency_unit(rows)), rows,
                               note=_note(rows, a.shapes))]
    blocks += pareto_charts(ctx)
    return Section("verdict", "Verdict", blocks,
                   intro="Per model family measured: the machine whose cost per 1,000 requests of the work's shape is "
                         "lowest among those meeting the SLOs (at the chosen load point), the cheapest API of the "
                         "comparison set for the same requests, and the monthly volume from which owning is cheaper.")


def _note(rows: list[dict[str, Any]], shapes: dict[str, Any]) -> str:
    seen = {}
    for r in rows:
        s = shapes.get(r["family"]) or {}
        seen.setdefault(s.get("name"), f"{r['shape']} — {s.get('chosen_by')}; {s.get('provenance')}: "
                                       f"{s.get('source')}" + (f" (estimates: {s['estimates']})" if s.get("estimates")
                                                               else ""))
    volume = {r["volume"] for r in rows}
    slo = "" if any(r["meets_slo"] is not None for r in rows) else " No SLOs declared (slo: in a load test), so the " \
                                                                   "cheapest machine is shown."
    return ("Shape: " + " | ".join(seen.values()) + ". Volume: " + ", ".join(sorted(volume)) + "." + slo +
            " Local cost = (amortization + idle electricity a month + the requests' electricity above idle) ÷ requests"
            " (docs/costs.md).")


# --- cost per million tokens against p90 latency -----------------------------------------------------------

def pareto_charts(ctx: Any) -> list[Chart]:
    a = ctx.analysis
    points = [clean(r) for r in a.shape_points.to_dict("records")] if a.shape_points is not None else []
    apis = [clean(r) for r in a.shape_apis.to_dict("records")] if a.shape_apis is not None else []
    out = []
    for v in [clean(r) for r in a.verdict.to_dict("records")][:MAX_CHARTS]:
        fam = v["family"]
        mine = [p for p in points if p["family"] == fam and not missing(p.get("local_per_mtok"))
                and not missing(p.get("e2e_p90_s")) and not p["hosted"]]
        hosted = [p for p in points if p["family"] == fam and p["hosted"] and not missing(p.get("e2e_p90_s"))]
        lines = [x for x in apis if x["family"] == fam and not missing(x.get("api_shape_per_mtok"))]
        if mine:
            out.append(_chart(fam, v, mine, hosted, lines, a.shapes.get(fam) or {}))
    return out


def _scale(axis: Any, set_scale: Any, values: list[float]) -> None:
    """Log when the values span more than a factor of 20, else linear (a log axis inside one decade has no ticks)."""
    values = [v for v in values if v and v > 0]
    if values and max(values) / min(values) > 20:
        set_scale("log")
        plain_log(axis)


def frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both latency and cost (lower is better on both), by latency."""
    best: list[tuple[float, float]] = []
    for x, y in sorted(points):
        if not best or y < best[-1][1]:
            best.append((x, y))
    return best


def _chart(fam: str, v: dict[str, Any], mine: list[dict[str, Any]], hosted: list[dict[str, Any]],
           lines: list[dict[str, Any]], shape: dict[str, Any]) -> Chart:
    cur = v.get("currency") or "USD"
    palette = colors(str(p["machine"]) for p in mine)

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        fig.subplots_adjust(left=0.08, right=0.72)
        edge = frontier([(p["e2e_p90_s"], p["local_per_mtok"]) for p in mine])
        for p in mine:
            x, y = p["e2e_p90_s"], p["local_per_mtok"]
            ax.scatter([x], [y], s=60 if p["chosen"] else 22, color=palette[str(p["machine"])],
                       marker="o" if p["chosen"] else ".", edgecolors="black" if p["chosen"] else "none", zorder=3)
            if p["chosen"] or (x, y) in edge:
                ax.annotate(f"{p['machine']} · {p['label']}"[:40], (x, y), fontsize=6.5, xytext=(4, 3),
                            textcoords="offset points")
        ax.plot([x for x, _ in edge], [y for _, y in edge], color="#444", linewidth=0.8, linestyle="--",
                label="Pareto frontier (machines)", zorder=2)
        for i, api in enumerate(sorted(lines, key=lambda r: r["api_shape_per_mtok"])[:6]):
            measured = [h for h in hosted if str(h.get("model")) in str(api["api"])]
            if measured:
                ax.scatter([measured[0]["e2e_p90_s"]], [api["api_shape_per_mtok"]], marker="s", color="#555",
                           zorder=3, label=f"{api['api']} (measured latency)")
            else:
                ax.axhline(api["api_shape_per_mtok"], color="#777", linestyle=(0, (1 + i, 2)), linewidth=0.9,
                           label=f"{api['api']} {api['api_shape_per_mtok']:.3g} {api['currency']}/Mtok "
                                 "(latency not measured)")
        for machine, color in palette.items():
            ax.scatter([], [], color=color, label=machine)
        ys = [p["local_per_mtok"] for p in mine] + [x["api_shape_per_mtok"] for x in lines]
        _scale(ax.xaxis, ax.set_xscale, [p["e2e_p90_s"] for p in mine])
        _scale(ax.yaxis, ax.set_yscale, ys)
        ax.set_xlabel("p90 end-to-end latency of the load point's requests (s, measured)")
        ax.set_ylabel(f"all-in {cur} per million tokens of the shape")
        ax.grid(alpha=0.3)
        ax.margins(x=0.15, y=0.1)
        legend_right(ax)

    return Chart(f"verdict-pareto-{fam}", f"{v['models']}: cost per million tokens against p90 latency",
                 f"Shape {shape.get('name')}: {shape.get('input_tokens', 0):,.0f} in "
                 f"({shape.get('cached_fraction', 0):.0%} cached) → {shape.get('output_tokens', 0):,.0f} out. Every "
                 "measured load point of every machine (large markers: the chosen point), priced all-in at the volume "
                 "of the verdict; APIs at their price for the same tokens. Down and left is better; the dashed line "
                 "joins the points nothing beats on both.", draw, size=(10.0, 4.6))
