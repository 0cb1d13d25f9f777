"""The economics of the work, orchestrated: shapes per model family, every point priced for its shape, the load
point chosen per machine, APIs priced for the shape, break-even, payback, and the verdict per family.

    a = analyze("results/", mix=preset("rag"))
    a.verdict           # one row per model family measured
    a.shape_points      # every point of every LLM group, priced for the shape (`chosen` marks the load point)
    a.shape_apis, a.shape_breakeven, a.shape_payback, a.shapes
"""

from __future__ import annotations

from typing import Any

from ..fmt import clean, finite
from ..record_model import Record, RunRecord
from .columns import Options
from .comparisons import _parse_record_prices
from .families import family
from .phases import points_of
from .shape_points import POINT_COLUMNS, choose, point_rows
from .verdict import (
    API_COLUMNS,
    BREAKEVEN_COLUMNS,
    PAYBACK_COLUMNS,
    VERDICT_COLUMNS,
    api_names,
    api_rows,
    breakeven_rows,
    ledger_usage,
    payback_rows,
    shapes_for,
    verdict_row,
)

FRAME_COLUMNS = [c for c in POINT_COLUMNS if c != "_point"]
FRAMES = ("shape_points", "shape_apis", "shape_breakeven", "shape_payback", "verdict")


def economics(records: list[Record], groups: Any, opts: Options) -> dict[str, Any]:
    """The frames of FRAMES (pandas) and `shapes` (family → shape as a dict, with where it came from)."""
    import pandas as pd

    runs = {r.run_id: r for r in records if isinstance(r, RunRecord)}
    llm = [clean(g) for g in groups.to_dict("records") if g["kind"] == "llm"]
    fam_recs: dict[str, list[RunRecord]] = {}
    sizes: dict[str, float | None] = {}
    own = {family(g.get("model") or g["workload"]) for g in llm if g["provenance"] != "published"}
    measured = own or {family(g.get("model") or g["workload"]) for g in llm}   # nothing measured: the published
    for g in llm:     # families measured here; published machines of those families beside them
        fam = family(g.get("model") or g["workload"])
        if fam in measured:
            fam_recs.setdefault(fam, []).extend(runs[rid] for rid in g["run_ids"] if rid in runs)
            sizes[fam] = sizes.get(fam) or finite(g.get("model_size_bytes"))
    by_run = points_of(runs.values())
    load_points = {fam: [p for r in recs for p in by_run.get(r.run_id, [])] for fam, recs in fam_recs.items()}
    shapes = shapes_for({k: v for k, v in fam_recs.items() if v}, opts.mix, opts.usage or {}, load_points)
    shape_of = {fam: s for fam, (s, _) in shapes.items()}
    rows = point_rows(llm, list(runs.values()), by_run, shape_of,
                      {fam: s.requests_per_month for fam, s in shape_of.items()}, ledger_usage(opts.usage or {}))
    for row in rows:
        if row["hosted"]:
            for key in POINT_COLUMNS[POINT_COLUMNS.index("request_s"):POINT_COLUMNS.index("price_work")]:
                row[key] = None
    choose(rows)
    entries = _entries(records, opts)
    apis: dict[str, list[dict[str, Any]]] = {}
    breakeven, payback, verdict = [], [], []
    for fam, (shape, why) in shapes.items():
        names, rule = api_names(fam, fam_recs[fam], opts.api_models, sizes.get(fam))
        apis[fam] = api_rows(fam, shape, names, rule, entries)
        chosen = [r for r in rows if r["family"] == fam and r["chosen"]]
        clouds = _clouds(entries, rows, fam, shape)
        for row in chosen:
            breakeven += breakeven_rows(row, shape, apis[fam])
            payback += payback_rows(row, shape, [c for c in clouds if c[0] != row["machine"]])
        groups_recs = {g["group_id"]: [runs[rid] for rid in g["run_ids"] if rid in runs] for g in llm}
        mine = [r for r in chosen if r["provenance"] != "published"]
        if fam in own and any(r["request_s"] is not None for r in mine):   # families measured here and priced
            verdict.append(verdict_row(fam, shape, why, mine, apis[fam], breakeven, groups_recs))
    return {
        "shape_points": pd.DataFrame([{k: r[k] for k in FRAME_COLUMNS} for r in rows], columns=FRAME_COLUMNS),
        "shape_apis": pd.DataFrame([{k: a[k] for k in API_COLUMNS} for v in apis.values() for a in v],
                                   columns=API_COLUMNS),
        "shape_breakeven": pd.DataFrame(breakeven, columns=BREAKEVEN_COLUMNS),
        "shape_payback": pd.DataFrame(payback, columns=PAYBACK_COLUMNS),
        "verdict": pd.DataFrame(verdict, columns=VERDICT_COLUMNS),
        "shapes": {fam: {**s.to_dict(), "chosen_by": why} for fam, (s, why) in shapes.items()},
    }


def _entries(records: list[Record], opts: Options) -> list[Any]:
    """Prices that apply: published < profiles < suites < the caller's (a later entry of a name wins)."""
    out = list(opts.published_prices)
    for rec in records:
        if not isinstance(rec, RunRecord) or rec.reference:
            continue
        profile = rec.machine.profile or {}
        currency = profile.get("currency") or "USD"
        if profile.get("prices"):
            out += _parse_record_prices(profile["prices"], f"profile {rec.machine.name}", currency)
        if rec.suite and rec.suite.prices:
            out += _parse_record_prices(rec.suite.prices, f"suite {rec.suite.name}", currency)
    return out + list(opts.prices)


def _clouds(entries: list[Any], rows: list[dict[str, Any]], fam: str, shape: Any
            ) -> list[tuple[str, float, str, float | None, str]]:
    """Cloud instances to rent instead: priced entries (assumed as fast as the machine), and measured or published
    cloud machines of this family (their own speed for the shape)."""
    out: dict[str, tuple[str, float, str, float | None, str]] = {}
    for e in entries:
        if e.kind == "cloud_hourly":
            out[e.name] = (e.name, e.value, e.currency, None, e.source)
    for r in rows:
        hourly = finite(r.get("cloud_hourly"))
        if r["family"] == fam and hourly and r.get("request_s"):
            speed = f"{r['provenance']} speed of {r['machine']} ({r['label']})"
            out[str(r["machine"])] = (str(r["machine"]), hourly, r["currency"] or "USD", r["request_s"], speed)
    return list(out.values())
