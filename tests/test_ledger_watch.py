"""`watch` against fakes of vLLM's and llama.cpp's /metrics and Ollama behind the proxy, with the
recorded H200 trace replayed as power: what the ledger holds equals what was served and drawn."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from fakes_llm_servers import FakeOllama
from ledger_helpers import FakeLlamaCpp, FakeVllm, replay_tap

from benchbench.ledger.llamacpp import LlamaCppSource
from benchbench.ledger.proxy import ProxyServer, ProxySource
from benchbench.ledger.recorder import Recorder
from benchbench.ledger.usage import machine_usage
from benchbench.ledger.vllm import VllmSource


def chat(url: str, model: str, words: int, max_tokens: int = 20, stream: bool = False) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "tell me more " * words}],
            "max_tokens": max_tokens, "stream": stream}
    r = httpx.post(url + "/v1/chat/completions", json=body, timeout=10)
    assert r.status_code == 200, r.text


def totals(path, source_kind: str) -> dict[str, float]:
    c = sqlite3.connect(path)
    row = c.execute("SELECT sum(requests), sum(input_tokens), sum(cached_tokens), sum(output_tokens), "
                    "sum(busy_ms) / 1e3 FROM work JOIN names n ON n.id = work.source WHERE n.name LIKE ?",
                    (source_kind + "@%",)).fetchone()
    c.close()
    return dict(zip(("requests", "input", "cached", "output", "busy_s"), row))


def energy(path, channel: str) -> tuple[float, set[int]]:
    c = sqlite3.connect(path)
    j, = c.execute("SELECT sum(millijoules) / 1e3 FROM energy JOIN names n ON n.id = channel WHERE n.name=?",
                   (channel,)).fetchone()
    sources = {r[0] for r in c.execute("SELECT DISTINCT source FROM energy JOIN names n ON n.id = channel "
                                       "WHERE n.name=?", (channel,))}
    c.close()
    return j, sources


def test_vllm_tokens_and_replayed_energy_equal_what_was_served_and_drawn(tmp_path):
    path = tmp_path / "ledger.db"
    with FakeVllm(models=("qwen", "llama")) as fake:
        tap, sampler = replay_tap()
        rec = Recorder(path, "box", 0.5, power=tap, sources=[VllmSource(fake.url)])
        rec.start()
        t_first = rec.last_mono
        for k in range(8):
            chat(fake.url, ("qwen", "llama")[k % 2], k + 1, stream=k % 3 == 0)
            time.sleep(0.15)
            rec.tick()
        t_last = rec.last_mono
        rec.close("stopped")
        served = dict(fake.served)
    got = totals(path, "vllm")
    assert (got["requests"], got["input"], got["cached"], got["output"]) == \
        (served["requests"], served["input"], served["cached"], served["output"])
    j, sources = energy(path, "gpu0")
    assert j == pytest.approx(sampler.truth_j(t_first, t_last), rel=1e-6, abs=0.02) and sources == {1}   # counter
    system, src = energy(path, "system")
    assert system == pytest.approx(j) and src == {4}                    # GPU only, no overhead: estimated
    c = sqlite3.connect(path)
    span, = c.execute("SELECT sum(span_us) / 1e6 FROM intervals").fetchone()
    per_model = dict(c.execute("SELECT n.name, sum(output_tokens) FROM work JOIN names n ON n.id = work.model "
                               "GROUP BY n.name"))
    assert span == pytest.approx(t_last - t_first, abs=1e-5)                 # stored in µs
    assert per_model == {"qwen": 80, "llama": 80}
    u = machine_usage([tmp_path])["box"]
    assert u.mix.output_tokens == served["output"] and u.covered_s == pytest.approx(span)
    assert u.busy_basis == {"vllm: request-seconds"}


def test_llamacpp_input_is_processed_plus_cached_and_busy_is_slot_seconds(tmp_path):
    path = tmp_path / "ledger.db"
    with FakeLlamaCpp(tg_tok_s=400) as fake:
        rec = Recorder(path, "box", 0.5, sources=[LlamaCppSource(fake.url)])
        rec.start()
        for _ in range(4):
            chat(fake.url, fake.models[0], 3)     # the same prompt again: cached after the first
            rec.tick()
        rec.close("stopped")
        served = dict(fake.served)
    got = totals(path, "llamacpp")
    assert got["requests"] is None                          # llama-server counts no requests
    assert (got["input"], got["cached"], got["output"]) == (served["input"], served["cached"], served["output"])
    assert got["cached"] > 0
    assert got["busy_s"] == pytest.approx(served["busy_s"], abs=0.003)          # ms per row
    c = sqlite3.connect(path)
    assert {r[0] for r in c.execute("SELECT n.name FROM work JOIN names n ON n.id = work.model")} == {fake.models[0]}


def test_ollama_behind_the_proxy_with_watch_counts_what_ollama_reported(tmp_path):
    import ollama

    path = tmp_path / "ledger.db"
    with FakeOllama(models=("llama3.2:3b", "qwen3:8b"), tg_tok_s=2000) as fake:
        tap, sampler = replay_tap()
        source = ProxySource(fake.url)
        proxy = ProxyServer("127.0.0.1", 0, fake.url, source.counter).start()
        rec = Recorder(path, "box", 0.5, power=tap, sources=[source])
        rec.start()
        t_first = rec.last_mono
        client = ollama.Client(host=proxy.address)          # the official client, unchanged
        for k in range(6):
            model = ("llama3.2:3b", "qwen3:8b")[k % 2]
            if k % 2:
                client.generate(model=model, prompt="why is the sky blue " * (k + 1), stream=False)
            else:
                for _ in client.chat(model=model, messages=[{"role": "user", "content": "hi " * (k + 1)}],
                                     stream=True):
                    pass
            _settle(source)
            rec.tick()
        t_last = rec.last_mono
        rec.close("stopped")
        proxy.stop()
        log = list(fake.log)
    got = totals(path, "proxy")
    assert got["requests"] == 6 == len(log)
    assert got["output"] == sum(g["eval_count"] for g in log)
    assert got["input"] == sum(g["prompt_eval_count"] for g in log)
    assert got["cached"] is None                              # this Ollama does not say
    served_s = sum(g["end_s"] - g["recv_s"] for g in log)
    assert served_s <= got["busy_s"] <= served_s + 6 * 0.05     # in flight ⊇ the server's own time
    j, _ = energy(path, "gpu0")
    assert j == pytest.approx(sampler.truth_j(t_first, t_last), rel=1e-6, abs=0.02)


def _settle(source: ProxySource, timeout_s: float = 2.0) -> None:
    """Wait until the proxy has finished counting the request the client just read."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(m.in_flight for m in source.counter.models.values()):
        time.sleep(0.005)


def test_memory_stays_flat_however_long_it_runs(tmp_path):
    tap, sampler = replay_tap(interval_s=0.01)
    rec = Recorder(tmp_path / "l.db", "box", 0.05, power=tap)
    rec.start()
    sizes = []
    for _ in range(30):
        time.sleep(0.05)
        rec.tick()
        sizes.append(len(sampler.series["gpu0"]))
    rec.close("stopped")
    assert max(sizes[10:]) <= 2 * max(sizes[:10]) and max(sizes) < 40


def test_the_watch_command_records_a_vllm_server_and_an_ollama_proxy(tmp_path, cli):
    with FakeVllm() as vllm, FakeOllama() as oll:
        import threading

        result = {}
        t = threading.Thread(target=lambda: result.update(code=cli(
            "watch", "--ledger", tmp_path / "l.db", "--interval", "0.3", "--duration", "2.5", "--samplers", "none",
            "--vllm", vllm.url, "--proxy", f"127.0.0.1:0={oll.url}")))
        t.start()
        time.sleep(0.8)
        chat(vllm.url, vllm.models[0], 4)
        t.join(10)
    code, out, err = result["code"]
    assert code == 0, err
    assert "watch: proxy http://127.0.0.1:" in out and "recording into" in out
    assert totals(tmp_path / "l.db", "vllm")["output"] == 20
    c = sqlite3.connect(tmp_path / "l.db")
    kinds = [r[0] for r in c.execute("SELECT kind FROM events ORDER BY wall")]
    assert kinds[0] == "started" and kinds[-1] == "stopped"
    reason, = c.execute("SELECT stop_reason FROM sessions").fetchone()
    assert reason == "duration reached"


def test_bad_arguments_are_one_line_errors(tmp_path, cli):
    for args, text in ((["--interval", "0"], "--interval"), (["--vllm", "localhost:8000"], "not an http"),
                       (["--proxy", "11435"], "[HOST:]PORT=UPSTREAM"), (["--samplers", "nvlm"], "unknown sampler"),
                       (["--api-key-env", "BENCHBENCH_NO_SUCH_VAR"], "is not set")):
        code, _, err = cli("watch", "--ledger", tmp_path / "l.db", "--samplers", "none", *args)
        assert code == 2 and err.startswith("error: ") and text in err and err.count("\n") == 1, err


@pytest.mark.parametrize("counters", [(True, True), (True, False)])
def test_watch_reads_nvml_counters_at_edges_and_no_extras(tmp_path, monkeypatch, counters):
    """The real NVML sampler over a fake pynvml: counters read at interval edges, no utilization or
    clock reads, and fast power polling only where a GPU has no counter (a P40)."""
    from power_helpers import FakeGpu, FakeNvml, FakePynvml

    from benchbench.ledger.power import PowerTap, build
    from benchbench.power import registry

    monkeypatch.setitem(registry.SAMPLERS, "nvml", "power_helpers:FakeNvml")
    FakeNvml.library = FakePynvml([FakeGpu(250.0, counter=counters[0]), FakeGpu(100.0, counter=counters[1])])
    tap = PowerTap(build(["nvml"], 0.4, 0.05, None))
    rec = Recorder(tmp_path / "l.db", "box", 0.4, power=tap)
    rec.start()
    sampler = tap.monitor.active[0]
    assert sampler.interval_s == (0.4 if all(counters) else 0.05)
    assert sampler.edge_steps == 0                  # one counter read per edge: no polling for the next steps
    t0 = rec.last_mono
    for _ in range(3):
        time.sleep(0.4)
        rec.tick()
    span = rec.last_mono - t0
    assert all(not x for s in sampler.series.values() for x in s.extra)        # no extras read
    rec.close("stopped")
    rows = dict(((n, src), j) for n, src, j in sqlite3.connect(tmp_path / "l.db").execute(
        "SELECT n.name, source, sum(millijoules) / 1e3 FROM energy JOIN names n ON n.id = channel "
        "GROUP BY n.name, source"))
    assert rows[("gpu0", 1)] == pytest.approx(250 * span, rel=0.01)
    gpu1 = rows[("gpu1", 1 if counters[1] else 2)]
    assert gpu1 == pytest.approx(100 * span, rel=0.02)


def _recorded(tmp_path, tap, name: str) -> tuple[dict[tuple[str, int], float], float]:
    """Record three 0.3 s intervals with `tap`; ({(channel, source): joules}, recorded seconds)."""
    rec = Recorder(tmp_path / f"{name}.db", "box", 0.3, power=tap)
    rec.start()
    t0 = rec.last_mono
    for _ in range(3):
        time.sleep(0.3)
        rec.tick()
    span = rec.last_mono - t0
    rec.close("stopped")
    c = sqlite3.connect(tmp_path / f"{name}.db")
    rows = dict(((n, src), j) for n, src, j in c.execute(
        "SELECT n.name, source, sum(millijoules) / 1e3 FROM energy JOIN names n ON n.id = channel "
        "GROUP BY n.name, source"))
    c.close()
    return rows, span


def test_the_system_channel_follows_the_one_rule_without_a_benchmarks_load_w(tmp_path, monkeypatch):
    """`system` is power/system.py's rule, as in a run record: GPU + the profile's non-GPU overhead
    (estimated) where GPUs are measured. The profile's load_w (a benchmark's power *under load*) is never
    recorded as what the machine drew all day: with nothing to measure, `auto` records no system energy
    and says so; only an explicit `declared` sampler declares it."""
    from power_helpers import FakeGpu, FakeNvml, FakePynvml

    from benchbench.ledger.power import PowerTap, build
    from benchbench.power import registry
    from benchbench.profile import MachineProfile

    profile = MachineProfile(name="box", non_gpu_overhead_w=40.0, load_w=500.0)
    monkeypatch.setitem(registry.SAMPLERS, "nvml", "power_helpers:FakeNvml")
    FakeNvml.library = FakePynvml([FakeGpu(250.0, counter=True)])
    tap = PowerTap(build(["nvml"], 0.3, 0.05, profile))
    rows, span = _recorded(tmp_path, tap, "gpu")
    assert tap.channels()["system"]["system_basis"] == "gpu+cpu+overhead"
    assert tap.channels()["system"]["overhead_w"] == 40.0 and "declared_w" not in tap.channels()["system"]
    mj = 3 * 0.0005 * 2                          # three intervals, each channel stored in whole millijoules
    assert rows[("system", 4)] == pytest.approx(rows[("gpu0", 1)] + 40.0 * span, abs=mj)      # estimated
    assert rows[("gpu0", 1)] == pytest.approx(250 * span, rel=0.01)

    monkeypatch.setattr(registry, "AUTO_GROUPS", ())                   # a host where nothing measures
    tap = PowerTap(build(["auto"], 0.3, 0.05, profile))
    rows, _ = _recorded(tmp_path, tap, "nothing")
    assert rows == {} and "system" not in tap.channels()
    c = sqlite3.connect(tmp_path / "nothing.db")
    assert c.execute("SELECT count(*) FROM events WHERE kind='no_power'").fetchone()[0] == 1
    c.close()

    tap = PowerTap(build(["declared"], 0.3, 0.05, profile))
    rows, span = _recorded(tmp_path, tap, "declared")
    assert tap.channels()["system"] == {"name": "system", "system_basis": "declared", "system_channels": [],
                                        "declared_w": 500.0}
    assert rows == {("system", 3): pytest.approx(500.0 * span, abs=mj)}                      # declared
