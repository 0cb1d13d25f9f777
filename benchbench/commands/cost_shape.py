"""`benchbench cost` with a request shape: one request priced locally (per request, per 1,000, per million input and
output tokens) and at each --api-model, with the break-even volume (benchbench.analysis.costs.shape_costs)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from .. import metrics, tariff
from ..analysis import formulas as f
from ..analysis.costs import CostInputs, api_figures, shape_costs
from ..analysis.prices import parse_prices, quote
from ..errors import UserError
from ..fmt import number
from ..shapes import Shape, parse_mix

SHOWN = ("request_s", "request_j", "electricity_per_request", "capacity_requests_per_month",
         "volume_requests_per_month", "local_per_1k_requests", "local_per_mtok", "electricity_input_per_mtok",
         "electricity_output_per_mtok", "local_input_per_mtok", "local_output_per_mtok")


def shape_of(args: argparse.Namespace) -> Shape | None:
    """The shape the flags give (a preset with overrides, or the token counts), or None without one."""
    given = {k: getattr(args, k) for k in ("input_tokens", "output_tokens", "cached_fraction", "reasoning_tokens",
                                           "requests_per_day") if getattr(args, k) is not None}
    if args.mix is None and not given.keys() & {"input_tokens", "output_tokens"}:
        if given:
            raise UserError("a request shape needs --input-tokens and --output-tokens, or --mix", field="--mix",
                            hint="e.g. --input-tokens 2000 --output-tokens 300, or --mix rag")
        return None
    data: dict[str, Any] = {"preset": args.mix} if args.mix else {}
    data.update(given)
    return parse_mix(data, prefix="--")


def figures(args: argparse.Namespace, x: CostInputs, shape: Shape, prof: Any, notes: list[str]) -> dict[str, Any]:
    """The JSON keys a shape adds: shape, request (the local figures) and apis."""
    sched = tariff.schedule(prof.to_record() if prof else {}) if prof else None
    price_week = None
    hours = f.HOURS_PER_MONTH
    if sched is not None and sched.prices is not None:
        work = [1.0 if w else 0.0 for w in sched.work]
        x = replace(x, price_kwh=f.weighted_mean(sched.prices, work))
        price_week = f.weighted_mean(sched.prices, [1.0] * len(sched.prices))
        notes.append(f"time of use: {x.price_kwh:.4g} over the work hours, {price_week:.4g} the week's mean (declared)")
    if sched is not None:
        hours = f.HOURS_PER_MONTH * sched.work_share
    if shape.prefill_tokens and args.pp_tok_s is None:
        notes.append("input not priced locally: give --pp-tok-s (the prefill throughput at this load)")
    request = shape_costs(x, shape, args.pp_tok_s, price_week, hours)
    rates = _rates(args, prof)
    fixed = f.monthly_fixed_cost(x.hardware_cost, x.years, x.idle_w, x.price_kwh if price_week is None else price_week)
    entries = price_entries(prof, x.currency)
    apis = []
    for name in args.api_model or []:
        q = quote(name, shape, entries)
        price, note = q.per_request, None
        if price is not None and q.currency != x.currency:
            rate = rates.get(q.currency)
            price = f.convert(price, rate)
            note = f"converted at 1 {q.currency} = {rate:g} {x.currency} (declared)" if rate else \
                f"price in {q.currency}, costs in {x.currency}: not compared (give --exchange-rate {q.currency}=...)"
        apis.append(api_figures(q, shape, request, fixed, price, note))
    return {"shape": shape.to_dict(), "request": request, "apis": apis}


def _rates(args: argparse.Namespace, prof: Any) -> dict[str, float]:
    rates = dict(getattr(prof, "exchange_rates", None) or {})
    for item in args.exchange_rate:
        cur, sep, value = item.partition("=")
        try:
            rates.update(tariff.exchange_rates({cur.strip().upper(): float(value)}, field="--exchange-rate"))
        except ValueError:
            sep = ""
        if not sep:
            raise UserError(f"expected CUR=RATE, found {item!r}", field="--exchange-rate", hint="e.g. USD=0.92")
    return rates


def price_entries(prof: Any, currency: str) -> list[Any]:
    """The profile's `prices:` entries (API names looked up there before genai-prices)."""
    return parse_prices(prof.prices, source=f"profile {prof.name}", file=prof.path,
                        default_currency=currency) if prof and prof.prices else []


def render(extra: dict[str, Any], currency: str) -> str:
    """The shape's lines under the per-token table."""
    shape = extra["shape"]
    out = [f"request shape {shape['name']}: "
           f"{shape['input_tokens']:,.0f} in ({shape['cached_fraction']:.0%} cached) → {shape['output_tokens']:,.0f} "
           f"out" + (f" + {shape['reasoning_tokens']:,.0f} reasoning" if shape["reasoning_tokens"] else "")]
    rows = [(metrics.get(k).long_title, number(extra["request"][k]), metrics.get(k).unit_for(currency))
            for k in SHOWN if extra["request"].get(k) is not None]
    for api in extra["apis"]:
        value = number(api["api_per_1k_requests"]) if api["api_per_1k_requests"] is not None else "not priced"
        rows.append((f"{api['api']} per 1,000 requests", value, f"{currency}/1k requests"))
        be = api["breakeven_requests_per_month"]
        rows.append((f"break-even vs {api['api']}", number(be) if be is not None else (api["note"] or "none"),
                     "requests/month" if be is not None else ""))
    width = max((len(r[0]) for r in rows), default=0)
    out += [f"  {label:<{width}}  {value} {unit}".rstrip() for label, value, unit in rows]
    return "\n".join(out) + "\n"
