"""One group's row: its aggregates, idle power (power/idle.py's one rule), utilization and every energy and
money figure through formulas.py; and the long figures table with units and provenance from the registry."""

from __future__ import annotations

from typing import Any

from .. import metrics
from ..fmt import clean, finite, missing
from ..power.idle import IdleCandidate, choose_idle
from ..provenance import derived
from . import formulas as f
from .columns import FIGURE_COLUMNS, FIGURES, GROUP_COLUMNS, ROOFLINE_LOW_PCT, Options
from .costs import CostInputs, cost_figures


def group_row(gid: str, runs: Any, agg: dict[str, dict[str, Any]], idle: Any, opts: Options) -> dict[str, Any]:
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
    for key in ("tg_tok_s", "tg_tok_s_stdev", "tg_tok_s_ci95_low", "tg_tok_s_ci95_high", "output_tok_s",
                "pp_tok_s", "ttft_s", "e2e_s", "gen_tokens", "concurrency", "rtf", "rtf_stdev", "gen_s", "audio_s",
                "chars", "video_s", "frames",
                "gpu_w", "gpu_provenance", "system_w", "system_basis", "system_provenance",
                "api_cost_per_request", "api_cost_per_mtok", "api_price_source"):
        row[key] = a.get(key)
    row["rtf_best"] = a.get("rtf_min")
    row.update(clean({k: v for k, v in row.items() if isinstance(v, float)}))   # NaN → None
    row["idle_w"], row["idle_provenance"], row["idle_source"] = group_idle(runs, idle)
    _utilization(row, last, opts)
    _costs(row)
    if row["provenance"] == "published":
        for key in ("gpu_provenance", "system_provenance", "idle_provenance"):
            row[key] = "published" if row[key] else None
    row["derived_provenance"] = derived(speed_label(row), row["system_provenance"], row["idle_provenance"])
    return row


def _last(series: Any) -> Any:
    values = series.dropna()
    return values.iloc[-1] if len(values) else None


def group_idle(runs: Any, idle: Any) -> tuple[float | None, str | None, str | None]:
    """(idle W, provenance, where from) of a group, chosen by power/idle.py's one rule among its run records'
    own idle (newest first), the machine's idle records (newest first) and the profile's idle_w."""
    own = list(zip(runs["run_id"], runs["idle_system_w"], runs["idle_provenance"]))[::-1]
    candidates = [IdleCandidate(float(w), label or "declared", f"run record {run_id}")
                  for run_id, w, label in own if _ok(w)]
    if not any(c.provenance in ("measured", "published") for c in candidates):   # else one of them wins anyway
        machine = runs["machine"].iloc[-1]
        mine = idle[(idle["machine"] == machine) & (idle["channel"] == "system")].sort_values(
            "started_at", na_position="first", ascending=False)
        candidates += [IdleCandidate(float(w), label, f"idle record {run_id}")
                       for run_id, w, label in zip(mine["run_id"], mine["watts"], mine["provenance"])]
    profile_idle = _last(runs["idle_w"])
    if _ok(profile_idle):
        candidates.append(IdleCandidate(float(profile_idle), "declared", "profile idle_w"))
    chosen = choose_idle(candidates)
    if chosen is None:
        return None, None, None
    where = chosen.where
    if chosen.provenance == "declared" and where.startswith("run record "):
        where = f"profile idle_w ({where})"     # the runner copies a declared idle from the profile's idle_w
    return chosen.watts, chosen.provenance, where


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
    inputs = CostInputs(tok_s=row["output_tok_s"], load_w=row["system_w"], gpu_w=row["gpu_w"],
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
    row["cloud_per_mtok"] = f.cloud_per_mtok(_num(row["cloud_hourly"]), row["output_tok_s"])
    row["roofline_tok_s"] = f.roofline_tok_s(_num(row["memory_bandwidth_gbs"]), _num(row["model_size_bytes"]))
    row["roofline_pct"] = f.roofline_pct(row["tg_tok_s"], row["roofline_tok_s"])
    if row["roofline_pct"] is not None and row["roofline_pct"] < ROOFLINE_LOW_PCT:
        row["warnings"] = sorted({*row["warnings"], "far_below_roofline"})


def speed_label(row: dict[str, Any]) -> str:
    """The provenance of a group's measured figures: published for reference data, imported for results of
    another tool (`benchbench import`), else measured."""
    return row["provenance"] if row["provenance"] in ("published", "imported") else "measured"


def _ok(value: Any) -> bool:
    return not missing(value)


def _num(value: Any) -> float | None:
    return finite(value)


def figure_inputs(name: str) -> tuple[str, ...]:
    inputs = metrics.get(name).inputs
    return ("speed",) if inputs is None else inputs


def figures_table(groups: Any) -> Any:
    """One row per (group, figure) with its unit and provenance."""
    import pandas as pd

    rows = []
    for g in groups.to_dict("records"):
        labels = {"speed": speed_label(g), "gpu": g["gpu_provenance"], "system": g["system_provenance"],
                  "idle": g["idle_provenance"], "idle?": g["idle_provenance"] if g["utilization"] < 1 else None}
        for name in FIGURES:
            unit, inputs = metrics.get(name).unit, figure_inputs(name)
            value = g.get(name)
            if missing(value):
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
