"""`benchbench cost`: the what-if calculator over the same formulas as the analyzer."""

from __future__ import annotations

import json

import pytest

from benchbench.analysis import formulas as f
from benchbench.analysis.costs import COST_KEYS

KEYS = ["currency", "j_per_token", "tok_s_per_w", "tok_s_per_gpu_w", "electricity_per_mtok",
        "incremental_electricity_per_mtok", "amortization_per_hour", "amortization_per_mtok", "all_in_per_mtok",
        "idle_cost_per_month", "idle_cost_per_year", "breakeven_mtok_per_month", "payback_months",
        "cost_per_audio_hour"]


def run_json(cli, *args):
    code, out, err = cli("cost", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_json_has_exactly_the_contract_keys(cli):
    assert list(COST_KEYS) == KEYS
    data = run_json(cli, "--tok-s", "40")
    assert list(data) == KEYS
    assert data["currency"] == "USD" and all(data[k] is None for k in KEYS[1:])


def test_flags_only(cli):
    data = run_json(cli, "--tok-s", "40", "--load-w", "300", "--gpu-w", "200", "--idle-w", "100",
                    "--price-kwh", "0.2", "--hardware-cost", "3000", "--years", "3", "--utilization", "0.5",
                    "--api-price", "2.0", "--cloud-hourly", "1.0", "--hours-per-day", "8", "--rtf", "2.5",
                    "--currency", "EUR")
    assert data["currency"] == "EUR"
    assert data["j_per_token"] == 7.5
    assert data["tok_s_per_w"] == pytest.approx(40 / 300) and data["tok_s_per_gpu_w"] == pytest.approx(0.2)
    assert data["electricity_per_mtok"] == pytest.approx(0.416667, abs=1e-6)
    assert data["incremental_electricity_per_mtok"] == pytest.approx(0.277778, abs=1e-6)
    assert data["amortization_per_hour"] == pytest.approx(3000 / 26280)
    assert data["amortization_per_mtok"] == pytest.approx(0.792745, abs=1e-6)
    assert data["all_in_per_mtok"] == pytest.approx(2.141045, abs=1e-6)
    assert data["idle_cost_per_month"] == pytest.approx(14.6) and data["idle_cost_per_year"] == pytest.approx(175.2)
    assert data["breakeven_mtok_per_month"] == pytest.approx(97.9333 / (2 - 0.277778), rel=1e-5)
    assert data["payback_months"] == pytest.approx(3000 / 219.0)
    assert data["cost_per_audio_hour"] == pytest.approx(0.15)


def test_machine_profile_with_flags_overriding(cli):
    base = run_json(cli, "--machine", "p40-server", "--tok-s", "47.5")
    assert base["electricity_per_mtok"] == pytest.approx(f.electricity_per_mtok(500, 47.5, 0.157))
    assert base["all_in_per_mtok"] == pytest.approx(f.all_in_per_mtok(2500, 2, 500, 340, 0.157, 47.5))
    assert base["idle_cost_per_month"] == pytest.approx(f.idle_cost_per_month(340, 0.157))
    over = run_json(cli, "--machine", "p40-server", "--tok-s", "47.5", "--price-kwh", "0.30", "--idle-w", "0")
    assert over["electricity_per_mtok"] == pytest.approx(f.electricity_per_mtok(500, 47.5, 0.30))
    assert over["idle_cost_per_year"] == 0 and over["incremental_electricity_per_mtok"] == over["electricity_per_mtok"]


def test_gpu_power_plus_profile_overhead_estimates_load_power(cli):
    code, out, err = cli("cost", "--machine", "p40-server", "--tok-s", "47.5", "--gpu-w", "278", "--json")
    data = json.loads(out)
    assert data["j_per_token"] == pytest.approx((278 + 200) / 47.5)
    assert data["tok_s_per_gpu_w"] == pytest.approx(47.5 / 278)
    assert "load power estimated: GPU 278 W + non-GPU overhead 200 W" in err


def test_api_model_from_genai_prices(cli):
    data = run_json(cli, "--tok-s", "100", "--load-w", "120", "--idle-w", "20", "--price-kwh", "0.2",
                    "--hardware-cost", "1200", "--years", "2", "--api-model", "gpt-4o-mini")
    # gpt-4o-mini output: $0.60 per million tokens
    assert data["breakeven_mtok_per_month"] == pytest.approx(52.92 / (0.6 - 0.2 / 3.6))


def test_api_price_below_marginal_and_payback_never(cli):
    code, out, _ = cli("cost", "--tok-s", "40", "--load-w", "300", "--idle-w", "100", "--price-kwh", "0.2",
                       "--hardware-cost", "3000", "--years", "3", "--api-price", "0.05",
                       "--cloud-hourly", "0.05", "--hours-per-day", "8")
    assert code == 0
    assert "API price at or below the local marginal electricity cost: never" in out
    assert "payback vs cloud instance" not in out.split("(not computed")[0]
    assert "payback vs cloud instance" in out          # listed as not computed


def test_human_table(cli):
    code, out, err = cli("cost", "--tok-s", "40", "--load-w", "300", "--price-kwh", "0.2")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["energy", "per", "token", "7.50", "J/token"]          # registry title and unit
    assert any(line.startswith("electricity per M tokens at load") and line.endswith("0.417 USD/Mtok")
               for line in lines)
    assert lines[-1].startswith("(not computed, inputs missing: tokens/s per GPU watt,")


@pytest.mark.parametrize("args, message", [
    (("--utilization", "0"), "argument --utilization: must be greater than 0, found '0'"),
    (("--utilization", "1.5"), "argument --utilization: must be in (0, 1], found '1.5'"),
    (("--tok-s", "fast"), "argument --tok-s: not a number: 'fast'"),
    (("--hours-per-day", "25"), "argument --hours-per-day: must be between 0 and 24, found '25'"),
    (("--api-price", "1", "--api-model", "x"), "argument --api-model: not allowed with argument --api-price"),
    (("--api-model", "no-such-model-xyz"), "--api-model: no price known for API model `no-such-model-xyz`"),
    (("--machine", "no-such-machine"), "machine: no machine profile named `no-such-machine`"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    code, out, err = cli("cost", *args)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_profile_prices_name_an_api(cli, write):
    profile = write("machines/box.yaml", """
        name: box
        electricity_per_kwh: 0.2
        hardware_cost: 1200
        amortization_years: 2
        idle_w: 20
        prices:
          api:
            local-rate: {input: 0.1, output: 0.5}
    """)
    data = run_json(cli, "--machine", str(profile), "--tok-s", "100", "--load-w", "120", "--api-model", "local-rate")
    assert data["breakeven_mtok_per_month"] == pytest.approx(52.92 / (0.5 - 0.2 / 3.6))
    bad = write("machines/bad.yaml", """
        name: bad
        prices:
          api:
            x: {output: -1}
    """)
    code, _, err = cli("cost", "--machine", str(bad), "--api-model", "x")
    assert code == 2 and f"{bad}:4: prices.api.x.output: must be a number ≥ 0" in err
