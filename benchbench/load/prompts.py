"""Prompts of a load test: from token-length distributions, a JSONL file, or a shipped prompt set.

Every prompt starts with a prefix unique to its run and request (12 digits drawn from a per-run random
value and the request index, then the index), so no server can answer it from a prompt cache filled by
an earlier run or request. The prefix is digits of fixed width, so its token count stays the same.

Lengths are drawn per request from a RNG seeded by (seed, request index): the same suite asks for the
same shapes in every run, in any order. With a server tokenizer (`/tokenize` + `/detokenize` on
llama.cpp and vLLM) a prompt of length L has exactly L tokens of its own (prefix included, before the
chat template); without one, plain words of about one token each. The server's own count is recorded
either way.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..workloads.llm_common import DEFAULT_PROMPT, WORDS
from .config import Dist, LoadConfig, dist_of
from .prompt_files import read_jsonl

SETS_DIR = Path(__file__).resolve().parent / "prompt_sets"


@dataclass
class Prompt:
    """One request's input: `text` (to put in a user message or a completion prompt) or chat
    `messages`; the max_tokens to ask for; the prompt length asked for, when one was."""

    index: int
    text: str | None
    messages: list[dict[str, str]] | None
    max_tokens: int
    input_tokens_asked: int | None = None

    def as_text(self) -> str:
        """The prompt as one text (chat messages joined by blank lines) for completion APIs."""
        if self.text is not None:
            return self.text
        return "\n\n".join(m["content"] for m in self.messages or [])


def new_nonce() -> str:
    """8 random digits: the run's part of every prompt prefix (recorded in the run's facts)."""
    return f"{secrets.randbelow(10**8):08d}"


def prefix(nonce: str, index: int) -> str:
    """`<12 digits> <index>:` and a newline: the digits are drawn from (run nonce, index), so two prompts share at most
    their first digits' token (a prompt cache keyed on the first tokens finds nothing to reuse), and
    their fixed width keeps the prefix's token count constant."""
    digits = random.Random(f"{nonce}-{index}").randrange(10**12)
    return f"{digits:012d} {index:06d}:\n"


def set_path(name: str) -> Path:
    """The JSONL file of a shipped prompt set."""
    return SETS_DIR / f"{name}.jsonl"


# --- lengths ----------------------------------------------------------------------------------

def sample_length(dist: Dist, rng: random.Random) -> int:
    """One draw, at least 1 (normal and lognormal clamped to min/max when given). Lognormal's
    mean and sd are those of the lengths themselves, not of their logarithm."""
    if dist.dist == "fixed":
        value = float(dist.value or 1)
    elif dist.dist == "uniform":
        value = rng.randint(int(dist.low or 1), int(dist.high or 1))
    elif dist.dist == "normal":
        value = rng.gauss(float(dist.mean or 1), float(dist.sd or 0))
    else:
        mean, sd = float(dist.mean or 1), float(dist.sd or 0)
        sigma2 = math.log(1 + (sd / mean) ** 2)
        value = rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))
    if dist.low is not None:
        value = max(value, dist.low)
    if dist.high is not None:
        value = min(value, dist.high)
    return max(1, int(round(value)))


class Tokenizer:
    """A server's tokenizer: `encode(text) -> ids`, `decode(ids) -> text` (HTTP calls)."""

    def __init__(self, encode: Callable[[str], list[int]], decode: Callable[[list[int]], str]) -> None:
        self.encode, self.decode = encode, decode


class PromptSource:
    """The prompt of request i of a run, built on demand and cached per length."""

    def __init__(self, params: dict[str, Any], cfg: LoadConfig, nonce: str | None = None,
                 tokenizer: Tokenizer | None = None) -> None:
        self.nonce = nonce or new_nonce()
        self.tokenizer = tokenizer
        self.seed = cfg.seed
        lengths = params.get("prompt_lengths") or {}
        self.seed = int(lengths.get("seed", cfg.seed))
        self.output = dist_of(lengths.get("output"), int(params.get("max_tokens") or 128))
        self.entries: list[dict[str, Any]] | None = None
        self.input: Dist | None = None
        self.text: str | None = None
        if params.get("prompts_file") or params.get("prompt_set"):
            self.entries = read_jsonl(params.get("prompts_file") or set_path(params["prompt_set"]))
        elif lengths.get("input") is not None or params.get("prompt_tokens"):
            self.input = dist_of(lengths.get("input"), params.get("prompt_tokens"))
        elif params.get("prompt_file"):
            self.text = Path(params["prompt_file"]).read_text(encoding="utf-8")
        else:
            self.text = params.get("prompt") or DEFAULT_PROMPT
        self._fillers: dict[int, str] = {}
        self._heads: dict[int, int] = {}
        self.exact = tokenizer is not None and self.input is not None

    def describe(self) -> dict[str, Any]:
        """What the record says about the prompts."""
        kind = "file" if self.entries is not None else "lengths" if self.input else "text"
        out: dict[str, Any] = {"source": kind, "nonce": self.nonce, "output_tokens": self.output.describe()
                               if self.output else None}
        if self.input:
            out.update(input_tokens=self.input.describe(), exact_lengths=self.exact,
                       length_basis="server tokenizer" if self.exact else "words (about 1 token each)")
        if self.entries is not None:
            out["prompts"] = len(self.entries)
        return out

    def length(self, position: int) -> tuple[int | None, int]:
        """(prompt tokens asked, max_tokens) of the request at `position` in its load point: drawn from
        a RNG seeded by (seed, position), so every repetition asks for the same shapes."""
        rng = random.Random(self.seed * 1_000_003 + position)
        max_tokens = sample_length(self.output, rng) if self.output else 128
        n = sample_length(self.input, rng) if self.input is not None else None
        return n, max_tokens

    def ready(self, index: int, position: int) -> bool:
        """True when building this prompt needs no call to the server's tokenizer."""
        if not self.exact:
            return True
        n = self.length(position)[0]
        return index in self._heads and (n is None or max(1, n - self._heads[index]) in self._fillers)

    def warm(self, first: int, count: int) -> None:
        """Build the exact-length prompts of requests first … first + count − 1 now (before the clock)."""
        if self.exact:
            for position in range(count):
                self.prompt(first + position, position)

    def prompt(self, index: int, position: int | None = None) -> Prompt:
        """The prompt of request `index` (unique in the run: its prefix) at `position` in its point."""
        n, max_tokens = self.length(index if position is None else position)
        head = prefix(self.nonce, index)
        if self.entries is not None:
            entry = self.entries[(index if position is None else position) % len(self.entries)]
            max_tokens = entry["max_tokens"] or max_tokens
            if entry["messages"]:
                messages = [dict(m) for m in entry["messages"]]
                messages[0]["content"] = head + messages[0]["content"]
                return Prompt(index, None, messages, max_tokens)
            return Prompt(index, head + entry["prompt"], None, max_tokens)
        if n is not None:
            if self.exact:   # exactly n tokens: the prefix's own count, then a filler of the rest
                return Prompt(index, head + self.filler(max(1, n - self._head_tokens(index, head))), None,
                              max_tokens, n)
            return Prompt(index, head + self.filler(max(1, n - 8)), None, max_tokens, n)
        return Prompt(index, head + str(self.text), None, max_tokens)

    def _head_tokens(self, index: int, head: str) -> int:
        if index not in self._heads:
            assert self.tokenizer is not None
            self._heads[index] = len(self.tokenizer.encode(head))
        return self._heads[index]

    def filler(self, n: int) -> str:
        """Text of n tokens (exactly, with a tokenizer: it starts a line, so the prefix's newline keeps
        the two from merging at the boundary)."""
        if n not in self._fillers:
            self._fillers[n] = self._exact(n) if self.exact else _words(n, n)
        return self._fillers[n]

    def _exact(self, n: int) -> str:
        assert self.tokenizer is not None
        ids = self.tokenizer.encode(_words(n + 16, n))
        want = n
        text = self.tokenizer.decode(ids[:want]).lstrip(" ")
        for _ in range(4):   # a decoded cut can re-tokenize a token longer or shorter
            got = len(self.tokenizer.encode(text)) - n
            if got == 0:
                break
            want = max(1, want - got)
            text = self.tokenizer.decode(ids[:want]).lstrip(" ")
        return text


def _words(count: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(count))
