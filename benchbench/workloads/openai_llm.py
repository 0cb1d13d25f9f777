"""`kind: llm, backend: openai`: any OpenAI-compatible endpoint (llama.cpp's llama-server, vLLM,
LM Studio, hosted APIs), streaming server-sent events over httpx.

Client-side timing: ttft_s, inter-token latencies, tpot_s = (e2e − ttft) / (gen_tokens − 1) and
tg_tok_s = (gen_tokens − 1) / (e2e − ttft), vLLM's definitions. gen_tokens come from the stream's
`usage`; llama.cpp's `timings` give prefill speed. The API key is read from `api_key_env` and
never written anywhere.
"""

from __future__ import annotations

import json
import os
import re
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import ServerError, UserError
from ..load.config import LOAD_KEYS
from ..load.config import check_params as check_load
from ..schema import Field
from .base import IterationContext, IterationResult, RunWarning, Workload
from .llm_common import (
    ITERATION_METRICS,
    LLM_METRICS,
    PROMPT_KEYS,
    SERVER_METRICS,
    check_prompt,
    decode_rate,
    prompt_text,
    rate,
)
from .prompt_fit import fit_prompt, token_counter
from .server_doctor import check_openai, check_servers, targets
from .server_load import LOAD_METRICS, LoadCapable
from .servers import (
    DEFAULT_TIMEOUT_S,
    SERVER_KEYS,
    RetryableError,
    StreamClock,
    StreamingRequests,
    error_text,
    fan_out,
    fixed_length,
    http_timeout,
    mark_chunks,
    merge_warnings,
    output_warnings,
    public_url,
    repetition,
    scrub,
    stream_cut,
    transport_errors,
    with_retries,
)

if TYPE_CHECKING:
    from ..suite import WorkloadSpec

START_HINT = "start the server (llama-server, vllm serve, LM Studio) or check base_url"
RESERVED = ("model", "stream", "messages", "prompt", "stream_options")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _base_url_ok(value: Any) -> str | None:
    if not re.match(r"^https?://", str(value)):
        return "must start with http:// or https:// (e.g. http://localhost:8080/v1)"
    if "@" in str(value).split("://", 1)[1].split("/", 1)[0]:
        return "must not hold credentials (they would be recorded); use api_key_env"
    return None


def _env_name_ok(value: Any) -> str | None:
    if not ENV_NAME.match(str(value)):
        return "must be the NAME of an environment variable holding the key (e.g. OPENAI_API_KEY), " \
               "not the key itself"
    return None


class OpenAILLM(LoadCapable, StreamingRequests, Workload):
    """Streaming /v1/chat/completions or /v1/completions, one or N requests in flight."""

    kind = "llm"
    backend = "openai"
    requires = ("httpx",)
    primary_metrics = ("tg_tok_s", "ttft_s")
    summary_metrics = ("tg_tok_s", "ttft_s", "tpot_s")
    emits = (*LLM_METRICS, *ITERATION_METRICS, *SERVER_METRICS, "tpot_s", "itl_mean_s", "itl_median_s",
             "itl_p99_s", "itl_max_s", "server_tg_tok_s", "cache_read_tokens", *LOAD_METRICS)
    keys = {
        **PROMPT_KEYS,
        **SERVER_KEYS,
        **LOAD_KEYS,
        "base_url": Field((str,), required=True, check=_base_url_ok,
                          doc="the API root, e.g. http://localhost:8080/v1"),
        "api": Field((str,), default="chat", choices=("chat", "completions")),
        "api_key_env": Field((str,), check=_env_name_ok, doc="environment variable holding the key"),
        "include_usage": Field((bool,), default=True, doc="ask for stream_options.include_usage"),
    }

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        if not params.get("model"):
            return ("model", "needs `model` (the model name the server serves)")
        problem = check_load(params)
        if problem:
            return problem
        options = params.get("options") or {}
        for key in RESERVED:
            if key in options:
                return ("options", f"`options.{key}` is set by benchbench", "leave it out")
        for key, value in options.items():
            if isinstance(value, str) and re.match(r"^(sk-|Bearer )", value):
                return ("options", f"`options.{key}` looks like a secret; it would be recorded",
                        "put keys in an environment variable named by api_key_env")
        return check_prompt(params)

    @classmethod
    def doctor(cls, specs: list[WorkloadSpec] | None) -> dict[str, Any]:
        """Every OpenAI-compatible endpoint the suite names: reachable, models served, missing."""
        return check_servers(targets(specs or [], lambda params: str(params["base_url"]).rstrip("/")), check_openai)

    # --- set-up --------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return str(self.params["model"])

    def plan(self) -> dict[str, Any]:
        env = self.params.get("api_key_env")
        key = "none" if not env else (f"${env} (set)" if os.environ.get(env) else f"${env} (NOT SET)")
        return {"endpoint": self._endpoint(), "api_key": key, "concurrency": self.params["concurrency"],
                **({"load": self.params["load"]} if self.under_load else {})}

    def _endpoint(self) -> str:
        path = "chat/completions" if self.params["api"] == "chat" else "completions"
        return f"{str(self.params['base_url']).rstrip('/')}/{path}"

    def setup(self) -> dict[str, Any]:
        import httpx

        self.base = str(self.params["base_url"]).rstrip("/")
        self.key = self._api_key()
        self.timeout_s = float(self.params.get("timeout_s") or DEFAULT_TIMEOUT_S)
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        self.clients = [httpx.Client(timeout=http_timeout(self.timeout_s), headers=headers)
                        for _ in range(int(self.params["concurrency"]))]
        facts: dict[str, Any] = {"server": "openai-compatible", "server_url": public_url(self.base),
                                 "api": self.params["api"], "model": self.model,
                                 "api_key_env": self.params.get("api_key_env")}
        facts.update(self._model_facts())
        facts["server_version"] = self._server_version()
        self.counter, facts["prompt_token_counter"] = None, None
        if self.params.get("prompt_tokens"):
            self.counter, facts["prompt_token_counter"] = token_counter(
                self.clients[0], self.base, self.model, self.params["api"], self.params.get("system"))
        if self.under_load:
            facts.update(self.start_load("openai", self.base, self.model, headers, self.timeout_s,
                                         re.sub(r"/v1$", "", self.base), secret=self.key))
        return facts

    def _prompt(self, i: int) -> str:
        """Request i's prompt: fitted to exactly prompt_tokens where the server counts tokens."""
        if getattr(self, "counter", None) is None:
            return prompt_text(self.params, i, bool(self.params["vary_prompt"]), self.nonce)
        with self._errors():
            return fit_prompt(self.counter, int(self.params["prompt_tokens"]), self.params, i,
                              bool(self.params["vary_prompt"]), self.nonce)[0]

    def _api_key(self) -> str | None:
        env = self.params.get("api_key_env")
        if not env:
            return None
        key = os.environ.get(env)
        if not key:
            raise UserError(f"environment variable {env} is not set", field="api_key_env",
                            hint=f"export {env}=<your key> before running")
        return key

    def _model_facts(self) -> dict[str, Any]:
        """GET /models: is the model served, and what the server says about it (size, context)."""
        def attempt() -> Any:
            with self._errors():
                return self.clients[0].get(f"{self.base}/models")
        r = with_retries(attempt, int(self.params["retries"]), float(self.params["retry_backoff_s"]))[0]
        if r.status_code >= 400:
            return {"models_listed": False}
        try:
            served = {m.get("id"): m for m in r.json().get("data") or [] if isinstance(m, dict)}
        except ValueError:
            return {"models_listed": False}
        if served and self.model not in served:
            names = ", ".join(list(served)[:8]) + (" ..." if len(served) > 8 else "")
            raise ServerError(f"model `{self.model}` is not served at {public_url(self.base)} "
                              f"(served: {names})")
        entry = served.get(self.model) or {}
        meta = entry.get("meta") or {}   # llama.cpp's llama-server
        return {"models_listed": True, "owned_by": entry.get("owned_by"),
                "model_size_bytes": meta.get("size"), "parameters": meta.get("n_params"),
                "context_length": entry.get("max_model_len") or meta.get("n_ctx_train")}

    def _server_version(self) -> str | None:
        """vLLM's /version at the server root; None elsewhere."""
        root = re.sub(r"/v1$", "", self.base)
        try:
            r = self.clients[0].get(f"{root}/version", timeout=2.0)
            return r.json().get("version") if r.status_code == 200 else None
        except Exception:  # noqa: BLE001 - optional information
            return None

    # --- one iteration -------------------------------------------------------------------------
    def run_once(self, ctx: IterationContext) -> IterationResult:
        if self.under_load:
            return self.load_iteration(ctx)
        results, metrics = fan_out(self.params, ctx.index, self._request, self._prompt)
        raw = {"requests": [{k: r[k] for k in ("metrics", "model", "usage", "timings", "finish_reason",
                                               "text_head", "repetition")} for r in results]}
        return IterationResult(metrics, raw=raw, warnings=merge_warnings([r["warnings"] for r in results]))

    @contextmanager
    def _errors(self) -> Any:
        try:
            with transport_errors(public_url(self.base), START_HINT):
                yield
        except ServerError as exc:
            raise type(exc)(scrub(str(exc), self.key)) from None

    def _body(self, prompt: str) -> dict[str, Any]:
        options = dict(self.params.get("options") or {})
        body: dict[str, Any] = {"model": self.model, "stream": True}
        if "max_completion_tokens" not in options:
            body["max_tokens"] = int(self.params["max_tokens"])
        if self.params["include_usage"]:
            body["stream_options"] = {"include_usage": True}
        if self.params["api"] == "chat":
            system = self.params.get("system")
            body["messages"] = ([{"role": "system", "content": system}] if system else []) + \
                [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        return {**body, **options}

    def _stream(self, client: Any, prompt: str, stop: threading.Event) -> dict[str, Any]:
        state: dict[str, Any] = {"usage": None, "timings": None, "finish_reason": None, "model": None,
                                 "chunks": 0, "done": False}
        pieces: list[str] = []
        clock = StreamClock(self.timeout_s)
        clock.start()
        try:
            self._read_stream(client, prompt, stop, state, pieces, clock)
        except Exception as exc:
            mark_chunks(exc, state["chunks"])
            raise
        clock.stop()
        if not state["done"] and state["finish_reason"] is None:
            where = public_url(self.base)
            if state["chunks"]:
                raise ServerError(stream_cut(where, state["chunks"], "it ended without finish_reason or [DONE]"))
            raise RetryableError(f"the stream from {where} ended before it finished")
        return self._result(state, "".join(pieces), clock)

    def _read_stream(self, client: Any, prompt: str, stop: threading.Event, state: dict[str, Any],
                     pieces: list[str], clock: StreamClock) -> None:
        with client.stream("POST", self._endpoint(), json=self._body(prompt)) as r:
            if r.status_code >= 400:
                r.read()
                raise self._http_error(r.status_code, r.content)
            for line in r.iter_lines():
                if stop.is_set():
                    raise ServerError("stopped: another request of this iteration failed")
                if not line.startswith("data:"):
                    continue          # blank separators, comments, event:/id: fields
                data = line[5:].strip()
                if data == "[DONE]":
                    state["done"] = True
                    break
                try:
                    event = json.loads(data)
                except ValueError:
                    raise ServerError(f"{public_url(self.base)} sent an event that is not JSON: "
                                      f"{data[:80]!r}") from None
                piece = self._event(event, state)
                clock.chunk(bool(piece))
                if piece:
                    pieces.append(piece)
                    state["chunks"] += 1

    def _event(self, event: dict[str, Any], state: dict[str, Any]) -> str:
        """Fold one SSE event into `state`; returns the text it carries."""
        if event.get("error"):
            raise ServerError(scrub(f"{public_url(self.base)} reported an error mid-stream: "
                                    f"{error_text(json.dumps(event))}", self.key))
        state["model"] = event.get("model") or state["model"]
        state["usage"] = event.get("usage") or state["usage"]
        state["timings"] = event.get("timings") or state["timings"]
        text = ""
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            text += (delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning")
                     or choice.get("text") or "")
            state["finish_reason"] = choice.get("finish_reason") or state["finish_reason"]
        return text

    def _http_error(self, status: int, body: bytes) -> ServerError:
        message = scrub(error_text(body), self.key)
        where = public_url(self._endpoint())
        if status == 404 and "model" in message.lower():
            return ServerError(f"{where}: model `{self.model}` not found: {message}")
        if status in (401, 403):
            env = self.params.get("api_key_env")
            hint = f"check ${env}" if env else "set api_key_env to the variable holding the key"
            return ServerError(f"{where} refused the request (HTTP {status}: {message}; {hint})")
        return ServerError(f"{where} answered HTTP {status}: {message}")

    def _result(self, state: dict[str, Any], text: str, clock: StreamClock) -> dict[str, Any]:
        usage = state["usage"] or {}
        timings = state["timings"] or {}
        warnings = output_warnings(text, state["finish_reason"], self.params["max_tokens"],
                                   fixed_length(self.params.get("options"), self.params["max_tokens"]))
        gen_tokens = usage.get("completion_tokens")
        if gen_tokens is None:
            gen_tokens = state["chunks"]
            warnings.append(RunWarning("gen_tokens_estimated",
                                       "the server sent no token usage: gen_tokens counts stream chunks, "
                                       "which undercounts when a chunk carries several tokens"))
        ttft = clock.ttft_s
        gen_s = clock.e2e_s - ttft if ttft is not None else None
        steps = gen_tokens - 1 if gen_tokens else 0
        prompt_n, prompt_ms = timings.get("prompt_n"), timings.get("prompt_ms")
        prompt_s = prompt_ms / 1000 if isinstance(prompt_ms, (int, float)) else None
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
        cached = timings.get("cache_n") if cached is None else cached
        prompt_tokens = usage.get("prompt_tokens")
        if prompt_tokens is None and prompt_n is not None:
            prompt_tokens = prompt_n + (cached or 0)
        metrics = {"prompt_tokens": prompt_tokens, "prompt_s": prompt_s, "pp_tok_s": rate(prompt_n, prompt_s),
                   "gen_tokens": gen_tokens, "gen_s": gen_s, "tg_tok_s": decode_rate(gen_tokens, gen_s),
                   "tpot_s": gen_s / steps if steps and gen_s is not None else None,
                   "ttft_s": ttft, "e2e_s": clock.e2e_s, "total_s": clock.e2e_s, "load_s": None,
                   "done_reason": state["finish_reason"], **clock.itl_stats(),
                   "server_tg_tok_s": server_decode_rate(timings),
                   "input_tokens": prompt_tokens, "output_tokens": gen_tokens,
                   "total_tokens": prompt_tokens + gen_tokens if prompt_tokens is not None else None,
                   "cache_read_tokens": cached, "output_chars": len(text)}
        asked = self.params.get("prompt_tokens")
        if asked and prompt_tokens and abs(prompt_tokens - asked) > max(2, 0.05 * asked):
            why = ("it offers no tokenizer endpoint to fit the prompt to" if getattr(self, "counter", None) is None
                   else "its tokenizer endpoint counted otherwise")
            warnings.append(RunWarning("prompt_length_off", f"asked for {asked} prompt tokens, the server counted "
                                       f"{prompt_tokens}: {why}"))
        if cached and prompt_tokens and cached > prompt_tokens / 2:
            warnings.append(RunWarning("prompt_cached", f"{cached} of {prompt_tokens} prompt tokens came from "
                                                        "the server's cache: prefill was not measured"))
        share, ratio = repetition(text)
        return {"metrics": metrics, "model": state["model"], "usage": state["usage"],
                "timings": state["timings"], "finish_reason": state["finish_reason"],
                "warnings": warnings, "text_head": text[:300],
                "repetition": {"repeat_4gram_share": share, "compression_ratio": ratio},
                "start_s": clock.start_s, "end_s": clock.end_s}

    def teardown(self) -> None:
        for client in getattr(self, "clients", []):
            client.close()


def server_decode_rate(timings: dict[str, Any]) -> float | None:
    """llama-server's own decode speed: `timings.predicted_per_second` as sent. Without it, the same
    definition from its parts: (predicted_n − 1) ÷ predicted_ms, the first token coming with the prompt
    (llama.cpp tools/server server_slot_stats: n_gen_steps = n_gen − 1)."""
    sent = timings.get("predicted_per_second")
    if isinstance(sent, (int, float)) and not isinstance(sent, bool):
        return float(sent) if sent > 0 else None
    n, ms = timings.get("predicted_n"), timings.get("predicted_ms")
    if not isinstance(n, (int, float)) or n < 2:
        return None
    return rate(n - 1, ms / 1000 if isinstance(ms, (int, float)) else None)
