"""A request shape priced on one measured point: machine seconds and energy per request, then money.

From a point (phases.py) come its rates: seconds and joules per prefilled input token, per decode step (each
generated token after the first: the prefill pass yields the first), and per request for the rest of the window.

- `measured separately` (llama-bench): each phase's own speed and energy per token;
- phase times known: the window W is split into prefill, decode and the rest. One request at a time, prefill and
  decode are the summed phase times and the rest is what W has left (HTTP, template, scheduling); with requests
  overlapping, W is apportioned by the requests' phase seconds and there is no rest. Energy follows time at the
  window's mean power P = E ÷ W ("apportioned by time");
- whole window only: P and the output throughput r; every generated token costs 1/r seconds (the prefill of the
  measured prompt included, as in today's per-token figures); input is not priced (a shape with input to prefill
  has no local cost there, said so).

A shape's request then takes `T = n_prefill · t_in + n_steps · t_step + t_rest` seconds and `E` joules
(formulas.request_seconds / request_energy_j); money per request follows at a monthly volume V
(formulas.cost_per_request_at_volume). Everything here is arithmetic on the point; money is formulas.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..shapes import Shape
from . import formulas as f
from .phases import BASIS_SEPARATE, Point, separate_mean

WHOLE = "whole window (no phase times)"


@dataclass
class Rates:
    """Machine seconds and system joules per unit of work at one point."""

    s_per_prefill_token: float | None
    j_per_prefill_token: float | None
    s_per_decode_step: float | None
    j_per_decode_step: float | None
    other_s: float = 0.0
    other_j: float = 0.0
    first_in_prefill: bool = True      # False (whole window): every generated token is a decode token
    basis: str = WHOLE
    label: str = "whole"               # measured (apart) | apportioned (by time) | whole

    def steps(self, shape: Shape) -> float:
        gen = shape.generated_tokens
        return max(gen - 1.0, 0.0) if self.first_in_prefill else gen

    def seconds(self, shape: Shape) -> float | None:
        return f.request_seconds(shape.prefill_tokens, self.s_per_prefill_token, self.steps(shape),
                                 self.s_per_decode_step, self.other_s)

    def energy_j(self, shape: Shape) -> float | None:
        return f.request_energy_j(shape.prefill_tokens, self.j_per_prefill_token, self.steps(shape),
                                  self.j_per_decode_step, self.other_j)

    def prefill_s(self, shape: Shape) -> float:
        return shape.prefill_tokens * (self.s_per_prefill_token or 0.0)


def rates(p: Point, rate_tok_s: float | None = None, power_w: float | None = None) -> Rates | None:
    """The rates of a point; for points without sums (published figures) from a throughput and a power."""
    if p.phase_basis == BASIS_SEPARATE:
        pp, tg = separate_mean(p, "pp_tok_s"), separate_mean(p, "tg_tok_s")
        return Rates(1 / pp if pp else None, separate_mean(p, "prefill_j_per_token"), 1 / tg if tg else None,
                     separate_mean(p, "decode_j_per_token"), basis=BASIS_SEPARATE, label="measured")
    power = p.power_w if p.power_w is not None else power_w   # None: times only (a cloud instance's speed)
    joules = (lambda seconds: seconds * power if seconds is not None and power is not None else None)  # noqa: E731
    split = _split(p)
    if split is None:
        rate = (p.output_tokens / p.window_s) if p.output_tokens and p.window_s > 0 else rate_tok_s
        if not rate:
            return None
        return Rates(None, None, 1 / rate, joules(1 / rate), first_in_prefill=False)
    prefill_s, decode_s, other_s = split
    prefill_tokens = (p.input_tokens or 0.0) - p.cached_tokens
    steps = (p.output_tokens or 0.0) - p.requests
    if steps <= 0 or p.requests <= 0:
        return None
    if prefill_tokens <= 0:              # nothing prefilled (all cached): its time stays in the rest
        prefill_tokens, other_s = 0.0, other_s + prefill_s
    t_in = prefill_s / prefill_tokens if prefill_tokens else None
    t_step, t_other = decode_s / steps, other_s / p.requests
    return Rates(t_in, joules(t_in), t_step, joules(t_step), t_other, joules(t_other) or 0.0,
                 basis=f"{p.phase_basis}", label="apportioned")


def _split(p: Point) -> tuple[float, float, float] | None:
    """(prefill, decode, rest) machine seconds of the point's windows, or None without phase times."""
    pre, dec, window = p.prefill_req_s, p.decode_req_s, p.window_s
    if pre is None or dec is None or p.output_tokens is None or p.input_tokens is None or pre + dec <= 0 \
            or window <= 0:
        return None
    if p.sequential and pre + dec <= window:
        return pre, dec, window - pre - dec
    return window * pre / (pre + dec), window * dec / (pre + dec), 0.0


@dataclass
class Machine:
    """The money side of a machine: hardware, idle power and electricity (load price over the work hours, the
    week's mean for idle), and the hours a month the work may run."""

    hardware_cost: float | None
    years: float | None
    idle_w: float | None
    price_work: float | None
    price_week: float | None
    work_hours_month: float = f.HOURS_PER_MONTH

    @property
    def idle_month(self) -> float | None:
        return f.idle_cost_per_month(self.idle_w, self.price_week)

    @property
    def fixed_month(self) -> float | None:
        amort = f.amortization_per_month(self.hardware_cost, self.years)
        return amort + self.idle_month if amort is not None and self.idle_month is not None else None


def local_figures(r: Rates, shape: Shape, m: Machine, volume: float | None) -> dict[str, Any]:
    """One request of `shape` at this point: seconds, joules, electricity and marginal cost, capacity, and the
    all-in cost per request at `volume` requests a month (None: at full use of the work hours)."""
    t, e = r.seconds(shape), r.energy_j(shape)
    cap = f.capacity_requests_per_month(t, m.work_hours_month)
    out: dict[str, Any] = {"request_s": t, "request_j": e, "capacity_requests_per_month": cap,
                           "electricity_per_request": f.energy_cost(e, m.price_work)}
    full = volume is None
    v = cap if full else volume
    idle = m.idle_w if m.idle_w is not None or not full else 0.0   # at full use the idle terms cancel
    marginal = f.marginal_per_request(e, t, idle, m.price_work)
    fixed = f.amortization_per_month(m.hardware_cost, m.years)
    fixed = fixed + f.idle_cost_per_month(idle, m.price_week) if fixed is not None and idle is not None and \
        m.price_week is not None else None
    per_request = f.cost_per_request_at_volume(fixed, marginal, v) if v is None or cap is None or v <= cap * 1.000001 \
        else None
    out.update(marginal_per_request=marginal, monthly_fixed=fixed, volume_requests_per_month=v,
               at_full_use=full, local_per_request=per_request,
               local_per_1k_requests=per_request * 1000 if per_request is not None else None,
               local_per_mtok=per_request / shape.tokens * f.TOKENS_PER_MTOK if per_request is not None and shape.tokens
               else None)
    out.update(_by_phase(r, shape, t, per_request, m))
    return out


def _by_phase(r: Rates, shape: Shape, t: float | None, per_request: float | None, m: Machine) -> dict[str, Any]:
    """Per million prefilled input and per million generated tokens: electricity at load (from the phase's energy
    per token) and the all-in cost split by machine time (the rest shared in proportion)."""
    mtok = f.TOKENS_PER_MTOK
    out = {"prefill_j_per_token": r.j_per_prefill_token, "decode_j_per_token": r.j_per_decode_step,
           "electricity_input_per_mtok": f.energy_cost(r.j_per_prefill_token * mtok, m.price_work)
           if r.j_per_prefill_token is not None else None,
           "electricity_output_per_mtok": f.energy_cost(r.j_per_decode_step * mtok, m.price_work)
           if r.j_per_decode_step is not None else None,
           "local_input_per_mtok": None, "local_output_per_mtok": None}
    if per_request is None or not t:
        return out
    share_in = r.prefill_s(shape) / (t - r.other_s) if t > r.other_s else 0.0
    if shape.prefill_tokens:
        out["local_input_per_mtok"] = per_request * share_in / shape.prefill_tokens * mtok
    if shape.generated_tokens:
        out["local_output_per_mtok"] = per_request * (1 - share_in) / shape.generated_tokens * mtok
    return out
