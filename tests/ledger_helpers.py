"""Fakes for the ledger tests: servers that expose their counters like vLLM and llama.cpp do, a
power sampler replaying the recorded H200 trace, and a recorder runnable in a child process.

Laws (what the fakes count, so a test can compute what the ledger must hold):
- FakeVllm (FakeOpenAI, flavor vllm) serves completions and, when each one has been answered,
  adds to prometheus_client counters (before its last bytes are sent) with vLLM's names and labels (model_name, engine):
  `vllm:prompt_tokens` += the whole prompt, `vllm:prompt_tokens_cached` += its cached part,
  `vllm:generation_tokens` += the output, `vllm:request_success{finished_reason}` += 1, and the
  histogram `vllm:request_inference_time_seconds` observes receipt → end; plus vLLM's other
  histograms (so the page is as long as a real one) and `process_start_time_seconds`.
  `restart()` loses every count and sets a new start time, like a new process.
- FakeLlamaCpp (flavor llamacpp) writes llama-server's /metrics text: prompt_tokens_total (processed,
  cached excluded), prompt_tokens_cached_total, tokens_predicted_total, prompt_seconds_total,
  tokens_predicted_seconds_total, requests_processing; `restart()` zeroes them.
- ReplaySampler reads the recorded H200 NVML trace (power and the energy counter) looped in real
  time: energy drawn between two instants is `ReplaySampler.truth_j(t0, t1)`.
"""

from __future__ import annotations

import bisect
import sys
import time
from pathlib import Path
from typing import Any

from fakes_llm_servers import FakeOpenAI
from power_helpers import load_trace

from benchbench.power.base import Channel, PollingSampler, Reading

HERE = Path(__file__).resolve().parent


class FakeVllm(FakeOpenAI):
    """A fake vLLM server with vLLM's Prometheus counters (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("flavor", "vllm")
        super().__init__(*args, **kwargs)
        self.served = {"requests": 0, "input": 0, "cached": 0, "output": 0}
        self.metrics_down = False       # /metrics answers 503 while True (a scrape that fails)
        self._new_registry()

    def _new_registry(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        r = self.registry = CollectorRegistry()
        labels = ["model_name", "engine"]
        self.c_prompt = Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", labels, registry=r)
        self.c_cached = Counter("vllm:prompt_tokens_cached", "Number of cached prompt tokens.", labels, registry=r)
        self.c_gen = Counter("vllm:generation_tokens", "Number of generation tokens processed.", labels,
                             registry=r)
        self.c_ok = Counter("vllm:request_success", "Count of successfully processed requests.",
                            labels + ["finished_reason"], registry=r)
        self.h_infer = Histogram("vllm:request_inference_time_seconds", "Time in RUNNING phase.", labels,
                                 registry=r, buckets=[0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 60, 120])
        self.others = [Histogram(f"vllm:{n}", n, labels, registry=r, buckets=[0.001 * 2 ** k for k in range(20)])
                       for n in ("time_to_first_token_seconds", "inter_token_latency_seconds",
                                 "e2e_request_latency_seconds", "request_queue_time_seconds",
                                 "request_prefill_time_seconds", "request_decode_time_seconds",
                                 "request_prompt_tokens", "request_generation_tokens", "iteration_tokens_total")]
        for n in ("num_requests_running", "num_requests_waiting", "kv_cache_usage_perc"):
            Gauge(f"vllm:{n}", n, labels, registry=r).labels(self.models[0], "0").set(0)
        Gauge("process_start_time_seconds", "Start time of the process.", registry=r).set(time.time())
        for model in self.models:   # vLLM creates every labelled child at start
            for c in (self.c_prompt, self.c_cached, self.c_gen):
                c.labels(model, "0")
            for reason in ("stop", "length", "abort"):
                self.c_ok.labels(model, "0", reason)

    def restart(self) -> None:
        """A new server process: every count is lost."""
        with self.lock:
            time.sleep(0.01)
            self._new_registry()

    def _count(self, ctx: dict[str, Any]) -> None:
        with self.lock:
            m = ctx["model"]
            self.c_prompt.labels(m, "0").inc(ctx["prompt_tokens"])
            self.c_cached.labels(m, "0").inc(ctx["cached"])
            self.c_gen.labels(m, "0").inc(ctx["n"])
            self.c_ok.labels(m, "0", ctx["reason"]).inc()
            self.h_infer.labels(m, "0").observe(time.perf_counter() - ctx["t_recv"])
            for h in self.others:
                h.labels(m, "0").observe(0.01)
            self.served["requests"] += 1
            self.served["input"] += ctx["prompt_tokens"]
            self.served["cached"] += ctx["cached"]
            self.served["output"] += ctx["n"]

    def _finished(self, ctx: dict[str, Any], t_end: float) -> None:
        self._count(ctx)

    def route_get_metrics(self, h: Any, body: Any) -> None:
        from prometheus_client import generate_latest

        if self.metrics_down:
            return h.send_json(503, {"error": "unavailable"})
        with self.lock:
            text = generate_latest(self.registry).decode()
        return h.send_json(200, text, "text/plain; version=0.0.4; charset=utf-8")


LLAMACPP_COUNTERS = (
    ("prompt_tokens_total", "Number of prompt tokens processed, excluding cached tokens"),
    ("prompt_tokens_cached_total", "Number of prompt tokens reused from the cache"),
    ("prompt_seconds_total", "Total time spent processing prompts"),
    ("tokens_predicted_total", "Number of generation tokens processed"),
    ("tokens_predicted_seconds_total", "Total time spent generating tokens"),
    ("n_decode_total", "Total number of llama_decode() calls"),
)


class FakeLlamaCpp(FakeOpenAI):
    """A fake llama-server --metrics (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("flavor", "llamacpp")
        super().__init__(*args, **kwargs)
        self.counts = dict.fromkeys([k for k, _ in LLAMACPP_COUNTERS], 0.0)
        self.served = {"input": 0, "cached": 0, "output": 0, "busy_s": 0.0}

    def restart(self) -> None:
        with self.lock:
            self.counts = dict.fromkeys(self.counts, 0.0)

    def _count(self, ctx: dict[str, Any], t_end: float) -> None:
        with self.lock:
            prompt_s = ctx["processed"] / self.pp_tok_s if self.pp_tok_s else 0.0
            gen_s = max(0.0, t_end - ctx["first_at"])
            for key, value in (("prompt_tokens_total", ctx["processed"]), ("prompt_tokens_cached_total", ctx["cached"]),
                               ("prompt_seconds_total", prompt_s), ("tokens_predicted_total", ctx["n"]),
                               ("tokens_predicted_seconds_total", gen_s), ("n_decode_total", ctx["n"])):
                self.counts[key] += value
            self.served["input"] += ctx["prompt_tokens"]
            self.served["cached"] += ctx["cached"]
            self.served["output"] += ctx["n"]
            self.served["busy_s"] += prompt_s + gen_s

    def _finished(self, ctx: dict[str, Any], t_end: float) -> None:
        self._count(ctx, t_end)

    def route_get_metrics(self, h: Any, body: Any) -> None:
        with self.lock:
            lines = []
            for key, text in LLAMACPP_COUNTERS:
                lines += [f"# HELP llamacpp:{key} {text}", f"# TYPE llamacpp:{key} counter",
                          f"llamacpp:{key} {self.counts[key]:g}"]
            lines += ["# HELP llamacpp:requests_processing Number of requests processing.",
                      "# TYPE llamacpp:requests_processing gauge", "llamacpp:requests_processing 0"]
        h.send_json(200, "\n".join(lines) + "\n", "text/plain; version=0.0.4")


class ReplaySampler(PollingSampler):
    """The recorded H200 NVML trace (gpu0: 1 s-averaged power and the energy counter), looped."""

    name = "replay"

    def __init__(self, interval_s: float = 0.05, speed: float = 1.0, t0: float | None = None, **kw: Any) -> None:
        super().__init__(interval_s, **kw)
        tr = load_trace()
        self.ts = [t - tr["t_s"][0] for t in tr["t_s"]]
        self.ps = tr["power_w"]
        self.es = [(e - tr["energy_mj"][0]) / 1000 for e in tr["energy_mj"]]
        self.loop_s = self.ts[-1]
        self.loop_j = self.es[-1]
        self.speed = speed
        self.t0 = time.monotonic() if t0 is None else t0   # the same t0 in two processes: one trace

    def open(self) -> list[Channel]:
        return [Channel("gpu0", "gpu", self.name, "replayed H200", counter=True, counter_resolution_j=0.001)]

    def _at(self, t: float) -> tuple[float, float]:
        """(power W, counter J) at t seconds after start: the trace's reading at or before t."""
        loops, rest = divmod(t, self.loop_s)
        i = max(0, bisect.bisect_right(self.ts, rest) - 1)
        return self.ps[i], loops * self.loop_j + self.es[i]

    def counter(self, t_mono: float) -> float:
        return self._at((t_mono - self.t0) * self.speed)[1]

    def truth_j(self, t0_mono: float, t1_mono: float) -> float:
        return self.counter(t1_mono) - self.counter(t0_mono)

    def read(self) -> list[Reading]:
        now = time.monotonic()
        power, energy = self._at((now - self.t0) * self.speed)
        return [Reading("gpu0", power, energy, {}, now)]


def replay_tap(interval_s: float = 0.05, t0: float | None = None) -> tuple[Any, ReplaySampler]:
    """A PowerTap over one ReplaySampler (the project's monitor, with a GPU-only system estimate)."""
    from benchbench.ledger.power import PowerTap
    from benchbench.power.monitor import PowerMonitor

    sampler = ReplaySampler(interval_s, t0=t0)
    return PowerTap(PowerMonitor([([sampler], False)], interval_s, None, ["replay"])), sampler


def run_child(ledger: str, machine: str, interval_s: str, vllm_url: str, trace_t0: str) -> None:
    """A recorder in this (child) process: replayed power (the trace started at monotonic `trace_t0`)
    and a vLLM source, stopped by SIGTERM; the kill -9 tests kill it."""
    from benchbench.ledger.recorder import Recorder
    from benchbench.ledger.setup import run_until_signalled
    from benchbench.ledger.vllm import VllmSource

    tap, _ = replay_tap(t0=float(trace_t0))
    rec = Recorder(ledger, machine, float(interval_s), power=tap, sources=[VllmSource(vllm_url)])
    run_until_signalled(rec, None)


if __name__ == "__main__":
    run_child(*sys.argv[1:])
