"""`benchbench report`: formats from extensions, the published comparison on its own, the text
summary, bad input, and a report of records written by the real runner against the earlier parts' fakes."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from report_helpers import find, html_tables, md_tables

ECONOMICS = "the-economics-of-owning-your-own-inference.md"


@pytest.fixture
def empty(tmp_path, monkeypatch):
    """A working folder without results/."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_reference_alone_renders_the_published_comparison(cli, empty):
    code, out, err = cli("report", "--reference", "-o", "ref.html")
    assert code == 0 and out == "" and "wrote ref.html" in err
    html = (empty / "ref.html").read_text(encoding="utf-8")
    t = html_tables(html)
    assert {"machines", "llm", "tts", "video", "economics_machines"} <= set(t)
    assert "warnings" not in t and "energy" not in t and "sweeps" not in t     # no data for those
    llm = t["llm"]
    p40 = find(llm, machine="p40-server", workload="llama3.1:8b", source="economics")
    assert p40["generation (tok/s)"] == ("47.50", "published") and p40["electricity (USD/Mtok)"][0] == "0.459"
    assert p40["tok/s per GPU W"][0] == "0.171"          # the article: 0.17
    strix = find(llm, machine="strix-halo", workload="llama3.1:8b", source="economics")
    assert strix["generation (tok/s)"][0] == "40.20" and strix["electricity (USD/Mtok)"][0] == "0.130"
    tts = t["tts"]
    assert find(tts, machine="m3-max", workload="qwen3-tts 2411 chars")["RTF"][0] == "2.97 ± 0.520 (n=3)"
    assert find(tts, machine="p40-server", workload="qwen3-tts 2411 chars")["best RTF"][0] == "7.14"
    clip = find(t["video"], machine="p40-server", workload="ltx-2.3 10s")
    assert clip["generation (min)"][0] == "18.50" and clip["cost (USD/clip)"][0] == "0.024"
    idle = find(t["economics_machines"], machine="p40-server", source="economics")
    assert idle["idle cost (USD/month)"][0] == "38.97" and idle["idle cost (USD/year)"][0] == "467.6"
    assert html.count("<figure") >= 5 and "Sources" in html and "Moore" not in html


def test_reference_alone_in_markdown_on_stdout(cli, empty):
    code, out, err = cli("report", "--reference", "--format", "md")
    assert code == 0
    assert out.startswith("# benchbench report") and "_Charts are left out here" in out
    rows = md_tables(out)["LLM speed, power and cost per model and machine"]
    assert find(rows, machine="strix-halo", workload="llama3.2:3b", source="[economics](https://tinycomputers.io/"
                "posts/the-economics-of-owning-your-own-inference.html)")["generation (tok/s)"] == "78.40"


def test_text_summary_on_stdout_is_unchanged(cli, tmp_path, monkeypatch):
    from analysis_helpers import llm_run, write_run

    write_run(tmp_path / "results", llm_run(workload="llama-8b")[0])
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("report")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["machine", "workload", "backend"] and "llama-8b" in lines[2]
    assert "generation 41.00 ± 1.00 tok/s" in lines[2] and len(lines) == 3     # registry label and unit
    code, out, _ = cli("report", "--reference")      # --reference adds the published runs to the summary
    assert code == 0 and "p40-server" in out and len(out.splitlines()) > 20


def test_json_to_stdout_is_only_json(cli, empty):
    code, out, err = cli("report", "--reference", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["records"] == 0 and doc["reference"] is True
    assert find(doc["tables"]["groups"], machine="strix-halo", workload="llama3.1:8b",
                source=ECONOMICS)["tg_tok_s"] == 40.2


@pytest.mark.parametrize("args, message", [
    (["-o", "report.pdf"], "report.pdf: cannot tell the report format from the file name"),
    (["--format", "csv"], "the csv format writes several files"),
    (["--no-reference", "-o", "r.html"], "no records found in results/"),
    (["--utilization", "0", "-o", "r.html"], "utilization must be in (0, 1]"),
    (["missing/", "-o", "r.html"], "missing: no such file or folder"),
])
def test_bad_input_is_one_line_and_exit_2(cli, empty, args, message):
    code, out, err = cli("report", *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_csv_into_a_folder_and_beside_a_file(cli, empty):
    code, _, err = cli("report", "--reference", "--format", "csv", "-o", "tables")
    assert code == 0 and (empty / "tables" / "llm.csv").exists() and (empty / "tables" / "tts_runs.csv").exists()
    code, _, err = cli("report", "--reference", "-o", "pub.csv")
    assert code == 0 and (empty / "pub_llm.csv").exists() and "wrote pub_video.csv" in err


def test_report_of_records_from_the_runner_and_the_fake_servers(cli, tmp_path):
    """Real records: the runner against the fake Ollama server (with a num_ctx × concurrency matrix) and
    the espeak-ng TTS backend, power declared by the profile."""
    from fakes_llm_servers import FakeOllama, suite_file

    profile = tmp_path / "lab.yaml"
    profile.write_text(yaml.safe_dump({"name": "lab-box", "electricity_per_kwh": 0.3, "currency": "EUR",
                                       "hardware_cost": 1500, "amortization_years": 3, "idle_w": 40,
                                       "load_w": 180}), encoding="utf-8")
    workloads = [{"name": "chat", "kind": "llm", "backend": "ollama", "model": "llama3.2:3b", "max_tokens": 16},
                 {"name": "ctx", "kind": "llm", "backend": "ollama", "model": "llama3.2:3b", "max_tokens": 16,
                  "matrix": {"options.num_ctx": [2048, 8192], "concurrency": [1, 2]}}]
    if shutil.which("espeak-ng"):
        workloads.append({"name": "speak", "kind": "tts", "backend": "espeak-ng",
                          "text": "The quick brown fox jumps over the lazy dog. " * 4})
    with FakeOllama(tg_tok_s=400.0, vram_fraction=0.5) as fake:
        for w in workloads[:2]:
            w["host"] = fake.url
        suite = suite_file(tmp_path, workloads, warmups=1, repetitions=2)
        data = yaml.safe_load(suite.read_text(encoding="utf-8"))
        suite.write_text(yaml.safe_dump({**data, "power": {"samplers": ["declared"]}}), encoding="utf-8")
        code, _, _ = cli("run", suite, "--machine", profile, "--results", tmp_path / "results")
    assert code == 0
    code, _, err = cli("report", tmp_path / "results", "-o", tmp_path / "r.html", "--no-reference")
    assert code == 0, err
    t = html_tables((tmp_path / "r.html").read_text(encoding="utf-8"))
    chat = find(t["llm"], workload="chat")
    assert chat["machine"][0] == "lab-box" and chat["generation (tok/s)"][0].endswith("(n=2)")
    assert chat["system (W)"] == ("180.0", "declared") and chat["electricity (EUR/Mtok)"][1] == "estimated"
    assert sorted((r["num_ctx"][0], r["concurrency"][0]) for r in t["sweeps"]) == [
        ("2048", "1"), ("2048", "2"), ("8192", "1"), ("8192", "2")]
    partial = find(t["warnings"], warning="model_partially_on_cpu")
    assert "only 50% of llama3.2:3b" in partial["what happened"][0] and partial["runs"][0] == "5"
    assert "Lower num_ctx" in partial["what to do"][0]
    if shutil.which("espeak-ng"):
        runs = [r for r in t["tts_runs"] if r["workload"][0] == "speak"]
        assert [r["warmup"][0] for r in runs] == ["yes", "", ""] and all(float(r["RTF"][0]) < 1 for r in runs)
        assert find(t["warnings"], warning="short_benchmark")["machine"][0] == "lab-box"


def test_a_broken_power_samples_file_is_one_warning_line_and_a_report_warning(cli, tmp_path, monkeypatch):
    """A samples file without the sample columns: the power chart goes without it, the terminal gets one
    `warning:` line (no Python warning text) and the report lists it among its warnings."""
    from report_helpers import rich_results

    rich_results(tmp_path / "results")
    [broken] = sorted((tmp_path / "results").rglob("*llama-3b.power.csv"))
    broken.write_text("a,b\n1,2\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("report", "results", "-o", "r.html")
    said = f"{broken.relative_to(tmp_path)}: power samples skipped (no t_s, channel, power_w column)"
    assert code == 0 and f"warning: {said}\n" in err and "InputSkipped" not in err and "warnings.warn" not in err
    rows = html_tables((tmp_path / "r.html").read_text(encoding="utf-8"))["warnings"]
    row = find(rows, warning="analysis")
    assert row["what happened"][0] == said and row["what to do"][0].startswith("The input named was left out")
    code, out, _ = cli("report", "results", "--format", "json")
    assert code == 0 and json.loads(out)["notices"] == [said]
