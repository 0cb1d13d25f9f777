"""The cost figures of one set of inputs: shared by `benchbench cost` and the per-group tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..shapes import Shape
from . import formulas as f
from .prices import ApiQuote
from .shape_cost import Machine, Rates, local_figures

# `benchbench cost --json` prints exactly these keys.
COST_KEYS = ("currency", "j_per_token", "tok_s_per_w", "tok_s_per_gpu_w", "electricity_per_mtok",
             "incremental_electricity_per_mtok", "amortization_per_hour", "amortization_per_mtok",
             "all_in_per_mtok", "idle_cost_per_month", "idle_cost_per_year", "breakeven_mtok_per_month",
             "payback_months", "cost_per_audio_hour")


@dataclass
class CostInputs:
    """Inputs of the cost formulas; None where unknown. `utilization` None means full use (1) for
    the all-in figure; `hours_per_day` None falls back to 24 × utilization when that is given."""

    tok_s: float | None = None
    load_w: float | None = None
    gpu_w: float | None = None
    idle_w: float | None = None
    price_kwh: float | None = None
    hardware_cost: float | None = None
    years: float | None = None
    utilization: float | None = None
    api_per_mtok: float | None = None
    cloud_hourly: float | None = None
    hours_per_day: float | None = None
    rtf: float | None = None
    currency: str = "USD"

    def payback_hours(self) -> float | None:
        if self.hours_per_day is not None:
            return self.hours_per_day
        return 24 * self.utilization if self.utilization is not None else None


def cost_figures(x: CostInputs) -> dict[str, Any]:
    """The COST_KEYS figures (None where the inputs don't allow them)."""
    u = 1.0 if x.utilization is None else f.check_utilization(x.utilization)
    return {
        "currency": x.currency,
        "j_per_token": f.j_per_token(x.load_w, x.tok_s),
        "tok_s_per_w": f.tok_s_per_w(x.tok_s, x.load_w),
        "tok_s_per_gpu_w": f.tok_s_per_w(x.tok_s, x.gpu_w),
        "electricity_per_mtok": f.electricity_per_mtok(x.load_w, x.tok_s, x.price_kwh),
        "incremental_electricity_per_mtok": f.incremental_electricity_per_mtok(
            x.load_w, x.idle_w, x.tok_s, x.price_kwh),
        "amortization_per_hour": f.amortization_per_hour(x.hardware_cost, x.years),
        "amortization_per_mtok": f.amortization_per_mtok(x.hardware_cost, x.years, x.tok_s),
        "all_in_per_mtok": f.all_in_per_mtok(x.hardware_cost, x.years, x.load_w, x.idle_w, x.price_kwh,
                                             x.tok_s, u),
        "idle_cost_per_month": f.idle_cost_per_month(x.idle_w, x.price_kwh),
        "idle_cost_per_year": f.idle_cost_per_year(x.idle_w, x.price_kwh),
        "breakeven_mtok_per_month": breakeven_of(x)[0],
        "payback_months": f.payback_months(x.hardware_cost, x.cloud_hourly, x.payback_hours(), x.load_w,
                                           x.idle_w, x.price_kwh),
        "cost_per_audio_hour": f.cost_per_audio_hour(x.load_w, x.rtf, x.price_kwh),
    }


def breakeven_of(x: CostInputs) -> tuple[float | None, str | None]:
    """(break-even millions of tokens a month, why none) for these inputs."""
    if x.api_per_mtok is None:
        return None, "no API price given"
    return f.breakeven(x.hardware_cost, x.years, x.idle_w, x.price_kwh, x.load_w, x.tok_s, x.api_per_mtok)


# --- a request shape (benchbench cost --input-tokens ... / --mix) --------------------------------------------

REQUEST_KEYS = ("request_s", "request_j", "electricity_per_request", "marginal_per_request",
                "capacity_requests_per_month", "volume_requests_per_month", "at_full_use", "local_per_request",
                "local_per_1k_requests", "local_per_mtok", "prefill_j_per_token", "decode_j_per_token",
                "electricity_input_per_mtok", "electricity_output_per_mtok", "local_input_per_mtok",
                "local_output_per_mtok")


def shape_costs(x: CostInputs, shape: Shape, pp_tok_s: float | None, price_week: float | None = None,
                work_hours_month: float = f.HOURS_PER_MONTH) -> dict[str, Any]:
    """One request of `shape` on a machine running at output throughput `x.tok_s` and prefill throughput `pp_tok_s`
    (both at the load it runs at), drawing `x.load_w`: every generated token takes 1/r s, every prefilled input token
    1/pp s (the same power throughout: apportioned by time). Money at the shape's volume, else at the utilization,
    else at full use."""
    r, p = x.tok_s, x.load_w
    rates = Rates(1 / pp_tok_s if pp_tok_s else None, p / pp_tok_s if pp_tok_s and p is not None else None,
                  1 / r if r else None, p / r if r and p is not None else None, first_in_prefill=False,
                  basis="the throughputs given", label="apportioned")
    machine = Machine(x.hardware_cost, x.years, x.idle_w, x.price_kwh,
                      x.price_kwh if price_week is None else price_week, work_hours_month)
    volume = shape.requests_per_month
    seconds = rates.seconds(shape)
    if volume is None and x.utilization is not None and seconds:
        volume = x.utilization * f.capacity_requests_per_month(seconds, work_hours_month)
    figures = local_figures(rates, shape, machine, volume)
    return {k: figures.get(k) for k in REQUEST_KEYS}


def api_figures(quote: ApiQuote, shape: Shape, request: dict[str, Any], monthly_fixed: float | None,
                price: float | None, note: str | None) -> dict[str, Any]:
    """An API priced for the shape (in the machine's currency: `price` per request) and the break-even against it."""
    volume = f.breakeven_requests_per_month(monthly_fixed, price, request.get("marginal_per_request"))
    cap = request.get("capacity_requests_per_month")
    why = [x for x in (note, quote.note) if x]
    if volume is not None and cap is not None and volume > cap:
        volume = None
        why.append(f"never: needs more requests a month than the machine carries ({cap:,.0f})")
    elif volume is None and price is not None and request.get("marginal_per_request") is not None and \
            monthly_fixed is not None:
        why.append("never: the API costs no more than the machine's electricity per request")
    return {"api": quote.name, "currency": quote.currency, "api_input_per_mtok": quote.input_per_mtok,
            "api_cached_per_mtok": quote.cached_per_mtok, "api_output_per_mtok": quote.output_per_mtok,
            "api_per_request": price, "api_per_1k_requests": price * 1000 if price is not None else None,
            "source": quote.source, "breakeven_requests_per_month": volume,
            "breakeven_tokens_per_month": volume * shape.tokens if volume is not None else None,
            "note": "; ".join(why) or None}
