"""`--vllm URL`: a vLLM server's Prometheus page (`/metrics`), per served model.

Counters used (vLLM V1 names; the page shows counters with `_total`):
- `vllm:prompt_tokens_total`: prompt tokens of requests that started generating (the whole prompt,
  cached part included) → input tokens;
- `vllm:prompt_tokens_cached_total` (vLLM ≥ 0.11: local and external prefix-cache hits) → cached input
  tokens; older servers: `vllm:prefix_cache_hits_total` (tokens found in the prefix cache when
  scheduling), labelled as such;
- `vllm:generation_tokens_total` → output tokens; `vllm:request_success_total` (every finish reason)
  → requests;
- `vllm:request_inference_time_seconds_sum` (time requests spent RUNNING, summed over requests;
  `vllm:e2e_request_latency_seconds_sum` on servers without it) → busy request-seconds: equal to
  the time the engine was busy with one request at a time, more than it with several in a batch;
- `process_start_time_seconds` tells a restart.
"""

from __future__ import annotations

from typing import Any

from .sources import CounterSource, Reading, total


class VllmSource(CounterSource):
    """vLLM's /metrics."""

    kind = "vllm"
    busy_basis = "request-seconds"
    hint = "is this a vLLM server? its metrics page is on the API port"
    families = ("vllm:prompt_tokens", "vllm:generation_tokens", "vllm:request_success", "vllm:prefix_cache_hits",
                "vllm:request_inference_time_seconds", "vllm:e2e_request_latency_seconds", "process_start_time")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cached_basis: str | None = None

    def totals(self, samples: dict[str, list[tuple[dict[str, str], float]]]) -> Reading:
        by = "model_name"
        prompt = total(samples, "vllm:prompt_tokens_total", by)
        output = total(samples, "vllm:generation_tokens_total", by)
        requests = total(samples, "vllm:request_success_total", by)
        cached = total(samples, "vllm:prompt_tokens_cached_total", by)
        self.cached_basis = "prompt_tokens_cached" if cached else None
        if not cached:
            cached = total(samples, "vllm:prefix_cache_hits_total", by)
            self.cached_basis = "prefix_cache_hits" if cached else None
        busy = total(samples, "vllm:request_inference_time_seconds_sum", by) or \
            total(samples, "vllm:e2e_request_latency_seconds_sum", by)
        models = sorted(set(prompt) | set(output) | set(requests))
        started = total(samples, "process_start_time_seconds").get("")
        return Reading({m: {"requests": requests.get(m), "input_tokens": prompt.get(m),
                            "cached_tokens": cached.get(m), "output_tokens": output.get(m),
                            "busy_s": busy.get(m)} for m in models}, started)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "cached_basis": self.cached_basis}
