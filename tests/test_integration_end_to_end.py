"""The product as a user meets it, on CPU and offline: one suite in a temp folder with a machine profile and
declared power runs the transformers backend (a prompt_tokens matrix), espeak-ng, the tiny LTX-2 pipeline and
the ollama backend against the fake Ollama server, all through `benchbench run`; then `benchbench report`
writes HTML, Markdown, CSV and JSON (with and without the published figures) and `benchbench cost` recomputes
the money from the measured speed. Every figure checked here is recomputed from the records themselves."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import statistics
from typing import Any

import pytest
import yaml
from fakes_llm_servers import FakeOllama
from report_helpers import find, html_tables, md_tables

from benchbench.cli import main
from benchbench.record import load_records
from benchbench.reports.fmt import number, stat_text

pytest.importorskip("diffusers")
pytest.importorskip("imageio_ffmpeg")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

PROFILE = {"name": "e2e-box", "electricity_per_kwh": 0.25, "currency": "USD", "hardware_cost": 1800,
           "amortization_years": 3, "idle_w": 45, "load_w": 180, "non_gpu_overhead_w": 60,
           "memory_bandwidth_gbs": 50}
P, IDLE, C, H, Y = 180.0, 45.0, 0.25, 1800.0, 3.0      # the profile's figures, for the formulas below
STAGES = ("text_encode", "stage1", "upsample", "stage2", "decode")
TEXT = "Short benchmarks lie; this one only checks that every part fits together."
LLM_METRICS = {"prompt_tokens", "prompt_s", "pp_tok_s", "gen_tokens", "gen_s", "tg_tok_s", "ttft_s", "e2e_s",
               "done_reason"}


def _workloads(ollama_url: str) -> list[dict[str, Any]]:
    return [
        {"name": "tiny", "kind": "llm", "backend": "transformers", "architecture": "tiny-llama",
         "weights": "dummy", "device": "cpu", "max_tokens": 4, "matrix": {"prompt_tokens": [8, 32]}},
        {"name": "speak", "kind": "tts", "backend": "espeak-ng", "text": TEXT},
        {"name": "clip", "kind": "video", "backend": "ltx2", "weights": "dummy", "architecture": "tiny",
         "devices": "cpu", "steps": [1, 1], "warmups": 0, "repetitions": 1},
        {"name": "chat", "kind": "llm", "backend": "ollama", "host": ollama_url, "model": "llama3.2:3b",
         "max_tokens": 12, "retries": 0},
    ]


def _cli(*args: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def journey(tmp_path_factory) -> dict[str, Any]:
    """Run the suite and write every report once; the tests below read what came out."""
    root = tmp_path_factory.mktemp("e2e")
    (root / "box.yaml").write_text(yaml.safe_dump(PROFILE), encoding="utf-8")
    with FakeOllama(tg_tok_s=400.0, gen_len=12) as fake:
        suite = {"name": "e2e", "machine": "box.yaml", "warmups": 1, "repetitions": 2,
                 "power": {"samplers": ["declared"]}, "workloads": _workloads(fake.url)}
        (root / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
        code, out, err = _cli("run", root / "suite.yaml", "--results", root / "results")
    assert code == 0, err
    res = {"root": root, "run_out": out}
    for name, file, *flags in (("html", "report.html"), ("md", "report.md"), ("csv", "tables.csv"),
                               ("html_mine", "mine.html", "--no-reference"), ("md_mine", "mine.md", "--no-reference")):
        code, _, err = _cli("report", root / "results", *flags, "-o", root / file)
        wrote = root / ("tables_llm.csv" if name == "csv" else file)      # -o NAME.csv writes NAME_<table>.csv
        assert code == 0 and f"wrote {wrote}" in err, err
        res[name] = None if name == "csv" else (root / file).read_text(encoding="utf-8")
    code, out, err = _cli("report", root / "results", "--format", "json")     # JSON alone on stdout
    assert code == 0, err
    res["json"] = json.loads(out)
    res["records"] = {r["workload"]["name"]: r for r in load_records([root / "results"])
                      if r.get("type", "run") == "run"}
    return res


def _measured(rec: dict[str, Any], metric: str) -> list[float]:
    return [it["metrics"][metric] for it in rec["iterations"] if not it["warmup"] and not it.get("error")]


def _throughput(rec: dict[str, Any]) -> float:
    """The machine's output throughput: Σ output tokens ÷ Σ seconds of the measured iterations."""
    its = [it for it in rec["iterations"] if not it["warmup"] and not it.get("error")]
    return sum(it["metrics"]["output_tokens"] for it in its) / sum(it["duration_s"] for it in its)


def _stat(rec: dict[str, Any], metric: str) -> str:
    """The mean ± sample stdev (n) of the record's measured iterations, as the report writes it."""
    values = _measured(rec, metric)
    return stat_text(statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None, len(values))


def _money(tok_s: float) -> tuple[float, float]:
    """Electricity and all-in (full use) per million tokens from the design card's formulas."""
    mtok_per_h = tok_s * 3600 / 1e6
    electricity = P * (1e6 / tok_s) / 3.6e6 * C
    all_in = (H / (Y * 8760) + P / 1000 * C) / mtok_per_h
    return electricity, all_in


def _md_cell(cell: str) -> tuple[str, str | None]:
    """A Markdown cell split into its text and its provenance mark."""
    for mark, label in (("*est.*", "estimated"), ("*decl.*", "declared"), ("*pub.*", "published")):
        if cell.endswith(" " + mark):
            return cell.removesuffix(" " + mark), label
    return cell, None


def test_every_record_is_complete(journey):
    recs = journey["records"]
    assert set(recs) == {"tiny[prompt_tokens=8]", "tiny[prompt_tokens=32]", "speak", "clip", "chat"}
    for name, rec in recs.items():
        assert rec["status"] == "complete" and rec["finished_at"] and not rec["errors"], name
        assert rec["machine"]["name"] == "e2e-box" and rec["machine"]["profile"]["idle_w"] == 45
        assert rec["power"]["samplers"] == ["declared"] and rec["power"]["system_basis"] == "declared"
        assert rec["idle"] == {"system": 45.0} and rec["idle_source"]["source"] == "declared"
        assert "power_estimated" in {w["code"] for w in rec["warnings"]}
        expected = [False] if name == "clip" else [True, False, False]
        assert [it["warmup"] for it in rec["iterations"]] == expected, name
        for it in rec["iterations"]:
            assert "error" not in it and it["duration_s"] > 0
            energy = it["energy"]["system"]
            assert (energy["source"], energy["basis"], energy["avg_w"]) == ("declared", "declared", 180.0)
            assert energy["joules"] == pytest.approx(180.0 * (it["mono_end_s"] - it["mono_start_s"]), rel=1e-9)
            m = it["metrics"]
            if rec["workload"]["kind"] == "llm":
                assert LLM_METRICS <= set(m) and m["tg_tok_s"] == pytest.approx((m["gen_tokens"] - 1) / m["gen_s"])
                assert m["output_tok_s"] == pytest.approx(m["output_tokens"] / it["duration_s"])
            elif rec["workload"]["kind"] == "tts":
                assert m["rtf"] == pytest.approx(m["gen_s"] / m["audio_s"]) and m["chars"] == len(TEXT)
            else:
                assert set(m["stages_s"]) == set(STAGES) and sum(m["stages_s"].values()) <= m["gen_s"]
                assert (m["frames"], m["width"], m["height"], m["video_s"]) == (9, 64, 64, pytest.approx(9 / 24))
    assert [recs[f"tiny[prompt_tokens={n}]"]["iterations"][1]["metrics"]["prompt_tokens"] for n in (8, 32)] == [8, 32]
    assert recs["tiny[prompt_tokens=8]"]["workload"]["matrix"] == {"prompt_tokens": 8}
    # building a 0.1M-parameter model takes milliseconds; the library's first import (seconds) is not load_s
    assert all(recs[f"tiny[prompt_tokens={n}]"]["workload"]["facts"]["load_s"] < 1.0 for n in (8, 32))
    assert recs["chat"]["workload"]["facts"]["model_size_bytes"] == 2_019_393_189   # the fake's /api/show
    assert "complete" in journey["run_out"] and "chat" in journey["run_out"]


LLM_ROWS = {"chat": "llama3.2:3b", "tiny[prompt_tokens=8]": "tiny-llama", "tiny[prompt_tokens=32]": "tiny-llama"}


def test_llm_section_shows_each_measured_row_with_its_money(journey):
    recs = journey["records"]
    html = html_tables(journey["html"])["llm"]
    md = md_tables(journey["md"])["LLM speed, power and cost per model and machine"]
    for workload, model in LLM_ROWS.items():
        rec = recs[workload]
        electricity, all_in = _money(_throughput(rec))
        escaped = workload.replace("_", "\\_").replace("[", "\\[").replace("]", "\\]")
        md_row = {k: _md_cell(v) for k, v in find(md, machine="e2e-box", workload=escaped).items()}
        for row, measured in ((find(html, machine="e2e-box", workload=workload), "measured"), (md_row, None)):
            assert row["model"][0] == model and row["data"][0] == "measured"
            assert row["generation (tok/s)"] == (_stat(rec, "tg_tok_s"), measured)
            assert row["system (W)"] == ("180.0", "declared")
            assert row["electricity (USD/Mtok)"] == (number(electricity), "estimated")
            assert row["all-in (USD/Mtok)"] == (number(all_in), "estimated")
            assert row["system power from"][0] == "declared"
    chat = find(html, machine="e2e-box", workload="chat")
    roofline_tok_s = 50e9 / 2_019_393_189        # memory_bandwidth_gbs ÷ the model's bytes
    assert chat["of roofline"][0] == f"{statistics.mean(_measured(recs['chat'], 'tg_tok_s')) / roofline_tok_s:.0%}"


def test_sweep_section_shows_the_prompt_tokens_matrix(journey):
    recs = journey["records"]
    rows = html_tables(journey["html"])["sweeps"]
    assert sorted(r["prompt_tokens"][0] for r in rows) == ["32", "8"] and len(rows) == 2
    for n in (8, 32):
        rec = recs[f"tiny[prompt_tokens={n}]"]
        row = find(rows, workload="tiny", prompt_tokens=str(n))
        assert row["generation (tok/s)"][0] == _stat(rec, "tg_tok_s")
        assert row["prefill (tok/s)"][0] == number(statistics.mean(_measured(rec, "pp_tok_s")))
    md = md_tables(journey["md"])["Matrix runs"]
    assert {r["prompt\\_tokens"] for r in md} == {"8", "32"}
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="tiny: tok/s against prompt_tokens"',
                     journey["html"])
    png = journey["root"] / "report_files" / "sweep-tiny-prompt_tokens.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({png.parent.name}/{png.name})" in journey["md"]


def test_tts_section_lists_every_run_with_warmups_marked(journey):
    rec = journey["records"]["speak"]
    tables = html_tables(journey["html"])
    runs = [r for r in tables["tts_runs"] if r["machine"][0] == "e2e-box"]
    assert [r["run"][0] for r in runs] == ["1", "2", "3"] and [r["warmup"][0] for r in runs] == ["yes", "", ""]
    for row, it in zip(runs, rec["iterations"]):
        assert row["RTF"][0] == number(it["metrics"]["rtf"]) and row["chars"][0] == str(len(TEXT))
        assert row["audio (s)"][0] == number(it["metrics"]["audio_s"])
    assert len(re.findall(r'<tr class="warmup"><td>e2e-box</td><td>speak</td>', journey["html"])) == 1
    row = find(tables["tts"], machine="e2e-box", workload="speak")
    assert row["RTF"] == (_stat(rec, "rtf"), "measured")
    assert row["best RTF"][0] == number(min(_measured(rec, "rtf")))
    assert row["cost (USD/audio h)"][1] == "estimated" and row["system (W)"] == ("180.0", "declared")
    cloud = find(tables["tts_cloud"], machine="e2e-box", **{"cloud TTS": "gcp_standard"})   # published price
    chars_per_audio_s = statistics.mean(_measured(rec, "chars")) / statistics.mean(_measured(rec, "audio_s"))
    assert cloud["cloud (USD/audio h)"] == (number(16 / 1e6 * chars_per_audio_s * 3600), "measured")
    assert cloud["local (USD/audio h)"][1] == "estimated"                       # declared power
    md_runs = [r for r in md_tables(journey["md"])["TTS runs"] if r["machine"] == "e2e-box"]
    assert [r["warmup"] for r in md_runs] == ["yes", "", ""]


def test_video_section_shows_stages_and_clip_length(journey):
    it = journey["records"]["clip"]["iterations"][0]["metrics"]
    row = find(html_tables(journey["html"])["video"], machine="e2e-box", workload="clip")
    assert (row["resolution"][0], row["frames"][0], row["clip (s)"][0]) == ("64x64", "9", number(9 / 24))
    assert row["generation (s)"][0] == stat_text(it["gen_s"], None, 1)
    for stage in STAGES:
        assert row[f"{stage} (s)"][0] == number(it["stages_s"][stage])
    assert row["cost (USD/clip)"] == (number(P * it["gen_s"] / 3.6e6 * C), "estimated")
    assert 'alt="Generation time per clip by stage"' in journey["html"]


def test_economics_idle_cost_and_cost_command_agree(journey):
    tables = html_tables(journey["html"])
    idle_month, idle_year = IDLE / 1000 * 730 * C, IDLE / 1000 * 8760 * C
    assert (idle_month, idle_year) == (pytest.approx(8.2125), pytest.approx(98.55))
    row = find(tables["economics_machines"], machine="e2e-box")
    assert row["idle (W)"] == ("45.00", "declared")
    assert row["idle cost (USD/month)"] == (number(idle_month), "estimated") == ("8.21", "estimated")
    assert row["idle cost (USD/year)"][0] == number(idle_year)
    assert row["amortization (USD/h)"] == (number(H / (Y * 8760)), "declared")
    assert find(tables["machines"], machine="e2e-box")["idle from"][0].startswith("profile idle_w (run record ")
    mine = [r for r in tables["breakeven"] if r["machine"][0] == "e2e-box"]
    assert mine and all(r["local marginal (USD/Mtok)"][1] == "estimated" for r in mine)   # declared power
    assert all(r["local fixed (USD/month)"] == (number(H / (Y * 12) + idle_month), "estimated") for r in mine)

    tok_s = _throughput(journey["records"]["chat"])
    code, out, err = _cli("cost", "--machine", journey["root"] / "box.yaml", "--tok-s", repr(tok_s), "--json")
    assert code == 0 and err == ""
    cost = json.loads(out)
    electricity, all_in = _money(tok_s)
    assert cost["electricity_per_mtok"] == pytest.approx(electricity, rel=1e-12)
    assert cost["all_in_per_mtok"] == pytest.approx(all_in, rel=1e-12)
    assert cost["idle_cost_per_month"] == pytest.approx(idle_month, rel=1e-12)
    chat = find(tables["llm"], machine="e2e-box", workload="chat")
    assert chat["all-in (USD/Mtok)"][0] == number(cost["all_in_per_mtok"])
    assert chat["electricity (USD/Mtok)"][0] == number(cost["electricity_per_mtok"])


def test_warnings_come_first_and_published_rows_are_labelled(journey):
    html, md = journey["html"], journey["md"]
    # the verdict opens the report (Part 13); the warnings come right after it
    assert re.findall(r'<section id="([a-z]+)"', html)[:3] == ["verdict", "warnings", "machines"]
    assert re.findall(r"^## (.+)$", md, re.M)[0] == "Verdict"
    assert re.findall(r"^## (.+)$", md, re.M)[1].startswith("Warnings")
    warnings = html_tables(html)["warnings"]
    assert not [r for r in warnings if r["warning"][0] == "power_estimated"]   # a note, said once per machine:
    notes = find(html_tables(html)["machines"], machine="e2e-box")["notes"][0]
    assert notes.count("power_estimated") == 1 and "declared (180 W)" in notes
    assert find(warnings, warning="short_benchmark")["workloads"][0] == "speak"
    llm = html_tables(html)["llm"]
    pub = find(llm, machine="p40-server", workload="llama3.1:8b", source="economics")
    assert pub["data"][0] == "published" and pub["generation (tok/s)"] == ("47.50", "published")
    assert re.search(r'<tr class="published"><td>llama3.2:3b</td><td>p40-server</td>', html)
    assert "the-economics-of-owning-your-own-inference.html" in html and "## Sources" in md
    assert any(r["data"] == "published" for r in md_tables(md)["TTS per machine"])


def test_no_reference_removes_the_published_rows(journey):
    for text, tables in ((journey["html_mine"], html_tables(journey["html_mine"])),
                         (journey["md_mine"], md_tables(journey["md_mine"]))):
        rows = [r for t in tables.values() for r in t]
        data = {(r["data"][0] if isinstance(r["data"], tuple) else r["data"]) for r in rows if "data" in r}
        assert data == {"measured"}
        assert {r["machine"] if isinstance(r["machine"], str) else r["machine"][0] for r in rows
                if "machine" in r} == {"e2e-box"}
        assert "tinycomputers.io" not in text and "published reference figures left out" in text
    assert len(html_tables(journey["html_mine"])["llm"]) == 3


def test_csv_and_json_carry_the_raw_figures(journey):
    root, recs = journey["root"], journey["records"]
    with open(root / "tables_llm.csv", newline="", encoding="utf-8") as f:
        llm = [r for r in csv.DictReader(f) if r["machine"] == "e2e-box"]
    assert sorted(r["workload"] for r in llm) == sorted(LLM_ROWS)
    for r in llm:
        assert float(r["tg_tok_s"]) == pytest.approx(statistics.mean(_measured(recs[r["workload"]], "tg_tok_s")))
        assert (r["tg_tok_s_provenance"], r["electricity_per_mtok_provenance"]) == ("measured", "estimated")
    with open(root / "tables_sweeps.csv", newline="", encoding="utf-8") as f:
        assert sorted(int(r["m:prompt_tokens"]) for r in csv.DictReader(f)) == [8, 32]
    doc = journey["json"]
    assert doc["reference"] is True and doc["records"] == 5
    groups = [g for g in doc["tables"]["groups"] if g["machine"] == "e2e-box"]
    assert len(groups) == 5 and {g["derived_provenance"] for g in groups} == {"estimated"}
    clip = find(groups, workload="clip")
    assert clip["cost_per_clip"] == pytest.approx(P * recs["clip"]["iterations"][0]["metrics"]["gen_s"] / 3.6e6 * C)
    assert find(groups, workload="chat")["idle_cost_per_month"] == pytest.approx(IDLE / 1000 * 730 * C)
