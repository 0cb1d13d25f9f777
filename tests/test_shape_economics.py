"""The economics of a request shape from records: the phase split, the load point chosen, APIs priced for the shape,
break-even, payback, time-of-use and currencies, a usage ledger, and the verdict. Every expected number is worked
out by hand from the law the records were written with (tests/shape_helpers.py), in the comments."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from analysis_helpers import write_run
from shape_helpers import bench_run, load_run, stream_run, sweep_run

from benchbench.analysis import analyze
from benchbench.analysis import formulas as f
from benchbench.shapes import parse_mix

# The shape of the hand-worked examples: 2000 input tokens, half of them cached, 201 output tokens.
RAG = {"input_tokens": 2000, "cached_fraction": 0.5, "output_tokens": 201}


def chosen(a, machine="box"):
    rows = a.shape_points[(a.shape_points["machine"] == machine) & a.shape_points["chosen"]]
    assert len(rows) == 1
    return rows.iloc[0]


def test_single_stream_split_and_money(tmp_path):
    # window 10 s at 200 W (2000 J), one request of 1000 in / 101 out, prefill 1.0 s, decode 8.0 s, rest 1.0 s:
    # 0.001 s and 0.2 J per input token, 0.08 s and 16 J per decode step, 1.0 s and 200 J per request
    write_run(tmp_path, stream_run(suite_extra={"api_models": ["gpt-4.1"], "prices": {"cloud_hourly": {"gpu": 1.2}}}))
    a = analyze(tmp_path, mix={**RAG, "requests_per_day": 30_000 * 12 / 365})
    row = chosen(a)
    assert row["split"] == "in-process timings" and row["split_label"] == "apportioned"
    # 1000 prefilled · 0.001 + 200 steps · 0.08 + 1.0 = 18 s; 200 + 3200 + 200 = 3600 J
    assert row["request_s"] == pytest.approx(18.0) and row["request_j"] == pytest.approx(3600.0)
    assert row["prefill_j_per_token"] == pytest.approx(0.2) and row["decode_j_per_token"] == pytest.approx(16.0)
    assert row["_prov"]["prefill_j_per_token"] == "estimated" and row["_prov"]["request_j"] == "measured"
    assert row["capacity_requests_per_month"] == pytest.approx(146_000)
    assert row["marginal_per_request"] == pytest.approx(0.000225)
    # 30,000 a month: (100 + 10.95 + 30,000 · 0.000225) / 30,000 · 1000 = 117.70 / 30 = 3.92333
    assert row["volume_requests_per_month"] == pytest.approx(30_000)
    assert row["local_per_1k_requests"] == pytest.approx(3.923333, rel=1e-6)
    # gpt-4.1 for the shape: (1000 · 2.00 + 1000 · 0.50 + 201 · 8.00) / 1e6 = 0.004108
    api = a.shape_apis.set_index("api").loc["gpt-4.1"]
    assert api["api_per_request"] == pytest.approx(0.004108) and api["chosen_by"] == "named"
    be = a.shape_breakeven.set_index("api").loc["gpt-4.1"]
    assert be["breakeven_requests_per_month"] == pytest.approx(110.95 / (0.004108 - 0.000225), rel=1e-6)
    assert be["breakeven_tokens_per_month"] == pytest.approx(28_573.27 * 2201, rel=1e-5)
    # payback against 1.20/h carrying 30,000 a month: 150 h → 180; the machine 10.95 + 6.75 → 2400 / 162.30
    pay = a.shape_payback.set_index("instance").loc["gpu"]
    assert pay["cloud_hours_per_month"] == pytest.approx(150.0)
    assert pay["payback_months"] == pytest.approx(2400 / 162.30, rel=1e-6)
    v = a.verdict.iloc[0]
    assert (v["machine"], v["api"]) == ("box", "gpt-4.1")
    assert v["local_per_1k_requests"] == pytest.approx(3.923333, rel=1e-6)
    assert v["api_per_1k_requests"] == pytest.approx(4.108)
    assert any("apportioned" in c for c in v["caveats"])


def test_the_measured_mix_reproduces_the_record_and_zero_input_the_decode_speed(tmp_path):
    write_run(tmp_path, stream_run())
    # the measured requests' own mix (1000 in, 101 out): 2000 J a request = the record's energy per request, and per
    # output token today's j_per_token (P / output_tok_s = 200 / 10.1)
    own = analyze(tmp_path, mix={"input_tokens": 1000, "output_tokens": 101})
    row, group = chosen(own), own.groups.iloc[0]
    assert row["request_j"] == pytest.approx(2000.0) and row["request_s"] == pytest.approx(10.0)
    assert row["request_j"] / 101 == pytest.approx(group["j_per_token"])
    # 0 input: the decode part is P / tg_tok_s = 200 / 12.5 = 16 J a step, electricity at the decode speed
    zero = chosen(analyze(tmp_path, mix={"input_tokens": 0, "output_tokens": 101}))
    tg = (101 - 1) / 8.0
    assert zero["decode_j_per_token"] == pytest.approx(200 / tg)
    assert zero["electricity_output_per_mtok"] == pytest.approx(f.electricity_per_mtok(200, tg, 0.30))
    # ... plus the per-request rest (200 J): 100 steps · 16 + 200 = 1800 J
    assert zero["request_j"] == pytest.approx(1800.0)


def test_zero_input_shape_reproduces_the_published_figures():
    a = analyze([], reference=True, mix={"input_tokens": 0, "output_tokens": 256}, prices={"api": {"dear": 2.0}},
                api_models=["hosted 8B-class (low)", "hosted 8B-class (high)", "dear"])
    groups = a.groups.set_index("group_id")
    points = a.shape_points[a.shape_points["provenance"] == "published"]
    checked = 0
    for _, p in points.iterrows():
        g = groups.loc[p["group_id"]]
        if g["system_w"] != g["system_w"] or g["electricity_per_mtok"] != g["electricity_per_mtok"]:
            continue
        checked += 1
        assert p["split"] == "whole window (no phase times)"
        assert p["decode_j_per_token"] == pytest.approx(g["j_per_token"])
        assert p["electricity_output_per_mtok"] == pytest.approx(g["electricity_per_mtok"])
        if g["all_in_per_mtok"] == g["all_in_per_mtok"] and p["local_per_mtok"] == p["local_per_mtok"]:
            assert p["local_per_mtok"] == pytest.approx(g["all_in_per_mtok"])
    assert checked >= 8
    # break-even in tokens = today's break-even against the same price, and "never" for the same reason (the
    # articles' own prices: never; a dear API at 2.00 per M: a volume)
    pairs = a.api.merge(a.shape_breakeven, on=["group_id", "api"])
    found = 0
    for _, r in pairs.iterrows():
        if r["breakeven_mtok_per_month"] is not None and r["breakeven_mtok_per_month"] == r["breakeven_mtok_per_month"]:
            found += 1
            assert r["breakeven_tokens_per_month"] / 1e6 == pytest.approx(r["breakeven_mtok_per_month"])
        elif str(r["note_x"]).startswith("API price at or below"):
            assert str(r["note_y"]).startswith("never: the API costs no more")
        elif str(r["note_x"]).startswith("beyond what the machine"):
            assert str(r["note_y"]).startswith("never at this load point")
    assert found >= 2


def test_p40_all_in_of_the_article_through_the_shape():
    # the P40 of the economics article: 47.5 tok/s at 500 W, $2,500 over 2 years, $0.157/kWh: all-in at full use
    # (2500/17520 + 0.5 · 0.157) / (47.5 · 3600 / 1e6) = (0.142694 + 0.0785) / 0.171 = 1.29353 per M tokens
    a = analyze([], reference=True, mix={"input_tokens": 0, "output_tokens": 500})
    p = a.shape_points[(a.shape_points["machine"] == "p40-server") & (a.shape_points["model"] == "llama3.1:8b")
                       & (a.shape_points["system_w"] == 500.0)].iloc[0]
    assert p["local_per_mtok"] == pytest.approx(1.29353, rel=1e-5)


def test_highest_goodput_meeting_the_slos_is_chosen(tmp_path):
    rows = [{"input_tokens": 500, "cached_tokens": 100, "output_tokens": 51, "server_prompt_s": 0.5,
             "server_gen_s": 2.5, "ttft_s": 0.6, "e2e_s": 3.2}] * 4
    load_run(tmp_path, concurrency=1, req_s=1.0, goodput_req_s=1.0, meets_slo=True, rows=rows, session="s1")
    load_run(tmp_path, concurrency=4, req_s=3.0, goodput_req_s=3.0, meets_slo=True, rows=rows, session="s4")
    load_run(tmp_path, concurrency=8, req_s=4.0, goodput_req_s=2.0, meets_slo=False, rows=rows, session="s8")
    a = analyze(tmp_path, mix={"input_tokens": 500, "cached_fraction": 0.2, "output_tokens": 51})
    row = chosen(a)
    assert row["label"] == "concurrency 4" and row["chosen_why"] == "highest goodput meeting the SLOs"
    # 20 s at 400 W, 60 requests finished; request-seconds: prefill 60 · 0.5 = 30, decode 60 · 2.5 = 150, so the
    # window splits 20 · 30/180 = 3.333 s and 16.667 s; the measured mix takes 20/60 s and 8000/60 J a request
    assert row["split"] == "server timings"
    assert row["request_s"] == pytest.approx(20 / 60) and row["request_j"] == pytest.approx(8000 / 60)
    # per prefilled token 3.333 s / (60 · 400) = 1.3889e-4 s; per step 16.667 / (60 · 50) = 5.5556e-3 s (× 400 W)
    assert row["prefill_j_per_token"] == pytest.approx(400 * (20 * 30 / 180) / 24_000)
    assert row["decode_j_per_token"] == pytest.approx(400 * (20 * 150 / 180) / 3000)
    assert row["e2e_p90_s"] == pytest.approx(3.0) and row["meets_slo"]


def test_no_load_point_meets_the_slos_single_stream_is_said(tmp_path):
    load_run(tmp_path, concurrency=1, req_s=0.5, goodput_req_s=0.0, meets_slo=False, session="s1",
             metrics={"input_tokens_mean": 500, "output_tokens_mean": 51, "ttft_s": 0.5, "e2e_s": 3.0})
    load_run(tmp_path, concurrency=4, req_s=1.5, goodput_req_s=0.5, meets_slo=False, session="s4",
             metrics={"input_tokens_mean": 500, "output_tokens_mean": 51, "ttft_s": 0.5, "e2e_s": 3.0})
    a = analyze(tmp_path, mix="chat")
    row = chosen(a)
    assert row["concurrency"] == 1 and row["chosen_why"] == "single stream (no load point met the SLOs)"
    assert row["split"] == "client TTFT"
    v = a.verdict.iloc[0]
    assert "no machine met the SLOs: the cheapest is shown" in v["caveats"]
    assert any("differ from the shape" in c for c in v["caveats"])


def test_sweep_points_are_candidates(tmp_path):
    metrics = lambda r, g, ok: {"req_s": r, "goodput_req_s": g, "meets_slo": ok, "input_tokens_mean": 200,  # noqa
                                "output_tokens_mean": 101, "ttft_s": 0.2, "e2e_s": 2.2, "e2e_p90_s": 2.5}
    sweep_run(tmp_path, [
        {"label": "synchronous", "concurrency": 1, "window_s": 10, "power_w": 200, "metrics": metrics(0.5, 0.5, True)},
        {"label": "constant 2/s", "window_s": 10, "power_w": 300, "metrics": metrics(2.0, 2.0, True)},
        {"label": "throughput", "concurrency": 64, "window_s": 10, "power_w": 400, "metrics": metrics(5, 1, False)}])
    a = analyze(tmp_path, mix="chat")
    assert set(a.shape_points["label"]) == {"synchronous", "constant 2/s", "throughput"}
    assert chosen(a)["label"] == "constant 2/s"


def test_llama_bench_prefill_and_decode_measured_apart(tmp_path):
    write_run(tmp_path, bench_run(pp_tok_s=2000, tg_tok_s=50, prefill_j=0.05, decode_j=2.0))
    row = chosen(analyze(tmp_path, mix={"input_tokens": 1000, "output_tokens": 101}))
    # 1000 / 2000 + 100 / 50 = 2.5 s; 1000 · 0.05 + 100 · 2.0 = 250 J
    assert row["split"] == "measured separately" and row["split_label"] == "measured"
    assert row["request_s"] == pytest.approx(2.5) and row["request_j"] == pytest.approx(250.0)
    assert row["_prov"]["prefill_j_per_token"] == "measured"


def test_time_of_use_work_hours_and_a_declared_exchange_rate(tmp_path):
    profile = {"currency": "EUR", "exchange_rates": {"USD": 0.92},
               "electricity_tou": [{"days": "weekdays", "hours": "7-23", "per_kwh": 0.32},
                                   {"hours": "23-7", "per_kwh": 0.12}],
               "electricity_per_kwh": 0.20, "work_hours": [{"days": "mon-fri", "hours": "9-17"}]}
    write_run(tmp_path, stream_run(profile=profile, suite_extra={"api_models": ["gpt-4.1"]}))
    a = analyze(tmp_path, mix=RAG)
    row = chosen(a)
    # work 9-17 on weekdays: all at 0.32; the week: (5 · (16 · 0.32 + 8 · 0.12) + 2 · (16 · 0.20 + 8 · 0.12)) / 168
    assert row["price_work"] == pytest.approx(0.32)
    assert row["price_week"] == pytest.approx((5 * (16 * 0.32 + 8 * 0.12) + 2 * (16 * 0.20 + 8 * 0.12)) / 168)
    # 40 of 168 hours: 730 · 40/168 = 173.81 h a month → 173.81 · 3600 / 18 s = 34,762 requests
    assert row["work_hours_month"] == pytest.approx(730 * 40 / 168)
    assert row["capacity_requests_per_month"] == pytest.approx(730 * 40 / 168 * 3600 / 18)
    assert row["electricity_per_request"] == pytest.approx(0.001 * 0.32)
    be = a.shape_breakeven.iloc[0]
    assert be["api_per_request"] == pytest.approx(0.004108 * 0.92) and be["currency"] == "EUR"
    # without the rate: said, not converted
    write_run(tmp_path / "b", stream_run(profile={"currency": "EUR"}, suite_extra={"api_models": ["gpt-4.1"]}))
    be = analyze(tmp_path / "b", mix=RAG).shape_breakeven.iloc[0]
    assert be["api_per_request"] is None or be["api_per_request"] != be["api_per_request"]
    assert "not compared" in be["note"]


def test_a_usage_ledger_gives_the_mix_and_the_utilization(tmp_path):
    write_run(tmp_path, stream_run())
    mix = SimpleNamespace(requests=100, input_tokens=150_000, cached_tokens=50_000, output_tokens=30_100)
    usage = {"box": SimpleNamespace(utilization=0.25, busy_basis={"proxy: in flight"}, covered_s=730 * 3600,
                                    mix=mix, models={("proxy", "llama3.1:8b"): mix})}
    a = analyze(tmp_path, usage=usage)
    assert a.shapes["llama3.1-8b"]["chosen_by"] == "usage ledger"
    row = chosen(a)
    # the ledger's mix: 1500 in (1/3 cached → 1000 prefilled), 301 out → 1 + 300 · 0.08 + 1 = 26 s a request;
    # utilization 0.25 → a quarter of 730 · 3600 / 26 requests a month
    assert row["request_s"] == pytest.approx(26.0)
    assert row["volume_requests_per_month"] == pytest.approx(0.25 * 730 * 3600 / 26)


def test_the_verdict_picks_the_cheapest_machine_and_says_the_caveats(tmp_path):
    write_run(tmp_path, stream_run(machine="fast", power_w=400, gen_s=4.0, window_s=6.0, session="a"))
    write_run(tmp_path, stream_run(machine="thrifty", power_w=100, session="b", n=2, basis="estimated",
                                   warnings=("model_on_cpu", "power_estimated"), profile={"hardware_cost": 600.0}))
    a = analyze(tmp_path, mix={"input_tokens": 1000, "output_tokens": 101}, api_models=["gpt-4o-mini"])
    v = a.verdict.iloc[0]
    # at full use: fast (100/730 + 0.4 kW · 0.30) per hour × 6 s = 0.4283 per 1,000; thrifty (25/730 + 0.1 · 0.30)
    # × 10 s = 0.1785 per 1,000
    costs = a.shape_points[a.shape_points["chosen"]].set_index("machine")["local_per_1k_requests"]
    assert costs["fast"] == pytest.approx((100 / 730 + 0.12) * 6 / 3.6, rel=1e-6)
    assert costs["thrifty"] == pytest.approx((25 / 730 + 0.03) * 10 / 3.6, rel=1e-6)
    assert v["machine"] == "thrifty" and v["local_per_1k_requests"] == pytest.approx(costs["thrifty"])
    assert "model_on_cpu" in v["caveats"] and "few repetitions (2)" in v["caveats"]
    assert any(c.startswith("system power estimated") for c in v["caveats"])
    assert "power_estimated" not in v["caveats"]          # a note, not a decision warning


def test_from_load_takes_the_load_runs_requests(tmp_path):
    load_run(tmp_path, concurrency=2, req_s=1.0, goodput_req_s=1.0, meets_slo=True,
             metrics={"input_tokens_mean": 800, "output_tokens_mean": 120, "cached_share": 0.25, "ttft_s": 0.4,
                      "e2e_s": 3.0})
    a = analyze(tmp_path, mix=parse_mix({"from": "load", "requests_per_day": 100}))
    shape = a.shapes["llama3.1-8b"]
    assert (shape["input_tokens"], shape["output_tokens"], shape["cached_fraction"]) == pytest.approx((800, 120, 0.25))
    assert shape["provenance"] == "measured" and shape["requests_per_month"] == pytest.approx(100 * 365 / 12)


def test_a_real_ledger_feeds_the_verdict(tmp_path):
    from test_ledger_report import PROFILE as LEDGER_PROFILE
    from test_ledger_report import write_ledger

    from benchbench.reports import build_report

    write_run(tmp_path / "results", stream_run())
    ledger = write_ledger(tmp_path / "box.db", "box", {**LEDGER_PROFILE, "name": "box"})
    report = build_report([tmp_path / "results"], reference=False, ledgers=[ledger])
    a = report.analysis
    shape = a.shapes["llama3.1-8b"]
    # the ledger: 6 requests of 3000 input (600 cached) and 1500 output tokens in all → 500 in, 20% cached, 250 out
    assert shape["chosen_by"] == "usage ledger" and shape["source"] == "usage ledger (all models)"
    assert (shape["input_tokens"], shape["cached_fraction"], shape["output_tokens"]) == pytest.approx((500, 0.2, 250))
    # busy 90 s of 5400 s covered: utilization 1/60 of the capacity (400 prefilled · 0.001 + 249 · 0.08 + 1 = 21.32 s)
    row = chosen(a)
    assert row["request_s"] == pytest.approx(21.32)
    assert row["volume_requests_per_month"] == pytest.approx(730 * 3600 / 21.32 / 60)
    assert report.section("verdict") is not None
