"""The cost formulas of the design contract ("Cost formulas" in DESIGN.md): the single source of truth.

Pure functions of plain numbers. Symbols: decode speed `r` tok/s, system power under load `P` W,
GPU power `P_gpu` W, idle power `I` W, electricity price `c` per kWh, hardware cost `H`, amortization
`Y` years, utilization `u` (0 < u ≤ 1), API price `A` per million tokens, cloud price `K` per hour
used `h` hours a day. A function returns None when an input it needs is None (or a rate is not
positive): a figure that cannot be computed is left out, never invented.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = 365.0 / 12.0
J_PER_KWH = 3.6e6
TOKENS_PER_MTOK = 1e6


def _known(*values: float | None) -> bool:
    return all(v is not None for v in values)


def _rate_ok(r: float | None) -> bool:
    return r is not None and r > 0


def check_utilization(u: float) -> float:
    """u must be in (0, 1]; ValueError otherwise."""
    if not 0 < u <= 1:
        raise ValueError(f"utilization must be in (0, 1], found {u!r}")
    return float(u)


# --- energy and efficiency -------------------------------------------------------------------

def j_per_token(p_w: float | None, tok_s: float | None) -> float | None:
    """Energy per token `P / r` (J)."""
    return p_w / tok_s if p_w is not None and _rate_ok(tok_s) else None


def tok_s_per_w(tok_s: float | None, p_w: float | None) -> float | None:
    """Tokens per second per watt `r / P` (pass GPU power for the published per-GPU-watt figure)."""
    return tok_s / p_w if tok_s is not None and p_w is not None and p_w > 0 else None


def j_per_audio_s(p_w: float | None, rtf: float | None) -> float | None:
    """Energy per second of audio `P · RTF` (J)."""
    return p_w * rtf if _known(p_w, rtf) else None


def j_per_clip(p_w: float | None, gen_s: float | None) -> float | None:
    """Energy per generated clip `P · gen_s` (J)."""
    return p_w * gen_s if _known(p_w, gen_s) else None


# --- electricity ------------------------------------------------------------------------------

def electricity_per_mtok(p_w: float | None, tok_s: float | None, price_kwh: float | None) -> float | None:
    """Electricity per million tokens at load: `P · (1e6 / r) / 3.6e6 · c`."""
    if not (_known(p_w, price_kwh) and _rate_ok(tok_s)):
        return None
    return p_w * (TOKENS_PER_MTOK / tok_s) / J_PER_KWH * price_kwh


def incremental_electricity_per_mtok(p_w: float | None, idle_w: float | None, tok_s: float | None,
                                     price_kwh: float | None) -> float | None:
    """Electricity per million tokens above idle: the same with `P − I` (negative if P < I)."""
    if not _known(p_w, idle_w):
        return None
    return electricity_per_mtok(p_w - idle_w, tok_s, price_kwh)


def idle_cost_per_month(idle_w: float | None, price_kwh: float | None) -> float | None:
    """`I/1000 · 730 · c`."""
    return idle_w / 1000 * HOURS_PER_MONTH * price_kwh if _known(idle_w, price_kwh) else None


def idle_cost_per_year(idle_w: float | None, price_kwh: float | None) -> float | None:
    """`I/1000 · 8760 · c`."""
    return idle_w / 1000 * HOURS_PER_YEAR * price_kwh if _known(idle_w, price_kwh) else None


# --- hardware ---------------------------------------------------------------------------------

def amortization_per_hour(hardware_cost: float | None, years: float | None) -> float | None:
    """`H / (Y · 8760)`."""
    if not _known(hardware_cost, years) or years <= 0:
        return None
    return hardware_cost / (years * HOURS_PER_YEAR)


def amortization_per_mtok(hardware_cost: float | None, years: float | None,
                          tok_s: float | None) -> float | None:
    """Amortization per million tokens at full use: `H/(Y·8760) · 1e6 / r / 3600`."""
    per_hour = amortization_per_hour(hardware_cost, years)
    if per_hour is None or not _rate_ok(tok_s):
        return None
    return per_hour * TOKENS_PER_MTOK / tok_s / 3600


def all_in_per_mtok(hardware_cost: float | None, years: float | None, p_w: float | None,
                    idle_w: float | None, price_kwh: float | None, tok_s: float | None,
                    utilization: float = 1.0) -> float | None:
    """`[H/(Y·8760) + u·P/1000·c + (1−u)·I/1000·c] / (u · r · 3600 / 1e6)`.

    Idle power may be unknown at u = 1 (its term is zero there)."""
    u = check_utilization(utilization)
    per_hour = amortization_per_hour(hardware_cost, years)
    if per_hour is None or not (_known(p_w, price_kwh) and _rate_ok(tok_s)):
        return None
    if idle_w is None and u < 1:
        return None
    idle_term = (1 - u) * idle_w / 1000 * price_kwh if u < 1 else 0.0
    hourly = per_hour + u * p_w / 1000 * price_kwh + idle_term
    return hourly / (u * tok_s * 3600 / TOKENS_PER_MTOK)


# --- against APIs and clouds --------------------------------------------------------------------

def monthly_fixed_cost(hardware_cost: float | None, years: float | None, idle_w: float | None,
                       price_kwh: float | None) -> float | None:
    """`H/(Y·12) + I/1000·730·c`: what the machine costs a month whether it works or not."""
    if not _known(hardware_cost, years, idle_w, price_kwh) or years <= 0:
        return None
    return hardware_cost / (years * 12) + idle_cost_per_month(idle_w, price_kwh)


def capacity_mtok_per_month(tok_s: float | None) -> float | None:
    """What the machine can generate in a month, in millions of tokens: `r · 3600 · 730 / 1e6`."""
    return tok_s * 3600 * HOURS_PER_MONTH / TOKENS_PER_MTOK if _rate_ok(tok_s) else None


def breakeven(hardware_cost: float | None, years: float | None, idle_w: float | None,
              price_kwh: float | None, p_w: float | None, tok_s: float | None,
              api_per_mtok: float | None) -> tuple[float | None, str | None]:
    """Break-even monthly volume (millions of tokens) against an API and, when there is none, why.

    `monthly_fixed / (A − marginal)`, marginal = incremental electricity per million tokens; none
    where `A ≤ marginal` or where the volume exceeds what the machine can generate in a month."""
    fixed = monthly_fixed_cost(hardware_cost, years, idle_w, price_kwh)
    marginal = incremental_electricity_per_mtok(p_w, idle_w, tok_s, price_kwh)
    if fixed is None or marginal is None or api_per_mtok is None:
        return None, "inputs missing"
    if api_per_mtok <= marginal:
        return None, "API price at or below the local marginal electricity cost: never"
    volume = fixed / (api_per_mtok - marginal)
    if volume > capacity_mtok_per_month(tok_s):
        return None, "beyond what the machine can generate in a month: never"
    return volume, None


def breakeven_mtok_per_month(*args: Any, **kwargs: Any) -> float | None:
    """The volume of `breakeven` alone (same arguments)."""
    return breakeven(*args, **kwargs)[0]


def payback_months(hardware_cost: float | None, cloud_hourly: float | None,
                   hours_per_day: float | None, p_w: float | None, idle_w: float | None,
                   price_kwh: float | None) -> float | None:
    """`H / (K·h·365/12 − (P·h + I·(24−h))/1000 · 365/12 · c)` months; None where the
    denominator is ≤ 0 (never pays back)."""
    if not _known(hardware_cost, cloud_hourly, hours_per_day, p_w, idle_w, price_kwh):
        return None
    if not 0 <= hours_per_day <= 24:
        raise ValueError(f"hours per day must be in [0, 24], found {hours_per_day!r}")
    cloud = cloud_hourly * hours_per_day * DAYS_PER_MONTH
    power = (p_w * hours_per_day + idle_w * (24 - hours_per_day)) / 1000 * DAYS_PER_MONTH * price_kwh
    saving = cloud - power
    return hardware_cost / saving if saving > 0 else None


def cloud_per_mtok(cloud_hourly: float | None, tok_s: float | None) -> float | None:
    """A cloud instance's price per million tokens while generating: `K / (r · 3600 / 1e6)`."""
    if cloud_hourly is None or not _rate_ok(tok_s):
        return None
    return cloud_hourly / (tok_s * 3600 / TOKENS_PER_MTOK)


# --- TTS and video ------------------------------------------------------------------------------

def cost_per_audio_hour(p_w: float | None, rtf: float | None, price_kwh: float | None) -> float | None:
    """`P · RTF · 3600 / 3.6e6 · c`."""
    return p_w * rtf * 3600 / J_PER_KWH * price_kwh if _known(p_w, rtf, price_kwh) else None


def cost_per_1k_chars(p_w: float | None, gen_s: float | None, chars: float | None,
                      price_kwh: float | None) -> float | None:
    """Electricity per 1,000 characters of text: `P · gen_s / 3.6e6 · c / chars · 1000`."""
    if not _known(p_w, gen_s, chars, price_kwh) or chars <= 0:
        return None
    return p_w * gen_s / J_PER_KWH * price_kwh / chars * 1000


def cloud_tts_per_audio_hour(per_million_chars: float | None,
                             chars_per_audio_s: float | None) -> float | None:
    """A cloud TTS price per million characters as a price per audio hour, through the measured
    characters per audio second."""
    if not _known(per_million_chars, chars_per_audio_s):
        return None
    return per_million_chars / 1e6 * chars_per_audio_s * 3600


def cost_per_clip(p_w: float | None, gen_s: float | None, price_kwh: float | None) -> float | None:
    """`P · gen_s / 3.6e6 · c`."""
    return p_w * gen_s / J_PER_KWH * price_kwh if _known(p_w, gen_s, price_kwh) else None


def cost_per_video_s(p_w: float | None, gen_s: float | None, video_s: float | None,
                     price_kwh: float | None) -> float | None:
    """Cost per clip divided by the clip's length in seconds."""
    clip = cost_per_clip(p_w, gen_s, price_kwh)
    return clip / video_s if clip is not None and video_s else None


def request_cost(input_tokens: float | None, output_tokens: float | None, input_per_mtok: float,
                 output_per_mtok: float) -> float:
    """What one API request costs from its token counts and the prices per million tokens."""
    return ((input_tokens or 0) * input_per_mtok + (output_tokens or 0) * output_per_mtok) / TOKENS_PER_MTOK


def api_cost_per_mtok(cost: float | None, output_tokens: float | None) -> float | None:
    """Requests' cost per million output tokens."""
    return cost / output_tokens * TOKENS_PER_MTOK if cost is not None and output_tokens else None


def amortization_per_month(hardware_cost: float | None, years: float | None) -> float | None:
    """`H / (Y · 12)`, the amortization per hour × 730."""
    per_hour = amortization_per_hour(hardware_cost, years)
    return per_hour * HOURS_PER_MONTH if per_hour is not None else None


def wh_per_clip(p_w: float | None, gen_s: float | None) -> float | None:
    """Energy per clip in watt-hours: `P · gen_s / 3600`."""
    j = j_per_clip(p_w, gen_s)
    return j / 3600 if j is not None else None


# --- a request shape (input, cached input, output) -------------------------------------------------------
# Machine time and energy of one request are linear in its tokens: the prefill of the uncached input, one
# decode step per generated token after the first (the prefill pass yields the first), and a per-request rest
# (the window's time outside both phases: HTTP, template, scheduling). Money follows from energy and time.

def request_seconds(prefill_tokens: float, s_per_prefill_token: float | None, decode_steps: float,
                    s_per_decode_step: float | None, other_s: float = 0.0) -> float | None:
    """Machine seconds of one request: `n_prefill · t_in + n_steps · t_step + t_rest`. Without a prefill
    time per token only a request with nothing to prefill can be timed."""
    if s_per_decode_step is None or (prefill_tokens > 0 and s_per_prefill_token is None):
        return None
    return prefill_tokens * (s_per_prefill_token or 0.0) + decode_steps * s_per_decode_step + other_s


def request_energy_j(prefill_tokens: float, j_per_prefill_token: float | None, decode_steps: float,
                     j_per_decode_step: float | None, other_j: float = 0.0) -> float | None:
    """System energy of one request: `n_prefill · e_in + n_steps · e_step + e_rest` (J)."""
    if j_per_decode_step is None or (prefill_tokens > 0 and j_per_prefill_token is None):
        return None
    return prefill_tokens * (j_per_prefill_token or 0.0) + decode_steps * j_per_decode_step + other_j


def marginal_per_request(energy_j: float | None, seconds: float | None, idle_w: float | None,
                         price_kwh: float | None) -> float | None:
    """`(E − I · t) / 3.6e6 · c`: what one request adds to the bill of a machine left on."""
    if not _known(energy_j, seconds, idle_w, price_kwh):
        return None
    return (energy_j - idle_w * seconds) / J_PER_KWH * price_kwh


def capacity_requests_per_month(seconds: float | None, hours_per_month: float = HOURS_PER_MONTH) -> float | None:
    """Requests a month the machine can serve in `hours_per_month` (default all 730): `hours · 3600 / t`."""
    return hours_per_month * 3600 / seconds if seconds is not None and seconds > 0 else None


def cost_per_request_at_volume(monthly_fixed: float | None, marginal_request: float | None,
                               requests_per_month: float | None) -> float | None:
    """`(fixed + V · marginal) / V`: all-in per request when V requests a month share the fixed costs. With
    `V = u · capacity` this is all_in_per_mtok's formula per request."""
    if not _known(monthly_fixed, marginal_request, requests_per_month) or requests_per_month <= 0:
        return None
    return (monthly_fixed + requests_per_month * marginal_request) / requests_per_month


def api_request_cost(input_tokens: float, cached_tokens: float, output_tokens: float, input_per_mtok: float | None,
                     cached_per_mtok: float | None, output_per_mtok: float | None) -> float | None:
    """One API request: `((n_in − n_cached) · A_in + n_cached · A_cached + n_out · A_out) / 1e6`; reasoning
    tokens are part of n_out (billed as output). A missing cached price bills cached tokens as input."""
    if output_per_mtok is None or (input_tokens > 0 and input_per_mtok is None):
        return None
    cached_price = input_per_mtok if cached_per_mtok is None else cached_per_mtok
    return ((input_tokens - cached_tokens) * (input_per_mtok or 0.0) + cached_tokens * (cached_price or 0.0)
            + output_tokens * output_per_mtok) / TOKENS_PER_MTOK


def breakeven_requests_per_month(monthly_fixed: float | None, api_request: float | None,
                                 marginal_request: float | None) -> float | None:
    """`fixed / (API per request − local marginal per request)`; None where the API costs no more than the
    local marginal (never)."""
    if not _known(monthly_fixed, api_request, marginal_request) or api_request <= marginal_request:
        return None
    return monthly_fixed / (api_request - marginal_request)


def payback_months_at_volume(hardware_cost: float | None, cloud_hourly: float | None, cloud_hours: float | None,
                             idle_month: float | None, marginal_month: float | None) -> float | None:
    """`H / (K · cloud hours − (idle a month + V · marginal))`: renting a cloud instance for the hours a month it
    needs to carry the volume, against running the machine (idle around the clock plus what the volume adds). With
    `cloud hours = h · 365/12` at the local machine's speed this is payback_months. None where it never pays."""
    if not _known(hardware_cost, cloud_hourly, cloud_hours, idle_month, marginal_month):
        return None
    saving = cloud_hourly * cloud_hours - (idle_month + marginal_month)
    return hardware_cost / saving if saving > 0 else None


def weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float | None:
    """`Σ v·w / Σ w`: a time-of-use price over the hours weighted (e.g. the 168 hours of a week)."""
    total = sum(weights)
    return sum(v * w for v, w in zip(values, weights, strict=True)) / total if total > 0 else None


def convert(amount: float | None, rate: float | None) -> float | None:
    """An amount in another currency at a declared rate (1 unit of it = `rate` units of ours)."""
    return amount * rate if _known(amount, rate) else None


# --- realized: a recorded period of real use (the usage ledger) ---------------------------------

def energy_cost(joules: float | None, price_kwh: float | None) -> float | None:
    """Electricity of an energy: `E / 3.6e6 · c`."""
    return joules / J_PER_KWH * price_kwh if _known(joules, price_kwh) else None


def amortization_for_hours(hardware_cost: float | None, years: float | None, hours: float | None) -> float | None:
    """The hardware's share of some hours: `H / (Y · 8760) · hours`."""
    per_hour = amortization_per_hour(hardware_cost, years)
    return per_hour * hours if per_hour is not None and hours is not None else None


def realized_total(electricity: float | None, amortization: float | None) -> float | None:
    """Electricity + amortization of a period, whichever are known (None when neither is)."""
    known = [v for v in (electricity, amortization) if v is not None]
    return sum(known) if known else None


def realized_per_mtok(cost: float | None, output_tokens: float | None) -> float | None:
    """A period's cost per million output tokens actually served: `cost / (tokens / 1e6)`."""
    return cost / output_tokens * TOKENS_PER_MTOK if cost is not None and output_tokens else None


def realized_all_in_per_mtok(electricity: float | None, amortization: float | None,
                             output_tokens: float | None) -> float | None:
    """`(electricity + amortization) / (tokens / 1e6)`; None unless both costs are known."""
    if not _known(electricity, amortization):
        return None
    return realized_per_mtok(electricity + amortization, output_tokens)


def summed_cost(costs: Iterable[float | None]) -> float | None:
    """The sum of some costs (e.g. every model's requests at an API); None when one is unknown or none given."""
    costs = list(costs)
    return None if not costs or any(c is None for c in costs) else sum(costs)


# --- roofline ---------------------------------------------------------------------------------

def roofline_tok_s(bandwidth_gbs: float | None, model_bytes: float | None) -> float | None:
    """Decode upper bound: every token reads the weights once, `bandwidth / model bytes`."""
    if not _known(bandwidth_gbs, model_bytes) or model_bytes <= 0:
        return None
    return bandwidth_gbs * 1e9 / model_bytes


def roofline_pct(tok_s: float | None, bound_tok_s: float | None) -> float | None:
    """Measured decode speed as a percentage of the bound."""
    return tok_s / bound_tok_s * 100 if tok_s is not None and bound_tok_s else None

