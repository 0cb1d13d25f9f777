"""The worker: one thread that runs queued jobs one at a time, each in its own subprocess."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from . import job as jobs
from .config import ServeConfig
from .store import DONE, FAILED, Job, JobStore

log = logging.getLogger("benchbench.serve")

STOP_GRACE_S = 10.0     # after SIGTERM, time for a job to save its record before SIGKILL
POLL_S = 0.2
LOG_TAIL_LINES = 5


class Worker:
    """Claims the oldest queued job, runs it in a subprocess, stores the outcome; repeats."""

    def __init__(self, store: JobStore, config: ServeConfig) -> None:
        self.store = store
        self.config = config
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="serve-video-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued."""
        self._wake.set()

    def stop(self, timeout_s: float = STOP_GRACE_S + 5) -> None:
        """Stop after interrupting the running job (marked failed: the server shut down)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self.store.claim_next()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self.current = job.id
            try:
                self.run(job)
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one job
                log.exception("job %s", job.id)
                self.store.finish(job.id, FAILED, error=f"server error running the job: {exc}")
            finally:
                self.current = None

    def run(self, job: Job) -> None:
        """Run one claimed job to its end and store the outcome."""
        job_dir = self.config.job_dir(job.id)
        out = job_dir / "result.yaml"
        out.unlink(missing_ok=True)
        argv = jobs.command(self.config, job_dir / "suite.yaml", out)
        log.info("job %s: running (%s s clip)", job.id, f"{job.duration_s:g}")
        with open(job_dir / "job.log", "ab") as log_file:
            proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=jobs.child_env())
            self.store.update(job.id, pid=proc.pid)
            stopped = self._wait(proc)
        code = proc.returncode
        result = jobs.read_result(out)
        if stopped:
            self.store.finish(job.id, FAILED, exit_code=code, error=stopped, **_paths(result))
        elif result is not None and result.get("status") == "complete":
            self.store.finish(job.id, DONE, exit_code=code, metrics=result.get("metrics") or {},
                              **_paths(result))
        else:
            error = (result or {}).get("error") or crash_message(code, job_dir / "job.log")
            self.store.finish(job.id, FAILED, exit_code=code, error=error,
                              metrics=(result or {}).get("metrics") or {}, **_paths(result))
        log.info("job %s: %s", job.id, self.store.get(job.id).status)

    def _wait(self, proc: subprocess.Popen) -> str | None:
        """Wait for the subprocess; None when it ended by itself, else why it was stopped."""
        deadline = time.monotonic() + self.config.job_timeout_s
        while proc.poll() is None:
            if self._stop.is_set():
                terminate(proc)
                return "the server shut down while the job was running"
            if time.monotonic() > deadline:
                terminate(proc)
                return f"timed out after {self.config.job_timeout_s:g} s (serve-video --job-timeout)"
            time.sleep(POLL_S)
        return None


def _paths(result: dict | None) -> dict[str, str | None]:
    result = result or {}
    return {"record": result.get("record"), "video": result.get("video")}


def terminate(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM (the runner saves an interrupted record), then SIGKILL after grace_s."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_orphan(pid: int, grace_s: float = STOP_GRACE_S) -> bool:
    """Stop a job process a dead server left behind (checked by its command line, Linux only)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        if b"benchbench.serve.job" not in cmdline.read_bytes():
            return False
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    deadline = time.monotonic() + grace_s
    while cmdline.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if cmdline.exists():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return True


def crash_message(code: int | None, log_path: Path) -> str:
    """Why a job process ended without a summary: its exit status and the end of its log."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = f"the job process was killed by {name}"
    else:
        what = f"the job process exited with code {code} without a result"
    tail = _tail(log_path)
    return f"{what}; last output: {tail}" if tail else what


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()][-lines:]
    return " | ".join(kept)[-1000:]
