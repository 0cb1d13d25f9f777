"""Request shapes (`mix:` in a suite or a machine profile): what one request of the work reads and writes.

    mix: {preset: rag}                               # a named preset (below), where its numbers come from
    mix: {preset: rag, requests_per_day: 2000}       # a preset at a volume
    mix: {input_tokens: 2000, output_tokens: 300, cached_fraction: 0.5, reasoning_tokens: 0, tokens_per_month: 5.0e+7}
    mix: {from: load}                                # a measured load run's own request lengths

`input_tokens` are the prompt's tokens (a share `cached_fraction` of them served from a prompt cache: an API bills
them at its cached-input price, a local server skips their prefill); `output_tokens` the answer's;
`reasoning_tokens` generated thinking tokens (billed as output by APIs, decoded locally like output). A volume is
optional: `requests_per_day` or `tokens_per_month` (input + output + reasoning). Configuration only: pricing a shape is
benchbench/analysis/shape_cost.py with the formulas in analysis/formulas.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .errors import UserError
from .schema import Field, Where, line_of, non_negative, positive, suggest, validate

DAYS_PER_MONTH = 365.0 / 12.0
FROM_CHOICES = ("load",)


@dataclass(frozen=True)
class Shape:
    """One request of the work. `provenance`: declared (numbers given), published (a preset's numbers taken from
    published data), estimated (a preset with estimated numbers), measured (a load run's own requests)."""

    name: str
    input_tokens: float
    output_tokens: float
    cached_fraction: float = 0.0
    reasoning_tokens: float = 0.0
    requests_per_day: float | None = None
    tokens_per_month: float | None = None
    provenance: str = "declared"
    source: str = ""
    estimates: str = ""
    from_load: bool = False

    @property
    def cached_tokens(self) -> float:
        return self.input_tokens * self.cached_fraction

    @property
    def prefill_tokens(self) -> float:
        """Input tokens a local server prefills (the cached share is taken from its prefix cache)."""
        return self.input_tokens - self.cached_tokens

    @property
    def generated_tokens(self) -> float:
        """Output + reasoning: every token decoded (and billed as output)."""
        return self.output_tokens + self.reasoning_tokens

    @property
    def tokens(self) -> float:
        """Input + output + reasoning tokens of one request."""
        return self.input_tokens + self.generated_tokens

    @property
    def requests_per_month(self) -> float | None:
        """The volume as requests a month (365/12 days), when one is given."""
        if self.requests_per_day is not None:
            return self.requests_per_day * DAYS_PER_MONTH
        if self.tokens_per_month is not None and self.tokens > 0:
            return self.tokens_per_month / self.tokens
        return None

    def describe(self) -> str:
        """`rag: 2,200 in (0% cached) → 256 out`."""
        text = f"{self.name}: {self.input_tokens:,.0f} in ({self.cached_fraction:.0%} cached) → " \
               f"{self.output_tokens:,.0f} out"
        return text + (f" + {self.reasoning_tokens:,.0f} reasoning" if self.reasoning_tokens else "")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cached_fraction": self.cached_fraction, "reasoning_tokens": self.reasoning_tokens,
                "requests_per_day": self.requests_per_day, "tokens_per_month": self.tokens_per_month,
                "requests_per_month": self.requests_per_month, "provenance": self.provenance, "source": self.source,
                "estimates": self.estimates}


# --- presets: each says where its numbers come from and which are estimates (docs/costs.md repeats them) ---------

PRESETS: dict[str, Shape] = {
    "chat": Shape(
        "chat", 1155, 211, provenance="published",
        source="Azure LLM inference trace 2023, conversation service (Patel et al., Splitwise, ISCA 2024; "
               "github.com/Azure/AzurePublicDataset data/AzureLLMInferenceTrace_conv.csv): mean of 19,366 requests, "
               "1,155 context and 211 generated tokens (medians 1,020 and 129)",
        estimates="cached_fraction 0: the trace does not say how much of each context a prompt cache held"),
    "rag": Shape(
        "rag", 2200, 256, provenance="estimated",
        source="LlamaIndex defaults (llama_index core constants: DEFAULT_CHUNK_SIZE 1024 tokens, "
               "DEFAULT_SIMILARITY_TOP_K 2, DEFAULT_NUM_OUTPUTS 256): two retrieved chunks of 1,024 tokens, an answer "
               "budget of 256 tokens",
        estimates="about 150 tokens of template and question added to the 2,048 of context; the answer taken at its "
                  "256-token budget; no prompt cache (retrieved chunks change per question)"),
    "coding-agent": Shape(
        "coding-agent", 16518, 276, cached_fraction=0.84, provenance="published",
        source="mini-swe-agent with Gemini 3 Pro on SWE-bench Verified (SWE-bench experiments "
               "bash-only/20251118_mini-v1.15.0_gemini-3-pro-preview, 500 trajectories as published in "
               "github.com/gruckion/mini-swe-agent swebench_results/): mean of 20,163 model calls, 16,518 prompt "
               "tokens (83.8% of them cache reads) and 276 completion tokens, 60 input tokens per output token",
        estimates="one model's agent; other agents and models read 10 to 100 tokens per token they write"),
    "summarization": Shape(
        "summarization", 1050, 75, provenance="estimated",
        source="CNN/Daily Mail (Nallapati et al. 2016, as processed by See et al. 2017): articles of 781 and "
               "summaries of 56 word tokens on average",
        estimates="word tokens × 1.3 for a BPE tokenizer, plus about 35 tokens of instruction"),
    "batch-translation": Shape(
        "batch-translation", 1000, 1000, provenance="estimated",
        source="NVIDIA NIM LLM benchmarking guide, Parameters and Best Practices: translation has similar input and "
               "output lengths, typically 500 to 2,000 tokens each",
        estimates="1,000 each, inside the guide's range; output as long as input"),
}

MIX_FIELDS: dict[str, Field] = {
    "preset": Field((str,), choices=tuple(PRESETS), doc="one of: " + ", ".join(PRESETS)),
    "from": Field((str,), choices=FROM_CHOICES, doc="`load`: the load runs' own request lengths"),
    "input_tokens": Field((float,), check=non_negative),
    "output_tokens": Field((float,), check=non_negative),
    "cached_fraction": Field((float,), check=lambda v: None if 0 <= v <= 1 else f"must be in [0, 1], found {v!r}"),
    "reasoning_tokens": Field((float,), check=non_negative),
    "requests_per_day": Field((float,), check=positive),
    "tokens_per_month": Field((float,), check=positive),
}


def parse_mix(data: Any, *, file: str | None = None, prefix: str = "mix.") -> Shape:
    """Validate a `mix:` mapping (or a preset name) and return its Shape; UserError (file, line, field) if bad."""
    if isinstance(data, str):
        data = {"from": "load"} if data == "load" else {"preset": data}
    where = Where(file or "", prefix)
    if not isinstance(data, Mapping):
        raise UserError("must be a mapping such as {preset: rag} or {input_tokens: 2000, output_tokens: 300}",
                        file=file, line=line_of(data), field=prefix.rstrip("."))
    values = validate(data, MIX_FIELDS, where, "mix")
    _exclusive(data, values, ("preset", "from"), where)
    _exclusive(data, values, ("requests_per_day", "tokens_per_month"), where)
    base = _base(data, values, where)
    overrides = {k: float(values[k]) for k in ("input_tokens", "output_tokens", "cached_fraction", "reasoning_tokens",
                                                "requests_per_day", "tokens_per_month") if values[k] is not None}
    if base.from_load and set(overrides) - {"requests_per_day", "tokens_per_month"}:
        key = next(k for k in overrides if k not in ("requests_per_day", "tokens_per_month"))
        raise UserError("`from: load` takes the lengths from the load runs; only a volume may be added",
                        file=file, line=line_of(data, key), field=where.field(key))
    if overrides.keys() & {"requests_per_day", "tokens_per_month"}:
        base = replace(base, requests_per_day=None, tokens_per_month=None)
    if set(overrides) - {"requests_per_day", "tokens_per_month"} and not base.from_load and values["preset"]:
        base = replace(base, provenance="declared", name=f"{base.name} (changed)")
    shape = replace(base, **overrides)
    if not shape.from_load and shape.tokens <= 0:
        raise UserError("a request needs input or output tokens", file=file, line=line_of(data),
                        field=prefix.rstrip("."), hint="e.g. {input_tokens: 2000, output_tokens: 300}")
    return shape


def _exclusive(data: Mapping, values: dict[str, Any], keys: tuple[str, str], where: Where) -> None:
    if all(values[k] is not None for k in keys):
        raise UserError(f"give `{keys[0]}` or `{keys[1]}`, not both", file=where.file or None,
                        line=line_of(data, keys[1]), field=where.field(keys[1]))


def _base(data: Mapping, values: dict[str, Any], where: Where) -> Shape:
    if values["preset"]:
        return PRESETS[values["preset"]]
    if values["from"]:
        return Shape("load", 0.0, 0.0, provenance="measured", source="the load runs' own requests", from_load=True)
    missing = [k for k in ("input_tokens", "output_tokens") if values[k] is None]
    if missing:
        raise UserError(f"missing `{missing[0]}`", file=where.file or None, line=line_of(data),
                        field=where.field(missing[0]),
                        hint="give input_tokens and output_tokens, a preset (" + ", ".join(PRESETS) + ") or from: load")
    return Shape("custom", 0.0, 0.0, provenance="declared", source="declared in the mix")


def preset(name: str) -> Shape:
    """A preset by name; UserError with a suggestion when unknown."""
    if name not in PRESETS:
        raise UserError(f"unknown preset `{name}`", field="mix",
                        hint=suggest(name, list(PRESETS)) or "one of: " + ", ".join(PRESETS))
    return PRESETS[name]


def measured_shape(input_tokens: float, cached_tokens: float, output_tokens: float, what: str) -> Shape:
    """The shape of measured requests (means per request), labelled measured."""
    cached = cached_tokens / input_tokens if input_tokens > 0 else 0.0
    return Shape("load", input_tokens, output_tokens, cached_fraction=min(1.0, max(0.0, cached)),
                 provenance="measured", source=what)


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
