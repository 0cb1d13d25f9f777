"""`benchbench cost` with a request shape: one request priced locally and at APIs on input, cached input and output,
the break-even volume in requests and tokens, and `--json` grown by `shape`, `request` and `apis` (the existing keys
unchanged). Expected values worked out by hand in the comments."""

from __future__ import annotations

import json

import pytest
from test_cost_cli import KEYS

from benchbench.analysis import formulas as f

MACHINE = ("--tok-s", "40", "--load-w", "300", "--idle-w", "100", "--price-kwh", "0.2", "--hardware-cost", "3000",
           "--years", "3")


def run_json(cli, *args):
    code, out, err = cli("cost", *args, "--json")
    assert code == 0, err
    return json.loads(out), err


def test_zero_input_shape_is_todays_figures(cli):
    data, _ = run_json(cli, *MACHINE, "--input-tokens", "0", "--output-tokens", "256")
    assert list(data)[:len(KEYS)] == KEYS and list(data)[len(KEYS):] == ["shape", "request", "apis"]
    req = data["request"]
    # 256 tokens at 40 tok/s: 6.4 s and 1920 J; per token today's 7.5 J, 0.41667 per M and all-in 1.209411 per M
    assert (req["request_s"], req["request_j"]) == pytest.approx((6.4, 1920.0))
    assert req["decode_j_per_token"] == data["j_per_token"] == 7.5
    assert req["electricity_output_per_mtok"] == pytest.approx(data["electricity_per_mtok"])
    assert req["local_per_mtok"] == pytest.approx(data["all_in_per_mtok"]) and req["at_full_use"]


def test_shape_with_input_and_an_api(cli):
    data, _ = run_json(cli, *MACHINE, "--pp-tok-s", "1000", "--input-tokens", "2000", "--cached-fraction", "0.5",
                         "--output-tokens", "200", "--requests-per-day", str(10_000 * 12 / 365),
                         "--api-model", "gpt-4.1")
    req = data["request"]
    # 1000 prefilled at 1000 tok/s + 200 generated at 40 tok/s = 1 + 5 = 6 s at 300 W = 1800 J
    assert req["request_s"] == pytest.approx(6.0) and req["request_j"] == pytest.approx(1800.0)
    # marginal (1800 − 100 · 6) J = 1200 J → 0.000333 kWh · 0.2 = 6.6667e-5; fixed 3000/36 + 0.1 · 730 · 0.2 = 97.933
    assert req["marginal_per_request"] == pytest.approx(1200 / 3.6e6 * 0.2)
    # 10,000 a month: (97.933 + 10,000 · 6.6667e-5) / 10 = 9.86 per 1,000
    assert req["local_per_1k_requests"] == pytest.approx((97.93333 + 0.66667) / 10, rel=1e-6)
    api = data["apis"][0]
    # gpt-4.1: (1000 · 2.00 + 1000 · 0.50 + 200 · 8.00) / 1e6 = 0.0041 per request
    assert api["api_per_request"] == pytest.approx(0.0041)
    assert (api["api_input_per_mtok"], api["api_cached_per_mtok"], api["api_output_per_mtok"]) == (2.0, 0.5, 8.0)
    # break-even 97.933 / (0.0041 − 6.6667e-5) = 24,281 requests, × 2200 tokens
    assert api["breakeven_requests_per_month"] == pytest.approx(97.93333 / (0.0041 - 1200 / 3.6e6 * 0.2), rel=1e-6)
    assert api["breakeven_tokens_per_month"] == pytest.approx(api["breakeven_requests_per_month"] * 2200)
    # the old break-even keeps comparing output prices (8.00 per M) per generated token
    assert data["breakeven_mtok_per_month"] == pytest.approx(f.breakeven_mtok_per_month(3000, 3, 100, 0.2, 300, 40, 8))


def test_input_without_prefill_throughput_is_said(cli):
    data, err = run_json(cli, *MACHINE, "--mix", "rag")
    assert data["request"]["request_s"] is None and "give --pp-tok-s" in err
    assert data["shape"]["name"] == "rag" and data["shape"]["input_tokens"] == 2200


def test_currency_conversion_at_a_declared_rate(cli):
    data, _ = run_json(cli, *MACHINE, "--currency", "EUR", "--input-tokens", "0", "--output-tokens", "1000",
                       "--api-model", "gpt-4o-mini", "--exchange-rate", "USD=0.9")
    assert data["apis"][0]["api_per_request"] == pytest.approx(1000 * 0.60 / 1e6 * 0.9)
    assert "converted at 1 USD = 0.9 EUR (declared)" in data["apis"][0]["note"]
    data, _ = run_json(cli, *MACHINE, "--currency", "EUR", "--input-tokens", "0", "--output-tokens", "1000",
                       "--api-model", "gpt-4o-mini")
    assert data["apis"][0]["api_per_request"] is None and "not compared" in data["apis"][0]["note"]


def test_time_of_use_from_the_profile(cli, write):
    profile = write("m.yaml", """
        name: m
        electricity_per_kwh: 0.20
        hardware_cost: 3000
        amortization_years: 3
        idle_w: 100
        electricity_tou:
          - {days: weekdays, hours: "9-17", per_kwh: 0.40}
        work_hours:
          - {days: weekdays, hours: "9-17"}
        """)
    data, err = run_json(cli, "--machine", profile, "--tok-s", "40", "--load-w", "300", "--input-tokens", "0",
                         "--output-tokens", "256")
    # the work runs at 0.40 (weekdays 9-17); 6.4 s · 300 W = 1920 J → 0.000533 kWh · 0.40
    assert data["request"]["electricity_per_request"] == pytest.approx(1920 / 3.6e6 * 0.40)
    # 40 h of 168: 730 · 40/168 h a month → 173.81 · 3600 / 6.4 requests
    assert data["request"]["capacity_requests_per_month"] == pytest.approx(730 * 40 / 168 * 3600 / 6.4)
    assert "time of use" in err


@pytest.mark.parametrize(("args", "message"), [
    (("--cached-fraction", "0.5"), "--mix: a request shape needs --input-tokens and --output-tokens, or --mix"),
    (("--input-tokens", "10", "--output-tokens", "5", "--cached-fraction", "2"), "must be in [0, 1]"),
    (("--mix", "rga"), "invalid choice: 'rga'"),
    (("--input-tokens", "1", "--output-tokens", "1", "--exchange-rate", "USD"), "--exchange-rate: expected CUR=RATE"),
])
def test_bad_shape_flags_are_one_line(cli, args, message):
    code, out, err = cli("cost", "--tok-s", "40", *args)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
