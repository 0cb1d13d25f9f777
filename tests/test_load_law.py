"""Load tests against a fake server with a stated batching law (tests/fakes_load_server.py): what the
client measures must be the law's values within 2%."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchbench.analysis import analyze
from benchbench.load.arrivals import ks_exponential
from benchbench.load.rows import read_rows

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT  # noqa: E402
from fakes_load_server import Law, LawServer  # noqa: E402

pytestmark = pytest.mark.slow

# 1.6 s to the first token, then 80 ms + 16 ms per stream in the batch for every next token: long enough
# that a loaded 2-core machine's scheduling delays (measured up to ~20 ms, in the fake as in the client)
# stay under the 2% tolerance
LAW = Law(slots=8, ttft0_s=1.60, pp_tok_s=20_000.0, step0_s=0.080, step_per_seq_s=0.016)
PROMPT, OUTPUT = 200, 12
TOL = 0.02


def write_suite(folder: Path, entry: dict[str, Any], watts: float | None = 100.0) -> Path:
    power = {"samplers": ["declared"], "declared": {"watts": watts}} if watts else {"samplers": ["none"]}
    path = folder / "load.yaml"
    path.write_text(yaml.safe_dump({"name": "load", "warmups": 0, "repetitions": 1, "power": power,
                                    "workloads": [entry]}, sort_keys=False))
    return path


def records(results: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results.rglob("*.json"))]


def base_entry(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "law", "kind": "llm", "backend": "openai", "model": "law-model", "base_url": url + "/v1",
            "prompt_lengths": {"input": PROMPT, "output": OUTPUT}, **extra}


def test_closed_loop_concurrency_sweep_matches_the_law(tmp_path: Path, cli) -> None:
    with LawServer(LAW) as server:
        entry = base_entry(server.url, load={"requests": 4}, matrix={"load.concurrency": [1, 2, 4]},
                           slo={"ttft_s": 2.0, "tpot_s": 0.120})
        code, out, err = cli("run", write_suite(tmp_path, entry), "--results", tmp_path / "r")
        assert code == 0, err
        # requests per point: 4 per user, so every user runs four full cycles
        recs = records(tmp_path / "r")
    assert len(recs) == 3
    groups = {g["run_ids"][0]: g for g in analyze([tmp_path / "r"], reference=False).groups.to_dict("records")}
    for rec in recs:
        n = rec["workload"]["params"]["load"]["concurrency"]
        it = rec["iterations"][0]
        # the analyzer takes the same window: J/token = the window's energy ÷ its output tokens, exactly
        g = groups[rec["run_id"]]
        assert g["j_per_token"] == pytest.approx(it["energy"]["system"]["joules"] / it["metrics"]["output_tokens"],
                                                 rel=1e-9)
        assert g["system_w"] == pytest.approx(100) and g["output_tok_s"] == pytest.approx(it["metrics"]["output_tok_s"])
        m = it["metrics"]
        assert m["requests_sent"] == 4 and m["succeeded_requests"] == 4
        truth = LAW.closed_loop(n, PROMPT, OUTPUT)
        for key, law_key in (("req_s", "req_s"), ("output_tok_s", "output_tok_s"), ("ttft_median_s", "ttft_s"),
                             ("ttft_p90_s", "ttft_s"), ("ttft_p99_s", "ttft_s"), ("tpot_median_s", "tpot_s"),
                             ("tpot_p99_s", "tpot_s"), ("e2e_p90_s", "e2e_s"), ("itl_median_s", "tpot_s")):
            assert m[key] == pytest.approx(truth[law_key], rel=TOL), (n, key, m[key], truth[law_key])
        # goodput: TPOT 96/112/144 ms against an SLO of 120 ms: every request meets it at 1 and 2, none at 4
        expect = truth["req_s"] if LAW.step(n) <= 0.120 else 0.0
        assert m["goodput_req_s"] == pytest.approx(expect, rel=TOL, abs=1e-9), n
        assert m["meets_slo"] is (expect > 0)
        assert m["peak_concurrency"] == n
        # the server's own view: its Prometheus counters moved by exactly what the client counted
        assert m["server_output_tokens_delta"] == 4 * OUTPUT and m["server_prompt_tokens_delta"] == 4 * PROMPT
        # energy over the measured window: a declared 100 W
        assert it["energy_window"]["duration_s"] == pytest.approx(m["window_s"])
        assert it["energy_window"]["duration_s"] < it["duration_s"] and it["energy_iteration"]
        assert it["energy"]["system"]["joules"] == pytest.approx(100 * m["window_s"])
        # one window for energy and throughput (the runner's rule): rates are counts ÷ that window exactly
        window = it["energy_window"]["duration_s"]
        assert m["output_tok_s"] == m["output_tokens"] / window and m["req_s"] == m["completed_requests"] / window
        assert m["j_per_request"] == pytest.approx(it["energy"]["system"]["joules"] / m["completed_requests"])
        # per-request rows beside the record, the server's own counts in them
        rows = read_rows(next((tmp_path / "r").rglob(it["artifacts"][0])))
        assert len(rows) == 4 and all(r["output_tokens"] == OUTPUT and r["input_tokens"] == PROMPT for r in rows)
        assert all(r["server_tpot_s"] == pytest.approx(LAW.step(n), rel=TOL) for r in rows)
    # Part 13 on these load records: the point chosen is the highest goodput meeting the SLOs (concurrency 2:
    # at 4 the TPOT misses), and the measured mix prices one request at the window's energy ÷ its requests
    shaped = analyze([tmp_path / "r"], reference=False, mix="load").shape_points
    chosen = shaped[shaped["chosen"]].to_dict("records")
    assert len(chosen) == 1 and chosen[0]["concurrency"] == 2, chosen
    point = next(r for r in recs if r["workload"]["params"]["load"]["concurrency"] == 2)["iterations"][0]
    assert chosen[0]["request_j"] == pytest.approx(
        point["energy"]["system"]["joules"] / point["metrics"]["completed_requests"], rel=1e-6)


def test_queueing_raises_ttft_and_caps_throughput(tmp_path: Path, cli) -> None:
    law = Law(slots=2, ttft0_s=0.60, pp_tok_s=20_000.0, step0_s=0.040, step_per_seq_s=0.008)
    with LawServer(law) as server:
        entry = base_entry(server.url, load={"concurrency": 4, "requests": 12})
        code, _, err = cli("run", write_suite(tmp_path, entry, watts=None), "--results", tmp_path / "r")
        assert code == 0, err
    m = records(tmp_path / "r")[0]["iterations"][0]["metrics"]
    service = law.closed_loop(2, PROMPT, OUTPUT)            # two in service at a time, two waiting
    # 4 users on 2 slots serve in two alternating pairs: after the first pair, every request waits one
    # service time, so its TTFT is one E2E of the pair plus its own prefill
    assert m["output_tok_s"] == pytest.approx(service["output_tok_s"], rel=TOL)
    assert m["ttft_p90_s"] == pytest.approx(service["e2e_s"] + service["ttft_s"], rel=TOL)
    assert m["tpot_median_s"] == pytest.approx(law.step(2), rel=TOL)


def test_open_loop_poisson_sends_on_schedule(tmp_path: Path, cli) -> None:
    law = Law(slots=64, ttft0_s=0.20, step0_s=0.005, step_per_seq_s=0.0)
    with LawServer(law) as server:
        entry = base_entry(server.url, load={"request_rate": 20.0, "arrival": "poisson", "requests": 300, "seed": 5})
        entry["prompt_lengths"] = {"input": 20, "output": 4}
        code, _, err = cli("run", write_suite(tmp_path, entry, watts=None), "--results", tmp_path / "r")
        assert code == 0, err
    it = records(tmp_path / "r")[0]["iterations"][0]
    rows = sorted(read_rows(next((tmp_path / "r").rglob(it["artifacts"][0]))), key=lambda r: r["position"])
    sent = [r["sent_s"] for r in rows]
    gaps = [b - a for a, b in zip(sent, sent[1:])]
    d, p = ks_exponential(gaps, 20.0)
    assert p > 0.01, (d, p)
    assert it["metrics"]["send_lag_p99_s"] < 0.050      # kept the schedule (p99 < 10 ms on a quiet machine)
    assert it["metrics"]["ttft_median_s"] == pytest.approx(law.prefill(20), rel=TOL)


def test_sweep_finds_the_range_and_the_knee(tmp_path: Path, cli) -> None:
    # a request takes about a second at one stream: a loaded machine's scheduling delays (5-20 ms a request,
    # in the fake as in the client) stay under the 2% tolerance
    law = Law(slots=8, ttft0_s=0.40, step0_s=0.040, step_per_seq_s=0.012)
    with LawServer(law) as server:
        entry = base_entry(server.url, load={"mode": "sweep", "points": 4, "requests": 8, "max_concurrency": 8},
                           slo={"ttft_s": 1.2})
        entry["prompt_lengths"] = {"input": 20, "output": 12}
        code, _, err = cli("run", write_suite(tmp_path, entry), "--results", tmp_path / "r")
        assert code == 0, err
    it = records(tmp_path / "r")[0]["iterations"][0]
    points = it["load_points"]
    assert [p["label"].split()[0] for p in points] == ["synchronous", "throughput", "constant", "constant"]
    sync, thr = points[0]["metrics"], points[1]["metrics"]
    assert sync["req_s"] == pytest.approx(law.closed_loop(1, 20, 12)["req_s"], rel=TOL)
    assert thr["output_tok_s"] > 3 * sync["output_tok_s"]
    rates = [p["plan"]["rate"] for p in points[2:]]
    assert rates[0] < rates[1] == pytest.approx(thr["req_s"])     # linspace(sync, throughput, 3)[1:]
    assert it["metrics"]["points"] == 4 and it["metrics"]["knee_req_s"] is not None
    assert all(p["energy"]["system"]["joules"] == pytest.approx(100 * p["metrics"]["window_s"]) for p in points)
    files = {p["requests_file"] for p in points}
    assert len(files) == 4 and all(next((tmp_path / "r").rglob(f)) for f in files)


def test_ollama_backend_under_load(tmp_path: Path, cli) -> None:
    law = Law(slots=8, ttft0_s=0.30, step0_s=0.020, step_per_seq_s=0.004)
    with LawServer(law, model="llama3.2:1b") as server:
        entry = {"name": "ol", "kind": "llm", "backend": "ollama", "model": "llama3.2:1b", "host": server.url,
                 "load": {"concurrency": 2, "requests": 6}, "prompt_lengths": {"input": PROMPT, "output": OUTPUT}}
        code, _, err = cli("run", write_suite(tmp_path, entry, watts=None), "--results", tmp_path / "r")
        assert code == 0, err
    m = records(tmp_path / "r")[0]["iterations"][0]["metrics"]
    truth = law.closed_loop(2, 0, OUTPUT)
    assert m["tpot_median_s"] == pytest.approx(truth["tpot_s"], rel=TOL)
    assert m["output_tok_s"] == pytest.approx(2 * OUTPUT / (law.ttft0_s + m["input_tokens_mean"] / law.pp_tok_s
                                                              + (OUTPUT - 1) * law.step(2)), rel=TOL)
    assert m["server_tpot_mean_s"] == pytest.approx(law.step(2), rel=TOL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_point_keeps_finished_requests_and_resume_redoes_it(tmp_path: Path, signum: int) -> None:
    law = Law(slots=4, ttft0_s=0.05, step0_s=0.020, step_per_seq_s=0.0)
    with LawServer(law) as server:
        entry = base_entry(server.url, load={"concurrency": 2, "requests": 40})
        entry["prompt_lengths"] = {"input": 10, "output": 10}   # 0.23 s a request: 4.6 s in all
        suite = write_suite(tmp_path, entry, watts=None)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        args = [sys.executable, "-m", "benchbench", "run", str(suite), "--results", str(tmp_path / "r")]
        proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60          # a loaded machine starts benchbench slowly: wait for the point
        while len(server.log()) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signum, err          # 130 for Ctrl-C, 143 for SIGTERM
        rec = records(tmp_path / "r")[0]
        assert rec["status"] == "interrupted"
        it = rec["iterations"][0]
        assert it["interrupted"] and "interrupted" in it["error"]
        assert 0 < it["metrics"]["succeeded_requests"] < 40
        rows = read_rows(next((tmp_path / "r").rglob(it["artifacts"][0])))
        assert sum(r["status"] == "ok" for r in rows) == it["metrics"]["succeeded_requests"]
        done = subprocess.run(args + ["--resume", "latest"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
    rec = records(tmp_path / "r")[0]
    assert rec["status"] == "complete" and rec["iterations"][0]["metrics"]["succeeded_requests"] == 40
    assert rec["resumes"][-1]["replaced"][0]["interrupted"]              # what finished stays on record
    assert len(list((tmp_path / "r").rglob("*.requests.csv"))) == 2      # nothing overwritten


def test_report_puts_machines_on_one_chart_and_marks_the_knee(tmp_path: Path, cli) -> None:
    law = Law(slots=8, ttft0_s=0.05, step0_s=0.010, step_per_seq_s=0.004)
    with LawServer(law) as server:
        entry = base_entry(server.url, load={"requests": 4}, matrix={"load.concurrency": [1, 2, 4]},
                           slo={"tpot_s": 0.0195})           # step(1)=14 ms, step(2)=18 ms, step(4)=26 ms
        entry["prompt_lengths"] = {"input": 10, "output": 8}
        profile = tmp_path / "box-a.yaml"
        profile.write_text(yaml.safe_dump({"name": "box-a", "electricity_per_kwh": 0.30, "currency": "EUR",
                                           "hardware_cost": 2000, "amortization_years": 2}))
        code, _, err = cli("run", write_suite(tmp_path, entry), "--results", tmp_path / "r", "--machine", profile)
        assert code == 0, err
    for path in list((tmp_path / "r").rglob("*.json")):     # the same records as if from a second machine
        rec = json.loads(path.read_text())
        rec["machine"]["name"], rec["run_id"] = "second-box", rec["run_id"] + "-b"
        (tmp_path / "r" / f"{rec['run_id']}.json").write_text(json.dumps(rec))
    from benchbench.reports.build import build_report
    from benchbench.reports.plots import render

    report = build_report([tmp_path / "r"], reference=False)
    section = report.section("load")
    assert section is not None
    table = section.tables()[0]
    assert len(table.rows) == 6 and {r["machine"] for r in table.rows} == {"second-box", table.rows[0]["machine"]} | \
        {r["machine"] for r in table.rows}
    for r in table.rows:       # 100 W declared: electricity = 100 W / r tok/s · 1e6 / 3.6e6 J/kWh · 0.30 EUR
        assert r["electricity_per_mtok"] == pytest.approx(100 / r["output_tok_s"] * 1e6 / 3.6e6 * 0.30, rel=1e-6)
        amortization = 2000 / (2 * 8760) * 1e6 / r["output_tok_s"] / 3600
        assert r["all_in_per_mtok"] == pytest.approx(r["electricity_per_mtok"] + amortization, rel=1e-6)
    knees = [r for r in table.rows if r["knee"]]
    assert len(knees) == 2 and all(r["concurrency"] == 2 for r in knees)    # 18 ms ≤ 19.5 ms < 26 ms
    names = [c.name for c in section.charts()]
    assert any("latency-vs-throughput" in n for n in names) and any("energy-vs-load" in n for n in names)
    for chart in section.charts():
        assert render(chart, "svg").startswith(b"<?xml")
    code, _, err = cli("report", tmp_path / "r", "-o", tmp_path / "report.html", "--no-reference")
    assert code == 0, err
    assert "Load tests" in (tmp_path / "report.html").read_text()


def test_duration_bound_point_cancels_what_runs_past_it(tmp_path: Path, cli) -> None:
    law = Law(slots=8, ttft0_s=0.05, step0_s=0.050, step_per_seq_s=0.0)      # 20 tok/s a stream
    with LawServer(law) as server:
        entry = base_entry(server.url, load={"concurrency": 2, "duration_s": 1.5, "ramp_up_s": 0.5})
        entry["prompt_lengths"] = {"input": 10, "output": 100}             # 5 s a request: none finishes
        code, _, err = cli("run", write_suite(tmp_path, entry, watts=None), "--results", tmp_path / "r")
    assert code == 1, err                                                   # nothing completed: the point failed
    it = records(tmp_path / "r")[0]["iterations"][0]
    rows = read_rows(next((tmp_path / "r").rglob("*.requests.csv")))
    assert [r["status"] for r in rows] == ["cancelled", "cancelled"]
    assert all(18 <= r["chunks"] <= 32 for r in rows)                        # ~1.5 s of 20 tok/s each
    assert "every request failed" in it["error"]


def test_rate_inf_sends_everything_at_once_within_max_concurrency(tmp_path: Path, cli) -> None:
    law = Law(slots=8, ttft0_s=0.30, step0_s=0.020, step_per_seq_s=0.0)
    with LawServer(law) as server:
        entry = base_entry(server.url, load={"request_rate": float("inf"), "requests": 8, "max_concurrency": 2})
        entry["prompt_lengths"] = {"input": 10, "output": 10}
        code, _, err = cli("run", write_suite(tmp_path, entry, watts=None), "--results", tmp_path / "r")
        assert code == 0, err
    m = records(tmp_path / "r")[0]["iterations"][0]["metrics"]
    assert m["peak_concurrency"] == 2 and m["succeeded_requests"] == 8
    e2e = law.prefill(10) + 9 * law.step(2)
    assert m["req_s"] == pytest.approx(2 / e2e, rel=TOL)      # four rounds of two
