"""Hosted-API prices from pydantic's `genai-prices` table (offline, bundled snapshot), looked up by name, and
hosted-API requests priced from their recorded usage. `prices:` sections (their format and parsing) are
configuration: benchbench/prices.py; `Price` and `parse_prices` are re-exported here."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import UserError
from ..prices import KINDS, SECTIONS, Price, parse_prices
from ..shapes import Shape
from . import formulas as f

GENAI = "genai-prices"
__all__ = ["GENAI", "KINDS", "SECTIONS", "ApiQuote", "Price", "find_api_price", "genai_price", "is_hosted",
           "parse_prices", "price_request", "quote", "require_api_price"]


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
            return f.request_cost(input_tokens, output_tokens, in_p, entry.value), entry.source
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


# --- an API priced for a request shape ---------------------------------------------------------------

@dataclass
class ApiQuote:
    """An API's prices per million input, cached-input and output tokens and what one request of a shape costs
    there (in the API's currency); None with `note` saying why where a price is missing (never invented)."""

    name: str
    input_per_mtok: float | None
    cached_per_mtok: float | None
    output_per_mtok: float | None
    per_request: float | None
    currency: str = "USD"
    source: str | None = None
    provenance: str = "published"         # published (genai-prices' price lists) | declared (a prices: entry)
    note: str | None = None


def quote(name: str, shape: Shape, entries: Iterable[Price] = ()) -> ApiQuote:
    """`name` priced for one request of `shape`: a `prices.api` entry (the last of that name) first, else
    genai-prices (input, cache-read and output prices; reasoning tokens billed as output)."""
    entry = next((e for e in reversed(list(entries)) if e.kind == "api" and e.name == name), None)
    if entry is not None:
        in_p = entry.input_per_mtok
        cost = f.api_request_cost(shape.input_tokens, shape.cached_tokens, shape.generated_tokens, in_p, None,
                                  entry.value)
        note = None if in_p is not None or shape.input_tokens == 0 else "no input price given: not priced"
        if cost is not None and shape.cached_tokens:
            note = "no cached-input price given: cached tokens billed as input"
        return ApiQuote(name, in_p, None, entry.value, cost, entry.currency, entry.source, entry.provenance, note)
    return _genai_quote(name, shape)


@functools.lru_cache(maxsize=512)
def _genai_quote(name: str, shape: Shape) -> ApiQuote:
    from genai_prices import Usage, calc_price

    provider, model = _split_ref(name)

    def price(**usage: int) -> Any:
        return calc_price(Usage(**usage), model, provider_id=provider)

    try:
        unit_in = float(price(input_tokens=1_000_000).total_price)
        unit_cached = float(price(input_tokens=1_000_000, cache_read_tokens=1_000_000).total_price)
        calc = price(output_tokens=1_000_000)
        request = price(input_tokens=round(shape.input_tokens), cache_read_tokens=round(shape.cached_tokens) or None,
                        output_tokens=round(shape.generated_tokens))
    except (LookupError, ValueError):
        return ApiQuote(name, None, None, None, None, source=None,
                        note=f"no price for `{name}` in {GENAI} {genai_version()}: not compared")
    cached_price = getattr(calc.model_price, "cache_read_mtok", None)
    note = "no cached-input price: cached tokens billed as input" if shape.cached_tokens and cached_price is None \
        else None
    return ApiQuote(name, unit_in, unit_cached, float(calc.total_price), float(request.total_price),
                    source=f"{GENAI} {genai_version()} ({calc.provider.id}/{calc.model.id})", note=note)
