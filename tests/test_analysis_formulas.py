"""Every cost formula against values worked out by hand, including the edge cases."""

from __future__ import annotations

import pytest

from benchbench.analysis import formulas as f
from benchbench.analysis.costs import COST_KEYS, CostInputs, cost_figures

# The machine of most cases: r = 40 tok/s, P = 300 W, I = 100 W, c = 0.20/kWh, H = 3000, Y = 3.
R, P, I, C, H, Y = 40.0, 300.0, 100.0, 0.20, 3000.0, 3.0  # noqa: E741


def test_energy_and_efficiency():
    assert f.j_per_token(P, R) == 7.5                        # 300 / 40
    assert f.tok_s_per_w(R, P) == pytest.approx(0.133333333)  # 40 / 300
    assert f.tok_s_per_w(47.5, 278) == pytest.approx(0.170863, abs=1e-6)
    assert f.j_per_audio_s(50, 2.5) == 125.0
    assert f.j_per_clip(500, 1110) == 555_000.0


def test_electricity_per_million_tokens():
    # 1e6 / 40 = 25,000 s; × 300 W = 7.5e6 J = 2.0833 kWh; × 0.20 = 0.41667
    assert f.electricity_per_mtok(P, R, C) == pytest.approx(0.416667, abs=1e-6)
    # the same above idle: 200 W → 1.3889 kWh → 0.27778
    assert f.incremental_electricity_per_mtok(P, I, R, C) == pytest.approx(0.277778, abs=1e-6)


def test_amortization():
    assert f.amortization_per_hour(H, Y) == pytest.approx(3000 / 26280)            # 0.114155
    # 0.114155 per hour; 1e6 tokens take 25,000 s = 6.9444 h → 0.79274
    assert f.amortization_per_mtok(H, Y, R) == pytest.approx(0.792745, abs=1e-6)
    assert f.amortization_per_hour(2500, 2) == pytest.approx(0.142694, abs=1e-6)


def test_all_in_at_half_utilization():
    # [0.114155 + 0.5·0.3·0.2 + 0.5·0.1·0.2] / (0.5 · 40 · 3600 / 1e6) = 0.154155 / 0.072
    assert f.all_in_per_mtok(H, Y, P, I, C, R, 0.5) == pytest.approx(2.141045, abs=1e-6)


def test_all_in_at_full_utilization_needs_no_idle_power():
    # (0.114155 + 0.06) / 0.144 = 1.209411
    assert f.all_in_per_mtok(H, Y, P, None, C, R, 1.0) == pytest.approx(1.209411, abs=1e-6)
    assert f.all_in_per_mtok(H, Y, P, I, C, R, 1.0) == f.all_in_per_mtok(H, Y, P, None, C, R, 1.0)
    assert f.all_in_per_mtok(H, Y, P, None, C, R, 0.5) is None   # idle matters below full use


def test_all_in_near_zero_utilization_is_dominated_by_idle_and_hardware():
    u = 1e-6
    expected = (3000 / 26280 + u * 0.06 + (1 - u) * 0.02) / (u * 40 * 3600 / 1e6)
    assert f.all_in_per_mtok(H, Y, P, I, C, R, u) == pytest.approx(expected)
    assert expected > 900_000


@pytest.mark.parametrize("u", [0, -0.1, 1.01])
def test_utilization_outside_the_unit_interval_is_refused(u):
    with pytest.raises(ValueError, match=r"utilization must be in \(0, 1\]"):
        f.all_in_per_mtok(H, Y, P, I, C, R, u)


def test_idle_costs():
    assert f.idle_cost_per_month(I, C) == pytest.approx(14.6)       # 0.1 kW · 730 h · 0.20
    assert f.idle_cost_per_year(I, C) == pytest.approx(175.2)       # 0.1 kW · 8760 h · 0.20
    assert f.idle_cost_per_month(0, C) == 0 and f.idle_cost_per_year(0, C) == 0


def test_zero_idle_makes_incremental_equal_to_load_and_fixed_cost_hardware_only():
    assert f.incremental_electricity_per_mtok(P, 0, R, C) == f.electricity_per_mtok(P, R, C)
    assert f.monthly_fixed_cost(H, Y, 0, C) == pytest.approx(3000 / 36)


def test_breakeven_volume():
    # fixed = 1200/(2·12) + 0.02·730·0.2 = 52.92; marginal = 100 W · 10,000 s / 3.6e6 · 0.2 = 0.05556
    volume, why = f.breakeven(1200, 2, 20, C, 120, 100, 0.5)
    assert why is None
    assert volume == pytest.approx(52.92 / (0.5 - 0.2 / 3.6), rel=1e-12)   # 119.07 M tokens a month
    assert volume == pytest.approx(119.07, abs=0.01)
    assert f.capacity_mtok_per_month(100) == pytest.approx(262.8)


def test_breakeven_none_when_api_is_cheaper_than_the_marginal_cost():
    marginal = f.incremental_electricity_per_mtok(P, I, R, C)   # 0.2778
    for api in (0.05, marginal):
        volume, why = f.breakeven(H, Y, I, C, P, R, api)
        assert volume is None and "marginal" in why


def test_breakeven_none_beyond_what_the_machine_can_generate():
    # 97.93 / (1.0 − 0.2778) = 135.6 M tokens a month > 40 · 3600 · 730 / 1e6 = 105.12
    volume, why = f.breakeven(H, Y, I, C, P, R, 1.0)
    assert volume is None and "beyond" in why
    assert f.breakeven_mtok_per_month(H, Y, I, C, P, R, 2.0) == pytest.approx(97.9333 / (2 - 0.277778), rel=1e-5)


def test_payback_months():
    # cloud 1.0 · 8 · 30.4167 = 243.33; power (300·8 + 100·16)/1000 · 30.4167 · 0.2 = 24.33 → 3000 / 219
    assert f.payback_months(H, 1.0, 8, P, I, C) == pytest.approx(3000 / 219.0)
    assert f.payback_months(2500, 3.91, 4, 800, 0, 0) == pytest.approx(2500 / (3.91 * 4 * 365 / 12))


def test_payback_never_reached():
    # the cloud costs 0.10 · 2 · 30.4 = 6.08 a month; electricity alone costs more
    assert f.payback_months(H, 0.10, 2, P, I, C) is None
    assert f.payback_months(H, 0.0, 8, P, I, 0.0) is None   # denominator exactly 0
    with pytest.raises(ValueError):
        f.payback_months(H, 1.0, 25, P, I, C)


def test_tts_and_video():
    assert f.cost_per_audio_hour(50, 2.5, 0.12) == pytest.approx(0.015)       # 50 W · 2.5 h · 0.12
    assert f.cloud_tts_per_audio_hour(16, 12.5) == pytest.approx(0.72)        # 12.5 · 3600 = 45k chars
    assert f.cost_per_1k_chars(100, 60, 1000, 0.2) == pytest.approx(6000 / 3.6e6 * 0.2)
    assert f.cost_per_clip(500, 18.5 * 60, 0.157) == pytest.approx(0.0242, abs=1e-4)
    assert f.cost_per_video_s(500, 1110, 10, 0.157) == pytest.approx(0.00242, abs=1e-5)


def test_roofline():
    assert f.roofline_tok_s(400, 4e9) == 100.0
    assert f.roofline_pct(41, 100.0) == pytest.approx(41.0)
    assert f.roofline_tok_s(None, 4e9) is None and f.roofline_pct(41, None) is None


def test_missing_inputs_give_none_never_a_number():
    assert f.electricity_per_mtok(None, R, C) is None
    assert f.electricity_per_mtok(P, 0, C) is None
    assert f.j_per_token(P, None) is None
    assert f.incremental_electricity_per_mtok(P, None, R, C) is None
    assert f.amortization_per_hour(H, None) is None
    assert f.payback_months(H, 1.0, None, P, I, C) is None


def test_cost_figures_has_exactly_the_cli_keys():
    out = cost_figures(CostInputs(tok_s=R, load_w=P, gpu_w=200, idle_w=I, price_kwh=C, hardware_cost=H,
                                  years=Y, utilization=0.5, api_per_mtok=2.0, cloud_hourly=1.0, rtf=2.5))
    assert tuple(out) == COST_KEYS
    assert out["all_in_per_mtok"] == pytest.approx(2.141045, abs=1e-6)
    assert out["payback_months"] == pytest.approx(f.payback_months(H, 1.0, 12, P, I, C))   # h = 24 · u
    assert out["tok_s_per_gpu_w"] == pytest.approx(0.2)
    assert out["cost_per_audio_hour"] == pytest.approx(300 * 2.5 / 1000 * 0.2)
    empty = cost_figures(CostInputs())
    assert [k for k, v in empty.items() if v is not None] == ["currency"]
