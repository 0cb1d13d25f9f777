"""llama.cpp's own benchmarks (the llama-bench and sweep-bench backends) and the serving benchmarks that
`benchbench import` reads (vLLM, GuideLLM).

llama-bench runs each test as its own invocation, so the machine's power is known over each test's window:
the prefill test's repetitions and the decode test's repetitions (llama-bench's `--progress` lines + its
samples). Power and energy of such a window are iteration facts (like system_w / system_j); energy per token
divides the window's energy by the tokens the machine made in it, so it is a throughput figure (P ÷ r over
the window, never one stream's speed). llama-bench's own speeds (avg_ts) stay pp_tok_s / tg_tok_s.
"""

from __future__ import annotations

from . import catalog_llm, catalog_power  # noqa: F401  (registered first: their sections come first in docs/metrics.md)
from .model import Metric, register

LLM = ("llm",)
WINDOW = dict(requests=None, kinds=LLM)

register(*(
    Metric(f"{phase}_w", "W", "iteration", f"{phase} power",
           f"Mean power of the whole machine (the `system` channel) over the {phase} window: llama-bench's "
           f"{test} test, all its repetitions (from the first repetition's start to the last one's end); "
           f"llama-sweep-bench: every {phase} window of the sweep (Σ J ÷ Σ s).",
           direction="lower", **WINDOW)
    for phase, test in (("prefill", "ppN"), ("decode", "tgN"))), section="llama.cpp tools: prefill and decode windows")

register(*(
    Metric(f"{phase}_j", "J", "iteration", f"{phase} energy",
           f"Energy of the whole machine over the {phase} window (llama-bench's {test} test, all its "
           f"repetitions; llama-sweep-bench: Σ over its {phase} windows).",
           direction="lower", **WINDOW)
    for phase, test in (("prefill", "ppN"), ("decode", "tgN"))), section="llama.cpp tools: prefill and decode windows")

register(
    Metric("prefill_j_per_tok", "J/token", "throughput", "prefill energy",
           "System energy per prompt token processed: prefill_j ÷ the prompt tokens of the window (n_prompt × "
           "repetitions; sweep-bench: Σ pp). The machine's energy over the window ÷ its work, like j_per_token.",
           direction="lower", title="prefill energy per token", **WINDOW),
    Metric("decode_j_per_tok", "J/token", "throughput", "decode energy",
           "System energy per generated token: decode_j ÷ the tokens generated in the window (n_gen × "
           "repetitions; sweep-bench: Σ tg). For llama-bench the same as j_per_token (its energy window is the "
           "decode test).",
           direction="lower", title="decode energy per token", **WINDOW),
    Metric("depth_tokens", "tokens", "iteration", "depth",
           "Tokens already in the context when the tests ran (llama-bench -d: filled before each repetition, "
           "outside the timed part).",
           iterations="last", fmt="int", peers={"llama-bench": "n_depth"}, **WINDOW),
    Metric("depth_max_tokens", "tokens", "iteration", "deepest",
           "The deepest context a llama-sweep-bench run measured (its last row's n_kv).",
           iterations="last", fmt="int", **WINDOW),
    Metric("pg_tok_s", "tok/s", "request", "prompt + generation",
           "llama-bench's ppN+tgM test: (n_prompt + n_gen) ÷ the time of one repetition (prefill and decode "
           "of one sequence), the mean over repetitions.",
           direction="higher", kinds=LLM, peers={"llama-bench": "avg_ts of a ppN+tgM test"}),
    section="llama.cpp tools: prefill and decode windows")

# the serving benchmarks' figures (ttft_median_s, req_s, completed_requests, ...): catalog_load.py
