"""One job, two sides: the suite the server writes for it, and the subprocess that runs it.

The subprocess (`python -m benchbench.serve.job SUITE --results DIR --out RESULT`) runs the
generated one-entry suite (`kind: video, backend: ltx2`, 0 warmups, 1 repetition) through the
normal runner, so the job leaves a result record and its MP4 under `results/` like any run, then
writes a small YAML summary for the server. The function it calls is `run_suite` unless
`BENCHBENCH_SERVE_JOB_ENTRY=module:function` names another (tests use that to make jobs crash).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .. import signals
from ..errors import BenchError, Interrupted, UserError
from ..profile import resolve_profile
from ..progress import Progress
from ..record import load_record
from ..redact import redact, redacted_streams
from ..runner import Runner, RunOptions
from ..suite import load_suite
from .config import JOB_ENTRY_ENV, ServeConfig
from .store import Job

SUITE_NAME = "serve-video"
DURATION_KEY = "seconds"          # the ltx2 key the form field `duration` maps to
PARENT_GRACE_S = 30.0             # after the server dies: time to save an interrupted record


# --- server side -------------------------------------------------------------------------------
def suite_data(config: ServeConfig, job: Job, job_dir: Path) -> dict[str, Any]:
    """The one-entry suite that runs this job with the `ltx2` workload."""
    entry: dict[str, Any] = {"name": f"job-{job.id}", "kind": "video", "backend": "ltx2"}
    if config.model:
        entry["model"] = config.model
    if config.devices:
        entry["devices"] = list(config.devices)
    entry.update(config.workload)
    entry.update({"prompt": job.prompt, DURATION_KEY: job.duration_s, "seed": job.seed})
    if job.image:  # relative to the suite file, so the prepared folder can move into place
        entry["image"] = job.image
    data: dict[str, Any] = {"name": SUITE_NAME, "description": f"job {job.id} served by benchbench serve-video",
                            "warmups": 0, "repetitions": 1, "power": {"samplers": list(config.power)}}
    if config.machine:
        data["machine"] = config.machine
    data["workloads"] = [entry]
    return data


def write_suite(config: ServeConfig, job: Job, job_dir: Path) -> Path:
    """Write and validate the job's suite (a bad combination is a UserError before queueing)."""

    job_dir.mkdir(parents=True, exist_ok=True)
    path = job_dir / "suite.yaml"
    path.write_text(yaml.safe_dump(suite_data(config, job, job_dir), sort_keys=False), encoding="utf-8")
    load_suite(path)
    return path


def command(config: ServeConfig, suite: Path, out: Path) -> list[str]:
    """The argv of a job subprocess."""
    return [config.python, "-m", "benchbench.serve.job", str(suite), "--results",
            str(Path(config.results).resolve()), "--out", str(out)]


def child_env() -> dict[str, str]:
    """The server's environment, with this benchbench importable from anywhere."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def read_result(path: Path) -> dict[str, Any] | None:
    """The subprocess's summary, or None when it wrote none (it crashed)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


# --- subprocess side ---------------------------------------------------------------------------
def run_suite(suite_path: Path, results: Path) -> dict[str, Any]:
    """Run the job's suite with the normal runner; summarize its record for the server."""

    suite = load_suite(suite_path)
    profile = resolve_profile(suite.machine, suite_path) if suite.machine else None
    runner = Runner(suite, profile, RunOptions(results=results), Progress(stream=sys.stderr))
    outcome = runner.run()
    if outcome.interrupted:
        raise Interrupted(outcome.signum, "the job was interrupted")
    return summarize(load_record(outcome.paths[0]), results)


def summarize(record: dict[str, Any], results: Path) -> dict[str, Any]:
    """status, record and MP4 paths (relative to results), the clip's metrics and any error."""
    path = Path(record["_path"])
    its = [it for it in record["iterations"] if not it.get("warmup")]
    it = its[-1] if its else {}
    videos = [a for a in it.get("artifacts", []) if a.endswith(".mp4")]
    out: dict[str, Any] = {"status": record["status"], "run_id": record["run_id"],
                           "record": _rel(path, results),
                           "video": _rel(path.parent / videos[0], results) if videos else None,
                           "metrics": it.get("metrics", {}), "energy": it.get("energy", {})}
    errors = [e.get("message", "") for e in record.get("errors", [])]
    if errors:
        out["error"] = "; ".join(errors)
    elif record["status"] == "complete" and not videos:
        why = [w["message"] for w in it.get("warnings", []) if w.get("code") == "artifact_not_saved"]
        out["status"], out["error"] = "failed", "; ".join(why) or "the pipeline finished but wrote no MP4"
    return out


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(base).resolve()))
    except ValueError:
        return str(path.resolve())


def load_entry(ref: str | None) -> Callable[[Path, Path], dict[str, Any]]:
    """`module:function` → the function (default: run_suite)."""
    if not ref:
        return run_suite
    module, _, name = ref.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError(f"cannot load {ref!r}: {exc}", field=JOB_ENTRY_ENV) from None


def watch_parent(grace_s: float = PARENT_GRACE_S) -> None:
    """When the server dies, interrupt this job (the runner saves its record), then exit."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    with redacted_streams(), signals.handled():   # the job's log is read back by the server
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchbench.serve.job")
    parser.add_argument("suite", type=Path)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    watch_parent()
    try:
        result = load_entry(os.environ.get(JOB_ENTRY_ENV))(args.suite, args.results)
    except (BenchError, Interrupted) as exc:
        result = {"status": "failed", "error": str(exc) or type(exc).__name__}
    args.out.write_text(yaml.safe_dump(redact(result), sort_keys=False), encoding="utf-8")
    print(f"job {result.get('status')}: {result.get('error') or result.get('record')}", file=sys.stderr)
    return 0 if result.get("status") == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())
