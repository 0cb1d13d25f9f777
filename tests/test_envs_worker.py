"""The worker protocol through the runner, without building an environment: the worker is this
machine's base interpreter started with -S -s (no site-packages at all), which also proves that the
worker's import path is the standard library plus benchbench's light modules."""

from __future__ import annotations

import time

import pytest
from env_helpers import probe_entry, probe_suite, register_probe

from benchbench import metrics
from benchbench import runner as runner_module
from benchbench.envs.process import WorkerFailure, rebuild_error
from benchbench.envs.proxy import EnvWorkload
from benchbench.envs.spec import base_executable
from benchbench.errors import UserError, WorkloadError
from benchbench.metrics import UnregisteredMetric
from benchbench.record import load_records
from benchbench.record_model import from_json
from benchbench.suite import load_suite
from benchbench.workloads import get_backend


class FakeMonitor:
    """The monitor contract (power/monitor.py) with a clock: when mark() and energy() were called."""

    def __init__(self) -> None:
        self.marks: list[float] = []
        self.windows: list[tuple[float, float]] = []
        self.placements: list[tuple[list[str], str | None]] = []

    def __enter__(self) -> FakeMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def mark(self) -> None:
        self.marks.append(time.monotonic())

    def energy(self, t0: float, t1: float) -> dict:
        self.windows.append((t0, t1))
        return {}

    def record_section(self) -> dict:
        return {"samplers": []}

    def save_samples(self, path) -> None:
        return None

    def run_warnings(self, iterations, devices, compute_device=None) -> list:
        self.placements.append((devices, compute_device))
        return []


@pytest.fixture
def bare(monkeypatch):
    """Workloads whose name ends in `-w` run in a bare worker; the others in this process."""
    register_probe(monkeypatch)
    real = runner_module.open_workload

    def open_workload(spec, say=None):
        if spec.name.endswith("-w"):
            return EnvWorkload(spec, get_backend(spec.kind, spec.backend), None, python=base_executable(),
                               python_flags=("-s", "-S"))
        return real(spec, say)

    monkeypatch.setattr(runner_module, "open_workload", open_workload)
    monitor = FakeMonitor()
    monkeypatch.setattr(runner_module, "build_monitor", lambda config, profile=None: monitor)
    return monitor


def _records(folder) -> dict[str, dict]:
    return {r["workload"]["name"]: r for r in load_records([folder]) if r.get("type", "run") == "run"}


def test_worker_runs_with_the_standard_library_alone(bare, write, cli, tmp_path):
    suite = probe_suite(write, probe_entry("probe-w", package="wave", sleep_s=0.05), warmups=1, repetitions=2)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    rec = _records(tmp_path / "r")["probe-w"]
    facts = rec["workload"]["facts"]
    assert facts["third_party_modules"] == [] and facts["executable"] == base_executable()
    assert facts["sees_tests_folder"] is False   # the backend's package is imported by its path alone
    assert facts["worker"]["shared_clock"] is True and facts["worker"]["ping_s"] > 0
    assert facts["env"] == {"name": None, "python": base_executable()}
    pids = {it["raw"]["pid"] for it in rec["iterations"]}
    assert pids == {facts["pid"]} and facts["pid"] == facts["worker"]["pid"]


def test_timing_and_energy_edges_come_from_the_worker(bare, write, cli, tmp_path):
    suite = probe_suite(write, probe_entry("probe-w", package="wave", sleep_s=0.05), warmups=1, repetitions=2)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    its = _records(tmp_path / "r")["probe-w"]["iterations"]
    assert [w for w in bare.windows] == [(it["mono_start_s"], it["mono_end_s"]) for it in its]
    for it in its:
        start, end = it["mono_start_s"], it["mono_end_s"]
        assert it["duration_s"] == pytest.approx(end - start, abs=1e-9)
        assert it["wall_s"] >= it["duration_s"] >= it["metrics"]["gen_s"] >= 0.05   # the law: sleep_s
        # the runner marks before sending, the worker's start event marks again inside the window
        assert any(start <= m <= end for m in bare.marks)
        assert it["metrics"]["audio_s"] == pytest.approx(len("hello there") / 100)
        assert it["metrics"]["sample_rate"] == 8000 and it["artifacts"] == [f"{it_stem(it)}.wav"]


def test_worker_iterations_are_typed_records_with_throughput_over_the_workers_window(bare, write, cli, tmp_path):
    """wall_s is a registered iteration field; output_tok_s = output_tokens ÷ duration_s (the worker's window,
    the one energy is integrated over), never ÷ wall_s; an in-process twin records no wall_s."""
    suite = probe_suite(write, probe_entry("tok-w", package="wave", sleep_s=0.05, tokens=40),
                        probe_entry("tok", package="wave", sleep_s=0.05, tokens=40), warmups=0, repetitions=2)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    recs = _records(tmp_path / "r")
    wall = metrics.get("wall_s")
    assert (wall.scope, wall.unit) == ("iteration", "s")
    typed = from_json(recs["tok-w"])
    for it, typed_it in zip(recs["tok-w"]["iterations"], typed.iterations, strict=True):
        assert typed_it.wall_s == it["wall_s"] >= typed_it.duration_s == it["duration_s"]
        assert it["metrics"]["output_tokens"] == 40
        assert it["metrics"]["output_tok_s"] == pytest.approx(40 / it["duration_s"], rel=1e-9)
    for it in recs["tok"]["iterations"]:
        assert "wall_s" not in it
        assert it["metrics"]["output_tok_s"] == pytest.approx(40 / it["duration_s"], rel=1e-9)


@pytest.mark.parametrize("name,why", [("not_a_metric_s", "unregistered metric(s) not_a_metric_s"),
                                      ("tg_tok_s", "emitted tg_tok_s without declaring")])
def test_strict_metric_checks_hold_for_worker_results_as_in_process(bare, write, cli, tmp_path, name, why):
    """An unregistered name fails in the worker (the IterationResult is built there), a registered one the
    backend did not declare fails in the runner against the proxy's `emits`: both as in this process."""
    suite = probe_suite(write, probe_entry("odd-w", package="wave", extra_metric=name),
                        probe_entry("odd", package="wave", extra_metric=name), warmups=0, repetitions=1)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 1
    recs = _records(tmp_path / "r")
    for workload in ("odd-w", "odd"):
        (error,) = recs[workload]["errors"]
        assert error["type"] == "UnregisteredMetric" and why in error["message"], (workload, error)


def test_the_proxy_declares_its_backends_metrics_and_answers_doctor_for_it(monkeypatch, write):
    register_probe(monkeypatch)
    suite = load_suite(probe_suite(write, probe_entry("p-w", package="wave")))
    cls = get_backend("tts", "version-probe")
    proxy = EnvWorkload(suite.workloads[0], cls, None, python=base_executable())   # starts no worker
    assert proxy.emits == cls.emits and "output_tokens" in proxy.emits and metrics.unknown(proxy.emits) == []
    assert proxy.doctor(suite.workloads) == cls.doctor(suite.workloads) == {"probes": ["p-w: reads wave"]}
    assert proxy.worker is None


def test_library_warnings_and_the_compute_device_come_back_from_the_worker(bare, write, cli, tmp_path):
    """Python warnings the worker's libraries raise land in the record's library_warnings, off the terminal,
    exactly as an in-process twin's; the worker's PyTorch device reaches the monitor's checks."""
    text = "probe_call() is deprecated"
    # `mps`: a device name the bare worker (no torch) can carry without a check needing torch
    suite = probe_suite(write, probe_entry("warn-w", package="wave", warn=f'"{text}"', device="mps"),
                        probe_entry("warn", package="wave", warn=f'"{text}"', device="mps"), warmups=1,
                        repetitions=2)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    assert text not in err
    recs = _records(tmp_path / "r")
    (worker,), (here,) = recs["warn-w"]["library_warnings"], recs["warn"]["library_warnings"]
    assert worker == here
    assert worker["category"] == "ProbeWarning" and worker["message"] == text
    assert worker["where"].startswith("backend.py:") and worker["count"] >= 1
    assert bare.placements == [([], "mps"), ([], "mps")]


def it_stem(it: dict) -> str:
    return it["artifacts"][0].rsplit(".", 1)[0]


def test_library_output_never_reaches_the_protocol(bare, write, cli, tmp_path):
    suite = probe_suite(write, probe_entry("probe-w", package="wave", chatter="true"), warmups=0, repetitions=2)
    code, out, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    assert "library chatter on stdout during setup" in err and "raw bytes on fd 1 {not json}" in err
    assert err.count("chatter during run_once") == 2 and "chatter" not in out
    assert _records(tmp_path / "r")["probe-w"]["status"] == "complete"


def test_an_error_in_the_worker_fails_that_iteration_and_the_suite_goes_on(bare, write, cli, tmp_path):
    suite = probe_suite(write, probe_entry("bad-w", package="wave", fail_at=1),
                        probe_entry("good", package="wave"), warmups=1, repetitions=2)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 1
    recs = _records(tmp_path / "r")
    bad = recs["bad-w"]
    assert bad["status"] == "failed"
    assert [it.get("error") for it in bad["iterations"]] == [None, "probe failed on purpose in iteration 1", None]
    assert recs["good"]["status"] == "complete"


def test_a_worker_crash_fails_that_iteration_with_its_last_line_then_a_new_worker_goes_on(bare, write, cli,
                                                                                        tmp_path):
    suite = probe_suite(write, probe_entry("crash-w", package="wave", crash_at=1), warmups=1, repetitions=2)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 1
    its = _records(tmp_path / "r")["crash-w"]["iterations"]
    error = its[1]["error"]
    assert "exit code 7" in error and "during run_once" in error
    assert error.endswith("fatal: probe crashed on purpose in iteration 1")
    assert its[0]["raw"]["pid"] != its[2]["raw"]["pid"]
    assert [w["code"] for w in its[2]["warnings"]] == ["worker_restarted"]


def test_a_backend_bug_in_the_worker_fails_the_workload_with_its_traceback(bare, write, cli, tmp_path):
    suite = probe_suite(write, probe_entry("bug-w", package="no_such_module_here"),
                        probe_entry("good", package="wave"), warmups=0, repetitions=1)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 1
    recs = _records(tmp_path / "r")
    (error,) = recs["bug-w"]["errors"]
    assert error["type"] == "ModuleNotFoundError"   # as in this process
    assert error["message"] == "ModuleNotFoundError: No module named 'no_such_module_here'"
    assert "in the worker:" in error["traceback"] and "envprobe/backend.py" in error["traceback"]
    assert recs["good"]["status"] == "complete"


def test_errors_cross_the_protocol_as_the_same_class():
    exc = rebuild_error({"type": "UserError", "bench": True, "message": "speaker 'X' is not in this model",
                         "fields": {"file": None, "line": None, "field": "speaker", "hint": "one of: eric"}})
    assert isinstance(exc, UserError) and str(exc) == "speaker: speaker 'X' is not in this model (one of: eric)"
    exc = rebuild_error({"type": "SomethingOfAPlugin", "bench": True, "message": "m"})
    assert type(exc) is WorkloadError and str(exc) == "m"
    exc = rebuild_error({"type": "KeyError", "bench": False, "message": "'x'", "traceback": "Traceback..."})
    assert isinstance(exc, WorkerFailure) and type(exc).__name__ == "KeyError" and str(exc) == "'x'"
    assert exc.__notes__ == ["in the worker:\nTraceback..."]
    exc = rebuild_error({"type": "UnregisteredMetric", "bench": False, "message": "unregistered metric(s) x_s",
                         "traceback": "Traceback..."})
    assert type(exc) is UnregisteredMetric and str(exc) == "unregistered metric(s) x_s"


def test_dry_run_says_where_a_workload_runs(monkeypatch, write, cli, tmp_path):
    register_probe(monkeypatch)
    monkeypatch.setenv("BENCHBENCH_ENV_DIR", str(tmp_path / "envs"))
    suite = probe_suite(write, probe_entry("here"), probe_entry("there", env="{requirements: [iniconfig==1.1.1]}"))
    code, out, err = cli("run", suite, "--dry-run")
    assert code == 0, err
    assert "in environment version-probe-" in out and "(built on first run): iniconfig==1.1.1" in out
    assert not (tmp_path / "envs").exists()   # a dry run builds nothing
