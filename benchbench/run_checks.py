"""The runner's run-level checks: high variance and a slow first measured iteration (variance_warnings), and
the Python warnings libraries raised while a workload ran (library_warnings, kept in the record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .stats import FIRST_RUN_SLOW_RATIO, HIGH_VARIANCE_CV, cv, first_run_ratio, measured, metric_values
from .warnings_ import RunWarning
from .workloads.base import Workload

MAX_LIBRARY_WARNINGS = 20


def variance_warnings(workload: Workload, iterations: list[dict[str, Any]]) -> list[RunWarning]:
    """high_variance on the primary metrics; first_run_slow when the first MEASURED iteration is slow."""
    out = []
    kept = measured(iterations)
    for metric in workload.primary_metrics:
        ratio = cv(metric_values(kept, metric))
        if ratio is not None and ratio > HIGH_VARIANCE_CV:
            out.append(RunWarning("high_variance",
                                  f"{metric} varies {ratio:.0%} (stdev/mean) across {len(kept)} runs: "
                                  "add repetitions, close other programs, check for throttling"))
    ordered = sorted(kept, key=lambda x: x["index"])
    ratio = first_run_ratio([it["duration_s"] for it in ordered])
    if ratio is not None and ratio > FIRST_RUN_SLOW_RATIO:   # a slow warmup is what warmups are for
        first = ordered[0]
        warmups = sum(1 for it in iterations if it.get("warmup") and not it.get("error"))
        advice = "add warmups (suite `warmups:`)" if not warmups else f"add warmups (it had {warmups})"
        out.append(RunWarning("first_run_slow",
                              f"the first measured iteration took {ratio:.2f}x the median of the rest: {advice}; "
                              "kernel compilation and caches make first runs slow", first["index"]))
    return out


def library_warnings(caught: list[Any]) -> list[dict[str, Any]]:
    """Python warnings raised while a workload ran, one entry per distinct message, with a count."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for w in caught:
        message = str(w.message).strip().splitlines()[0][:300] if str(w.message).strip() else ""
        key = (w.category.__name__, message)
        entry = seen.setdefault(key, {"category": key[0], "message": message,
                                      "where": f"{Path(str(w.filename)).name}:{w.lineno}", "count": 0})
        entry["count"] += 1
    return list(seen.values())[:MAX_LIBRARY_WARNINGS]
