"""`benchbench cost`: the what-if calculator over the cost formulas (benchbench.analysis.costs)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from .. import metrics
from ..analysis.costs import COST_KEYS, CostInputs, breakeven_of, cost_figures
from ..analysis.prices import require_api_price
from ..fmt import number
from ..power import system
from ..profile import currency_problem, resolve_profile
from ..shapes import PRESETS
from . import cost_shape

# the figures shown, in order; their titles and units come from the metric registry
ROWS = ("j_per_token", "tok_s_per_w", "tok_s_per_gpu_w", "electricity_per_mtok", "incremental_electricity_per_mtok",
        "amortization_per_hour", "amortization_per_mtok", "all_in_per_mtok", "idle_cost_per_month",
        "idle_cost_per_year", "breakeven_mtok_per_month", "payback_months", "cost_per_audio_hour")


MAX_INPUT = 1e15        # beyond any price, power or speed; keeps every figure finite
MIN_POSITIVE = 1e-9     # a divisor smaller than this would overflow the figures


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text[:40]!r}") from None
    if not 0 <= value <= MAX_INPUT:  # NaN and inf too
        raise argparse.ArgumentTypeError(f"must be a number from 0 to {MAX_INPUT:g}, found {text[:40]!r}")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, found {text[:40]!r}")
    if value < MIN_POSITIVE:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_POSITIVE:g}, found {text[:40]!r}")
    return value


def _fraction(text: str) -> float:
    value = _positive(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], found {text!r}")
    return value


def _share(text: str) -> float:
    value = _non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], found {text!r}")
    return value


def _hours(text: str) -> float:
    value = _non_negative(text)
    if value > 24:
        raise argparse.ArgumentTypeError(f"must be between 0 and 24, found {text!r}")
    return value


def _currency(text: str) -> str:
    problem = currency_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--machine", metavar="PROFILE", help="start from a machine profile (name or path); "
                   "flags override it")
    p.add_argument("--tok-s", type=_positive, help="output throughput r (tokens/s): the machine's, all "
                   "concurrent requests together (a report's `throughput`; one stream's speed at concurrency 1)")
    p.add_argument("--load-w", type=_non_negative, help="system power under load P (W)")
    p.add_argument("--gpu-w", type=_non_negative, help="GPU power under load (W), for tokens/s per GPU watt")
    p.add_argument("--idle-w", type=_non_negative, help="idle system power I (W)")
    p.add_argument("--price-kwh", type=_non_negative, help="electricity price c per kWh")
    p.add_argument("--hardware-cost", type=_non_negative, help="hardware cost H")
    p.add_argument("--years", type=_positive, help="amortization period Y (years)")
    p.add_argument("--utilization", type=_fraction, help="fraction of hours spent generating, 0 < u ≤ 1 "
                   "(all-in cost; default full use)")
    api = p.add_mutually_exclusive_group()
    api.add_argument("--api-price", type=_non_negative, help="API price per million (generated) tokens")
    api.add_argument("--api-model", metavar="NAME", action="append", help="an API model priced by genai-prices "
                     "(e.g. gpt-4o-mini, groq:llama-3.1-8b-instant) or by the profile's prices.api, on input, cached "
                     "input and output for a request shape; repeatable (the first gives break-even per M output)")
    p.add_argument("--cloud-hourly", type=_non_negative, help="cloud instance price per hour K (payback)")
    p.add_argument("--hours-per-day", type=_hours, help="hours a day the work runs h (payback; "
                   "default 24 × utilization)")
    p.add_argument("--rtf", type=_positive, help="TTS real-time factor (gen_s / audio_s)")
    p.add_argument("--currency", type=_currency, help="currency of the prices, a three-letter code "
                   "(default: the profile's, else USD)")
    shape = p.add_argument_group("a request shape (docs/economics.md): priced per request, per 1,000 requests and "
                                 "per million input and output tokens, locally and at each --api-model")
    shape.add_argument("--mix", metavar="PRESET", choices=tuple(PRESETS),
                       help="a preset shape: " + ", ".join(PRESETS) + " (flags below override it)")
    shape.add_argument("--input-tokens", type=_non_negative, help="input tokens of one request")
    shape.add_argument("--output-tokens", type=_non_negative, help="output tokens of one request")
    shape.add_argument("--cached-fraction", type=_share, help="share of the input served from a prompt cache, 0-1")
    shape.add_argument("--reasoning-tokens", type=_non_negative, help="reasoning tokens (billed as output)")
    shape.add_argument("--requests-per-day", type=_positive, help="the volume (default: the utilization, else full "
                       "use)")
    shape.add_argument("--pp-tok-s", type=_positive, help="prefill throughput at the load (input tokens/s, all "
                       "requests together); with a shape, --tok-s is the decode throughput at that load")
    shape.add_argument("--exchange-rate", action="append", default=[], metavar="CUR=RATE",
                       help="1 CUR = RATE in the machine's currency (declared), e.g. USD=0.92; repeatable; the "
                            "profile's exchange_rates otherwise")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def inputs_from_args(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """CostInputs from the flags over the profile; and notes on where figures came from."""

    prof = _profile(args.machine)
    notes: list[str] = []
    pick = lambda flag, key: flag if flag is not None else getattr(prof, key, None)  # noqa: E731
    currency = args.currency or getattr(prof, "currency", None) or "USD"
    load_w = pick(args.load_w, "load_w")
    overhead = getattr(prof, "non_gpu_overhead_w", None)
    if args.load_w is None and args.gpu_w is not None and overhead is not None:
        load_w = system.estimated_w(args.gpu_w, overhead)      # the monitor's rule (power/system.py)
        notes.append(f"load power estimated: GPU {args.gpu_w:g} W + non-GPU overhead {overhead:g} W")
    api_price = args.api_price
    if args.api_model:
        entries = cost_shape.price_entries(prof, currency)
        price = [require_api_price(name, entries) for name in args.api_model][0]   # every name must be known
        notes.append(f"API price {price.value:g} {price.currency}/M output tokens ({price.source})")
        if price.currency != currency:
            notes.append(f"API price in {price.currency}, costs in {currency}: no break-even")
        else:
            api_price = price.value
    return CostInputs(tok_s=args.tok_s, load_w=load_w, gpu_w=args.gpu_w, idle_w=pick(args.idle_w, "idle_w"),
                      price_kwh=pick(args.price_kwh, "electricity_per_kwh"),
                      hardware_cost=pick(args.hardware_cost, "hardware_cost"),
                      years=pick(args.years, "amortization_years"),
                      utilization=pick(args.utilization, "utilization"), api_per_mtok=api_price,
                      cloud_hourly=args.cloud_hourly, hours_per_day=args.hours_per_day, rtf=args.rtf,
                      currency=currency), notes


def _profile(ref: str | None) -> Any:
    if not ref:
        return None

    return resolve_profile(ref)


def main(args: argparse.Namespace) -> int:
    inputs, notes = inputs_from_args(args)
    figures = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
               for k, v in cost_figures(inputs).items()}   # a profile's extremes must not print Infinity
    shaped = cost_shape.shape_of(args)
    extra = cost_shape.figures(args, inputs, shaped, _profile(args.machine), notes) if shaped else {}
    if args.json:
        json.dump({**{k: figures[k] for k in COST_KEYS}, **extra}, sys.stdout, indent=1, allow_nan=False,
                  default=str)
        print()
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        return 0
    why = breakeven_of(inputs)[1]
    sys.stdout.write(render(figures, why if inputs.api_per_mtok is not None else None))
    if extra:
        sys.stdout.write(cost_shape.render(extra, inputs.currency))
    for note in notes:
        print(f"note: {note}")
    return 0


def render(figures: dict[str, Any], breakeven_why: str | None = None) -> str:
    """The short human table: figures that could be computed, and what is missing."""
    cur = figures["currency"]
    lines, missing = [], []
    for key in ROWS:
        metric = metrics.get(key)
        label, value = metric.long_title, figures[key]
        if value is None:
            if key == "breakeven_mtok_per_month" and breakeven_why and breakeven_why != "inputs missing":
                lines.append((label, breakeven_why, ""))
            else:
                missing.append(label)
            continue
        lines.append((label, number(value), metric.unit_for(cur)))
    if not lines:
        return "nothing to compute: give --tok-s and --load-w, or --machine (see --help)\n"
    width = max(len(x[0]) for x in lines)
    out = [f"{label:<{width}}  {value} {unit}".rstrip() for label, value, unit in lines]
    if missing:
        out.append(f"(not computed, inputs missing: {', '.join(missing)})")
    return "\n".join(out) + "\n"
