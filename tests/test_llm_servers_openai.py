"""The openai backend against the fake OpenAI-compatible server (and a real one when BENCHBENCH_OPENAI_URL
is set, with BENCHBENCH_OPENAI_MODEL and optionally BENCHBENCH_OPENAI_KEY_ENV)."""

from __future__ import annotations

import json

import pytest
from fakes_llm_servers import FakeOpenAI, Target, build, free_port, iterate, real_openai, suite_file

from benchbench.errors import ServerError, UserError

TARGETS = ["fake"] + (["real"] if real_openai() else [])
FAST = {"retries": 1, "retry_backoff_s": 0.01}
MODEL = "llama-3.2-3b-instruct"


@pytest.fixture(params=TARGETS)
def target(request):
    if request.param == "real":
        yield real_openai()
        return
    with FakeOpenAI() as fake:
        yield Target(fake.url + "/v1", MODEL, fake)


def openai(tmp_path, t: Target, **params):
    if t.key_env:
        params.setdefault("api_key_env", t.key_env)
    w = build(tmp_path, "openai", model=t.model, base_url=t.url, **{**FAST, **params})
    w.facts = w.setup()
    return w


def test_stream_metrics_follow_vllm_definitions(tmp_path, target):
    w = openai(tmp_path, target, max_tokens=16, options={"temperature": 0})
    r = iterate(w, 1, tmp_path)
    m = r.metrics
    n = m["gen_tokens"]
    assert 2 <= n <= 16 and m["output_tokens"] == n and m["input_tokens"] == m["prompt_tokens"] > 5
    assert m["gen_s"] == pytest.approx(m["e2e_s"] - m["ttft_s"], rel=1e-9)
    assert m["tg_tok_s"] == pytest.approx((n - 1) / m["gen_s"], rel=1e-9)
    assert m["tpot_s"] == pytest.approx(m["gen_s"] / (n - 1), rel=1e-9)
    assert 0 < m["ttft_s"] < m["e2e_s"] and m["itl_median_s"] > 0 and m["itl_max_s"] >= m["itl_p99_s"]
    assert m["done_reason"] in ("stop", "length") and m["load_s"] is None
    assert r.raw["requests"][0]["usage"]["completion_tokens"] == n
    timings = r.raw["requests"][0].get("timings")
    if timings:   # llama-server (real or its fake): its own decode speed, as it sent it
        assert m["server_tg_tok_s"] == timings["predicted_per_second"]
    if target.fake:
        truth = target.fake.last_log()
        assert m["tg_tok_s"] == pytest.approx(1000, rel=0.6)  # loose: a loaded 2-core CI box lags the fake
        assert truth["true_ttft_s"] <= m["ttft_s"] < truth["true_ttft_s"] + 0.05
        assert m["pp_tok_s"] == pytest.approx(50_000, rel=1e-6)   # llama.cpp timings
        assert m["server_tg_tok_s"] == pytest.approx(1000, rel=0.6)
        # llama-server's own figure, as it sent it: (predicted_n − 1) ÷ predicted_ms
        sent = truth["timings"]
        assert m["server_tg_tok_s"] == sent["predicted_per_second"]
        assert sent["predicted_per_second"] == pytest.approx((n - 1) / (sent["predicted_ms"] / 1000), rel=1e-9)
        body = target.fake.requests[-1]["body"]
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        assert body["max_tokens"] == 16 and body["temperature"] == 0 and body["messages"][-1]["role"] == "user"
        assert w.facts["model_size_bytes"] == target.fake.model_size_bytes
        assert w.facts["parameters"] == 3_212_749_888 and w.facts["context_length"] == 131072
    w.teardown()


def test_completions_endpoint(tmp_path):
    with FakeOpenAI() as fake:
        w = openai(tmp_path, Target(fake.url + "/v1", MODEL, fake), api="completions", max_tokens=8)
        m = iterate(w, 0, tmp_path).metrics
        assert fake.requests[-1]["path"] == "/v1/completions" and "prompt" in fake.requests[-1]["body"]
    assert m["gen_tokens"] == 8 and m["tg_tok_s"] > 0


def test_without_usage_tokens_are_counted_from_chunks_with_a_warning(tmp_path):
    with FakeOpenAI(usage="never", flavor="openai") as fake:
        w = openai(tmp_path, Target(fake.url + "/v1", MODEL, fake), max_tokens=12)
        r = iterate(w, 0, tmp_path)
    assert r.metrics["gen_tokens"] == 12 and r.metrics["output_tokens"] == 12   # estimated, and said so
    assert [x.code for x in r.warnings] == ["hit_token_limit", "gen_tokens_estimated"]


def test_usage_counts_tokens_when_chunks_carry_several(tmp_path):
    with FakeOpenAI(tokens_per_chunk=3, flavor="openai") as fake:
        w = openai(tmp_path, Target(fake.url + "/v1", MODEL, fake), max_tokens=30)
        r = iterate(w, 0, tmp_path)
    m = r.metrics
    assert m["gen_tokens"] == 30 and m["tg_tok_s"] == pytest.approx(29 / m["gen_s"])
    assert m["itl_median_s"] == pytest.approx(0.003, abs=0.002)   # one chunk per 3 tokens at 1000 tok/s
    assert m["pp_tok_s"] is None and m["prompt_s"] is None        # no llama.cpp timings: not measured


def test_vllm_facts_and_cached_prompt(tmp_path):
    with FakeOpenAI(flavor="vllm") as fake:
        w = openai(tmp_path, Target(fake.url + "/v1", MODEL, fake), vary_prompt=False, max_tokens=4)
        first, second = iterate(w, 0, tmp_path), iterate(w, 1, tmp_path)
    assert w.facts["server_version"] == "0.11.0" and w.facts["context_length"] == 8192
    assert w.facts["model_size_bytes"] is None   # vLLM does not say
    assert "prompt_cached" not in [x.code for x in first.warnings]
    assert "prompt_cached" in [x.code for x in second.warnings]
    assert second.metrics["cache_read_tokens"] == second.metrics["prompt_tokens"]


def test_token_limit_and_degenerate_output(tmp_path):
    with FakeOpenAI(gen_len=80, text="repeat") as fake:
        w = openai(tmp_path, Target(fake.url + "/v1", MODEL, fake), max_tokens=100)
        assert [x.code for x in iterate(w, 0, tmp_path).warnings] == ["degenerate_output"]
        fake.gen_len, fake.text = 200, "normal"
        r = iterate(w, 1, tmp_path)
    assert r.metrics["done_reason"] == "length" and [x.code for x in r.warnings] == ["hit_token_limit"]


def test_concurrency_records_every_request(tmp_path, target):
    w = openai(tmp_path, target, concurrency=3, max_tokens=8)
    r = iterate(w, 0, tmp_path)
    reqs = r.raw["requests"]
    assert len(reqs) == 3 and r.metrics["concurrency"] == 3
    total = sum(q["metrics"]["gen_tokens"] for q in reqs)
    assert r.metrics["output_tokens"] == sum(q["usage"]["completion_tokens"] for q in reqs) == total
    assert r.metrics["agg_output_tok_s"] == pytest.approx(total / r.metrics["window_s"], rel=1e-9)
    if target.fake:
        assert r.metrics["window_s"] < 0.7 * sum(q["metrics"]["e2e_s"] for q in reqs)
    w.teardown()


def test_api_key_is_sent_and_never_recorded(tmp_path, cli, monkeypatch):
    from benchbench.record import load_records

    key = "sk-test-0123456789abcdef-secret"
    monkeypatch.setenv("BB_TEST_OPENAI_KEY", key)
    with FakeOpenAI(api_key=key, flavor="openai") as fake:
        fake.fail_next = [(500, {"error": {"message": f"upstream rejected {key}"}})]
        suite = suite_file(tmp_path, [{"name": "hosted", "kind": "llm", "backend": "openai", "model": MODEL,
                                       "base_url": fake.url + "/v1", "api_key_env": "BB_TEST_OPENAI_KEY",
                                       "max_tokens": 4, **FAST}], repetitions=2)
        code, out, err = cli("run", suite, "--results", tmp_path / "results")
        assert all(r["headers"].get("Authorization") == f"Bearer {key}" for r in fake.requests)
    assert code == 1, err   # the first iteration met the HTTP 500
    (rec,) = load_records([tmp_path / "results"])
    text = json.dumps(rec)
    assert key not in text and key not in out and key not in err
    assert rec["workload"]["facts"]["api_key_env"] == "BB_TEST_OPENAI_KEY"
    assert "upstream rejected ***" in rec["iterations"][0]["error"]
    assert rec["iterations"][1]["metrics"]["output_tokens"] == 4
    assert rec["iterations"][1]["raw"]["requests"][0]["usage"]["total_tokens"] > 4


def test_wrong_key_and_missing_env_var(tmp_path, monkeypatch):
    with FakeOpenAI(api_key="sk-right-key-000000") as fake:
        monkeypatch.setenv("BB_TEST_WRONG_KEY", "sk-wrong-key-111111")
        w = build(tmp_path, "openai", model=MODEL, base_url=fake.url + "/v1", api_key_env="BB_TEST_WRONG_KEY",
                  **FAST)
        w.setup()   # /models answered 401: the model check is skipped, the request says why
        with pytest.raises(ServerError, match=r"HTTP 401: Incorrect API key provided.*check \$BB_TEST_WRONG_KEY"):
            iterate(w, 0, tmp_path)
        monkeypatch.delenv("BB_TEST_WRONG_KEY")
        with pytest.raises(UserError, match="environment variable BB_TEST_WRONG_KEY is not set"):
            w.setup()


def test_a_key_in_the_suite_is_refused(tmp_path):
    with pytest.raises(UserError, match="NAME of an environment variable"):
        build(tmp_path, "openai", model=MODEL, base_url="http://x/v1", api_key_env="sk-abc123")
    with pytest.raises(UserError, match="looks like a secret"):
        build(tmp_path, "openai", model=MODEL, base_url="http://x/v1", options={"api_key": "sk-abc123"})
    with pytest.raises(UserError, match="credentials"):
        build(tmp_path, "openai", model=MODEL, base_url="https://me:pw@api.example.com/v1")


def test_model_not_served(tmp_path, target):
    w = build(tmp_path, "openai", model="benchbench-no-such-model", base_url=target.url,
              api_key_env=target.key_env, **FAST)
    with pytest.raises(ServerError, match="benchbench-no-such-model"):
        w.setup()
        iterate(w, 0, tmp_path)   # servers that list no models fail at the request


def test_unreachable_server(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    w = build(tmp_path, "openai", model=MODEL, base_url=url, **FAST)
    with pytest.raises(ServerError, match=r"cannot reach the server at .*llama-server.*after 1 retry"):
        w.setup()


def test_server_dying_mid_stream(tmp_path):
    with FakeOpenAI() as fake:
        w = openai(tmp_path, Target(fake.url + "/v1", MODEL, fake), max_tokens=16)
        fake.die_mid_stream_after = 4
        # a stream cut after it delivered text is reported as cut (with how far it got), not retried into
        # "cannot reach the server" (what a real llama-server killed mid-stream showed before)
        with pytest.raises(ServerError, match=r"stream from http://127.0.0.1:\d+/v1 was cut after 4 chunks "
                                              r"of text .*not retried"):
            iterate(w, 0, tmp_path)


def test_reset_connection_retried_and_timeout(tmp_path):
    with FakeOpenAI() as fake:
        w = openai(tmp_path, Target(fake.url + "/v1", MODEL, fake), max_tokens=8, timeout_s=0.3)
        fake.drop_next = 1
        assert iterate(w, 0, tmp_path).metrics["retries"] == 1
        fake.tg_tok_s = 10.0   # 8 tokens take 0.7 s
        with pytest.raises(ServerError, match="timeout_s=0.3"):
            iterate(w, 1, tmp_path)
