"""llama-sweep-bench runs: prefill and decode speed, power and energy per token against context depth.

Each sweep-bench iteration keeps its rows (`raw.rows`: n_kv, speed_pp, speed_tg, and per window
prefill_w / decode_w / *_j_per_tok when power was sampled); rows of the measured iterations of a run
are averaged per depth.
"""

from __future__ import annotations

import statistics
from typing import Any

from ...record import slug
from ...record_model import RunRecord
from ..model import Chart, Column, Section, Table
from ..plots import Line, lines

# a row's sweep-bench field → the registry metric it is (labels and units from benchbench/metrics)
FIELDS = {"speed_pp": "pp_tok_s", "speed_tg": "tg_tok_s", "prefill_w": "prefill_w", "decode_w": "decode_w",
          "prefill_j_per_tok": "prefill_j_per_tok", "decode_j_per_tok": "decode_j_per_tok"}
COLUMNS = [Column("machine", "machine", kind="text"), Column("workload", "workload", kind="text"),
           Column("provenance", "data", kind="text"), Column.of("depth_tokens"),
           *(Column.of(name) for name in FIELDS.values())]
MAX_CHARTS = 8


def curves(record: RunRecord) -> list[dict[str, Any]]:
    """Per depth (`depth_tokens` = the row's n_kv), the mean of each figure over the run's measured iterations,
    under its registry name."""
    by_depth: dict[int, dict[str, list[float]]] = {}
    for it in record.measured:
        for row in (it.raw or {}).get("rows") or []:
            if not isinstance(row, dict) or row.get("n_kv") is None:
                continue
            slot = by_depth.setdefault(int(row["n_kv"]), {})
            for key, name in FIELDS.items():
                if isinstance(row.get(key), (int, float)):
                    slot.setdefault(name, []).append(float(row[key]))
    return [{"depth_tokens": depth, **{k: statistics.fmean(v) for k, v in values.items()}}
            for depth, values in sorted(by_depth.items())]


def build(ctx: Any) -> Section | None:
    runs = [r for r in ctx.records if isinstance(r, RunRecord) and r.workload.backend == "sweep-bench"]
    rows, charts = [], []
    for record in runs:
        points = curves(record)
        if not points:
            continue
        label = {"machine": record.machine.name, "workload": record.workload.name,
                 "provenance": "imported" if record.imported else "measured"}
        rows += [{**label, **p} for p in points]
        if len(charts) < MAX_CHARTS:
            charts.append(_chart(label, points))
    if not rows:
        return None
    return Section("depth", "Speed and energy against context depth (llama-sweep-bench)",
                   [Table("depth", "Per depth window", COLUMNS, rows), *charts],
                   intro="llama-sweep-bench measures decode (tg tokens) and then prefill (one ubatch) at each "
                         "depth of the context; power is sampled over each window, and J/token = W ÷ tok/s.")


def _chart(label: dict[str, Any], points: list[dict[str, Any]]) -> Chart:
    xs = [float(p["depth_tokens"]) for p in points]

    def series(key: str, name: str, color: str) -> Line:
        have = [(x, p[key]) for x, p in zip(xs, points) if p.get(key) is not None]
        return Line(name, [x for x, _ in have], [y for _, y in have], color=color)

    prefill, decode = series("pp_tok_s", "prefill", "#1f77b4"), series("tg_tok_s", "decode", "#d62728")
    energy = [ln for ln in (series("prefill_j_per_tok", "prefill", "#1f77b4"),
                            series("decode_j_per_tok", "decode", "#d62728")) if ln.xs]

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, 3 if energy else 2, squeeze=False)[0]
        lines(axes[0], [prefill], "context depth (tokens)", "prefill (tok/s)", logx=False, legend=False)
        lines(axes[1], [decode], "context depth (tokens)", "decode (tok/s)", logx=False, legend=False)
        if energy:
            lines(axes[2], energy, "context depth (tokens)", "J/token", logx=False)

    what = "speed and energy per token" if energy else "speed (no power sampled)"
    return Chart(f"depth-{slug(str(label['machine']))}-{slug(label['workload'])}".lower(),
                 f"{label['machine']} · {label['workload']}: {what} against depth",
                 f"Data: {label['provenance']} ({label['machine']}).", draw, size=(12.0 if energy else 10.0, 3.6))
