"""Shared by the LLM server backends (ollama, openai): their suite keys and Ollama model names; the rest lives by
concern (server_http.py: URLs, errors, retries, stream timing; output_checks.py: degenerate output;
concurrency.py: concurrent requests; server_doctor.py: `benchbench doctor`) and is re-exported here."""

from __future__ import annotations

from typing import Any

from ..schema import Field, non_negative, positive
from .concurrency import aggregate, check_failures, fan_out, merge_warnings, run_parallel
from .output_checks import (
    COMPRESSION_LIMIT,
    DEGENERATE_MIN_CHARS,
    REPEAT_SHARE_LIMIT,
    degenerate,
    fixed_length,
    output_warnings,
    repetition,
)
from .server_http import (
    DEFAULT_OLLAMA,
    DEFAULT_TIMEOUT_S,
    DOCTOR_TIMEOUT_S,
    RetryableError,
    StreamClock,
    StreamingRequests,
    error_text,
    http_timeout,
    mark_chunks,
    ollama_url,
    one_line,
    public_url,
    retried_request,
    scrub,
    stream_cut,
    transport_errors,
    with_retries,
)

__all__ = ["COMPRESSION_LIMIT", "DEFAULT_OLLAMA", "DEFAULT_TIMEOUT_S", "DEGENERATE_MIN_CHARS", "DOCTOR_TIMEOUT_S",
           "REPEAT_SHARE_LIMIT", "RetryableError", "SERVER_KEYS", "StreamClock", "StreamingRequests", "aggregate",
           "check_failures", "degenerate", "error_text", "fan_out", "fixed_length", "gpu_fraction", "http_timeout",
           "mark_chunks", "merge_warnings", "ollama_url", "one_line", "output_warnings", "public_url", "repetition",
           "retried_request", "run_parallel", "same_ollama_model", "scrub", "stream_cut", "transport_errors",
           "with_retries"]

SERVER_KEYS: dict[str, Field] = {
    "concurrency": Field((int,), default=1, check=positive, doc="requests in flight per iteration"),
    "retries": Field((int,), default=2, check=non_negative, doc="retries after a connection error"),
    "retry_backoff_s": Field((float,), default=0.5, check=non_negative),
    "vary_prompt": Field((bool,), default=True, doc="vary the first words so no cache is reused"),
    "system": Field((str,), doc="a system prompt"),
}


def same_ollama_model(a: str | None, b: str | None) -> bool:
    """llama3.2 and llama3.2:latest name the same Ollama model."""
    if not a or not b:
        return False
    full = lambda s: s if ":" in s.rsplit("/", 1)[-1] else f"{s}:latest"
    return full(a) == full(b)


def gpu_fraction(size: Any, size_vram: Any) -> float | None:
    """size_vram / size from Ollama's /api/ps; None when unknown."""
    if not isinstance(size, (int, float)) or not isinstance(size_vram, (int, float)) or size <= 0:
        return None
    return min(1.0, size_vram / size)
