"""The economics of the work's request shape, in detail: every machine's load points priced for the shape (the
chosen one marked), the APIs priced for it, break-even against each API and payback against cloud instances at
the volume. Figures come from the analysis (benchbench/analysis/economics.py); units and labels from the registry."""

from __future__ import annotations

from typing import Any

from ...fmt import clean
from ..model import Column, Section, Table
from . import ORIGIN, SOURCE, currency_unit, with_currency

POINTS = [
    Column("models", "model", kind="text"), Column("machine", "machine", kind="text"), ORIGIN, SOURCE,
    Column("label", "load point", kind="text"), Column("chosen_why", "chosen", kind="text"),
    Column("meets_slo", "meets the SLOs", kind="bool"), Column("e2e_p90_s", "E2E p90", "s"),
    Column.of("request_s", prov=True), Column.of("request_j", prov=True),
    Column("split", "prefill / decode from", kind="text"),
    Column.of("electricity_input_per_mtok", prov=True), Column.of("electricity_output_per_mtok", prov=True),
    Column.of("local_input_per_mtok", prov=True), Column.of("local_output_per_mtok", prov=True),
    Column.of("local_per_1k_requests", prov=True), Column.of("capacity_requests_per_month", prov=True),
    Column.of("volume_requests_per_month"), Column("price_note", "electricity", kind="text"),
]
APIS = [
    Column("family", "model family", kind="text"), Column("api", "API", kind="text"),
    Column.of("api_input_per_mtok"), Column.of("api_cached_per_mtok"), Column.of("api_output_per_mtok"),
    Column.of("api_per_1k_requests"), Column.of("api_shape_per_mtok"), Column("source", "price from", kind="text"),
    Column("chosen_by", "compared because", kind="text"), Column("note", "note", kind="text"),
]
BREAKEVEN = [
    Column("family", "model family", kind="text"), Column("machine", "machine", kind="text"),
    Column("label", "load point", kind="text"), Column("api", "API", kind="text"),
    Column.of("api_per_request"), Column.of("marginal_per_request", prov=True), Column.of("monthly_fixed", prov=True),
    Column.of("breakeven_requests_per_month", prov=True), Column.of("breakeven_tokens_per_month", prov=True),
    Column.of("capacity_requests_per_month", prov=True), Column("note", "note", kind="text"),
]
PAYBACK = [
    Column("family", "model family", kind="text"), Column("machine", "machine", kind="text"),
    Column("instance", "cloud instance", kind="text"), Column.of("cloud_hourly"),
    Column.of("volume_requests_per_month"), Column.of("cloud_hours_per_month", prov=True),
    Column("cloud_speed", "instance speed", kind="text"), Column.of("payback_months", prov=True),
    Column("note", "note", kind="text"),
]


def build(ctx: Any) -> Section | None:
    a = ctx.analysis
    if getattr(a, "verdict", None) is None or not len(a.verdict):
        return None
    families = set(a.verdict["family"])
    models = {fam: m for fam, m in zip(a.verdict["family"], a.verdict["models"])}
    points = [clean(r) for r in a.shape_points.to_dict("records") if r["chosen"] and r["family"] in families
              and not r["hosted"]]
    for r in points:
        r["models"] = models.get(r["family"])
        r["_prov"] = dict(r.get("_prov") or {})
    points.sort(key=lambda r: (r["family"], r["provenance"] != "measured", r.get("local_per_1k_requests") or 1e99))
    blocks: list[Any] = []
    if points:
        blocks.append(Table("workload_machines", "Each machine at its chosen load point, priced for the shape",
                            with_currency(POINTS, currency_unit(points)), points,
                            note="Per million input = prefilled (uncached) input tokens; per million output = "
                                 "generated tokens. Prefill and decode energy are measured apart (llama-bench) or the "
                                 "window's energy apportioned by the requests' phase times (estimated); without phase "
                                 "times only a shape with nothing to prefill is priced."))
    for name, title, cols, frame, note in (
            ("workload_apis", "APIs priced for the shape", APIS, a.shape_apis,
             "Input, cached input and output per million tokens from genai-prices (reasoning tokens billed as "
             "output); a price genai-prices does not have is said, never invented."),
            ("workload_breakeven", "Break-even against each API", BREAKEVEN, a.shape_breakeven,
             "monthly fixed cost ÷ (API per request − local electricity above idle per request); never where the API "
             "costs less per request, or where the volume exceeds what the machine carries at its load point."),
            ("workload_payback", "Payback against cloud instances carrying the same volume", PAYBACK,
             a.shape_payback, "hardware ÷ (the instance's hours a month × its price − what the machine costs a month "
                              "idle and serving the volume).")):
        rows = [_row(r) for r in frame.to_dict("records")] if frame is not None and len(frame) else []
        rows = [r for r in rows if r["family"] in families]
        if rows:
            blocks.append(Table(name, title, with_currency(cols, currency_unit(rows)), rows, note=note))
    if not blocks:
        return None
    return Section("workload", "The work's economics", blocks,
                   intro="The request shape priced on every machine and API: what the verdict is made of.")


def _row(r: dict[str, Any]) -> dict[str, Any]:
    r = clean(r)
    prov = r.get("provenance")
    r["_prov"] = {k: prov for k in ("marginal_per_request", "monthly_fixed", "breakeven_requests_per_month",
                                    "breakeven_tokens_per_month", "capacity_requests_per_month",
                                    "cloud_hours_per_month", "payback_months")}
    r.pop("provenance", None)
    return r
