"""The thin hook between the server backends (ollama, openai) and the load engine: a workload with a
`load:` block runs a load point per iteration instead of its fixed set of requests."""

from __future__ import annotations

from typing import Any

from ..workloads.base import IterationContext, IterationResult
from .apis import OllamaApi, OpenAIApi
from .config import has_load
from .loadtest import LoadTest
from .server_view import ServerView
from .tokenize import server_tokenizer

LOAD_PRIMARY = ("output_tok_s", "ttft_p90_s")        # checked for high variance across repetitions


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
