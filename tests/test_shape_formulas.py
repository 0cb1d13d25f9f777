"""The shape formulas against values worked out by hand (the arithmetic is in the comments), independent of the
code's helpers: a request's seconds and energy, money at a volume, an API's price for the shape, break-even,
payback at a volume and time-of-use prices."""

from __future__ import annotations

import pytest

from benchbench.analysis import formulas as f

# The machine of the examples: H = 2400, Y = 2 (100 a month), idle 50 W, 0.30 per kWh (idle month 10.95).
H, Y, I, C = 2400.0, 2.0, 50.0, 0.30  # noqa: E741
# A single-stream point: 10 s window, 2000 J (200 W), one request of 1000 input and 101 output tokens, prefill
# 1.0 s, decode 8.0 s (100 steps), rest 1.0 s → 0.001 s and 0.2 J per input token, 0.08 s and 16 J per step, rest
# 1.0 s and 200 J per request.
T_IN, E_IN, T_STEP, E_STEP, T_REST, E_REST = 0.001, 0.2, 0.08, 16.0, 1.0, 200.0
# The shape: 2000 input tokens, half cached (1000 prefilled), 201 output (200 decode steps).


def test_request_seconds_and_energy():
    # 1000 · 0.001 + 200 · 0.08 + 1.0 = 1 + 16 + 1 = 18 s; 1000 · 0.2 + 200 · 16 + 200 = 3600 J (1 Wh)
    assert f.request_seconds(1000, T_IN, 200, T_STEP, T_REST) == pytest.approx(18.0)
    assert f.request_energy_j(1000, E_IN, 200, E_STEP, E_REST) == pytest.approx(3600.0)
    # nothing to prefill needs no prefill rate; something to prefill without one cannot be timed
    assert f.request_seconds(0, None, 200, T_STEP) == pytest.approx(16.0)
    assert f.request_seconds(10, None, 200, T_STEP) is None
    assert f.request_energy_j(10, None, 200, E_STEP) is None


def test_electricity_marginal_capacity():
    assert f.energy_cost(3600.0, C) == pytest.approx(0.0003)          # 0.001 kWh · 0.30
    # (3600 − 50 · 18) J = 2700 J = 0.00075 kWh → 0.000225
    assert f.marginal_per_request(3600.0, 18.0, I, C) == pytest.approx(0.000225)
    assert f.capacity_requests_per_month(18.0) == pytest.approx(146_000.0)         # 730 · 3600 / 18
    assert f.capacity_requests_per_month(18.0, 173.8) == pytest.approx(34_760.0)    # work hours only: 173.8 h
    assert f.capacity_requests_per_month(0) is None


def test_cost_per_request_at_a_volume_and_at_full_use():
    fixed = 100.0 + 10.95                       # 2400 / 24 + 0.05 kW · 730 h · 0.30
    assert f.monthly_fixed_cost(H, Y, I, C) == pytest.approx(fixed)
    # 10,000 a month: (110.95 + 10,000 · 0.000225) / 10,000 = 113.20 / 10,000
    assert f.cost_per_request_at_volume(fixed, 0.000225, 10_000) == pytest.approx(0.011320)
    # full use, 146,000 a month: (110.95 + 32.85) / 146,000 = 0.000984932 — which is the all-in hourly cost
    # (100/730 + 0.2 kW · 0.30 = 0.196986 a hour) × 18 s / 3600 s
    full = f.cost_per_request_at_volume(fixed, 0.000225, 146_000)
    assert full == pytest.approx(0.000984932, rel=1e-6)
    assert full == pytest.approx((100 / 730 + 0.2 * 0.30) * 18 / 3600, rel=1e-9)
    assert f.cost_per_request_at_volume(fixed, 0.000225, 0) is None


def test_api_cost_of_the_shape():
    # gpt-4.1-mini's prices (0.40 in, 0.10 cached, 1.60 out per M): (1000 · 0.40 + 1000 · 0.10 + 201 · 1.60) / 1e6
    assert f.api_request_cost(2000, 1000, 201, 0.40, 0.10, 1.60) == pytest.approx(0.0008216)
    # no cached price: cached tokens billed as input: (2000 · 0.40 + 201 · 1.60) / 1e6
    assert f.api_request_cost(2000, 1000, 201, 0.40, None, 1.60) == pytest.approx(0.0011216)
    # reasoning tokens are output: 201 + 300 = 501 billed at 1.60
    assert f.api_request_cost(2000, 1000, 501, 0.40, 0.10, 1.60) == pytest.approx(0.0013016)
    assert f.api_request_cost(2000, 0, 201, None, None, 1.60) is None         # input not priced: not invented
    assert f.api_request_cost(0, 0, 201, None, None, 1.60) == pytest.approx(0.0003216)


def test_breakeven_in_requests_and_tokens():
    # gpt-4.1 (2.00, 0.50, 8.00): (2000 + 500 + 1608) / 1e6 = 0.004108 per request
    api = f.api_request_cost(2000, 1000, 201, 2.00, 0.50, 8.00)
    assert api == pytest.approx(0.004108)
    # 110.95 / (0.004108 − 0.000225) = 110.95 / 0.003883 = 28,573.3 requests; × 2201 tokens = 62.89 M tokens
    volume = f.breakeven_requests_per_month(110.95, api, 0.000225)
    assert volume == pytest.approx(28_573.27, rel=1e-5)
    assert volume * 2201 == pytest.approx(62.89e6, rel=1e-4)
    assert f.breakeven_requests_per_month(110.95, 0.0002, 0.000225) is None    # API below the marginal: never


def test_payback_against_a_cloud_instance_at_the_volume():
    # 28,573.3 requests · 18 s = 142.87 h of a 1.20/h instance = 171.44 a month; the machine costs 10.95 idle +
    # 28,573.3 · 0.000225 = 6.429 → saves 154.06 a month; 2400 / 154.06 = 15.58 months
    volume = 110.95 / 0.003883
    hours = volume * 18 / 3600
    assert hours == pytest.approx(142.866, rel=1e-4)
    months = f.payback_months_at_volume(H, 1.20, hours, 10.95, volume * 0.000225)
    assert months == pytest.approx(15.578, rel=1e-3)
    assert f.payback_months_at_volume(H, 0.01, hours, 10.95, volume * 0.000225) is None     # never pays back


def test_payback_at_volume_is_the_contract_payback_for_hours_a_day():
    # 4 h a day at P = 500 W, I = 340 W, c = 0.157, K = 3.91: the contract's formula, and the same through a
    # volume: 4 h/day · 365/12 days of 18 s requests, each 500 W · 18 s
    d = 365 / 12
    volume = 4 * d * 3600 / 18
    marginal = f.marginal_per_request(500 * 18, 18, 340, 0.157)
    at_volume = f.payback_months_at_volume(2500, 3.91, volume * 18 / 3600, f.idle_cost_per_month(340, 0.157),
                                           volume * marginal)
    # by hand: 3.91 · 4 · 30.4167 = 475.72; (500 · 4 + 340 · 20) / 1000 · 30.4167 · 0.157 = 42.02 → 2500 / 433.70
    assert at_volume == pytest.approx(2500 / (475.716667 - 42.023), rel=1e-4)
    assert at_volume == pytest.approx(f.payback_months(2500, 3.91, 4, 500, 340, 0.157), rel=1e-12)


def test_time_of_use_prices():
    # weekdays 7-23 at 0.32 and 23-7 at 0.12 (16 h + 8 h); weekends 0.20 all day
    week = ([0.12] * 7 + [0.32] * 16 + [0.12]) * 5 + [0.20] * 48
    # the week's mean: (5 · (16 · 0.32 + 8 · 0.12) + 48 · 0.20) / 168 = (5 · 6.08 + 9.6) / 168 = 40.0 / 168
    assert f.weighted_mean(week, [1.0] * 168) == pytest.approx(0.238095, abs=1e-6)
    # work 9-17 on weekdays, all at 0.32
    work = ([0.0] * 9 + [1.0] * 8 + [0.0] * 7) * 5 + [0.0] * 48
    assert f.weighted_mean(week, work) == pytest.approx(0.32)
    # work 20-24 every day: weekdays 20-23 at 0.32 (3 h) and 23-24 at 0.12 (1 h), weekends 4 h at 0.20
    late = ([0.0] * 20 + [1.0] * 4) * 7
    assert f.weighted_mean(week, late) == pytest.approx((5 * (3 * 0.32 + 0.12) + 2 * 4 * 0.20) / 28)
    assert f.weighted_mean(week, [0.0] * 168) is None


def test_currency_conversion_at_a_declared_rate():
    assert f.convert(0.60, 0.92) == pytest.approx(0.552)      # 0.60 USD at 1 USD = 0.92 EUR
    assert f.convert(None, 0.92) is None and f.convert(0.6, None) is None


def test_zero_input_shape_is_todays_per_token_economics():
    # whole window (no phase times): r = 40 tok/s, P = 300 W, I = 100 W, c = 0.20, H = 3000, Y = 3. A request of
    # 0 input and 256 output tokens takes 256 / 40 = 6.4 s and 1920 J: 7.5 J a token, today's j_per_token.
    t = f.request_seconds(0, None, 256, 1 / 40)
    e = f.request_energy_j(0, None, 256, 300 / 40)
    assert (t, e / 256) == pytest.approx((6.4, f.j_per_token(300, 40)))
    # electricity per million output tokens: today's electricity_per_mtok (0.41667)
    assert f.energy_cost(e, 0.20) / 256 * 1e6 == pytest.approx(f.electricity_per_mtok(300, 40, 0.20))
    # at full use the all-in per request, per million tokens, is today's all_in_per_mtok at u = 1 (1.209411) ...
    fixed = f.monthly_fixed_cost(3000, 3, 100, 0.20)
    marginal = f.marginal_per_request(e, t, 100, 0.20)
    cap = f.capacity_requests_per_month(t)
    per_mtok = f.cost_per_request_at_volume(fixed, marginal, cap) / 256 * 1e6
    assert per_mtok == pytest.approx(f.all_in_per_mtok(3000, 3, 300, 100, 0.20, 40, 1.0))
    # ... and at utilization 0.5 (half the capacity) all_in_per_mtok at u = 0.5 (2.141045)
    assert f.cost_per_request_at_volume(fixed, marginal, cap / 2) / 256 * 1e6 == pytest.approx(
        f.all_in_per_mtok(3000, 3, 300, 100, 0.20, 40, 0.5))
    # break-even against 2.00 per M output: today's break-even in tokens (97.93 / (2 − 0.27778) = 56.86 M) is the
    # shape's break-even in requests × 256; against 1.00 both exceed the capacity (135.6 M > 105.1 M a month)
    api = f.api_request_cost(0, 0, 256, None, None, 2.00)
    volume = f.breakeven_requests_per_month(fixed, api, marginal)
    assert volume * 256 / 1e6 == pytest.approx(f.breakeven_mtok_per_month(3000, 3, 100, 0.20, 300, 40, 2.00))
    assert volume * 256 / 1e6 == pytest.approx(56.863, rel=1e-4)
    over = f.breakeven_requests_per_month(fixed, f.api_request_cost(0, 0, 256, None, None, 1.00), marginal)
    assert over > cap and f.breakeven_mtok_per_month(3000, 3, 100, 0.20, 300, 40, 1.00) is None
