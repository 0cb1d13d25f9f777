"""docs/metrics.md, generated from the registry (`python -m benchbench.metrics --write`)."""

from __future__ import annotations

from .model import PEER_TOOLS, REGISTRY, SECTIONS, Metric

INTRO = """\
# Metrics

Generated from the metric registry (`benchbench/metrics/`) by `python -m benchbench.metrics --write`; a test
fails when this page and the registry disagree. Every figure benchbench records or derives has one entry:
its name (the record key, with its unit in the name), unit, scope, which way is better, how an iteration's
value comes from its requests, how a group of iterations is summarized, and its name in peer tools.

**Scopes.** `request`: one stream (one generation) as its user feels it. `iteration`: a fact of one
iteration as a whole. `throughput`: the machine's rate over an iteration's measured window, all concurrent
requests together. `run`: a figure of a whole run or machine. `period`: realized over a recorded day,
week or month of a machine's real use (the usage ledger), never a benchmark's window.

**Two speeds, never confused.** `tg_tok_s` is how fast *one stream* decodes; `output_tok_s` is how many
tokens *the machine* makes a second, all streams together, over the iteration's `duration_s` (the window
its energy is integrated over). Energy per token, tokens per second per watt and every money figure use
`output_tok_s`: J/token = the iterations' energy ÷ their output tokens. At concurrency 1 the two are close
(`output_tok_s` is lower by the prompt's share of the time); at concurrency 8 the machine can make several
times one stream's rate.

**Aggregation.** Across requests: `mean`, `sum` (counts), `max`, `mode` (the most common text), `any`.
Across iterations: `mean` (mean ± sample stdev, 95% CI), `ratio` (Σ count ÷ Σ window seconds: the
throughput over all measured windows), `min` (the best), `last`. `{cur}` is the currency of the machine's
profile.
"""

_PEER_NAMES = {"vllm": "vLLM bench", "guidellm": "GuideLLM", "aiperf": "AIPerf", "llama-bench": "llama-bench",
               "llama-server": "llama-server", "ollama": "Ollama"}


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _row(m: Metric) -> str:
    return "| " + " | ".join(_cell(x) for x in (
        f"`{m.name}`" + (".*" if m.keyed else ""), m.unit or "–", m.scope, m.direction or "–",
        m.requests or "–", m.iterations or "–", m.label, m.description)) + " |"


def markdown() -> str:
    """The whole page."""
    out = [INTRO]
    for section, names in SECTIONS.items():
        out += [f"## {section}", "",
                "| metric | unit | scope | better | across requests | across iterations | label | definition |",
                "|---|---|---|---|---|---|---|---|"]
        out += [_row(REGISTRY[n]) for n in names]
        out.append("")
    out += ["## The same figures in peer tools", "",
            "Where a peer tool reports the same figure (or one it can be computed from), its name. vLLM bench "
            "reports milliseconds (`_ms`); benchbench keeps SI units.", "",
            "| metric | " + " | ".join(_PEER_NAMES[p] for p in PEER_TOOLS) + " |",
            "|---|" + "---|" * len(PEER_TOOLS)]
    for m in REGISTRY.values():
        if m.peers:
            out.append("| " + " | ".join([f"`{m.name}`", *(_cell(m.peers.get(p)) or "–" for p in PEER_TOOLS)])
                       + " |")
    out.append("")
    return "\n".join(out)
