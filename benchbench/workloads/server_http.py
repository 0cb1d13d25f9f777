"""Talking to LLM servers over HTTP: URLs, the servers' error messages, retries after connection errors, the
client-side stream clock and transport-error translation. httpx is imported inside functions only."""

from __future__ import annotations

import json
import os
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ServerError

DEFAULT_OLLAMA = "http://localhost:11434"
DEFAULT_TIMEOUT_S = 600.0
DOCTOR_TIMEOUT_S = 2.0


class RetryableError(ServerError):
    """A connection refused or cut: worth another try after a pause."""


def ollama_url(host: str | None = None) -> str:
    """`host:`, else OLLAMA_HOST, else http://localhost:11434; a bare host gets port 11434."""
    raw = (host or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA).strip().rstrip("/")
    if "://" not in raw:
        if raw.startswith(":"):
            raw = "127.0.0.1" + raw
        parts = urlsplit("http://" + raw)
        netloc = parts.netloc if parts.port else f"{parts.hostname or '127.0.0.1'}:11434"
        return urlunsplit(("http", netloc, parts.path, "", ""))
    return raw


def public_url(url: str) -> str:
    """The URL without credentials, query or fragment (safe to record)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def error_text(body: str | bytes | None) -> str:
    """The server's own message from an error body (Ollama, OpenAI, vLLM and FastAPI shapes)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    body = (body or "").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return one_line(body) or "no message"
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("msg") or json.dumps(value)
            if value:
                return one_line(str(value))
    return one_line(body)


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def scrub(text: str, secret: str | None) -> str:
    """Remove a secret (an API key) from a message."""
    return text.replace(secret, "***") if secret else text


def with_retries(call: Callable[[], Any], retries: int, backoff_s: float) -> tuple[Any, int]:
    """call() with up to `retries` more tries after RetryableError, backing off 1x, 2x, 4x...
    Returns (result, retries used); the last error says how many tries were made."""
    for attempt in range(retries + 1):
        try:
            return call(), attempt
        except RetryableError as exc:
            if attempt >= retries:
                tries = f" (after {retries} retr{'y' if retries == 1 else 'ies'})" if retries else ""
                raise ServerError(f"{exc}{tries}") from None
            time.sleep(backoff_s * 2 ** attempt)
    raise AssertionError("unreachable")


def retried_request(call: Callable[[], dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """One streamed request with the workload's `retries`/`retry_backoff_s`; the count lands in its metrics."""
    result, retries = with_retries(call, int(params["retries"]), float(params["retry_backoff_s"]))
    result["metrics"]["retries"] = retries
    return result


class StreamingRequests:
    """Mixin for server backends: `_request` = one streamed request through the backend's own
    `_errors()` translation and `_stream()`, retried as the workload's settings say."""

    @property
    def nonce(self) -> str:
        """A random value of this run, in every prompt prefix (no other run's cache can serve them)."""
        if getattr(self, "_nonce", None) is None:
            self._nonce = secrets.token_hex(4)
        return self._nonce

    def _request(self, j: int, prompt: str, stop: threading.Event) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            with self._errors():  # type: ignore[attr-defined]
                return self._stream(self.clients[j], prompt, stop)  # type: ignore[attr-defined]
        return retried_request(attempt, self.params)  # type: ignore[attr-defined]


class StreamClock:
    """Client-side stream timing: request sent, each chunk that carries text, end of stream."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.start_s = self.end_s = 0.0
        self.text_times: list[float] = []

    def start(self) -> None:
        self.start_s = time.perf_counter()
        self.text_times = []

    def chunk(self, has_text: bool) -> None:
        now = time.perf_counter()
        if has_text:
            self.text_times.append(now)
        if now - self.start_s > self.timeout_s:
            raise ServerError(f"request took longer than timeout_s={self.timeout_s:g} s")

    def stop(self) -> None:
        self.end_s = time.perf_counter()

    @property
    def ttft_s(self) -> float | None:
        return self.text_times[0] - self.start_s if self.text_times else None

    @property
    def e2e_s(self) -> float:
        return self.end_s - self.start_s

    def itl_stats(self) -> dict[str, float | None]:
        """Inter-token (inter-chunk) latencies: mean, median, p99, max."""
        gaps = [b - a for a, b in zip(self.text_times, self.text_times[1:])]
        if not gaps:
            return {"itl_mean_s": None, "itl_median_s": None, "itl_p99_s": None, "itl_max_s": None}
        p99 = statistics.quantiles(gaps, n=100, method="inclusive")[98] if len(gaps) > 1 else gaps[0]
        return {"itl_mean_s": statistics.fmean(gaps), "itl_median_s": statistics.median(gaps),
                "itl_p99_s": p99, "itl_max_s": max(gaps)}


def http_timeout(timeout_s: float) -> Any:
    """httpx timeout: `timeout_s` between bytes, at most 10 s to connect."""
    import httpx

    return httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))


def stream_cut(url: str, chunks: int, how: str) -> str:
    """The message for a stream that stopped after delivering `chunks` pieces of text."""
    return (f"the stream from {url} was cut after {chunks} chunk{'s' if chunks != 1 else ''} of text ({how}): "
            "the server closed the connection mid-generation (did it crash or restart?); not retried")


def mark_chunks(exc: BaseException, chunks: int) -> None:
    """Note on an exception raised mid-stream how much text had arrived (transport_errors reads it)."""
    try:
        exc.benchbench_chunks = chunks  # type: ignore[attr-defined]
    except AttributeError:
        pass


@contextmanager
def transport_errors(url: str, start_hint: str) -> Iterator[None]:
    """httpx transport errors → RetryableError (refused, cut before any text) or ServerError (timeout, a
    stream cut after it delivered text: a crash or restart to report, not to retry)."""
    import httpx

    try:
        yield
    except (httpx.ConnectError, ConnectionError):   # the ollama client turns ConnectError into the builtin
        raise RetryableError(f"cannot reach the server at {url} ({start_hint})") from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        received = getattr(exc, "benchbench_chunks", 0)
        if received:
            raise ServerError(stream_cut(url, received, f"{type(exc).__name__}: {one_line(str(exc), 120)}")) \
                from None
        raise RetryableError(f"the connection to {url} was lost mid-request "
                             f"({type(exc).__name__}: {one_line(str(exc), 120)})") from None
    except httpx.TimeoutException as exc:
        raise ServerError(f"no answer from {url} in time ({type(exc).__name__}; raise timeout_s)") from None
