"""Load tests: per model and machine, p90 TTFT and TPOT against throughput and against concurrency,
goodput against load, J per output token and electricity (and, with hardware cost and amortization in the
profile, all-in cost at full use) per million tokens against load, the knee (the highest load point
meeting the SLOs) starred; machines share each chart, one color each."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from ... import metrics as registry
from ...analysis import formulas as f
from ...record_model import EnergyEntry, Iteration, RunRecord
from ..model import Chart, Column, Section, Table
from ..plots import colors, legend_right
from . import currency_unit, with_currency

COLUMNS = [
    Column("model", "model", kind="text"), Column("machine", "machine", kind="text"),
    Column("workload", "workload", kind="text"), Column("label", "load point", kind="text"),
    Column.of("concurrency"), Column.of("concurrency_mean"), Column.of("req_s"), Column.of("output_tok_s"),
    Column.of("ttft_p90_s"), Column.of("tpot_p90_s"), Column.of("goodput_req_s"), Column.of("system_w"),
    Column.of("j_per_token"), Column.of("j_per_request"), Column.of("electricity_per_mtok"),
    Column("all_in_per_mtok", "all-in at full use", registry.get("all_in_per_mtok").unit),
    Column("knee", "knee", kind="bool"), Column("n", "repetitions", kind="int"),
]
MEANS = ("ttft_p90_s", "tpot_p90_s", "concurrency_mean", "j_per_request", "meets_slo")


@dataclass
class _Point:
    """One measured repetition of a load point: its label, plan, metrics, energy and window seconds."""

    label: str
    plan: dict[str, Any]
    metrics: dict[str, Any]
    energy: dict[str, EnergyEntry]
    window_s: float | None


def _points(it: Iteration) -> list[_Point]:
    if it.load_points is not None:
        return [_Point(p.label, p.plan, p.metrics, p.energy, p.window.get("duration_s")) for p in it.load_points]
    load = (it.raw or {}).get("load") or {}
    return [_Point(load.get("label") or "load", load.get("plan") or {}, it.metrics, it.energy, it.energy_s)]


def points_of(records: list[Any]) -> list[dict[str, Any]]:
    """One row per load point of every load-test record, its repetitions pooled: rates Σ count ÷ Σ window
    seconds (the registry's `ratio`), power Σ J ÷ Σ seconds, J/token Σ J ÷ Σ output tokens, other figures the
    mean."""
    out = []
    for rec in records:
        if not isinstance(rec, RunRecord) or not isinstance(rec.workload.params.get("load"), dict):
            continue
        by_label: dict[str, list[_Point]] = {}
        for it in rec.measured:
            for point in _points(it):
                by_label.setdefault(point.label, []).append(point)
        profile = rec.machine.profile or {}
        for label, reps in by_label.items():
            row = _row(reps, profile)
            row.update(machine=rec.machine.name or "?", model=str(rec.workload.params.get("model") or ""),
                       label=label, workload=rec.workload.base_name or rec.workload.name,
                       currency=profile.get("currency") or "USD")
            out.append(row)
    _mark_knees(out)
    return out


def _row(reps: list[_Point], profile: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"n": len(reps)}
    seconds = [p.window_s for p in reps]
    timed = None not in seconds and sum(seconds) > 0   # type: ignore[arg-type]
    for name in ("req_s", "output_tok_s", "goodput_req_s"):
        count = registry.get(name).count
        counts = [p.metrics.get(count) for p in reps]
        row[name] = sum(counts) / sum(seconds) if timed and all(isinstance(c, (int, float)) for c in counts) \
            else _mean(p.metrics.get(name) for p in reps)   # type: ignore[arg-type]
    for name in MEANS:
        row[name] = _mean(p.metrics.get(name) for p in reps)
    joules = [(p.energy.get("system") or EnergyEntry()).joules for p in reps]
    if timed and None not in joules:
        row["system_w"] = sum(joules) / sum(seconds)        # type: ignore[arg-type]
        tokens = sum(p.metrics.get("output_tokens") or 0 for p in reps)
        row["j_per_token"] = sum(joules) / tokens if tokens else None   # type: ignore[arg-type]
    plan = reps[0].plan
    row["concurrency"] = plan.get("concurrency")
    row["x_concurrency"] = plan.get("concurrency") or row.get("concurrency_mean")
    row["meets_slo"] = None if row["meets_slo"] is None else row["meets_slo"] >= 0.5
    w, r, c = row.get("system_w"), row.get("output_tok_s"), profile.get("electricity_per_kwh")
    row["electricity_per_mtok"] = f.electricity_per_mtok(w, r, c)
    row["all_in_per_mtok"] = f.all_in_per_mtok(profile.get("hardware_cost"), profile.get("amortization_years"),
                                               w, None, c, r)
    return row


def _mean(values: Any) -> float | None:
    numbers = [float(v) for v in values if isinstance(v, (int, float))]
    return statistics.fmean(numbers) if numbers else None


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
    cur = currency_unit(rows)
    cols = with_currency(COLUMNS, cur)
    blocks: list[Any] = [Table("load", "Load points", cols, rows,
                               note="Each row is one load point (closed-loop concurrency, open-loop rate, or a sweep "
                                    "step), its repetitions pooled. Throughput is the machine's over the "
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
    palette = colors(r["machine"] for r in rows)
    slug = "".join(ch if ch.isalnum() else "-" for ch in model)[:40] or "model"
    specs = [
        ("latency-vs-throughput", f"{model}: p90 latency against throughput", "output_tok_s", "output tok/s",
         [("ttft_p90_s", "TTFT p90 (s)"), ("tpot_p90_s", "TPOT p90 (s)")]),
        ("latency-vs-concurrency", f"{model}: p90 latency against concurrency", "x_concurrency",
         "concurrency (users; open loop: mean in flight)",
         [("ttft_p90_s", "TTFT p90 (s)"), ("tpot_p90_s", "TPOT p90 (s)")]),
        ("goodput-vs-load", f"{model}: goodput against load", "req_s", "requests/s completed",
         [("goodput_req_s", "goodput (req/s)")]),
        ("energy-vs-load", f"{model}: energy and electricity cost against load", "output_tok_s", "output tok/s",
         [("j_per_token", "J per output token"), ("electricity_per_mtok", f"electricity ({cur}/Mtok)"),
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
