"""The openai backend against a real llama-server (tests/llamacpp_helpers.py): its figures checked
against the server's own timings, and what a real server showed (prompt length, hit_token_limit on
fixed-length runs, a server killed mid-stream, doctor --suite, prompt_cached iterations in reports)."""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time

import pytest
import yaml
from llamacpp_helpers import DECODE_SHAPE, TIMING_SHAPE, LlamaServer, make_tiny_gguf, one_chunk_per_token_bias

from benchbench.errors import ServerError
from benchbench.record import load_records

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def timing_gguf(llamacpp_bin):
    """The timing checks' model (~26 M parameters): per-token overheads are a small share of its decode."""
    return make_tiny_gguf(llamacpp_bin["src"] or None, shape=TIMING_SHAPE)


@pytest.fixture(scope="module")
def timing_server(llama_server_factory, timing_gguf):
    return llama_server_factory(model=timing_gguf)


def suite(write, server, name: str = "chat", repetitions: int = 3, warmups: int = 1, **keys) -> str:
    workload = {"name": name, "kind": "llm", "backend": "openai", "base_url": server.base_url,
                "model": server.model, "prompt_tokens": 128, "max_tokens": 128,
                "options": {"temperature": 0, "ignore_eos": True}, **keys}
    body = {"name": "real-llamacpp", "warmups": warmups, "repetitions": repetitions,
            "power": {"samplers": ["none"]}, "workloads": [workload]}
    return write(f"{name}.yaml", yaml.safe_dump(body, sort_keys=False))


def run(cli, path, results) -> dict:
    code, out, err = cli("run", path, "--results", results)
    assert code == 0, err + out
    [record] = [r for r in load_records([results]) if r.get("type") == "run"]
    return record


def measured(record: dict) -> list[dict]:
    return [it for it in record["iterations"] if not it["warmup"]]


def test_tg_and_prefill_agree_with_the_servers_own_timings(cli, tmp_path, write, timing_server):
    """512 tokens a request. The comparison holds where llama-server delivers its tokens as it makes them;
    on an overloaded machine its HTTP thread can be starved for a while and then send the first dozens
    of tokens at once, so the client sees a later first token and a faster stream (measured here: +14%
    with a 250 ms hold-up). Such iterations are told apart by the hold-up of the first token (client TTFT
    minus the server's prompt time, beyond 3 tokens' time and 10 ms) and not judged; at least one
    iteration must be judged, or the test skips and says why. The model is kept off the tokens llama-server
    holds back for a later one (partial UTF-8), which would look like such a hold-up."""
    options = {"temperature": 0, "ignore_eos": True, "logit_bias": one_chunk_per_token_bias()}
    record = run(cli, suite(write, timing_server, max_tokens=512, repetitions=4, options=options), tmp_path / "res")
    judged, held = [], []
    for it in measured(record):
        m = it["metrics"]
        [req] = it["raw"]["requests"]
        timings = req["timings"]
        assert m["gen_tokens"] == 512 and timings["predicted_n"] == 512
        # prefill from the server's timings, not from TTFT
        assert m["prompt_s"] == pytest.approx(timings["prompt_ms"] / 1000, rel=1e-9)
        assert m["pp_tok_s"] == pytest.approx(timings["prompt_per_second"], rel=1e-6)
        # prompt_tokens: 128 is 128 tokens as the server counts them (template and first words included)
        assert m["prompt_tokens"] == 128 == req["usage"]["prompt_tokens"]
        hold_up_s = m["ttft_s"] - m["prompt_s"]
        if hold_up_s > 3 / timings["predicted_per_second"] + 0.010:
            held.append(round(hold_up_s * 1000))
            continue
        # decode: (gen_tokens - 1) / (e2e - ttft) on the client against predicted_per_second on the server
        judged.append((m["tg_tok_s"], timings["predicted_per_second"]))
    assert record["workload"]["facts"]["prompt_token_counter"].startswith("llama.cpp")
    # ignore_eos: every request stops at max_tokens on purpose: no hit_token_limit noise
    assert "hit_token_limit" not in {w["code"] for w in record["warnings"]}
    if not judged:
        pytest.skip(f"llama-server held back its first tokens in every iteration ({held} ms): the machine "
                    "is too loaded to compare the stream with the server's own timing")
    for client, server in judged:
        assert client == pytest.approx(server, rel=0.01), (judged, held)


def test_hit_token_limit_still_warns_when_the_length_is_not_fixed(cli, tmp_path, write, llama_server):
    path = suite(write, llama_server, name="natural", repetitions=1, warmups=0, max_tokens=4,
                 options={"temperature": 0})
    record = run(cli, path, tmp_path / "res")
    if measured(record)[0]["metrics"]["done_reason"] == "length":
        assert "hit_token_limit" in {w["code"] for w in record["warnings"]}


NOISE_LIMIT = 0.05   # a 10% comparison needs rounds steadier than this (spread of their ratios)
SHARE_LIMIT = 0.05   # ... and a machine that gives a streamed request the CPU share of a lone process
# The same engine settings on both sides, stated rather than left to defaults: one thread for decode and
# for batches (llama-server's -tb follows -t; llama-bench has one -t), the same batch / ubatch, flash
# attention and KV cache types; the depth of the request's prompt.
ENGINE = ("-t", "1", "-b", "2048", "-ub", "512", "-fa", "on", "-ctk", "f16", "-ctv", "f16")
SERVER_ENGINE = (*ENGINE, "-tb", "1")
DEPTH, N_GEN = 128, 128


@pytest.fixture(scope="module")
def decode_gguf(llamacpp_bin):
    """The decode comparison's model (~100 M parameters): its decode step dwarfs the server's per-token work."""
    return make_tiny_gguf(llamacpp_bin["src"] or None, shape=DECODE_SHAPE)


@pytest.fixture(scope="module")
def engine_server(llama_server_factory, decode_gguf):
    return llama_server_factory(model=decode_gguf, threads=None, extra=SERVER_ENGINE)


def _lone_decode(server, ids: list[int]) -> float:
    """llama-server's own decode speed for one non-streamed request at the same depth (the engine alone:
    no tokens sent while it decodes)."""
    import httpx

    body = {"prompt": ids, "n_predict": N_GEN, "ignore_eos": True, "temperature": 0, "stream": False,
            "cache_prompt": False}
    timings = httpx.post(f"{server.root}/completion", json=body, timeout=600).json()["timings"]
    assert timings["prompt_n"] == DEPTH and timings["predicted_n"] == N_GEN
    return timings["predicted_per_second"]


def test_decode_agrees_with_llama_bench_at_the_same_depth(tmp_path, engine_server, llamacpp_bin, decode_gguf):
    """benchbench's streamed tg_tok_s against llama-bench's tg at the depth of the request's prompt (128
    tokens), with the same engine settings on both sides (ENGINE: threads, batch, ubatch, flash attention,
    KV types; checked in llama-bench's JSON), in alternating rounds compared by their medians, on a
    ~100 M-parameter model: with the 26 M timing model (~3 ms a token) the server's own per-token work and
    millisecond scheduling hiccups weighed up to 10% (one judged run: 297 vs 336 tok/s, 0.89).

    Two things can make a 10% comparison meaningless on a shared machine, and the test skips (saying so,
    with the numbers) rather than judge: the rounds' ratios spreading more than 5% (median absolute
    deviation), and CPU contention. Measured on the shared 2-vCPU development box (load 5-7): the same
    llama-server decoded a streamed request about twice as fast as a non-streamed one (median 279 vs 136 tok/s, compute
    pinned to one CPU, 8 rounds), while the non-streamed one agreed with llama-bench (123 tok/s): the
    streamed request's per-token wake-ups win the scheduler a larger CPU share than a lone compute
    process gets. So each round also asks the same server for the same decode without streaming; where
    that differs from the streamed requests' own server timings by more than 5%, the machine is
    contended and the comparison is not judged."""
    import httpx
    from fakes_llm_servers import build, iterate

    w = build(tmp_path, "openai", model=engine_server.model, base_url=engine_server.base_url,
              prompt_tokens=DEPTH, max_tokens=N_GEN, options={"temperature": 0, "ignore_eos": True})
    w.facts = w.setup()
    iterate(w, 0, tmp_path)   # warm
    ids = httpx.post(f"{engine_server.root}/tokenize", json={"content": "the " * 400}).json()["tokens"][:DEPTH]
    bench_argv = [llamacpp_bin["llama-bench"], "-m", str(decode_gguf), "-p", "0", "-n", str(N_GEN), "-d",
                  str(DEPTH), *ENGINE, "-r", "1", "-o", "json"]
    client, streamed, lone, bench = [], [], [], []
    for k in range(1, 7):
        it = iterate(w, k, tmp_path)
        assert it.metrics["prompt_tokens"] == DEPTH and it.metrics["gen_tokens"] == N_GEN
        client.append(it.metrics["tg_tok_s"])
        streamed.append(it.raw["requests"][0]["timings"]["predicted_per_second"])
        lone.append(_lone_decode(engine_server, ids))
        done = subprocess.run(bench_argv, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-1000:]
        [row] = json.loads(done.stdout)
        assert (row["n_threads"], row["n_batch"], row["n_ubatch"], row["flash_attn"], row["type_k"],
                row["type_v"], row["n_depth"]) == (1, 2048, 512, 1, "f16", "f16", DEPTH)
        bench += row["samples_ts"]
    w.teardown()
    numbers = (f"benchbench {[round(x) for x in client]}; the server's own timings of those streams "
               f"{[round(x) for x in streamed]}; the same decode not streamed {[round(x) for x in lone]}; "
               f"llama-bench {[round(x) for x in bench]} tok/s")
    # each round's benchbench ÷ llama-bench: a drift of the machine's speed over the rounds (seen on a quiet
    # 16-core Xeon: 54 → 35 tok/s for both) cancels in the pair; the noise is the pairs' spread (median
    # absolute deviation ÷ median), not llama-bench's own
    ratios = [c / b for c, b in zip(client, bench, strict=True)]
    ratio = statistics.median(ratios)
    noise = statistics.median(abs(r - ratio) for r in ratios) / ratio
    numbers += f"; each round's ratio {[round(r, 3) for r in ratios]}"
    if noise > NOISE_LIMIT:
        pytest.skip(f"machine too noisy for a 10% comparison: the rounds' ratios spread {noise:.0%} ({numbers})")
    share = statistics.median(streamed) / statistics.median(lone) - 1
    if abs(share) > SHARE_LIMIT:
        pytest.skip(f"CPU contention: the same server decoded streamed requests {share:+.0%} faster than a "
                    f"lone one, so a 10% comparison with llama-bench can't be judged here ({numbers})")
    print(f"judged: benchbench ÷ llama-bench {ratio:.3f} ({numbers})")
    assert 0.9 <= ratio <= 1.1, numbers


def test_concurrent_requests_on_parallel_slots(cli, tmp_path, write, llama_server_factory):
    server = llama_server_factory(n_parallel=2, ctx_size=4096)
    record = run(cli, suite(write, server, name="two", repetitions=1, concurrency=2), tmp_path / "res")
    [it] = measured(record)
    m = it["metrics"]
    assert m["concurrency"] == 2 and len(it["raw"]["requests"]) == 2
    assert m["output_tokens"] == 256 and m["agg_output_tok_s"] == pytest.approx(256 / m["window_s"])
    metrics_text = server.metrics()
    assert "llamacpp:tokens_predicted_total" in metrics_text


def test_a_server_killed_mid_stream_is_reported_as_cut(tmp_path, write, llamacpp_bin, tiny_gguf):
    from fakes_llm_servers import build, iterate

    with LlamaServer(llamacpp_bin["llama-server"], tiny_gguf, ctx_size=8192) as server:
        w = build(tmp_path, "openai", model=server.model, base_url=server.base_url, prompt_tokens=32,
                  max_tokens=6000, options={"ignore_eos": True}, retries=2, retry_backoff_s=0.05)
        w.facts = w.setup()
        killer = threading.Timer(1.5, server.kill)
        killer.start()
        t0 = time.monotonic()
        with pytest.raises(ServerError) as err:
            iterate(w, 0, tmp_path)
        killer.join()
        w.teardown()
    message = str(err.value)
    assert f"the stream from {server.base_url} was cut after" in message and "not retried" in message
    chunks = int(message.split("was cut after ")[1].split(" ")[0])
    assert chunks > 0
    assert "cannot reach" not in message and time.monotonic() - t0 < 30


def test_doctor_suite_probes_only_the_suites_servers(cli, tmp_path, write, llama_server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")   # were it probed, it would show as unreachable
    code, out, err = cli("doctor", "--suite", suite(write, llama_server), "--json")
    assert code in (0, 1), err
    servers = json.loads(out)["servers"]
    assert [s["url"] for s in servers] == [llama_server.base_url]
    assert servers[0]["reachable"] and servers[0]["models"] == [llama_server.model]


def test_prompt_cached_iterations_give_no_prefill_figures(cli, tmp_path, write, llamacpp_bin, tiny_gguf):
    """vary_prompt: false sends the same prompt each time: llama-server reuses its cache, the iterations
    are warned prompt_cached and the analysis (hence every report table) leaves their prefill and TTFT out."""
    from benchbench.analysis import analyze

    with LlamaServer(llamacpp_bin["llama-server"], tiny_gguf) as server:
        record = run(cli, suite(write, server, name="same", repetitions=3, warmups=0, vary_prompt=False,
                                max_tokens=8), tmp_path / "res")
    cached = [it["index"] for it in record["iterations"] if any(w["code"] == "prompt_cached"
                                                                for w in it.get("warnings", []))]
    assert cached == [1, 2]
    a = analyze([tmp_path / "res"])
    stats = {row["metric"]: row for row in a.stats.to_dict("records")}
    assert stats["pp_tok_s"]["n"] == 1 and stats["ttft_s"]["n"] == 1 and stats["tg_tok_s"]["n"] == 3
    first = record["iterations"][0]["metrics"]
    assert a.groups.iloc[0]["pp_tok_s"] == pytest.approx(first["pp_tok_s"])
    code, _, err = cli("report", tmp_path / "res", "-o", tmp_path / "r.md", "--format", "md", "--no-reference")
    assert code == 0, err
