"""`benchbench sample` and `benchbench import` for the tools that can't run here (vLLM, GuideLLM,
ik_llama.cpp's llama-sweep-bench): files written from each tool's documented schema, with numbers
chosen here, so the figures the records must hold follow from stated laws.

Schemas: vLLM `vllm/benchmarks/serve.py` (result dict + `date`, `backend`, `model_id`, ... written by
`--save-result`); GuideLLM `GenerativeBenchmarksReport` (`metadata.guidellm_version`, `benchmarks[]` with
`start_time`/`end_time` and `metrics.<name>.successful.{mean, median, percentiles.p99}`); llama-sweep-bench
`examples/sweep-bench/README.md` + `sweep-bench.cpp` of ikawrakow/ik_llama.cpp (jsonl rows n_kv_max,
n_batch, n_ubatch, flash_attn, n_gpu_layers, n_threads, n_threads_batch, pp, tg, n_kv, t_pp, speed_pp,
t_tg, speed_tg, printed through its log on stderr, with `tg_start/tg_end for n_kv = N` markers).
The llama-bench imports round-trip files of the real llama-bench in test_llamacpp_real.py.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from power_helpers import FakeGpu, FakeNvml, FakePynvml

from benchbench.importers import detect
from benchbench.power import registry
from benchbench.power.recorded import RecordedPower
from benchbench.record import load_records
from benchbench.workloads.sweep_bench import sweep_metrics, windowed_rows

GPU_W = 80.0
OVERHEAD_W = 20.0


@pytest.fixture
def fake_nvml(monkeypatch):
    monkeypatch.setitem(registry.SAMPLERS, "nvml", "power_helpers:FakeNvml")
    monkeypatch.setattr(FakeNvml, "library", FakePynvml([FakeGpu(GPU_W)]))


@pytest.fixture
def power_file(cli, tmp_path, fake_nvml, write):
    """3 s of power from a fake GPU drawing 80 W (+ 20 W declared overhead: 100 W system, estimated)."""
    profile = write("machines/lab.yaml", f"name: lab\nnon_gpu_overhead_w: {OVERHEAD_W}\n")
    out = tmp_path / "power.json"
    t0 = time.time()
    code, stdout, err = cli("sample", "--samplers", "nvml", "--interval-ms", "20", "--seconds", "3",
                            "--save-every", "1", "--machine", profile, "--out", out)
    assert code == 0, err
    assert "complete: 3" in stdout
    return out, t0, time.time()


def sweep_rows(n_rows: int = 4, pp: int = 512, tg: int = 128) -> list[dict]:
    """Rows by a stated law: prefill at depth d takes (0.5 + d/4096) s, generation (1.0 + d/8192) s."""
    rows = []
    for i in range(n_rows):
        n_kv = i * pp
        t_pp, t_tg = 0.5 + n_kv / 4096, 1.0 + n_kv / 8192
        rows.append({"n_kv_max": n_rows * pp, "n_batch": 2048, "n_ubatch": pp, "flash_attn": 1, "n_gpu_layers": 99,
                     "n_threads": 16, "n_threads_batch": 16, "pp": pp, "tg": tg, "n_kv": n_kv, "t_pp": t_pp,
                     "speed_pp": pp / t_pp, "t_tg": t_tg, "speed_tg": tg / t_tg})
    return rows


def test_sweep_bench_rows_and_windows_from_its_documented_output():
    """ik_llama.cpp's llama-sweep-bench isn't in mainline llama.cpp, so it isn't built here: its stderr
    is written from the documented format (log lines, markers, jsonl rows) at known arrival times."""
    rows = sweep_rows()
    lines, t = [(0.0, "llama_model_loader: loaded meta data"), (0.1, "main: n_kv_max = 2048, ...")], 10.0
    for row in rows:
        lines.append((t, f"======================================== tg_start for n_kv = {row['n_kv']}"))
        t += row["t_tg"]
        lines.append((t, f"======================================== tg_end for n_kv = {row['n_kv']}"))
        t += row["t_pp"]
        lines.append((t, json.dumps(row)))
    parsed = windowed_rows(lines)
    assert [r["n_kv"] for r in parsed] == [0, 512, 1024, 1536]
    for row, got in zip(rows, parsed):
        assert got["window_tg_s"][1] - got["window_tg_s"][0] == pytest.approx(row["t_tg"])
        assert got["window_pp_s"][1] - got["window_pp_s"][0] == pytest.approx(row["t_pp"])
        assert got["window_source"] == "markers"
    # without markers (older builds) the windows come from t_tg and t_pp before the row's line
    bare = windowed_rows([x for x in lines if "tg_" not in x[1]])
    assert [r["window_source"] for r in bare] == ["timings"] * 4
    assert bare[2]["window_tg_s"] == pytest.approx(parsed[2]["window_tg_s"])
    # a flat 200 W over every window: J/token = W / tok/s over the whole sweep
    for r in parsed:
        for key in ("pp", "tg"):
            a, b = r[f"window_{key}_s"]
            r[f"energy_{key}"] = {"system": {"joules": 200.0 * (b - a), "avg_w": 200.0}}
    metrics = sweep_metrics(parsed)
    tg_tokens, tg_s = 4 * 128, sum(r["t_tg"] for r in rows)
    assert metrics["tg_tok_s"] == pytest.approx(tg_tokens / tg_s)
    assert metrics["pp_tok_s"] == pytest.approx(4 * 512 / sum(r["t_pp"] for r in rows))
    assert metrics["decode_w"] == pytest.approx(200.0) and metrics["prefill_w"] == pytest.approx(200.0)
    assert metrics["decode_j_per_tok"] == pytest.approx(200.0 / (tg_tokens / tg_s))
    assert metrics["depth_max_tokens"] == 1536


def test_import_sweep_bench_jsonl(cli, tmp_path):
    rows = sweep_rows()
    path = tmp_path / "sweep.jsonl"
    path.write_text("main: n_kv_max = 2048\n" + "\n".join(json.dumps(r) for r in rows) + "\n")
    assert detect(path.read_text()) == "sweep-bench"
    code, out, err = cli("import", path, "--machine", "box", "--results", tmp_path / "res")
    assert code == 0, err
    [record] = load_records([tmp_path / "res"])
    assert record["imported"]["tool"] == "sweep-bench" and record["machine"]["name"] == "box"
    assert record["iterations"][0]["energy"] == {}
    metrics = record["iterations"][0]["metrics"]
    assert metrics["tg_tok_s"] == pytest.approx(4 * 128 / sum(r["t_tg"] for r in rows))
    assert [r["speed_tg"] for r in record["iterations"][0]["raw"]["rows"]] == pytest.approx(
        [r["speed_tg"] for r in rows])
    assert record["imported"]["power"].startswith("none")
    # the machine's throughput over the sweep's own seconds (no times in the file: the tool's clock)
    seconds = sum(r["t_pp"] + r["t_tg"] for r in rows)
    assert metrics["output_tokens"] == 4 * 128 and metrics["input_tokens"] == 4 * 512
    assert metrics["output_tok_s"] == pytest.approx(4 * 128 / seconds)
    assert metrics["total_tok_s"] == pytest.approx(4 * (128 + 512) / seconds)
    assert record["iterations"][0]["energy_window"]["duration_s"] == pytest.approx(seconds)
    assert record["schema_version"] == 2


def vllm_result(end_unix: float, duration_s: float = 1.0) -> dict:
    """A `vllm bench serve --save-result` file: 40 requests of 200 in / 100 out tokens in `duration_s`."""
    completed, out_tokens = 40, 100
    return {"date": time.strftime("%Y%m%d-%H%M%S", time.localtime(end_unix)), "endpoint_type": "openai-chat",
            "backend": "openai-chat", "label": None, "model_id": "Qwen/Qwen3-8B", "tokenizer_id": "Qwen/Qwen3-8B",
            "num_prompts": completed, "request_rate": "inf", "burstiness": 1.0, "max_concurrency": 8,
            "duration": duration_s, "completed": completed, "failed": 0, "total_input_tokens": completed * 200,
            "total_output_tokens": completed * out_tokens, "request_throughput": completed / duration_s,
            "request_goodput": None, "output_throughput": completed * out_tokens / duration_s,
            "total_token_throughput": completed * 300 / duration_s, "max_output_tokens_per_s": 5000.0,
            "max_concurrent_requests": 8, "rtfx": 0.0,
            "mean_ttft_ms": 120.0, "median_ttft_ms": 110.0, "std_ttft_ms": 20.0, "p99_ttft_ms": 180.0,
            "mean_tpot_ms": 25.0, "median_tpot_ms": 24.0, "std_tpot_ms": 2.0, "p99_tpot_ms": 31.0,
            "mean_itl_ms": 25.5, "median_itl_ms": 24.5, "std_itl_ms": 3.0, "p99_itl_ms": 40.0}


def test_import_vllm_with_power_matched_by_time(cli, tmp_path, power_file):
    out, t0, t1 = power_file
    recorded = RecordedPower(out)
    span = recorded.span_unix_s
    assert span[0] >= t0 - 0.5 and span[1] <= t1 + 0.5 and span[1] - span[0] > 2.5
    end = math.ceil(span[0]) + 2.0          # vLLM's date has whole seconds: a second inside the samples
    path = tmp_path / "vllm.json"
    path.write_text(json.dumps(vllm_result(end)))
    code, shown, err = cli("import", path, "--machine", "box", "--power", out, "--results", tmp_path / "res",
                           "--json")
    assert code == 0, err
    [entry] = json.loads(shown)
    assert entry["tool"] == "vllm" and entry["power"].startswith("matched by time")
    [record] = load_records([tmp_path / "res"])
    it = record["iterations"][0]
    m = it["metrics"]
    assert m["output_tok_s"] == pytest.approx(4000.0) and m["req_s"] == pytest.approx(40.0)
    assert m["ttft_s"] == pytest.approx(0.120) and m["ttft_p99_s"] == pytest.approx(0.180)
    assert m["tpot_s"] == pytest.approx(0.025) and m["tg_tok_s"] == pytest.approx(40.0)
    assert m["prompt_tokens"] == 200 and m["gen_tokens"] == 100 and m["concurrency"] == 8
    assert m["input_tokens"] == 40 * 200 and m["output_tokens"] == 40 * 100 and m["total_tokens"] == 40 * 300
    assert m["total_tok_s"] == pytest.approx(12000.0) and m["completed_requests"] == 40 and m["failed_requests"] == 0
    assert it["energy"]["gpu0"]["avg_w"] == pytest.approx(GPU_W, rel=0.02)
    assert it["energy"]["system"]["avg_w"] == pytest.approx(GPU_W + OVERHEAD_W, rel=0.02)
    assert it["energy"]["system"]["basis"] == "gpu+cpu+overhead"
    assert it["energy_window"]["duration_s"] == pytest.approx(1.0)
    assert record["imported"]["version"] is None and record["workload"]["backend"] == "vllm-bench-serve"
    # outside the recorded time: nothing is matched, and the record says so
    path.write_text(json.dumps(vllm_result(end + 3600)))
    code, shown, _ = cli("import", path, "--machine", "box", "--power", out, "--results", tmp_path / "r2", "--json")
    assert code == 0 and json.loads(shown)[0]["power"].startswith("none: power.json does not cover")


def guidellm_report(start: float, end: float) -> dict:
    def dist(mean: float, median: float, p99: float) -> dict:
        pct = {"p001": median, "p01": median, "p05": median, "p10": median, "p25": median, "p50": median,
               "p75": median, "p90": p99, "p95": p99, "p99": p99, "p999": p99}
        one = {"mean": mean, "median": median, "mode": median, "variance": 1.0, "std_dev": 1.0, "min": median,
               "max": p99, "count": 20, "total_sum": mean * 20, "percentiles": pct, "pdf": None}
        return {"successful": one, "incomplete": None, "errored": None, "total": one}

    metrics = {"request_totals": {"successful": 20, "incomplete": 0, "errored": 1, "total": 21},
               "req_second": dist(4.0, 4.0, 5.0), "request_concurrency": dist(2.0, 2.0, 2.0),
               "request_latency": dist(0.5, 0.48, 0.9), "prompt_token_count": dist(256, 256, 256),
               "output_token_count": dist(128, 128, 128), "time_to_first_token_ms": dist(50.0, 45.0, 120.0),
               "time_per_output_token_ms": dist(4.2, 4.1, 5.0), "inter_token_latency_ms": dist(3.5, 3.4, 4.5),
               "output_tokens_per_second": dist(512.0, 510.0, 600.0), "tokens_per_second": dist(1536.0, 1500, 1700)}
    bench = {"type_": "generative_benchmark", "config": {"strategy": {"type_": "concurrent", "streams": 2}},
             "scheduler_metrics": {"measure_start_time": start, "measure_end_time": end}, "metrics": metrics,
             "requests": {"successful": [], "incomplete": [], "errored": []},
             "start_time": start, "end_time": end, "duration": end - start}
    return {"metadata": {"version": 2, "guidellm_version": "0.8.1"},
            "args": {"target": "http://localhost:8000", "model": "Qwen/Qwen3-8B"}, "benchmarks": [bench]}


def test_import_guidellm_with_power_matched_by_time(cli, tmp_path, power_file):
    out, _, _ = power_file
    span = RecordedPower(out).span_unix_s
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(guidellm_report(span[0] + 0.5, span[0] + 2.0)))
    code, _, err = cli("import", path, "--machine", "box", "--power", out, "--results", tmp_path / "res")
    assert code == 0, err
    [record] = load_records([tmp_path / "res"])
    assert record["imported"] == {**record["imported"], "tool": "guidellm", "version": "0.8.1"}
    m = record["iterations"][0]["metrics"]
    assert m["output_tok_s"] == 512.0 and m["ttft_s"] == pytest.approx(0.050) and m["ttft_p99_s"] == 0.120
    assert m["tpot_s"] == pytest.approx(0.0035) and m["tg_tok_s"] == pytest.approx(1000 / 3.5)
    assert m["e2e_s"] == 0.5 and m["completed_requests"] == 20 and m["failed_requests"] == 1 and m["concurrency"] == 2.0
    assert m["output_tokens"] == 128 * 20 and m["input_tokens"] == 256 * 20 and m["total_tok_s"] == 1536.0
    assert m["window_s"] == pytest.approx(1.5)
    energy = record["iterations"][0]["energy"]
    assert energy["system"]["joules"] == pytest.approx((GPU_W + OVERHEAD_W) * 1.5, rel=0.03)
    assert record["workload"]["params"]["model"] == "Qwen/Qwen3-8B"


def test_imported_records_are_labelled_in_the_analysis(cli, tmp_path):
    path = tmp_path / "vllm.json"
    path.write_text(json.dumps(vllm_result(time.time())))
    assert cli("import", path, "--machine", "box", "--results", tmp_path / "res")[0] == 0
    from benchbench.analysis import analyze

    result = analyze([tmp_path / "res"])
    group = result.groups.iloc[0]
    assert group["provenance"] == "imported" and group["label"].endswith("(imported)")
    assert group["source"] == "vllm"
    assert group["tg_tok_s"] == pytest.approx(40.0)
    # the machine's throughput: its output tokens over its window, as vLLM's output_throughput; J/token
    # needs power, which this import has none of
    assert group["output_tok_s"] == pytest.approx(4000.0)
    from benchbench.record import load_typed

    [path] = (tmp_path / "res").rglob("*.json")
    typed = load_typed(path)
    assert typed.imported.tool == "vllm" and typed.imported.source == "vllm" and typed.schema_version == 2


def test_import_errors_are_one_line(cli, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    code, _, err = cli("import", bad, "--machine", "box", "--results", tmp_path)
    assert code == 2 and err.startswith(f"error: {bad}: not a result file") and "Traceback" not in err
    missing = tmp_path / "nope.json"
    code, _, err = cli("import", missing, "--machine", "box")
    assert code == 2 and "cannot read" in err
    code, _, err = cli("import", bad, "--machine", "box", "--power", bad)
    assert code == 2 and "not a `benchbench sample` file" in err


def test_sample_stops_on_sigterm_and_keeps_what_it_has(tmp_path, write):
    profile = write("machines/plug.yaml", "name: plug\nload_w: 150\n")
    out = tmp_path / "p.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "benchbench", "sample", "--samplers", "declared", "--machine",
                             str(profile), "--out", str(out), "--save-every", "0.2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert out.exists(), proc.stderr.read() if proc.poll() is not None else "no file yet"
    assert json.loads(out.read_text())["status"] == "recording"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    data = json.loads(out.read_text())
    assert data["status"] == "stopped" and data["finished_at"] and data["seconds"] > 0
    assert data["power"]["declared_w"] == 150.0 and "stopped:" in stdout
    t = time.time()
    recorded = RecordedPower(out)
    assert recorded.span_unix_s is None and recorded.energy(t - 1, t) == {}   # declared: no samples to match
    code = subprocess.run([sys.executable, "-m", "benchbench", "sample", "--out", str(out), "--samplers", "declared",
                           "--machine", str(profile)], env=env, capture_output=True, text=True)
    assert code.returncode == 2 and "exists; nothing is overwritten" in code.stderr


def test_detect_formats():
    assert detect('[{"avg_ts": 1.0, "n_prompt": 512}]') == "llama-bench"
    assert detect('{"avg_ts": 1.0}\n{"avg_ts": 2.0}\n') == "llama-bench"
    assert detect("build_commit,n_prompt,avg_ts\n1,512,3.0\n") == "llama-bench"
    assert detect(json.dumps(vllm_result(time.time()))) == "vllm"
    assert detect(json.dumps(guidellm_report(1.0, 2.0))) == "guidellm"
    assert detect("hello") is None


def test_sample_files_are_read_back(tmp_path, power_file):
    out, _, _ = power_file
    data = json.loads(Path(out).read_text())
    assert data["type"] == "power-samples" and data["status"] == "complete"
    assert data["power"]["samples"] == "power.power.csv" and (Path(out).parent / "power.power.csv").exists()
    span = RecordedPower(out).span_unix_s
    energy = RecordedPower(out).energy(span[0] + 0.5, span[0] + 1.5)
    assert energy["gpu0"]["joules"] == pytest.approx(GPU_W, rel=0.02)


def test_report_shows_speed_against_depth(cli, tmp_path):
    rows = sweep_rows()
    path = tmp_path / "sweep.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert cli("import", path, "--machine", "box", "--results", tmp_path / "res")[0] == 0
    code, _, err = cli("report", tmp_path / "res", "-o", tmp_path / "r.md", "--format", "md", "--no-reference")
    assert code == 0, err
    text = (tmp_path / "r.md").read_text()
    section = text[text.index("Speed and energy against context depth"):]
    for row in rows:   # one line per depth, with the tool's own speeds
        assert f"| {row['n_kv']} |" in section.replace(",", "") or f"| {row['n_kv']:,} |" in section
        assert f"{row['speed_tg']:.1f}"[:4] in section
