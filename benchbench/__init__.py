"""benchbench: benchmark local LLM, TTS and video inference and turn the measurements into money.

The public API is imported lazily so that `benchbench --help` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "load_suite": ("benchbench.suite", "load_suite"),
    "Suite": ("benchbench.suite", "Suite"),
    "WorkloadSpec": ("benchbench.suite", "WorkloadSpec"),
    "load_profile": ("benchbench.profile", "load_profile"),
    "resolve_profile": ("benchbench.profile", "resolve_profile"),
    "MachineProfile": ("benchbench.profile", "MachineProfile"),
    "Runner": ("benchbench.runner", "Runner"),
    "RunOptions": ("benchbench.runner", "RunOptions"),
    "load_record": ("benchbench.record", "load_record"),
    "load_records": ("benchbench.record", "load_records"),
    "load_typed_records": ("benchbench.record", "load_typed_records"),
    "RunRecord": ("benchbench.record_model", "RunRecord"),
    "IdleRecord": ("benchbench.record_model", "IdleRecord"),
    "Metric": ("benchbench.metrics", "Metric"),
    "summarize": ("benchbench.stats", "summarize"),
    "Workload": ("benchbench.workloads.base", "Workload"),
    "IterationResult": ("benchbench.workloads.base", "IterationResult"),
    "RunWarning": ("benchbench.warnings_", "RunWarning"),
    "analyze": ("benchbench.analysis", "analyze"),
    "BenchError": ("benchbench.errors", "BenchError"),
    "UserError": ("benchbench.errors", "UserError"),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        module, attr = _API[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'benchbench' has no attribute {name!r}")
