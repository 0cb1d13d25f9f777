"""The metric registry: well-formed entries, docs/metrics.md generated from it, and every backend's emitted
names (declared, and seen in real and fake runs) registered."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes_llm_servers import FakeOllama, FakeOpenAI

from benchbench import metrics
from benchbench.metrics.doc import markdown
from benchbench.metrics.model import FORMATS, SCOPES
from benchbench.record import load_records
from benchbench.workloads import REGISTRY, get_backend

ROOT = Path(__file__).resolve().parent.parent
E2E = Path(__file__).resolve().parent / "fixtures" / "e2e-v1"


def test_every_metric_is_well_formed():
    assert len(metrics.REGISTRY) > 80
    for name, m in metrics.REGISTRY.items():
        assert m.name == name and m.scope in SCOPES and m.fmt in FORMATS
        assert m.label and m.description.endswith((".", ")")), name
        if m.scope == "throughput" and m.count:
            assert m.count in metrics.REGISTRY and m.iterations == "ratio", name
    # the two speeds are told apart: one stream's against the machine's
    assert metrics.get("tg_tok_s").scope == "request" and metrics.get("output_tok_s").scope == "throughput"
    assert {metrics.get(n).scope for n in ("j_per_token", "tok_s_per_w", "electricity_per_mtok",
                                           "all_in_per_mtok", "breakeven_mtok_per_month")} == {"throughput"}


def test_lookup_labels_and_units():
    assert metrics.header("tg_tok_s") == "generation (tok/s)"
    assert metrics.header("electricity_per_mtok", "EUR") == "electricity (EUR/Mtok)"
    assert metrics.lookup("stages_s.stage1") is metrics.get("stages_s")
    assert metrics.lookup("tg_tok_s.x") is None and metrics.lookup("nonsense") is None
    with pytest.raises(KeyError, match="nonsense"):
        metrics.get("nonsense")


def test_requests_combine_as_the_registry_says():
    assert metrics.combine_requests("output_tokens", [3, 4]) == 7
    assert metrics.combine_requests("output_tokens", [3, None]) is None       # a count with a gap is unknown
    assert metrics.combine_requests("tg_tok_s", [40.0, 60.0]) == 50.0
    assert metrics.combine_requests("done_reason", ["stop", "length", "length"]) == "length"
    assert metrics.combine_requests("retries", [0, 1, 2]) == 3


def test_throughput_is_the_count_over_the_window():
    m = metrics.derive_throughput({"output_tokens": 400, "total_tokens": 500}, 2.0)
    assert (m["output_tok_s"], m["total_tok_s"]) == (200.0, 250.0)
    assert metrics.derive_throughput({"output_tokens": 4}, 0.0)["output_tok_s"] is None


def test_docs_metrics_md_is_generated_from_the_registry():
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert doc == markdown(), "docs/metrics.md is out of date: python -m benchbench.metrics --write"
    for name in metrics.REGISTRY:
        assert f"`{name}`" in doc


@pytest.mark.parametrize("kind,backend", [(k, b) for k, bs in REGISTRY.items() for b in bs])
def test_every_backend_declares_registered_names(kind, backend):
    cls = get_backend(kind, backend)
    assert cls.emits, f"{backend} declares no metrics"
    assert metrics.unknown(cls.emits) == []
    assert set(cls.primary_metrics) <= set(cls.emits)


def _emitted(records: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for rec in records:
        for it in rec.get("iterations", []):
            out.setdefault(rec["workload"]["backend"], set()).update(it.get("metrics") or {})
    return out


def test_names_in_stored_records_are_declared_and_registered():
    """The end-to-end records (transformers, espeak-ng, ltx2, ollama, openai) as written before Part 10."""
    seen = _emitted([r for r in load_records([E2E]) if r.get("type", "run") == "run"])
    assert set(seen) == {"transformers", "espeak-ng", "ltx2", "ollama", "openai"}
    for backend, names in seen.items():
        kind = next(k for k, bs in REGISTRY.items() if backend in bs)
        assert metrics.unknown(metrics.flat_names({n: None for n in names})) == []
        assert names <= set(get_backend(kind, backend).emits) | {"output_tok_s", "total_tok_s"}, backend


def _suite(write, entries: str) -> Path:
    return write("suite.yaml", f"""
        name: emitted
        warmups: 0
        repetitions: 1
        power: {{samplers: [none]}}
        workloads:
        {entries}
        """)


def test_fake_server_runs_emit_declared_registered_names(cli, write, tmp_path):
    with FakeOllama(tg_tok_s=2000.0, gen_len=6) as ollama, FakeOpenAI(tg_tok_s=2000.0, gen_len=6) as llamacpp, \
            FakeOpenAI(flavor="vllm", tg_tok_s=2000.0, gen_len=6, usage="never") as vllm:
        suite = _suite(write, f"""
          - {{name: o, kind: llm, backend: ollama, host: "{ollama.url}", model: "llama3.2:3b", concurrency: 2}}
          - {{name: l, kind: llm, backend: openai, base_url: "{llamacpp.url}/v1",
              model: llama-3.2-3b-instruct, concurrency: 2}}
          - {{name: v, kind: llm, backend: openai, base_url: "{vllm.url}/v1", model: llama-3.2-3b-instruct}}
        """)
        code, _, err = cli("run", suite, "--results", tmp_path / "results")
    assert code == 0, err
    seen = _emitted(load_records([tmp_path / "results"]))
    for backend, names in seen.items():
        declared = set(get_backend("llm", backend).emits)
        assert names <= declared and metrics.unknown(names) == [], (backend, names - declared)
    assert {"server_tg_tok_s", "itl_p99_s", "cache_read_tokens"} <= seen["openai"]
    assert {"gpu_fraction", "load_s"} <= seen["ollama"]


def test_strict_mode_rejects_an_unregistered_name(monkeypatch):
    from benchbench.workloads.base import IterationResult

    monkeypatch.setenv(metrics.STRICT_ENV, "1")
    with pytest.raises(metrics.UnregisteredMetric, match="tokens_per_sec"):
        IterationResult({"tg_tok_s": 1.0, "tokens_per_sec": 2.0})
    monkeypatch.setenv(metrics.STRICT_ENV, "0")
    assert IterationResult({"tokens_per_sec": 2.0}).metrics == {"tokens_per_sec": 2.0}   # users are not stopped

