"""`kind: llm, backend: ollama`: an Ollama server through the official `ollama` client, streaming.

Speeds come from the server's own counters (nanosecond durations in the final response): Ollama starts
eval_duration's clock at the first sampled token (runner.go: startGenerationTime), so the decode speed of
one stream is (eval_count − 1) ÷ eval_duration, the registry's tg_tok_s; ttft_s and e2e_s are measured by
the client. Placement (/api/ps) is checked after each iteration.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import ServerError
from ..load.config import LOAD_FIELDS, LOAD_KEYS
from ..load.config import check_params as check_load
from ..schema import Field, suggest
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
from .server_doctor import check_ollama, check_servers, targets
from .server_load import LOAD_METRICS, LoadCapable
from .servers import (
    DEFAULT_TIMEOUT_S,
    SERVER_KEYS,
    RetryableError,
    StreamClock,
    StreamingRequests,
    fan_out,
    gpu_fraction,
    http_timeout,
    mark_chunks,
    merge_warnings,
    ollama_url,
    one_line,
    output_warnings,
    repetition,
    same_ollama_model,
    stream_cut,
    transport_errors,
    with_retries,
)

if TYPE_CHECKING:
    from ..suite import WorkloadSpec

START_HINT = "start it with `ollama serve`, or set `host:` / OLLAMA_HOST"
UNLOAD_WAIT_S = 15.0
SERVER_FIELDS = ("model", "created_at", "done", "done_reason", "total_duration", "load_duration",
                 "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration")


def _keep_alive_ok(value: Any) -> str | None:
    return None if isinstance(value, (int, float, str)) and not isinstance(value, bool) else \
        "must be a duration like 5m, 1h or -1, or seconds as a number"


# The server takes these beside the client's `ollama.Options` fields (api/types.go in Ollama).
SERVER_ONLY_OPTIONS = ("min_p",)


def check_options(options: dict[str, Any]) -> tuple[str, ...] | None:
    """Option names and types, against the ollama client's `Options` model: a server ignores a name it
    does not know (a typo in num_ctx would silently benchmark the default context)."""
    try:
        import ollama
        import pydantic
    except ImportError:  # the backend says it is unavailable; nothing to check against
        return None
    known = [*ollama.Options.model_fields, *SERVER_ONLY_OPTIONS]
    for key in options:
        if key not in known:

            return ("options", f"unknown Ollama option `{key}`",
                    suggest(str(key), known) or "see PARAMETER in Ollama's Modelfile docs")
    try:
        ollama.Options(**{k: v for k, v in options.items() if k not in SERVER_ONLY_OPTIONS})
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        return ("options", f"{err['loc'][0]}: {err['msg'][0].lower()}{err['msg'][1:]}, found {err['input']!r}")
    return None


class OllamaLLM(LoadCapable, StreamingRequests, Workload):
    """Streaming generate (or chat) against an Ollama server, warm or cold, one or N requests."""

    kind = "llm"
    backend = "ollama"
    requires = ("ollama", "httpx")
    primary_metrics = ("tg_tok_s", "pp_tok_s")
    summary_metrics = ("tg_tok_s", "pp_tok_s", "ttft_s")
    emits = (*LLM_METRICS, *ITERATION_METRICS, *SERVER_METRICS, "gpu_fraction", *LOAD_METRICS)
    keys = {
        **PROMPT_KEYS,
        **SERVER_KEYS,
        "host": Field((str,), doc="Ollama server URL; default OLLAMA_HOST or http://localhost:11434"),
        "api": Field((str,), default="generate", choices=("generate", "chat")),
        **LOAD_KEYS,
        "load": Field((str, dict), default="warm", choices=("warm", "cold"), nested=LOAD_FIELDS,
                      doc="warm, cold, or a load test: {concurrency: N} / {request_rate: R} / {mode: sweep}"),
        "keep_alive": Field((str, int, float), check=_keep_alive_ok),
        "think": Field((bool,), doc="thinking models: turn thinking on or off"),
    }

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        if not params.get("model"):
            return ("model", "needs `model` (an Ollama model name such as llama3.2:3b)")
        problem = check_load(params)
        if problem:
            return problem
        if "num_predict" in (params.get("options") or {}):
            return ("options", "`options.num_predict` is set from `max_tokens`", "use max_tokens")
        problem = check_options(params.get("options") or {})
        if problem:
            return problem
        num_ctx = (params.get("options") or {}).get("num_ctx")
        if isinstance(num_ctx, int) and (params.get("prompt_tokens") or 0) + params["max_tokens"] > num_ctx:
            return ("prompt_tokens", f"prompt_tokens + max_tokens exceed options.num_ctx ({num_ctx}): "
                    "Ollama would truncate the prompt", "raise num_ctx")
        if params.get("load") == "cold" and params.get("keep_alive") is not None:
            return ("keep_alive", "`load: cold` unloads the model itself", "leave keep_alive out")
        return check_prompt(params)

    @classmethod
    def doctor(cls, specs: list[WorkloadSpec] | None) -> dict[str, Any]:
        """Without a suite the default Ollama host (OLLAMA_HOST); with one, only the hosts it names (none when
        it has no Ollama entry): reachable, loaded, missing."""
        found = targets(specs or [], lambda params: ollama_url(params.get("host")),
                        default=ollama_url() if specs is None else None)
        return check_servers(found, check_ollama)

    # --- set-up --------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return str(self.params["model"])

    def _options(self) -> dict[str, Any]:
        return {**(self.params.get("options") or {}), "num_predict": int(self.params["max_tokens"])}

    def plan(self) -> dict[str, Any]:
        return {"server": ollama_url(self.params.get("host")), "api": self.params["api"],
                "load": self.params["load"], "concurrency": self.params["concurrency"],
                "options": self._options()}

    def setup(self) -> dict[str, Any]:
        import ollama

        self.url = ollama_url(self.params.get("host"))
        self.timeout_s = float(self.params.get("timeout_s") or DEFAULT_TIMEOUT_S)
        self.clients = [ollama.Client(host=self.url, timeout=http_timeout(self.timeout_s))
                        for _ in range(int(self.params["concurrency"]))]
        self.client = self.clients[0]
        version = self._call(self._version)
        show = self._call(lambda: self.client.show(self.model))
        listed = self._call(lambda: self.client.list())
        entry = next((m for m in listed.models if same_ollama_model(m.model, self.model)), None)
        was_loaded = self._ps_entry() is not None
        t0 = time.perf_counter()
        self._call(lambda: self.client.generate(model=self.model, prompt="", options=self._options(),
                                                keep_alive=self._keep_alive()))
        load_s = time.perf_counter() - t0
        placed = self._ps_entry()
        self.placement = self._placement(placed)
        if self.params["load"] == "cold":
            self._unload()
        load = self.start_load("ollama", self.url, self.model, {}, self.timeout_s, self.url) \
            if self.under_load else {}
        return {**load, "server": "ollama", "server_url": self.url, "server_version": version,
                "api": self.params["api"], "load": self.params["load"],
                "load_s": load_s, "model_was_loaded": was_loaded,
                **self._model_facts(show, entry), **self.placement}

    def _model_facts(self, show: Any, entry: Any) -> dict[str, Any]:
        details = show.details
        info = dict(show.modelinfo or {})
        arch = info.get("general.architecture")
        return {"model": self.model, "family": getattr(details, "family", None),
                "parameter_size": getattr(details, "parameter_size", None),
                "quantization_level": getattr(details, "quantization_level", None),
                "format": getattr(details, "format", None),
                "parameters": info.get("general.parameter_count"),
                "context_length_max": info.get(f"{arch}.context_length") if arch else None,
                "model_size_bytes": int(entry.size) if entry is not None and entry.size else None,
                "model_digest": entry.digest if entry is not None else None}

    @staticmethod
    def _placement(entry: Any) -> dict[str, Any]:
        if entry is None:
            return {"loaded_size_bytes": None, "loaded_size_vram_bytes": None, "gpu_fraction": None,
                    "context_length": None}
        size, vram = int(entry.size or 0), int(entry.size_vram or 0)
        return {"loaded_size_bytes": size, "loaded_size_vram_bytes": vram,
                "gpu_fraction": gpu_fraction(size, vram), "context_length": entry.context_length}

    def _version(self) -> str | None:
        """/api/version (the client has no call for it)."""
        import httpx

        r = httpx.get(f"{self.url}/api/version", timeout=http_timeout(min(self.timeout_s, 30.0)))
        return r.json().get("version") if r.status_code == 200 else None

    def _keep_alive(self) -> Any:
        return self.params.get("keep_alive")

    # --- talking to the server -----------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Any:
        import ollama

        try:
            with transport_errors(self.url, START_HINT):
                yield
        except ollama.ResponseError as exc:
            if exc.status_code == 404 and "not found" in str(exc.error).lower():
                raise ServerError(f"model `{self.model}` is not on the Ollama server at {self.url} "
                                  f"(ollama pull {self.model})") from None
            raise ServerError(f"Ollama at {self.url} answered HTTP {exc.status_code}: "
                              f"{one_line(exc.error)}") from None

    def _call(self, fn: Any) -> Any:
        """A short request, with the same retries as generation."""
        def attempt() -> Any:
            with self._errors():
                return fn()
        return with_retries(attempt, int(self.params["retries"]), float(self.params["retry_backoff_s"]))[0]

    def _ps_entry(self) -> Any:
        try:
            running = self._call(lambda: self.client.ps())
        except ServerError:
            return None
        return next((m for m in running.models if same_ollama_model(m.model or m.name, self.model)), None)

    def _unload(self) -> None:
        """keep_alive 0 with an empty prompt, then wait until /api/ps no longer lists the model."""
        self._call(lambda: self.client.generate(model=self.model, prompt="", keep_alive=0))
        deadline = time.monotonic() + UNLOAD_WAIT_S
        while self._ps_entry() is not None:
            if time.monotonic() > deadline:
                raise ServerError(f"Ollama at {self.url} did not unload {self.model} "
                                  f"within {UNLOAD_WAIT_S:g} s")
            time.sleep(0.05)

    # --- one iteration -------------------------------------------------------------------------
    def run_once(self, ctx: IterationContext) -> IterationResult:
        if self.under_load:
            return self.load_iteration(ctx)
        vary = bool(self.params["vary_prompt"])
        results, metrics = fan_out(self.params, ctx.index, self._request,
                                   lambda i: prompt_text(self.params, i, vary, self.nonce))
        placed = self._ps_entry()
        metrics.update({"gpu_fraction": self._placement(placed)["gpu_fraction"]})
        if self.params["load"] == "cold":
            self._unload()
        raw = {"requests": [{k: r[k] for k in ("metrics", "server", "text_head", "repetition")}
                            for r in results]}
        if placed is not None:
            raw["ps"] = {"size": int(placed.size or 0), "size_vram": int(placed.size_vram or 0),
                         "context_length": placed.context_length}
        return IterationResult(metrics, raw=raw, warnings=merge_warnings([r["warnings"] for r in results]))

    def _stream(self, client: Any, prompt: str, stop: threading.Event) -> dict[str, Any]:
        kwargs = {"model": self.model, "options": self._options(), "stream": True,
                  "keep_alive": self._keep_alive(), "think": self.params.get("think")}
        system = self.params.get("system")
        if self.params["api"] == "chat":
            messages = ([{"role": "system", "content": system}] if system else []) + \
                [{"role": "user", "content": prompt}]
            stream = client.chat(messages=messages, **kwargs)
        else:
            stream = client.generate(prompt=prompt, system=system, **kwargs)
        clock = StreamClock(self.timeout_s)
        pieces: list[str] = []
        final = None
        clock.start()
        received = 0
        try:
            for chunk in stream:
                part = chunk.message if self.params["api"] == "chat" else chunk
                piece = (getattr(part, "content", None) if self.params["api"] == "chat"
                         else part.response) or ""
                thought = getattr(part, "thinking", None) or ""
                clock.chunk(bool(piece or thought))
                pieces.append(thought + piece)
                received += bool(piece or thought)
                if chunk.done:
                    final = chunk
                    break
                if stop.is_set():
                    raise ServerError("stopped: another request of this iteration failed")
        except Exception as exc:
            mark_chunks(exc, received)
            raise
        finally:
            stream.close()
        clock.stop()
        if final is None:
            if received:
                raise ServerError(stream_cut(self.url, received, "it ended without its final response"))
            raise RetryableError(f"the stream from {self.url} ended without its final response")
        return self._result(final, "".join(pieces), prompt, clock)

    def _result(self, final: Any, text: str, prompt: str, clock: StreamClock) -> dict[str, Any]:
        server = {k: getattr(final, k, None) for k in SERVER_FIELDS}
        ns = lambda v: v / 1e9 if isinstance(v, (int, float)) else None
        prompt_tokens, prompt_s = server["prompt_eval_count"], ns(server["prompt_eval_duration"])
        gen_tokens, gen_s = server["eval_count"], ns(server["eval_duration"])
        metrics = {"prompt_tokens": prompt_tokens, "prompt_s": prompt_s,
                   "pp_tok_s": rate(prompt_tokens, prompt_s), "gen_tokens": gen_tokens, "gen_s": gen_s,
                   "tg_tok_s": decode_rate(gen_tokens, gen_s), "ttft_s": clock.ttft_s, "e2e_s": clock.e2e_s,
                   "load_s": ns(server["load_duration"]), "total_s": ns(server["total_duration"]),
                   "done_reason": server["done_reason"], "output_chars": len(text),
                   "input_tokens": prompt_tokens, "output_tokens": gen_tokens,
                   "total_tokens": prompt_tokens + gen_tokens if None not in (prompt_tokens, gen_tokens) else None}
        warnings = output_warnings(text, server["done_reason"], self.params["max_tokens"])
        cached = self._cache_warning(prompt_tokens, prompt)
        if cached:
            warnings.append(cached)
        share, ratio = repetition(text)
        return {"metrics": metrics, "server": server, "warnings": warnings, "text_head": text[:300],
                "repetition": {"repeat_4gram_share": share, "compression_ratio": ratio},
                "start_s": clock.start_s, "end_s": clock.end_s}

    def _cache_warning(self, prompt_tokens: int | None, prompt: str) -> RunWarning | None:
        """prompt_cached: the server evaluated (almost) none of the prompt, so pp_tok_s is not prefill."""
        floor = max(2.0, len(prompt) / 16)   # English runs ~4 characters a token; 16 is far below
        if prompt_tokens is not None and prompt_tokens >= floor:
            return None
        seen = "no prompt_eval_count" if prompt_tokens is None else f"prompt_eval_count {prompt_tokens}"
        hint = "keep vary_prompt: true" if not self.params["vary_prompt"] else \
            "the server reused a cached prompt"
        return RunWarning("prompt_cached", f"the server reported {seen} for a {len(prompt)}-character "
                                           f"prompt: prefill was not measured ({hint})")

    # --- after the run -------------------------------------------------------------------------
    def check_run(self, iterations: list[dict[str, Any]]) -> list[RunWarning]:
        fractions = [it["metrics"].get("gpu_fraction") for it in iterations if not it.get("error")]
        fractions = [f for f in fractions + [getattr(self, "placement", {}).get("gpu_fraction")]
                     if f is not None]
        if not fractions:
            return []
        low = min(fractions)
        size = getattr(self, "placement", {}).get("loaded_size_bytes") or 0
        if low == 0:
            return [RunWarning("model_on_cpu",
                               f"Ollama reports size_vram 0 for {self.model}: it ran on the CPU. Check the "
                               "server's GPU setup (drivers, CUDA_VISIBLE_DEVICES, HSA_OVERRIDE_GFX_VERSION "
                               "in the ollama systemd unit for gfx1151) and `ollama ps`")]
        if low < 1:
            return [RunWarning("model_partially_on_cpu",
                               f"only {low:.0%} of {self.model} ({size / 1e9:.1f} GB loaded) is in GPU "
                               "memory; the rest runs on the CPU: lower num_ctx, pick a smaller "
                               "quantization, or free GPU memory")]
        return []

    def teardown(self) -> None:
        for client in getattr(self, "clients", []):
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
