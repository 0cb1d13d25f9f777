"""Costs under concurrency: energy per token, tok/s per W, $/M and break-even are the energy of the measured
iterations ÷ their output tokens, computed by hand from the record (the fake OpenAI server streams each request
at a known rate; the machine's power is declared). At concurrency 1 they stay what they were."""

from __future__ import annotations

import pytest
import yaml
from fakes_llm_servers import FakeOpenAI

from benchbench.analysis import analyze
from benchbench.analysis import formulas as f
from benchbench.record import load_records

LOAD_W, IDLE_W, PRICE_KWH, HARDWARE, YEARS = 300.0, 60.0, 0.25, 2000.0, 3.0
API = 0.5   # per million output tokens
STREAM_TOK_S, TOKENS = 50.0, 100


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from benchbench.cli import main

    root = tmp_path_factory.mktemp("throughput")
    profile = {"name": "box", "electricity_per_kwh": PRICE_KWH, "hardware_cost": HARDWARE,
               "amortization_years": YEARS, "idle_w": IDLE_W, "load_w": LOAD_W,
               "prices": {"api": {"test-api": API}}}
    (root / "box.yaml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    with FakeOpenAI(tg_tok_s=STREAM_TOK_S, gen_len=TOKENS, ttft_s=0.01) as fake:
        workloads = [{"name": f"c{n}", "kind": "llm", "backend": "openai", "base_url": fake.url + "/v1",
                      "model": "llama-3.2-3b-instruct", "max_tokens": TOKENS, "concurrency": n, "retries": 0}
                     for n in (1, 8)]
        suite = {"name": "conc", "machine": "box.yaml", "warmups": 1, "repetitions": 2,
                 "power": {"samplers": ["declared"]}, "workloads": workloads}
        (root / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
        assert main(["run", str(root / "suite.yaml"), "--results", str(root / "results")]) == 0
    records = {r["workload"]["name"]: r for r in load_records([root / "results"])}
    analysis = analyze([root / "results"], api_models=["test-api"])
    groups = {g["workload"]: g for g in analysis.groups.to_dict("records")}
    api = {a["workload"]: a for a in analysis.api.to_dict("records") if a["api"] == "test-api"}
    return records, groups, api


def _by_hand(rec):
    """(energy J, output tokens, seconds) of the measured iterations, from the record alone."""
    its = [it for it in rec["iterations"] if not it["warmup"] and not it.get("error")]
    joules = sum(it["energy"]["system"]["joules"] for it in its)
    tokens = sum(q["usage"]["completion_tokens"] for it in its for q in it["raw"]["requests"])
    return joules, tokens, sum(it["duration_s"] for it in its)


def test_concurrency_8_costs_are_energy_over_tokens(runs):
    records, groups, api = runs
    joules, tokens, seconds = _by_hand(records["c8"])
    assert tokens == 2 * 8 * TOKENS
    g = groups["c8"]
    j_per_token = joules / tokens
    assert g["j_per_token"] == pytest.approx(j_per_token, rel=0.02)
    assert g["tok_s_per_w"] == pytest.approx(tokens / joules, rel=0.02)
    assert g["electricity_per_mtok"] == pytest.approx(j_per_token * 1e6 / 3.6e6 * PRICE_KWH, rel=0.02)
    marginal = (joules - IDLE_W * seconds) / tokens * 1e6 / 3.6e6 * PRICE_KWH     # energy above idle ÷ tokens
    fixed = HARDWARE / (YEARS * 12) + IDLE_W / 1000 * 730 * PRICE_KWH
    assert api["c8"]["breakeven_mtok_per_month"] == pytest.approx(fixed / (API - marginal), rel=0.02)
    # the machine makes about 8 streams' worth: one stream's speed would have made every figure ~8x too dear
    stream = g["tg_tok_s"]
    assert stream == pytest.approx(STREAM_TOK_S, rel=0.3)
    assert g["output_tok_s"] > 3 * stream
    assert LOAD_W / stream > 3 * g["j_per_token"]


def test_concurrency_1_figures_do_not_change(runs):
    records, groups, api = runs
    joules, tokens, _ = _by_hand(records["c1"])
    g = groups["c1"]
    assert g["j_per_token"] == pytest.approx(joules / tokens, rel=1e-9)
    # one stream: throughput is the stream's speed, the first token's wait aside
    assert g["output_tok_s"] == pytest.approx(g["tg_tok_s"], rel=0.02)
    assert g["j_per_token"] == pytest.approx(f.j_per_token(LOAD_W, g["tg_tok_s"]), rel=0.02)
    assert g["electricity_per_mtok"] == pytest.approx(f.electricity_per_mtok(LOAD_W, g["tg_tok_s"], PRICE_KWH),
                                                      rel=0.02)
