"""What the proxy counts: requests and input / cached / output tokens per model, and busy time.

Read from the responses as they pass (after each piece is forwarded, so counting adds nothing to
what the client waits for):
- Ollama (`/api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`): the final object's
  `prompt_eval_count` (the whole prompt on current Ollama; old versions left it out when the prompt
  was cached) and `eval_count`; cached tokens from `prompt_eval_cached_count` where Ollama reports it;
- OpenAI-compatible (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`): `usage`
  (prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens); streamed responses carry
  it only when the client asked (`stream_options.include_usage`); else llama.cpp's `timings`
  (prompt_n + cache_n, cache_n, predicted_n); else the content chunks are counted as output tokens
  (one token per chunk on llama.cpp and Ollama) and the row is flagged `estimated`, input unknown.
Busy time is the time with at least one request of that model in flight (measured, wall time).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .store import ESTIMATED, WorkRow

OLLAMA_PATHS = ("/api/chat", "/api/generate", "/api/embed", "/api/embeddings")
OPENAI_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
MAX_LINE_BYTES = 1 << 20        # a longer line is not parsed (it is still forwarded)
MAX_BODY_BYTES = 32 << 20       # a whole (non-streamed) answer larger than this is not parsed


@dataclass
class Usage:
    input_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int | None = None
    estimated: bool = False


def api_of(path: str) -> str | None:
    """`ollama`, `openai`, or None for paths that serve no tokens (model lists, health...)."""
    bare = path.split("?", 1)[0].rstrip("/")
    if bare in OLLAMA_PATHS:
        return "ollama"
    if bare in OPENAI_PATHS:
        return "openai"
    return None


class ResponseReader:
    """Fed the response body piece by piece; `usage()` at the end."""

    def __init__(self, api: str, content_type: str = "") -> None:
        self.api = api
        ctype = content_type.lower()
        self.stream = "event-stream" in ctype or "ndjson" in ctype or "json" not in ctype
        self.buffer = b""
        self.whole = bytearray()
        self.found = Usage()
        self.have_usage = False
        self.chunks = 0
        self.lines = 0

    def feed(self, data: bytes) -> None:
        if not self.stream:
            if len(self.whole) <= MAX_BODY_BYTES:
                self.whole += data
            return
        self.buffer += data
        if b"\n" not in data:
            if len(self.buffer) > MAX_LINE_BYTES:
                self.buffer = b""
            return
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            self._line(line.strip())

    def _line(self, line: bytes) -> None:
        if not line:
            return
        self.lines += 1
        if self.api == "ollama":
            if b'"done":true' in line or b'"done": true' in line:
                self._ollama(_loads(line))
            return
        if not line.startswith(b"data:"):
            return
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return
        self._openai_event(_loads(payload))

    def _ollama(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        self.have_usage = True
        self.found = Usage(_int(obj.get("prompt_eval_count")) or 0, _int(obj.get("prompt_eval_cached_count")),
                           _int(obj.get("eval_count")) or 0)

    def _openai_event(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self._openai_usage(usage)
            return
        timings = obj.get("timings")
        if isinstance(timings, dict) and not self.have_usage:
            cache = _int(timings.get("cache_n"))
            prompt = _int(timings.get("prompt_n"))
            self.found = Usage(None if prompt is None else prompt + (cache or 0), cache,
                               _int(timings.get("predicted_n")))
            self.have_usage = True
        for choice in obj.get("choices") or ():
            if isinstance(choice, dict):
                delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
                if delta.get("content") or choice.get("text") or delta.get("reasoning_content"):
                    self.chunks += 1

    def _openai_usage(self, usage: dict[str, Any]) -> None:
        details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
        cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else None
        self.found = Usage(_int(usage.get("prompt_tokens")), cached, _int(usage.get("completion_tokens")) or 0)
        self.have_usage = True

    def usage(self) -> Usage:
        """What this response served (after the body ended)."""
        if self.buffer.strip():
            self._line(self.buffer.strip())
            self.buffer = b""
        if not self.stream and len(self.whole) <= MAX_BODY_BYTES:   # one JSON answer
            obj = _loads(bytes(self.whole))
            if isinstance(obj, dict) and self.api == "ollama" and ("done" in obj or "prompt_eval_count" in obj):
                self._ollama(obj)
            elif isinstance(obj, dict) and isinstance(obj.get("usage"), dict):
                self._openai_usage(obj["usage"])
        if self.have_usage:
            return self.found
        return Usage(None, None, self.chunks, estimated=True)


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass
class _Model:
    requests: int = 0
    input_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int = 0
    busy_s: float = 0.0
    estimated: bool = False
    in_flight: int = 0
    since: float = 0.0


class ProxyCounter:
    """Per-model totals since the last `take()`; thread-safe (one thread per proxied connection)."""

    def __init__(self, source: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.clock = clock
        self.lock = threading.Lock()
        self.models: dict[str, _Model] = {}
        self.requests_total = 0

    def begin(self, model: str) -> None:
        with self.lock:
            m = self.models.setdefault(model, _Model())
            if m.in_flight == 0:
                m.since = self.clock()
            m.in_flight += 1

    def end(self, model: str, usage: Usage | None) -> None:
        """A response ended (usage None: it failed; it counts as busy time, not as a request)."""
        with self.lock:
            m = self.models.setdefault(model, _Model())
            now = self.clock()
            m.in_flight = max(0, m.in_flight - 1)
            if m.in_flight == 0:
                m.busy_s += now - m.since
            if usage is None or not (usage.input_tokens or usage.output_tokens):
                return      # failed, or served no tokens (loading a model): busy, but no request
            m.requests += 1
            self.requests_total += 1
            if usage.input_tokens is not None:
                m.input_tokens = (m.input_tokens or 0) + usage.input_tokens
            if usage.cached_tokens is not None:
                m.cached_tokens = (m.cached_tokens or 0) + usage.cached_tokens
            m.output_tokens += usage.output_tokens or 0
            m.estimated |= usage.estimated

    def take(self) -> list[WorkRow]:
        """The rows of the interval that ends now; counting starts again from zero."""
        rows = []
        with self.lock:
            now = self.clock()
            for name, m in list(self.models.items()):
                busy = m.busy_s + (now - m.since if m.in_flight else 0.0)
                if m.requests or busy > 0:
                    rows.append(WorkRow(self.source, name, m.requests, m.input_tokens, m.cached_tokens,
                                        m.output_tokens, round(busy, 6), ESTIMATED if m.estimated else 0))
                if m.in_flight:
                    self.models[name] = _Model(in_flight=m.in_flight, since=now)
                else:
                    del self.models[name]
        return rows
