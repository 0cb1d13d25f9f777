"""The analyzer on synthetic records in the real layout: groups, statistics, power, costs, provenance."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from analysis_helpers import idle_record, llm_run, run_record, throughput, tts_run, video_run, write_idle, write_run

from benchbench import analyze
from benchbench.analysis import formulas as f
from benchbench.analysis import tables
from benchbench.errors import UserError
from benchbench.stats import summarize

ROOT = Path(__file__).resolve().parent.parent


def one(frame, **match):
    sel = frame
    for key, value in match.items():
        sel = sel[sel[key] == value]
    assert len(sel) == 1, f"{len(sel)} rows match {match}"
    return sel.iloc[0]


def test_measured_llm_group(tmp_path):
    rec, _ = llm_run(tok_s=[40, 42, 41], warmup_tok_s=[30], gpu_w=200, wall_w=300, idle_w=100,
                     facts={"model_size_bytes": 4.9e9})
    write_run(tmp_path, rec)
    a = analyze(tmp_path)
    g = one(a.groups, workload="w")
    assert g["n"] == 3 and g["n_runs"] == 1 and g["kind"] == "llm" and g["model"] == "llama3.1:8b"
    assert g["tg_tok_s"] == pytest.approx(41.0)                    # the warmup (30) is left out
    assert g["gpu_w"] == pytest.approx(200) and g["system_w"] == pytest.approx(300)
    assert (g["system_provenance"], g["system_basis"], g["idle_provenance"]) == ("measured", "wall", "measured")
    assert g["idle_w"] == 100 and g["idle_source"] == f"run record {rec['run_id']}"
    r = throughput(rec)                       # the machine's: output tokens ÷ the iterations' seconds
    assert g["output_tok_s"] == pytest.approx(r) and r < 41     # the prompt's time counts too
    assert g["j_per_token"] == pytest.approx(300 / r)
    assert g["tok_s_per_gpu_w"] == pytest.approx(r / 200) and g["tok_s_per_w"] == pytest.approx(r / 300)
    assert g["electricity_per_mtok"] == pytest.approx(300 * (1e6 / r) / 3.6e6 * 0.20)
    assert g["incremental_electricity_per_mtok"] == pytest.approx(200 * (1e6 / r) / 3.6e6 * 0.20)
    assert g["amortization_per_hour"] == pytest.approx(3000 / (3 * 8760))
    assert g["all_in_per_mtok"] == pytest.approx(f.all_in_per_mtok(3000, 3, 300, 100, 0.2, r, 1.0))
    assert g["utilization"] == 1.0 and g["utilization_source"] == "full use"
    assert g["idle_cost_per_month"] == pytest.approx(14.6) and g["idle_cost_per_year"] == pytest.approx(175.2)
    assert g["roofline_tok_s"] == pytest.approx(400e9 / 4.9e9)
    assert g["roofline_pct"] == pytest.approx(41 / 81.632653 * 100)
    assert g["derived_provenance"] == "measured" and "far_below_roofline" not in g["warnings"]
    figs = a.figures[a.figures["group_id"] == g["group_id"]].set_index("figure")
    assert figs.loc["electricity_per_mtok", "unit"] == "USD/Mtok"
    assert figs.loc["electricity_per_mtok", "provenance"] == "measured"
    assert figs.loc["amortization_per_hour", "provenance"] == "declared"
    assert set(figs["provenance"]) == {"measured", "declared"}


def test_stats_match_part_one_summaries(tmp_path):
    speeds = [38.0, 44.0, 41.5, 40.25]
    write_run(tmp_path, llm_run(tok_s=speeds, gpu_w=200, wall_w=300)[0])
    a = analyze(tmp_path)
    row = one(a.stats, metric="tg_tok_s")
    expected = summarize(speeds)
    for key in ("n", "mean", "stdev", "median", "min", "max", "ci95_low", "ci95_high"):
        assert row[key] == pytest.approx(expected[key]), key
    g = a.groups.iloc[0]
    assert (g["tg_tok_s_ci95_low"], g["tg_tok_s_ci95_high"]) == pytest.approx(
        (expected["ci95_low"], expected["ci95_high"]))
    assert set(a.stats["metric"]) >= {"tg_tok_s", "pp_tok_s", "gen_tokens", "ttft_s", "e2e_s"}
    assert "done_reason" not in set(a.stats["metric"])


def test_estimated_system_power_labels_every_derived_figure_estimated(tmp_path):
    rec, _ = llm_run(gpu_w=150, n_gpus=2, cpu_w=40, overhead_w=60, idle_w=None)
    write_run(tmp_path, rec)
    g = analyze(tmp_path).groups.iloc[0]
    assert g["system_w"] == pytest.approx(150 * 2 + 40 + 60) and g["gpu_w"] == pytest.approx(300)
    assert g["system_provenance"] == "estimated" and g["system_basis"] == "gpu+cpu+overhead"
    assert (g["idle_w"], g["idle_provenance"], g["idle_source"]) == (80.0, "declared", "profile idle_w")
    assert g["derived_provenance"] == "estimated"
    figs = analyze(tmp_path).figures.set_index("figure")["provenance"]
    for name in ("j_per_token", "tok_s_per_w", "electricity_per_mtok", "incremental_electricity_per_mtok",
                 "all_in_per_mtok", "idle_cost_per_month"):
        assert figs[name] == "estimated", name
    assert figs["tok_s_per_gpu_w"] == "measured" and figs["tg_tok_s"] == "measured"
    assert figs["system_w"] == "estimated" and figs["idle_w"] == "declared"


def test_old_records_without_a_system_channel_get_it_by_the_monitors_rule(tmp_path):
    """Records written before schema 2 could lack `system`; the migration applies power/system.py's rule."""
    for rec in (llm_run(gpu_w=200, workload="gpu-only")[0],                    # overhead 60 W
                llm_run(gpu_w=None, workload="nothing", session="20250101T000000Z-0003",
                        profile={"load_w": 250.0})[0]):
        rec["schema_version"] = 1
        write_run(tmp_path, rec)
    a = analyze(tmp_path)
    g = one(a.groups, workload="gpu-only")
    assert (g["system_w"], g["system_basis"], g["system_provenance"]) == (260.0, "gpu+overhead", "estimated")
    g = one(a.groups, workload="nothing")
    assert (g["system_w"], g["system_basis"], g["system_provenance"]) == (250.0, "declared", "declared")
    assert pd.isna(g["gpu_w"]) and pd.isna(g["tok_s_per_gpu_w"])
    assert g["derived_provenance"] == "estimated"


def test_a_measured_idle_record_wins_over_a_declared_idle(tmp_path):
    write_run(tmp_path, llm_run(gpu_w=200, wall_w=300, idle_w=120, idle_source="declared")[0])
    older = idle_record(watts={"system": 70.0}, session="20241201T000000Z-0001", started_at="2024-12-01T00:00:00Z")
    newer = idle_record(watts={"system": 95.0, "gpu0": 9.0})
    write_idle(tmp_path, older)
    write_idle(tmp_path, newer)
    write_idle(tmp_path, idle_record(machine="other", watts={"system": 5.0}, session="20250103T000000Z-0003"))
    a = analyze(tmp_path)
    g = a.groups.iloc[0]
    assert (g["idle_w"], g["idle_provenance"]) == (95.0, "measured")
    assert g["idle_source"] == f"idle record {newer['run_id']}"
    assert g["idle_cost_per_month"] == pytest.approx(0.095 * 730 * 0.2)
    assert set(a.idle["machine"]) == {"box", "other"} and len(a.idle) == 4


def test_an_idle_system_figure_estimated_from_gpu_and_overhead_is_labelled_estimated(tmp_path):
    write_run(tmp_path, llm_run(gpu_w=200, wall_w=300, idle_w=120, idle_source="measured",
                                idle_basis="gpu+cpu+overhead", profile={"idle_w": None})[0])
    write_idle(tmp_path, idle_record(watts={"system": 95.0, "gpu0": 20.0}, system_basis="gpu+cpu+overhead"))
    a = analyze(tmp_path)
    g = a.groups.iloc[0]
    assert (g["idle_w"], g["idle_provenance"]) == (120.0, "estimated")
    assert one(a.idle, channel="system")["provenance"] == "estimated"
    assert one(a.idle, channel="gpu0")["provenance"] == "measured"
    figs = a.figures.set_index("figure")["provenance"]
    assert figs["idle_cost_per_month"] == "estimated" and figs["electricity_per_mtok"] == "measured"
    # one rule (power/idle.py choose_idle), as at run time: a declared idle_w beats an estimated one
    write_run(tmp_path, llm_run(gpu_w=200, wall_w=300, idle_w=120, idle_source="measured", machine="other",
                                idle_basis="gpu+cpu+overhead")[0])
    g = one(analyze(tmp_path).groups, machine="other")
    assert (g["idle_w"], g["idle_provenance"], g["idle_source"]) == (80.0, "declared", "profile idle_w")


def test_the_run_records_own_measured_idle_is_kept(tmp_path):
    write_run(tmp_path, llm_run(gpu_w=200, wall_w=300, idle_w=110, idle_source="measured")[0])
    write_idle(tmp_path, idle_record(watts={"system": 95.0}))
    g = analyze(tmp_path).groups.iloc[0]
    assert (g["idle_w"], g["idle_provenance"]) == (110.0, "measured")


def test_runs_pool_by_machine_workload_and_params(tmp_path):
    for i, speeds in enumerate(([40, 42, 41], [43, 44, 45])):
        write_run(tmp_path, llm_run(tok_s=speeds, gpu_w=200, wall_w=300, session=f"2025010{i + 1}T000000Z-000{i}",
                                    started_at=f"2025-01-0{i + 1}T00:00:00Z")[0])
    write_run(tmp_path, llm_run(tok_s=[20, 21, 22], gpu_w=200, wall_w=300, session="20250105T000000Z-0009",
                                params={"model": "llama3.1:70b"})[0])
    write_run(tmp_path, llm_run(tok_s=[50, 51, 52], gpu_w=200, wall_w=300, machine="other",
                                session="20250106T000000Z-0009")[0])
    a = analyze(tmp_path)
    assert len(a.groups) == 3 and len(a.runs) == 4
    g = one(a.groups, machine="box", model="llama3.1:8b")
    assert g["n_runs"] == 2 and g["n"] == 6 and g["tg_tok_s"] == pytest.approx(42.5)
    assert one(a.groups, model="llama3.1:70b")["tg_tok_s"] == pytest.approx(21)
    assert one(a.groups, machine="other")["tg_tok_s"] == pytest.approx(51)
    assert a.group_iterations(g["group_id"])["tg_tok_s"].tolist() == [40, 42, 41, 43, 44, 45]


def test_published_and_measured_never_pool(tmp_path):
    write_run(tmp_path, llm_run(machine="p40-server", workload="llama3.1:8b", gpu_w=200, wall_w=300,
                                params={"model": "llama3.1:8b"})[0])
    a = analyze(tmp_path, reference=True)
    mine = a.groups[(a.groups["machine"] == "p40-server") & (a.groups["model"] == "llama3.1:8b")]
    assert sorted(mine["provenance"]) == ["measured", "published", "published"]
    published = mine[mine["provenance"] == "published"]
    assert set(published["source"]) == {"the-economics-of-owning-your-own-inference.md",
                                        "repurposing-enterprise-gpus-the-tesla-p40-home-lab-story.md"}
    assert all(lbl.endswith("(published)") for lbl in published["label"])
    pub_figs = a.figures[a.figures["group_id"].isin(published["group_id"])]
    assert set(pub_figs["provenance"]) == {"published"}


def test_failed_iterations_are_counted_and_left_out(tmp_path):
    rec, _ = llm_run(tok_s=[40, 99, 42], gpu_w=200, wall_w=300, errors={2: "server error 500"})
    write_run(tmp_path, rec)
    g = analyze(tmp_path).groups.iloc[0]
    assert g["n"] == 2 and g["n_failed"] == 1 and g["tg_tok_s"] == pytest.approx(41)


def test_roofline_flags_a_run_far_below_the_bandwidth_bound(tmp_path):
    write_run(tmp_path, llm_run(tok_s=[9, 10, 11], gpu_w=60, wall_w=150, facts={"model_size_bytes": 4.9e9})[0])
    g = analyze(tmp_path).groups.iloc[0]
    assert g["roofline_pct"] == pytest.approx(10 / (400e9 / 4.9e9) * 100)     # 12.25 %
    assert "far_below_roofline" in g["warnings"]


def test_matrix_values_are_kept(tmp_path):
    rec, _ = llm_run(gpu_w=200, wall_w=300, workload="llama[options.num_ctx=2048]")
    rec["workload"]["matrix"] = {"options.num_ctx": 2048}
    write_run(tmp_path, rec)
    a = analyze(tmp_path)
    g = a.groups.iloc[0]
    assert g["matrix"] == {"options.num_ctx": 2048} and g["base_name"] == "llama"
    assert a.runs.iloc[0]["matrix"] == {"options.num_ctx": 2048}


def test_tts_costs(tmp_path):
    rec, _ = tts_run(runs=[(60, 20), (50, 20), (55, 22)], chars=300, wall_w=100, gpu_w=60, idle_w=40)
    write_run(tmp_path, rec)
    a = analyze(tmp_path, prices={"tts_per_million_chars": {"cloud-x": 16}})
    g = a.groups.iloc[0]
    rtf = (3 + 2.5 + 2.5) / 3
    assert g["rtf"] == pytest.approx(rtf) and g["rtf_best"] == pytest.approx(2.5)
    assert g["j_per_audio_s"] == pytest.approx(100 * rtf)
    assert g["cost_per_audio_hour"] == pytest.approx(100 * rtf * 3600 / 3.6e6 * 0.2)
    assert g["cost_per_1k_chars"] == pytest.approx(100 * 55 / 3.6e6 * 0.2 / 300 * 1000)
    assert g["chars_per_audio_s"] == pytest.approx(300 / (62 / 3))
    row = a.tts_cloud.iloc[0]
    assert row["service"] == "cloud-x" and row["price_source"] == "caller"
    assert row["cloud_per_audio_hour"] == pytest.approx(16 / 1e6 * 300 / (62 / 3) * 3600)
    assert row["cloud_vs_local"] == pytest.approx(row["cloud_per_audio_hour"] / g["cost_per_audio_hour"])


def test_video_costs(tmp_path):
    write_run(tmp_path, video_run(gen_s=[600, 620], video_s=4, wall_w=500)[0])
    a = analyze(tmp_path)
    g = a.groups.iloc[0]
    assert g["gen_s"] == 610 and g["video_s"] == 4
    assert g["j_per_clip"] == pytest.approx(500 * 610)
    assert g["cost_per_clip"] == pytest.approx(500 * 610 / 3.6e6 * 0.2)
    assert g["cost_per_video_s"] == pytest.approx(500 * 610 / 3.6e6 * 0.2 / 4)
    assert "stages_s.stage1" in a.iterations.columns and "peak_mem_gb.cuda:0" in a.iterations.columns
    assert one(a.stats, metric="stages_s.decode")["mean"] == 20.0


def test_api_breakeven_from_prices_and_genai_prices(tmp_path):
    rec = llm_run(tok_s=[100, 100, 100], gpu_w=100, wall_w=120, idle_w=20,
                  profile={"hardware_cost": 1200.0, "amortization_years": 2.0},
                  suite_prices={"api": {"suite-api": 0.5}})[0]
    write_run(tmp_path, rec)
    marginal = (120 - 20) * (1e6 / throughput(rec)) / 3.6e6 * 0.2
    a = analyze(tmp_path, prices={"api": {"mine": {"input": 0.1, "output": 2.0}}},
                api_models=["gpt-4o-mini"])
    api = a.api.set_index("api")
    assert set(api.index) == {"suite-api", "mine", "gpt-4o-mini"}
    assert api.loc["suite-api", "breakeven_mtok_per_month"] == pytest.approx(52.92 / (0.5 - marginal))
    assert api.loc["suite-api", "price_source"] == "suite s"
    assert api.loc["mine", "api_input_per_mtok"] == 0.1
    assert api.loc["gpt-4o-mini", "api_per_mtok"] == pytest.approx(0.6)          # genai-prices output price
    assert api.loc["gpt-4o-mini", "price_source"].startswith("genai-prices ")
    assert set(api["provenance"]) == {"measured"}


def test_api_comparison_refuses_to_mix_currencies(tmp_path):
    write_run(tmp_path, llm_run(gpu_w=100, wall_w=120, idle_w=20, profile={"currency": "EUR"})[0])
    a = analyze(tmp_path, api_models=["gpt-4o-mini"])
    row = a.api.iloc[0]
    assert pd.isna(row["breakeven_mtok_per_month"]) and row["note"] == "price in USD, costs in EUR: not compared"
    assert one(a.figures, figure="electricity_per_mtok")["unit"] == "EUR/Mtok"


def test_unknown_api_model_is_a_user_error(tmp_path):
    write_run(tmp_path, llm_run(gpu_w=100, wall_w=120)[0])
    with pytest.raises(UserError, match="no price known for API model `no-such-model-xyz`"):
        analyze(tmp_path, api_models=["no-such-model-xyz"])


def test_bad_prices_mapping_is_a_user_error():
    with pytest.raises(UserError, match=r"prices.cloud_hourly.x: must be a number ≥ 0"):
        analyze([], prices={"cloud_hourly": {"x": -1}})
    with pytest.raises(UserError, match=r"unknown key `cloud_hour`.*did you mean `cloud_hourly`"):
        analyze([], prices={"cloud_hour": {}})


def test_cloud_payback(tmp_path):
    write_run(tmp_path, llm_run(gpu_w=200, wall_w=300, idle_w=100)[0])
    a = analyze(tmp_path, prices={"cloud_hourly": {"gpu-box": 1.0, "cheap": 0.05}}, hours_per_day=8)
    cloud = a.cloud.set_index("instance")
    assert cloud.loc["gpu-box", "payback_months"] == pytest.approx(3000 / 219.0)
    assert pd.isna(cloud.loc["cheap", "payback_months"])
    assert "never" in cloud.loc["cheap", "note"]
    by_util = analyze(tmp_path, prices={"cloud_hourly": {"gpu-box": 1.0}}, utilization=1 / 3).cloud.iloc[0]
    assert by_util["hours_per_day"] == pytest.approx(8) and by_util["payback_months"] == pytest.approx(3000 / 219.0)
    assert analyze(tmp_path, prices={"cloud_hourly": {"gpu-box": 1.0}}).cloud.iloc[0]["note"].startswith("give")


def test_utilization_from_caller_then_profile(tmp_path):
    rec = llm_run(gpu_w=200, wall_w=300, idle_w=100, profile={"utilization": 0.25})[0]
    write_run(tmp_path, rec)
    g = analyze(tmp_path).groups.iloc[0]
    assert (g["utilization"], g["utilization_source"]) == (0.25, "profile")
    assert g["all_in_per_mtok"] == pytest.approx(f.all_in_per_mtok(3000, 3, 300, 100, 0.2, throughput(rec), 0.25))
    g = analyze(tmp_path, utilization=0.5).groups.iloc[0]
    assert (g["utilization"], g["utilization_source"]) == (0.5, "caller")
    with pytest.raises(UserError, match=r"utilization.*\(0, 1\]"):
        analyze(tmp_path, utilization=0)


def test_hosted_api_runs_are_priced_per_request(tmp_path):
    # the openai backend's layout: metrics summed over the iteration's (here 2 concurrent) requests,
    # each request's usage in raw.requests[]
    metrics = [{"prompt_tokens": 2000, "gen_tokens": 400, "gen_s": 2.0, "tg_tok_s": 100.0,
                "input_tokens": 2000, "output_tokens": 400, "cache_read_tokens": 0}] * 3
    rec, _ = run_record("llm", metrics, warmups=0, backend="openai", workload="hosted", profile=False,
                        params={"model": "gpt-4o-mini", "base_url": "https://api.openai.com/v1", "concurrency": 2})
    for it in rec["iterations"]:
        usage = {"prompt_tokens": 1000, "completion_tokens": 200, "prompt_tokens_details": {"cached_tokens": 0}}
        it["raw"] = {"requests": [{"metrics": {}, "model": "gpt-4o-mini-2024-07-18", "usage": usage,
                                   "timings": None, "finish_reason": "length"}] * 2}
    write_run(tmp_path, rec)
    local, _ = run_record("llm", metrics, warmups=0, backend="openai", workload="local", profile=False,
                          session="20250101T000000Z-0005",
                          params={"model": "gpt-4o-mini", "base_url": "http://127.0.0.1:8000/v1"})
    write_run(tmp_path, local)
    a = analyze(tmp_path, api_models=["gpt-4o-mini"])
    g = one(a.groups, workload="hosted")
    per_request = (1000 * 0.15 + 200 * 0.6) / 1e6
    assert g["api_cost_per_request"] == pytest.approx(per_request)
    assert g["api_cost_per_mtok"] == pytest.approx(per_request / 200 * 1e6)
    its = a.group_iterations(g["group_id"])
    assert its["api_cost"].tolist() == pytest.approx([2 * per_request] * 3)
    assert its["api_requests"].tolist() == [2, 2, 2] and its["usage_output_tokens"].tolist() == [400] * 3
    assert g["api_price_source"].startswith("genai-prices")
    assert pd.isna(one(a.groups, workload="local")["api_cost_per_request"])
    assert set(a.api["workload"]) == {"local"}          # a hosted run is not compared with APIs
    cheap = analyze(tmp_path, prices={"api": {"gpt-4o-mini": {"input": 1.0, "output": 1.0}}})
    assert one(cheap.groups, workload="hosted")["api_cost_per_request"] == pytest.approx(1200 / 1e6)
    for it in rec["iterations"]:          # no raw usage: the iteration's summed token metrics
        del it["raw"]
    write_run(tmp_path, rec)
    g = one(analyze(tmp_path).groups, workload="hosted")
    assert g["api_cost_per_mtok"] == pytest.approx(per_request / 200 * 1e6)


def test_unreadable_files_are_skipped_with_a_warning(tmp_path):
    path = write_run(tmp_path, llm_run(gpu_w=200, wall_w=300)[0])
    bad = path.parent / "broken.json"
    bad.write_text("{not json", encoding="utf-8")
    (path.parent / "other.json").write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = analyze(tmp_path)
    messages = sorted(str(w.message) for w in caught)
    assert messages[0] == f"{bad}: skipped (not JSON: Expecting property name enclosed in double quotes: " \
                          "line 1 column 2 (char 1))"
    assert messages[1].startswith(f"{path.parent / 'other.json'}: skipped (run_id: missing)")
    assert len(a.groups) == 1
    assert sorted(Path(p).name for p, _ in a.skipped) == ["broken.json", "other.json"]


def test_samples_load_lazily_and_cross_check_the_record(tmp_path):
    rec, samples = llm_run(tok_s=[40, 42, 41], gpu_w=200, wall_w=300, idle_w=100, interval_s=0.02)
    write_run(tmp_path, rec, samples)
    a = analyze(tmp_path)
    assert a._samples is None                                 # nothing read yet
    s = a.samples
    assert len(s) == len(samples) and set(s["channel"]) == {"gpu0", "wall"}
    inside = s[s["index"] == 2]
    assert inside["t_s"].min() >= rec["iterations"][2]["mono_start_s"]
    assert inside["t_s"].max() <= rec["iterations"][2]["mono_end_s"]
    assert (s.loc[s["index"] == -1, "power_w"].isin([25.0, 100.0])).all()  # idle between iterations
    e = a.sample_energy
    assert len(e) == 4 * 2
    assert set(e.loc[e["channel"] == "gpu0", "source"]) == {"counter"}
    assert set(e.loc[e["channel"] == "wall", "source"]) == {"integrated"}
    assert e["diff_pct"].abs().max() < 1.0                    # only the edges differ from W × s


def test_no_records_gives_empty_tables_with_the_documented_columns(tmp_path):
    a = analyze(tmp_path)
    assert a.groups.empty and list(a.groups.columns) == tables.GROUP_COLUMNS
    assert list(a.figures.columns) == tables.FIGURE_COLUMNS and list(a.api.columns) == tables.API_COLUMNS
    assert a.samples.empty and a.sample_energy.empty


def test_docs_list_every_column():
    text = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    from benchbench.analysis import load, samples
    columns = (tables.GROUP_COLUMNS + tables.FIGURE_COLUMNS + tables.API_COLUMNS + tables.CLOUD_COLUMNS
               + tables.TTS_CLOUD_COLUMNS + tables.STAT_COLUMNS + load.RUN_COLUMNS + load.ITERATION_COLUMNS
               + load.ENERGY_COLUMNS + load.IDLE_COLUMNS + samples.SAMPLE_COLUMNS + samples.SAMPLE_ENERGY_COLUMNS)
    missing = sorted({c for c in columns if f"`{c}`" not in text})
    assert not missing, f"docs/analysis.md does not describe: {missing}"
