"""Statistics, records, fingerprint, dtype choice and the light --help import."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from conftest import ROOT

from benchbench import fingerprint
from benchbench.record import SCHEMA_VERSION, RecordError, load_record, load_records, save_record
from benchbench.stats import cv, first_run_ratio, summarize, t975
from benchbench.torch_util import choose_dtype


def test_summarize_hand_computed():
    st = summarize([10.0, 12.0, 14.0])
    assert st["n"] == 3 and st["mean"] == 12.0 and st["median"] == 12.0
    assert st["stdev"] == pytest.approx(2.0)
    half = 4.303 * 2.0 / math.sqrt(3)
    assert st["ci95_low"] == pytest.approx(12 - half) and st["ci95_high"] == pytest.approx(12 + half)
    one = summarize([5])
    assert one["stdev"] is None and one["ci95_low"] is None and one["mean"] == 5
    assert summarize([None, "x", float("nan")])["n"] == 0


def test_t_quantiles():
    assert t975(1) == 12.706 and t975(30) == 2.042
    assert t975(1000) == pytest.approx(1.9623, abs=1e-3)


def test_variance_and_first_run_helpers():
    assert cv([10, 10, 10]) == 0
    assert cv([9, 11]) == pytest.approx(math.sqrt(2) / 10)
    assert first_run_ratio([14.6, 10, 10.2, 9.8]) == pytest.approx(1.46)
    assert first_run_ratio([1]) is None


def test_variance_warnings_from_runner():
    from benchbench.runner import variance_warnings
    from benchbench.workloads.hf_transformers import TransformersLLM

    its = [{"index": 0, "warmup": True, "duration_s": 3.0, "metrics": {"tg_tok_s": 5}},
           {"index": 1, "warmup": False, "duration_s": 2.0, "metrics": {"tg_tok_s": 10}},
           {"index": 2, "warmup": False, "duration_s": 2.0, "metrics": {"tg_tok_s": 14}},
           {"index": 3, "warmup": False, "duration_s": 2.0, "metrics": {"tg_tok_s": 10}}]
    codes = {w.code for w in variance_warnings(TransformersLLM, its)}
    assert codes == {"high_variance"}   # the slow first run was a warmup: that is what warmups are for
    its[1]["duration_s"] = 3.0          # the first MEASURED run is slow
    slow = [w for w in variance_warnings(TransformersLLM, its) if w.code == "first_run_slow"]
    assert len(slow) == 1 and slow[0].iteration == 1 and "it had 1" in slow[0].message
    its[1]["duration_s"] = 2.5  # 1.25x: below the 1.3x threshold
    for it in its[1:]:
        it["metrics"]["tg_tok_s"] = 10
    assert variance_warnings(TransformersLLM, its) == []


def test_save_is_atomic_and_never_overwrites_another_run(tmp_path):
    path = tmp_path / "m" / "s" / "r1.json"
    rec = {"schema_version": 1, "type": "run", "run_id": "r1", "status": "complete",
           "machine": {"name": "m"}, "workload": {}, "iterations": []}
    save_record(rec, path)
    save_record({**rec, "status": "complete", "iterations": [{"index": 0}]}, path)  # same run: update
    assert json.loads(path.read_text())["iterations"] == [{"index": 0}]
    with pytest.raises(RecordError, match="belongs to another run"):
        save_record({**rec, "run_id": "r2"}, path)
    assert json.loads(path.read_text())["run_id"] == "r1"
    assert [p.name for p in path.parent.iterdir()] == ["r1.json"]  # no temp files left


def test_loader_skips_invalid_and_migrates_v0(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "future.json").write_text(json.dumps({"schema_version": 99}))
    (tmp_path / "old.json").write_text(json.dumps({
        "run_id": "old", "status": "complete", "machine": {"name": "m"}, "workload": {},
        "results": [{"index": 0, "metrics": {}}]}))
    skipped = []
    recs = load_records([tmp_path], on_skip=lambda p, why: skipped.append(p.name))
    assert sorted(skipped) == ["bad.json", "future.json", "list.json"]
    (old,) = recs
    assert old["schema_version"] == SCHEMA_VERSION and old["iterations"] == [{"index": 0, "metrics": {}}]
    with pytest.raises(RecordError):
        load_record(tmp_path / "bad.json")


def test_fingerprint_env_filter_and_redaction():
    env = fingerprint.environment({"CUDA_VISIBLE_DEVICES": "0,1", "OLLAMA_HOST": "x",
                                   "OLLAMA_API_KEY": "secret", "HOME": "/root",
                                   "HSA_OVERRIDE_GFX_VERSION": "11.5.1"})
    assert env == {"CUDA_VISIBLE_DEVICES": "0,1", "HSA_OVERRIDE_GFX_VERSION": "11.5.1",
                   "OLLAMA_API_KEY": "[redacted]", "OLLAMA_HOST": "x"}
    fp = fingerprint.collect()
    assert fp["cores"] >= 1 and fp["python"] and isinstance(fp["gpus"], list)
    assert fingerprint.machine_name(None, {"hostname": "my host/1"}) == "my-host-1"
    assert fingerprint.machine_name("p40-server", fp) == "p40-server"


@pytest.mark.parametrize("device,cc,expected", [
    ("cuda", (6, 1), "float16"), ("cuda", (7, 5), "float16"), ("cuda", (8, 0), "bfloat16"),
    ("cuda", (9, 0), "bfloat16"), ("mps", None, "float16"), ("cpu", None, "float32")])
def test_auto_dtype(device, cc, expected):
    assert choose_dtype("auto", device, cc)[0] == expected
    assert choose_dtype("float32", device, cc) == ("float32", "requested")


def test_help_imports_no_heavy_modules():
    code = "import sys, benchbench.cli as c; c.build_parser(); print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout.replace("'", '"')))
    heavy = {"torch", "transformers", "pandas", "matplotlib", "diffusers", "numpy", "ollama",
             "fastapi", "asyncssh"}
    assert not heavy & modules, heavy & modules
    assert "import time:" in done.stderr  # -X importtime really ran
    help_run = subprocess.run([sys.executable, "-m", "benchbench", "--help"], cwd=ROOT,
                              capture_output=True, text=True, check=True)
    assert "run" in help_run.stdout and "report" in help_run.stdout


def test_a_command_imports_its_own_module_only():
    """`benchbench watch` runs for months: its parser brings no report, runner, remote or record code."""
    code = "import sys, benchbench.cli as c; c.build_parser(only='watch'); print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout.replace("'", '"')))
    assert "benchbench.commands.watch" in modules
    unwanted = {"benchbench.reports", "benchbench.runner", "benchbench.remote", "benchbench.record",
                "benchbench.commands.run", "benchbench.commands.report", "pydantic"}
    assert not unwanted & modules, unwanted & modules


def test_gpu_channels_follow_cuda_visible_devices():
    from benchbench.torch_util import gpu_channels

    assert gpu_channels(["cpu", "cuda", "cuda:1"], env={}) == ["gpu0", "gpu1"]
    assert gpu_channels(["cuda:0", "cuda:1"], env={"CUDA_VISIBLE_DEVICES": "2,3"}) == ["gpu2", "gpu3"]
    assert gpu_channels(["cuda:0"], env={"CUDA_VISIBLE_DEVICES": "GPU-8c1f"}) == ["gpu0"]
    assert gpu_channels(["mps"], env={}) == []
