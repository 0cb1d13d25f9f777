"""Load tests (docs/load.md): a load point's latency distributions across its requests, its rates over the
measured window W, goodput under SLOs, the server's own counters, the client watching itself, a sweep's
summary.

Latency statistics follow vLLM's `bench serve` (TTFT, TPOT excluding the first token, ITL per chunk gap,
E2E to the last token; percentiles interpolated linearly, numpy's default) over the requests sent and
finished inside W. Rates are counts inside W ÷ |W|, derived by the runner from the counts (`count`) over
the same window the energy is integrated over, so J/token = energy ÷ tokens exactly.
"""

from __future__ import annotations

from .model import Metric, register

LLM = ("llm",)
STAT = dict(requests=None, iterations="mean", kinds=LLM)
IT = dict(requests=None, kinds=LLM)
_STATS = (("median", "the median", "median", "p50"), ("p90", "the 90th percentile", "p90", "p90"),
          ("p95", "the 95th percentile", "p95", "p95"), ("p99", "the 99th percentile", "p99", "p99"))
_LATENCIES = (
    ("ttft", "TTFT", "time to first token (request sent → first token chunk)",
     "ttft_ms", "time_to_first_token_ms", "time_to_first_token"),
    ("tpot", "TPOT", "time per output token after the first, (E2E − TTFT) ÷ (output tokens − 1)",
     "tpot_ms", "inter_token_latency_ms", "inter_token_latency"),
    ("e2e", "E2E", "request latency (request sent → last token chunk)",
     "e2el_ms", "request_latency", "request_latency"),
)

register(*(
    Metric(f"{name}_{stat}_s", "s", "request", f"{label} {stat}",
           f"A load point's {what} of its measured requests' {defn}: the distribution across requests, each "
           "request one value (an imported serving benchmark: the tool's own statistic).",
           direction="lower", title=f"{label} {stat} across requests",
           peers={"vllm": f"{vstat}_{vllm} ÷ 1000", "guidellm": f"{guide} ({gstat})", "aiperf": f"{aiperf} ({gstat})"},
           **STAT)
    for name, label, defn, vllm, guide, aiperf in _LATENCIES
    for stat, what, vstat, gstat in _STATS), section="Load tests: latency across requests")

register(
    Metric("server_tpot_mean_s", "s", "request", "server TPOT",
           "The server's own time per output token, mean over the measured requests: llama.cpp "
           "timings.predicted_ms ÷ (predicted_n − 1), Ollama eval_duration ÷ (eval_count − 1).",
           direction="lower", peers={"llama-server": "predicted_per_token_ms ÷ 1000 (≈, n − 1 steps)"}, **STAT),
    Metric("input_tokens_mean", "tokens", "request", "input per request",
           "Prompt tokens per measured request, as the server counted them (chat template included).",
           peers={"guidellm": "prompt_token_count (mean)", "aiperf": "input_sequence_length (avg)"}, **STAT),
    Metric("output_tokens_mean", "tokens", "request", "output per request",
           "Output tokens per measured request (usage, else its token chunks).",
           peers={"guidellm": "output_token_count (mean)", "aiperf": "output_sequence_length (avg)"}, **STAT),
    Metric("tokens_per_chunk_mean", "tokens", "request", "tokens per chunk",
           "Output tokens ÷ token chunks over the successful requests: above 1.05 the ITL is per chunk "
           "(`multi_token_chunks`).", **STAT),
    section="Load tests: latency across requests")

register(
    Metric("req_s", "req/s", "throughput", "requests",
           "Request throughput: requests that succeeded and finished inside the measured window ÷ its length "
           "(completed_requests ÷ |W|; an imported serving benchmark: its completed ÷ its duration). Across "
           "iterations Σ requests ÷ Σ seconds.",
           direction="higher", requests=None, iterations="ratio", count="completed_requests", kinds=LLM,
           title="request throughput",
           peers={"vllm": "request_throughput", "guidellm": "requests_per_second", "aiperf": "request_throughput"}),
    Metric("goodput_req_s", "req/s", "throughput", "goodput",
           "Requests finished inside the measured window meeting every SLO given (ttft_s, tpot_s, e2e_s; a "
           "one-token request has TPOT 0) ÷ |W| (good_requests ÷ |W|); absent without an SLO.",
           direction="higher", requests=None, iterations="ratio", count="good_requests", kinds=LLM,
           peers={"vllm": "request_goodput", "aiperf": "goodput"}),
    Metric("j_per_request", "J/request", "throughput", "energy per request",
           "System energy over the measured window ÷ the requests that finished inside it.",
           direction="lower", requests=None, iterations="mean", kinds=LLM),
    section="Load tests: rates over the measured window")

register(
    Metric("requests_sent", "requests", "iteration", "sent", "Requests the load point sent.", fmt="int",
           iterations="mean", peers={"vllm": "num_prompts", "aiperf": "request_count"}, **IT),
    Metric("succeeded_requests", "requests", "iteration", "succeeded",
           "Requests of the load point that completed successfully, inside the measured window or not.",
           fmt="int", iterations="mean", **IT),
    Metric("failed_requests", "requests", "iteration", "failed",
           "Requests that failed: an HTTP error, a cut connection, an error mid-stream, a stream that ended "
           "unfinished or carried no token (vLLM's definition); not retried under load. An imported serving "
           "benchmark: the tool's count.",
           direction="lower", fmt="int", iterations="mean",
           peers={"vllm": "failed", "guidellm": "request_totals.errored", "aiperf": "error_request_count"}, **IT),
    Metric("cancelled_requests", "requests", "iteration", "cancelled",
           "Requests still running when a duration-bound point ended (cancelled, kept in the rows).",
           fmt="int", iterations="mean", peers={"guidellm": "incomplete"}, **IT),
    Metric("measured_requests", "requests", "iteration", "measured",
           "Requests sent and finished inside the measured window: the latency distributions' population.",
           fmt="int", iterations="mean", **IT),
    Metric("completed_requests", "requests", "iteration", "completed",
           "Requests that succeeded and finished inside the measured window: the count req_s divides by |W| (an "
           "imported serving benchmark: its successful requests).",
           fmt="int", iterations="mean", peers={"vllm": "completed", "guidellm": "request_totals.successful"},
           **IT),
    Metric("good_requests", "requests", "iteration", "good",
           "Requests finished inside the measured window that met every SLO: the count goodput_req_s divides "
           "by |W|.", fmt="int", iterations="mean", **IT),
    Metric("slo_met_share", "", "iteration", "SLO met",
           "Share (0–1) of the measured requests meeting every SLO.", direction="higher", iterations="mean",
           **IT),
    Metric("meets_slo", "", "iteration", "meets the SLOs",
           "The load point meets its SLOs: each SLO's statistic at `slo.percentile` (default p90) within its "
           "limit. The report's knee is the highest load that does.", fmt="bool", iterations=None, **IT),
    Metric("peak_concurrency", "requests", "iteration", "peak in flight",
           "Most requests in flight at once (a sweep line over each request's [sent, end)).", fmt="int",
           iterations="max", peers={"vllm": "max_concurrent_requests"}, **IT),
    Metric("concurrency_mean", "requests", "iteration", "mean in flight",
           "Requests in flight, time-weighted mean over the measured window.", iterations="mean",
           peers={"guidellm": "request_concurrency (mean)"}, **IT),
    Metric("cached_share", "", "iteration", "cached prompt share",
           "Prompt tokens the server took from its cache ÷ all prompt tokens (over half: `prompt_cached`).",
           direction="lower", iterations="mean", **IT),
    section="Load tests: the load point")

_SERVER = (("server_prompt_tokens_delta", "tokens", "prompt tokens",
            "llamacpp:prompt_tokens_total / vllm:prompt_tokens_total"),
           ("server_output_tokens_delta", "tokens", "output tokens",
            "llamacpp:tokens_predicted_total / vllm:generation_tokens_total"),
           ("server_cached_tokens_delta", "tokens", "prefix-cache hits", "vllm:prefix_cache_hits_total"),
           ("server_requests_delta", "requests", "successful requests", "vllm:request_success_total"),
           ("server_prompt_s_delta", "s", "prompt seconds", "llamacpp:prompt_seconds_total"),
           ("server_gen_s_delta", "s", "generation seconds", "llamacpp:tokens_predicted_seconds_total"),
           ("server_decode_calls_delta", "calls", "decode calls", "llamacpp:n_decode_total"))
register(*(
    Metric(name, unit, "iteration", f"server {what}",
           f"The server's own counter over the load point: /metrics after − before ({counter}).",
           fmt="num" if unit == "s" else "int", iterations="mean", **IT)
    for name, unit, what, counter in _SERVER), section="Load tests: the server's own view")

_LAGS = (("loop_lag", "event-loop lag", "a 10 ms ticker's lateness"),
         ("send_lag", "send lateness", "how late each open-loop request left against its schedule"))
register(
    Metric("client_cpu_s", "s", "iteration", "client CPU",
           "CPU time of the load client's event-loop thread over the point.", direction="lower",
           iterations="mean", **IT),
    Metric("client_cpu_share", "", "iteration", "client busy",
           "client_cpu_s ÷ the point's wall time: above 0.9 the client is the bottleneck (`client_saturated`).",
           direction="lower", iterations="max", **IT),
    Metric("connections_opened", "connections", "iteration", "connections",
           "TCP connections the client opened for the point (kept alive; opened before the clock).", fmt="int",
           iterations="mean", **IT),
    *(Metric(f"{name}_{stat}_s", "s", "iteration", f"{label} {stat}",
             f"The load client's {label}: {what}, {stat} over the point (p99 above 10 ms: `client_saturated`).",
             direction="lower", iterations="max", **IT)
      for name, label, what in _LAGS for stat in ("p50", "p99", "max")),
    section="Load tests: the client watching itself")

register(
    Metric("points", "points", "iteration", "load points", "Load points the sweep ran.", fmt="int",
           iterations="last", **IT),
    Metric("max_output_tok_s", "tok/s", "throughput", "peak throughput",
           "The sweep's highest output throughput among its load points (each over its own window).",
           direction="higher", requests=None, iterations="mean", kinds=LLM),
    Metric("max_req_s", "req/s", "throughput", "peak requests",
           "The sweep's highest request throughput among its load points.", direction="higher", requests=None,
           iterations="mean", kinds=LLM),
    Metric("sync_output_tok_s", "tok/s", "throughput", "synchronous throughput",
           "Output throughput of the sweep's synchronous point (one request at a time).", direction="higher",
           requests=None, iterations="mean", kinds=LLM),
    Metric("sync_tg_tok_s", "tok/s", "request", "synchronous stream",
           "Mean per-stream decode speed at the sweep's synchronous point.", direction="higher", **STAT),
    Metric("sync_ttft_p90_s", "s", "request", "synchronous TTFT p90",
           "p90 TTFT at the sweep's synchronous point.", direction="lower", **STAT),
    Metric("knee_req_s", "req/s", "throughput", "knee",
           "Request throughput of the sweep's knee: its highest load point meeting the SLOs.",
           direction="higher", requests=None, iterations="mean", kinds=LLM),
    Metric("knee_output_tok_s", "tok/s", "throughput", "knee throughput",
           "Output throughput of the sweep's knee.", direction="higher", requests=None, iterations="mean",
           kinds=LLM),
    Metric("knee_j_per_token", "J/token", "throughput", "knee energy",
           "System energy per output token at the sweep's knee (its window's energy ÷ its output tokens).",
           direction="lower", requests=None, iterations="mean", kinds=LLM),
    Metric("knee_label", "", "iteration", "knee point", "The label of the sweep's knee (e.g. poisson 3.2/s).",
           fmt="text", iterations="last", **IT),
    section="Load tests: a sweep's summary")
