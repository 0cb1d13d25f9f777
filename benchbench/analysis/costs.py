"""The cost figures of one set of inputs: shared by `benchbench cost` and the per-group tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import formulas as f

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
