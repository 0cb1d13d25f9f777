"""The load tests against a real llama.cpp server (Part 14's fixtures: tests/llamacpp_helpers.py and the
`llamacpp_bin` / `llama_server_factory` fixtures in tests/conftest.py).

- a concurrency sweep 1, 2, 4 against `llama-server -np 4` agrees with the server's own timings
  (`timings.predicted_ms` per request, the /metrics counters) within 2%;
- a second run of the same suite reports no cached prompts (every prompt is unique to its run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from llamacpp_helpers import TIMING_SHAPE, make_tiny_gguf, one_chunk_per_token_bias

from benchbench.load.rows import read_rows

pytestmark = [pytest.mark.slow, pytest.mark.real_server]
TOL = 0.02


@pytest.fixture(scope="module")
def server4(llamacpp_bin, llama_server_factory):
    """llama-server -np 4 with the ~26 M-parameter model (per-token work well above HTTP overheads)."""
    model = make_tiny_gguf(llamacpp_bin["src"] or None, shape=TIMING_SHAPE)
    return llama_server_factory(n_parallel=4, ctx_size=8192, model=model)


def run_suite(cli, folder: Path, server: Any, results: Path, **load: Any) -> list[dict[str, Any]]:
    entry = {"name": "llamacpp-load", "kind": "llm", "backend": "openai", "model": server.model,
             "base_url": server.base_url, "api": "completions",
             # random weights: kept off the tokens llama-server does not stream one by one
             "options": {"ignore_eos": True, "temperature": 0, "logit_bias": one_chunk_per_token_bias()},
             "prompt_lengths": {"input": 64, "output": 128},
             "load": {"requests": 8, **load}, "matrix": {"load.concurrency": [1, 2, 4]}}
    suite = folder / "load-llamacpp.yaml"
    suite.write_text(yaml.safe_dump({"name": "load-llamacpp", "warmups": 0, "repetitions": 1,
                                     "power": {"samplers": ["none"]}, "workloads": [entry]}, sort_keys=False))
    code, _, err = cli("run", suite, "--results", results)
    assert code == 0, err
    return [json.loads(p.read_text()) | {"_dir": str(p.parent)} for p in sorted(results.rglob("*.json"))]


def test_concurrency_sweep_agrees_with_the_server_timings(tmp_path: Path, cli, server4) -> None:
    recs = run_suite(cli, tmp_path, server4, tmp_path / "r")
    assert sorted(r["workload"]["params"]["load"]["concurrency"] for r in recs) == [1, 2, 4]
    for rec in recs:
        it = rec["iterations"][0]
        m = it["metrics"]
        assert m["succeeded_requests"] == 8 and m["failed_requests"] == 0
        assert m["input_tokens_mean"] >= 64                         # the server's own count (template included)
        rows = read_rows(next((tmp_path / "r").rglob(it["artifacts"][0])))
        for r in rows:   # the server's own counts: prompt = processed + reused; nothing but BOS + a digit reused
            assert r["input_tokens_asked"] == 64 and abs(r["input_tokens"] - 64) <= 2, r
            assert r["server_prompt_tokens"] + r["cached_tokens"] == r["input_tokens"] and r["cached_tokens"] <= 2, r
        assert all(r["output_tokens"] == 128 == r["server_output_tokens"] for r in rows)
        # one chunk per token (the tokens llama-server holds back are biased away) ...
        assert all(r["chunks"] == r["output_tokens"] for r in rows), [(r["chunks"], r["output_tokens"]) for r in rows]
        # ... so client TPOT (chunk arrivals) meets llama.cpp's predicted_ms / (predicted_n − 1): the mean
        # within 2%, each request within 5%
        client = sum(r["tpot_s"] for r in rows) / len(rows)
        server = sum(r["server_tpot_s"] for r in rows) / len(rows)
        assert client == pytest.approx(server, rel=TOL)
        for r in rows:
            assert r["tpot_s"] == pytest.approx(r["server_tpot_s"], rel=0.05), r
        # the /metrics counters saw exactly the tokens the client counted
        assert m["server_output_tokens_delta"] == sum(r["output_tokens"] for r in rows)
        assert m["peak_concurrency"] == rec["workload"]["params"]["load"]["concurrency"]


def test_second_run_reports_no_cached_prompts(tmp_path: Path, cli, server4) -> None:
    first = run_suite(cli, tmp_path, server4, tmp_path / "r1", concurrency=2)
    second = run_suite(cli, tmp_path, server4, tmp_path / "r2", concurrency=2)
    for rec in first + second:
        m = rec["iterations"][0]["metrics"]
        # llama.cpp reuses a slot's matching prefix: at most the BOS token and the prefix's first digits
        assert m["cached_share"] < 0.05, m
        assert not any(w["code"] == "prompt_cached" for w in rec["warnings"])
        rows = read_rows(next(p for p in Path(rec["_dir"]).glob("*.requests.csv")))
        assert all(r["cached_tokens"] <= 2 for r in rows), [r["cached_tokens"] for r in rows]
