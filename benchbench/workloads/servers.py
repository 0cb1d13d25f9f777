"""Shared by the LLM server backends (ollama, openai): suite keys, URLs, HTTP error messages, retries,
stream timing, degenerate-output detection, concurrent requests, and `benchbench doctor`'s server section.

httpx (a dependency of the ollama client) is imported inside functions only.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ServerError
from ..schema import Field, non_negative, positive
from .base import RunWarning

DEFAULT_OLLAMA = "http://localhost:11434"
DEFAULT_TIMEOUT_S = 600.0
DOCTOR_TIMEOUT_S = 2.0

SERVER_KEYS: dict[str, Field] = {
    "concurrency": Field((int,), default=1, check=positive, doc="requests in flight per iteration"),
    "retries": Field((int,), default=2, check=non_negative, doc="retries after a connection error"),
    "retry_backoff_s": Field((float,), default=0.5, check=non_negative),
    "vary_prompt": Field((bool,), default=True, doc="vary the first words so no cache is reused"),
    "system": Field((str,), doc="a system prompt"),
}


class RetryableError(ServerError):
    """A connection refused or cut: worth another try after a pause."""


# --- URLs and messages -------------------------------------------------------------------------

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


# --- retries and timing ------------------------------------------------------------------------

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
    """httpx transport errors → RetryableError (refused, cut) or ServerError (timeout)."""
    import httpx

    try:
        yield
    except (httpx.ConnectError, ConnectionError):   # the ollama client turns ConnectError into the builtin
        raise RetryableError(f"cannot reach the server at {url} ({start_hint})") from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        received = getattr(exc, "benchbench_chunks", 0)
        if received:   # a stream cut after it delivered text: a crash or restart to report, not to retry
            raise ServerError(stream_cut(url, received, f"{type(exc).__name__}: {one_line(str(exc), 120)}")) \
                from None
        raise RetryableError(f"the connection to {url} was lost mid-request "
                             f"({type(exc).__name__}: {one_line(str(exc), 120)})") from None
    except httpx.TimeoutException as exc:
        raise ServerError(f"no answer from {url} in time ({type(exc).__name__}; raise timeout_s)") from None


# --- output checks -----------------------------------------------------------------------------

DEGENERATE_MIN_CHARS = 200
REPEAT_SHARE_LIMIT = 0.5      # natural prose: < 0.06 of its word 4-grams repeat (measured on the seeds)
COMPRESSION_LIMIT = 5.0       # natural prose: zlib ratio 1.3-2.5 from 300 to 32,000 characters


def repetition(text: str) -> tuple[float, float]:
    """(share of word 4-grams that repeat an earlier one, zlib compression ratio)."""
    words = re.findall(r"\w+", text.lower())
    grams = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    share = 1 - len(set(grams)) / len(grams) if grams else 0.0
    data = text.encode("utf-8")
    ratio = len(data) / len(zlib.compress(data, 9)) if data else 0.0
    return share, ratio


def degenerate(text: str) -> str | None:
    """A message when the output repeats itself (a loop), else None. Short outputs are not judged."""
    if len(text) < DEGENERATE_MIN_CHARS:
        return None
    share, ratio = repetition(text)
    if share > REPEAT_SHARE_LIMIT or ratio > COMPRESSION_LIMIT:
        return (f"the output repeats itself ({share:.0%} of its 4-word sequences are repeats, "
                f"it compresses {ratio:.1f}x): a loop, not a usable answer; its tok/s flatters the model")
    return None


def output_warnings(text: str, done_reason: str | None, max_tokens: int | None,
                    fixed_length: bool = False) -> list[RunWarning]:
    """hit_token_limit (not for a deliberately fixed-length run) and degenerate_output for one request."""
    out = []
    if done_reason == "length" and not fixed_length:
        out.append(RunWarning("hit_token_limit",
                              f"generation stopped at the token limit ({max_tokens}): expected for a "
                              "fixed-length run; otherwise raise max_tokens to see whether the model rambles"))
    problem = degenerate(text)
    if problem:
        out.append(RunWarning("degenerate_output", problem))
    return out


# --- concurrency -------------------------------------------------------------------------------

def run_parallel(fn: Callable[[int, threading.Event], Any], n: int) -> list[Any]:
    """fn(j, stop) for j in range(n), all started together; results or the exceptions raised.
    With n == 1 it runs in this thread and exceptions propagate (so Ctrl-C stays prompt)."""
    stop = threading.Event()
    if n == 1:
        return [fn(0, stop)]
    barrier = threading.Barrier(n)

    def task(j: int) -> Any:
        barrier.wait()
        return fn(j, stop)

    pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="benchbench-request")
    futures = [pool.submit(task, j) for j in range(n)]
    try:
        wait_futures(futures)
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [f.exception() or f.result() for f in futures]


def fan_out(params: dict[str, Any], index: int,
            request: Callable[[int, str, threading.Event], dict[str, Any]],
            prompt: Callable[[int], str] | None = None) -> tuple[list[dict[str, Any]], dict]:
    """One iteration's `concurrency` requests (each with its own prompt: `prompt(i)`, else the suite's),
    started together. Returns the per-request results and their aggregate metrics; any failure raises
    ServerError."""
    from .llm_common import prompt_text

    n = int(params["concurrency"])
    vary = bool(params["vary_prompt"])
    prompt = prompt or (lambda i: prompt_text(params, i, vary))
    prompts = [prompt(index * n + j) for j in range(n)]
    results = run_parallel(lambda j, stop: request(j, prompts[j], stop), n)
    check_failures(results)
    return results, aggregate(results)


def check_failures(results: list[Any]) -> None:
    """Raise one ServerError when any request of the iteration failed."""
    failed = [r for r in results if isinstance(r, BaseException)]
    if not failed:
        return
    first = failed[0]
    message = str(first) if isinstance(first, ServerError) else f"{type(first).__name__}: {first}"
    if len(results) > 1:
        message = f"{len(failed)} of {len(results)} requests failed: {message}"
    raise ServerError(message)


def aggregate(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Iteration metrics from per-request ones: each metric's mean over the requests (so one and N
    requests give the same keys), plus concurrency, window_s and agg_output_tok_s."""
    metrics: dict[str, Any] = {}
    for key in dict.fromkeys(k for r in requests for k in r["metrics"]):
        values = [r["metrics"].get(key) for r in requests]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            metrics[key] = numbers[0] if len(requests) == 1 else statistics.fmean(numbers)
        else:
            known = [v for v in values if v is not None]
            metrics[key] = Counter(map(str, known)).most_common(1)[0][0] if known else None
    start = min(r["start_s"] for r in requests)
    end = max(r["end_s"] for r in requests)
    total = sum(r["metrics"].get("gen_tokens") or 0 for r in requests)
    metrics.update({"concurrency": len(requests), "window_s": end - start,
                    "agg_output_tok_s": total / (end - start) if end > start and total else None})
    return metrics


def merge_warnings(per_request: list[list[RunWarning]]) -> list[RunWarning]:
    """One warning per code for the iteration, saying how many requests it concerns."""
    by_code: dict[str, list[RunWarning]] = {}
    for warnings in per_request:
        for w in warnings:
            by_code.setdefault(w.code, []).append(w)
    out = []
    n = len(per_request)
    for code, ws in by_code.items():
        prefix = f"{len(ws)} of {n} requests: " if n > 1 else ""
        out.append(RunWarning(code, prefix + ws[0].message))
    return out


# --- model names -------------------------------------------------------------------------------

def same_ollama_model(a: str | None, b: str | None) -> bool:
    """llama3.2 and llama3.2:latest name the same Ollama model."""
    if not a or not b:
        return False
    full = lambda s: s if ":" in s.rsplit("/", 1)[-1] else f"{s}:latest"
    return full(a) == full(b)


# --- benchbench doctor -------------------------------------------------------------------------

class ServerStatus(dict):
    """One server's check: a dict for --json, one readable line for the text report."""

    def __str__(self) -> str:
        head = f"{self['kind']:6} {self['url']}: "
        if not self.get("reachable"):
            return head + f"unreachable ({self.get('error')})"
        parts = ["reachable"]
        if self.get("version"):
            parts.append(f"version {self['version']}")
        loaded = self.get("loaded") or []
        if self["kind"] == "ollama":
            parts.append("loaded: " + (", ".join(_loaded_text(m) for m in loaded) or "none"))
        elif self.get("models") is not None:
            parts.append(f"{len(self['models'])} model(s) served")
        for model in self.get("missing") or []:
            parts.append(f"missing {model} ({self['fix'][model]})")
        if self.get("note"):
            parts.append(self["note"])
        return head + "; ".join(parts)


def _loaded_text(m: dict[str, Any]) -> str:
    frac = m.get("gpu_fraction")
    where = "?" if frac is None else ("CPU" if frac == 0 else f"{frac:.0%} GPU")
    return f"{m['name']} ({where}, {m.get('size_bytes', 0) / 1e9:.1f} GB)"


def doctor_section(suite_ref: str | None = None) -> dict[str, Any]:
    """`servers`: reachability, version and loaded models of the default Ollama host and of every
    server a suite uses (short timeouts, checked in parallel)."""
    targets: dict[tuple[str, str], dict[str, Any]] = {}
    if not suite_ref:   # with a suite: only the servers it uses
        targets[("ollama", ollama_url())] = {"models": set()}
    else:
        from ..commands.run import find_suite
        from ..suite import load_suite

        for spec in load_suite(find_suite(suite_ref)).workloads:
            if spec.backend == "ollama":
                key = ("ollama", ollama_url(spec.params.get("host")))
            elif spec.backend == "openai":
                key = ("openai", str(spec.params["base_url"]).rstrip("/"))
            else:
                continue
            entry = targets.setdefault(key, {"models": set()})
            entry["models"].add(spec.params.get("model"))
            entry["key_env"] = entry.get("key_env") or spec.params.get("api_key_env")
    if not targets:
        return {"servers": []}
    with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
        checks = [pool.submit(_check_ollama if kind == "ollama" else _check_openai, url, info)
                  for (kind, url), info in targets.items()]
    return {"servers": [c.result() for c in checks]}


def _check_ollama(url: str, info: dict[str, Any]) -> ServerStatus:
    import httpx

    out = ServerStatus(kind="ollama", url=url, reachable=False)
    try:
        with httpx.Client(base_url=url, timeout=DOCTOR_TIMEOUT_S) as client:
            out["version"] = client.get("/api/version").json().get("version")
            out["reachable"] = True
            out["loaded"] = [{"name": m.get("name") or m.get("model"), "size_bytes": m.get("size"),
                              "size_vram_bytes": m.get("size_vram"),
                              "gpu_fraction": gpu_fraction(m.get("size"), m.get("size_vram"))}
                             for m in client.get("/api/ps").json().get("models") or []]
            have = [m.get("name") or m.get("model") for m in client.get("/api/tags").json().get("models") or []]
    except (httpx.HTTPError, ValueError) as exc:
        if not out["reachable"]:
            out["error"] = f"{type(exc).__name__}; start it with `ollama serve` or set OLLAMA_HOST"
        else:
            out["note"] = f"partial answer: {one_line(str(exc), 100)}"
        return out
    wanted = sorted(m for m in info["models"] if m)
    out["missing"] = [m for m in wanted if not any(same_ollama_model(m, h) for h in have)]
    out["fix"] = {m: f"ollama pull {m}" for m in out["missing"]}
    return out


def _check_openai(url: str, info: dict[str, Any]) -> ServerStatus:
    import httpx

    out = ServerStatus(kind="openai", url=public_url(url), reachable=False)
    key_env = info.get("key_env")
    key = os.environ.get(key_env) if key_env else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(timeout=DOCTOR_TIMEOUT_S, headers=headers) as client:
            r = client.get(url.rstrip("/") + "/models")
    except httpx.HTTPError as exc:
        out["error"] = scrub(f"{type(exc).__name__}; start the server or check base_url", key)
        return out
    out["reachable"] = True
    if key_env and not key:
        out["note"] = f"environment variable {key_env} is not set"
    if r.status_code >= 400:
        out["note"] = scrub(f"GET /models: HTTP {r.status_code}: {error_text(r.content)}", key)
        return out
    try:
        out["models"] = [m.get("id") for m in r.json().get("data") or []]
    except ValueError:
        return out
    out["missing"] = sorted(m for m in info["models"] if m and m not in out["models"])
    out["fix"] = {m: "not served here; check `model` or load it in the server" for m in out["missing"]}
    return out


def gpu_fraction(size: Any, size_vram: Any) -> float | None:
    """size_vram / size from Ollama's /api/ps; None when unknown."""
    if not isinstance(size, (int, float)) or not isinstance(size_vram, (int, float)) or size <= 0:
        return None
    return min(1.0, size_vram / size)
