"""Prices as configuration: the `prices:` sections of suites, profiles and `analyze(prices=...)`, parsed and
validated here (the configuration level: suites and profiles import this, not the analyzer). Looking up
hosted-API prices in genai-prices is benchbench/analysis/prices.py.

A `prices:` section (suite, profile, or `analyze(prices=...)`):

    prices:
      currency: USD                     # of the prices below (default: the profile's, else USD)
      api:                              # per million tokens
        groq:llama-3.1-8b-instant: 0.08           # one number: per million generated tokens
        my-provider: {input: 0.05, output: 0.10}  # or input/output per million
      cloud_hourly:                     # a cloud instance, per hour
        aws g4dn.12xlarge: 3.91
      tts_per_million_chars:            # cloud TTS, per million characters
        gcp-standard: 16

An API name is first looked up in these sections (exactly), then in genai-prices as `model` or
`provider:model` (e.g. `groq:llama-3.1-8b-instant`). Break-even compares generated tokens, so an
API's output price is the `A` of the formula.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UserError
from .schema import line_of, suggest

SECTIONS = ("currency", "api", "cloud_hourly", "tts_per_million_chars")
KINDS = ("api", "cloud_hourly", "tts_per_million_chars")


@dataclass(frozen=True)
class Price:
    """One price. `value`: api → per million output tokens; cloud_hourly → per hour;
    tts_per_million_chars → per million characters."""

    name: str
    kind: str
    value: float
    currency: str = "USD"
    source: str = "caller"               # caller | suite NAME | profile NAME | genai-prices X | published FILE
    input_per_mtok: float | None = None  # api only, when known

    @property
    def provenance(self) -> str:
        return "published" if self.source.startswith("published") else "declared"


def _number(value: Any, data: Any, key: str, file: str | None, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise UserError(f"must be a number ≥ 0, found {value!r}", file=file, line=line_of(data, key),
                        field=field)
    return float(value)


def parse_prices(data: Any, *, source: str = "caller", file: str | None = None,
                 default_currency: str = "USD", prefix: str = "prices.") -> list[Price]:
    """Validate a `prices:` mapping and return its entries; UserError (file, line, field) if bad."""
    if data in (None, {}):
        return []
    if not isinstance(data, Mapping):
        raise UserError("must be a mapping", file=file, line=line_of(data), field=prefix.rstrip("."))
    for key in data:
        if key not in SECTIONS:
            raise UserError(f"unknown key `{key}`", file=file, line=line_of(data, key), field=prefix + str(key),
                            hint=suggest(str(key), list(SECTIONS)) or "one of: " + ", ".join(SECTIONS))
    currency = data.get("currency") or default_currency
    if not isinstance(currency, str):
        raise UserError("must be a currency code such as USD", file=file, line=line_of(data, "currency"),
                        field=prefix + "currency")
    out: list[Price] = []
    for kind in KINDS:
        section = data.get(kind)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise UserError("must be a mapping of name: price", file=file, line=line_of(data, kind),
                            field=prefix + kind)
        for name, value in section.items():
            out.append(_entry(kind, str(name), value, section, currency, source, file, f"{prefix}{kind}.{name}"))
    return out


def _entry(kind: str, name: str, value: Any, section: Any, currency: str, source: str,
           file: str | None, field: str) -> Price:
    if kind == "api" and isinstance(value, Mapping):
        unknown = [k for k in value if k not in ("input", "output")]
        if unknown or "output" not in value:
            raise UserError("an API price is a number or {input: X, output: Y} per million tokens",
                            file=file, line=line_of(section, name), field=field)
        out_p = _number(value["output"], value, "output", file, field + ".output")
        in_p = _number(value["input"], value, "input", file, field + ".input") if "input" in value else None
        return Price(name, kind, out_p, currency, source, in_p)
    number = _number(value, section, name, file, field)
    return Price(name, kind, number, currency, source, number if kind == "api" else None)
