"""Signals at every phase boundary, in real processes (tests/signal_helpers.py makes a benchbench
process signal itself exactly at one boundary): exit 128 + the signal, one `interrupted by ...` line
(with the resume hint for `run`), no traceback, no "Exception ignored", every record valid and
honest (never "sampler unavailable" because of a signal), no temporary file left; a sampler child
process dies with a SIGKILLed benchbench."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from benchbench.record import load_record

HELPER = Path(__file__).resolve().parent / "signal_helpers.py"
INT, TERM = signal.SIGINT, signal.SIGTERM
# phase → (signal, records expected complete, records expected interrupted)
RUN_POINTS = [
    ("startup", INT, 0, 0), ("startup", TERM, 0, 0),
    ("fingerprint", INT, 0, 0),
    ("sampler-start", INT, 0, 1), ("sampler-start", TERM, 0, 1),
    ("setup", INT, 0, 1), ("setup", TERM, 0, 1),
    ("iteration", INT, 0, 1),
    ("save", INT, 0, 1), ("save", TERM, 0, 1),
    ("after-last-iteration", INT, 0, 1),
    ("between-workloads", INT, 1, 0), ("between-workloads", TERM, 1, 0),
    ("sampler-start-2", INT, 1, 1), ("sampler-start-2", TERM, 1, 1),
    ("summary", INT, 2, 0), ("summary", TERM, 2, 0),
    ("double", INT, 0, 1),
]
REPORT_POINTS = [("report-writing", INT), ("report-writing", TERM), ("report-summary", INT), ("report-summary", TERM)]


def _helper(phase: str, sig: int, workdir: Path, command: str = "run", **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HELPER.parent)]), "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, str(HELPER), phase, str(int(sig)), str(workdir), command],
                            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _records(workdir: Path) -> list[dict]:
    return [load_record(p) for p in sorted((workdir / "results").rglob("*.json"))]


def _assert_clean_exit(code: int, err: str, sig: int) -> None:
    assert code == 128 + sig, err
    assert "Traceback" not in err and "Exception ignored" not in err and "KeyboardInterrupt" not in err
    name = signal.Signals(sig).name
    assert f"interrupted by {name}" in err


@pytest.mark.parametrize("phase, sig, complete, interrupted", RUN_POINTS,
                         ids=[f"{p}-{signal.Signals(s).name}" for p, s, _, _ in RUN_POINTS])
def test_a_signal_at_each_phase_of_a_run(tmp_path, phase, sig, complete, interrupted):
    code, out, err = _finish(_helper(phase, sig, tmp_path))
    assert f"PHASE-REACHED {phase if not phase.startswith('sampler-start') else 'sampler-open'}" in err
    _assert_clean_exit(code, err, sig)
    assert "--resume latest" in out + err
    recs = _records(tmp_path)
    statuses = sorted(r["status"] for r in recs)
    assert statuses == sorted(["complete"] * complete + ["interrupted"] * interrupted), statuses
    for rec in recs:
        power = rec.get("power") or {}
        assert not power.get("unavailable") and not power.get("skipped"), power   # a signal is not a sampler problem
        assert "signal" not in str(rec.get("errors")) and "signal" not in str(power)
        done = [it["index"] for it in rec["iterations"]]
        assert done == list(range(len(done)))
        if rec["iterations"]:   # samples are kept as they are taken, interrupted or not
            assert power.get("samples") and (tmp_path / "results").rglob(power["samples"])
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_signal_while_stopping_is_absorbed(tmp_path):
    code, out, err = _finish(_helper("double", INT, tmp_path))
    assert "PHASE-REACHED second" in err and "still saving what finished" in err
    _assert_clean_exit(code, err, INT)


def test_a_signal_during_interpreter_exit_is_only_noted(tmp_path):
    code, out, err = _finish(_helper("atexit", INT, tmp_path))
    assert "PHASE-REACHED atexit" in err
    assert code == 0 and "Exception ignored" not in err and "Traceback" not in err
    assert sorted(r["status"] for r in _records(tmp_path)) == ["complete", "complete"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("finished")
    code, _, err = _finish(_helper("none", INT, workdir))
    assert code == 0, err
    return workdir


@pytest.mark.parametrize("phase, sig", REPORT_POINTS, ids=[f"{p}-{signal.Signals(s).name}" for p, s in REPORT_POINTS])
def test_a_signal_while_reporting(finished_run, tmp_path, phase, sig):
    import shutil

    shutil.copytree(finished_run / "results", tmp_path / "results")
    code, out, err = _finish(_helper(phase, sig, tmp_path, "report"))
    assert f"PHASE-REACHED {phase}" in err
    _assert_clean_exit(code, err, sig)
    assert err.strip().splitlines()[-1] == f"interrupted by {signal.Signals(sig).name}"
    out_dir = tmp_path / "out"
    assert not out_dir.exists() or not any(out_dir.iterdir())        # no report, no temporary file
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_sampler_child_dies_with_a_sigkilled_benchbench(tmp_path):
    proc = _helper("sampler-child", INT, tmp_path)
    child = None
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("SAMPLER-CHILD"):
            child = int(line.split()[1])
        if line.startswith("HOLDING") or time.monotonic() > deadline:
            break
    assert child is not None and _alive(child)
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"sampler child {child} outlived benchbench"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def signal_points() -> int:
    """Distinct (phase, signal) points exercised here (the closing note quotes the figure)."""
    return len(RUN_POINTS) + len(REPORT_POINTS) + 3
