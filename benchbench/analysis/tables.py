"""Per-group statistics, power, energy per unit and costs (machine × workload × params).

Every figure goes through `costs.cost_figures` / `formulas`; nothing here computes money itself.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from ..stats import t975
from . import formulas as f
from .costs import CostInputs, cost_figures
from .load import ITERATION_COLUMNS, PROVENANCES, Loaded, derived
from .prices import Price, find_api_price, is_hosted, parse_prices, price_request

ROOFLINE_LOW_PCT = 25.0   # below this share of the bandwidth bound: suspect CPU fallback or offload
GROUP_KEY = ("provenance", "source", "machine", "kind", "backend", "workload", "params_key")
_RANK = {name: i for i, name in enumerate(PROVENANCES)}
STAT_COLUMNS = ["group_id", "metric", "n", "mean", "stdev", "median", "min", "max", "ci95_low", "ci95_high"]


@dataclass
class Options:
    """Caller choices: utilization and hours a day (else the profile's), prices, API models."""

    utilization: float | None = None
    hours_per_day: float | None = None
    prices: list[Price] = field(default_factory=list)
    api_models: tuple[str, ...] = ()
    published_prices: list[Price] = field(default_factory=list)


# figure → (unit, inputs whose provenance it inherits; "=x": x's own label); "{cur}": the group's currency.
FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tg_tok_s": ("tok/s", ("speed",)), "pp_tok_s": ("tok/s", ("speed",)), "ttft_s": ("s", ("speed",)),
    "e2e_s": ("s", ("speed",)), "rtf": ("", ("speed",)), "rtf_best": ("", ("speed",)),
    "gen_s": ("s", ("speed",)), "audio_s": ("s", ("speed",)), "video_s": ("s", ("speed",)),
    "chars_per_audio_s": ("chars/s", ("speed",)),
    "gpu_w": ("W", ("=gpu",)), "system_w": ("W", ("=system",)), "idle_w": ("W", ("=idle",)),
    "j_per_token": ("J/token", ("speed", "system")), "j_per_audio_s": ("J/audio s", ("speed", "system")),
    "j_per_clip": ("J/clip", ("speed", "system")),
    "tok_s_per_gpu_w": ("tok/s/W", ("speed", "gpu")), "tok_s_per_w": ("tok/s/W", ("speed", "system")),
    "electricity_per_mtok": ("{cur}/Mtok", ("speed", "system")),
    "incremental_electricity_per_mtok": ("{cur}/Mtok", ("speed", "system", "idle")),
    "amortization_per_hour": ("{cur}/h", ()),
    "amortization_per_mtok": ("{cur}/Mtok", ("speed",)),
    "all_in_per_mtok": ("{cur}/Mtok", ("speed", "system", "idle?")),
    "idle_cost_per_month": ("{cur}/month", ("idle",)), "idle_cost_per_year": ("{cur}/year", ("idle",)),
    "cost_per_audio_hour": ("{cur}/audio h", ("speed", "system")),
    "cost_per_1k_chars": ("{cur}/1k chars", ("speed", "system")),
    "cost_per_clip": ("{cur}/clip", ("speed", "system")),
    "cost_per_video_s": ("{cur}/video s", ("speed", "system")),
    "cloud_per_mtok": ("{cur}/Mtok", ("speed",)),
    "api_cost_per_request": ("{cur}/request", ("speed",)), "api_cost_per_mtok": ("{cur}/Mtok", ("speed",)),
    "roofline_tok_s": ("tok/s", ()), "roofline_pct": ("%", ("speed",)),
}

GROUP_COLUMNS = [
    "group_id", "label", "machine", "workload", "base_name", "kind", "backend", "model", "params",
    "params_key", "matrix", "provenance", "source", "suite", "n_runs", "run_ids", "n", "n_failed", "warnings",
    "tg_tok_s", "tg_tok_s_stdev", "tg_tok_s_ci95_low", "tg_tok_s_ci95_high", "pp_tok_s", "ttft_s", "e2e_s",
    "gen_tokens", "rtf", "rtf_stdev", "rtf_best", "gen_s", "audio_s", "chars", "chars_per_audio_s",
    "video_s", "frames",
    "gpu_w", "gpu_provenance", "system_w", "system_basis", "system_provenance", "idle_w", "idle_provenance",
    "idle_source",
    "j_per_token", "j_per_audio_s", "j_per_clip", "tok_s_per_gpu_w", "tok_s_per_w",
    "currency", "electricity_per_kwh", "hardware_cost", "amortization_years", "utilization",
    "utilization_source", "hours_per_day",
    "electricity_per_mtok", "incremental_electricity_per_mtok", "amortization_per_hour",
    "amortization_per_mtok", "all_in_per_mtok", "idle_cost_per_month", "idle_cost_per_year",
    "cost_per_audio_hour", "cost_per_1k_chars", "cost_per_clip", "cost_per_video_s", "cloud_hourly",
    "cloud_per_mtok", "api_cost_per_request", "api_cost_per_mtok", "api_price_source",
    "memory_bandwidth_gbs", "model_size_bytes", "roofline_tok_s", "roofline_pct", "derived_provenance",
]
FIGURE_COLUMNS = ["group_id", "label", "machine", "workload", "kind", "figure", "value", "unit", "provenance"]
API_COLUMNS = ["group_id", "label", "machine", "workload", "api", "price_source", "currency", "api_per_mtok",
               "api_input_per_mtok", "marginal_per_mtok", "monthly_fixed", "capacity_mtok_per_month",
               "breakeven_mtok_per_month", "note", "provenance"]
CLOUD_COLUMNS = ["group_id", "label", "machine", "workload", "instance", "price_source", "currency",
                 "cloud_hourly", "hours_per_day", "payback_months", "note", "provenance"]
TTS_CLOUD_COLUMNS = ["group_id", "label", "machine", "workload", "service", "price_source", "currency",
                     "per_million_chars", "chars_per_audio_s", "cloud_per_audio_hour", "local_per_audio_hour",
                     "cloud_vs_local", "note", "provenance"]


def build_tables(loaded: Loaded, opts: Options) -> dict[str, Any]:
    """groups, stats, figures, api, cloud, tts_cloud (and iterations with group_id and api_cost)."""
    import pandas as pd

    runs = loaded.runs.copy()
    runs["group_id"] = group_ids(runs)
    its = loaded.iterations.merge(runs[["run_id", "group_id"]], on="run_id", how="left")
    its = _price_requests(its, runs, opts, loaded.requests)
    measured = its[its["measured"]]
    stats = stats_table(measured)
    agg = _aggregates(stats, measured, its)
    rows, comparisons = [], {"api": [], "cloud": [], "tts_cloud": []}
    runs = runs.sort_values("started_at", na_position="first", kind="stable")
    for gid, group_runs in runs.groupby("group_id", sort=False):
        row = _group_row(gid, group_runs, agg, loaded.idle, opts)
        rows.append(row)
        entries = _entries(group_runs, opts)
        comparisons["api"] += _api_rows(row, entries, opts)
        comparisons["cloud"] += _cloud_rows(row, entries)
        comparisons["tts_cloud"] += _tts_rows(row, entries)
    groups = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    return {
        "iterations": its, "groups": groups, "stats": stats, "figures": figures_table(groups),
        "api": pd.DataFrame(comparisons["api"], columns=API_COLUMNS),
        "cloud": pd.DataFrame(comparisons["cloud"], columns=CLOUD_COLUMNS),
        "tts_cloud": pd.DataFrame(comparisons["tts_cloud"], columns=TTS_CLOUD_COLUMNS),
    }


def group_ids(runs: Any) -> Any:
    """A short stable id per machine × workload × params (published and measured never pool)."""
    import pandas as pd

    keys = ["\x1f".join(map(str, values)) for values in zip(*(runs[k] for k in GROUP_KEY))]
    return pd.Series([hashlib.sha1(k.encode()).hexdigest()[:10] for k in keys], index=runs.index, dtype=object)


# --- statistics -------------------------------------------------------------------------------

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
    long["value"] = long["value"].astype(float)
    long = long[long["value"].map(math.isfinite)]
    out = long.groupby(["group_id", "metric"], sort=False)["value"].agg(
        n="count", mean="mean", stdev="std", median="median", min="min", max="max").reset_index()
    half = [t975(int(n) - 1) * s / math.sqrt(n) if n > 1 else math.nan for n, s in zip(out["n"], out["stdev"])]
    out["ci95_low"] = out["mean"] - half
    out["ci95_high"] = out["mean"] + half
    out["n"] = out["n"].astype(int)
    return out[STAT_COLUMNS].astype(object).where(out[STAT_COLUMNS].notna(), None)


def _aggregates(stats: Any, measured: Any, its: Any) -> dict[str, dict[str, Any]]:
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
    ranks = sub[prov].map(_RANK).groupby(by).max()
    columns = {f"{prefix}_w": value, prov: ranks.map(lambda r: None if r != r else PROVENANCES[int(r)])}
    if prefix == "system":
        columns["system_basis"] = sub["system_basis"].groupby(by).last()
    out: dict[str, dict[str, Any]] = {}
    for name, series in columns.items():
        for gid, v in series.items():
            out.setdefault(gid, {})[name] = None if v is None or v != v else (float(v) if name == f"{prefix}_w" else v)
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
                    "api_cost_per_mtok": float(g["api_cost"].sum() / tokens * 1e6) if tokens else None,
                    "api_price_source": g["api_price_source"].iloc[-1]}
    return out


# --- hosted API requests ------------------------------------------------------------------------

def _price_requests(its: Any, runs: Any, opts: Options, requests: dict[tuple[str, int], list]) -> Any:
    """api_cost (all requests of the iteration), api_requests and api_price_source per iteration of
    hosted-API runs, each request priced from its recorded usage."""
    its = its.copy()
    its["api_cost"], its["api_requests"], its["api_price_source"] = None, None, None
    hosted = [bool(model) and is_hosted(_base_url(params)) for params, model in zip(runs["params"], runs["model"])]
    for _, run in runs[hosted].iterrows():
        url, entries = _base_url(run["params"]), _run_entries(run, opts)
        for i in its.index[its["run_id"] == run["run_id"]]:
            row = its.loc[i]
            usage = requests.get((run["run_id"], row["index"])) or [(
                _first(row, "input_tokens", "prompt_tokens"), _first(row, "output_tokens", "gen_tokens"),
                _first(row, "cache_read_tokens"))]
            priced = [price_request(run["model"], inp, out, entries=entries, base_url=url, cached_tokens=cached)
                      for inp, out, cached in usage]
            if priced and all(cost is not None for cost, _ in priced):
                its.at[i, "api_cost"] = sum(cost for cost, _ in priced)
                its.at[i, "api_requests"] = len(priced)
                its.at[i, "api_price_source"] = priced[-1][1]
    its["api_cost"] = its["api_cost"].astype(float)
    its["api_requests"] = its["api_requests"].astype(float)
    return its


def _base_url(params: dict[str, Any]) -> str | None:
    for key in ("base_url", "api_base", "host", "url"):
        if isinstance(params.get(key), str):
            return params[key]
    return None


def _first(row: Any, *cols: str) -> float | None:
    for col in cols:
        value = row.get(col)
        if value is not None and value == value:
            return float(value)
    return None


# --- one group ----------------------------------------------------------------------------------

def _group_row(gid: str, runs: Any, agg: dict[str, dict[str, Any]], idle: Any, opts: Options) -> dict[str, Any]:
    last = runs.iloc[-1]
    a = agg.get(gid, {})
    row: dict[str, Any] = {c: None for c in GROUP_COLUMNS}
    row.update({k: last[k] for k in ("machine", "workload", "base_name", "kind", "backend", "model", "params",
                                     "params_key", "matrix", "provenance", "source", "suite", "currency",
                                     "electricity_per_kwh", "hardware_cost", "amortization_years",
                                     "memory_bandwidth_gbs", "cloud_hourly")})
    row.update(group_id=gid, n_runs=len(runs), run_ids=list(runs["run_id"]), n=a.get("n", 0),
               n_failed=a.get("n_failed", 0),
               warnings=sorted({w for ws in runs["warnings"] for w in ws}),
               model_size_bytes=_last(runs["model_size_bytes"]),
               label=f"{last['machine']} · {last['workload']}" + (
                   f" ({last['provenance']})" if last["provenance"] in ("published", "imported") else ""))
    for key in ("tg_tok_s", "tg_tok_s_stdev", "tg_tok_s_ci95_low", "tg_tok_s_ci95_high", "pp_tok_s", "ttft_s",
                "e2e_s", "gen_tokens", "rtf", "rtf_stdev", "gen_s", "audio_s", "chars", "video_s", "frames",
                "gpu_w", "gpu_provenance", "system_w", "system_basis", "system_provenance",
                "api_cost_per_request", "api_cost_per_mtok", "api_price_source"):
        row[key] = a.get(key)
    row["rtf_best"] = a.get("rtf_min")
    for key, value in row.items():
        if isinstance(value, float) and value != value:
            row[key] = None
    _fallback_system(row, last)
    row["idle_w"], row["idle_provenance"], row["idle_source"] = choose_idle(runs, idle)
    _utilization(row, last, opts)
    _costs(row)
    if row["provenance"] == "published":
        for key in ("gpu_provenance", "system_provenance", "idle_provenance"):
            row[key] = "published" if row[key] else None
    row["derived_provenance"] = derived(_speed(row), row["system_provenance"], row["idle_provenance"])
    return row


def _last(series: Any) -> Any:
    values = series.dropna()
    return values.iloc[-1] if len(values) else None


def _fallback_system(row: dict[str, Any], last: Any) -> None:
    """No `system` channel: GPU + the profile's non-GPU overhead (estimated), else load_w (declared)."""
    if row["system_w"] is not None:
        return
    overhead, load_w = last["non_gpu_overhead_w"], last["load_w"]
    if row["gpu_w"] is not None and _ok(overhead):
        row.update(system_w=row["gpu_w"] + overhead, system_basis="gpu+overhead", system_provenance="estimated")
    elif _ok(load_w):
        row.update(system_w=float(load_w), system_basis="declared", system_provenance="declared")


def choose_idle(runs: Any, idle: Any) -> tuple[float | None, str | None, str | None]:
    """(idle W, provenance, where from): measured in the run record, else the newest measured idle
    record of the machine, else declared in the run record, else the profile's idle_w."""
    own = list(zip(runs["run_id"], runs["idle_system_w"], runs["idle_provenance"]))[::-1]
    for run_id, watts, label in own:
        if _ok(watts) and label in ("measured", "published"):
            return float(watts), label, f"run record {run_id}"
    machine = runs["machine"].iloc[-1]
    mine = idle[(idle["machine"] == machine) & (idle["channel"] == "system") & (idle["provenance"] == "measured")]
    if len(mine):
        newest = mine.sort_values("started_at", na_position="first").iloc[-1]
        return float(newest["watts"]), "measured", f"idle record {newest['run_id']}"
    for run_id, watts, label in own:
        if _ok(watts):   # the runner copies a declared idle from the profile's idle_w
            label = label or "declared"
            where = f"profile idle_w (run record {run_id})" if label == "declared" else f"run record {run_id}"
            return float(watts), label, where
    profile_idle = _last(runs["idle_w"])
    if _ok(profile_idle):
        return float(profile_idle), "declared", "profile idle_w"
    return None, None, None


def _utilization(row: dict[str, Any], last: Any, opts: Options) -> None:
    if opts.utilization is not None:
        row["utilization"], row["utilization_source"] = opts.utilization, "caller"
    elif _ok(last["utilization"]):
        row["utilization"], row["utilization_source"] = float(last["utilization"]), "profile"
    else:
        row["utilization"], row["utilization_source"] = 1.0, "full use"
    if opts.hours_per_day is not None:
        row["hours_per_day"] = opts.hours_per_day
    elif _ok(last["hours_per_day"]):
        row["hours_per_day"] = float(last["hours_per_day"])
    elif row["utilization_source"] != "full use":
        row["hours_per_day"] = 24 * row["utilization"]


def _costs(row: dict[str, Any]) -> None:
    """Every money and energy figure of a group, through the shared formulas."""
    inputs = CostInputs(tok_s=row["tg_tok_s"], load_w=row["system_w"], gpu_w=row["gpu_w"],
                        idle_w=row["idle_w"], price_kwh=_num(row["electricity_per_kwh"]),
                        hardware_cost=_num(row["hardware_cost"]), years=_num(row["amortization_years"]),
                        utilization=row["utilization"], rtf=row["rtf"], currency=row["currency"])
    figures = cost_figures(inputs)
    for key, value in figures.items():
        if key in row and key != "currency":
            row[key] = value
    p, c = row["system_w"], inputs.price_kwh
    row["j_per_audio_s"] = f.j_per_audio_s(p, row["rtf"])
    row["j_per_clip"] = f.j_per_clip(p, row["gen_s"]) if row["kind"] == "video" else None
    row["cost_per_1k_chars"] = f.cost_per_1k_chars(p, row["gen_s"], row["chars"], c)
    if row["kind"] == "video":
        row["cost_per_clip"] = f.cost_per_clip(p, row["gen_s"], c)
        row["cost_per_video_s"] = f.cost_per_video_s(p, row["gen_s"], row["video_s"], c)
    if row["chars"] and row["audio_s"]:
        row["chars_per_audio_s"] = row["chars"] / row["audio_s"]
    row["cloud_per_mtok"] = f.cloud_per_mtok(_num(row["cloud_hourly"]), row["tg_tok_s"])
    row["roofline_tok_s"] = f.roofline_tok_s(_num(row["memory_bandwidth_gbs"]), _num(row["model_size_bytes"]))
    row["roofline_pct"] = f.roofline_pct(row["tg_tok_s"], row["roofline_tok_s"])
    if row["roofline_pct"] is not None and row["roofline_pct"] < ROOFLINE_LOW_PCT:
        row["warnings"] = sorted({*row["warnings"], "far_below_roofline"})


def _speed(row: dict[str, Any]) -> str:
    return row["provenance"] if row["provenance"] in ("published", "imported") else "measured"


def _ok(value: Any) -> bool:
    return value is not None and value == value


def _num(value: Any) -> float | None:
    return float(value) if _ok(value) else None


# --- the long figures table ---------------------------------------------------------------------

def figures_table(groups: Any) -> Any:
    """One row per (group, figure) with its unit and provenance."""
    import pandas as pd

    rows = []
    for g in groups.to_dict("records"):
        labels = {"speed": _speed(g), "gpu": g["gpu_provenance"], "system": g["system_provenance"],
                  "idle": g["idle_provenance"], "idle?": g["idle_provenance"] if g["utilization"] < 1 else None}
        for name, (unit, inputs) in FIGURES.items():
            value = g.get(name)
            if value is None or value != value:
                continue
            if inputs and inputs[0].startswith("="):
                prov = labels[inputs[0][1:]]
            elif inputs:
                prov = derived(*(labels[i] for i in inputs))
            else:
                prov = "published" if g["provenance"] == "published" else "declared"
            rows.append({"group_id": g["group_id"], "label": g["label"], "machine": g["machine"],
                         "workload": g["workload"], "kind": g["kind"], "figure": name, "value": value,
                         "unit": unit.format(cur=g["currency"]), "provenance": prov})
    return pd.DataFrame(rows, columns=FIGURE_COLUMNS)


# --- prices that apply to a group ----------------------------------------------------------------

def _parse_record_prices(data: Any, source: str, currency: str) -> list[Price]:
    try:
        return parse_prices(data, source=source, default_currency=currency)
    except UserError as exc:
        warnings.warn(f"{source}: prices ignored ({exc.one_line()})", stacklevel=2)
        return []


def _run_entries(run: Any, opts: Options) -> list[Price]:
    """Published < profile < suite < caller: a later entry of the same name wins."""
    entries = list(opts.published_prices)
    if run["profile_prices"]:
        entries += _parse_record_prices(run["profile_prices"], f"profile {run['machine']}", run["currency"])
    if run["suite_prices"]:
        entries += _parse_record_prices(run["suite_prices"], f"suite {run['suite']}", run["currency"])
    return entries + list(opts.prices)


def _entries(runs: Any, opts: Options) -> list[Price]:
    entries = _run_entries(runs.iloc[-1], opts)
    seen = {e.name for e in entries if e.kind == "api"}
    for name in opts.api_models:
        if name not in seen:
            price = find_api_price(name, entries)
            if price is None:
                raise UserError(f"no price known for API model `{name}`", field="api_models",
                                hint="use a genai-prices name such as gpt-4o-mini, or give it in prices.api")
            entries.append(price)
    return entries


def _latest_by_name(entries: list[Price], kind: str) -> list[Price]:
    chosen: dict[str, Price] = {}
    for e in entries:
        if e.kind == kind:
            chosen.pop(e.name, None)
            chosen[e.name] = e
    return list(chosen.values())


def _base(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("group_id", "label", "machine", "workload")}


def _currency_note(row: dict[str, Any], price: Price) -> str | None:
    if price.currency != row["currency"]:
        return f"price in {price.currency}, costs in {row['currency']}: not compared"
    return None


def _api_rows(row: dict[str, Any], entries: list[Price], opts: Options) -> list[dict[str, Any]]:
    if row["kind"] != "llm" or row["tg_tok_s"] is None or row["api_cost_per_request"] is not None:
        return []
    out = []
    c, hw, years = _num(row["electricity_per_kwh"]), _num(row["hardware_cost"]), _num(row["amortization_years"])
    for price in _latest_by_name(entries, "api"):
        note = _currency_note(row, price)
        volume = None
        if note is None:
            volume, note = f.breakeven(hw, years, row["idle_w"], c, row["system_w"], row["tg_tok_s"], price.value)
        out.append({**_base(row), "api": price.name, "price_source": price.source, "currency": price.currency,
                    "api_per_mtok": price.value, "api_input_per_mtok": price.input_per_mtok,
                    "marginal_per_mtok": row["incremental_electricity_per_mtok"],
                    "monthly_fixed": f.monthly_fixed_cost(hw, years, row["idle_w"], c),
                    "capacity_mtok_per_month": f.capacity_mtok_per_month(row["tg_tok_s"]),
                    "breakeven_mtok_per_month": volume, "note": note,
                    "provenance": derived(_speed(row), row["system_provenance"], row["idle_provenance"])})
    return out


def _cloud_rows(row: dict[str, Any], entries: list[Price]) -> list[dict[str, Any]]:
    if row["system_w"] is None or row["hardware_cost"] is None or row["cloud_hourly"] is not None:
        return []
    out = []
    h = row["hours_per_day"]
    for price in _latest_by_name(entries, "cloud_hourly"):
        note = _currency_note(row, price)
        months = None
        if note is None:
            months = f.payback_months(_num(row["hardware_cost"]), price.value, h, row["system_w"], row["idle_w"],
                                      _num(row["electricity_per_kwh"]))
            if months is None:
                note = "give hours_per_day (or a utilization)" if h is None else (
                    "idle power unknown" if row["idle_w"] is None else "electricity price unknown"
                    if row["electricity_per_kwh"] is None else
                    "local electricity costs more than the cloud saves: never")
        out.append({**_base(row), "instance": price.name, "price_source": price.source,
                    "currency": price.currency, "cloud_hourly": price.value, "hours_per_day": h,
                    "payback_months": months, "note": note,
                    "provenance": derived(row["system_provenance"], row["idle_provenance"])})
    return out


def _tts_rows(row: dict[str, Any], entries: list[Price]) -> list[dict[str, Any]]:
    if row["kind"] != "tts":
        return []
    out = []
    for price in _latest_by_name(entries, "tts_per_million_chars"):
        note = _currency_note(row, price)
        cloud = f.cloud_tts_per_audio_hour(price.value, row["chars_per_audio_s"]) if note is None else None
        local = row["cost_per_audio_hour"]
        if note is None and cloud is None:
            note = "characters or audio length not recorded"
        out.append({**_base(row), "service": price.name, "price_source": price.source, "currency": price.currency,
                    "per_million_chars": price.value, "chars_per_audio_s": row["chars_per_audio_s"],
                    "cloud_per_audio_hour": cloud, "local_per_audio_hour": local,
                    "cloud_vs_local": cloud / local if cloud is not None and local else None, "note": note,
                    "provenance": derived(_speed(row), row["system_provenance"])})
    return out
