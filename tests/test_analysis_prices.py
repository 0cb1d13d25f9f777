"""Prices: the `prices:` sections of suites and profiles, and genai-prices lookups (offline snapshot)."""

from __future__ import annotations

import pytest

from benchbench.analysis.prices import (
    find_api_price,
    genai_price,
    is_hosted,
    parse_prices,
    price_request,
    require_api_price,
)
from benchbench.errors import UserError
from benchbench.profile import load_profile
from benchbench.suite import load_suite

SUITE = """
    name: priced
    prices:
      currency: EUR
      api:
        groq:llama-3.1-8b-instant: 0.07
        mine: {input: 0.1, output: 0.3}
      cloud_hourly:
        aws g4dn.12xlarge: 3.91
      tts_per_million_chars:
        gcp-standard: 16
    workloads:
      - name: tiny
        kind: llm
        backend: transformers
        architecture: tiny-llama
        weights: dummy
        device: cpu
"""


def test_suite_prices_are_validated_and_kept_in_the_record(write):
    suite = load_suite(write("suite.yaml", SUITE))
    entries = {(p.kind, p.name): p for p in parse_prices(suite.to_record()["prices"], source="suite priced")}
    assert entries[("api", "groq:llama-3.1-8b-instant")].value == 0.07
    assert entries[("api", "mine")].input_per_mtok == 0.1 and entries[("api", "mine")].value == 0.3
    assert entries[("cloud_hourly", "aws g4dn.12xlarge")].value == 3.91
    assert entries[("tts_per_million_chars", "gcp-standard")].currency == "EUR"
    assert {p.provenance for p in entries.values()} == {"declared"}


@pytest.mark.parametrize("body, message", [
    ("  cloud_hourly:\n    x: -3\n", "suite.yaml:4: prices.cloud_hourly.x: must be a number ≥ 0, found -3"),
    ("  api:\n    y: {inp: 1, output: 2}\n", "suite.yaml:4: prices.api.y: an API price is a number or "
                                             "{input: X, output: Y} per million tokens"),
    ("  tts_per_million_char: {}\n", "suite.yaml:3: prices.tts_per_million_char: unknown key "
                                     "`tts_per_million_char` (did you mean `tts_per_million_chars`?)"),
    ("  api: [1, 2]\n", "suite.yaml:3: prices.api: must be a mapping of name: price"),
])
def test_bad_suite_prices_are_one_line_errors(write, body, message):
    path = write("suite.yaml", "name: s\nprices:\n" + body + SUITE[SUITE.index("workloads:"):].replace("\n    ", "\n"))
    with pytest.raises(UserError) as err:
        load_suite(path)
    assert err.value.one_line() == f"{path.parent}/{message}"


def test_bad_profile_prices_are_one_line_errors(write):
    path = write("box.yaml", "name: box\nprices:\n  cloud_hourly:\n    x: cheap\n")
    with pytest.raises(UserError, match=r"box.yaml:4: prices.cloud_hourly.x: must be a number ≥ 0, found 'cheap'"):
        load_profile(path)


def test_genai_prices_lookups():
    p = genai_price("gpt-4o-mini")
    assert (p.value, p.input_per_mtok, p.currency) == (0.6, 0.15, "USD")
    assert p.source.startswith("genai-prices ") and p.source.endswith("(openai/gpt-4o-mini)")
    groq = genai_price("groq:llama-3.1-8b-instant")
    assert groq.source.endswith("(groq/llama-3.1-8b-instant)") and groq.value > 0
    assert genai_price("llama3.1:8b") is None                      # an Ollama tag is not an API model
    with pytest.raises(UserError, match="no price known for API model `nope-xyz`"):
        require_api_price("nope-xyz")


def test_overrides_win_over_genai_prices():
    entries = parse_prices({"api": {"gpt-4o-mini": 0.5}}, source="profile box")
    assert find_api_price("gpt-4o-mini", entries).value == 0.5
    cost, source = price_request("gpt-4o-mini", 1000, 2000, entries=entries)
    assert cost == pytest.approx(3000 * 0.5 / 1e6) and source == "profile box"
    cost, source = price_request("gpt-4o-mini", 1000, 2000, base_url="https://api.openai.com/v1")
    assert cost == pytest.approx((1000 * 0.15 + 2000 * 0.6) / 1e6) and source.startswith("genai-prices")
    assert price_request("unknown-model-xyz", 10, 10) == (None, None)


@pytest.mark.parametrize("url, hosted", [
    ("https://api.openai.com/v1", True), ("https://api.groq.com/openai/v1", True),
    ("http://localhost:11434", False), ("http://127.0.0.1:8000/v1", False), ("http://192.168.1.20:8000", False),
    ("http://gpu-box:8000/v1", False), ("http://strix.local:11434", False), (None, False), ("10.0.0.5:8080", False),
])
def test_hosted_or_local(url, hosted):
    assert is_hosted(url) is hosted
