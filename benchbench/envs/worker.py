"""The worker: runs one backend inside its own environment and answers the parent over the protocol.

Started by `proxy.start_worker()` with the environment's interpreter and only the `benchbench`
package made importable (see BOOT there), so this module and what it imports at module level must be
the standard library and benchbench's light modules. It dies with its parent: PR_SET_PDEATHSIG on
Linux, a watchdog thread polling the parent's pid everywhere, and end of file on the request pipe.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, BenchError, UserError
from ..workloads.base import IterationContext, IterationResult, RunWarning
from .protocol import VERSION, Channel, ChannelClosed

PR_SET_PDEATHSIG = 1
WATCHDOG_S = 0.25


@dataclass
class WorkerSpec:
    """The parts of a suite.WorkloadSpec a backend reads (the suite module needs PyYAML)."""

    name: str
    base_name: str
    kind: str
    backend: str
    params: dict[str, Any]
    matrix_values: dict[str, Any] = field(default_factory=dict)
    warmups: int = 1
    repetitions: int = 3
    line: int | None = None
    suite_dir: Path = Path(".")


def import_by_path(name: str, path: Path) -> None:
    """Import top-level module `name` from a package folder or a file, without its parent on sys.path."""
    if name in sys.modules:
        return
    import importlib.util

    if path.is_dir():
        spec = importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                      submodule_search_locations=[str(path)])
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def die_with_parent(parent_pid: int) -> None:
    """Exit when the parent goes, however it goes (SIGKILL included). BENCHBENCH_WORKER_PDEATHSIG=0
    leaves the watchdog alone (as on macOS), for its test."""
    if sys.platform.startswith("linux") and os.environ.get("BENCHBENCH_WORKER_PDEATHSIG", "1") != "0":
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:   # it died before prctl took effect
        os._exit(3)

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_S)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch, name="benchbench-parent-watchdog", daemon=True).start()


def describe(exc: BaseException) -> dict[str, Any]:
    """An exception as the parent rebuilds it (proxy.rebuild_error)."""
    out: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc),
                           "bench": isinstance(exc, BenchError)}
    if isinstance(exc, UserError):
        out["message"] = exc.message
        out["fields"] = {"file": exc.file, "line": exc.line, "field": exc.field, "hint": exc.hint}
    if not isinstance(exc, BenchError):
        out["traceback"] = traceback.format_exc(limit=12)
    return out


def describe_warning(w: warnings.WarningMessage) -> dict[str, Any]:
    """A Python warning as the parent issues it again (process.replay_warnings)."""
    return {"category": w.category.__name__, "message": str(w.message), "filename": str(w.filename),
            "lineno": w.lineno}


def synchronize() -> None:
    """Wait for queued GPU work, where the backend used torch on a GPU, before a clock read."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if torch.cuda.is_initialized():
            torch.cuda.synchronize()
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            torch.mps.synchronize()
    except (RuntimeError, AttributeError):
        pass


class Worker:
    """One workload instance and the requests that drive it."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.workload: Any = None

    def serve(self) -> int:
        # the libraries' Python warnings go back with each reply, for the runner's `library_warnings`
        # (as in-process: one filter over the workload's whole life, so a warning repeats as it would there)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            return self._serve(caught)

    def _serve(self, caught: list[warnings.WarningMessage]) -> int:
        while True:
            try:
                request = self.channel.recv()
            except ChannelClosed:
                return 0
            op = request.get("op")
            handler = getattr(self, f"op_{op}", None)
            try:
                if handler is None:
                    raise BenchError(f"unknown request {op!r}")
                reply = handler(request)
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                reply = {"ok": False, "error": describe(exc)}
            if caught:
                reply["library_warnings"] = [describe_warning(w) for w in caught]
                caught.clear()
            try:
                self.channel.send({"ok": True, **reply} if "ok" not in reply else reply)
            except ChannelClosed:
                return 0
            except (TypeError, ValueError) as exc:   # a reply JSON cannot hold
                self.channel.send({"ok": False, "error": describe(exc)})
            if op == "teardown":
                return 0

    def op_ping(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"t_s": time.monotonic()}

    def op_setup(self, request: dict[str, Any]) -> dict[str, Any]:
        for name, path in request.get("modules", {}).items():
            import_by_path(name, Path(path))
        module_name, class_name = request["target"].split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        why = cls.availability()
        if why:
            raise BackendUnavailable(f"backend `{cls.backend}` unavailable in its environment: {why}")
        spec = request["spec"]
        self.workload = cls(WorkerSpec(**{**spec, "suite_dir": Path(spec.get("suite_dir", "."))}))
        t0 = time.perf_counter()
        facts = self.workload.setup() or {}
        facts.setdefault("setup_s", time.perf_counter() - t0)
        return {"facts": facts}

    def op_run_once(self, request: dict[str, Any]) -> dict[str, Any]:
        ctx = IterationContext(request["index"], request["warmup"], Path(request["artifact_dir"]),
                               request["artifact_stem"])
        synchronize()
        t0 = time.monotonic()
        self.channel.send({"event": "start", "t_s": t0})
        result: IterationResult = self.workload.run_once(ctx)
        synchronize()
        t1 = time.monotonic()
        return {"window_s": [t0, t1], "metrics": result.metrics, "raw": result.raw, "points": result.points,
                "energy_window": list(result.energy_window) if result.energy_window else None,
                "warnings": [w.to_dict() for w in result.warnings], "artifacts": list(result.artifacts)}

    def op_check_run(self, request: dict[str, Any]) -> dict[str, Any]:
        found: list[RunWarning] = self.workload.check_run(request["iterations"])
        return {"warnings": [w.to_dict() for w in found]}

    def op_devices(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"devices": list(self.workload.devices()), "compute_device": self.workload.compute_device()}

    def op_teardown(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.workload is not None:
            self.workload.teardown()
            self.workload = None
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchbench-worker")
    parser.add_argument("--fds", required=True, help="READ,WRITE: the protocol's pipe ends")
    parser.add_argument("--parent", type=int, required=True, help="the parent's pid")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    os.dup2(2, 1)                                   # library prints go to stderr, not the protocol
    sys.stdout = sys.stderr
    read_fd, write_fd = (int(x) for x in args.fds.split(","))
    channel = Channel(read_fd, write_fd)
    channel.send({"event": "hello", "protocol": VERSION, "pid": os.getpid(), "t_s": time.monotonic(),
                  "python": sys.version.split()[0], "executable": sys.executable})
    return Worker(channel).serve()
