"""Each format rendered from synthetic records in the real layout (plus the published reference
figures), asserting on table contents: numbers, labels and provenance."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from report_helpers import find, html_tables, md_tables, rich_results

from benchbench.analysis import formulas as f
from benchbench.reports import build_report, write_report
from benchbench.reports.fmt import number

ECONOMICS = "the-economics-of-owning-your-own-inference.md"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    rich_results(root / "results")
    return root


@pytest.fixture(scope="module")
def report(folder):
    return build_report([folder / "results"], reference=True)


@pytest.fixture(scope="module")
def html(report, folder) -> str:
    write_report(report, folder / "report.html")
    return (folder / "report.html").read_text(encoding="utf-8")


def table(report, name):
    return next(t for t in report.tables() if t.name == name)


def test_sections_in_order_each_only_with_data(report):
    assert [s.id for s in report.sections] == ["verdict", "warnings", "machines", "llm", "sweeps", "tts", "video",
                                               "workload", "economics", "power"]
    assert report.n_records == 12 and report.machines == ["gpu-box", "mini-pc"]
    assert {"p40-server", "strix-halo", "m3-max", "aws-1x-t4"} <= set(report.published_machines)


def test_llm_table_raw_values(report):
    rows = table(report, "llm").rows
    box = find(rows, machine="gpu-box", workload="llama-8b")
    assert (box["tg_tok_s"], box["tg_tok_s_stdev"], box["tg_tok_s_n"]) == pytest.approx((51.0, 1.0, 3))
    assert (box["gpu_w"], box["system_w"], box["system_basis"]) == (pytest.approx(250), pytest.approx(400), "wall")
    r = _throughput(report, "gpu-box", "llama-8b")
    assert box["output_tok_s"] == pytest.approx(r) and r < 51   # the machine's rate, prompt time included
    assert box["j_per_token"] == pytest.approx(400 / r)
    assert box["electricity_per_mtok"] == pytest.approx(400 * (1e6 / r) / 3.6e6 * 0.25)
    assert box["all_in_per_mtok"] == pytest.approx((4000 / (2 * 8760) + 0.4 * 0.25) / (r * 3600 / 1e6))
    assert box["roofline_pct"] == pytest.approx(51 / (900e9 / 4.9e9) * 100)
    assert box["_prov"]["system_w"] == "measured" and box["_prov"]["all_in_per_mtok"] == "measured"
    mini = find(rows, machine="mini-pc", workload="llama-8b")
    assert (mini["tg_tok_s"], mini["tg_tok_s_n"]) == (pytest.approx(40.5), 2)   # the failed iteration left out
    assert mini["system_w"] == pytest.approx(120) and mini["_prov"]["system_w"] == "estimated"
    assert mini["_prov"]["electricity_per_mtok"] == "estimated"
    pub = find(rows, machine="p40-server", workload="llama3.1:8b", source=ECONOMICS)
    assert pub["tg_tok_s"] == 47.5 and pub["provenance"] == "published" and pub["_prov"]["tg_tok_s"] == "published"
    assert pub["all_in_per_mtok"] == pytest.approx(1.2935, abs=1e-4)
    models = [r["model"] for r in rows]
    assert models.index("llama3.1:8b") < models.index("gpt-oss:120b")   # measured models first


def _throughput(report, machine: str, workload: str) -> float:
    """Σ output tokens ÷ Σ seconds of a group's measured iterations, from the analyzer's iterations table."""
    a = report.analysis
    gid = a.groups[(a.groups["machine"] == machine) & (a.groups["workload"] == workload)]["group_id"].iloc[0]
    its = a.group_iterations(gid)
    return float(its["output_tokens"].sum() / its["duration_s"].sum())


def test_html_shows_the_numbers_with_provenance(html, report):
    t = html_tables(html)
    box = find(t["llm"], machine="gpu-box", workload="llama-8b")
    assert box["generation (tok/s)"] == ("51.00 ± 1.00 (n=3)", "measured")
    r = _throughput(report, "gpu-box", "llama-8b")
    assert box["throughput (tok/s)"] == (number(r), "measured")
    assert box["system (W)"] == ("400.0", "measured")
    assert box["electricity (USD/Mtok)"][0] == number(400 * (1e6 / r) / 3.6e6 * 0.25)
    mini = find(t["llm"], machine="mini-pc", workload="llama-8b")
    assert mini["system (W)"] == ("120.0", "estimated") and mini["generation (tok/s)"][0] == "40.50 ± 0.707 (n=2)"
    assert '<td class="num" data-provenance="estimated" title="estimated">120.0 <span class="prov prov-estimated">' \
           'est.</span></td>' in html
    pub = [r for r in t["llm"] if r["machine"][0] == "p40-server" and r["workload"][0] == "llama3.1:8b"]
    assert {r["generation (tok/s)"][0] for r in pub} == {"47.50", "47.80"}
    assert {r["source"][0] for r in pub} == {"economics", "P40 home lab"}
    assert 'href="https://tinycomputers.io/posts/the-economics-of-owning-your-own-inference.html"' in html
    assert html.count('<tr class="published">') > 20


def test_html_warnings_first_with_what_to_do(html):
    t = html_tables(html)
    assert html.index('id="warnings"') < html.index('id="machines"') < html.index('id="llm"')
    failed = find(t["warnings"], warning="iteration_failed")
    assert failed["machine"][0] == "mini-pc" and "HTTP 500: CUDA error: out of memory" in failed["what happened"][0]
    assert find(t["warnings"], warning="run_interrupted")["what to do"][0].startswith("Resume it with")
    # power_estimated is a note: not among the warnings, said once beside the machine's profile
    assert not [r for r in t["warnings"] if r["warning"][0] == "power_estimated"]
    notes = find(t["machines"], machine="mini-pc")["notes"][0]
    assert notes.count("power_estimated") == 1 and "40 W non_gpu_overhead_w" in notes


def test_tts_runs_mark_warmups_and_the_first_run_penalty(report, html):
    runs = [r for r in table(report, "tts_runs").rows if r["machine"] == "gpu-box"]
    assert [(r["run"], r["warmup"], r["rtf"]) for r in runs] == [(1, True, 4.0), (2, False, 2.5), (3, False, 2.0),
                                                                 (4, False, 2.6)]
    box = find(table(report, "tts").rows, machine="gpu-box")
    assert box["rtf"] == pytest.approx(7.1 / 3) and box["rtf_best"] == pytest.approx(2.0)
    assert box["first_run_penalty_pct"] == pytest.approx((4.0 / 2.5 - 1) * 100)
    assert box["cost_per_audio_hour"] == pytest.approx(260 * (7.1 / 3) * 3600 / 3.6e6 * 0.25)
    m3 = find(table(report, "tts").rows, machine="m3-max", workload="qwen3-tts 2411 chars")
    assert m3["rtf"] == pytest.approx((3.53 + 2.89 + 2.50) / 3) and m3["rtf_best"] == 2.50
    assert m3["first_run_penalty_pct"] == pytest.approx((3.53 / ((2.89 + 2.50) / 2) - 1) * 100)
    assert '<tr class="warmup">' in html
    cloud = find(table(report, "tts_cloud").rows, machine="gpu-box", service="cloud-tts")
    assert cloud["cloud_per_audio_hour"] == pytest.approx(16 / 1e6 * (2400 / (32 / 3)) * 3600)


def test_video_stages_memory_energy_and_cost(report):
    rows = table(report, "video").rows
    ten = find(rows, machine="gpu-box", workload="ltx 10s")
    assert ten["gen_s"] == 700 and ten["gen_min"] == pytest.approx(700 / 60) and ten["frames"] == 241
    assert (ten["stage:stage1"], ten["stage:stage2"], ten["stage:decode"]) == pytest.approx((280, 350, 20))
    assert (ten["mem:cuda:0"], ten["mem:cuda:1"]) == (10.8, 9.3)
    assert ten["wh_per_clip"] == pytest.approx(600 * 700 / 3600)
    assert ten["cost_per_clip"] == pytest.approx(600 * 700 / 3.6e6 * 0.25)
    four = find(rows, machine="gpu-box", workload="ltx 4s")
    assert (four["gen_s"], four["gen_s_stdev"], four["gen_s_n"]) == (pytest.approx(310), pytest.approx(14.142, 1e-3), 2)
    ltx = find(rows, machine="p40-server", workload="ltx-2.3 10s")
    assert ltx["gen_min"] == pytest.approx(18.5) and ltx["cost_per_clip"] == pytest.approx(0.024, abs=5e-4)


def test_sweeps_and_economics(report):
    sweep = table(report, "sweeps").rows
    assert [(r["m:options.num_ctx"], r["m:concurrency"], r["tg_tok_s"]) for r in sweep] == [
        (2048, 1, 55.0), (2048, 4, 40.0), (8192, 1, 48.0), (8192, 4, 33.0)]
    four = find(sweep, **{"m:options.num_ctx": 2048, "m:concurrency": 4})
    assert four["output_tok_s"] == pytest.approx(_throughput(report, "gpu-box", four["workload"]))
    assert four["output_tok_s"] > 3.5 * four["tg_tok_s"]          # four streams of 40 tok/s
    charts = [c.name for c in report.section("sweeps").charts()]
    assert charts == ["sweep-ctx-num_ctx", "sweep-ctx-concurrency"]
    money = find(table(report, "economics_machines").rows, machine="gpu-box")
    assert money["amortization_per_hour"] == pytest.approx(4000 / (2 * 8760))
    assert money["idle_cost_per_month"] == pytest.approx(90 / 1000 * 730 * 0.25)
    assert money["fixed_per_month"] == pytest.approx(4000 / 24 + 90 / 1000 * 730 * 0.25)
    be = find(table(report, "breakeven").rows, machine="gpu-box", workload="llama-8b", api="premium-api")
    r = _throughput(report, "gpu-box", "llama-8b")
    marginal = (400 - 90) * (1e6 / r) / 3.6e6 * 0.25
    assert be["breakeven_mtok_per_month"] == pytest.approx(money["fixed_per_month"] / (10.0 - marginal))
    assert be["capacity_mtok_per_month"] == pytest.approx(r * 3600 * 730 / 1e6)
    cheap = find(table(report, "breakeven").rows, machine="gpu-box", workload="llama-8b", api="fast-api-8b")
    assert cheap["breakeven_mtok_per_month"] is None and cheap["note"].startswith("beyond what the machine")
    payback = find(table(report, "payback").rows, machine="gpu-box", workload="llama-8b", instance="rented-gpu")
    assert payback["note"] == "give hours_per_day (or a utilization)"
    curves = [c.name for c in report.section("economics").charts()]
    assert "economics-utilization-llama3.1_8b-usd" in curves


def test_power_energy_per_channel_and_plots(report):
    energy = table(report, "energy").rows
    wall = find(energy, machine="gpu-box", workload="llama-8b", channel="wall")
    assert wall["avg_w"] == pytest.approx(400) and wall["source"] == "integrated" and wall["n"] == 3
    gpu = find(energy, machine="gpu-box", workload="llama-8b", channel="gpu0")
    durations = [0.1 + 256 / r for r in (50.0, 52.0, 51.0)]
    assert gpu["source"] == "counter" and gpu["joules"] == pytest.approx(250 * sum(durations) / 3)
    system = find(energy, machine="mini-pc", workload="llama-8b", channel="system")
    assert system["provenance"] == "estimated" and system["basis"] == "gpu+cpu+overhead"
    charts = report.section("power").charts()
    assert len(charts) == 5 and all(c.title.startswith("Power over time: gpu-box") for c in charts)


def test_markdown_tables_and_png_files(report, folder):
    written = write_report(report, folder / "post.md")
    text = (folder / "post.md").read_text(encoding="utf-8")
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(pngs) == len(report.charts()) and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert all(f"](post_files/{p.name})" in text for p in pngs)
    t = md_tables(text)
    box = find(t["LLM speed, power and cost per model and machine"], machine="gpu-box", workload="llama-8b")
    assert box["generation (tok/s)"] == "51.00 ± 1.00 (n=3)" and box["system (W)"] == "400.0"
    mini = find(t["LLM speed, power and cost per model and machine"], machine="mini-pc")
    assert mini["system (W)"] == "120.0 *est.*"
    runs = t["TTS runs"]
    assert find(runs, machine="gpu-box", run="1")["warmup"] == "yes"
    assert "| iteration\\_failed | mini-pc |" in text


def test_csv_one_file_per_table_raw_values(report, folder):
    written = write_report(report, folder / "out.csv")
    assert sorted(p.name for p in written) == sorted(f"out_{t.name}.csv" for t in report.tables())
    with open(folder / "out_llm.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    box = find(rows, machine="gpu-box", workload="llama-8b")
    assert float(box["tg_tok_s"]) == 51.0 and box["tg_tok_s_n"] == "3" and float(box["tg_tok_s_stdev"]) == 1.0
    assert box["system_w_provenance"] == "measured"
    assert find(rows, machine="mini-pc", workload="llama-8b")["system_w_provenance"] == "estimated"
    folder_out = write_report(report, folder / "tables", "csv")
    assert (folder / "tables" / "tts_runs.csv") in folder_out


def test_json_holds_the_analyzer_tables(report, folder):
    write_report(report, folder / "report.json")
    doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert set(doc["tables"]) == {"groups", "stats", "figures", "api", "cloud", "tts_cloud", "runs", "iterations",
                                  "energy", "idle"}
    box = find(doc["tables"]["groups"], machine="gpu-box", workload="llama-8b")
    assert box["tg_tok_s"] == pytest.approx(51.0) and box["derived_provenance"] == "measured"
    assert doc["reference"] is True and doc["records"] == 12
    assert find(doc["report_tables"]["tts_runs"], machine="gpu-box", run=1)["warmup"] is True
    assert {s["file"] for s in doc["sources"]} >= {"the-economics-of-owning-your-own-inference.md"}


def test_no_reference_leaves_every_published_figure_out(folder):
    report = build_report([folder / "results"], reference=False)
    assert not report.sources and all(r.get("provenance") != "published" for t in report.tables() for r in t.rows)
    assert {r["machine"] for r in table(report, "llm").rows} == {"gpu-box", "mini-pc"}


def test_formulas_agree_with_the_llm_cost_columns(report):
    box = find(table(report, "llm").rows, machine="gpu-box", workload="llama-3b")
    r = _throughput(report, "gpu-box", "llama-3b")
    assert box["all_in_per_mtok"] == pytest.approx(f.all_in_per_mtok(4000, 2, 330, 90, 0.25, r, 1.0))


def test_every_metric_column_takes_its_label_and_unit_from_the_registry(report):
    import re

    from benchbench import metrics

    seen = set()
    for t in report.tables():
        for col in t.columns:
            m = metrics.lookup(col.key)
            if m is None:
                continue
            seen.add(col.key)
            assert col.header == m.label, (t.name, col.key)
            unit = re.escape(m.shown_unit).replace(r"\{cur\}", "(USD|cur\\.)")
            assert re.fullmatch(unit, col.unit), (t.name, col.key, col.unit)
    assert {"tg_tok_s", "output_tok_s", "j_per_token", "electricity_per_mtok", "rtf", "cost_per_clip"} <= seen


def test_only_the_analysis_own_notices_become_report_warnings(folder, monkeypatch):
    """Input the analysis left out is listed among the warnings; a library's warning raised meanwhile (a
    deprecation, say) is no validity warning of the results: it goes on to the terminal as it came."""
    import importlib
    import warnings

    from benchbench.errors import InputSkipped

    build = importlib.import_module("benchbench.reports.build")

    real = build.analyze

    def analyze(*args, **kwargs):
        warnings.warn("prices.json: prices ignored (line 3: no model)", InputSkipped, stacklevel=2)
        warnings.warn("a library's deprecation", FutureWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "analyze", analyze)
    with pytest.warns(FutureWarning, match="a library's deprecation"):
        report = build_report([folder / "results"], reference=True)
    rows = table(report, "warnings").rows
    assert [r["message"] for r in rows if r["code"] == "analysis"] == ["prices.json: prices ignored (line 3: no model)"]
    assert not [r for r in rows if "deprecation" in r["message"]]
    assert next(s for s in report.sections if s.id == "warnings").title == f"Warnings ({len(rows)})"
