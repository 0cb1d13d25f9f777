"""Records with wrong types or shapes, beside a good one: `report` and `run --resume` skip each bad
file with exactly one line naming the file and the field, and go on; never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from analysis_helpers import idle_record, llm_run, write_run
from fakes_llm_servers import FakeOllama


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def apply(rec: dict) -> None:
        *keys, last = path.split("/")
        node: Any = rec
        for key in keys:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return apply


def _v1(change: Callable[[dict], None]) -> Callable[[dict], None]:
    """The change on a record of schema 1: the migration to schema 2 meets the wrong shape first."""
    def apply(rec: dict) -> None:
        rec["schema_version"] = 1
        change(rec)
    return apply


DELETE = object()
# case → (change to a good run record, or raw file text; a fragment of the skip reason)
CASES: dict[str, tuple[Any, str]] = {
    "schema_version_negative": (_set("schema_version", -1), "schema_version: expected a whole number from 0, found -1"),
    "schema_version_text": (_set("schema_version", "1"), "schema_version: expected a whole number from 0, found '1'"),
    "schema_version_bool": (_set("schema_version", True), "schema_version: expected a whole number from 0, found true"),
    "schema_version_future": (_set("schema_version", 99),
                              "schema_version: 99 is newer than this benchbench understands"),
    "params_string": (_set("workload/params", "model=x"), "workload.params: expected an object, found 'model=x'"),
    "workload_list": (_set("workload", ["x"]), "workload: expected an object, found ['x']"),
    "workload_name_number": (_set("workload/name", 7), "workload.name: expected text, found 7"),
    "machine_string": (_set("machine", "box"), "machine: expected an object, found 'box'"),
    "machine_name_list": (_set("machine/name", ["box"]), "machine.name: expected text, found ['box']"),
    "metrics_string": (_set("iterations/0/metrics", "fast"), "iterations.0.metrics: expected an object, found 'fast'"),
    "energy_list": (_set("iterations/1/energy", [1, 2]), "iterations.1.energy: expected an object, found [1, 2]"),
    "energy_channel_number": (_set("iterations/1/energy/gpu0", 12.5),
                              "iterations.1.energy.gpu0: expected an object, found 12.5"),
    "iteration_without_index": (_set("iterations/2/index", DELETE), "iterations.2.index: missing"),
    "index_string": (_set("iterations/0/index", "0"), "iterations.0.index: expected an integer, found '0'"),
    "index_bool": (_set("iterations/0/index", False), "iterations.0.index: expected an integer, found false"),
    "index_null": (_set("iterations/0/index", None), "iterations.0.index: expected an integer, found null"),
    "iteration_list": (_set("iterations/1", [0, 1]), "iterations.1: expected an object, found [0, 1]"),
    "iterations_mapping": (_set("iterations", {"0": {}}), "iterations: expected a list, found {'0': {}}"),
    "duration_text": (_set("iterations/0/duration_s", "3 s"),
                      "iterations.0.duration_s: expected a number, found '3 s'"),
    "warmup_text": (_set("iterations/0/warmup", "yes"), "iterations.0.warmup: expected true or false, found 'yes'"),
    "warning_without_code": (_set("warnings", [{"message": "slow"}]), "warnings.0.code: missing"),
    "warning_code_number": (_set("warnings", [{"code": 3}]), "warnings.0.code: expected text, found 3"),
    "warning_string": (_set("warnings", ["slow"]), "warnings.0: expected an object, found 'slow'"),
    "warnings_string": (_set("warnings", "slow"), "warnings: expected a list, found 'slow'"),
    "iteration_warning_without_code": (_set("iterations/1/warnings", [{"message": "x"}]),
                                       "iterations.1.warnings.0.code: missing"),
    "status_unknown": (_set("status", "done"), "status: unknown status 'done'"),
    "status_list": (_set("status", ["complete"]), "status: unknown status ['complete']"),
    "run_id_missing": (_set("run_id", DELETE), "run_id: missing"),
    "run_id_number": (_set("run_id", 5), "run_id: expected text, found 5"),
    "suite_string": (_set("suite", "s"), "suite: expected an object, found 's'"),
    "array_100000_deep": ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    "object_100000_deep": ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deep"),
    "array_600_deep": ('{"run_id": ' + "[" * 600 + "]" * 600 + "}", "nested too deep"),   # JSON reads it
    "truncated": ('{"schema_version": 1, "run_id": "x", "status": "comp', "not JSON"),
    "empty": ("", "not JSON"),
    "top_level_list": ("[1, 2]", "expected a JSON object, found [1, 2]"),
    "top_level_number": ("42", "expected a JSON object, found 42"),
    "latin1_bytes": (b'{"run_id": "caf\xe9"}', "cannot read"),
    "v1_raw_list": (_v1(_set("iterations/1/raw", [1])), "iterations.1.raw: expected an object, found [1]"),
    "v1_profile_string": (_v1(_set("machine/profile", "x")), "machine.profile: expected an object, found 'x'"),
    "v1_energy_list": (_v1(_set("iterations/1/energy", [1])), "iterations.1.energy: expected an object, found [1]"),
    "nan_duration": (_set("iterations/0/duration_s", float("nan")),
                     "iterations.0.duration_s: expected a finite number, found nan"),
}
IDLE_CASES: dict[str, tuple[Any, str]] = {
    "idle_string": (_set("idle", "92 W"), "idle: expected an object, found '92 W'"),
    "idle_value_text": (_set("idle/system", "92"), "idle.system: expected a number, found '92'"),
    "idle_machine_missing": (_set("machine", DELETE), "machine: missing"),
}


def _write_case(results, change: Any, idle: bool = False) -> None:
    folder = results / "box" / "s"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bad.json"
    if isinstance(change, bytes):
        path.write_bytes(change)
    elif isinstance(change, str):
        path.write_text(change)
    else:
        rec = idle_record("box", {"system": 92.0}) if idle else llm_run(warnings=("high_variance",))[0]
        rec["iterations" if not idle else "idle"] = rec.get("iterations" if not idle else "idle")
        if not idle:
            rec["iterations"][1]["warnings"] = [{"code": "x", "message": "y"}]
        change(rec)
        path.write_text(json.dumps(rec))


@pytest.mark.parametrize("case", sorted(CASES) + sorted(IDLE_CASES))
def test_report_skips_a_bad_record_with_one_line(tmp_path, cli, case):
    results = tmp_path / "results"
    write_run(results, llm_run(session="20250101T000000Z-good")[0])
    change, words = CASES.get(case) or IDLE_CASES[case]
    _write_case(results, change, idle=case in IDLE_CASES)
    code, out, err = cli("report", results)
    assert code == 0 and "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith(f"warning: {results / 'box' / 's' / 'bad.json'}: skipped (") and words in line, line
    assert "complete" in out                                       # the good record is still reported


@pytest.mark.parametrize("case", ["params_string", "iteration_without_index", "energy_list", "array_100000_deep"])
def test_resume_skips_a_bad_record_with_one_line(tmp_path, cli, case):
    with FakeOllama() as fake:
        suite = tmp_path / "s.yaml"
        suite.write_text(yaml.safe_dump({"name": "s", "warmups": 0, "repetitions": 3, "power": {"samplers": ["none"]},
                                         "workloads": [{"name": "w", "kind": "llm", "backend": "ollama",
                                                        "model": "llama3.2:3b", "host": fake.url, "max_tokens": 4}]}))
        results = tmp_path / "r"
        assert cli("run", suite, "--results", results)[0] == 0
        (good,) = results.rglob("*.json")
        change, words = CASES[case]
        bad = good.with_name("bad.json")
        if isinstance(change, str):
            bad.write_text(change)
        else:
            rec = json.loads(good.read_text())
            rec["run_id"] += "-copy"
            change(rec)
            bad.write_text(json.dumps(rec))
        code, out, err = cli("run", suite, "--results", results, "--resume", "latest")
    assert code == 0 and "Traceback" not in err
    skips = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(skips) == 1 and str(bad) in skips[0] and words in skips[0]
    assert "already complete" in err


def count_cases() -> int:
    return len(CASES) + len(IDLE_CASES)
