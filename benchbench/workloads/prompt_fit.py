"""Synthetic prompts of exactly `prompt_tokens` as the server counts them (its usage.prompt_tokens: the
chat template, special tokens and benchbench's varying first words included).

Plain words are not one token each in every tokenizer (a small vocabulary splits them), and the chat
template adds tokens: a real llama-server counted 187 tokens for `prompt_tokens: 128`. Where the server
can count tokens without generating (llama.cpp's /apply-template + /tokenize, vLLM's /tokenize), the
prompt is built word by word to the exact count (a binary search, then single-token fillers).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from .llm_common import WORDS, run_prefix

FILLERS = (".", " a", ",", " I", " -")
Counter = Callable[[str], int]


def token_counter(client: Any, base_url: str, model: str, api: str, system: str | None) -> tuple[Counter | None, str]:
    """(count(prompt) → tokens of the whole request, which server API counts), or (None, "none")."""
    root = re.sub(r"/v1/?$", "", base_url.rstrip("/"))

    def messages(text: str) -> list[dict[str, str]]:
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]

    def llamacpp(text: str) -> int:
        if api == "chat":
            r = client.post(f"{root}/apply-template", json={"messages": messages(text)}, timeout=30.0)
            r.raise_for_status()
            text = r.json()["prompt"]
        r = client.post(f"{root}/tokenize", json={"content": text, "add_special": True, "parse_special": True},
                        timeout=30.0)
        r.raise_for_status()
        return len(r.json()["tokens"])

    def vllm(text: str) -> int:
        body: dict[str, Any] = {"model": model}
        body.update({"messages": messages(text), "add_generation_prompt": True} if api == "chat" else
                    {"prompt": text, "add_special_tokens": True})
        r = client.post(f"{root}/tokenize", json=body, timeout=30.0)
        r.raise_for_status()
        data = r.json()
        return int(data["count"]) if "count" in data else len(data["tokens"])

    for name, fn in (("llama.cpp /apply-template + /tokenize", llamacpp), ("vLLM /tokenize", vllm)):
        try:
            if fn("hello") > 0:
                return fn, name
        except Exception:  # noqa: BLE001 - not this server's API
            continue
    return None, "none"


def fit_prompt(count: Counter, n: int, params: dict[str, Any], index: int, vary: bool,
               nonce: str | None = None) -> tuple[str, int]:
    """The iteration's prompt (its varying first words, with the run's `nonce`, then plain words) with
    count() == n where the tokenizer allows it; returns (prompt, tokens as counted)."""
    head = run_prefix(index, nonce) if vary else ""
    rng = random.Random(int(params.get("seed") or 0))
    words = [rng.choice(WORDS) for _ in range(max(1, n))]

    def text(k: int) -> str:
        return head + " ".join(words[:k])

    lo, hi = 0, len(words)
    while lo < hi:                                   # the most words that stay within n tokens
        mid = (lo + hi + 1) // 2
        if count(text(mid)) <= n:
            lo = mid
        else:
            hi = mid - 1
    prompt = text(lo)
    got = count(prompt)
    tries = 0
    while got < n and tries < 4 * (n - got) + len(FILLERS):
        for filler in FILLERS:
            tries += 1
            c = count(prompt + filler)
            if got < c <= n:
                prompt, got = prompt + filler, c
                break
        else:
            break
    return prompt, got
