"""Prices that apply to a group, and its comparisons: hosted-API requests priced from their usage, break-even
against APIs, payback against cloud instances, local against cloud TTS. Money through formulas.py."""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import InputSkipped, UserError
from ..fmt import finite
from ..provenance import derived
from . import formulas as f
from .columns import Options
from .group_row import speed_label
from .prices import Price, find_api_price, is_hosted, parse_prices, price_request


def price_requests(its: Any, runs: Any, opts: Options, requests: dict[tuple[str, int], list]) -> Any:
    """api_cost (all requests of the iteration), api_requests and api_price_source per iteration of
    hosted-API runs, each request priced from its recorded usage."""
    its = its.copy()
    its["api_cost"], its["api_requests"], its["api_price_source"] = None, None, None
    hosted = [bool(model) and is_hosted(_base_url(params)) for params, model in zip(runs["params"], runs["model"])]
    for _, run in runs[hosted].iterrows():
        url, entries = _base_url(run["params"]), _run_entries(run, opts)
        for i in its.index[its["run_id"] == run["run_id"]]:
            row = its.loc[i]
            usage = requests.get((run["run_id"], row["index"])) or [(
                _first(row, "input_tokens", "prompt_tokens"), _first(row, "output_tokens", "gen_tokens"),
                _first(row, "cache_read_tokens"))]
            priced = [price_request(run["model"], inp, out, entries=entries, base_url=url, cached_tokens=cached)
                      for inp, out, cached in usage]
            if priced and all(cost is not None for cost, _ in priced):
                its.at[i, "api_cost"] = sum(cost for cost, _ in priced)
                its.at[i, "api_requests"] = len(priced)
                its.at[i, "api_price_source"] = priced[-1][1]
    its["api_cost"] = its["api_cost"].astype(float)
    its["api_requests"] = its["api_requests"].astype(float)
    return its


def _base_url(params: dict[str, Any]) -> str | None:
    for key in ("base_url", "api_base", "host", "url"):
        if isinstance(params.get(key), str):
            return params[key]
    return None


def _first(row: Any, *cols: str) -> float | None:
    for col in cols:
        value = row.get(col)
        if value is not None and value == value:
            return float(value)
    return None


def _parse_record_prices(data: Any, source: str, currency: str) -> list[Price]:
    try:
        return parse_prices(data, source=source, default_currency=currency)
    except UserError as exc:
        warnings.warn(f"{source}: prices ignored ({exc.one_line()})", InputSkipped, stacklevel=2)
        return []


def _run_entries(run: Any, opts: Options) -> list[Price]:
    """Published < profile < suite < caller: a later entry of the same name wins."""
    entries = list(opts.published_prices)
    if run["profile_prices"]:
        entries += _parse_record_prices(run["profile_prices"], f"profile {run['machine']}", run["currency"])
    if run["suite_prices"]:
        entries += _parse_record_prices(run["suite_prices"], f"suite {run['suite']}", run["currency"])
    return entries + list(opts.prices)


def entries(runs: Any, opts: Options) -> list[Price]:
    entries = _run_entries(runs.iloc[-1], opts)
    seen = {e.name for e in entries if e.kind == "api"}
    for name in opts.api_models:
        if name not in seen:
            price = find_api_price(name, entries)
            if price is None:
                raise UserError(f"no price known for API model `{name}`", field="api_models",
                                hint="use a genai-prices name such as gpt-4o-mini, or give it in prices.api")
            entries.append(price)
    return entries


def _latest_by_name(entries: list[Price], kind: str) -> list[Price]:
    chosen: dict[str, Price] = {}
    for e in entries:
        if e.kind == kind:
            chosen.pop(e.name, None)
            chosen[e.name] = e
    return list(chosen.values())


def _base(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("group_id", "label", "machine", "workload")}


def _currency_note(row: dict[str, Any], price: Price) -> str | None:
    if price.currency != row["currency"]:
        return f"price in {price.currency}, costs in {row['currency']}: not compared"
    return None


def api_rows(row: dict[str, Any], entries: list[Price], opts: Options) -> list[dict[str, Any]]:
    if row["kind"] != "llm" or row["output_tok_s"] is None or row["api_cost_per_request"] is not None:
        return []
    out = []
    c, hw, years = finite(row["electricity_per_kwh"]), finite(row["hardware_cost"]), finite(row["amortization_years"])
    for price in _latest_by_name(entries, "api"):
        note = _currency_note(row, price)
        volume = None
        if note is None:
            volume, note = f.breakeven(hw, years, row["idle_w"], c, row["system_w"], row["output_tok_s"], price.value)
        out.append({**_base(row), "api": price.name, "price_source": price.source, "currency": price.currency,
                    "api_per_mtok": price.value, "api_input_per_mtok": price.input_per_mtok,
                    "marginal_per_mtok": row["incremental_electricity_per_mtok"],
                    "monthly_fixed": f.monthly_fixed_cost(hw, years, row["idle_w"], c),
                    "capacity_mtok_per_month": f.capacity_mtok_per_month(row["output_tok_s"]),
                    "breakeven_mtok_per_month": volume, "note": note,
                    "provenance": derived(speed_label(row), row["system_provenance"], row["idle_provenance"])})
    return out


def cloud_rows(row: dict[str, Any], entries: list[Price]) -> list[dict[str, Any]]:
    if row["system_w"] is None or row["hardware_cost"] is None or row["cloud_hourly"] is not None:
        return []
    out = []
    h = row["hours_per_day"]
    for price in _latest_by_name(entries, "cloud_hourly"):
        note = _currency_note(row, price)
        months = None
        if note is None:
            months = f.payback_months(finite(row["hardware_cost"]), price.value, h, row["system_w"], row["idle_w"],
                                      finite(row["electricity_per_kwh"]))
            if months is None:
                note = "give hours_per_day (or a utilization)" if h is None else (
                    "idle power unknown" if row["idle_w"] is None else "electricity price unknown"
                    if row["electricity_per_kwh"] is None else
                    "local electricity costs more than the cloud saves: never")
        out.append({**_base(row), "instance": price.name, "price_source": price.source,
                    "currency": price.currency, "cloud_hourly": price.value, "hours_per_day": h,
                    "payback_months": months, "note": note,
                    "provenance": derived(row["system_provenance"], row["idle_provenance"])})
    return out


def tts_rows(row: dict[str, Any], entries: list[Price]) -> list[dict[str, Any]]:
    if row["kind"] != "tts":
        return []
    out = []
    for price in _latest_by_name(entries, "tts_per_million_chars"):
        note = _currency_note(row, price)
        cloud = f.cloud_tts_per_audio_hour(price.value, row["chars_per_audio_s"]) if note is None else None
        local = row["cost_per_audio_hour"]
        if note is None and cloud is None:
            note = "characters or audio length not recorded"
        out.append({**_base(row), "service": price.name, "price_source": price.source, "currency": price.currency,
                    "per_million_chars": price.value, "chars_per_audio_s": row["chars_per_audio_s"],
                    "cloud_per_audio_hour": cloud, "local_per_audio_hour": local,
                    "cloud_vs_local": cloud / local if cloud is not None and local else None, "note": note,
                    "provenance": derived(speed_label(row), row["system_provenance"])})
    return out
