"""The llama-bench backend's pieces without a binary: flags from suite keys, power windows from
`--progress` lines (llama-bench.cpp prints `llama-bench: benchmark i/N: <prompt|generation> run r/R`
to stderr as each repetition starts), and the fallback when a build has no --progress."""

from __future__ import annotations

import json

import pytest

from benchbench.suite import WorkloadSpec
from benchbench.workloads.llama_bench import LlamaBench, llama_bench_metrics
from benchbench.workloads.llamacpp_tools import ToolRun, lb_row, lb_test_name, read_llama_bench

ROW = {"build_commit": "0c1e5709", "build_number": 1, "backends": "CPU", "model_filename": "m.gguf",
       "n_threads": 2, "n_depth": 0, "test_time": "2026-01-01T00:00:00Z", "cpu_strict": False, "flash_attn": 0}


def workload(**params) -> LlamaBench:
    base = {"model": "m.gguf", "n_prompt": 64, "n_gen": 16, "depth": 0, "reps": 3, "args": []}
    return LlamaBench(WorkloadSpec(name="lb", base_name="lb", kind="llm", backend="llama-bench",
                                   params={**base, **params}))


def constant_power(watts: float):
    """energy(t0, t1) of a machine drawing `watts` at the wall: the monitor's shape."""
    def energy(t0: float, t1: float) -> dict:
        return {"wall": {"joules": watts * (t1 - t0), "avg_w": watts, "source": "counter"},
                "system": {"joules": watts * (t1 - t0), "avg_w": watts, "source": "counter", "basis": "wall"}}
    return energy


def test_suite_keys_become_llama_bench_flags():
    w = workload(threads=8, n_gpu_layers=99, batch=2048, ubatch=512, flash_attn=True, cache_type_k="q8_0",
                 cache_type_v="q8_0", n_cpu_moe=20, tensor_split="3/1", override_tensor="exps=CPU",
                 no_kv_offload=False, depth=4096, args=["--mmap", "0"])
    argv = w.argv("tg", "llama-bench", "m.gguf")
    pairs = dict(zip(argv[1::2], argv[2::2]))
    assert pairs["-p"] == "0" and pairs["-n"] == "16" and pairs["-d"] == "4096" and pairs["-r"] == "3"
    assert pairs["-o"] == "jsonl" and pairs["-t"] == "8" and pairs["-ngl"] == "99" and pairs["-b"] == "2048"
    assert pairs["-ub"] == "512" and pairs["-fa"] == "1" and pairs["-ctk"] == pairs["-ctv"] == "q8_0"
    assert pairs["-ncmoe"] == "20" and pairs["-ts"] == "3/1" and pairs["-ot"] == "exps=CPU" and pairs["-nkvo"] == "0"
    assert argv[-3:] == ["--progress", "--mmap", "0"]
    assert workload(flash_attn="auto").argv("pp", "b", "m")[-3:-1] == ["-fa", "auto"]
    assert LlamaBench.validate_params({"model": "m", "n_prompt": 0, "n_gen": 0, "args": []})[0] == "n_prompt"
    assert LlamaBench.validate_params({"model": "m", "n_prompt": 1, "n_gen": 0, "args": ["-r", "2"]})[0] == "args"
    assert workload(n_prompt=0).tests() == ["tg"]


def tool_run(kind: str, samples_ns: list[int], starts: list[float], line_at: float, progress: bool) -> ToolRun:
    what = "prompt" if kind == "pp" else "generation"
    row = {**ROW, "n_prompt": 64 if kind == "pp" else 0, "n_gen": 16 if kind == "tg" else 0,
           "avg_ns": sum(samples_ns) // len(samples_ns), "avg_ts": 100.0, "samples_ns": samples_ns,
           "samples_ts": [1e9 * 64 / s for s in samples_ns]}
    stderr = [(0.0, "llama_model_loader: ..."), (0.5, f"llama-bench: benchmark 1/1: warmup {what} run")]
    if progress:
        stderr += [(t, f"llama-bench: benchmark 1/1: {what} run {i + 1}/{len(starts)}") for i, t in enumerate(starts)]
    return ToolRun(argv=["llama-bench"], returncode=0, stdout=[(line_at, json.dumps(row))], stderr=stderr)


def test_power_window_is_the_repetitions_from_the_progress_lines():
    samples = [200_000_000, 250_000_000, 300_000_000]
    starts = [10.0, 10.3, 10.7]
    run = tool_run("pp", samples, starts, line_at=11.2, progress=True)
    [test] = workload()._tests_of(run, "pp", constant_power(150.0))
    assert test["window_source"] == "progress" and test["rep_starts_s"] == starts
    assert test["window_s"] == pytest.approx([10.0, 10.7 + 0.3])   # last start + its sample
    late = workload()._tests_of(tool_run("pp", samples, [10.4, 10.5, 10.7], 11.2, True), "pp", None)[0]
    assert late["window_s"] == pytest.approx([10.25, 11.0])   # a late first line: still the samples' length
    assert test["energy"]["system"]["joules"] == pytest.approx(150.0 * 1.0)
    metrics = llama_bench_metrics([test])
    # J/token = the window's energy ÷ the tokens of all its repetitions (3 × 64), not W ÷ llama-bench's avg_ts
    assert metrics["input_tokens"] == 3 * 64 and metrics["output_tokens"] is None
    assert metrics["prefill_w"] == 150.0 and metrics["prefill_j_per_tok"] == pytest.approx(150.0 / (3 * 64))
    assert metrics["tg_tok_s"] is None and metrics["decode_w"] is None and metrics["gen_tokens"] is None


def test_without_progress_the_window_ends_at_the_result_line():
    samples = [100_000_000, 100_000_000]
    run = tool_run("tg", samples, [], line_at=20.0, progress=False)
    [test] = workload()._tests_of(run, "tg", constant_power(90.0))
    assert test["window_source"] == "samples" and test["window_s"] == pytest.approx([19.8, 20.0])
    metrics = llama_bench_metrics([test])
    assert metrics["decode_j"] == pytest.approx(90.0 * 0.2) and metrics["output_tokens"] == 2 * 16
    assert metrics["decode_j_per_tok"] == pytest.approx(90.0 * 0.2 / 32) and "output_tok_s" not in metrics


def test_a_failed_run_says_why():
    from benchbench.errors import WorkloadError

    run = ToolRun(argv=["llama-bench"], returncode=1, stderr=[(0.0, "error: failed to load model 'm.gguf'")])
    with pytest.raises(WorkloadError, match="llama-bench \\(pp\\) failed \\(exit 1\\).*failed to load model"):
        workload()._tests_of(run, "pp", None)


def test_fields_are_parsed_by_name_and_unknown_ones_kept():
    row = lb_row({"n_prompt": "512", "n_gen": "0", "avg_ts": "7100.5", "cpu_strict": "0", "use_mmap": "true",
                  "samples_ns": "[ 1, 2 ]", "brand_new_field": "x"})
    assert row == {"n_prompt": 512, "n_gen": 0, "avg_ts": 7100.5, "cpu_strict": False, "use_mmap": True,
                   "samples_ns": [1, 2], "brand_new_field": "x"}
    assert lb_test_name({"n_prompt": 512, "n_gen": 0, "n_depth": 4096}) == "pp512 @ d4096"
    assert lb_test_name({"n_prompt": 512, "n_gen": 128}) == "pp512+tg128"
    with pytest.raises(ValueError):
        read_llama_bench("a,b\n1,2\n")


def test_doctor_checks_each_entrys_binary_and_model(tmp_path, monkeypatch):
    """`benchbench doctor`: the llama-bench binary each suite entry names (its version) and missing models;
    without a suite, llama-bench on PATH."""
    tool = tmp_path / "llama-bench"
    tool.write_text("#!/bin/sh\necho 'version: 1234 (abcdef0)'\n")
    tool.chmod(0o755)
    (tmp_path / "here.gguf").write_bytes(b"GGUF")
    specs = [WorkloadSpec(name=n, base_name=n, kind="llm", backend="llama-bench", suite_dir=tmp_path,
                          params={"binary": str(tool), "model": m})
             for n, m in (("a", "here.gguf"), ("b", "gone.gguf"))]
    [status] = LlamaBench.doctor(specs)["llama.cpp tools"]
    assert status["found"] and status["version"] == "1234 (abcdef0)"
    assert status["models_missing"] == ["b: model gone.gguf not found"]
    assert str(status) == f"llama-bench {tool}: version 1234 (abcdef0); b: model gone.gguf not found"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    [missing] = LlamaBench.doctor(None)["llama.cpp tools"]
    assert not missing["found"] and "`llama-bench` is not on PATH" in str(missing)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert LlamaBench.doctor(None)["llama.cpp tools"][0]["binary"] == str(tool)
    assert LlamaBench.doctor([]) == {}   # a suite without llama-bench entries: nothing to check
