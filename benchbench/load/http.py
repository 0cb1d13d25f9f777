"""A small asyncio HTTP/1.1 client for streamed responses under load: one keep-alive pool per server.

Why not a library (docs/load.md, "Why not aiohttp"): measured on this project's 2-core machine against a
fake server streaming one token per chunk, httpx.AsyncClient spent 56-133 µs of CPU per streamed chunk and,
at 64 concurrent streams, added 240 ms to the median time to first token (a known limit of its connection
pool, encode/httpx#3215). aiohttp (benchmarks/aiohttp_pool.py) costs about the same CPU as this client, but a
read reaches the coroutine one event-loop pass after its bytes arrived: at 256 streams and 22,000 tok/s its
p99 TTFT error was a median 22 ms over 17 runs against 4.5 ms here (larger in 14 of 17 back-to-back pairs),
and its requests reached the server 16-20 ms later at the median.
This protocol-level client timestamps every chunk in `data_received`, when its bytes arrive, without a
coroutine switch per chunk. httpx stays the client for everything that is not a load test.

Scope: POST/GET with a body of known length; responses framed by chunked transfer encoding,
Content-Length or connection close; the body handed over line by line (SSE and NDJSON are both
line-based) with the arrival time of the read that completed the line (time.monotonic, the clock
of the power samples). http and https (the standard library's ssl).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Sink = Callable[[bytes, float], None]
ERROR_BODY_LIMIT = 65536


class HTTPFailure(Exception):
    """The request could not be completed (refused, cut, timed out, malformed response)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""               # kept only for error statuses (the server's message)
    first_byte_s: float = 0.0       # monotonic time of the first response byte
    end_s: float = 0.0              # monotonic time the response was complete


@dataclass
class _Parse:
    state: str = "head"             # head → size | data | length | close → trailer → done
    buf: bytes = b""
    line: bytes = b""
    left: int = 0
    response: Response | None = None
    keep_alive: bool = True
    error_body: list[bytes] = field(default_factory=list)


class _Conn(asyncio.Protocol):
    """One connection; one request at a time."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: Any = None
        self.future: asyncio.Future[Response] | None = None
        self.sink: Sink | None = None
        self.p = _Parse()
        self.last_s = 0.0
        self.started_s = 0.0
        self.closed = False
        self.got_bytes = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def send(self, data: bytes, sink: Sink) -> asyncio.Future[Response]:
        self.future = asyncio.get_running_loop().create_future()
        self.sink, self.p, self.got_bytes = sink, _Parse(), False
        self.started_s = self.last_s = time.monotonic()
        self.transport.write(data)
        return self.future

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.last_s = now
        if self.future is None or self.future.done():
            return
        if not self.got_bytes:
            self.got_bytes = True
        try:
            self._feed(self.p.buf + data if self.p.buf else data, now)
        except HTTPFailure as exc:
            self.fail(exc)
        except Exception as exc:  # noqa: BLE001 - a sink's error ends this request only
            self.fail(exc)

    def _feed(self, buf: bytes, now: float) -> None:
        p = self.p
        while buf:
            if p.state == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > 65536:
                        raise HTTPFailure("response headers too long")
                    break
                self._head(buf[:end], now)
                buf = buf[end + 4:]
            elif p.state == "size":
                end = buf.find(b"\r\n")
                if end < 0:
                    break
                try:
                    p.left = int(buf[:end].split(b";", 1)[0], 16)
                except ValueError:
                    raise HTTPFailure(f"bad chunk size {buf[:end][:20]!r}") from None
                buf = buf[end + 2:]
                p.state = "data" if p.left else "trailer"
            elif p.state == "data":
                if len(buf) < p.left + 2:
                    if len(buf) > p.left:           # the chunk is here, its CRLF not yet
                        self._body(buf[:p.left], now)
                        buf, p.left = buf[p.left:], 0
                        break
                    self._body(buf, now)
                    p.left -= len(buf)
                    buf = b""
                    break
                self._body(buf[:p.left], now)
                buf = buf[p.left + 2:]
                p.state = "size"
            elif p.state == "length":
                take = buf[:p.left]
                self._body(take, now)
                p.left -= len(take)
                buf = buf[len(take):]
                if p.left == 0:
                    self._done(now)
                    buf = b""
            elif p.state == "close":
                self._body(buf, now)
                buf = b""
            elif p.state == "trailer":
                end = buf.find(b"\r\n")
                if end < 0:
                    break
                trailer, buf = buf[:end], buf[end + 2:]
                if not trailer:
                    self._done(now)
                    buf = b""
            else:
                buf = b""
        p.buf = buf

    def _head(self, head: bytes, now: float) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise HTTPFailure(f"not an HTTP response: {lines[0][:60]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        p = self.p
        p.response = Response(int(parts[1]), headers, first_byte_s=now)
        p.keep_alive = headers.get("connection", "").lower() != "close" and parts[0] != "HTTP/1.0"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            p.state = "size"
        elif "content-length" in headers:
            p.left = int(headers["content-length"])
            p.state = "length"
            if p.left == 0:
                self._done(now)
        else:
            p.state, p.keep_alive = "close", False

    def _body(self, data: bytes, now: float) -> None:
        p = self.p
        assert p.response is not None
        if p.response.status >= 400:
            if sum(map(len, p.error_body)) < ERROR_BODY_LIMIT:
                p.error_body.append(data)
            return
        line = p.line + data if p.line else data
        start = 0
        sink = self.sink
        while True:
            end = line.find(b"\n", start)
            if end < 0:
                break
            if sink is not None:
                sink(line[start:end].rstrip(b"\r"), now)
            start = end + 1
        p.line = line[start:]

    def _done(self, now: float) -> None:
        p = self.p
        assert p.response is not None
        if p.line and self.sink is not None and p.response.status < 400:
            self.sink(p.line.rstrip(b"\r"), now)
            p.line = b""
        p.state = "done"
        p.response.end_s = now
        p.response.body = b"".join(p.error_body)
        future, self.future = self.future, None
        if not p.keep_alive:
            self.close()
        else:
            self.pool._release(self)
        if future is not None and not future.done():
            future.set_result(p.response)

    def fail(self, exc: BaseException) -> None:
        future, self.future = self.future, None
        self.close()
        if future is not None and not future.done():
            future.set_exception(exc if isinstance(exc, HTTPFailure) else HTTPFailure(f"{type(exc).__name__}: {exc}"))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool._forget(self)
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        was_closed = self.closed
        self.closed = True
        self.pool._forget(self)
        if self.future is None or self.future.done():
            return
        if self.p.state == "close":
            self._done(time.monotonic())
        elif not was_closed:
            reason = f": {exc}" if exc else ""
            self.fail(HTTPFailure(("connection closed before the response" if not self.got_bytes
                                   else "connection closed mid-response") + reason))

    def eof_received(self) -> bool:
        return False


class Pool:
    """Keep-alive connections to one server (as many as requests in flight); a watchdog fails a
    request that receives nothing for `timeout_s` or runs longer than `timeout_s` in all."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout_s: float = 600.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.base_path = parts.path.rstrip("/")
        host_header = self.host if parts.port is None else f"{self.host}:{self.port}"
        self.headers = {"Host": host_header, "User-Agent": "benchbench-load", "Accept": "*/*", **(headers or {})}
        self.timeout_s = timeout_s
        self.idle: list[_Conn] = []
        self.busy: set[_Conn] = set()
        self.opened = 0
        self._watchdog: asyncio.Task[None] | None = None

    def path(self, path: str) -> str:
        """`path` under the URL's own path (http://h:8080/v1 + chat/completions → /v1/chat/completions)."""
        return f"{self.base_path}/{path.lstrip('/')}"

    def _encode(self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1"]
        for name, value in {**self.headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

    async def request(self, method: str, path: str, body: bytes | None, sink: Sink,
                      headers: dict[str, str] | None = None) -> Response:
        """Send one request, feed its body lines to `sink(line, t)`; the Response when complete."""
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        data = self._encode(method, path, body, headers)
        for attempt in range(2):
            conn, reused = await self._acquire(fresh=attempt > 0)
            try:
                return await conn.send(data, sink)
            except HTTPFailure:
                # a kept-alive connection the server had just closed (llama-server closes idle ones after
                # 5 s, and each streamed one after its response): nothing was answered, try a new one
                if reused and not conn.got_bytes and attempt == 0:
                    continue
                raise
            except asyncio.CancelledError:
                conn.close()
                raise
        raise AssertionError("unreachable")

    async def warm(self, n: int) -> None:
        """Open up to n idle connections ahead (so the first requests do not pay for the connect)."""
        async def one() -> None:
            conn, _ = await self._acquire(fresh=True)
            self._release(conn)
        results = await asyncio.gather(*(one() for _ in range(max(0, n - len(self.idle)))), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed and len(failed) == len(results):
            raise failed[0]

    async def _acquire(self, fresh: bool = False) -> tuple[_Conn, bool]:
        while self.idle and not fresh:
            conn = self.idle.pop()
            if not conn.closed:
                self.busy.add(conn)
                return conn, True
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(lambda: _Conn(self), self.host, self.port, ssl=self.ssl,
                                                   server_hostname=self.host if self.ssl else None)
        except OSError as exc:
            raise HTTPFailure(f"cannot connect to {self.host}:{self.port} ({exc.strerror or exc})") from None
        self.opened += 1
        self.busy.add(conn)
        return conn, False

    def _release(self, conn: _Conn) -> None:
        self.busy.discard(conn)
        if not conn.closed:
            self.idle.append(conn)

    def _forget(self, conn: _Conn) -> None:
        self.busy.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.timeout_s / 4))
            now = time.monotonic()
            for conn in list(self.busy):
                if conn.future is None:
                    continue
                if now - conn.last_s > self.timeout_s:
                    conn.fail(HTTPFailure(f"no answer for {self.timeout_s:g} s (raise timeout_s)"))
                elif now - conn.started_s > self.timeout_s:
                    conn.fail(HTTPFailure(f"request took longer than timeout_s={self.timeout_s:g} s"))

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for conn in list(self.idle) + list(self.busy):
            conn.close()
        self.idle.clear()
        self.busy.clear()
        await asyncio.sleep(0)
