"""A fake LLM server with a stated batching law, for the load tests and the load-client benchmark.

An asyncio HTTP/1.1 server (keep-alive, chunked streaming) in its own process, speaking OpenAI SSE
(/v1/chat/completions, /v1/completions, with llama.cpp's `timings` and usage), Ollama NDJSON
(/api/generate, /api/chat, and the calls the ollama client makes in set-up), llama.cpp's /tokenize and
/detokenize (one token per whitespace-separated word), and Prometheus /metrics.

The law (`Law`):
- `slots` requests are served at once; later ones wait in a FIFO queue (TTFT rises with queueing);
- an admitted request's first token comes `ttft0_s + prompt_tokens / pp_tok_s` after admission;
- each next token follows the previous one by step(b) = step0_s + step_per_seq_s · b, where b is the
  number of admitted requests when the previous token was sent (per-stream speed falls with
  concurrency); token times are scheduled from the previous *scheduled* time, so timer jitter does
  not accumulate;
- a request generates min(max_tokens, gen_len) tokens (gen_len None: max_tokens), `tokens_per_chunk`
  tokens per SSE chunk.
`Law.closed_loop(n, prompt_tokens, output_tokens)` gives what a closed loop of n users must measure.
The server logs each generation (receipt, admission, first and last token, all time.monotonic()).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


@dataclass
class Law:
    slots: int = 8
    ttft0_s: float = 0.05
    pp_tok_s: float = 20_000.0
    step0_s: float = 0.010
    step_per_seq_s: float = 0.002
    gen_len: int | None = None
    tokens_per_chunk: int = 1

    def step(self, b: int) -> float:
        return self.step0_s + self.step_per_seq_s * b

    def prefill(self, prompt_tokens: int) -> float:
        return self.ttft0_s + prompt_tokens / self.pp_tok_s

    def closed_loop(self, n: int, prompt_tokens: int, output_tokens: int) -> dict[str, float]:
        """Steady-state truth for n users (n ≤ slots: nobody queues): per request TTFT, TPOT, E2E;
        request and output token throughput."""
        if n > self.slots:
            raise ValueError("the closed-loop law here assumes n <= slots")
        ttft = self.prefill(prompt_tokens)
        tpot = self.step(n)
        e2e = ttft + (output_tokens - 1) * tpot
        return {"ttft_s": ttft, "tpot_s": tpot, "e2e_s": e2e, "req_s": n / e2e, "output_tok_s": n * output_tokens / e2e}


@dataclass
class _Stream:
    """One generation in progress: its next token is due at `due` (scheduled, not actual, times)."""

    w: asyncio.StreamWriter
    ollama: bool
    chat: bool
    body: dict[str, Any]
    n: int
    due: float
    done: asyncio.Future[None]
    k: int = 0
    first: float | None = None
    last: float | None = None
    cancelled: bool = False


class _Server:
    def __init__(self, law: Law, model: str) -> None:
        self.law, self.model = law, model
        self.active = 0
        self.queue: deque[asyncio.Future[None]] = deque()
        self.log: list[dict[str, Any]] = []
        self.counters = {"prompt_tokens": 0, "predicted": 0, "requests": 0}
        self.fail_next: list[int] = []
        self.heap: list[tuple[float, int, _Stream]] = []
        self._seq = 0
        self._ticker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    # --- admission -----------------------------------------------------------------------------
    async def admit(self) -> None:
        if self.active < self.law.slots and not self.queue:
            self.active += 1
            return
        fut = asyncio.get_running_loop().create_future()
        self.queue.append(fut)
        await fut            # the slot was handed over by release()

    def release(self) -> None:
        while self.queue:
            fut = self.queue.popleft()
            if not fut.done():
                fut.set_result(None)   # the slot passes on: active stays the same
                return
        self.active -= 1

    # --- HTTP ----------------------------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                t_recv = time.monotonic()
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                raw = await reader.readexactly(length) if length else b""
                body = json.loads(raw) if raw else {}
                await self.route(method, path.split("?")[0], body, writer, t_recv)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def send_json(self, w: asyncio.StreamWriter, status: int, obj: Any, ctype: str = "application/json") -> None:
        data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        w.write(b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                % (status, ctype.encode(), len(data), data))

    async def route(self, method: str, path: str, body: dict[str, Any], w: asyncio.StreamWriter,
                    t_recv: float) -> None:
        if path in ("/v1/chat/completions", "/v1/completions", "/api/generate", "/api/chat"):
            if path.startswith("/api/") and not (body.get("prompt") or body.get("messages")):
                return self.send_json(w, 200, {"model": body.get("model"), "done": True, "done_reason": "load",
                                               "response": ""})
            if self.fail_next:
                return self.send_json(w, self.fail_next.pop(0), {"error": {"message": "fake failure"}})
            return await self.generate(path, body, w, t_recv)
        handler = getattr(self, "get_" + path.strip("/").replace("/", "_").replace(".", "_"), None)
        if handler is None:
            return self.send_json(w, 404, {"error": "not found"})
        await w.drain()
        return handler(body, w)

    # --- generation ----------------------------------------------------------------------------
    async def generate(self, path: str, body: dict[str, Any], w: asyncio.StreamWriter, t_recv: float) -> None:
        loop = asyncio.get_running_loop()
        ollama = path.startswith("/api/")
        chat = path.endswith("chat") or path.endswith("chat/completions")
        prompt_tokens = count_prompt(body, chat)
        limit = (body.get("options") or {}).get("num_predict") if ollama else \
            body.get("max_completion_tokens") or body.get("max_tokens")
        n = int(limit or 16) if self.law.gen_len is None else min(int(limit or self.law.gen_len), self.law.gen_len)
        finish = "length" if limit and n == int(limit) else "stop"
        await self.admit()
        t_adm = loop.time()
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                % (b"application/x-ndjson" if ollama else b"text/event-stream"))
        st = _Stream(w, ollama, chat, body, n, t_adm + self.law.prefill(prompt_tokens), loop.create_future())
        self._schedule(st)
        try:
            await st.done
        finally:
            st.cancelled = True
            self.release()       # the slot frees when the last token is out (not when the client has read it)
        first, last = st.first, st.last
        w.write(_chunk(self._final(ollama, chat, body, n, prompt_tokens, finish, t_adm, first, last)))
        if not ollama:
            w.write(_chunk(b"data: [DONE]\n\n"))
        w.write(b"0\r\n\r\n")
        await w.drain()
        self.counters["prompt_tokens"] += prompt_tokens
        self.counters["predicted"] += n
        self.counters["requests"] += 1
        self.log.append({"recv_s": t_recv, "admitted_s": t_adm, "first_s": first, "last_s": last, "n": n,
                         "prompt_tokens": prompt_tokens, "tag": prompt_tag(body)})

    # --- one scheduler for every stream's tokens (cheap: no task switch per token) ---------------
    def _schedule(self, st: _Stream) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (st.due, self._seq, st))
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        elif st.due < self.heap[0][0] + 1e-9 or len(self.heap) == 1:
            self._wake.set()

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while self.heap:
            delay = self.heap[0][0] - loop.time()
            if delay > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    pass
                continue
            now = loop.time()
            while self.heap and self.heap[0][0] <= now:
                _, _, st = heapq.heappop(self.heap)
                if not st.cancelled:
                    self._emit(st, now)

    def _emit(self, st: _Stream, now: float) -> None:
        c = min(self.law.tokens_per_chunk, st.n - st.k)
        text = "".join(" " + WORDS[(st.k + j) % len(WORDS)] for j in range(c))
        try:
            st.w.write(_chunk(self._piece(st.ollama, st.chat, st.body, text)))
        except (ConnectionError, RuntimeError):
            st.cancelled = True
            if not st.done.done():
                st.done.set_exception(ConnectionError("client went away"))
            return
        st.k += c
        st.last = now
        st.first = st.first or now
        if st.k >= st.n:
            if not st.done.done():
                st.done.set_result(None)
            return
        step = self.law.step(self.active)
        st.due += step * min(self.law.tokens_per_chunk, st.n - st.k)
        self._seq += 1
        heapq.heappush(self.heap, (st.due, self._seq, st))

    def _piece(self, ollama: bool, chat: bool, body: dict[str, Any], text: str) -> bytes:
        if ollama:
            obj = {"model": body.get("model"), "done": False, **({"message": {"role": "assistant", "content": text}}
                                                                   if chat else {"response": text})}
            return json.dumps(obj).encode() + b"\n"
        choice = {"index": 0, "delta": {"content": text}, "finish_reason": None} if chat else \
            {"index": 0, "text": text, "finish_reason": None}
        obj = {"id": "cmpl-law", "object": "chat.completion.chunk", "created": 1, "model": body.get("model"),
               "choices": [choice]}
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    def _final(self, ollama: bool, chat: bool, body: dict[str, Any], n: int, prompt_tokens: int, finish: str,
               t_adm: float, first: float | None, last: float | None) -> bytes:
        prompt_s = (first or t_adm) - t_adm
        gen_s = (last or 0) - (first or 0)
        if ollama:
            obj = {"model": body.get("model"), "done": True, "done_reason": finish, "prompt_eval_count": prompt_tokens,
                   "prompt_eval_duration": int(prompt_s * 1e9), "eval_count": n, "eval_duration": int(gen_s * 1e9),
                   **({"message": {"role": "assistant", "content": ""}} if chat else {"response": ""})}
            return json.dumps(obj).encode() + b"\n"
        choice = {"index": 0, "delta": {}, "finish_reason": finish} if chat else \
            {"index": 0, "text": "", "finish_reason": finish}
        obj = {"id": "cmpl-law", "object": "chat.completion.chunk", "created": 1, "model": body.get("model"),
               "choices": [choice], "timings": {"cache_n": 0, "prompt_n": prompt_tokens, "prompt_ms": prompt_s * 1000,
                                                "predicted_n": n, "predicted_ms": gen_s * 1000}}
        out = b"data: " + json.dumps(obj).encode() + b"\n\n"
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n}
            out += b"data: " + json.dumps({"id": "cmpl-law", "choices": [], "usage": usage}).encode() + b"\n\n"
        return out

    # --- other endpoints -----------------------------------------------------------------------
    def get_v1_models(self, body: Any, w: asyncio.StreamWriter) -> None:
        self.send_json(w, 200, {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "law"}]})

    def get_tokenize(self, body: Any, w: asyncio.StreamWriter) -> None:
        words = str(body.get("content", body.get("prompt", ""))).split()
        self.send_json(w, 200, {"tokens": [_word_id(x) for x in words]})

    def get_detokenize(self, body: Any, w: asyncio.StreamWriter) -> None:
        self.send_json(w, 200, {"content": " ".join(_ID_WORD.get(i, f"w{i}") for i in body.get("tokens") or [])})

    def get_metrics(self, body: Any, w: asyncio.StreamWriter) -> None:
        c = self.counters
        text = ("# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n"
                "# TYPE llamacpp:prompt_tokens_total counter\n"
                f"llamacpp:prompt_tokens_total {c['prompt_tokens']}\n"
                "# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.\n"
                "# TYPE llamacpp:tokens_predicted_total counter\n"
                f"llamacpp:tokens_predicted_total {c['predicted']}\n"
                "# HELP llamacpp:requests_processing Number of requests processing.\n"
                "# TYPE llamacpp:requests_processing gauge\n"
                f"llamacpp:requests_processing {self.active}\n")
        self.send_json(w, 200, text, "text/plain; version=0.0.4")

    def get__fake_log(self, body: Any, w: asyncio.StreamWriter) -> None:
        self.send_json(w, 200, {"log": self.log, "law": asdict(self.law)})

    def get__fake_fail(self, body: Any, w: asyncio.StreamWriter) -> None:
        self.fail_next.extend(body.get("statuses") or [])
        self.send_json(w, 200, {"ok": True})

    def get_api_version(self, body: Any, w: asyncio.StreamWriter) -> None:
        self.send_json(w, 200, {"version": "0.12.6"})

    def get_api_show(self, body: Any, w: asyncio.StreamWriter) -> None:
        self.send_json(w, 200, {"details": {"family": "llama", "parameter_size": "1B", "quantization_level": "Q4_K_M",
                                            "format": "gguf"}, "model_info": {"general.architecture": "llama"}})

    def get_api_tags(self, body: Any, w: asyncio.StreamWriter) -> None:
        self.send_json(w, 200, {"models": [{"name": self.model, "model": self.model, "size": 10**9,
                                            "digest": "0" * 64, "modified_at": "2025-01-01T00:00:00Z",
                                            "details": {"family": "llama"}}]})

    def get_api_ps(self, body: Any, w: asyncio.StreamWriter) -> None:
        self.send_json(w, 200, {"models": [{"name": self.model, "model": self.model, "size": 10**9,
                                            "size_vram": 10**9, "context_length": 4096, "digest": "0" * 64,
                                            "expires_at": "2099-01-01T00:00:00Z"}]})


_ID_WORD: dict[int, str] = {}


def _word_id(word: str) -> int:
    i = abs(hash(word)) % 1_000_000
    _ID_WORD[i] = word
    return i


def count_prompt(body: dict[str, Any], chat: bool) -> int:
    """Prompt tokens as this fake counts them: words of every message (chat) or of the prompt."""
    if chat:
        return sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or [])
    return len(str(body.get("prompt", "")).split())


def prompt_tag(body: dict[str, Any]) -> str:
    """The first 24 characters of the prompt (benchbench's `[nonce-index]` prefix)."""
    messages = body.get("messages")
    text = messages[0].get("content", "") if messages else body.get("prompt", "")
    return str(text)[:24]


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _serve(law: Law, model: str, port: int) -> None:
    server = _Server(law, model)
    srv = await asyncio.start_server(server.handle, "127.0.0.1", port, backlog=4096, limit=2**20)
    print(f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}", flush=True)
    async with srv:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)   # until stdin closes


class LawServer:
    """The fake in a child process: `with LawServer(Law(...)) as s: s.url, s.log()`."""

    def __init__(self, law: Law, model: str = "law-model") -> None:
        self.law, self.model = law, model
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> LawServer:
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen([sys.executable, __file__, json.dumps(asdict(self.law)), self.model],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            raise RuntimeError("the law server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def log(self) -> list[dict[str, Any]]:
        return self._post("/_fake/log", {})["log"]

    def fail_next(self, *statuses: int) -> None:
        self._post("/_fake/fail", {"statuses": list(statuses)})


if __name__ == "__main__":
    law = Law(**json.loads(sys.argv[1]))
    asyncio.run(_serve(law, sys.argv[2] if len(sys.argv) > 2 else "law-model", 0))
