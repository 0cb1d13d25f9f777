"""Per-group statistics (stats.summarize, the one implementation), power, throughput and API cost from
the measured iterations."""

from __future__ import annotations

from typing import Any

from .. import metrics
from ..fmt import missing
from ..provenance import PROVENANCES, RANK
from ..stats import summarize_groups
from . import formulas as f
from .columns import STAT_COLUMNS
from .load import ITERATION_COLUMNS


def metric_columns(iterations: Any) -> list[str]:
    """The numeric metric columns of an iterations frame."""
    import pandas as pd

    skip = set(ITERATION_COLUMNS) | {"group_id", "api_cost", "api_requests"}
    return [c for c in iterations.columns if c not in skip and not c.startswith("usage_")
            and pd.api.types.is_numeric_dtype(iterations[c]) and not pd.api.types.is_bool_dtype(iterations[c])]


def stats_table(measured: Any) -> Any:
    """Part 1's statistics (n, mean, sample stdev, median, min, max, 95% CI) per group and metric."""
    import pandas as pd

    cols = metric_columns(measured)
    if not cols or measured.empty:
        return pd.DataFrame(columns=STAT_COLUMNS)
    long = measured[["group_id", *cols]].melt(id_vars="group_id", var_name="metric").dropna(subset=["value"])
    return summarize_groups(long, ["group_id", "metric"])[STAT_COLUMNS]


def aggregates(stats: Any, measured: Any, its: Any) -> dict[str, dict[str, Any]]:
    """group_id → {"metric.stat": value, power figures, counts} as plain dicts."""
    out: dict[str, dict[str, Any]] = {}
    for gid, metric, n, mean, sd, lo, hi, mn in zip(
            stats["group_id"], stats["metric"], stats["n"], stats["mean"], stats["stdev"],
            stats["ci95_low"], stats["ci95_high"], stats["min"]):
        d = out.setdefault(gid, {})
        d[metric], d[f"{metric}_n"], d[f"{metric}_stdev"] = mean, n, sd
        d[f"{metric}_ci95_low"], d[f"{metric}_ci95_high"], d[f"{metric}_min"] = lo, hi, mn
    for prefix in ("system", "gpu"):
        for gid, values in _power(measured, prefix).items():
            out.setdefault(gid, {}).update(values)
    counts = its.assign(failed=~its["warmup"] & its["error"].notna()).groupby("group_id").agg(
        n=("measured", "sum"), n_failed=("failed", "sum"))
    for gid, n, failed in zip(counts.index, counts["n"], counts["n_failed"]):
        out.setdefault(gid, {}).update(n=int(n), n_failed=int(failed))
    if "api_cost" in its.columns:
        for gid, values in _api_costs(measured).items():
            out.setdefault(gid, {}).update(values)
    for gid, values in _ratios(measured).items():
        out.setdefault(gid, {}).update(values)
    return out


def _ratios(measured: Any) -> dict[str, dict[str, Any]]:
    """Throughput over all measured windows of a group: Σ count ÷ Σ energy_s (the seconds the energy covers:
    the iteration, or llama-bench's decode test) over the iterations that have both (so J/token = Σ energy ÷
    Σ tokens), else the mean of the per-iteration rate (published figures)."""
    out: dict[str, dict[str, Any]] = {}
    for metric in metrics.throughput_metrics():
        if metric.name not in measured.columns:
            continue
        value = measured.groupby("group_id", sort=False)[metric.name].mean()
        if metric.count in measured.columns:
            known = measured[measured[metric.name].notna() & (measured["energy_s"] > 0)]
            by = known.groupby("group_id", sort=False)
            complete = by[metric.count].count() == by.size()
            ratio = (by[metric.count].sum() / by["energy_s"].sum()).where(complete)
            value = ratio.combine_first(value)
        for gid, v in value.dropna().items():
            out.setdefault(gid, {})[metric.name] = float(v)
    return out


def _power(measured: Any, prefix: str) -> dict[str, dict[str, Any]]:
    """Time-weighted average power (Σ J / Σ s) per group, else the mean of avg_w; its provenance."""
    w, j, prov = f"{prefix}_w", f"{prefix}_j", f"{prefix}_provenance"
    sub = measured[measured[w].notna() | measured[j].notna()]
    if sub.empty:
        return {}
    by = sub["group_id"]
    both = sub[j].notna() & (sub["energy_s"] > 0)
    weighted = sub[j].where(both).groupby(by).sum(min_count=1) / sub["energy_s"].where(both).groupby(by).sum(
        min_count=1)
    value = weighted.fillna(sub[w].groupby(by).mean())
    ranks = sub[prov].map(RANK).groupby(by).max()
    columns = {f"{prefix}_w": value, prov: ranks.map(lambda r: None if r != r else PROVENANCES[int(r)])}
    if prefix == "system":
        columns["system_basis"] = sub["system_basis"].groupby(by).last()
    out: dict[str, dict[str, Any]] = {}
    for name, series in columns.items():
        for gid, v in series.items():
            out.setdefault(gid, {})[name] = None if missing(v) else (float(v) if name == f"{prefix}_w" else v)
    return out


def _output_tokens(g: Any) -> float:
    for col in ("usage_output_tokens", "output_tokens", "gen_tokens"):
        if col in g and g[col].notna().all():
            return float(g[col].sum())
    return 0.0


def _api_costs(measured: Any) -> dict[str, dict[str, Any]]:
    out = {}
    priced = measured[measured["api_cost"].notna()]
    for gid, g in priced.groupby("group_id", sort=False):
        tokens = _output_tokens(g)
        out[gid] = {"api_cost_per_request": float(g["api_cost"].sum() / g["api_requests"].sum()),
                    "api_cost_per_mtok": f.api_cost_per_mtok(float(g["api_cost"].sum()), tokens),
                    "api_price_source": g["api_price_source"].iloc[-1]}
    return out
