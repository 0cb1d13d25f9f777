"""The ollama backend against the fake Ollama server (and a real one when BENCHBENCH_OLLAMA_URL is set)."""

from __future__ import annotations

import json
import uuid

import pytest
from fakes_llm_servers import FakeOllama, Target, build, free_port, iterate, real_ollama, suite_file

from benchbench.errors import ServerError

TARGETS = ["fake"] + (["real"] if real_ollama() else [])
FAST = {"retries": 1, "retry_backoff_s": 0.01}


@pytest.fixture(params=TARGETS)
def target(request):
    if request.param == "real":
        yield real_ollama()
        return
    with FakeOllama() as fake:
        yield Target(fake.url, "llama3.2:3b", fake)


@pytest.fixture
def fake():
    with FakeOllama() as server:
        yield server


def ollama(tmp_path, t: Target, **params):
    w = build(tmp_path, "ollama", model=t.model, host=t.url, **{**FAST, **params})
    w.facts = w.setup()
    return w


def test_metrics_come_from_the_server_counters(tmp_path, target):
    w = ollama(tmp_path, target, max_tokens=16, options={"num_ctx": 2048, "temperature": 0})
    results = [iterate(w, i, tmp_path) for i in range(2)]
    for r in results:
        m, server = r.metrics, r.raw["requests"][0]["server"]
        assert m["gen_tokens"] == server["eval_count"] and 0 < m["gen_tokens"] <= 16
        assert m["gen_s"] == pytest.approx(server["eval_duration"] / 1e9, rel=1e-12)
        # Ollama's eval_duration runs from the first sampled token: the decode steps are eval_count − 1
        assert m["tg_tok_s"] == pytest.approx((m["gen_tokens"] - 1) / m["gen_s"], rel=1e-12)
        assert (m["output_tokens"], m["input_tokens"]) == (m["gen_tokens"], m["prompt_tokens"])
        assert m["total_tokens"] == m["gen_tokens"] + m["prompt_tokens"]
        assert m["pp_tok_s"] == pytest.approx(m["prompt_tokens"] / m["prompt_s"], rel=1e-12)
        assert m["prompt_tokens"] == server["prompt_eval_count"] > 5
        assert m["load_s"] == pytest.approx(server["load_duration"] / 1e9, rel=1e-12)
        assert m["total_s"] == pytest.approx(server["total_duration"] / 1e9, rel=1e-12)
        assert 0 < m["ttft_s"] < m["e2e_s"] and m["done_reason"] in ("stop", "length")
        assert m["concurrency"] == 1 and m["retries"] == 0 and m["gpu_fraction"] is not None
    facts = w.facts
    assert facts["server_version"] and facts["model_size_bytes"] > 0 and facts["context_length"] == 2048
    assert facts["parameter_size"] and facts["quantization_level"] and facts["family"]
    if target.fake:
        truth = target.fake.last_log()
        m = results[-1].metrics
        assert m["gen_s"] == pytest.approx(truth["eval_s"], rel=1e-6)
        assert m["tg_tok_s"] == pytest.approx(1000, rel=0.6)   # the fake's rate: loose, a loaded 2-core box lags it
        assert m["prompt_tokens"] == truth["prompt_eval_count"]
        server_ttft = truth["first_token_s"] - truth["recv_s"]
        assert server_ttft <= m["ttft_s"] < server_ttft + 0.05   # overhead: see benchmarks/
        assert truth["options"] == {"num_ctx": 2048, "temperature": 0, "num_predict": 16}
        assert facts["model_size_bytes"] == 2_019_393_189 and facts["parameters"] == 3_212_749_888
        assert facts["gpu_fraction"] == 1.0 and facts["model_was_loaded"] is False
        prompts = [r["body"]["prompt"] for r in target.fake.requests if r["body"].get("prompt")]
        assert len(set(p.split("]")[0] for p in prompts)) == 2   # each iteration's first words differ
    w.teardown()


def test_chat_api_streams_message_content(tmp_path, target):
    w = ollama(tmp_path, target, api="chat", system="Answer briefly.", max_tokens=8)
    m = iterate(w, 1, tmp_path).metrics
    assert 0 < m["gen_tokens"] <= 8 and m["ttft_s"] < m["e2e_s"] and m["output_chars"] > 0
    if target.fake:
        body = next(r["body"] for r in target.fake.requests if r["path"] == "/api/chat" and r["body"]["messages"])
        assert [msg["role"] for msg in body["messages"]] == ["system", "user"]
    w.teardown()


def test_cold_load_unloads_before_each_iteration(tmp_path, target):
    cold = ollama(tmp_path, target, load="cold", max_tokens=4)
    loads = [iterate(cold, i, tmp_path).metrics["load_s"] for i in range(2)]
    cold.teardown()
    warm = ollama(tmp_path, target, load="warm", max_tokens=4)
    warm_loads = [iterate(warm, i, tmp_path).metrics["load_s"] for i in range(2)]
    warm.teardown()
    assert min(loads) > 10 * max(warm_loads)
    if target.fake:
        assert min(loads) >= 0.02 and max(warm_loads) < 0.001
        unloads = [r for r in target.fake.requests if r["body"].get("keep_alive") == 0]
        assert len(unloads) == 3 and all(not r["body"].get("prompt") for r in unloads)


@pytest.mark.parametrize("fraction,code", [(0.0, "model_on_cpu"), (0.6, "model_partially_on_cpu"),
                                           (1.0, None)])
def test_placement_from_api_ps(tmp_path, fraction, code):
    with FakeOllama(vram_fraction=fraction) as fake:
        w = ollama(tmp_path, Target(fake.url, "llama3.2:3b", fake), max_tokens=4)
        it = {"index": 0, "metrics": iterate(w, 0, tmp_path).metrics}
        warnings = w.check_run([it])
    assert it["metrics"]["gpu_fraction"] == pytest.approx(fraction, abs=1e-6)
    assert w.facts["loaded_size_vram_bytes"] == int(w.facts["loaded_size_bytes"] * fraction)
    assert [x.code for x in warnings] == ([code] if code else [])
    if code == "model_partially_on_cpu":
        assert "60%" in warnings[0].message
    if code == "model_on_cpu":
        assert "HSA_OVERRIDE_GFX_VERSION" in warnings[0].message


def test_a_cached_prompt_is_flagged_not_reported_as_prefill(tmp_path, target):
    unique = f"Tell me about rivers. ({uuid.uuid4().hex[:8]})"   # not cached by an earlier run
    w = ollama(tmp_path, target, vary_prompt=False, max_tokens=4, prompt=unique)
    first, second = iterate(w, 0, tmp_path), iterate(w, 1, tmp_path)
    assert "prompt_cached" not in [x.code for x in first.warnings]
    assert "prompt_cached" in [x.code for x in second.warnings]
    if target.fake:   # Ollama leaves prompt_eval_count out when the whole prompt was cached
        assert "prompt_eval_count" not in json.dumps(second.raw["requests"][0]["server"]).replace(
            '"prompt_eval_count": null', "")
        assert second.metrics["prompt_tokens"] is None and second.metrics["pp_tok_s"] is None
    w.teardown()


def test_token_limit_and_degenerate_output(tmp_path, fake):
    t = Target(fake.url, "llama3.2:3b", fake)
    w = ollama(tmp_path, t, max_tokens=16)
    fake.gen_len = None
    r = iterate(w, 0, tmp_path)
    assert r.metrics["done_reason"] == "length" and [x.code for x in r.warnings] == ["hit_token_limit"]
    fake.gen_len, fake.text = 60, "repeat"
    w.params["max_tokens"] = 100
    r = iterate(w, 1, tmp_path)
    assert r.metrics["done_reason"] == "stop" and [x.code for x in r.warnings] == ["degenerate_output"]
    assert r.raw["requests"][0]["repetition"]["repeat_4gram_share"] > 0.8
    fake.text = "normal"
    assert iterate(w, 2, tmp_path).warnings == []


def test_concurrency_overlaps_requests(tmp_path, target):
    w = ollama(tmp_path, target, concurrency=4, max_tokens=8)
    r = iterate(w, 1, tmp_path)
    reqs = r.raw["requests"]
    assert r.metrics["concurrency"] == 4 and len(reqs) == 4
    total = sum(q["metrics"]["gen_tokens"] for q in reqs)
    assert r.metrics["output_tokens"] == total           # counts add up over the requests, speeds average
    assert r.metrics["agg_output_tok_s"] == pytest.approx(total / r.metrics["window_s"], rel=1e-9)
    assert r.metrics["gen_tokens"] == pytest.approx(total / 4)
    assert r.metrics["tg_tok_s"] == pytest.approx(sum(q["metrics"]["tg_tok_s"] for q in reqs) / 4)
    if target.fake:   # the fake serves in parallel: the window is much shorter than the sum
        assert r.metrics["window_s"] < 0.6 * sum(q["metrics"]["e2e_s"] for q in reqs)
        prompts = {q["body"]["prompt"] for q in target.fake.requests if q["body"].get("prompt")}
        assert len(prompts) == 4
    w.teardown()


def test_unreachable_server_names_the_url_and_ollama_serve(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    w = build(tmp_path, "ollama", model="llama3.2:3b", host=url, **FAST)
    with pytest.raises(ServerError) as err:
        w.setup()
    message = str(err.value)
    assert url in message and "ollama serve" in message and "\n" not in message
    assert "after 1 retry" in message


def test_missing_model_says_ollama_pull(tmp_path, target):
    w = build(tmp_path, "ollama", model="benchbench-no-such-model:1b", host=target.url, **FAST)
    with pytest.raises(ServerError, match=r"ollama pull benchbench-no-such-model:1b\)$"):
        w.setup()


def test_http_errors_carry_the_server_message(tmp_path, fake):
    w = ollama(tmp_path, Target(fake.url, "llama3.2:3b", fake), max_tokens=4)
    fake.fail_next = [(500, {"error": "llama runner process has terminated: CUDA error: out of memory"})]
    with pytest.raises(ServerError, match="HTTP 500: llama runner process has terminated: CUDA error"):
        iterate(w, 0, tmp_path)
    assert iterate(w, 1, tmp_path).metrics["gen_tokens"] == 4


def test_a_reset_connection_is_retried(tmp_path, fake):
    w = ollama(tmp_path, Target(fake.url, "llama3.2:3b", fake), max_tokens=4)
    fake.drop_next = 1
    r = iterate(w, 0, tmp_path)
    assert r.metrics["retries"] == 1 and r.metrics["gen_tokens"] == 4


def test_per_request_timeout(tmp_path, fake):
    w = ollama(tmp_path, Target(fake.url, "llama3.2:3b", fake), max_tokens=40, timeout_s=0.2)
    fake.tg_tok_s = 40.0   # 40 tokens take 1 s
    with pytest.raises(ServerError, match="timeout_s=0.2"):
        iterate(w, 0, tmp_path)


def test_server_dying_mid_stream_fails_the_iteration(tmp_path, fake):
    w = ollama(tmp_path, Target(fake.url, "llama3.2:3b", fake), max_tokens=16)
    assert iterate(w, 0, tmp_path).metrics["gen_tokens"] == 16
    fake.die_mid_stream_after = 5
    with pytest.raises(ServerError) as err:
        iterate(w, 1, tmp_path)
    assert f"the stream from {fake.url} was cut after 5 chunks of text" in str(err.value)
    assert "not retried" in str(err.value)


def test_server_dying_mid_suite_keeps_finished_iterations_and_the_suite_goes_on(tmp_path, cli):
    from benchbench.record import load_records

    with FakeOllama() as dying, FakeOllama() as healthy:
        dying.die_after_requests = 2
        suite = suite_file(tmp_path, [
            {"name": "dies", "kind": "llm", "backend": "ollama", "model": "llama3.2:3b", "host": dying.url,
             "max_tokens": 4, "repetitions": 5, **FAST},
            {"name": "next", "kind": "llm", "backend": "ollama", "model": "llama3.2:3b", "host": healthy.url,
             "max_tokens": 4}])
        code, out, err = cli("run", suite, "--results", tmp_path / "results")
    assert code == 1
    recs = {r["workload"]["name"]: r for r in load_records([tmp_path / "results"]) if r.get("type") == "run"}
    dies, nxt = recs["dies"], recs["next"]
    assert dies["status"] == "failed" and nxt["status"] == "complete"
    its = dies["iterations"]
    assert [bool(it.get("error")) for it in its] == [False, False, True, True, True]
    assert all(it["metrics"]["gen_tokens"] == 4 for it in its[:2])
    assert dying.url in its[2]["error"] and "ollama serve" in its[2]["error"]
    assert its[4]["error"].startswith("not run")
    assert [it["metrics"]["gen_tokens"] for it in nxt["iterations"]] == [4]
