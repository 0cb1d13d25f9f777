"""Is an LLM's output usable? Token-limit hits and degenerate (looping) output, per request."""

from __future__ import annotations

import re
import zlib
from typing import Any

from ..warnings_ import RunWarning

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


def fixed_length(options: dict[str, Any] | None, max_tokens: int | None) -> bool:
    """Whether the request asks for exactly max_tokens: `ignore_eos: true` (vLLM, llama.cpp's server,
    SGLang) or `min_tokens` at least max_tokens (vLLM)."""
    opts = options or {}
    min_tokens = opts.get("min_tokens")
    return bool(opts.get("ignore_eos")) or (isinstance(min_tokens, int) and max_tokens is not None
                                           and min_tokens >= max_tokens)


def output_warnings(text: str, done_reason: str | None, max_tokens: int | None,
                    fixed: bool = False) -> list[RunWarning]:
    """hit_token_limit (not when a fixed length was asked for) and degenerate_output for one request."""
    out = []
    if done_reason == "length" and not fixed:
        out.append(RunWarning("hit_token_limit",
                              f"generation stopped at the token limit ({max_tokens}): expected for a "
                              "fixed-length run; otherwise raise max_tokens to see whether the model rambles"))
    problem = degenerate(text)
    if problem:
        out.append(RunWarning("degenerate_output", problem))
    return out
