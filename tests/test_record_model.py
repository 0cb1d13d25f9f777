"""The typed record: models in the on-disk shape, migrations, one-line validation errors naming the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchbench.migrations import SCHEMA_VERSION, THROUGHPUT_UNKNOWN, update_to_2
from benchbench.record import load_records, load_typed, load_typed_records
from benchbench.record_model import IdleRecord, RecordError, RunRecord, from_json, migrate

E2E = Path(__file__).resolve().parent / "fixtures" / "e2e-v1"


def _raw() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(E2E.rglob("*.json"))]


def test_old_records_migrate_and_round_trip_in_the_same_shape():
    for data in _raw():
        assert data["schema_version"] == 1
        rec = from_json(copy.deepcopy(data))
        assert isinstance(rec, RunRecord) and rec.schema_version == SCHEMA_VERSION
        assert rec.to_json() == migrate(copy.deepcopy(data))      # keys and values as stored, plus the new ones
        assert json.loads(json.dumps(rec.to_json())) == rec.to_json()


def test_typed_access_instead_of_string_keys():
    rec = load_typed(next(E2E.rglob("*--batch.json")))
    assert rec.path.endswith("--batch.json") and rec.workload.backend == "openai"
    its = rec.measured
    assert len(its) == 2 and all(it.measured for it in its) and rec.iterations[0].warmup
    assert its[0].energy["system"].basis == "declared" and its[0].energy["system"].watts(1.0) == 180.0
    assert len(its[0].requests) == 8 and its[0].metrics["output_tok_s"] > 0
    assert rec.warning_codes == ["hit_token_limit", "power_estimated"]


def test_unknown_keys_survive():
    data = _raw()[0]
    data["from_the_future"] = {"x": 1}
    data["iterations"][0]["extra"] = 2
    out = from_json(data).to_json()
    assert out["from_the_future"] == {"x": 1} and out["iterations"][0]["extra"] == 2


@pytest.mark.parametrize("change, field, what", [
    (lambda r: r.pop("run_id"), "run_id", "missing"),
    (lambda r: r.update(status="done"), "status", "unknown status 'done'"),
    (lambda r: r["iterations"][2].update(duration_s="slow"), "iterations.2.duration_s", "expected a number"),
    (lambda r: r["iterations"][1]["energy"]["system"].update(joules=[1]), "iterations.1.energy.system.joules",
     "expected a number"),
    (lambda r: r.update(schema_version=99), "schema_version", "newer than this benchbench understands"),
])
def test_a_bad_record_is_one_line_naming_the_field(tmp_path, change, field, what):
    data = _raw()[0]
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(RecordError) as err:
        load_typed(path)
    assert err.value.field == field and what in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"{field}: ")
    skipped = []
    assert load_typed_records([tmp_path], on_skip=lambda p, why: skipped.append(f"{p}: {why}")) == []
    assert skipped == [f"{path}: {field}: {err.value.reason}"]


def test_idle_records_are_typed():
    rec = from_json({"schema_version": 1, "type": "idle", "run_id": "i", "status": "complete",
                     "machine": {"name": "box"}, "idle": {"system": 50.0, "gpu0": 9.0}, "system_basis": "wall"})
    assert isinstance(rec, IdleRecord) and rec.idle["system"] == 50.0 and rec.schema_version == SCHEMA_VERSION


def _llm(backend: str, metrics: dict, raw: dict | None = None, duration_s: float = 2.0) -> dict:
    it = {"index": 1, "warmup": False, "duration_s": duration_s, "metrics": metrics, "energy": {}}
    if raw:
        it["raw"] = raw
    return {"schema_version": 1, "type": "run", "run_id": "r", "status": "complete", "machine": {"name": "m"},
            "workload": {"name": "w", "kind": "llm", "backend": backend}, "iterations": [it], "warnings": []}


def test_update_to_2_computes_throughput_from_what_the_record_holds():
    # Ollama at concurrency 2: the per-request counts are in raw.requests; tg_tok_s gets (n − 1) ÷ eval time
    raw = {"requests": [{"metrics": {"gen_tokens": 11, "gen_s": 1.0, "prompt_tokens": 5}},
                        {"metrics": {"gen_tokens": 21, "gen_s": 2.0, "prompt_tokens": 7}}]}
    rec = update_to_2(_llm("ollama", {"gen_tokens": 16, "tg_tok_s": 10.75, "concurrency": 2}, raw))
    m = rec["iterations"][0]["metrics"]
    assert (m["output_tokens"], m["input_tokens"], m["total_tokens"]) == (32, 12, 44)
    assert m["output_tok_s"] == 16.0 and m["total_tok_s"] == 22.0
    assert m["tg_tok_s"] == 10.0 and raw["requests"][0]["metrics"]["gen_s"] == 1.0   # the input is not changed
    assert rec["warnings"] == []
    # transformers: output_tokens was recorded; gen_tokens counted the decode steps
    rec = update_to_2(_llm("transformers", {"gen_tokens": 3, "output_tokens": 4, "prompt_tokens": 8}))
    m = rec["iterations"][0]["metrics"]
    assert (m["gen_tokens"], m["output_tok_s"], m["total_tokens"]) == (4, 2.0, 12)


def test_update_to_2_marks_what_it_cannot_know():
    rec = update_to_2(_llm("openai", {"gen_tokens": 10.0, "concurrency": 4}))     # a mean, no per-request counts
    assert rec["iterations"][0]["metrics"]["output_tok_s"] is None
    assert [w["code"] for w in rec["warnings"]] == [THROUGHPUT_UNKNOWN]
    assert "iteration(s) 1" in rec["warnings"][0]["message"]


def test_update_to_2_adds_the_system_channel_by_the_monitors_rule():
    rec = _llm("openai", {"gen_tokens": 10, "output_tokens": 10})
    rec["machine"]["profile"] = {"non_gpu_overhead_w": 50.0, "load_w": 300.0}
    rec["iterations"][0]["energy"] = {"gpu0": {"joules": 200.0, "avg_w": 100.0, "source": "counter"}}
    system = update_to_2(rec)["iterations"][0]["energy"]["system"]
    assert system == {"joules": 300.0, "avg_w": 150.0, "source": "estimated", "basis": "gpu+overhead",
                      "overhead_w": 50.0}
    rec["iterations"][0]["energy"] = {}
    assert update_to_2(rec)["iterations"][0]["energy"]["system"]["basis"] == "declared"


def test_dict_loader_and_typed_loader_agree():
    dicts = load_records([E2E])
    typed = load_typed_records([E2E])
    assert [d["run_id"] for d in dicts] == [t.run_id for t in typed]
    assert all(d["_path"] == t.path for d, t in zip(dicts, typed))


def test_the_report_says_when_an_old_records_throughput_is_unknown(cli, tmp_path):
    from analysis_helpers import llm_run, write_run

    rec, _ = llm_run(gpu_w=200, wall_w=300)
    rec["schema_version"] = 1                      # written before Part 10: no output tokens, 4 streams
    for it in rec["iterations"]:
        for key in ("output_tokens", "output_tok_s", "total_tokens", "total_tok_s"):
            it["metrics"].pop(key, None)
        it["metrics"]["concurrency"] = 4
    write_run(tmp_path / "results", rec)
    code, out, _ = cli("report", tmp_path / "results", "--no-reference", "--format", "md")
    assert code == 0 and "throughput\\_unknown" in out and "Run the suite again" in out
    llm = [line for line in out.splitlines() if line.startswith("| llama3.1:8b")]
    assert llm and "throughput\\_unknown" in llm[0]
    # no energy per token, no cost per token anywhere: unknown, not guessed from one stream's speed
    assert "J/token" not in out and "USD/Mtok" not in out
