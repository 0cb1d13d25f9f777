"""Realized economics from the ledger: what the machine's real use cost, and what an API would have
charged for the same requests.

Per machine and period, with the machine profile's electricity price, hardware cost and years:
- electricity = measured energy (kWh) × price, split into serving and idle (usage.py);
- amortization = hardware ÷ (years × 8,760 h) × the hours the ledger covers;
- realized all-in per million output tokens = (electricity + amortization) ÷ output tokens;
- at an API: every model's input, cached input and output tokens priced by genai-prices (or a
  `prices:` entry of the profile), as if the same requests had gone there.
The money is computed by analysis/formulas.py (its "realized" functions); the figures' names, units and
scope (`period`) are in the metric registry (metrics/catalog_usage.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..analysis import formulas as f
from ..analysis.prices import price_request
from ..prices import parse_prices
from ..profile import resolve_profile
from .usage import TokenMix, Usage


def _kwh(joules: float | None) -> float | None:
    return None if joules is None else joules / f.J_PER_KWH


def profile_for(machine: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """The profile the ledger stored, else machines/<machine>.yaml when there is one."""
    if stored:
        return stored
    try:
        return resolve_profile(machine).to_record()
    except Exception:  # noqa: BLE001 - no profile: costs stay unknown, said in the table
        return None


def api_cost(models: dict[tuple[str, str], TokenMix], api: str, entries: Iterable[Any] = ()
             ) -> tuple[float | None, str | None, bool]:
    """(cost, price source, partial): the served requests priced at API model `api`; partial when
    some input counts are unknown (priced as output only)."""
    costs, source, partial = [], None, False
    for mix in models.values():
        if not (mix.input_tokens or mix.output_tokens):
            continue
        partial |= mix.input_tokens is None
        cost, src = price_request(api, mix.input_tokens or 0, mix.output_tokens, entries=list(entries),
                                  cached_tokens=mix.cached_tokens)
        if cost is None:
            return None, None, partial
        costs.append(cost)
        source = src
    return (f.summed_cost(costs) if costs else 0.0), source, partial


def economics(u: Usage, profile: dict[str, Any] | None, apis: Iterable[str] = ()) -> dict[str, Any]:
    """One report row: usage, energy, money, and the API comparison (keys `api:<model>`); the names are
    the registry's (benchbench/metrics/catalog_usage.py), the money is formulas.py's."""
    p = profile or {}
    price, currency = p.get("electricity_per_kwh"), p.get("currency") or "USD"
    mix = u.mix
    covered_h = u.covered_s / 3600
    row: dict[str, Any] = {
        "machine": u.machine, "period": u.period, "covered_h": covered_h, "intervals": u.intervals,
        "realized_utilization_pct": _pct(u.utilization),
        "busy_h": min(u.busy_s, u.covered_s) / 3600, "busy_basis": ", ".join(sorted(u.busy_basis)) or None,
        "energy_kwh": _kwh(u.energy_j), "energy_coverage_pct": (u.energy_covered_s / u.covered_s * 100
                                                                if u.covered_s and u.energy_j is not None else None),
        "serving_kwh": _kwh(u.serving_energy_j), "idle_kwh": _kwh(u.idle_energy_j),
        "observed_idle_w": u.idle_w, "idle_w_source": u.idle_w_source,
        "energy_source": ", ".join(sorted(u.energy_sources)) or None,
        "requests": mix.requests, "input_mtok": _mtok(mix.input_tokens), "cached_pct": _pct(mix.cached_fraction),
        "output_mtok": _mtok(mix.output_tokens), "tokens_estimated": mix.estimated,
        "currency": currency, "electricity_per_kwh": price,
        "electricity_cost": f.energy_cost(u.energy_j, price),
        "serving_electricity_cost": f.energy_cost(u.serving_energy_j, price),
        "idle_electricity_cost": f.energy_cost(u.idle_energy_j, price),
        "amortization_cost": f.amortization_for_hours(p.get("hardware_cost"), p.get("amortization_years"),
                                                      covered_h),
    }
    row["total_cost"] = f.realized_total(row["electricity_cost"], row["amortization_cost"])
    row["realized_electricity_per_mtok"] = f.realized_per_mtok(row["electricity_cost"], mix.output_tokens)
    row["realized_all_in_per_mtok"] = f.realized_all_in_per_mtok(row["electricity_cost"], row["amortization_cost"],
                                                                 mix.output_tokens)
    prices = _profile_prices(p)
    for api in apis:
        cost, source, partial = api_cost(u.models, api, prices)
        row[f"api:{api}"] = cost
        row[f"api_source:{api}"] = source
        row[f"api_partial:{api}"] = partial
    return row


def model_rows(u: Usage, apis: Iterable[str], profile: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Tokens in and out per source and model (the real mix), with the API price of each."""
    prices = _profile_prices(profile or {})
    out = []
    for (source, model), mix in sorted(u.models.items()):
        row = {"machine": u.machine, "period": u.period, "source": source, "model": model or "?",
               "requests": mix.requests, "served_input_tokens": mix.input_tokens,
               "served_cached_tokens": mix.cached_tokens, "cached_pct": _pct(mix.cached_fraction),
               "served_output_tokens": mix.output_tokens,
               "input_per_request": mix.input_tokens / mix.requests if mix.requests and mix.input_tokens else None,
               "output_per_request": mix.output_tokens / mix.requests if mix.requests else None,
               "tokens_estimated": mix.estimated}
        for api in apis:
            row[f"api:{api}"] = api_cost({(source, model): mix}, api, prices)[0]
        out.append(row)
    return out


def _profile_prices(profile: dict[str, Any]) -> list[Any]:
    if not profile.get("prices"):
        return []
    try:
        return parse_prices(profile["prices"], source=f"profile {profile.get('name')}")
    except Exception:  # noqa: BLE001 - a bad prices section was reported when the profile was loaded
        return []


def _mtok(tokens: int | None) -> float | None:
    return None if tokens is None else tokens / f.TOKENS_PER_MTOK


def _pct(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100
