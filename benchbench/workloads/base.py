"""The workload interface every backend implements (llm, tts and video alike)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..metrics import check_names, derive_throughput, throughput_metrics
from ..schema import Field
from ..warnings_ import RunWarning

__all__ = ["IterationContext", "IterationResult", "RunWarning", "Workload", "measured_window"]

if TYPE_CHECKING:
    from ..suite import WorkloadSpec


@dataclass
class IterationContext:
    """What the runner tells a workload about the iteration it is about to run."""

    index: int
    warmup: bool
    artifact_dir: Path          # the folder of the record; artifacts go beside it
    artifact_stem: str          # e.g. "<run_id>.it3": add your own suffix (".wav", ".mp4")
    # energy(t0_s, t1_s) → {channel: {joules, avg_w, source}} over a time.monotonic() window inside the
    # iteration (None when nothing samples power): for backends that know their sub-windows (llama-bench)
    energy: Callable[[float, float], dict[str, Any]] | None = None
    mark: Callable[[], None] | None = None   # read the power counters now: a worker calls it when it starts

    def artifact_path(self, suffix: str) -> Path:
        self.artifact_dir.mkdir(parents=True, exist_ok=True)   # a new run's folder exists only after its first save
        return self.artifact_dir / f"{self.artifact_stem}{suffix}"


@dataclass
class IterationResult:
    """One iteration's outcome: metrics in SI units named with their unit, plus raw backend data."""

    metrics: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    warnings: list[RunWarning] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)   # file names beside the record
    # time.monotonic() instants at which the work began and ended, when taken elsewhere than around
    # run_once() (a worker process): the iteration's duration (the runner's own time is kept as wall_s)
    window_s: tuple[float, float] | None = None
    # (name, t0_s, t1_s): the measured part when narrower than the iteration (llama-bench's decode test without
    # model loads, a load point's steady state): the iteration's `energy` and its throughput (output_tok_s...)
    # cover it (measured_window); the whole iteration's energy goes to `energy_iteration`
    energy_window: tuple[str, float, float] | None = None
    points: list[dict[str, Any]] | None = None           # a load sweep's load points (record: load_points)

    def __post_init__(self) -> None:
        check_names(self.metrics)     # an unregistered name fails in strict mode (the test suite)


EnergyOf = Callable[[float, float], dict[str, Any]]


def measured_window(metrics: dict[str, Any], energy: EnergyOf | None, w0_s: float,
                    w1_s: float) -> dict[str, Any] | None:
    """The one rule of a measured window [w0_s, w1_s] (time.monotonic()): its energy is integrated over it and
    every throughput metric whose count is in `metrics` is that count ÷ (w1_s − w0_s), in place (a value the
    workload computed itself is replaced), so J/token = energy ÷ tokens exactly. The runner applies it to every
    iteration (its duration, or the IterationResult.energy_window it names), a load sweep to each of its points.
    Returns the energy ({channel: {joules, avg_w, ...}}), None without a power monitor."""
    for metric in throughput_metrics():
        if metric.count in metrics:
            metrics.pop(metric.name, None)
    derive_throughput(metrics, w1_s - w0_s)
    return energy(w0_s, w1_s) if energy is not None else None


class Workload(ABC):
    """One backend of one kind. Subclasses set `kind`, `backend`, `keys`, and implement run_once.

    Life cycle, driven by the runner: availability() → __init__(spec) → setup() once (load the
    model; returns facts recorded once per run) → run_once() per iteration → check_run() → teardown().
    Heavy libraries (torch, transformers, ...) are imported inside methods, never at module level.
    """

    kind: ClassVar[str]
    backend: ClassVar[str]
    keys: ClassVar[dict[str, Field]] = {}        # backend-specific suite keys
    requires: ClassVar[tuple[str, ...]] = ()     # importable modules needed (for doctor)
    primary_metrics: ClassVar[tuple[str, ...]] = ()   # checked for high variance
    summary_metrics: ClassVar[tuple[str, ...]] = ()   # shown in the summary table
    emits: ClassVar[tuple[str, ...]] = ()   # metric names run_once records, each in benchbench.metrics
    # pip requirements that conflict with benchbench's own (e.g. a pinned transformers): the backend
    # then runs in its own environment (`env: auto`, benchbench/envs/)
    env_requirements: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: WorkloadSpec) -> None:
        self.spec = spec
        self.params: dict[str, Any] = dict(spec.params)

    @classmethod
    def availability(cls) -> str | None:
        """None when this backend can run here, else one line saying why not."""
        import importlib.util

        missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
        if missing:
            return f"needs the Python package(s) {', '.join(missing)} (pip install 'benchbench[{cls.extra()}]')"
        return None

    @classmethod
    def doctor(cls, specs: list[WorkloadSpec] | None) -> dict[str, Any]:
        """`benchbench doctor`'s checks of this backend beyond availability(): the servers it would talk to,
        as `{section: [entries]}` (entries of the same section from several backends are listed together).
        `specs`: the suite's entries of this backend ([] when the suite has none: check nothing); None
        without --suite (the backend's default checks, e.g. the default Ollama host). Must not load models."""
        return {}

    @classmethod
    def extra(cls) -> str:
        """The pip extra that installs this backend's dependencies."""
        return cls.kind

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        """Cross-key checks after the suite is parsed: None, or (key, message[, hint])."""
        return None

    def plan(self) -> dict[str, Any]:
        """What --dry-run shows beyond the parameters (e.g. a placement plan). Must not load models."""
        return {}

    def setup(self) -> dict[str, Any]:
        """Load the model / connect; returns facts recorded once per run (e.g. load_s, model size)."""
        return {}

    @abstractmethod
    def run_once(self, ctx: IterationContext) -> IterationResult:
        """Run one iteration and measure it."""

    def check_run(self, iterations: list[dict[str, Any]]) -> list[RunWarning]:
        """Validity warnings over the finished iterations (record dicts)."""
        return []

    def devices(self) -> list[str]:
        """Power channels this workload is expected to load (e.g. ["gpu0"]); [] when unknown."""
        return []

    def compute_device(self) -> str | None:
        """The PyTorch device an in-process backend computes on (`cpu`, `cuda:0`, `mps`) once set up;
        None for backends that drive a server or a program (its placement is theirs to say)."""
        return None

    def teardown(self) -> None:
        """Free what setup took. Called once, also after errors."""
