"""`EnvWorkload`: a Workload that runs its backend in a worker inside the backend's environment, so the
runner drives it exactly like an in-process one. Timing is taken in the worker (`window_s`, device
synchronized); the parent marks the power counters when the worker reports the start."""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from ..errors import BenchError, WorkloadError
from ..workloads.base import IterationContext, IterationResult, RunWarning, Workload
from .process import WorkerProcess
from .store import EnvInfo, env_python, holds, installed

PINGS = 20


class EnvWorkload(Workload):
    """The proxy of `cls` (the real backend class, which runs in the worker)."""

    def __init__(self, spec: Any, cls: type[Workload], env: EnvInfo | None, python: str | None = None,
                 python_flags: tuple[str, ...] = ("-s",)) -> None:
        super().__init__(spec)
        self.cls = cls
        self.kind, self.backend = cls.kind, cls.backend
        self.keys = cls.keys
        self.primary_metrics, self.summary_metrics = cls.primary_metrics, cls.summary_metrics
        self.emits = cls.emits          # the runner checks the worker's metrics against the backend's names
        self.doctor = cls.doctor        # doctor's checks are the backend's own (they load no model)
        self.env = env
        self.python = python or str(env_python(env.path))
        self.python_flags = python_flags
        self.worker: WorkerProcess | None = None
        self._devices: list[str] | None = None
        self._compute_device: str | None = None

    # --- life cycle --------------------------------------------------------------------------
    def setup(self) -> dict[str, Any]:
        facts, worker_facts = self._start()
        env_facts = self._env_facts()
        return {**facts, "env": env_facts, "worker": worker_facts}

    def _start(self) -> tuple[dict[str, Any], dict[str, Any]]:
        self.worker = WorkerProcess(self.python, self.env.path if self.env else None, self.python_flags)
        hello = self.worker.hello
        try:
            reply = self.worker.call("setup", target=f"{self.cls.__module__}:{self.cls.__qualname__}",
                                     spec=_spec_dict(self.spec), modules=_plugin_module(self.cls))
        except BaseException:
            self.teardown()
            raise
        return reply["facts"], {"pid": hello["pid"], "python": hello["python"], "protocol": hello["protocol"],
                                "start_s": hello["start_s"], "shared_clock": hello["shared_clock"],
                                "ping_s": self._ping()}

    def _ping(self) -> float:
        """Median round trip of an empty request: the protocol's floor."""
        times = []
        for _ in range(PINGS):
            t0 = time.perf_counter()
            self.worker.call("ping")
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def _env_facts(self) -> dict[str, Any]:
        if self.env is None:
            return {"name": None, "python": self.python}
        marker = self.env.marker or {}
        return {"name": self.env.name, "key": self.env.key, "path": str(self.env.path),
                "python": (marker.get("interpreter") or {}).get("version"), "installer": marker.get("installer"),
                "requirements": marker.get("requirements", []), "constraints": marker.get("constraints", []),
                "holds": holds(marker, installed(self.env.path))}

    def run_once(self, ctx: IterationContext) -> IterationResult:
        warnings = []
        if self.worker is None or not self.worker.alive:
            warnings.append(self._restart())
        mark = ctx.mark
        reply = self.worker.call(
            "run_once", on_event=(lambda event: mark()) if mark else None, index=ctx.index, warmup=ctx.warmup,
            artifact_dir=str(ctx.artifact_dir), artifact_stem=ctx.artifact_stem)
        window = tuple(reply["window_s"]) if self.worker.hello["shared_clock"] else None
        narrow = reply.get("energy_window") if self.worker.hello["shared_clock"] else None
        warnings += [_warning(w) for w in reply.get("warnings", [])]
        return IterationResult(reply.get("metrics") or {}, raw=reply.get("raw") or {}, warnings=warnings,
                               artifacts=reply.get("artifacts") or [], window_s=window, points=reply.get("points"),
                               energy_window=tuple(narrow) if narrow else None)

    def _restart(self) -> RunWarning:
        """A new worker after a crash: the model is loaded again."""
        if self.worker is not None:
            self.worker.kill()
        try:
            facts, _ = self._start()
        except BenchError as exc:
            raise WorkloadError(f"the worker could not be restarted: {exc}") from None
        return RunWarning("worker_restarted", "the worker had exited; a new one loaded the model again "
                          f"({facts.get('setup_s', 0):.1f} s) before this iteration")

    def check_run(self, iterations: list[dict[str, Any]]) -> list[RunWarning]:
        """In the worker; in this process (check_run reads record dicts) when the worker is gone."""
        if self.worker is None or not self.worker.alive:
            try:
                return self.cls(self.spec).check_run(iterations)
            except Exception:  # noqa: BLE001 - it may need what only the worker has
                return []
        reply = self.worker.call("check_run", iterations=iterations)
        return [_warning(w) for w in reply["warnings"]]

    def devices(self) -> list[str]:
        return self._placement()[0]

    def compute_device(self) -> str | None:
        return self._placement()[1]

    def _placement(self) -> tuple[list[str], str | None]:
        """The worker's power channels and PyTorch device, asked once (kept for after a crash)."""
        if self._devices is None and self.worker is not None and self.worker.alive:
            try:
                reply = self.worker.call("devices")
                self._devices, self._compute_device = list(reply["devices"]), reply.get("compute_device")
            except (BenchError, RuntimeError):
                self._devices = []
        return self._devices or [], self._compute_device

    def teardown(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


def _warning(found: dict[str, Any]) -> RunWarning:
    """A RunWarning from its dict (its level follows from the code, here as in the worker)."""
    return RunWarning(found["code"], found["message"], found.get("iteration"))


def _spec_dict(spec: Any) -> dict[str, Any]:
    """The WorkloadSpec's fields as the worker's WorkerSpec takes them."""
    data = asdict(spec) if is_dataclass(spec) else dict(vars(spec))
    keep = ("name", "base_name", "kind", "backend", "params", "matrix_values", "warmups", "repetitions",
            "line", "suite_dir")
    return {k: (str(data[k]) if isinstance(data.get(k), Path) else data.get(k)) for k in keep if k in data}


def _plugin_module(cls: type) -> dict[str, str]:
    """{top-level module name: its file or package folder} for a backend that lives outside benchbench (a
    plugin or a test backend): the worker imports it by that path alone, as it imports benchbench, so the
    folder around it (perhaps the main environment's site-packages) never joins the worker's sys.path."""
    top = cls.__module__.split(".")[0]
    if top == "benchbench":
        return {}
    file = getattr(sys.modules.get(top), "__file__", None)
    if not file:
        raise WorkloadError(f"cannot locate the module of {cls.__qualname__} for its worker")
    path = Path(file).resolve()
    return {top: str(path.parent if path.name == "__init__.py" else path)}
