"""The runner: workloads × matrix → warmups + repetitions → one record per run, saved as it goes."""

from __future__ import annotations

import signal
import time
import traceback
import warnings as pywarnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, signals
from . import fingerprint as fp
from .envs import describe_choice, open_workload
from .errors import BenchError, Interrupted, UserError
from .metrics import check_declared, strict
from .power import build_monitor
from .power.idle import idle_fields
from .profile import MachineProfile
from .progress import Progress
from .record import (
    SCHEMA_VERSION,
    clean_floats,
    clean_stale_temp,
    new_session_id,
    run_path,
    run_slug,
    save_record,
    session_lock,
    skip_line,
    utc_now,
)
from .record_model import from_json
from .redact import redact
from .run_checks import library_warnings, variance_warnings
from .sessions import pick_session, suite_records
from .suite import Suite, WorkloadSpec
from .warning_levels import WARNING
from .workloads import get_backend
from .workloads.base import IterationContext, Workload, measured_window

MAX_CONSECUTIVE_ERRORS = 2


@dataclass
class RunOptions:
    results: Path = Path("results")
    resume: str | None = None
    only: str | None = None


@dataclass
class RunOutcome:
    paths: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    interrupted: bool = False
    session_id: str = ""
    bad_input: list[str] = field(default_factory=list)   # failed on a UserError (e.g. model not here)
    signum: int = signal.SIGINT                          # the signal that interrupted the run

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.interrupted else (2 if self.bad_input else 1 if self.failed else 0)


def interrupt_signals() -> Any:
    """SIGINT and SIGTERM raise Interrupted while a suite runs (see benchbench.signals)."""
    return signals.handled()


def signals_deferred() -> Any:
    """A signal arriving while a record is saved waits until it is saved."""
    return signals.deferred()


class Runner:
    """Runs a validated suite on this machine and writes its records."""

    def __init__(self, suite: Suite, profile: MachineProfile | None, options: RunOptions,
                 progress: Progress | None = None) -> None:
        self.suite = suite
        self.profile = profile
        self.options = options
        self.progress = progress or Progress()
        self.fingerprint = fp.collect()
        self.machine = fp.machine_name(profile.name if profile else None, self.fingerprint)
        self.folder = run_path(options.results, self.machine, suite.name, "x").parent
        self._skipped: set[Path] = set()

    # --- planning ------------------------------------------------------------------------
    def plan(self) -> list[dict[str, Any]]:
        """The expanded plan, for --dry-run; loads no model."""
        rows = []
        for spec in self.suite.select(self.options.only):
            cls = get_backend(spec.kind, spec.backend)
            where = describe_choice(spec.params, cls)
            row = {"name": spec.name, "kind": spec.kind, "backend": spec.backend,
                   "warmups": spec.warmups, "repetitions": spec.repetitions, "params": spec.params,
                   "available": where or cls.availability() or "yes"}
            row["plan"] = cls(spec).plan()
            rows.append(row)
        return rows

    # --- running -------------------------------------------------------------------------
    def run(self) -> RunOutcome:
        specs = self.suite.select(self.options.only)
        session_id = self._pick_session()
        outcome = RunOutcome(session_id=session_id)
        with interrupt_signals(), session_lock(self.folder, session_id):
            try:   # a signal at any point (set-up, an iteration, between workloads) ends the loop here
                clean_stale_temp(self.folder)
                existing = self._session_state(session_id) if self.options.resume else {}
                self._run_all(specs, existing, session_id, outcome)
            except Interrupted as exc:
                outcome.interrupted, outcome.signum = True, exc.signum
        return outcome

    def _run_all(self, specs: list[WorkloadSpec], existing: dict[str, tuple[dict, Path]], session_id: str,
                 outcome: RunOutcome) -> None:
        for spec in specs:
            record, path = existing.get(spec.name) or self._new_record(spec, session_id)
            outcome.paths.append(path)
            if record["status"] == "complete" and not self._missing(record, spec):
                self.progress.line(f"[{spec.name}] already complete in {path.name}; skipped")
                continue
            self._run_spec(spec, record, path)
            if record["status"] != "complete":
                outcome.failed.append(spec.name)
                if any(e.get("type") == "UserError" for e in record["errors"]):
                    outcome.bad_input.append(spec.name)

    def _suite_records(self) -> list[dict[str, Any]]:
        def skipped(path: Path, why: str) -> None:   # one line per bad file, then go on without it
            if path not in self._skipped:
                self._skipped.add(path)
                self.progress.line(f"warning: {skip_line(path, why)}")

        return suite_records(self.folder, self.suite.name, skipped)

    def _pick_session(self) -> str:
        """A new session id, or the one `--resume` names (latest: the one started last)."""
        ref = self.options.resume
        return pick_session(ref, self._suite_records(), self.folder) if ref else new_session_id()

    def _session_state(self, session: str) -> dict[str, tuple[dict, Path]]:
        """The session's records, read again once its lock is held (what another run saved counts)."""
        chosen = {}
        for r in self._suite_records():
            if r.get("session_id") == session and r["workload"].get("name"):
                self._check_same(r)
                chosen[r["workload"]["name"]] = (r, Path(r.pop("_path")))
        self.progress.line(f"resuming session {session}")
        return chosen

    def _check_same(self, record: dict[str, Any]) -> None:
        spec = next((s for s in self.suite.workloads if s.name == record["workload"]["name"]), None)
        if spec is not None and redact(clean_floats(spec.params)) != record["workload"]["params"]:
            raise UserError(f"workload `{spec.name}` changed since run {record['run_id']}",
                            file=str(self.suite.path), line=spec.line, field="--resume",
                            hint="start a new run instead of resuming")

    def _new_record(self, spec: WorkloadSpec, session_id: str) -> tuple[dict, Path]:
        run_id = f"{session_id}--{run_slug(spec.name, redact(clean_floats(spec.params)))}"
        path = run_path(self.options.results, self.machine, self.suite.name, run_id)
        record = {
            "schema_version": SCHEMA_VERSION, "type": "run", "run_id": run_id,
            "session_id": session_id, "status": "interrupted", "started_at": utc_now(),
            "finished_at": None, "benchbench_version": __version__,
            "suite": self.suite.to_record(),
            "machine": {"name": self.machine,
                        "profile": self.profile.to_record() if self.profile else None,
                        "fingerprint": self.fingerprint},
            "workload": {**spec.to_record(), "facts": {}},
            "iterations": [], "power": None, "idle": None, "warnings": [], "errors": [],
            "resumes": [],
        }
        return record, path

    @staticmethod
    def _missing(record: dict[str, Any], spec: WorkloadSpec) -> list[int]:
        done = {it["index"] for it in record["iterations"] if not it.get("error")}
        return [i for i in range(spec.warmups + spec.repetitions) if i not in done]

    def _run_spec(self, spec: WorkloadSpec, record: dict[str, Any], path: Path) -> None:
        """One suite entry; the Python warnings its libraries raise (deprecations...) go to the record's
        `library_warnings`, not to the terminal."""
        with pywarnings.catch_warnings(record=True) as caught:
            pywarnings.simplefilter("default")
            try:
                self._run_spec_inner(spec, record, path)
            finally:
                if caught:
                    record["library_warnings"] = library_warnings(caught)
                    self._save(record, path)

    def _run_spec_inner(self, spec: WorkloadSpec, record: dict[str, Any], path: Path) -> None:
        todo = self._missing(record, spec)
        total = spec.warmups + spec.repetitions
        dropped = [it for it in record["iterations"] if it.get("error")]
        record["iterations"] = [it for it in record["iterations"] if not it.get("error")]
        record["errors"] = []
        record["status"] = "interrupted"
        rerun = 0
        if len(todo) < total:
            rerun = spec.warmups if any(i >= spec.warmups for i in todo) and not all(
                i in todo for i in range(spec.warmups)) else 0
        if len(todo) < total or dropped:
            record["resumes"].append({"at": utc_now(), "missing": todo, "warmups_rerun": rerun})
            if dropped:   # redone now; what they had finished stays on record
                record["resumes"][-1]["replaced"] = dropped
        workload: Workload | None = None
        monitor: Any = None
        self._samples = path.with_name(f"{record['run_id']}.power{len(record['resumes']) or ''}.csv")
        self.progress.start_workload(spec.name, total, total - len(todo))
        try:
            workload = open_workload(spec, self.progress.line)   # in-process, or a worker in its env
            monitor = build_monitor(self.suite.power, self.profile)
            with monitor:
                self._setup(workload, record)
                for _ in range(rerun):
                    self._warm_again(workload, path, record)
                self._iterations(workload, spec, record, path, monitor, todo, total)
                self._power_section(record, monitor)
                self._finish(record, workload, monitor)
        except KeyboardInterrupt as exc:   # Interrupted too
            record["status"] = "interrupted"
            record["finished_at"] = utc_now()
            with signals_deferred():
                self._power_section(record, monitor)
            self._save(record, path)
            self.progress.end_workload(spec.name, f"interrupted; finished iterations kept in {path}")
            raise exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT) from None
        except BenchError as exc:
            self._fail(record, path, spec, str(exc), type(exc).__name__)
            return
        except Exception as exc:  # noqa: BLE001 - a backend bug must not stop the suite
            self._fail(record, path, spec, f"{type(exc).__name__}: {exc}", type(exc).__name__,
                       traceback.format_exc(limit=8))
            return
        finally:
            if workload is not None:
                try:
                    workload.teardown()
                except Exception:  # noqa: BLE001
                    pass
        record["idle"], record["idle_source"] = idle_fields(self.options.results, self.machine, self.profile)
        self._save(record, path)
        self.progress.end_workload(spec.name, f"{record['status']}: {path}")
        for w in record["warnings"]:
            if w.get("level") == WARNING:
                self.progress.line(f"[{spec.name}] warning: {w['code']}: {w['message']}")

    def _power_section(self, record: dict[str, Any], monitor: Any) -> None:
        """The record's power section and the rest of the samples file (also for an interrupted run)."""
        if monitor is None:
            return
        record["power"] = monitor.record_section()
        samples = monitor.save_samples(self._samples)
        if samples:
            record["power"]["samples"] = samples

    def _setup(self, workload: Workload, record: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        facts = workload.setup() or {}
        facts.setdefault("setup_s", time.perf_counter() - t0)
        record["workload"]["facts"] = {**record["workload"].get("facts", {}), **facts}

    def _warm_again(self, workload: Workload, path: Path, record: dict[str, Any]) -> None:
        ctx = IterationContext(-1, True, path.parent, f"{record['run_id']}.rewarm")
        workload.run_once(ctx)

    def _iterations(self, workload: Workload, spec: WorkloadSpec, record: dict[str, Any],
                    path: Path, monitor: Any, todo: list[int], total: int) -> None:
        errors = 0
        for index in todo:
            warmup = index < spec.warmups
            if errors >= MAX_CONSECUTIVE_ERRORS:
                it = {"index": index, "warmup": warmup, "started_at": utc_now(), "duration_s": 0.0,
                      "metrics": {}, "energy": {}, "error": "not run: earlier iterations failed"}
            else:
                it = self._one(workload, record, path, monitor, index, warmup)
            errors = errors + 1 if it.get("error") else 0
            record["iterations"].append(it)
            record["iterations"].sort(key=lambda x: x["index"])
            self._save(record, path)
            if hasattr(monitor, "save_samples"):
                with signals_deferred():
                    monitor.save_samples(self._samples)   # samples are kept as they are taken
            self.progress.iteration(spec.name, index, total, warmup, it["duration_s"], it.get("error"))

    def _one(self, workload: Workload, record: dict[str, Any], path: Path, monitor: Any,
             index: int, warmup: bool) -> dict[str, Any]:
        ctx = IterationContext(index, warmup, path.parent, f"{record['run_id']}.it{index}",
                               energy=monitor.energy, mark=getattr(monitor, "mark", None))
        if hasattr(monitor, "mark"):
            monitor.mark()
        started = utc_now()
        t0 = time.monotonic()
        try:
            result = workload.run_once(ctx)
            error = None
        except Interrupted as exc:
            partial = getattr(exc, "partial_result", None)
            if partial is not None:   # keep what finished (e.g. a load point's finished requests)
                it = self._iteration(workload, index, warmup, started, t0, time.monotonic(), monitor, partial,
                                     f"interrupted: {exc}")
                it["interrupted"] = True
                record["iterations"].append(it)
            raise
        except BenchError as exc:
            result, error = None, str(exc)
        return self._iteration(workload, index, warmup, started, t0, time.monotonic(), monitor, result, error)

    @staticmethod
    def _iteration(workload: Workload, index: int, warmup: bool, started: str, t0: float, t1: float, monitor: Any,
                   result: Any, error: str | None) -> dict[str, Any]:
        """The iteration's record entry. Its duration is the worker's own timing (window_s) or [t0, t1]; its energy
        and throughput cover the measured part the workload names (energy_window: llama-bench's decode test, a load
        point's steady state), else the same duration."""
        w0, w1 = result.window_s if result is not None and result.window_s else (t0, t1)
        metrics: dict[str, Any] = {}
        if result is not None:
            check_declared(result.metrics, workload.emits, workload.backend)
            metrics = dict(result.metrics)
        # the one rule: energy over the measured window, every throughput metric = its count ÷ the same seconds
        e0, e1 = result.energy_window[1:] if result is not None and result.energy_window else (w0, w1)
        energy = measured_window(metrics, monitor.energy, e0, e1)
        it: dict[str, Any] = {"index": index, "warmup": warmup, "started_at": started,
                              "duration_s": w1 - w0, "mono_start_s": w0, "mono_end_s": w1,
                              "metrics": clean_floats(metrics), "energy": energy}
        if (w0, w1) != (t0, t1):   # timed in a worker: wall_s - duration_s is the protocol's overhead
            it["wall_s"] = t1 - t0
        if result is not None:
            if result.energy_window:   # narrower than the iteration: the whole iteration's energy kept beside
                it["energy_iteration"] = monitor.energy(w0, w1)
                it["energy_window"] = {"name": result.energy_window[0], "mono_start_s": e0, "mono_end_s": e1,
                                       "duration_s": e1 - e0}
            if result.points is not None:
                it["load_points"] = clean_floats(result.points)
            if result.raw:
                it["raw"] = clean_floats(result.raw)
            if result.artifacts:
                it["artifacts"] = result.artifacts
            if result.warnings:
                it["warnings"] = [w.to_dict() | {"iteration": index} for w in result.warnings]
        if error:
            it["error"] = error
        return it

    def _finish(self, record: dict[str, Any], workload: Workload, monitor: Any) -> None:
        iterations = record["iterations"]
        warnings: list[dict[str, Any]] = []
        for it in iterations:
            warnings.extend(it.get("warnings", []))
        checks = workload.check_run(iterations) + variance_warnings(workload, iterations)
        checks += monitor.run_warnings(iterations, workload.devices(), workload.compute_device())
        warnings.extend(w.to_dict() for w in checks)
        record["warnings"] = warnings
        failed = [it for it in iterations if it.get("error")]
        record["errors"] = [{"iteration": it["index"], "message": it["error"]} for it in failed]
        record["status"] = "failed" if failed else "complete"
        record["finished_at"] = utc_now()

    def _fail(self, record: dict[str, Any], path: Path, spec: WorkloadSpec, message: str,
              kind: str, trace: str | None = None) -> None:
        record["status"] = "failed"
        record["finished_at"] = utc_now()
        error = {"message": message, "type": kind}
        if trace:
            error["traceback"] = trace
        record["errors"].append(error)
        self._save(record, path)
        self.progress.end_workload(spec.name, f"failed: {message}")

    def _save(self, record: dict[str, Any], path: Path) -> None:
        record = clean_floats(record)
        if strict():          # the test suite: every record the runner writes matches the typed record
            from_json(record)
        with signals_deferred():
            save_record(record, path)
