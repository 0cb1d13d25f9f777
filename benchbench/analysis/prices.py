"""Prices: hosted-API token prices from pydantic's `genai-prices` table (offline, bundled snapshot),
plus `prices:` sections of suites and profiles that add or override them.

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

import functools
import ipaddress
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import UserError
from ..schema import line_of, suggest

SECTIONS = ("currency", "api", "cloud_hourly", "tts_per_million_chars")
KINDS = ("api", "cloud_hourly", "tts_per_million_chars")
GENAI = "genai-prices"


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


# --- genai-prices ---------------------------------------------------------------------------

def genai_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


def _split_ref(name: str) -> tuple[str | None, str]:
    """`provider:model` when the prefix is a genai-prices provider id, else (None, name)."""
    from genai_prices import data_snapshot

    head, sep, tail = name.partition(":")
    if sep and head in {p.id for p in data_snapshot.get_snapshot().providers}:
        return head, tail
    return None, name


@functools.lru_cache(maxsize=256)
def genai_price(name: str) -> Price | None:
    """An API model's price per million output (and input) tokens from genai-prices, or None."""
    from genai_prices import Usage, calc_price

    provider, model = _split_ref(name)
    try:
        out_calc = calc_price(Usage(output_tokens=1_000_000), model, provider_id=provider)
        in_calc = calc_price(Usage(input_tokens=1_000_000), model, provider_id=provider)
    except (LookupError, ValueError):
        return None
    return Price(name, "api", float(out_calc.total_price), "USD",
                 f"{GENAI} {genai_version()} ({out_calc.provider.id}/{out_calc.model.id})",
                 float(in_calc.total_price))


def find_api_price(name: str, entries: Iterable[Price] = ()) -> Price | None:
    """An `api` entry named `name` (the last one given wins), else genai-prices."""
    match = None
    for entry in entries:
        if entry.kind == "api" and entry.name == name:
            match = entry
    return match or genai_price(name)


def require_api_price(name: str, entries: Iterable[Price] = ()) -> Price:
    """find_api_price, or a UserError saying how to give the price."""
    found = find_api_price(name, entries)
    if found is None:
        raise UserError(f"no price known for API model `{name}`", field="--api-model",
                        hint="use a genai-prices name such as gpt-4o-mini or groq:llama-3.1-8b-instant, "
                             "give --api-price, or add it under prices.api in the profile")
    return found


# --- hosted-API requests ----------------------------------------------------------------------

def is_hosted(base_url: str | None) -> bool:
    """True for an API on the internet; False for localhost, private addresses and .local names."""
    if not base_url:
        return False
    host = urlsplit(base_url if "//" in base_url else f"//{base_url}").hostname or ""
    if host in ("localhost", "") or host.endswith((".local", ".lan", ".internal", ".home.arpa")):
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return not (ip.is_private or ip.is_loopback or ip.is_link_local)


def price_request(model: str, input_tokens: float | None, output_tokens: float | None, *,
                  entries: Iterable[Price] = (), base_url: str | None = None,
                  cached_tokens: float | None = None) -> tuple[float | None, str | None]:
    """(cost, price source) of one hosted-API request from its recorded usage; (None, None) when
    the model has no known price or the usage is unknown."""
    if input_tokens is None and output_tokens is None:
        return None, None
    entries = list(entries)
    for entry in reversed(entries):
        if entry.kind == "api" and entry.name == model:
            in_p = entry.input_per_mtok if entry.input_per_mtok is not None else entry.value
            return ((input_tokens or 0) * in_p + (output_tokens or 0) * entry.value) / 1e6, entry.source
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=int(input_tokens or 0), output_tokens=int(output_tokens or 0),
                  cache_read_tokens=int(cached_tokens) if cached_tokens else None)
    provider, ref = _split_ref(model)
    calc = None
    if provider is None and base_url:
        try:
            calc = calc_price(usage, ref, provider_api_url=base_url)
        except (LookupError, ValueError):
            calc = None
    if calc is None:
        try:
            calc = calc_price(usage, ref, provider_id=provider)
        except (LookupError, ValueError):
            return None, None
    return float(calc.total_price), f"{GENAI} {genai_version()} ({calc.provider.id}/{calc.model.id})"
