"""The load client's connection pool on aiohttp (vLLM's and AIPerf's client), for the comparison in
benchmarks/load_client.py (`--client aiohttp`): the same interface as benchbench/load/http.py's Pool, one
ClientSession and one TCPConnector pool per load point, keep-alive connections as many as requests in flight.

A streamed body is read with `iter_any()` (whatever bytes have arrived) and each read is timestamped as it
returns; the bytes are cut into lines here and each line goes to the request's sink with the time of the read
that completed it. No sock_read timeout (aiohttp would re-arm a timer on every chunk); one total timeout per
request. Measured against benchbench's own client in docs/load.md ("The client is not the bottleneck"): about
the same CPU per chunk, but each read reaches the coroutine one event-loop pass after its bytes arrived (and a
request takes longer to leave), so under 256 streams its p99 TTFT error was about 5x the own client's;
benchbench keeps its own client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from benchbench.load.http import HTTPFailure

Sink = Callable[[bytes, float], None]
ERROR_BODY_LIMIT = 65536
CONNECT_TIMEOUT_S = 10.0


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
            # one timer per request (total); no sock_read: aiohttp would re-arm a timer on every chunk received
            timeout = aiohttp.ClientTimeout(total=self.timeout_s, sock_connect=min(CONNECT_TIMEOUT_S, self.timeout_s),
                                            sock_read=None)
            self._session = aiohttp.ClientSession(
                self.origin, headers=self.headers, timeout=timeout, trace_configs=[trace], auto_decompress=False,
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None), skip_auto_headers=("Accept-Encoding",))
        return self._session

    async def _counted(self, *_: Any) -> None:
        self.opened += 1

    async def warm(self, n: int) -> None:
        """Open up to n keep-alive connections ahead with GETs of `<base>/models` (an OpenAI-compatible server's
        cheapest page; aiohttp opens connections only for requests)."""
        if n <= 0:
            return
        session = self._open()
        path = self.path("models")

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
