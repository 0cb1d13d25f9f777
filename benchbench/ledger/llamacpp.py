"""`--llamacpp URL`: llama.cpp's `llama-server --metrics` page (`/metrics`).

Counters used (llama.cpp's names):
- `llamacpp:prompt_tokens_total`: prompt tokens processed, cached ones excluded;
- `llamacpp:prompt_tokens_cached_total` (newer servers): prompt tokens reused from the cache; input
  tokens = processed + cached; on servers without it, input = processed and cached is unknown;
- `llamacpp:tokens_predicted_total` → output tokens;
- `llamacpp:prompt_seconds_total` + `llamacpp:tokens_predicted_seconds_total` → busy slot-seconds
  (each slot's prompt and generation time, summed: the time the server was busy with one slot,
  more than it when several slots run at once).
llama-server counts no requests and shows no process start time: a restart shows as counters
going back. The model's name comes from `/v1/models`, asked at every reading (a restart may load
another model).
"""

from __future__ import annotations

from .sources import CounterSource, Reading, total


class LlamaCppSource(CounterSource):
    """llama-server's /metrics (started with --metrics)."""

    kind = "llamacpp"
    busy_basis = "slot-seconds"
    hint = "start llama-server with --metrics"
    families = ("llamacpp:prompt_tokens", "llamacpp:prompt_seconds", "llamacpp:tokens_predicted")

    def _model(self) -> str:
        """The served model's name; "" when the server doesn't say."""
        try:
            data = self._client().get(self.url + "/v1/models").json()
            return str((data.get("data") or [{}])[0].get("id") or "")
        except Exception:  # noqa: BLE001 - the name is a label; the counters still count
            return ""

    def totals(self, samples: dict[str, list[tuple[dict[str, str], float]]]) -> Reading:
        processed = total(samples, "llamacpp:prompt_tokens_total").get("")
        cached = total(samples, "llamacpp:prompt_tokens_cached_total").get("")
        output = total(samples, "llamacpp:tokens_predicted_total").get("")
        prompt_s = total(samples, "llamacpp:prompt_seconds_total").get("")
        predicted_s = total(samples, "llamacpp:tokens_predicted_seconds_total").get("")
        busy = None if prompt_s is None and predicted_s is None else (prompt_s or 0.0) + (predicted_s or 0.0)
        inputs = None if processed is None else processed + (cached or 0.0)
        return Reading({self._model(): {"requests": None, "input_tokens": inputs, "cached_tokens": cached,
                                        "output_tokens": output, "busy_s": busy}})
