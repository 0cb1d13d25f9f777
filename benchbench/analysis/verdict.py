"""The economics of the work: the shape per model family, APIs priced for it, break-even and payback at the chosen
load points, and the verdict per family (the cheapest machine meeting the SLOs, the nearest API, the break-even
volume, the caveats that could change the answer). docs/costs.md "The verdict" says every rule used here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..prices import Price
from ..record_model import RunRecord
from ..shapes import PRESETS, Shape, measured_shape, parse_mix
from ..warning_levels import WARNING, level
from . import formulas as f
from .families import default_apis, family, params_b
from .prices import ApiQuote, quote
from .shape_points import Usage

DEFAULT_SHAPE = "chat"
FEW_REPETITIONS = 3
API_COLUMNS = ["family", "api", "currency", "api_input_per_mtok", "api_cached_per_mtok", "api_output_per_mtok",
               "api_per_request", "api_per_1k_requests", "api_shape_per_mtok", "source", "provenance", "note",
               "chosen_by"]
BREAKEVEN_COLUMNS = ["family", "group_id", "machine", "label", "api", "currency", "api_per_request",
                     "marginal_per_request", "monthly_fixed", "breakeven_requests_per_month",
                     "breakeven_tokens_per_month", "capacity_requests_per_month", "note", "provenance"]
PAYBACK_COLUMNS = ["family", "machine", "label", "instance", "currency", "cloud_hourly", "volume_requests_per_month",
                   "cloud_hours_per_month", "cloud_speed", "payback_months", "note", "provenance"]
VERDICT_COLUMNS = ["family", "models", "shape", "shape_source", "volume", "machine", "label", "chosen_why",
                   "meets_slo", "currency", "local_per_1k_requests", "capacity_requests_per_month", "api",
                   "api_per_1k_requests", "breakeven_requests_per_month", "breakeven_tokens_per_month",
                   "breakeven_note", "caveats", "_prov"]


def shapes_for(families: dict[str, list[RunRecord]], caller: Shape | None, usage: Mapping[str, Any],
               load_points: Mapping[str, list[Any]]) -> dict[str, tuple[Shape, str]]:
    """family → (its shape, where it came from): the caller's, else the usage ledger's real mix, else a suite's
    `mix`, else a profile's, else the chat preset; `from: load` takes the family's load runs' own requests."""
    out = {}
    for fam, recs in families.items():
        declared = next(((r.suite.mix, f"suite {r.suite.name}") for r in recs if r.suite and r.suite.mix), None) \
            or next(((r.machine.profile["mix"], f"profile {r.machine.name}") for r in recs
                     if (r.machine.profile or {}).get("mix")), None)
        ledger = _ledger_shape(fam, usage)
        if caller is not None:
            shape, why = caller, "given"
        elif ledger is not None:
            shape, why = ledger, "usage ledger"
        elif declared is not None:
            shape, why = parse_mix(declared[0]), declared[1]
        else:
            shape, why = PRESETS[DEFAULT_SHAPE], f"default ({DEFAULT_SHAPE} preset; set mix: in the suite or profile)"
        if shape.from_load:
            measured = _load_shape(load_points.get(fam, []))
            shape, why = (measured, f"{why}: the load runs' own requests") if measured else \
                (PRESETS[DEFAULT_SHAPE], f"{why} asked for the load runs' requests, but none were recorded: chat")
            if caller is not None and (caller.requests_per_day or caller.tokens_per_month):
                shape = replace(shape, requests_per_day=caller.requests_per_day,
                                tokens_per_month=caller.tokens_per_month)
        out[fam] = (shape, why)
    return out


def _load_shape(points: list[Any]) -> Shape | None:
    loaded = [p for p in points if p.kind in ("load", "sweep") and p.requests and p.input_tokens is not None
              and p.output_tokens]
    n = sum(p.requests for p in loaded)
    if not n:
        return None
    return measured_shape(sum(p.input_tokens for p in loaded) / n, sum(p.cached_tokens for p in loaded) / n,
                          sum(p.output_tokens for p in loaded) / n, f"the load runs' own requests ({n:.0f})")


def _ledger_shape(fam: str, usage: Mapping[str, Any]) -> Shape | None:
    """The real token mix of the ledger's requests of this family's models (all of them if none match)."""
    matching = [mix for u in usage.values() for (_src, model), mix in (getattr(u, "models", None) or {}).items()
                if family(model) == fam]
    mixes = matching or [u.mix for u in usage.values() if getattr(u, "mix", None) is not None]
    requests = sum(m.requests or 0 for m in mixes)
    if not mixes or not requests or any(m.input_tokens is None for m in mixes):
        return None
    return measured_shape(sum(m.input_tokens for m in mixes) / requests,
                          sum(m.cached_tokens or 0 for m in mixes) / requests,
                          sum(m.output_tokens for m in mixes) / requests,
                          "usage ledger" + ("" if matching else " (all models)"))


def ledger_usage(usage: Mapping[str, Any]) -> dict[str, Usage]:
    """Part 16's `machine_usage()` result (duck-typed) as what the verdict needs per machine."""
    out = {}
    for machine, u in usage.items():
        months = (getattr(u, "covered_s", 0) or 0) / (f.HOURS_PER_MONTH * 3600)
        requests = getattr(getattr(u, "mix", None), "requests", None)
        basis = ", ".join(sorted(getattr(u, "busy_basis", None) or [])) or "ledger"
        out[str(machine)] = Usage(getattr(u, "utilization", None), basis,
                                  requests / months if requests and months > 0 else None, None)
    return out


# --- APIs -----------------------------------------------------------------------------------------------

def api_names(fam: str, recs: list[RunRecord], caller: Iterable[str],
              size_bytes: float | None) -> tuple[list[str], str]:
    """The APIs to compare a family with, and the rule that chose them."""
    named = list(dict.fromkeys([*caller, *(n for r in recs if r.suite for n in (r.suite.api_models or [])),
                                *(n for r in recs for n in (r.machine.profile or {}).get("api_models") or [])]))
    if named:
        return named, "named"
    billions, how = params_b(recs[-1].workload.params.get("model") or fam, size_bytes)
    cls, names = default_apis(billions)
    size = f"{billions:.3g}B from the {how}" if billions is not None else "size unknown"
    return list(names), f"default set for {cls} models ({size})"


def api_rows(fam: str, shape: Shape, names: list[str], rule: str, entries: list[Price]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        q = quote(name, shape, entries)
        per_mtok = q.per_request / shape.tokens * f.TOKENS_PER_MTOK if q.per_request is not None and shape.tokens \
            else None
        out.append({"family": fam, "api": name, "currency": q.currency, "api_input_per_mtok": q.input_per_mtok,
                    "api_cached_per_mtok": q.cached_per_mtok, "api_output_per_mtok": q.output_per_mtok,
                    "api_per_request": q.per_request,
                    "api_per_1k_requests": q.per_request * 1000 if q.per_request is not None else None,
                    "api_shape_per_mtok": per_mtok, "source": q.source, "provenance": q.provenance, "note": q.note,
                    "chosen_by": rule, "_quote": q})
    return out


def in_currency(q: ApiQuote | Mapping[str, Any], amount: float | None, currency: str,
                rates: Mapping[str, float]) -> tuple[float | None, str | None]:
    """An API amount in the machine's currency: as is, at the profile's declared rate, or not compared."""
    cur = q.currency if isinstance(q, ApiQuote) else q["currency"]
    if amount is None or cur == currency:
        return amount, None
    rate = rates.get(cur)
    if rate is None:
        return None, f"price in {cur}, costs in {currency}: not compared (declare exchange_rates: {{{cur}: ...}})"
    return f.convert(amount, rate), f"converted at 1 {cur} = {rate:g} {currency} (declared)"


# --- break-even and payback at the chosen points ----------------------------------------------------------

def breakeven_rows(row: dict[str, Any], shape: Shape, apis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chosen point of a machine against each API: the monthly volume where owning costs what the API does."""
    out = []
    cap, fixed, marginal = row["capacity_requests_per_month"], row["monthly_fixed"], row["marginal_per_request"]
    for api in apis:
        price, converted = in_currency(api["_quote"], api["api_per_request"], row["currency"], row["exchange_rates"])
        volume = f.breakeven_requests_per_month(fixed, price, marginal)
        note = None
        if price is None:
            note = converted or api["note"] or "no price"
        elif fixed is None or marginal is None:
            note = "hardware cost, amortization years or idle power unknown"
        elif volume is None:
            note = "never: the API costs no more than this machine's electricity per request"
        elif cap is not None and volume > cap:
            within = "within the SLOs" if row["meets_slo"] else "at this load point"
            note = (f"never {within}: needs {volume:,.0f} requests a month, the machine carries {cap:,.0f} "
                    f"({row['label']})")
            volume = None
        if converted and price is not None:
            note = f"{note}; {converted}" if note else converted
        out.append({"family": row["family"], "group_id": row["group_id"], "machine": row["machine"],
                    "label": row["label"], "api": api["api"],
                    "currency": row["currency"], "api_per_request": price, "marginal_per_request": marginal,
                    "monthly_fixed": fixed, "breakeven_requests_per_month": volume,
                    "breakeven_tokens_per_month": volume * shape.tokens if volume is not None else None,
                    "capacity_requests_per_month": cap, "note": note,
                    "provenance": row["_prov"].get("marginal_per_request")})
    return out


def payback_rows(row: dict[str, Any], shape: Shape, clouds: list[tuple[str, float, str, float | None, str]]
                 ) -> list[dict[str, Any]]:
    """The machine against renting each cloud instance for the hours a month it needs to carry the same volume.
    clouds: (instance, price per hour, currency, its seconds per request of the shape or None, where from)."""
    out = []
    volume = row["volume_requests_per_month"]
    idle_month = f.idle_cost_per_month(row["idle_w"], row["price_week"])
    marginal = row["marginal_per_request"]
    for name, hourly, cur, seconds, speed in clouds:
        price, note = in_currency({"currency": cur}, hourly, row["currency"], row["exchange_rates"])
        t = seconds if seconds is not None else row["request_s"]
        hours = volume * t / 3600 if volume is not None and t is not None else None
        months = f.payback_months_at_volume(row["hardware_cost"], price, hours, idle_month,
                                            volume * marginal if volume is not None and marginal is not None else None)
        if note is None and months is None:
            note = "inputs missing (hardware cost, idle power or volume)" if None in (
                row["hardware_cost"], idle_month, hours, marginal) else "never: running the machine costs more"
        if hours is not None and hours > f.HOURS_PER_MONTH:
            note = (note + "; " if note else "") + f"{hours / f.HOURS_PER_MONTH:.1f} instances at once"
        out.append({"family": row["family"], "machine": row["machine"], "label": row["label"], "instance": name,
                    "currency": row["currency"], "cloud_hourly": price, "volume_requests_per_month": volume,
                    "cloud_hours_per_month": hours, "cloud_speed": speed if seconds is not None else
                    "assumed as fast as this machine (estimated)", "payback_months": months, "note": note,
                    "provenance": row["_prov"].get("marginal_per_request")})
    return out


# --- the verdict ------------------------------------------------------------------------------------------

def verdict_row(fam: str, shape: Shape, why: str, chosen: list[dict[str, Any]], apis: list[dict[str, Any]],
                breakeven: list[dict[str, Any]], records: Mapping[str, list[RunRecord]]) -> dict[str, Any]:
    """The cheapest machine meeting the SLOs (else the cheapest, said), the nearest API (the cheapest of the
    comparison set for the shape), the break-even volume between them and the caveats."""
    priced = [r for r in chosen if r["local_per_1k_requests"] is not None]
    meeting = [r for r in priced if r["meets_slo"] is not False]
    pool = meeting or priced or chosen
    best = min(pool, key=lambda r: (r["local_per_1k_requests"] is None, r["local_per_1k_requests"] or 0.0)) \
        if pool else None
    row: dict[str, Any] = {c: None for c in VERDICT_COLUMNS}
    volume = shape.requests_per_month
    row.update(family=fam, models=", ".join(sorted({str(r["model"]) for r in chosen})), shape=shape.describe(),
               shape_source=f"{why}; {shape.provenance}: {shape.source}" if shape.source else why,
               volume=f"{volume:,.0f} requests a month" if volume else (
                   "at full use" if best and best["at_full_use"] else "at the profile's utilization"), _prov={})
    caveats: list[str] = []
    if best is None:
        row["caveats"] = ["no machine of this family could be priced"]
        return row
    row.update({k: best[k] for k in ("machine", "label", "chosen_why", "meets_slo", "currency",
                                     "local_per_1k_requests", "capacity_requests_per_month")})
    row["_prov"]["local_per_1k_requests"] = best["_prov"].get("local_per_1k_requests")
    if not meeting and priced:
        caveats.append("no machine met the SLOs: the cheapest is shown")
    nearest = _nearest(best, apis)
    if nearest is not None:
        row["api"], row["api_per_1k_requests"] = nearest
        match = next((b for b in breakeven if b["machine"] == best["machine"] and b["api"] == row["api"]), None)
        if match:
            row.update(breakeven_requests_per_month=match["breakeven_requests_per_month"],
                       breakeven_tokens_per_month=match["breakeven_tokens_per_month"], breakeven_note=match["note"])
    missing = [a["api"] for a in apis if a["api_per_request"] is None]
    if missing:
        caveats.append("no price for " + ", ".join(missing))
    row["caveats"] = caveats + caveats_of(best, shape, records.get(best["group_id"], []))
    return row


def _nearest(best: dict[str, Any], apis: list[dict[str, Any]]) -> tuple[str, float] | None:
    options = []
    for a in apis:
        price, _ = in_currency(a["_quote"], a["api_per_1k_requests"], best["currency"], best["exchange_rates"])
        if price is not None:
            options.append((a["api"], price))
    return min(options, key=lambda x: x[1]) if options else None


def caveats_of(row: dict[str, Any], shape: Shape, recs: list[RunRecord]) -> list[str]:
    """What could change the answer: estimated or declared power, decision-level warnings (CPU fallback, idle GPU,
    cached prompts...), few repetitions, an apportioned or missing prefill/decode split, a load run whose requests
    differ from the shape, a declared idle power, a volume beyond the machine."""
    out = []
    power = row["_prov"].get("request_j")
    if power in ("estimated", "declared"):
        out.append(f"system power {power}" + (" (GPU + profile overhead)" if power == "estimated" else ""))
    codes = decision_codes(recs) | {c for c in row["warnings"] or [] if level(c) == WARNING}
    out += sorted(codes)
    if (row["n_iterations"] or 0) < FEW_REPETITIONS and row["provenance"] != "published":
        out.append(f"few repetitions ({row['n_iterations'] or 0})")
    if row["split_label"] == "apportioned":
        out.append(f"prefill/decode energy apportioned by {row['split']}")
    elif row["split_label"] == "whole" and shape.prefill_tokens:
        out.append("no prefill times: input not priced locally")
    p = row["_point"]
    if p is not None and p.kind in ("load", "sweep") and p.requests and p.input_tokens is not None \
            and not _close(p.input_tokens / p.requests, shape.input_tokens):
        out.append(f"the load run's requests ({p.input_tokens / p.requests:,.0f} tokens in) differ from the shape's "
                   f"({shape.input_tokens:,.0f}): its latency and SLO verdict may not hold")
    volume = shape.requests_per_month
    if volume and row["capacity_requests_per_month"] and volume > row["capacity_requests_per_month"]:
        out.append(f"the volume exceeds what {row['machine']} carries at {row['label']}")
    if row["price_note"]:
        out.append(row["price_note"])
    return out


def _close(a: float, b: float) -> bool:
    return b > 0 and 0.5 <= a / b <= 2.0


def decision_codes(recs: list[RunRecord]) -> set[str]:
    """Warning codes that can change a decision (part 15's level `warning`: CPU fallback, an idle GPU, cached
    prompts, throttling, few or failed iterations...); notes (power_estimated, hit_token_limit, ...) are left out."""
    return {w.code for rec in recs for w in rec.warnings if w.code and not w.is_note}
