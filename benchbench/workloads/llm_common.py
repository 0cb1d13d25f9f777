"""Keys and helpers shared by the LLM backends: prompts, synthetic prompts, metric derivation."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ..limits import MAX_TOKENS, check_text_file, int_range
from ..schema import Field

PROMPT_KEYS: dict[str, Field] = {
    "prompt": Field((str,), doc="the prompt text"),
    "prompt_file": Field((str,), path=True, doc="a UTF-8 file holding the prompt"),
    "prompt_tokens": Field((int,), check=int_range(1, MAX_TOKENS), doc="a synthetic prompt of about N tokens"),
    "max_tokens": Field((int,), default=128, check=int_range(1, MAX_TOKENS)),
}

LLM_METRICS = ("prompt_tokens", "prompt_s", "pp_tok_s", "gen_tokens", "gen_s", "tg_tok_s",
               "ttft_s", "e2e_s", "load_s", "done_reason")
# every LLM iteration: token counts of all its requests, and the throughput the runner derives from them
ITERATION_METRICS = ("input_tokens", "output_tokens", "total_tokens", "output_tok_s", "total_tok_s")
SERVER_METRICS = ("total_s", "output_chars", "retries", "concurrency", "window_s", "agg_output_tok_s")

# Plain English words for synthetic prompts: about one token each in common tokenizers.
WORDS = ("time person year way day thing man world life hand part child eye woman place work week "
         "case point number group problem fact water room mother area money story month lot right "
         "study book job word business issue side kind head house service friend father power hour "
         "game line end member law car city name team minute idea kid body back parent face others "
         "level office door health art war history party result change morning reason research girl "
         "guy moment air teacher force education river stone light energy machine table paper model").split()


def check_prompt(params: dict[str, Any]) -> tuple[str, ...] | None:
    """At most one prompt source; a default prompt otherwise."""
    given = [k for k in ("prompt", "prompt_file", "prompt_tokens") if params.get(k) is not None]
    if len(given) > 1:
        return (given[1], f"`{given[0]}` and `{given[1]}` both given", "use one prompt source")
    if params.get("prompt_file"):
        problem = check_text_file(params["prompt_file"])
        if problem:
            return ("prompt_file", f"{Path(params['prompt_file']).name} {problem}")
    return None


def check_context(params: dict[str, Any], context_tokens: int | None, what: str) -> tuple[str, ...] | None:
    """prompt_tokens + max_tokens must fit in the model's context window when it is known."""
    if not isinstance(context_tokens, int) or isinstance(context_tokens, bool) or context_tokens <= 0:
        return None
    asked = (params.get("prompt_tokens") or 0) + int(params.get("max_tokens") or 0)
    if asked > context_tokens:
        key = "prompt_tokens" if params.get("prompt_tokens") else "max_tokens"
        return (key, f"prompt_tokens + max_tokens = {asked} exceed the context of {context_tokens} tokens of {what}",
                "ask for fewer tokens")
    return None


DEFAULT_PROMPT = "Explain the Jevons paradox in three short paragraphs."


def prompt_text(params: dict[str, Any], index: int = 0, vary: bool = True, nonce: str | None = None) -> str:
    """The prompt for iteration `index`; with `vary`, its first words differ per iteration so
    servers cannot reuse a cached prefix (run_prefix; with the run's `nonce`, nor another run's)."""
    if params.get("prompt_tokens"):
        body = synthetic_words(int(params["prompt_tokens"]), seed=int(params.get("seed") or 0))
    elif params.get("prompt_file"):
        body = Path(params["prompt_file"]).read_text(encoding="utf-8")
    else:
        body = params.get("prompt") or DEFAULT_PROMPT
    return run_prefix(index, nonce) + body if vary else body


def run_prefix(index: int, nonce: str | None = None) -> str:
    """The varying first words of request `index` (so no server reuses a cached prefix); `nonce`, a random
    value of the run, makes them differ from every other run's too (a server's prompt cache outlives a run)."""
    if nonce is not None:
        return f"[run {nonce}-{index}] "
    return f"[run {index} #{random.Random(index * 7919 + 1).randrange(10**6):06d}] "


def synthetic_words(n: int, seed: int = 0) -> str:
    """About n tokens of plain words (the server reports the exact count)."""
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(max(1, n)))


def decode_rate(tokens: float | None, seconds: float | None) -> float | None:
    """One stream's decode speed (the registry's tg_tok_s): the tokens after the first ÷ the seconds from
    the first to the last; None with fewer than two tokens."""
    if tokens is None or tokens < 2:
        return None
    return rate(tokens - 1, seconds)


def rate(count: float | None, seconds: float | None) -> float | None:
    """count / seconds, None when either is missing or seconds is not positive."""
    if count is None or seconds is None or seconds <= 0:
        return None
    return count / seconds
