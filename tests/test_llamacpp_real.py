"""Against a real llama.cpp (llama-server, llama-bench built from the llama-cpp-python sdist, a tiny
random-weight GGUF; see tests/llamacpp_helpers.py): the llama-bench backend, imports of llama-bench's
own json/jsonl/csv, and the openai backend checked against the server's own timings."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import yaml
from power_helpers import FakeGpu, FakeNvml, FakePynvml

from benchbench.power import registry
from benchbench.record import load_records
from benchbench.workloads.llamacpp_tools import read_llama_bench

pytestmark = pytest.mark.slow
GPU_W, OVERHEAD_W = 80.0, 20.0


@pytest.fixture
def fake_power(monkeypatch, write):
    """Power from a fake 80 W GPU through the real NVML sampler, +20 W overhead: 100 W system (estimated).
    Power readings only (no energy counter): the decode windows here last tens of ms, and the fake's counter
    counts whole mJ as NVML does, so reads a few µs apart at a window's edge repeat a value, which the
    stepped-counter logic (power/energy.py) takes for a counter that steps; its rate over sub-ms spans then
    reads tens of percent off on such short windows (measured: 98 W for 80). Constant power makes every
    window's integral exact."""
    monkeypatch.setitem(registry.SAMPLERS, "nvml", "power_helpers:FakeNvml")
    monkeypatch.setattr(FakeNvml, "library", FakePynvml([FakeGpu(GPU_W, counter=False)]))
    return write("machines/lab.yaml", f"name: lab\nnon_gpu_overhead_w: {OVERHEAD_W}\n")


def suite(write, workloads: list[dict], power: str = "[none]", **top) -> str:
    body = {"name": "real-llamacpp", "warmups": 0, "repetitions": 1, **top,
            "power": {"samplers": yaml.safe_load(power), "interval_ms": 20}, "workloads": workloads}
    return write("suite.yaml", yaml.safe_dump(body, sort_keys=False))


def records(folder) -> dict[str, dict]:
    return {r["workload"]["name"]: r for r in load_records([folder]) if r.get("type") == "run"}


# --- llama-bench -------------------------------------------------------------------------------------

def test_llama_bench_backend_speeds_are_llama_benchs_own_with_energy_per_test(cli, tmp_path, write, fake_power,
                                                                             llamacpp_bin, tiny_gguf):
    workload = {"name": "lb", "kind": "llm", "backend": "llama-bench", "binary": llamacpp_bin["llama-bench"],
                "model": str(tiny_gguf), "n_prompt": 64, "n_gen": 32, "reps": 3, "threads": 1, "batch": 64,
                "flash_attn": False}
    code, out, err = cli("run", suite(write, [workload], power="[nvml]"), "--machine", fake_power,
                         "--results", tmp_path / "res")
    assert code == 0, err + out
    record = records(tmp_path / "res")["lb"]
    [it] = record["iterations"]
    pp, tg = it["raw"]["tests"]
    assert (pp["kind"], pp["test"], tg["kind"], tg["test"]) == ("pp", "pp64", "tg", "tg32")
    for test in (pp, tg):   # llama-bench's own JSON of that very invocation, every repetition kept
        assert "-o" in test["argv"] and test["argv"][test["argv"].index("-o") + 1] == "jsonl"
        assert test["argv"][test["argv"].index("-t") + 1] == "1" and "--progress" in test["argv"]
        assert len(test["row"]["samples_ts"]) == len(test["row"]["samples_ns"]) == 3
        assert test["window_source"] == "progress" and len(test["rep_starts_s"]) == 3
        window = test["window_s"][1] - test["window_s"][0]
        assert sum(test["row"]["samples_ns"]) / 1e9 <= window + 1e-6 < sum(test["row"]["samples_ns"]) / 1e9 + 1.0
    m = it["metrics"]
    assert m["pp_tok_s"] == pp["row"]["avg_ts"] and m["tg_tok_s"] == tg["row"]["avg_ts"]
    assert m["prompt_tokens"] == 64 and m["gen_tokens"] == 32 and m["depth_tokens"] == 0
    assert m["input_tokens"] == 64 * 3 and m["output_tokens"] == 32 * 3
    assert m["gen_s"] == pytest.approx(tg["row"]["avg_ns"] / 1e9)
    # the iteration's energy and its throughput are the decode test's window: all its repetitions' tokens ÷
    # that window (a little below llama-bench's mean of the repetitions' t/s: the window holds their gaps)
    window = it["energy_window"]
    assert window["name"] == "decode" and window["duration_s"] == pytest.approx(tg["window_s"][1] - tg["window_s"][0])
    assert m["output_tok_s"] == pytest.approx(m["output_tokens"] / window["duration_s"], rel=1e-9)
    assert m["output_tokens"] / (sum(tg["row"]["samples_ns"]) / 1e9 + 1.0) < m["output_tok_s"] <= m["tg_tok_s"]
    for name, test, tokens in (("prefill", pp, m["input_tokens"]), ("decode", tg, m["output_tokens"])):
        assert test["energy"]["gpu0"]["avg_w"] == pytest.approx(GPU_W, rel=0.05)
        assert m[f"{name}_w"] == pytest.approx(GPU_W + OVERHEAD_W, rel=0.05)
        assert m[f"{name}_j"] == pytest.approx(test["energy"]["system"]["joules"])
        assert m[f"{name}_j_per_tok"] == pytest.approx(m[f"{name}_j"] / tokens, rel=1e-9)   # energy ÷ tokens
    assert it["energy"]["system"]["joules"] == pytest.approx(m["decode_j"], rel=0.02)
    assert it["energy_iteration"]["system"]["joules"] > it["energy"]["system"]["joules"]
    # the analyzer's energy per token is that same window's energy ÷ its tokens
    from benchbench.analysis import analyze

    group = analyze([tmp_path / "res"]).groups.iloc[0]
    assert group["output_tok_s"] == pytest.approx(m["output_tok_s"], rel=1e-6)
    assert group["j_per_token"] == pytest.approx(it["energy"]["system"]["joules"] / m["output_tokens"], rel=1e-6)
    facts = record["workload"]["facts"]
    assert facts["tool"] == "llama-bench" and facts["window_source"] == "progress" and facts["tool_version"]


def test_llama_bench_matrix_sweeps_depth(cli, tmp_path, write, llamacpp_bin, tiny_gguf):
    workload = {"name": "depth", "kind": "llm", "backend": "llama-bench", "binary": llamacpp_bin["llama-bench"],
                "model": str(tiny_gguf), "n_prompt": 0, "n_gen": 8, "reps": 1, "threads": 1,
                "args": ["--delay", "0"], "matrix": {"depth": [0, 96]}}
    code, out, err = cli("run", suite(write, [workload]), "--results", tmp_path / "res")
    assert code == 0, err + out
    found = records(tmp_path / "res")
    deep = found["depth[depth=96]"]["iterations"][0]
    assert deep["raw"]["tests"][0]["test"] == "tg8 @ d96" and deep["metrics"]["depth_tokens"] == 96
    assert deep["metrics"]["pp_tok_s"] is None and deep["metrics"]["tg_tok_s"] > 0
    assert "--delay" in deep["raw"]["tests"][0]["argv"]
    assert found["depth[depth=0]"]["iterations"][0]["metrics"]["depth_tokens"] == 0


def test_llama_bench_errors(cli, tmp_path, write, llamacpp_bin, tiny_gguf):
    base = {"name": "x", "kind": "llm", "backend": "llama-bench", "model": str(tiny_gguf)}
    code, _, err = cli("run", suite(write, [{**base, "args": ["-o", "csv"]}]), "--results", tmp_path)
    assert code == 2 and "args: `-o` is set by benchbench" in err
    code, _, err = cli("run", suite(write, [{**base, "binary": "/nonexistent/llama-bench"}]), "--results", tmp_path)
    assert code == 2 and "is not an executable file" in err
    bad = {**base, "binary": llamacpp_bin["llama-bench"], "args": ["--no-such-flag"]}
    code, _, err = cli("run", suite(write, [bad]), "--results", tmp_path / "r2")
    assert code == 1
    [record] = load_records([tmp_path / "r2"])
    assert "llama-bench (pp) failed (exit 1)" in record["errors"][0]["message"]


def run_llama_bench(binary, model, fmt: str, *extra: str) -> str:
    done = subprocess.run([binary, "-m", str(model), "-p", "32", "-n", "16", "-r", "2", "-t", "1", "-o", fmt,
                           *extra], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_import_round_trips_real_llama_bench_output(cli, tmp_path, llamacpp_bin, tiny_gguf, fmt):
    text = run_llama_bench(llamacpp_bin["llama-bench"], tiny_gguf, fmt)
    path = tmp_path / f"lb.{fmt}"
    path.write_text(text)
    rows = read_llama_bench(text)
    assert [r["n_prompt"] for r in rows] == [32, 0] and [r["n_gen"] for r in rows] == [0, 16]
    code, out, err = cli("import", path, "--machine", "box", "--results", tmp_path / "res")
    assert code == 0, err
    [record] = load_records([tmp_path / "res"])
    m = record["iterations"][0]["metrics"]
    assert m["pp_tok_s"] == pytest.approx(rows[0]["avg_ts"]) and m["tg_tok_s"] == pytest.approx(rows[1]["avg_ts"])
    assert record["imported"]["tool"] == "llama-bench"
    build = rows[0]["build_number"]
    assert record["imported"]["version"] == (f"b{build} ({rows[0]['build_commit']})" if build
                                             else rows[0]["build_commit"])
    assert record["workload"]["params"]["threads"] == 1 and record["workload"]["params"]["n_gen"] == 16
    kept = [t["row"].get("samples_ts") for t in record["iterations"][0]["raw"]["tests"]]
    assert all(len(s) == 2 for s in kept) if fmt != "csv" else kept == [None, None] or all(not s for s in kept)
    # throughput: the decode test's tokens ÷ their seconds by llama-bench's clock (csv has no samples: one
    # repetition's tokens ÷ its mean time)
    tg = rows[1]
    tokens, seconds = (16, tg["avg_ns"] / 1e9) if fmt == "csv" else (16 * 2, sum(tg["samples_ns"]) / 1e9)
    assert m["output_tokens"] == tokens and m["output_tok_s"] == pytest.approx(tokens / seconds)
    it = record["iterations"][0]
    assert it["energy_window"]["name"] == "decode" and it["energy_window"]["duration_s"] == pytest.approx(seconds)
    assert record["schema_version"] == 2


def test_import_llama_bench_with_power_matched_by_time(cli, tmp_path, fake_power, llamacpp_bin, tiny_gguf):
    out = tmp_path / "power.json"
    sampler = threading.Thread(target=cli, args=("sample", "--samplers", "nvml", "--interval-ms", "20",
                                                 "--seconds", "12", "--machine", fake_power, "--out", out))
    sampler.start()
    time.sleep(1.5)
    path = tmp_path / "lb.json"
    path.write_text(run_llama_bench(llamacpp_bin["llama-bench"], tiny_gguf, "json"))
    sampler.join(timeout=60)
    code, shown, err = cli("import", path, "--machine", "lab", "--power", out, "--results", tmp_path / "res",
                           "--json")
    assert code == 0, err
    assert json.loads(shown)[0]["power"].startswith("matched by time"), shown
    [record] = load_records([tmp_path / "res"])
    it = record["iterations"][0]
    assert it["energy"]["system"]["avg_w"] == pytest.approx(GPU_W + OVERHEAD_W, rel=0.03)
    assert it["metrics"]["decode_w"] == pytest.approx(GPU_W + OVERHEAD_W, rel=0.03)
    assert "approximate" in it["energy_window"]["note"]
    # the decode energy: the window's mean power × the seconds its tokens took; per token ÷ those tokens
    seconds = it["energy_window"]["duration_s"]
    assert it["energy"]["system"]["joules"] == pytest.approx(it["energy"]["system"]["avg_w"] * seconds)
    assert it["metrics"]["decode_j_per_tok"] == pytest.approx(it["metrics"]["decode_w"] * seconds / (16 * 2))
