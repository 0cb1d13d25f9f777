"""Load tests: per model and machine, p90 TTFT and TPOT against throughput and against concurrency,
goodput against load, J per output token and electricity (and, with hardware cost and amortization in the
profile, all-in cost at full use) per million tokens against load, the knee (the highest load point
meeting the SLOs) starred; machines share each chart, one color each."""

from __future__ import annotations

import statistics
from typing import Any

from ...analysis import formulas as f
from ..model import Chart, Column, Section, Table

COLUMNS = [
    Column("model", "model", kind="text"), Column("machine", "machine", kind="text"),
    Column("workload", "workload", kind="text"), Column("label", "load point", kind="text"),
    Column("concurrency", "concurrency (mean in flight)"), Column("req_s", "requests", "req/s"),
    Column("output_tok_s", "output", "tok/s"), Column("ttft_p90_s", "TTFT p90", "s"),
    Column("tpot_p90_s", "TPOT p90", "s"), Column("goodput_req_s", "goodput", "req/s"),
    Column("load_w", "power", "W"), Column("j_per_output_token", "energy", "J/token"),
    Column("electricity_per_mtok", "electricity", "{cur}/Mtok"),
    Column("all_in_per_mtok", "all-in at full use", "{cur}/Mtok"), Column("knee", "knee", kind="bool"),
    Column("n", "repetitions", kind="int"),
]
METRICS = ("req_s", "output_tok_s", "ttft_p90_s", "tpot_p90_s", "goodput_req_s", "load_w", "j_per_output_token",
           "concurrency_mean", "meets_slo")


def points_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per load point of every load-test record (repetitions averaged)."""
    out = []
    for rec in records:
        params = (rec.get("workload") or {}).get("params") or {}
        if rec.get("type", "run") != "run" or not isinstance(params.get("load"), dict):
            continue
        by_label: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for it in rec.get("iterations") or []:
            if it.get("warmup") or it.get("error"):
                continue
            for point in it.get("load_points") or [_single(it)]:
                by_label.setdefault(point["label"], []).append((point, point.get("metrics") or {}))
        machine = (rec.get("machine") or {}).get("name") or "?"
        profile = (rec.get("machine") or {}).get("profile") or {}
        for label, entries in by_label.items():
            row = {"machine": machine, "model": str(params.get("model") or ""), "label": label,
                   "workload": (rec.get("workload") or {}).get("base_name") or rec["workload"].get("name"),
                   "n": len(entries), "price_kwh": profile.get("electricity_per_kwh"),
                   "currency": profile.get("currency") or "USD"}
            for key in METRICS:
                values = [m.get(key) for _, m in entries if isinstance(m.get(key), (int, float))]
                row[key] = statistics.fmean(values) if values else None
            plan = entries[0][0].get("plan") or {}
            row["concurrency"] = plan.get("concurrency") or row.get("concurrency_mean")
            row["meets_slo"] = None if row["meets_slo"] is None else row["meets_slo"] >= 0.5
            w, r, c = row.get("load_w"), row.get("output_tok_s"), row["price_kwh"]
            row["electricity_per_mtok"] = f.electricity_per_mtok(w, r, c)
            row["all_in_per_mtok"] = f.all_in_per_mtok(profile.get("hardware_cost"), profile.get("amortization_years"),
                                                       w, None, c, r)
            out.append(row)
    _mark_knees(out)
    return out


def _single(it: dict[str, Any]) -> dict[str, Any]:
    load = (it.get("raw") or {}).get("load") or {}
    return {"label": load.get("label") or "load", "plan": load.get("plan") or {}, "metrics": it.get("metrics") or {}}


def _mark_knees(rows: list[dict[str, Any]]) -> None:
    """The knee of each (machine, model, workload): its highest request rate meeting the SLOs."""
    for row in rows:
        row["knee"] = False
    for key in {(r["machine"], r["model"], r["workload"]) for r in rows}:
        meeting = [r for r in rows if (r["machine"], r["model"], r["workload"]) == key and r.get("meets_slo")]
        if meeting:
            max(meeting, key=lambda r: r.get("req_s") or 0)["knee"] = True


def build(ctx: Any) -> Section | None:
    rows = points_of(ctx.records)
    if not rows:
        return None
    rows.sort(key=lambda r: (r["model"], r["machine"], r["workload"], r.get("req_s") or 0))
    currencies = {r["currency"] for r in rows}
    cur = currencies.pop() if len(currencies) == 1 else "cur."
    cols = [Column(c.key, c.header, c.unit.replace("{cur}", cur), c.kind, c.prov) for c in COLUMNS]
    blocks: list[Any] = [Table("load", "Load points", cols, rows,
                               note="Each row is one load point (closed-loop concurrency, open-loop rate, or a sweep "
                                    "step), averaged over its repetitions. Throughput is the machine's over the "
                                    "measured window; TTFT and TPOT are percentiles across requests (vLLM's "
                                    "definitions); goodput counts requests meeting every SLO. The knee is the "
                                    "highest load meeting the SLOs at their percentile.")]
    for model in dict.fromkeys(r["model"] for r in rows):
        family = [r for r in rows if r["model"] == model]
        blocks += charts(model, family, cur)
    return Section("load", "Load tests", blocks,
                   intro="How latency, goodput, energy and cost change as a server is driven harder; machines share "
                         "each chart.")


def charts(model: str, rows: list[dict[str, Any]], cur: str) -> list[Chart]:
    from ..plots import colors

    palette = colors(r["machine"] for r in rows)
    slug = "".join(ch if ch.isalnum() else "-" for ch in model)[:40] or "model"
    specs = [
        ("latency-vs-throughput", f"{model}: p90 latency against throughput", "output_tok_s", "output tok/s",
         [("ttft_p90_s", "TTFT p90 (s)"), ("tpot_p90_s", "TPOT p90 (s)")]),
        ("latency-vs-concurrency", f"{model}: p90 latency against concurrency", "concurrency", "concurrency",
         [("ttft_p90_s", "TTFT p90 (s)"), ("tpot_p90_s", "TPOT p90 (s)")]),
        ("goodput-vs-load", f"{model}: goodput against load", "req_s", "requests/s completed",
         [("goodput_req_s", "goodput (req/s)")]),
        ("energy-vs-load", f"{model}: energy and electricity cost against load", "output_tok_s", "output tok/s",
         [("j_per_output_token", "J per output token"), ("electricity_per_mtok", f"electricity ({cur}/Mtok)"),
          ("all_in_per_mtok", f"all-in at full use ({cur}/Mtok)")]),
    ]
    out = []
    for name, title, xkey, xlabel, panels in specs:
        shown = [(k, label) for k, label in panels if any(r.get(k) is not None and r.get(xkey) is not None
                                                           for r in rows)]
        if not shown:
            continue
        out.append(Chart(f"load-{slug}-{name}", title,
                         "One line per machine and workload; ★ marks the knee (highest load meeting the SLOs).",
                         _drawer(rows, xkey, xlabel, shown, palette), size=(4.2 * len(shown) + 1.6, 3.6)))
    return out


def _drawer(rows: list[dict[str, Any]], xkey: str, xlabel: str, panels: list[tuple[str, str]],
            palette: dict[str, str]) -> Any:
    def draw(fig: Any) -> None:
        from ..plots import legend_right

        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (key, ylabel) in zip(axes, panels):
            for (machine, workload), pts in _series(rows, xkey, key).items():
                xs, ys = [p[xkey] for p in pts], [p[key] for p in pts]
                ax.plot(xs, ys, marker="o", markersize=3, color=palette.get(machine), label=f"{machine} · {workload}")
                for p in pts:
                    if p.get("knee"):
                        ax.plot([p[xkey]], [p[key]], marker="*", markersize=12, color=palette.get(machine))
            if key == "goodput_req_s":
                top = max((r.get("req_s") or 0) for r in rows)
                ax.plot([0, top], [0, top], linestyle=":", color="#888", label="all requests good")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        legend_right(axes[-1])
    return draw


def _series(rows: list[dict[str, Any]], xkey: str, ykey: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get(xkey) is not None and r.get(ykey) is not None:
            out.setdefault((r["machine"], r["workload"]), []).append(r)
    return {k: sorted(v, key=lambda r: r[xkey]) for k, v in out.items()}
