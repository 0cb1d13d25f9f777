"""Request bodies and stream parsing for the load client: OpenAI-compatible SSE and Ollama NDJSON.

A `Stream` collects, for one request, the arrival time of every chunk that carries a token (content,
reasoning or completion text, even an empty string, as vLLM counts them), the usage the server
reports, its own timings (llama.cpp's `timings`, Ollama's nanosecond durations) and how the stream
ended. Timing definitions follow vLLM: TTFT is the first token chunk, E2E ends at the last one,
TPOT = (E2E − TTFT) / (output tokens − 1), ITL is the gap between consecutive chunks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .prompts import Prompt


@dataclass
class Stream:
    """What one streamed response told us."""

    times: list[float] = field(default_factory=list)   # monotonic arrival of each token chunk
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None               # llama.cpp `timings`
    final: dict[str, Any] | None = None                 # Ollama's last object
    finish_reason: str | None = None
    done: bool = False
    error: str | None = None
    model: str | None = None


class Api:
    """One wire protocol: where to POST, what to send, how to read the stream."""

    name = "api"
    path = ""

    def __init__(self, model: str, params: dict[str, Any]) -> None:
        self.model = model
        self.params = params
        self.options = dict(params.get("options") or {})

    def body(self, prompt: Prompt) -> bytes:
        raise NotImplementedError

    def line(self, s: Stream, line: bytes, t: float) -> None:
        raise NotImplementedError

    def messages(self, prompt: Prompt) -> list[dict[str, str]]:
        if prompt.messages is not None:
            return prompt.messages
        system = self.params.get("system")
        return ([{"role": "system", "content": system}] if system else []) + \
            [{"role": "user", "content": str(prompt.text)}]

    def usage(self, s: Stream) -> dict[str, Any]:
        """input / cached / output tokens and the server's own timings, from the stream's last objects."""
        raise NotImplementedError


class OpenAIApi(Api):
    """/v1/chat/completions or /v1/completions, `stream: true`, usage requested."""

    name = "openai"

    def __init__(self, model: str, params: dict[str, Any]) -> None:
        super().__init__(model, params)
        self.chat = params.get("api", "chat") == "chat"
        self.path = "chat/completions" if self.chat else "completions"

    def body(self, prompt: Prompt) -> bytes:
        body: dict[str, Any] = {"model": self.model, "stream": True}
        if "max_completion_tokens" not in self.options:
            body["max_tokens"] = prompt.max_tokens
        if self.params.get("include_usage", True):
            body["stream_options"] = {"include_usage": True}
        if self.chat:
            body["messages"] = self.messages(prompt)
        else:
            body["prompt"] = prompt.as_text()
        return json.dumps({**body, **self.options}).encode()

    def line(self, s: Stream, line: bytes, t: float) -> None:
        if not line.startswith(b"data:"):
            return                       # blank separators, comments, event:/id: fields
        if _plain_token(line):
            s.times.append(t)            # most chunks: one token, nothing else to read (no JSON parse)
            return
        data = line[5:].strip()
        if data == b"[DONE]":
            s.done = True
            return
        try:
            event = json.loads(data)
        except ValueError:
            s.error = f"an event that is not JSON: {data[:80]!r}"
            return
        if event.get("error"):
            err = event["error"]
            s.error = "error mid-stream: " + str(err.get("message") if isinstance(err, dict) else err)[:300]
            return
        if event.get("usage"):
            s.usage = event["usage"]
        if event.get("timings"):
            s.timings = event["timings"]
        s.model = s.model or event.get("model")
        for choice in event.get("choices") or ():
            delta = choice.get("delta") or {}
            pieces = [delta.get(k) for k in ("content", "reasoning_content", "reasoning")] + [choice.get("text")]
            text = "".join(p for p in pieces if isinstance(p, str))
            # a token chunk: it carries output (even an empty string: a special token, a partial UTF-8
            # character), as vLLM counts it; not the role-only opening (content null) nor the finish chunk
            if any(p is not None for p in pieces) and (text or not choice.get("finish_reason")):
                s.times.append(t)
            if choice.get("finish_reason"):
                s.finish_reason = choice["finish_reason"]

    def usage(self, s: Stream) -> dict[str, Any]:
        u, tm = s.usage or {}, s.timings or {}
        cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens")
        if cached is None:
            cached = tm.get("cache_n")
        out: dict[str, Any] = {"input_tokens": u.get("prompt_tokens"), "output_tokens": u.get("completion_tokens"),
                               "cached_tokens": cached}
        if tm:
            pn, pms, gn, gms = (tm.get(k) for k in ("prompt_n", "prompt_ms", "predicted_n", "predicted_ms"))
            out["server_prompt_tokens"] = pn
            out["server_prompt_s"] = pms / 1000 if isinstance(pms, (int, float)) else None
            out["server_output_tokens"] = gn
            out["server_gen_s"] = gms / 1000 if isinstance(gms, (int, float)) else None
            if out["input_tokens"] is None and pn is not None:
                out["input_tokens"] = pn + (cached or 0)
        return out

    def ended(self, s: Stream) -> bool:
        return s.done or s.finish_reason is not None


_FINISH_NULL = (b'"finish_reason":null', b'"finish_reason": null')
_NEEDS_PARSE = (b'"usage":{', b'"usage": {', b'"timings"', b'"error"', b'"role"', b'"content":null',
                b'"content": null', b'"text":null', b'"text": null')


def _plain_token(line: bytes) -> bool:
    """An ordinary token chunk: not finished, no usage, timings, error or role opening; with one choice
    carrying content or text. Anything else is parsed in full."""
    if not (_FINISH_NULL[0] in line or _FINISH_NULL[1] in line):
        return False
    if any(marker in line for marker in _NEEDS_PARSE) or line.count(b'"index"') != 1:
        return False
    return b'"content"' in line or b'"text"' in line or b'"reasoning' in line


class OllamaApi(Api):
    """Ollama's /api/generate or /api/chat, NDJSON, the final object carrying counts and durations."""

    name = "ollama"

    def __init__(self, model: str, params: dict[str, Any]) -> None:
        super().__init__(model, params)
        self.chat = params.get("api", "generate") == "chat"
        self.path = "/api/chat" if self.chat else "/api/generate"

    def body(self, prompt: Prompt) -> bytes:
        body: dict[str, Any] = {"model": self.model, "stream": True,
                                "options": {**self.options, "num_predict": prompt.max_tokens}}
        for key in ("keep_alive", "think"):
            if self.params.get(key) is not None:
                body[key] = self.params[key]
        if self.chat:
            body["messages"] = self.messages(prompt)
        else:
            body["prompt"] = prompt.as_text()
            if self.params.get("system"):
                body["system"] = self.params["system"]
        return json.dumps(body).encode()

    def line(self, s: Stream, line: bytes, t: float) -> None:
        if not line.strip():
            return
        try:
            obj = json.loads(line)
        except ValueError:
            s.error = f"a line that is not JSON: {line[:80]!r}"
            return
        if obj.get("error"):
            s.error = "error mid-stream: " + str(obj["error"])[:300]
            return
        if not obj.get("done"):        # every streamed object before the final one is a token
            s.times.append(t)
        if obj.get("done"):
            s.done, s.final = True, obj
            s.finish_reason = obj.get("done_reason")

    def usage(self, s: Stream) -> dict[str, Any]:
        f = s.final or {}
        ns = lambda v: v / 1e9 if isinstance(v, (int, float)) else None
        return {"input_tokens": f.get("prompt_eval_count"), "output_tokens": f.get("eval_count"),
                "cached_tokens": None, "server_prompt_tokens": f.get("prompt_eval_count"),
                "server_prompt_s": ns(f.get("prompt_eval_duration")), "server_output_tokens": f.get("eval_count"),
                "server_gen_s": ns(f.get("eval_duration"))}

    def ended(self, s: Stream) -> bool:
        return s.done
