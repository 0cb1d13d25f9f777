"""Every measured point of every LLM group priced for the request shape, and the load point chosen per machine
and model family: the highest goodput meeting the SLOs (part 12's load runs), else one stream, else the lowest
concurrency measured, always said (`chosen_why`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import tariff
from ..errors import UserError
from ..fmt import finite
from ..provenance import derived, worst
from ..record_model import RunRecord
from ..shapes import Shape
from . import formulas as f
from .families import family
from .phases import SLO_KEYS, Point
from .prices import is_hosted
from .shape_cost import WHOLE, Machine, local_figures, rates

POINT_COLUMNS = [
    "group_id", "point", "label", "machine", "workload", "model", "family", "provenance", "source", "currency",
    "hosted", "kind", "concurrency", "meets_slo", "slo", "goodput_req_s", "output_tok_s", "system_w", "ttft_p90_s",
    "tpot_p90_s", "e2e_p90_s", "split", "split_label", "request_s", "request_j", "prefill_j_per_token",
    "decode_j_per_token", "electricity_per_request", "marginal_per_request", "monthly_fixed",
    "capacity_requests_per_month", "volume_requests_per_month", "at_full_use", "local_per_request",
    "local_per_1k_requests", "local_per_mtok", "electricity_input_per_mtok", "electricity_output_per_mtok",
    "local_input_per_mtok", "local_output_per_mtok", "price_work", "price_week", "work_hours_month",
    "price_note", "exchange_rates", "hardware_cost", "idle_w", "cloud_hourly", "n_iterations", "warnings", "chosen",
    "chosen_why", "_prov", "_point",
]
PHASE_FIGURES = ("prefill_j_per_token", "decode_j_per_token", "electricity_input_per_mtok",
                 "electricity_output_per_mtok", "local_input_per_mtok", "local_output_per_mtok")


@dataclass
class Usage:
    """What a usage ledger says of one machine (part 16's `machine_usage`): utilization and the real token mix."""

    utilization: float | None
    basis: str
    requests_per_month: float | None
    shape: Shape | None


def machine_of(g: Mapping[str, Any], profile: Mapping[str, Any]) -> tuple[Machine, str | None]:
    """The money side of a group's machine; the note says where the electricity prices came from."""
    flat = finite(g.get("electricity_per_kwh"))
    note = None
    try:
        sched = tariff.schedule(profile or {})
    except UserError:   # a malformed schedule in a record: the flat price, said so
        sched, note = tariff.Schedule(None, (True,) * tariff.HOURS_PER_WEEK), "time-of-use schedule unreadable"
    work = [1.0 if w else 0.0 for w in sched.work]
    if sched.prices is not None:
        price_work = f.weighted_mean(sched.prices, work)
        price_week = f.weighted_mean(sched.prices, [1.0] * tariff.HOURS_PER_WEEK)
        note = f"time of use: {price_work:.4g} over the work hours, {price_week:.4g} the week's mean (declared)"
    else:
        price_work = price_week = flat
    hours = f.HOURS_PER_MONTH * sched.work_share
    if sched.work_share < 1:
        note = (note + "; " if note else "") + f"work hours {hours:.0f} h a month"
    return Machine(finite(g.get("hardware_cost")), finite(g.get("amortization_years")), g.get("idle_w"),
                   price_work, price_week, hours), note


def point_rows(groups: list[dict[str, Any]], records: list[RunRecord], by_run: Mapping[str, list[Point]],
               shapes: Mapping[str, Shape], volume: Mapping[str, float | None],
               usage: Mapping[str, Usage]) -> list[dict[str, Any]]:
    """One row per point of every LLM group (hosted APIs included, marked), priced for its family's shape;
    `by_run`: phases.points_of(records)."""
    profiles = {r.run_id: (r.machine.profile or {}) for r in records}
    out = []
    for g in groups:
        if g["kind"] != "llm":
            continue
        fam = family(g.get("model") or g["workload"])
        shape = shapes.get(fam)
        if shape is None:
            continue
        points = [p for rid in g["run_ids"] for p in by_run.get(rid, [])]
        if not points and g.get("output_tok_s"):
            points = [Point(g["run_ids"][-1], "published figures" if g["provenance"] == "published" else "figures",
                            "figures", concurrency=finite(g.get("concurrency")))]
        profile = profiles.get(g["run_ids"][-1], {})
        use = usage.get(str(g["machine"]))
        v = volume.get(fam)
        for p in _merge(points):
            out.append(_row(g, p, fam, shape, profile, v, use))
    return out


def _merge(points: list[Point]) -> list[Point]:
    """Points of the same label from several runs of one group, summed."""
    merged: dict[str, Point] = {}
    for p in points:
        if p.label not in merged:
            merged[p.label] = p
            continue
        q = merged[p.label]
        q.window_s += p.window_s
        q.energy_j = None if q.energy_j is None or p.energy_j is None else q.energy_j + p.energy_j
        q.requests += p.requests
        q.input_tokens = None if q.input_tokens is None or p.input_tokens is None else q.input_tokens + p.input_tokens
        q.cached_tokens += p.cached_tokens
        q.output_tokens = None if q.output_tokens is None or p.output_tokens is None else \
            q.output_tokens + p.output_tokens
        q.prefill_req_s = None if q.prefill_req_s is None or p.prefill_req_s is None else \
            q.prefill_req_s + p.prefill_req_s
        q.decode_req_s = None if q.decode_req_s is None or p.decode_req_s is None else q.decode_req_s + p.decode_req_s
        q.iterations += p.iterations
        q.meets_slo += p.meets_slo
        q.goodput_req_s += p.goodput_req_s
        q.e2e_samples += p.e2e_samples
        for k, v in p.latencies.items():
            q.latencies.setdefault(k, []).extend(v)
    return list(merged.values())


def _row(g: dict[str, Any], p: Point, fam: str, shape: Shape, profile: Mapping[str, Any], v: float | None,
         use: Usage | None) -> dict[str, Any]:
    machine, note = machine_of(g, profile)
    r = rates(p, finite(g.get("output_tok_s")), finite(g.get("system_w")))
    volume = v
    if volume is None and use is not None and use.utilization is not None and r is not None:
        cap = f.capacity_requests_per_month(r.seconds(shape), machine.work_hours_month)
        volume = cap * use.utilization if cap is not None else None
    elif volume is None and g.get("utilization_source") != "full use" and r is not None:
        cap = f.capacity_requests_per_month(r.seconds(shape), machine.work_hours_month)
        volume = cap * g["utilization"] if cap is not None else None
    figures = local_figures(r, shape, machine, volume) if r is not None else {}
    speed = "published" if g["provenance"] == "published" else "measured"
    base = derived(speed, g.get("system_provenance"))
    with_idle = derived(base, g.get("idle_provenance")) if figures.get("monthly_fixed") is not None else base
    prov = {k: base for k in ("request_j", "electricity_per_request", "request_s", "capacity_requests_per_month")}
    prov.update({k: with_idle for k in ("marginal_per_request", "monthly_fixed", "local_per_request",
                                        "local_per_1k_requests", "local_per_mtok")})
    split_label = r.label if r else None
    for k in PHASE_FIGURES:
        prov[k] = worst(with_idle if k.startswith("local") else base, "estimated" if split_label == "apportioned"
                        else None)
    row = {c: None for c in POINT_COLUMNS}
    row.update({k: g.get(k) for k in ("group_id", "machine", "workload", "model", "provenance", "source", "currency",
                                      "hardware_cost", "idle_w", "cloud_hourly", "output_tok_s", "system_w")})
    row.update(figures)
    row.update(point=f"{g['group_id']}:{p.label}", label=p.label, family=fam, kind=p.kind,
               hosted=is_hosted(_base_url(g.get("params") or {})), concurrency=p.concurrency, meets_slo=p.slo_met,
               slo=p.slo, goodput_req_s=max(p.goodput_req_s) if p.goodput_req_s else None,
               ttft_p90_s=p.p90("ttft"), tpot_p90_s=p.p90("tpot"), e2e_p90_s=p.p90("e2e"),
               split=r.basis if r else WHOLE, split_label=split_label, price_work=machine.price_work,
               price_week=machine.price_week, work_hours_month=machine.work_hours_month, price_note=note,
               exchange_rates=dict(profile.get("exchange_rates") or {}), n_iterations=p.iterations,
               warnings=list(g.get("warnings") or []), chosen=False, _prov=prov, _point=p)
    if p.power_w is not None:
        row["system_w"] = p.power_w
    if p.output_tokens and p.window_s:
        row["output_tok_s"] = p.output_tokens / p.window_s
    return row


def _base_url(params: Mapping[str, Any]) -> str | None:
    value = params.get("base_url") or params.get("host")
    return value if isinstance(value, str) else None


def judge_slo(row: dict[str, Any], slo: Mapping[str, Any] | None) -> bool | None:
    """A point without its own SLO verdict (one stream) against the family's SLOs, on its p90 latencies."""
    if row["meets_slo"] is not None or not slo:
        return row["meets_slo"]
    checks = [(row.get(f"{k[:-2]}_p90_s"), slo.get(k)) for k in SLO_KEYS if slo.get(k) is not None]
    if not checks or any(value is None for value, _ in checks):
        return None
    return all(value <= limit for value, limit in checks)


def choose(rows: list[dict[str, Any]]) -> None:
    """Mark the chosen point of each (machine, family) among measured, non-hosted rows."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if not row["hosted"]:
            by_key.setdefault((str(row["machine"]), row["family"]), []).append(row)
    for candidates in by_key.values():
        slo = next((r["slo"] for r in candidates if r["slo"]), None)
        for r in candidates:
            r["meets_slo"] = judge_slo(r, slo)
        loaded = [r for r in candidates if r["kind"] in ("load", "sweep") and r["meets_slo"]]
        single = [r for r in candidates if (r["concurrency"] or 1) == 1]
        if loaded:
            pick = max(loaded, key=lambda r: r["goodput_req_s"] or 0.0)
            why = "highest goodput meeting the SLOs"
        elif single:
            pick = min(single, key=lambda r: (r["local_per_request"] is None, r["local_per_request"] or 0.0,
                                             -(r["n_iterations"] or 0)))
            why = "single stream (" + ("no load point met the SLOs" if any(
                r["kind"] in ("load", "sweep") for r in candidates) else "no load test") + ")"
        else:
            pick = min(candidates, key=lambda r: r["concurrency"] or 0)
            why = "lowest concurrency measured (no load test, no single stream)"
        pick["chosen"], pick["chosen_why"] = True, why
