"""The parent's end of a worker: start it with only `benchbench` importable, speak the protocol,
keep the tail of its output for error messages, and stop it (or kill it) at the end."""

from __future__ import annotations

import builtins
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import errors
from ..errors import BenchError, UserError, WorkloadError
from ..metrics import UnregisteredMetric
from .protocol import VERSION, Channel, ChannelClosed

# Run by the environment's interpreter: import the parent's `benchbench` package from its folder
# (argv[1]) without putting that folder's parent, and so the main environment, on sys.path.
BOOT = ("import importlib.util as u,sys;sys.path[:]=[p for p in sys.path if p];"
        "s=u.spec_from_file_location('benchbench',sys.argv[1]+'/__init__.py',"
        "submodule_search_locations=[sys.argv[1]]);m=u.module_from_spec(s);sys.modules['benchbench']=m;"
        "s.loader.exec_module(m);from benchbench.envs.worker import main;sys.exit(main(sys.argv[2:]))")
PACKAGE_DIR = Path(__file__).resolve().parent.parent
HELLO_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
TAIL_BYTES = 16384


class WorkerCrashed(WorkloadError):
    """The worker process ended while a request was in flight."""


class WorkerFailure(RuntimeError):
    """An unexpected exception inside the worker (a backend bug). Rebuilt as a subclass bearing the
    worker's class name, so the record reads as it would in-process; the worker's traceback is a note."""


def rebuild_error(err: dict[str, Any]) -> BaseException:
    """The exception the worker described, as the same class where benchbench.errors (or the metric
    registry's strict check) has it."""
    cls = getattr(errors, str(err.get("type")), None)
    if err.get("bench"):
        if not (isinstance(cls, type) and issubclass(cls, BenchError)):
            cls = WorkloadError
        if issubclass(cls, UserError):
            return cls(err["message"], **(err.get("fields") or {}))
        return cls(err["message"])
    name = str(err.get("type") or "Exception")
    if name == UnregisteredMetric.__name__:    # strict metric checks (the test suite) fail as in-process
        exc: BaseException = UnregisteredMetric(err.get("message", ""))
    else:
        exc = type(name if name.isidentifier() else "WorkerFailure", (WorkerFailure,), {})(err.get("message", ""))
    if err.get("traceback"):
        exc.add_note("in the worker:\n" + err["traceback"].rstrip())
    return exc


def replay_warnings(found: list[dict[str, Any]]) -> None:
    """The Python warnings the worker's libraries raised, issued again here (same category name, message
    and place), so the runner keeps them in the record's `library_warnings` as for an in-process backend."""
    for w in found:
        name = str(w.get("category") or "UserWarning")
        category = getattr(builtins, name, None)
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category = type(name if name.isidentifier() else "UserWarning", (UserWarning,), {})
        warnings.warn_explicit(str(w.get("message", "")), category, str(w.get("filename") or "worker"),
                               int(w.get("lineno") or 0))


class WorkerProcess:
    """A started worker. `call()` sends one request and returns its reply."""

    def __init__(self, python: str, env_folder: Path | None = None, python_flags: tuple[str, ...] = ("-s",)) -> None:
        self.python = python
        from_parent, to_child = os.pipe()     # requests: the worker reads, we write
        from_child, to_parent = os.pipe()     # replies: we read, the worker writes
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
        env["PYTHONNOUSERSITE"] = "1"
        if env_folder is not None:
            env["VIRTUAL_ENV"] = str(env_folder)
            env["PATH"] = os.pathsep.join([str(Path(python).parent), env.get("PATH", "")])
        cmd = [python, *python_flags, "-c", BOOT, str(PACKAGE_DIR), "--fds", f"{from_parent},{to_parent}",
               "--parent", str(os.getpid())]
        t0 = time.monotonic()
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, pass_fds=(from_parent, to_parent), env=env)
        except OSError as exc:
            for fd in (to_child, from_parent, from_child, to_parent):
                os.close(fd)
            raise WorkloadError(f"cannot start the worker {python}: {exc.strerror or exc}") from None
        os.close(from_parent)
        os.close(to_parent)
        self.channel = Channel(from_child, to_child)
        self._tail = b""
        self._pump = threading.Thread(target=self._forward_output, name="benchbench-worker-output", daemon=True)
        self._pump.start()
        self.busy: str | None = None
        self.hello = self._hello(t0)

    # --- output ------------------------------------------------------------------------------
    def _forward_output(self) -> None:
        """The worker's stdout and stderr (library chatter) go to ours; the tail is kept for errors."""
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self._tail = (self._tail + chunk)[-TAIL_BYTES:]
            try:
                sys.stderr.write(chunk.decode("utf-8", errors="replace"))
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    def last_line(self) -> str:
        """The worker's last non-empty output line (a traceback's last line names the error)."""
        self._pump.join(timeout=1.0)
        text = self._tail.decode("utf-8", errors="replace").replace("\r", "\n")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return lines[-1][:300] if lines else "(no output)"

    # --- requests ----------------------------------------------------------------------------
    def _hello(self, t0: float) -> dict[str, Any]:
        try:
            hello = self.channel.recv(timeout_s=HELLO_TIMEOUT_S)
        except (ChannelClosed, TimeoutError) as exc:
            self.kill()
            what = "did not answer" if isinstance(exc, TimeoutError) else f"exited ({self._exit_text()})"
            raise WorkloadError(f"the worker ({self.python}) {what} at start: {self.last_line()}") from None
        t1 = time.monotonic()
        if hello.get("protocol") != VERSION:
            self.kill()
            raise WorkloadError(f"the worker speaks protocol {hello.get('protocol')}, expected {VERSION}")
        hello["start_s"] = t1 - t0
        hello["shared_clock"] = t0 <= float(hello.get("t_s", -1)) <= t1
        return hello

    def call(self, op: str, on_event: Callable[[dict[str, Any]], None] | None = None,
             **fields: Any) -> dict[str, Any]:
        """Send a request; events go to `on_event`; returns the reply or raises what the worker raised."""
        if not self.alive:
            raise WorkerCrashed(f"the worker is not running ({self._exit_text()}): {self.last_line()}")
        self.busy = op
        try:
            self.channel.send({"op": op, **fields})
            while True:
                message = self._recv()
                if "event" in message:
                    if on_event is not None:
                        on_event(message)
                    continue
                break
        except ChannelClosed:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
            raise WorkerCrashed(f"the worker exited ({self._exit_text()}) during {op}: {self.last_line()}") from None
        self.busy = None
        replay_warnings(message.pop("library_warnings", None) or [])
        if not message.get("ok"):
            raise rebuild_error(message.get("error") or {})
        return message

    def _recv(self) -> dict[str, Any]:
        """The next message; every half second checks the process too (a forked grandchild may hold
        the pipe open after the worker died)."""
        while True:
            try:
                return self.channel.recv(timeout_s=0.5)
            except TimeoutError:
                if self.proc.poll() is not None:
                    raise ChannelClosed("the worker exited") from None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _exit_text(self) -> str:
        code = self.proc.poll()
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    # --- the end -----------------------------------------------------------------------------
    def stop(self) -> None:
        """teardown, then wait for exit; a busy (interrupted) or silent worker is killed."""
        if self.alive and self.busy is None:
            try:
                self.call("teardown")
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except (BenchError, RuntimeError, subprocess.TimeoutExpired, ChannelClosed, TimeoutError, OSError):
                pass
        self.kill()

    def kill(self) -> None:
        """SIGTERM, then SIGKILL after 3 s; closes the pipes."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.channel.close()
        self._pump.join(timeout=2)
        if self.proc.stdout:
            self.proc.stdout.close()
