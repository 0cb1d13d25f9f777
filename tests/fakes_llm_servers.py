"""Fake LLM servers for the tests and benchmarks of the ollama and openai backends.

Each fake is a real HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that follows the documented
protocol, streamed with chunked transfer encoding:

- FakeOllama (docs/api.md of ollama/ollama): /api/generate and /api/chat stream NDJSON, the final
  object carrying nanosecond durations; prompt_eval_count/prompt_eval_duration are omitted when the
  whole prompt was cached; an empty prompt loads the model, and with keep_alive 0 unloads it
  (done_reason "unload"); /api/ps (size, size_vram), /api/show, /api/tags, /api/version; a missing
  model answers 404 {"error": ...}.
- FakeOpenAI: /v1/chat/completions and /v1/completions stream server-sent events `data: {...}` ending
  with `data: [DONE]`; usage arrives in a last chunk with empty choices when
  stream_options.include_usage is set; flavor "llamacpp" adds llama.cpp's `timings` and /v1/models
  `meta`, "vllm" adds `max_model_len` and /version, "openai" needs an API key.

Both are controllable while running: token rate, prefill rate, load time, output length and kind
(natural or a loop), models present, the next responses' HTTP errors (`fail_next`), connections cut
before answering (`drop_next`), and dying after N generations or mid-stream. `log` holds the
server-side truth of every generation (receipt, first token, end, in time.perf_counter seconds).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

VOCAB = ("time person year way day thing man world life hand part child eye woman place work week case "
         "point number group problem fact water room mother area money story month lot right study book "
         "job word business issue side kind head house service friend father power hour game line end "
         "member law car city name team minute idea kid body back parent face others level office door "
         "health art war history party result change morning reason research girl guy moment air teacher "
         "force education river stone light energy machine table paper model garden winter summer music "
         "letter street window market doctor answer village island bridge forest season signal").split()
LOOP = "the answer is always the same answer and ".split()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def sleep_until(t: float) -> None:
    while (left := t - time.perf_counter()) > 0:
        time.sleep(left)


def token_text(kind: str, k: int, seed: int) -> str:
    """Token k of a natural-looking (random words) or looping output."""
    if kind == "repeat":
        return " " + LOOP[k % len(LOOP)]
    word = random.Random(seed * 100_003 + k).choice(VOCAB)
    return (" " + word) + ("." if k % 11 == 10 else "")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm/1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track(self.connection, False)

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.fake._dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._dispatch(self, "POST")

    # --- writing -------------------------------------------------------------------------------
    def send_json(self, status: int, obj: Any, ctype: str = "application/json") -> None:
        data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_chunked(self, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")


class _QuietServer(ThreadingHTTPServer):
    """Connections the tests cut on purpose (a dying server) are not errors worth a traceback."""

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


class _FakeServer:
    """The HTTP plumbing and the failure controls shared by both fakes."""

    generation_paths: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[dict[str, Any]] = []     # every request: method, path, body, headers
        self.log: list[dict[str, Any]] = []          # every generation: server-side timings
        self.fail_next: list[tuple[int, Any]] = []   # (status, JSON body) for the next generations
        self.drop_next = 0                           # cut the next generation connections unanswered
        self.die_after_requests: int | None = None   # stop serving after this many generations
        self.die_mid_stream_after: int | None = None # stop serving after this many streamed tokens
        self.generations = 0
        self.dead = False
        self._conns: set[socket.socket] = set()
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._stopped = False

    def last_log(self, timeout_s: float = 2.0) -> dict[str, Any]:
        """The newest generation's server-side timings; the handler logs just after its last write,
        so the client can finish first: wait for it."""
        import time

        deadline = time.monotonic() + timeout_s
        while not self.log and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.log[-1]

    def __enter__(self) -> _FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        with self.lock:
            if self._stopped:
                return
            self._stopped = True
        self.httpd.shutdown()
        self.httpd.server_close()
        for conn in list(self._conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def die(self) -> None:
        """The server process goes away: no new connections, open ones cut."""
        self.dead = True
        self.stop()

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self.lock:
            (self._conns.add if alive else self._conns.discard)(conn)

    def _dispatch(self, h: _Handler, method: str) -> None:
        path = h.path.split("?", 1)[0]
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return h.send_json(400, {"error": "invalid JSON body"})
        with self.lock:
            self.requests.append({"method": method, "path": path, "body": body, "headers": dict(h.headers)})
        if path in self.generation_paths and self._is_generation(body):
            with self.lock:
                drop = self.drop_next > 0
                self.drop_next -= drop
                fail = self.fail_next.pop(0) if self.fail_next and not drop else None
            if drop:
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                h.connection.close()
                h.close_connection = True
                return None
            if fail:
                return h.send_json(fail[0], fail[1])
        route = getattr(self, "route_" + method.lower() + path.replace("/", "_").replace(".", "_"), None)
        if route is None:
            return h.send_json(404, "404 page not found", "text/plain")
        try:
            route(h, body)
        except OSError:       # the client went away, or we died mid-stream
            h.close_connection = True
        return None

    def _is_generation(self, body: dict[str, Any]) -> bool:
        return True

    def route_get__fake_log(self, h: _Handler, body: Any) -> None:
        """GET /_fake/log: the server-side truth, for a client in another process (benchmarks)."""
        with self.lock:
            h.send_json(200, {"log": self.log})

    def _generated(self, h: _Handler | None = None) -> None:
        """Count a finished generation (its response fully sent); die when told to. The connection of the last
        one is closed with it, so a keep-alive client cannot slip its next request in before the server is gone."""
        with self.lock:
            self.generations += 1
            due = self.die_after_requests is not None and self.generations >= self.die_after_requests
        if due:
            if h is not None:
                h.close_connection = True
            self.die()

    def _maybe_die_mid_stream(self, k: int) -> bool:
        if self.die_mid_stream_after is not None and k >= self.die_mid_stream_after:
            self.die()
            return True
        return False


# --- Ollama ------------------------------------------------------------------------------------

@dataclass
class OllamaModel:
    name: str
    size: int = 2_019_393_189                  # bytes on disk (llama3.2:3b Q4_K_M)
    family: str = "llama"
    parameter_size: str = "3.2B"
    quantization_level: str = "Q4_K_M"
    parameter_count: int = 3_212_749_888
    context_length: int = 131_072
    kv_bytes_per_token: int = 114_688
    digest: str = "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72"


def _zero(value: Any) -> bool:
    return value is not None and str(value).strip() in ("0", "0.0", "0s", "0m", "0h")


@dataclass
class _Loaded:
    num_ctx: int
    expires: float = field(default_factory=lambda: time.time() + 300)


class FakeOllama(_FakeServer):
    """A fake Ollama server (see the module docstring)."""

    generation_paths = ("/api/generate", "/api/chat")

    def __init__(self, models: tuple[str, ...] = ("llama3.2:3b",), tg_tok_s: float = 1000.0,
                 pp_tok_s: float = 20_000.0, load_s: float = 0.02, gen_len: int | None = 40,
                 text: str = "normal", vram_fraction: float = 1.0, version: str = "0.12.6",
                 cache: bool = True) -> None:
        super().__init__()
        self.models = {m: OllamaModel(m) for m in models}
        self.tg_tok_s, self.pp_tok_s, self.load_s = tg_tok_s, pp_tok_s, load_s
        self.gen_len, self.text, self.vram_fraction = gen_len, text, vram_fraction
        self.version, self.cache = version, cache
        self.loaded: dict[str, _Loaded] = {}
        self._cached: dict[str, list[str]] = {}

    def _is_generation(self, body: dict[str, Any]) -> bool:
        return bool(body.get("prompt") or body.get("messages"))

    def preload(self, name: str, num_ctx: int = 4096) -> None:
        """Have a model loaded already, as after an earlier `ollama run`."""
        with self.lock:
            self.loaded[name] = _Loaded(num_ctx)

    def _find(self, name: str | None) -> OllamaModel | None:
        if not name:
            return None
        full = name if ":" in name else f"{name}:latest"
        return self.models.get(name) or self.models.get(full)

    # --- model endpoints -----------------------------------------------------------------------
    def route_get_(self, h: _Handler, body: Any) -> None:
        h.send_json(200, "Ollama is running", "text/plain; charset=utf-8")

    def route_get_api_version(self, h: _Handler, body: Any) -> None:
        h.send_json(200, {"version": self.version})

    def _details(self, m: OllamaModel) -> dict[str, Any]:
        return {"parent_model": "", "format": "gguf", "family": m.family, "families": [m.family],
                "parameter_size": m.parameter_size, "quantization_level": m.quantization_level}

    def route_get_api_tags(self, h: _Handler, body: Any) -> None:
        h.send_json(200, {"models": [{"name": m.name, "model": m.name, "modified_at": now_iso(),
                                      "size": m.size, "digest": m.digest, "details": self._details(m)}
                                     for m in self.models.values()]})

    def route_get_api_ps(self, h: _Handler, body: Any) -> None:
        out = []
        with self.lock:
            loaded = dict(self.loaded)
        for name, state in loaded.items():
            m = self.models[name]
            size = m.size + state.num_ctx * m.kv_bytes_per_token
            out.append({"name": name, "model": name, "size": size, "digest": m.digest,
                        "details": self._details(m),
                        "expires_at": dt.datetime.fromtimestamp(state.expires, dt.UTC).isoformat(),
                        "size_vram": int(size * self.vram_fraction), "context_length": state.num_ctx})
        h.send_json(200, {"models": out})

    def route_post_api_show(self, h: _Handler, body: dict[str, Any]) -> None:
        m = self._find(body.get("model") or body.get("name"))
        if m is None:
            return h.send_json(404, {"error": f"model '{body.get('model')}' not found"})
        info = {"general.architecture": m.family, "general.parameter_count": m.parameter_count,
                "general.file_type": 15, "general.quantization_version": 2,
                f"{m.family}.context_length": m.context_length, f"{m.family}.block_count": 28}
        h.send_json(200, {"modelfile": f"FROM {m.name}\n", "parameters": 'stop "<|eot_id|>"',
                          "template": "{{ .Prompt }}", "details": self._details(m), "model_info": info,
                          "capabilities": ["completion"], "modified_at": now_iso()})
        return None

    # --- generation ----------------------------------------------------------------------------
    def route_post_api_generate(self, h: _Handler, body: dict[str, Any]) -> None:
        self._generate(h, body, chat=False)

    def route_post_api_chat(self, h: _Handler, body: dict[str, Any]) -> None:
        self._generate(h, body, chat=True)

    def _load(self, name: str, options: dict[str, Any]) -> int:
        """Load (or reload for another num_ctx); returns the load time in ns."""
        num_ctx = int(options.get("num_ctx") or 4096)
        with self.lock:
            state = self.loaded.get(name)
            ready = state is not None and state.num_ctx == num_ctx
        if ready:
            return 12_000   # a loaded model: bookkeeping only
        t0 = time.perf_counter_ns()
        time.sleep(self.load_s)
        with self.lock:
            self.loaded[name] = _Loaded(num_ctx)
        return time.perf_counter_ns() - t0

    def _message(self, chat: bool, text: str) -> dict[str, Any]:
        return {"message": {"role": "assistant", "content": text}} if chat else {"response": text}

    def _generate(self, h: _Handler, body: dict[str, Any], chat: bool) -> None:
        t_recv = time.perf_counter()
        name = body.get("model")
        m = self._find(name)
        if m is None:
            return h.send_json(404, {"error": f'model "{name}" not found, try pulling it first'})
        name = m.name
        options = body.get("options") or {}
        keep_alive = body.get("keep_alive")
        if not self._is_generation(body):
            if _zero(keep_alive):
                with self.lock:
                    self.loaded.pop(name, None)
                reason = "unload"
            else:
                self._load(name, options)
                reason = "load"
            return h.send_json(200, {"model": name, "created_at": now_iso(), **self._message(chat, ""),
                                     "done": True, "done_reason": reason})
        load_ns = self._load(name, options)
        tokens = self._prompt_tokens(body, chat)
        with self.lock:
            before = self._cached.get(name, []) if self.cache else []
        common = 0
        while common < min(len(before), len(tokens)) and before[common] == tokens[common]:
            common += 1
        processed = len(tokens) - common
        t_p0 = time.perf_counter()
        sleep_until(t_p0 + processed / self.pp_tok_s)
        prompt_ns = int((time.perf_counter() - t_p0) * 1e9)
        n, reason = self._length(options.get("num_predict"))
        self._stream(h, body, chat, name, dict(t_recv=t_recv, load_ns=load_ns, prompt_ns=prompt_ns,
                                                processed=processed, n=n, reason=reason, tokens=tokens,
                                                keep_alive=keep_alive))
        return None

    def _prompt_tokens(self, body: dict[str, Any], chat: bool) -> list[str]:
        if chat:
            out = ["<|begin_of_text|>"]
            for msg in body.get("messages") or []:
                out += [f"<|{msg.get('role')}|>", *str(msg.get("content", "")).split(), "<|eot_id|>"]
            return out + ["<|assistant|>"]
        system = str(body.get("system") or "").split()
        return ["<|begin_of_text|>", "<|user|>", *system, *str(body.get("prompt")).split(), "<|assistant|>"]

    def _length(self, limit: Any) -> tuple[int, str]:
        limit = int(limit) if limit is not None and int(limit) > 0 else None
        natural = self.gen_len if self.gen_len is not None else (None if limit else 128)
        if natural is not None and (limit is None or natural < limit):
            return natural, "stop"
        return int(limit or natural or 128), "length"

    def _stream(self, h: _Handler, body: dict[str, Any], chat: bool, name: str, s: dict[str, Any]) -> None:
        streaming = body.get("stream", True)
        if streaming:
            h.start_chunked("application/x-ndjson")
        seed = len(self.log) + 1
        pieces, first = [], None
        t_g0 = time.perf_counter()   # the first token comes with the prompt's last batch, then one per 1/tg_tok_s
        for k in range(s["n"]):
            sleep_until(t_g0 + k / self.tg_tok_s)
            if self._maybe_die_mid_stream(k):
                return
            piece = token_text(self.text, k, seed)
            pieces.append(piece)
            if streaming:
                h.chunk(json.dumps({"model": name, "created_at": now_iso(), **self._message(chat, piece),
                                    "done": False}).encode() + b"\n")
            first = first or time.perf_counter()
        eval_ns = int((time.perf_counter() - t_g0) * 1e9)   # Ollama: from the first sampled token to the last
        final = {"model": name, "created_at": now_iso(),
                 **self._message(chat, "" if streaming else "".join(pieces)),
                 "done": True, "done_reason": s["reason"], "total_duration": 0,
                 "load_duration": s["load_ns"], "prompt_eval_count": s["processed"],
                 "prompt_eval_duration": s["prompt_ns"], "eval_count": s["n"], "eval_duration": eval_ns}
        if not chat:
            final["context"] = [1, 2, 3]
        if s["processed"] == 0:   # the whole prompt came from the cache: Ollama leaves both out
            del final["prompt_eval_count"], final["prompt_eval_duration"]
        end = time.perf_counter()
        final["total_duration"] = int((end - s["t_recv"]) * 1e9)
        with self.lock:   # logged before the final answer, so a client that has it finds the log
            self._cached[name] = s["tokens"] + "".join(pieces).split()
            self.log.append({"path": h.path, "recv_s": s["t_recv"], "first_token_s": first, "end_s": end,
                             "load_s": s["load_ns"] / 1e9, "prompt_s": s["prompt_ns"] / 1e9,
                             "prompt_eval_count": s["processed"], "eval_count": s["n"],
                             "eval_s": eval_ns / 1e9, "options": body.get("options") or {}})
            if _zero(s["keep_alive"]):
                self.loaded.pop(name, None)
        if streaming:
            h.chunk(json.dumps(final).encode() + b"\n")
            h.end_chunked()
        else:
            h.send_json(200, final)
        self._generated(h)


# --- OpenAI-compatible -------------------------------------------------------------------------

class FakeOpenAI(_FakeServer):
    """A fake OpenAI-compatible server (see the module docstring)."""

    generation_paths = ("/v1/chat/completions", "/v1/completions")

    def __init__(self, models: tuple[str, ...] = ("llama-3.2-3b-instruct",), flavor: str = "llamacpp",
                 api_key: str | None = None, ttft_s: float = 0.005, tg_tok_s: float = 1000.0,
                 pp_tok_s: float | None = 50_000.0, gen_len: int | None = 40, text: str = "normal",
                 tokens_per_chunk: int = 1, usage: str = "requested") -> None:
        super().__init__()
        self.models = list(models)
        self.flavor, self.api_key = flavor, api_key
        self.ttft_s, self.tg_tok_s, self.pp_tok_s = ttft_s, tg_tok_s, pp_tok_s
        self.gen_len, self.text = gen_len, text
        self.tokens_per_chunk, self.usage = tokens_per_chunk, usage
        self.model_size_bytes = 2_019_377_376
        self._cached: list[str] = []

    def _authorized(self, h: _Handler) -> bool:
        if not self.api_key or h.headers.get("Authorization") == f"Bearer {self.api_key}":
            return True
        given = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        masked = f"{given[:3]}***{given[-4:]}" if len(given) > 8 else "***"
        h.send_json(401, {"error": {"message": f"Incorrect API key provided: {masked}.",
                                    "type": "invalid_request_error", "param": None,
                                    "code": "invalid_api_key"}})
        return False

    def _dispatch(self, h: _Handler, method: str) -> None:
        if h.path.startswith("/v1/") and not self._authorized(h):
            length = int(h.headers.get("Content-Length") or 0)
            h.rfile.read(length)
            return None
        return super()._dispatch(h, method)

    def route_get_v1_models(self, h: _Handler, body: Any) -> None:
        data = []
        for name in self.models:
            entry: dict[str, Any] = {"id": name, "object": "model", "created": 1_700_000_000,
                                     "owned_by": {"llamacpp": "llamacpp", "vllm": "vllm"}.get(self.flavor,
                                                                                              "system")}
            if self.flavor == "llamacpp":
                entry["meta"] = {"vocab_type": 2, "n_vocab": 128256, "n_ctx_train": 131072, "n_embd": 3072,
                                 "n_params": 3_212_749_888, "size": self.model_size_bytes}
            if self.flavor == "vllm":
                entry.update({"root": name, "max_model_len": 8192})
            data.append(entry)
        h.send_json(200, {"object": "list", "data": data})

    def route_get_version(self, h: _Handler, body: Any) -> None:
        if self.flavor != "vllm":
            return h.send_json(404, {"detail": "Not Found"})
        return h.send_json(200, {"version": "0.11.0"})

    def route_get_health(self, h: _Handler, body: Any) -> None:
        h.send_json(200, {"status": "ok"})

    def route_post_v1_chat_completions(self, h: _Handler, body: dict[str, Any]) -> None:
        self._complete(h, body, chat=True)

    def route_post_v1_completions(self, h: _Handler, body: dict[str, Any]) -> None:
        self._complete(h, body, chat=False)

    def _complete(self, h: _Handler, body: dict[str, Any], chat: bool) -> None:
        t_recv = time.perf_counter()
        if body.get("model") not in self.models:
            return h.send_json(404, {"error": {
                "message": f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                "type": "invalid_request_error", "param": None, "code": "model_not_found"}})
        if chat:
            words = [w for msg in body.get("messages") or [] for w in ["<msg>", *str(msg.get("content")).split()]]
        else:
            words = ["<bos>", *str(body.get("prompt")).split()]
        with self.lock:
            cached = 0
            while cached < min(len(words), len(self._cached)) and words[cached] == self._cached[cached]:
                cached += 1
            self._cached = words
        processed = len(words) - cached
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        natural = self.gen_len if self.gen_len is not None else (None if limit else 64)
        if natural is not None and (limit is None or natural < limit):
            n, reason = natural, "stop"
        else:
            n, reason = int(limit or natural), "length"
        include_usage = self.usage == "always" or (
            self.usage == "requested" and (body.get("stream_options") or {}).get("include_usage"))
        first_at = t_recv + self.ttft_s + (processed / self.pp_tok_s if self.pp_tok_s else 0.0)
        ctx = dict(t_recv=t_recv, first_at=first_at, n=n, reason=reason, prompt_tokens=len(words),
                   cached=cached, processed=processed, include_usage=include_usage,
                   model=body["model"], chat=chat)
        if not body.get("stream"):
            return self._whole(h, ctx)
        return self._sse(h, ctx)

    def _chunk(self, ctx: dict[str, Any], text: str | None, reason: str | None,
               role: bool = False) -> dict[str, Any]:
        if ctx["chat"]:
            delta = ({"role": "assistant", "content": ""} if role else
                     ({"content": text} if text is not None else {}))
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
            obj = "chat.completion.chunk"
        else:
            choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": reason}
            obj = "text_completion"
        out = {"id": "cmpl-fake", "object": obj, "created": int(time.time()), "model": ctx["model"],
               "system_fingerprint": "fp_fake", "choices": [choice]}
        if ctx["include_usage"]:
            out["usage"] = None
        return out

    def _usage(self, ctx: dict[str, Any]) -> dict[str, Any]:
        usage = {"prompt_tokens": ctx["prompt_tokens"], "completion_tokens": ctx["n"],
                 "total_tokens": ctx["prompt_tokens"] + ctx["n"]}
        if self.flavor != "llamacpp":
            usage["prompt_tokens_details"] = {"cached_tokens": ctx["cached"]}
        return usage

    def _timings(self, ctx: dict[str, Any], t_first: float, t_end: float) -> dict[str, Any]:
        """llama-server's `timings` (tools/server server_slot_stats): the first token comes from the prompt's
        last batch, so predicted_ms runs from it to the last token and the rates count n − 1 decode steps."""
        prompt_ms = (ctx["processed"] / self.pp_tok_s if self.pp_tok_s else t_first - ctx["t_recv"]) * 1000
        predicted_ms = max(1e-3, (t_end - t_first) * 1000)
        steps = max(0, ctx["n"] - 1)
        return {"cache_n": ctx["cached"], "prompt_n": ctx["processed"], "prompt_ms": prompt_ms,
                "prompt_per_token_ms": prompt_ms / max(1, ctx["processed"]),
                "prompt_per_second": ctx["processed"] / (prompt_ms / 1000) if prompt_ms else None,
                "predicted_n": ctx["n"], "predicted_ms": predicted_ms,
                "predicted_per_token_ms": predicted_ms / steps if steps else 0.0,
                "predicted_per_second": steps / (predicted_ms / 1000) if steps else 0.0}

    def _sse(self, h: _Handler, ctx: dict[str, Any]) -> None:
        send = lambda obj: h.chunk(b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode())
                                   + b"\n\n")
        h.start_chunked("text/event-stream")
        if ctx["chat"]:
            send(self._chunk(ctx, None, None, role=True))
        seed = len(self.log) + 1
        c = self.tokens_per_chunk
        t_first = None
        for start in range(0, ctx["n"], c):
            count = min(c, ctx["n"] - start)
            sleep_until(ctx["first_at"] + (start + count - 1) / self.tg_tok_s)
            if self._maybe_die_mid_stream(start):
                return
            send(self._chunk(ctx, "".join(token_text(self.text, k, seed) for k in range(start, start + count)),
                             None))
            t_first = t_first or time.perf_counter()
        t_end = time.perf_counter()
        final = self._chunk(ctx, None if ctx["chat"] else "", ctx["reason"])
        if self.flavor == "llamacpp":
            final["timings"] = self._timings(ctx, t_first or t_end, t_end)
        with self.lock:   # logged before the final chunk, so a client that has it finds the log
            self.log.append({"recv_s": ctx["t_recv"], "first_token_s": t_first, "end_s": t_end,
                             "true_ttft_s": ctx["first_at"] - ctx["t_recv"], "n": ctx["n"],
                             "prompt_tokens": ctx["prompt_tokens"], "cached": ctx["cached"],
                             "timings": final.get("timings")})
        self._finished(ctx, t_end)
        send(final)
        if ctx["include_usage"]:
            send({"id": "cmpl-fake", "object": final["object"], "created": int(time.time()),
                  "model": ctx["model"], "system_fingerprint": "fp_fake", "choices": [],
                  "usage": self._usage(ctx)})
        send(b"[DONE]")
        h.end_chunked()
        self._generated(h)

    def _finished(self, ctx: dict[str, Any], t_end: float) -> None:
        """A request's last token is out (called before its last bytes are sent, so a client holding the
        whole answer finds it counted); subclasses count here."""

    def _whole(self, h: _Handler, ctx: dict[str, Any]) -> None:
        sleep_until(ctx["first_at"] + (ctx["n"] - 1) / self.tg_tok_s)
        text = "".join(token_text(self.text, k, 0) for k in range(ctx["n"]))
        self._finished(ctx, time.perf_counter())
        choice = ({"index": 0, "message": {"role": "assistant", "content": text}} if ctx["chat"]
                  else {"index": 0, "text": text}) | {"finish_reason": ctx["reason"], "logprobs": None}
        h.send_json(200, {"id": "cmpl-fake", "object": "chat.completion" if ctx["chat"] else "text_completion",
                          "created": int(time.time()), "model": ctx["model"], "choices": [choice],
                          "usage": self._usage(ctx)})
        self._generated()


# --- test helpers ------------------------------------------------------------------------------

@dataclass
class Target:
    """A server to test against: a fake (controllable) or a real one named by the environment."""

    url: str
    model: str
    fake: Any = None
    key_env: str | None = None

    @property
    def real(self) -> bool:
        return self.fake is None


def real_ollama() -> Target | None:
    """BENCHBENCH_OLLAMA_URL (+ BENCHBENCH_OLLAMA_MODEL, default llama3.2:1b)."""
    url = os.environ.get("BENCHBENCH_OLLAMA_URL")
    return Target(url, os.environ.get("BENCHBENCH_OLLAMA_MODEL", "llama3.2:1b")) if url else None


def real_openai() -> Target | None:
    """BENCHBENCH_OPENAI_URL + BENCHBENCH_OPENAI_MODEL (+ BENCHBENCH_OPENAI_KEY_ENV)."""
    url = os.environ.get("BENCHBENCH_OPENAI_URL")
    if not url:
        return None
    return Target(url, os.environ.get("BENCHBENCH_OPENAI_MODEL", ""),
                  key_env=os.environ.get("BENCHBENCH_OPENAI_KEY_ENV") or None)


def free_port() -> int:
    """A port with nothing listening on it (for unreachable-server tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def suite_file(folder: Path, workloads: list[dict[str, Any]], name: str = "llm-servers",
               warmups: int = 0, repetitions: int = 1) -> Path:
    """Write a suite YAML (power not measured) and return its path."""
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "warmups": warmups, "repetitions": repetitions,
                                    "power": {"samplers": ["none"]}, "workloads": workloads},
                                   sort_keys=False), encoding="utf-8")
    return path


def build(folder: Path, backend: str, **params: Any) -> Any:
    """A workload instance of `backend`, validated through a real suite file."""
    from benchbench.suite import load_suite
    from benchbench.workloads import get_backend

    entry = {"name": "w", "kind": "llm", "backend": backend, **params}
    spec = load_suite(suite_file(folder, [entry])).workloads[0]
    return get_backend("llm", backend)(spec)


def iterate(workload: Any, index: int, folder: Path) -> Any:
    """One run_once at `index`."""
    from benchbench.workloads.base import IterationContext

    return workload.run_once(IterationContext(index, False, folder, f"test.it{index}"))
