"""Shared server helpers: degenerate output, aggregation, URLs, error bodies, doctor, example suites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT
from fakes_llm_servers import LOOP, FakeOllama, FakeOpenAI, free_port, suite_file

from benchbench.commands.doctor import collect
from benchbench.errors import UserError
from benchbench.suite import load_suite
from benchbench.workloads import servers
from benchbench.workloads.ollama_llm import OllamaLLM

SEEDS = ROOT.parent / "shared" / "seeds"


def test_natural_prose_is_not_degenerate_but_loops_are():
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.md"))] if SEEDS.is_dir() else []
    texts.append(Path(ROOT / "benchbench" / "workloads" / "servers.py").read_text(encoding="utf-8"))
    for text in texts:
        for start in range(0, min(len(text), 20_000), 4_000):
            assert servers.degenerate(text[start:start + 4_000]) is None
    loop = " ".join(LOOP * 30)
    assert "repeats itself" in servers.degenerate(loop)
    assert servers.degenerate("!" * 500) is not None          # no words, still a loop (compression)
    assert servers.degenerate(loop[:150]) is None             # too short to judge
    share, ratio = servers.repetition(loop)
    assert share > 0.9 and ratio > 10


def test_aggregate_means_and_window():
    reqs = [{"metrics": {"gen_tokens": 10, "output_tokens": 10, "tg_tok_s": 50.0, "ttft_s": 0.1,
                         "done_reason": "stop", "retries": 1}, "start_s": 100.0, "end_s": 101.0},
            {"metrics": {"gen_tokens": 30, "output_tokens": 30, "tg_tok_s": 30.0, "ttft_s": None,
                         "done_reason": "length", "retries": 0}, "start_s": 100.5, "end_s": 102.0}]
    m = servers.aggregate(reqs)
    assert m["gen_tokens"] == 20 and m["tg_tok_s"] == 40 and m["ttft_s"] == 0.1   # per stream: the mean
    assert m["output_tokens"] == 40 and m["retries"] == 1                       # counts: the sum
    assert m["window_s"] == 2.0 and m["agg_output_tok_s"] == 20.0 and m["concurrency"] == 2
    assert m["done_reason"] in ("stop", "length")
    one = servers.aggregate(reqs[:1])
    assert one["gen_tokens"] == 10 and isinstance(one["gen_tokens"], int) and one["agg_output_tok_s"] == 10


@pytest.mark.parametrize("host,url", [
    (None, "http://localhost:11434"), ("gpu-box", "http://gpu-box:11434"),
    ("10.0.0.5:8000", "http://10.0.0.5:8000"), (":5555", "http://127.0.0.1:5555"),
    ("https://ollama.example.com/", "https://ollama.example.com")])
def test_ollama_url(monkeypatch, host, url):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert servers.ollama_url(host) == url


def test_ollama_host_env(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11500")
    assert servers.ollama_url() == "http://0.0.0.0:11500"
    assert servers.ollama_url("other") == "http://other:11434"


def test_error_text_shapes_and_secrets():
    assert servers.error_text(b'{"error": "model \'x\' not found"}') == "model 'x' not found"
    assert servers.error_text('{"error": {"message": "Rate limit reached", "type": "x"}}') == "Rate limit reached"
    assert servers.error_text('{"detail": "Not Found"}') == "Not Found"
    assert servers.error_text("<html>\n502 Bad Gateway\n</html>") == "<html> 502 Bad Gateway </html>"
    assert servers.scrub("key sk-123 leaked", "sk-123") == "key *** leaked"
    assert servers.public_url("https://u:p@api.x.com/v1/?k=1") == "https://api.x.com/v1"
    assert servers.same_ollama_model("llama3.2", "llama3.2:latest")
    assert not servers.same_ollama_model("llama3.2:1b", "llama3.2:3b")


def test_prompt_longer_than_the_context_is_refused(tmp_path):
    from fakes_llm_servers import build

    with pytest.raises(UserError, match=r"exceed options.num_ctx \(2048\).*raise num_ctx"):
        build(tmp_path, "ollama", model="m", prompt_tokens=2000, max_tokens=100, options={"num_ctx": 2048})


def test_doctor_reports_each_server(tmp_path, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")   # nothing listens there
    with FakeOllama(vram_fraction=0.5) as oll, FakeOpenAI(flavor="vllm") as oai:
        oll.preload("llama3.2:3b")
        suite = suite_file(tmp_path, [
            {"name": "a", "kind": "llm", "backend": "ollama", "host": oll.url, "model": "llama3.2:3b"},
            {"name": "b", "kind": "llm", "backend": "ollama", "host": oll.url, "model": "qwen3:32b"},
            {"name": "c", "kind": "llm", "backend": "openai", "base_url": oai.url + "/v1",
             "model": "llama-3.2-3b-instruct"}])
        found = {s["url"]: s for s in collect(str(suite))["servers"]}   # each backend answers for itself
        # without a suite the default Ollama is probed; with one, only the servers the suite uses
        default = {s["url"]: s for s in collect(None)["servers"]}[servers.ollama_url()]
    assert servers.ollama_url() not in found and len(found) == 2
    assert OllamaLLM.doctor([]) == {}   # a suite without Ollama entries probes no Ollama
    assert default["reachable"] is False and "ollama serve" in str(default)
    o = found[oll.url]
    assert o["reachable"] and o["version"] == "0.12.6" and o["missing"] == ["qwen3:32b"]
    assert o["loaded"][0]["gpu_fraction"] == pytest.approx(0.5)
    assert "llama3.2:3b (50% GPU" in str(o) and "ollama pull qwen3:32b" in str(o)
    a = found[oai.url + "/v1"]
    assert a["reachable"] and a["models"] == ["llama-3.2-3b-instruct"] and a["missing"] == []
    json.dumps(found)   # plain data for --json


def test_doctor_cli_lists_servers(cli, monkeypatch):
    with FakeOllama() as oll:
        monkeypatch.setenv("OLLAMA_HOST", oll.url)
        code, out, err = cli("doctor", "--json")
    assert code == 0
    (entry,) = json.loads(out)["servers"]
    assert entry["url"] == oll.url and entry["reachable"] and entry["loaded"] == []


def test_example_suites_validate():
    ollama = load_suite(ROOT / "suites" / "ollama.yaml")
    names = [w.name for w in ollama.workloads]
    assert [n for n in names if n.startswith("published")] == [
        "published[model=llama3.2:3b]", "published[model=llama3.1:8b]", "published[model=llama3.1:70b]"]
    depth = [w for w in ollama.workloads if w.base_name == "context-depth"]
    assert [w.params["prompt_tokens"] for w in depth] == [128, 1024, 4096, 12000]
    assert {w.params["options"]["num_ctx"] for w in depth} == {16384}
    openai = load_suite(ROOT / "suites" / "openai.yaml")
    hosted = next(w for w in openai.workloads if w.name == "claude-haiku")
    assert hosted.params["api_key_env"] == "ANTHROPIC_API_KEY"
