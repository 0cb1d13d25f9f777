"""The runner end to end on the tiny dummy-weight llama: records, metrics, interrupt and resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, tiny_suite

from benchbench.record import SCHEMA_VERSION, load_record, load_records
from benchbench.stats import summarize_metrics


def _records(results: Path) -> list[dict]:
    return [r for r in load_records([results]) if r.get("type", "run") == "run"]


def test_run_writes_record_with_consistent_metrics(write, cli, tmp_path):
    suite = tiny_suite(write, warmups=2, repetitions=3, max_tokens=6)
    code, out, err = cli("run", suite, "--results", tmp_path / "results")
    assert code == 0, err
    (rec,) = _records(tmp_path / "results")
    assert rec["status"] == "complete"
    assert rec["schema_version"] == SCHEMA_VERSION == 2
    assert rec["suite"]["sha256"] and rec["machine"]["fingerprint"]["cores"]
    assert [it["index"] for it in rec["iterations"]] == [0, 1, 2, 3, 4]
    assert [it["warmup"] for it in rec["iterations"]] == [True, True, False, False, False]
    for it in rec["iterations"]:
        m = it["metrics"]
        assert m["gen_tokens"] == 6 and m["prompt_tokens"] == 16 and m["output_tokens"] == 6
        assert m["tg_tok_s"] == pytest.approx((m["gen_tokens"] - 1) / m["gen_s"], rel=1e-12)
        assert m["output_tok_s"] == pytest.approx(m["output_tokens"] / it["duration_s"], rel=1e-12)
        assert m["pp_tok_s"] == pytest.approx(m["prompt_tokens"] / m["prompt_s"], rel=1e-12)
        assert m["e2e_s"] >= m["prompt_s"] + m["gen_s"] * 0.999
        assert it["duration_s"] >= m["e2e_s"]
    facts = rec["workload"]["facts"]
    assert facts["dtype"] == "float32" and facts["parameters"] > 0 and facts["load_s"] > 0
    assert "tiny" in out and "generation " in out and " tok/s" in out  # the summary table: registry labels


def test_warmups_are_excluded_from_statistics():
    its = [{"index": 0, "warmup": True, "metrics": {"tg_tok_s": 1000.0}},
           {"index": 1, "warmup": False, "metrics": {"tg_tok_s": 10.0}},
           {"index": 2, "warmup": False, "metrics": {"tg_tok_s": 12.0}},
           {"index": 3, "warmup": False, "metrics": {"tg_tok_s": 14.0}, "error": None},
           {"index": 4, "warmup": False, "metrics": {"tg_tok_s": 999.0}, "error": "boom"}]
    st = summarize_metrics(its)["tg_tok_s"]
    assert st["n"] == 3 and st["mean"] == 12.0 and st["min"] == 10.0 and st["max"] == 14.0


def test_matrix_expands_into_one_record_per_combination(write, cli, tmp_path):
    suite = tiny_suite(write, warmups=0, repetitions=1, extra="    matrix:\n      max_tokens: [2, 3]\n"
                       "      options.temperature: [0, 1]\n")
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    recs = _records(tmp_path / "r")
    combos = sorted((r["workload"]["params"]["max_tokens"], r["workload"]["params"]["options"]["temperature"])
                    for r in recs)
    assert combos == [(2, 0), (2, 1), (3, 0), (3, 1)]
    assert {r["workload"]["base_name"] for r in recs} == {"tiny"}
    assert len({r["run_id"] for r in recs}) == 4 and len({r["session_id"] for r in recs}) == 1
    names = {r["workload"]["name"] for r in recs}
    assert "tiny[max_tokens=2,options.temperature=0]" in names


def test_dry_run_prints_plan_and_writes_nothing(write, cli, tmp_path):
    suite = tiny_suite(write, extra="    matrix:\n      max_tokens: [2, 3]\n")
    code, out, _ = cli("run", suite, "--results", tmp_path / "r", "--dry-run")
    assert code == 0
    assert "tiny[max_tokens=2]" in out and "tiny[max_tokens=3]" in out
    assert "1 warmup(s) + 3 measured" in out
    assert not (tmp_path / "r").exists()
    code, out, _ = cli("run", suite, "--results", tmp_path / "r", "--dry-run", "--json")
    assert len(json.loads(out)["workloads"]) == 2


def test_failed_workload_is_recorded_and_suite_goes_on(write, cli, tmp_path):
    extra = """  - name: broken
    kind: llm
    backend: transformers
    model: /nonexistent/model/folder
"""
    suite = tiny_suite(write, warmups=0, repetitions=1, extra=extra)
    code, out, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 2   # the suite goes on; a missing model is bad input (UserError): exit 2
    assert ("error: broken: model: `/nonexistent/model/folder` is not a local folder nor in the "
            "Hugging Face cache (no such folder)") in err
    recs = {r["workload"]["name"]: r for r in _records(tmp_path / "r")}
    assert recs["tiny"]["status"] == "complete"
    assert recs["broken"]["status"] == "failed"
    assert "not a local folder nor in the Hugging Face cache" in recs["broken"]["errors"][0]["message"]
    assert "1 workload(s) failed: broken" in out


def _start(suite: Path, cwd: Path, *extra: str) -> subprocess.Popen:
    env = {"PYTHONPATH": str(ROOT), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.Popen([sys.executable, "-m", "benchbench", "run", str(suite), "--results",
                             str(cwd / "results"), *extra], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_iterations(results: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for path in results.rglob("*.json"):
            try:
                if len(json.loads(path.read_text())["iterations"]) >= n:
                    return
            except (ValueError, KeyError):
                pass
        time.sleep(0.05)
    raise AssertionError("iterations never appeared")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_finished_iterations_and_resume_completes(write, tmp_path, sig):
    suite = tiny_suite(write, warmups=1, repetitions=8, max_tokens=200)
    proc = _start(suite, tmp_path)
    _wait_for_iterations(tmp_path / "results", 3, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err      # 130 for SIGINT, 143 for SIGTERM
    assert "Traceback" not in err
    (path,) = (tmp_path / "results").rglob("*.json")
    rec = load_record(path)
    assert rec["status"] == "interrupted"
    done = [it["index"] for it in rec["iterations"]]
    assert 3 <= len(done) < 9 and done == list(range(len(done)))
    assert "--resume latest" in err

    proc = _start(suite, tmp_path, "--resume", "latest")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    (path2,) = (tmp_path / "results").rglob("*.json")
    assert path2 == path
    rec2 = load_record(path)
    assert rec2["status"] == "complete"
    assert [it["index"] for it in rec2["iterations"]] == list(range(9))
    assert rec2["iterations"][: len(done)] == rec["iterations"]  # finished iterations untouched
    assert rec2["resumes"][0]["missing"] == list(range(len(done), 9))
    assert rec2["resumes"][0]["warmups_rerun"] == 1


def test_a_device_not_here_is_recorded_and_exit_2(write, cli, tmp_path):
    extra = """  - name: nogpu
    kind: llm
    backend: transformers
    architecture: tiny-llama
    weights: dummy
    device: cuda:7
"""
    suite = tiny_suite(write, warmups=0, repetitions=1, extra=extra)
    code, out, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 2 and "error: nogpu: device: device 'cuda:7' is not here" in err
    recs = {r["workload"]["name"]: r for r in _records(tmp_path / "r")}
    assert recs["tiny"]["status"] == "complete"
    assert recs["nogpu"]["status"] == "failed" and recs["nogpu"]["errors"][0]["type"] == "UserError"
    assert "1 workload(s) failed: nogpu" in out
