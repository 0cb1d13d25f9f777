"""Statistics over measured iterations: mean ± sample stdev, median, min, max and a 95% CI."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from .fmt import finite

# Two-sided 95% Student t quantiles (0.975) for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)

SUMMARY_KEYS = ("n", "mean", "stdev", "median", "min", "max", "ci95_low", "ci95_high")
HIGH_VARIANCE_CV = 0.10
FIRST_RUN_SLOW_RATIO = 1.3


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def numbers(values: Iterable[Any]) -> list[float]:
    """The finite numbers among `values` (None and non-numbers dropped)."""
    return [x for x in map(finite, values) if x is not None]


def summarize(values: Sequence[Any]) -> dict[str, float | int | None]:
    """n, mean, stdev (sample), median, min, max, ci95_low, ci95_high; None where undefined."""
    xs = numbers(values)
    n = len(xs)
    if n == 0:
        return {"n": 0, "mean": None, "stdev": None, "median": None, "min": None, "max": None,
                "ci95_low": None, "ci95_high": None}
    mean = statistics.fmean(xs)
    stdev = statistics.stdev(xs) if n > 1 else None
    half = t975(n - 1) * stdev / math.sqrt(n) if stdev is not None else None
    return {"n": n, "mean": mean, "stdev": stdev, "median": statistics.median(xs),
            "min": min(xs), "max": max(xs),
            "ci95_low": mean - half if half is not None else None,
            "ci95_high": mean + half if half is not None else None}


def summarize_groups(values: Any, keys: list[str]) -> Any:
    """`summarize` for every group of a long pandas frame (column `value`, grouped by `keys`), vectorized:
    the same figures (sample stdev, Student's t CI) as `summarize`, one row per group, None where undefined."""
    long = values[values["value"].map(lambda v: finite_number(v) is not None)].copy()
    long["value"] = long["value"].astype(float)
    out = long.groupby(keys, sort=False)["value"].agg(
        n="count", mean="mean", stdev="std", median="median", min="min", max="max").reset_index()
    half = [t975(int(n) - 1) * s / math.sqrt(n) if n > 1 else math.nan for n, s in zip(out["n"], out["stdev"])]
    out["ci95_low"] = out["mean"] - half
    out["ci95_high"] = out["mean"] + half
    out["n"] = out["n"].astype(int)
    cols = [*keys, *SUMMARY_KEYS]
    return out[cols].astype(object).where(out[cols].notna(), None)


def finite_number(value: Any) -> float | None:
    """A finite real number (booleans and non-numbers are not)."""
    xs = numbers([value])
    return xs[0] if xs else None


def measured(iterations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Iterations that count: not warmups, no error."""
    return [it for it in iterations if not it.get("warmup") and not it.get("error")]


def metric_values(iterations: Iterable[dict[str, Any]], metric: str) -> list[float]:
    return numbers(it.get("metrics", {}).get(metric) for it in iterations)


def summarize_metrics(iterations: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Statistics of every numeric metric over measured iterations."""
    kept = measured(iterations)
    names: list[str] = []
    for it in kept:
        for key, value in it.get("metrics", {}).items():
            if key not in names and isinstance(value, (int, float)) and not isinstance(value, bool):
                names.append(key)
    return {name: summarize(metric_values(kept, name)) for name in names}


def cv(values: Sequence[float]) -> float | None:
    """Coefficient of variation (sample stdev / mean)."""
    xs = numbers(values)
    if len(xs) < 2:
        return None
    mean = statistics.fmean(xs)
    return statistics.stdev(xs) / abs(mean) if mean else None


def first_run_ratio(durations: Sequence[float]) -> float | None:
    """First value over the median of the rest (None with fewer than 2 values)."""
    xs = numbers(durations)
    if len(xs) < 2:
        return None
    rest = statistics.median(xs[1:])
    return xs[0] / rest if rest > 0 else None
