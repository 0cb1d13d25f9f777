"""Helpers for the serve-video tests: a real server in a subprocess, polling, a crashing job entry."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
CRASH_ENTRY = "serve_helpers:crash_entry"
CRASH_MARK = "CRASH-THIS-JOB"
# the tiny random LTX-2 pipeline on CPU, 9 frames a second of video and one step per stage: seconds per job
TINY_FAST = ("--tiny", "--set", "fps=8", "--set", "steps=[1, 1]", "--set", "audio=false", "--devices", "cpu")


class ServerProcess:
    """`benchbench serve-video --port 0 ...` in a subprocess; knows its URL and its log."""

    def __init__(self, results: Path, *args: str, env: dict[str, str] | None = None,
                 start_timeout_s: float = 30.0) -> None:
        self.results = results
        self.log_path = results.parent / f"server-{time.monotonic_ns()}.log"
        results.parent.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]),
                    "NO_COLOR": "1", **(env or {})}
        argv = [sys.executable, "-m", "benchbench", "serve-video", "--port", "0", "--results",
                str(results), "--power", "none", *TINY_FAST, *args]
        self.proc = subprocess.Popen(argv, cwd=results.parent, env=full_env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self._lines: list[str] = []
        self._ready = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(start_timeout_s) or not self.url:
            self.kill()
            raise RuntimeError(f"serve-video did not start:\n{self.log()}")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        with open(self.log_path, "w", encoding="utf-8") as fh:
            for line in self.proc.stderr:
                fh.write(line)
                fh.flush()
                self._lines.append(line)
                found = re.search(r"listening on (http://\S+)", line)
                if found:
                    self.url = found.group(1)
                    self._ready.set()
        self._ready.set()

    def log(self) -> str:
        return "".join(self._lines)

    def get(self, route: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + route, timeout=10, **kw)

    def submit(self, prompt: str | None = "a red ball", duration: Any = 1, seed: Any = 7,
               image: bytes | None = None) -> requests.Response:
        data = {k: str(v) for k, v in (("prompt", prompt), ("duration", duration), ("seed", seed))
                if v is not None}
        files = {"image": ("frame.png", image, "image/png")} if image is not None else None
        return requests.post(self.url + "/jobs", data=data, files=files, timeout=10)

    def delete(self, job_id: str) -> requests.Response:
        return requests.delete(f"{self.url}/jobs/{job_id}", timeout=10)

    def job(self, job_id: str) -> dict[str, Any]:
        resp = self.get(f"/jobs/{job_id}")
        resp.raise_for_status()
        return resp.json()

    def wait(self, job_id: str, *statuses: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Poll until the job reaches one of `statuses`; fails the test with the log otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in statuses:
                return job
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} never became {statuses}: {job}\n{self.log()}")

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def png_bytes(size: tuple[int, int] = (64, 64)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, format="PNG")
    return buf.getvalue()


def crash_entry(suite_path: Path, results: Path) -> dict[str, Any]:
    """Job entry for tests: abort (a real crash, SIGABRT, no result) when the prompt says so."""
    import yaml

    prompt = yaml.safe_load(Path(suite_path).read_text())["workloads"][0]["prompt"]
    if CRASH_MARK in prompt:
        print("about to crash on purpose", file=sys.stderr, flush=True)
        os.abort()
    from benchbench.serve.job import run_suite

    return run_suite(suite_path, results)


def sleep_entry(suite_path: Path, results: Path) -> dict[str, Any]:
    """Job entry for tests: a job that never finishes by itself."""
    time.sleep(600)
    return {"status": "complete"}


def fail_entry(suite_path: Path, results: Path) -> dict[str, Any]:
    """Job entry for tests: the pipeline fails cleanly (a failed record, no crash)."""
    return {"status": "failed", "error": "pipeline said no", "record": "x/y.json"}
