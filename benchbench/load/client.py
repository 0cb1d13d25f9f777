"""The load client's HTTP: aiohttp (vLLM's and AIPerf's client) on one ClientSession and one TCPConnector pool
per load point, keep-alive connections as many as requests in flight.

A streamed body is read with `iter_any()` (whatever bytes have arrived, no per-line coroutine) and each
read is timestamped as it returns (time.monotonic(), the power samples' clock); the bytes are cut into
lines here (SSE and NDJSON are both line-based) and each line goes to the request's sink with the time
of the read that completed it. Measured against the project's own protocol-level client (docs/load.md,
benchmarks/load_client.py --client), aiohttp costs about the same CPU per chunk.

Failures become HTTPFailure with one line saying what happened. A request whose kept-alive connection
the server had closed before answering (llama-server closes idle ones after 5 s) is sent once more on a
new connection; nothing else is retried under load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Sink = Callable[[bytes, float], None]
ERROR_BODY_LIMIT = 65536
CONNECT_TIMEOUT_S = 10.0


class HTTPFailure(Exception):
    """The request could not be completed (refused, cut, timed out, malformed response)."""


@dataclass
class Response:
    status: int
    body: bytes = b""               # kept only for error statuses (the server's message)
    first_byte_s: float = 0.0       # monotonic time the response headers were in
    end_s: float = 0.0              # monotonic time the response was complete


class Pool:
    """One aiohttp session (and its connection pool) to one server for one load point."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout_s: float = 600.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path.rstrip("/")
        self.headers = {"User-Agent": "benchbench-load", "Accept": "*/*", **(headers or {})}
        self.timeout_s = timeout_s
        self.opened = 0
        self._session: Any = None

    def path(self, path: str) -> str:
        """`path` under the URL's own path (http://h:8080/v1 + chat/completions → /v1/chat/completions)."""
        return f"{self.base_path}/{path.lstrip('/')}"

    def _open(self) -> Any:
        import aiohttp

        if self._session is None:
            trace = aiohttp.TraceConfig()
            trace.on_connection_create_end.append(self._counted)
            timeout = aiohttp.ClientTimeout(total=self.timeout_s, sock_connect=min(CONNECT_TIMEOUT_S, self.timeout_s),
                                            sock_read=self.timeout_s)
            self._session = aiohttp.ClientSession(
                self.origin, headers=self.headers, timeout=timeout, trace_configs=[trace], auto_decompress=False,
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None), skip_auto_headers=("Accept-Encoding",))
        return self._session

    async def _counted(self, *_: Any) -> None:
        self.opened += 1

    async def warm(self, n: int, path: str | None = None) -> None:
        """Open up to n keep-alive connections ahead with GETs of a cheap `path` (so the first requests do not
        pay for the connect); a server that refuses fails each request on its own later."""
        if not path or n <= 0:
            return
        session = self._open()

        async def one() -> None:
            async with session.get(path) as r:
                await r.read()
        results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
        if results and all(isinstance(r, BaseException) for r in results):
            raise HTTPFailure(self._reason(results[0]))

    async def request(self, method: str, path: str, body: bytes | None, sink: Sink,
                      headers: dict[str, str] | None = None) -> Response:
        """Send one request, feed its body lines to `sink(line, t)`; the Response when complete."""
        import aiohttp

        session = self._open()
        for attempt in range(2):
            answered = False
            try:
                async with session.request(method, path, data=body, headers=headers) as r:
                    answered = True
                    return await self._read(r, sink)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                if attempt == 0 and not answered and isinstance(exc, aiohttp.ServerDisconnectedError):
                    continue        # a kept-alive connection the server had just closed: try a new one
                raise HTTPFailure(self._reason(exc, answered)) from None
        raise AssertionError("unreachable")

    @staticmethod
    async def _read(r: Any, sink: Sink) -> Response:
        response = Response(r.status, first_byte_s=time.monotonic())
        if r.status >= 400:
            response.body = (await r.content.read(ERROR_BODY_LIMIT))
            response.end_s = time.monotonic()
            return response
        rest = b""
        now = response.first_byte_s
        async for data in r.content.iter_any():
            now = time.monotonic()
            lines = (rest + data).split(b"\n") if rest else data.split(b"\n")
            rest = lines.pop()
            for line in lines:
                sink(line.rstrip(b"\r"), now)
        if rest:
            sink(rest.rstrip(b"\r"), now)
        response.end_s = time.monotonic()
        return response

    def _reason(self, exc: BaseException, answered: bool = False) -> str:
        import aiohttp

        if isinstance(exc, TimeoutError):
            return f"no answer in time (timeout_s={self.timeout_s:g} s; raise timeout_s)"
        if isinstance(exc, aiohttp.ClientConnectorError):
            return f"cannot connect to {self.origin} ({exc.os_error.strerror or exc.os_error})"
        if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
            return "connection closed mid-response" if answered else "connection closed before the response"
        return f"{type(exc).__name__}: {exc}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
