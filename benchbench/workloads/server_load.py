"""The thin hook between the server backends (ollama, openai) and the load engine (benchbench/load): a
workload with a `load:` block runs a load point (or a whole sweep) per iteration instead of its fixed set of
concurrent requests. Its metrics are in benchbench/metrics/catalog_load.py; LOAD_METRICS go in the backends'
`emits`."""

from __future__ import annotations

from typing import Any

from ..load.apis import OllamaApi, OpenAIApi
from ..load.config import has_load
from ..load.loadtest import LoadTest
from ..load.server_view import ServerView
from ..load.tokenize import server_tokenizer
from .base import IterationContext, IterationResult

LOAD_PRIMARY = ("output_tok_s", "ttft_p90_s")        # checked for high variance across repetitions
_STATS = ("median", "p90", "p95", "p99")
LOAD_METRICS = (
    # a load point: counts (the runner derives the rates over the measured window), latency across requests
    "requests_sent", "succeeded_requests", "failed_requests", "cancelled_requests", "measured_requests",
    "completed_requests", "good_requests",
    "window_s", "output_tokens", "input_tokens", "total_tokens", "req_s", "output_tok_s", "total_tok_s",
    "goodput_req_s", "slo_met_share", "meets_slo", "ttft_s", "tpot_s", "e2e_s", "itl_mean_s", "tg_tok_s",
    *(f"{name}_{stat}_s" for name in ("ttft", "tpot", "itl", "e2e") for stat in _STATS),
    "input_tokens_mean", "output_tokens_mean", "cache_read_tokens", "cached_share", "tokens_per_chunk_mean",
    "server_tpot_mean_s", "peak_concurrency", "concurrency_mean", "j_per_request",
    *(f"server_{k}_delta" for k in ("prompt_tokens", "output_tokens", "cached_tokens", "requests", "prompt_s",
                                    "gen_s", "decode_calls")),
    "client_cpu_s", "client_cpu_share", "connections_opened",
    *(f"{lag}_{stat}_s" for lag in ("loop_lag", "send_lag") for stat in ("p50", "p99", "max")),
    # a sweep's iteration: its summary
    "points", "max_output_tok_s", "max_req_s", "sync_output_tok_s", "sync_tg_tok_s", "sync_ttft_p90_s",
    "knee_req_s", "knee_output_tok_s", "knee_label", "knee_j_per_token",
)


class LoadCapable:
    """Mixin for server backends; `start_load` in setup, `load_iteration` in run_once."""

    load_test: LoadTest | None = None
    params: dict[str, Any]

    @property
    def under_load(self) -> bool:
        return has_load(self.params)

    def start_load(self, kind: str, url: str, model: str, headers: dict[str, str], timeout_s: float,
                   root_url: str, secret: str | None = None) -> dict[str, Any]:
        """Build the load test (probing the server's tokenizer where lengths are asked); its facts."""
        self.primary_metrics = LOAD_PRIMARY
        if kind == "ollama":
            api: Any = OllamaApi(model, self.params)
            tokenizer = None
        else:
            api = OpenAIApi(model, self.params)
            lengths = self.params.get("prompt_lengths") or {}
            wants_lengths = bool(lengths.get("input") or self.params.get("prompt_tokens"))
            tokenizer = server_tokenizer(root_url, model, headers) if wants_lengths else None
        view = ServerView(root_url, kind, headers)
        self.load_test = LoadTest(self.params, api, url, headers, timeout_s, tokenizer, view, secret)
        return {"load": self.load_test.facts()}

    def load_iteration(self, ctx: IterationContext) -> IterationResult:
        assert self.load_test is not None
        return self.load_test.run_once(ctx)
