"""Load engine units: suite keys and their errors, arrivals (KS), prompts, percentiles and goodput,
the HTTP client's framing."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchbench.errors import UserError
from benchbench.load.arrivals import arrival_times, ks_exponential
from benchbench.load.config import SLO, Dist, load_config
from benchbench.load.http import Pool
from benchbench.load.prompt_files import read_jsonl
from benchbench.load.prompts import PromptSource, Tokenizer, sample_length, set_path
from benchbench.load.rows import Row, read_rows, write_rows
from benchbench.load.stats import concurrency, percentile, point_metrics
from benchbench.suite import load_suite
from benchbench.workloads.base import measured_window

ROOT = Path(__file__).resolve().parent.parent


def suite(tmp_path: Path, **entry) -> Path:
    base = {"name": "w", "kind": "llm", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "power": {"samplers": ["none"]}, "workloads": [{**base, **entry}]},
                                   sort_keys=False))
    return path


@pytest.mark.parametrize("entry, field, words", [
    ({"load": {"request_rate": 0, "requests": 5}}, "workloads[0].load.request_rate", "greater than 0"),
    ({"load": {"request_rate": -2, "requests": 5}}, "workloads[0].load.request_rate", "greater than 0"),
    ({"load": {"concurrency": 0, "requests": 5}}, "workloads[0].load.concurrency", "greater than 0"),
    ({"load": {"concurrency": 2, "requests": 5}, "slo": {"ttft_s": 0}}, "workloads[0].slo.ttft_s", "greater than 0"),
    ({"load": {"concurrency": 2, "requests": 5}, "slo": {"tpot_s": -1}}, "workloads[0].slo.tpot_s", "greater than 0"),
    ({"load": {"concurency": 2}}, "workloads[0].load.concurency", "did you mean `concurrency`"),
    ({"load": {"concurrency": 2, "request_rate": 1, "requests": 5}}, "workloads[0].load", "both"),
    ({"load": {"concurrency": 2}}, "workloads[0].load", "requests` or `duration_s"),
    ({"slo": {"ttft_s": 1}}, "workloads[0].slo", "needs a `load:` block"),
    ({"load": {"request_rate": 2, "requests": 5, "burstiness": 0.5, "arrival": "poisson"}}, "workloads[0].load",
     "arrival: gamma"),
    ({"load": {"concurrency": 2, "requests": 5}, "prompt_lengths": {"input": {"dist": "uniform", "min": 5}}},
     "workloads[0].prompt_lengths", "needs min and max"),
])
def test_bad_load_keys_name_file_line_and_field(tmp_path: Path, entry: dict, field: str, words: str) -> None:
    path = suite(tmp_path, **entry)
    with pytest.raises(UserError) as err:
        load_suite(path)
    text = str(err.value)
    assert text.startswith(f"{path}:") and f": {field}: " in text and words in text, text
    assert err.value.line is not None


def test_malformed_jsonl_line_names_file_line_and_field(tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "hi"}\n\n{"messages": [{"role": "user", "content": "a"}]}\n'
                       '{"messages": [{"role": "robot", "content": "a"}]}\n')
    with pytest.raises(UserError) as err:
        load_suite(suite(tmp_path, load={"concurrency": 1, "requests": 2}, prompts_file="p.jsonl"))
    assert str(err.value).startswith(f"{prompts}:4: messages[0].role: unknown role 'robot'")
    prompts.write_text('{"prompt": "hi"}\n{"prompt": "x", "max_tokens": 0}\n')
    with pytest.raises(UserError, match=r"p\.jsonl:2: max_tokens: must be a whole number above 0"):
        load_suite(suite(tmp_path, load={"concurrency": 1, "requests": 2}, prompts_file="p.jsonl"))
    prompts.write_text('{"prompt": "hi"\n')
    with pytest.raises(UserError, match=r"p\.jsonl:1: line: not valid JSON"):
        load_suite(suite(tmp_path, load={"concurrency": 1, "requests": 2}, prompts_file="p.jsonl"))


def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    path = suite(tmp_path, load={"concurrency": 0, "requests": 5})
    proc = subprocess.run([sys.executable, "-m", "benchbench", "run", str(path), "--results", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "workloads[0].load.concurrency: must be greater than 0" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_matrix_over_load_concurrency_gives_one_run_each(tmp_path: Path) -> None:
    s = load_suite(suite(tmp_path, load={"requests": 8}, matrix={"load.concurrency": [1, 2, 4]},
                         slo={"ttft_s": 1.0}))
    assert [w.name for w in s.workloads] == ["w[load.concurrency=1]", "w[load.concurrency=2]",
                                             "w[load.concurrency=4]"]
    cfg = load_config(s.workloads[2].params)
    assert (cfg.mode, cfg.concurrency, cfg.requests, cfg.slo.ttft_s) == ("closed", 4, 8, 1.0)
    with pytest.raises(UserError, match=r"matrix\.load\.concurrency.*greater than 0"):
        load_suite(suite(tmp_path, load={"requests": 8}, matrix={"load.concurrency": [1, 0]}))


def test_rate_inf_and_sweep_defaults(tmp_path: Path) -> None:
    s = load_suite(suite(tmp_path, load={"request_rate": ".inf", "requests": 8, "max_concurrency": 4}))
    assert load_config(s.workloads[0].params).request_rate == float("inf")
    s = load_suite(suite(tmp_path, load={"mode": "sweep", "duration_s": 5}))
    cfg = load_config(s.workloads[0].params)
    assert (cfg.mode, cfg.points, cfg.arrival) == ("sweep", 10, "constant")   # GuideLLM's defaults


# --- arrivals -----------------------------------------------------------------------------------

def gaps_of(rate: float, arrival: str, n: int, seed: int = 7, burstiness: float = 1.0) -> list[float]:
    it = arrival_times(rate, arrival, burstiness, seed)
    times = [next(it) for _ in range(n + 1)]
    return [b - a for a, b in zip(times, times[1:])]


def test_poisson_gaps_pass_ks_against_the_exponential() -> None:
    for seed in (1, 2, 3):
        d, p = ks_exponential(gaps_of(4.0, "poisson", 2000, seed), 4.0)
        assert p > 0.01, (seed, d, p)
    scipy = pytest.importorskip("scipy.stats")
    gaps = gaps_of(4.0, "poisson", 2000, 1)
    ref = scipy.kstest(gaps, "expon", args=(0, 0.25))
    assert abs(ref.statistic - ks_exponential(gaps, 4.0)[0]) < 1e-12


def test_ks_rejects_what_is_not_poisson() -> None:
    assert ks_exponential(gaps_of(4.0, "constant", 500), 4.0)[1] < 1e-6
    assert ks_exponential(gaps_of(4.0, "poisson", 2000), 2.0)[1] < 1e-6     # the wrong rate
    bursty = gaps_of(4.0, "gamma", 4000, burstiness=0.25)
    assert abs(statistics.fmean(bursty) - 0.25) < 0.02                     # the mean gap stays 1/rate
    assert statistics.stdev(bursty) / statistics.fmean(bursty) == pytest.approx(2.0, rel=0.1)   # cv = 1/sqrt(k)


# --- prompts ------------------------------------------------------------------------------------

def test_prompts_are_unique_per_run_and_lengths_repeat_per_position() -> None:
    params = {"prompt_lengths": {"input": {"dist": "uniform", "min": 20, "max": 60}, "output": 16},
              "load": {"concurrency": 1, "requests": 3}, "seed": 42}
    cfg = load_config(params)
    a, b = PromptSource(params, cfg), PromptSource(params, cfg)
    assert a.nonce != b.nonce
    pa, pb = a.prompt(0, 0), b.prompt(0, 0)
    assert pa.text != pb.text and pa.text[:20] != pb.text[:20]            # no shared prefix across runs
    assert a.prompt(5, 0).text != pa.text                                 # nor across requests
    assert a.length(3) == b.length(3)                                     # the same shapes, run after run
    assert pa.max_tokens == 16 and 20 <= pa.input_tokens_asked <= 60


def test_exact_lengths_through_a_server_tokenizer() -> None:
    vocab: dict[str, int] = {}

    def encode(text: str) -> list[int]:
        return [vocab.setdefault(w, len(vocab)) for w in text.split()]

    def decode(ids: list[int]) -> str:
        inverse = {v: k for k, v in vocab.items()}
        return " ".join(inverse[i] for i in ids)

    params = {"prompt_lengths": {"input": {"dist": "lognormal", "mean": 300, "sd": 100}}, "max_tokens": 8,
              "load": {"concurrency": 1, "requests": 3}}
    src = PromptSource(params, load_config(params), tokenizer=Tokenizer(encode, decode))
    for i in range(20):
        p = src.prompt(1000 + i, i)
        assert len(encode(p.text)) == p.input_tokens_asked


def test_length_distributions_have_their_stated_moments() -> None:
    rng = random.Random(0)
    draws = [sample_length(Dist("lognormal", mean=2000, sd=800), rng) for _ in range(20000)]
    assert statistics.fmean(draws) == pytest.approx(2000, rel=0.02)
    assert statistics.stdev(draws) == pytest.approx(800, rel=0.05)
    draws = [sample_length(Dist("uniform", low=10, high=20), rng) for _ in range(2000)]
    assert min(draws) == 10 and max(draws) == 20


def test_shipped_prompt_sets_parse() -> None:
    for name in ("chat", "summary", "coding-agent"):
        entries = read_jsonl(set_path(name))
        assert len(entries) >= 4, name


# --- statistics ---------------------------------------------------------------------------------

def test_percentile_matches_numpy_linear() -> None:
    np = pytest.importorskip("numpy")
    rng = random.Random(3)
    xs = [rng.random() for _ in range(101)]
    for p in (0, 50, 90, 95, 99, 100):
        assert percentile(xs, p) == pytest.approx(float(np.percentile(xs, p)))


def synthetic_row(i: int, sent: float, ttft: float, tpot: float, n: int) -> Row:
    times = [sent + ttft + k * tpot for k in range(n)]
    return Row(i, i, None, sent, sent_s=sent, end_s=times[-1], times=times, output_tokens=n, input_tokens=100)


def test_point_metrics_and_goodput_follow_vllm() -> None:
    rows = [synthetic_row(i, i * 0.5, 0.1 + 0.01 * i, 0.02, 11) for i in range(10)]
    w0, w1 = 0.0, rows[-1].end_s
    m = point_metrics(rows, w0, w1, SLO(ttft_s=0.145))       # ttft 0.10 ... 0.19: five meet it
    assert (m["completed_requests"], m["good_requests"], m["output_tokens"], m["input_tokens"]) == (10, 5, 110, 1000)
    assert "req_s" not in m            # rates come from the one rule of a measured window
    measured_window(m, None, w0, w1)
    assert m["req_s"] == pytest.approx(10 / w1)
    assert m["output_tok_s"] == pytest.approx(110 / w1)
    assert m["total_tok_s"] == pytest.approx((110 + 1000) / w1)
    assert m["goodput_req_s"] == pytest.approx(5 / w1)
    assert m["ttft_median_s"] == pytest.approx(0.145)
    assert m["tpot_p99_s"] == pytest.approx(0.02)
    assert m["itl_mean_s"] == pytest.approx(0.02)
    assert m["meets_slo"] is False and m["slo_met_share"] == 0.5
    # a steady-state window keeps requests sent and finished inside it
    m = point_metrics(rows, 1.0, 4.0, SLO())
    assert m["measured_requests"] == sum(1 for r in rows if r.sent_s >= 1.0 and r.end_s <= 4.0)


def test_one_window_for_rates_and_energy() -> None:
    """Rates and energy use one window: a workload's own rate is replaced, J/token = energy ÷ tokens exactly."""
    asked = []

    def energy(t0: float, t1: float) -> dict:
        asked.append((t0, t1))
        return {"system": {"joules": 300.0 * (t1 - t0), "avg_w": 300.0}}

    m = {"output_tokens": 1234.0, "total_tokens": 2000.0, "completed_requests": 7, "output_tok_s": 1.0}
    e = measured_window(m, energy, 10.0, 14.0)
    assert asked == [(10.0, 14.0)]
    assert m["output_tok_s"] == 1234.0 / 4.0 and m["req_s"] == 7 / 4.0 and m["total_tok_s"] == 500.0
    assert e["system"]["avg_w"] / m["output_tok_s"] == pytest.approx(e["system"]["joules"] / m["output_tokens"],
                                                                     rel=1e-12)


def test_concurrency_peak_and_time_weighted_mean() -> None:
    rows = [Row(0, 0, None, 0, sent_s=0.0, end_s=2.0), Row(1, 1, None, 0, sent_s=1.0, end_s=3.0),
            Row(2, 2, None, 0, sent_s=3.0, end_s=4.0)]
    c = concurrency(rows, 0.0, 4.0)
    assert c["peak_concurrency"] == 2            # [0,2) and [1,3); the third starts as the second ends
    assert c["concurrency_mean"] == pytest.approx((2 + 2 + 1) / 4)


def test_rows_round_trip_and_never_overwrite(tmp_path: Path) -> None:
    rows = [synthetic_row(i, i * 0.5, 0.1, 0.02, 5) for i in range(3)]
    first = write_rows(rows, 0.0, tmp_path / "x.it0.requests.csv")
    second = write_rows(rows, 0.0, tmp_path / "x.it0.requests.csv")
    assert first.name == "x.it0.requests.csv" and second.name == "x.it0.a2.requests.csv"
    back = read_rows(first)
    assert back[1]["ttft_s"] == pytest.approx(0.1) and len(back[1]["itl_s"]) == 4


def test_rows_as_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    rows = [synthetic_row(i, i * 0.5, 0.1, 0.02, 5) for i in range(3)]
    path = write_rows(rows, 0.0, tmp_path / "x.it0.requests.csv", "parquet")
    assert path.name == "x.it0.requests.parquet"
    back = read_rows(path)
    assert [r["position"] for r in back] == [0, 1, 2] and len(back[2]["itl_s"]) == 4


# --- HTTP framing -------------------------------------------------------------------------------

def test_client_reassembles_chunks_split_anywhere() -> None:
    events = [f'data: {{"n": {i}}}\n\n' for i in range(20)] + ["data: [DONE]\n\n"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(e), e.encode()) for e in events) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
    wire = head + body

    async def serve(step: int) -> list[bytes]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(2)
            for k in range(0, len(wire), step):
                writer.write(wire[k:k + step])
                await writer.drain()
                await asyncio.sleep(0)
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        lines: list[bytes] = []
        pool = Pool(f"http://127.0.0.1:{port}")
        r = await pool.request("POST", "/x", b"{}", lambda line, t: lines.append(line))
        await pool.close()
        server.close()
        assert r.status == 200
        return [x for x in lines if x]

    for step in (1, 3, 7, 64, 10_000):
        got = asyncio.run(serve(step))
        assert [json.loads(x[5:])["n"] for x in got[:-1]] == list(range(20)) and got[-1] == b"data: [DONE]"
