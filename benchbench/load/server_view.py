"""The server's own view of a load point, where it gives one.

- Prometheus `/metrics` (llama.cpp with `--metrics`, vLLM always): counters read before and after the
  point; the record keeps their differences (tokens, requests, seconds the server counted) and the
  gauges read afterwards. Parsed with prometheus_client's text parser.
- Ollama: `/api/ps` after the point (what is loaded, how much of it in GPU memory).
Per-request views (llama.cpp `timings`, Ollama's durations) come with each response (apis.py).
"""

from __future__ import annotations

from typing import Any

COUNTERS_OF_INTEREST = {
    # llama.cpp server (tools/server): llamacpp:<name>
    "llamacpp:prompt_tokens_total": "server_prompt_tokens", "llamacpp:tokens_predicted_total":
    "server_output_tokens", "llamacpp:prompt_seconds_total": "server_prompt_s",
    "llamacpp:tokens_predicted_seconds_total": "server_gen_s", "llamacpp:n_decode_total": "server_decode_calls",
    # vLLM (v1 engine)
    "vllm:prompt_tokens_total": "server_prompt_tokens", "vllm:generation_tokens_total": "server_output_tokens",
    "vllm:prefix_cache_hits_total": "server_cached_tokens", "vllm:request_success_total": "server_requests",
}


def parse_metrics(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text exposition: `name{labels}` → value (labels sorted)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k != "model_name")
            key = f"{sample.name}{{{labels}}}" if labels else sample.name
            out[key] = out.get(key, 0.0) + float(sample.value)
    return out


class ServerView:
    """Snapshots of a server's `/metrics` (and Ollama's `/api/ps`) around each load point."""

    def __init__(self, root_url: str, kind: str, headers: dict[str, str] | None = None) -> None:
        self.root, self.kind, self.headers = root_url.rstrip("/"), kind, headers or {}
        self.metrics_ok: bool | None = None
        self.note: str | None = None

    def snapshot(self) -> dict[str, float] | None:
        """The /metrics samples now, or None when the server has none."""
        if self.kind == "ollama" or self.metrics_ok is False:
            return None
        import httpx

        try:
            r = httpx.get(f"{self.root}/metrics", timeout=5.0, headers=self.headers)
        except httpx.HTTPError as exc:
            self.metrics_ok, self.note = False, f"/metrics unreachable ({type(exc).__name__})"
            return None
        if r.status_code != 200 or "# TYPE" not in r.text:
            self.metrics_ok = False
            self.note = f"/metrics: HTTP {r.status_code}" + (" (llama-server needs --metrics)" if
                                                               r.status_code in (404, 501) else "")
            return None
        try:
            values = parse_metrics(r.text)
        except ImportError:
            self.metrics_ok, self.note = False, "prometheus_client is not installed"
            return None
        except ValueError as exc:
            self.metrics_ok, self.note = False, f"/metrics is not Prometheus text ({exc})"
            return None
        self.metrics_ok = True
        return values

    def after(self, before: dict[str, float] | None) -> dict[str, Any]:
        """What the server says about the point just run: counter differences, gauges, placement."""
        out: dict[str, Any] = {}
        if self.kind == "ollama":
            out["ps"] = self._ollama_ps()
            return {k: v for k, v in out.items() if v is not None}
        now = self.snapshot()
        if before is None or now is None:
            if self.note:
                out["note"] = self.note
            return out
        deltas = {k: now[k] - before.get(k, 0.0) for k in now
                  if k.endswith(("_total", "_sum", "_count")) and now[k] != before.get(k, 0.0)}
        out["counters"] = deltas
        out["gauges"] = {k: v for k, v in now.items() if not k.endswith(("_total", "_sum", "_count", "_bucket",
                                                                         "_created"))}
        out["summary"] = {COUNTERS_OF_INTEREST[k]: v for k, v in deltas.items() if k in COUNTERS_OF_INTEREST}
        return out

    def _ollama_ps(self) -> list[dict[str, Any]] | None:
        import httpx

        try:
            models = httpx.get(f"{self.root}/api/ps", timeout=5.0).json().get("models") or []
        except (httpx.HTTPError, ValueError):
            return None
        return [{"name": m.get("name"), "size_bytes": m.get("size"), "size_vram_bytes": m.get("size_vram"),
                 "context_length": m.get("context_length")} for m in models]
