"""The metric registry's model: what every figure benchbench records or derives *means*.

One `Metric` per figure: its name (the record key, unit in the name), unit, scope, definition, which way is
better, how it aggregates across the requests of an iteration and across iterations, its label and format,
and its name in peer tools (vLLM, GuideLLM, AIPerf, llama-bench, llama-server, Ollama). Backends declare the
names they emit (`Workload.emits`); the record, the analyzer's tables, `benchbench cost`, the summary table
and every report format take their labels and units from here. `docs/metrics.md` is generated from it
(`python -m benchbench.metrics --write`).

Scopes:
- `request`: one stream (one generation) as its user feels it (`ttft_s`, `tpot_s`, `tg_tok_s`);
- `iteration`: a fact of one iteration as a whole (`concurrency`, `duration_s`, energy);
- `throughput`: the machine's rate over an iteration's measured window, all concurrent requests together
  (`output_tok_s`); energy per token, tok/s per W and every money figure use these, never a stream's speed;
- `run`: a figure of a whole run or machine (profile inputs, derived costs).
- `period`: realized over a recorded day, week or month of a machine's real use (the usage ledger of
  `benchbench watch`): sums and ratios of what was served and drawn, never a benchmark's window.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..fmt import format_value
from ..stats import numbers as finite_numbers

SCOPES = ("request", "iteration", "throughput", "run", "period")
DIRECTIONS = ("higher", "lower", None)
REQUEST_AGGREGATIONS = ("mean", "sum", "max", "mode", "any", None)
ITERATION_AGGREGATIONS = ("mean", "ratio", "min", "max", "sum", "last", None)
FORMATS = ("num", "int", "pct", "text", "bool", "list")
PEER_TOOLS = ("vllm", "guidellm", "aiperf", "llama-bench", "llama-server", "ollama")
STRICT_ENV = "BENCHBENCH_STRICT_METRICS"


@dataclass(frozen=True)
class Metric:
    """One figure. `unit` may hold `{cur}` (the currency of the machine's profile).

    requests: how an iteration's value comes from its requests' values (mean, sum, max, mode: the most
        common text, any: true if any is); None for figures that are not per request.
    iterations: how a group of iterations is summarized (mean: mean ± sample stdev; ratio: Σ `count`
        ÷ Σ window seconds, the throughput over all measured windows; min: the best of lower-is-better).
    count: for `throughput` metrics, the iteration metric counted over the window (output_tokens).
    keyed: the value is a mapping (stages_s: {stage: seconds}); its columns are `<name>.<key>`.
    inputs: for derived figures, the inputs whose provenance the figure inherits (speed, system, gpu,
        idle, `idle?` = idle only below full utilization; `=x`: x's own label; empty: declared inputs).
    """

    name: str
    unit: str
    scope: str
    label: str
    description: str
    direction: str | None = None
    requests: str | None = "mean"
    iterations: str | None = "mean"
    fmt: str = "num"
    kinds: tuple[str, ...] = ()
    peers: Mapping[str, str] = field(default_factory=dict)
    title: str = ""
    count: str | None = None
    keyed: bool = False
    inputs: tuple[str, ...] | None = None
    unit_in_label: bool = False       # the label says the unit (tok/s per system W): titles leave it out

    def __post_init__(self) -> None:
        problems = [what for what, ok in (
            ("scope", self.scope in SCOPES), ("direction", self.direction in DIRECTIONS),
            ("requests", self.requests in REQUEST_AGGREGATIONS),
            ("iterations", self.iterations in ITERATION_AGGREGATIONS), ("fmt", self.fmt in FORMATS),
            ("peers", set(self.peers) <= set(PEER_TOOLS)),
            ("count", (self.count is not None) == (self.iterations == "ratio")))
            if not ok]
        if problems:
            raise ValueError(f"metric {self.name}: bad {', '.join(problems)}")

    def unit_for(self, currency: str | None = None) -> str:
        """The unit with the currency filled in."""
        return self.unit.replace("{cur}", currency or "USD")

    @property
    def shown_unit(self) -> str:
        """The unit a column title shows: none for percentages (the cells carry `%`), for counts named by their
        unit (chars, frames) and for labels that say it (tok/s per system W)."""
        if self.fmt == "pct" or self.unit in (self.label, "") or self.unit_in_label:
            return ""
        return self.unit

    def header(self, currency: str | None = None) -> str:
        """`label (unit)`, the column title every report format shows."""
        unit = self.shown_unit.replace("{cur}", currency or "USD")
        return f"{self.label} ({unit})" if unit else self.label

    @property
    def long_title(self) -> str:
        """A longer label for listings (`benchbench cost`)."""
        return self.title or self.label

    def format(self, value: Any) -> str:
        """The value as text, in this metric's format."""
        return format_value(value, self.fmt)


class UnregisteredMetric(ValueError):
    """A metric name the registry does not know (raised only in strict mode: the test suite)."""


REGISTRY: dict[str, Metric] = {}
SECTIONS: dict[str, list[str]] = {}      # docs/metrics.md section → metric names, in registration order


def register(*metrics: Metric, section: str = "Other") -> None:
    """Add metrics to the registry (under a section of docs/metrics.md); a name registered twice is a bug."""
    for metric in metrics:
        if metric.name in REGISTRY:
            raise ValueError(f"metric {metric.name} registered twice")
        REGISTRY[metric.name] = metric
        SECTIONS.setdefault(section, []).append(metric.name)


def lookup(name: str) -> Metric | None:
    """The metric of a record key or column: `stages_s.stage1` → `stages_s`; None when unknown."""
    if name in REGISTRY:
        return REGISTRY[name]
    base = name.split(".", 1)[0]
    metric = REGISTRY.get(base)
    return metric if metric is not None and metric.keyed else None


def get(name: str) -> Metric:
    """The metric of a name; KeyError naming it when the registry does not know it."""
    metric = lookup(name)
    if metric is None:
        raise KeyError(f"metric {name!r} is not in the registry (benchbench/metrics)")
    return metric


def label(name: str) -> str:
    return get(name).label


def unit(name: str, currency: str | None = None) -> str:
    return get(name).unit_for(currency)


def header(name: str, currency: str | None = None) -> str:
    return get(name).header(currency)


def unknown(names: Iterable[str]) -> list[str]:
    """The names (nested mappings flattened to `parent.key`) the registry does not know."""
    return [n for n in names if lookup(n) is None]


def flat_names(metrics: Mapping[str, Any], prefix: str = "") -> list[str]:
    """`stages_s: {stage1: ..}` → `stages_s.stage1`; the names of a metrics mapping as columns."""
    out: list[str] = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and (lookup(name) is None or lookup(name).keyed):
            out += flat_names(value, name + ".") if value else [name]
        else:
            out.append(name)
    return out


def strict() -> bool:
    """Strict mode (the test suite): an unregistered metric name is an error, not a silent column."""
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


def check_names(metrics: Mapping[str, Any]) -> list[str]:
    """The unregistered names among `metrics`; in strict mode they raise UnregisteredMetric."""
    bad = unknown(m for m in flat_names(metrics) if "." not in m or lookup(m.split(".", 1)[0]) is None)
    if bad and strict():
        raise UnregisteredMetric(f"unregistered metric(s) {', '.join(sorted(bad))}: add them to "
                                 "benchbench/metrics (and `emits` of the backend)")
    return bad


def check_declared(metrics: Mapping[str, Any], emits: Iterable[str], backend: str) -> list[str]:
    """Top-level names in `metrics` a backend did not declare in `emits`; strict mode raises."""
    bad = sorted(set(metrics) - set(emits))
    if bad and strict():
        raise UnregisteredMetric(f"backend {backend} emitted {', '.join(bad)} without declaring them in `emits`")
    return bad


# --- aggregation --------------------------------------------------------------------------------

def combine_requests(name: str, values: list[Any]) -> Any:
    """One iteration's value of `name` from its requests' values, as the registry says (unknown names:
    the mean of numbers, else the most common text)."""
    metric = lookup(name)
    how = metric.requests if metric is not None else "mean"
    numbers = finite_numbers(values)
    if how == "sum":
        if not values or len(numbers) != len(values):
            return None
        return sum(values) if all(isinstance(v, int) for v in values) else math.fsum(numbers)
    if how == "any":
        known = [bool(v) for v in values if v is not None]
        return any(known) if known else None
    if how in ("mean", "max", None) and numbers:
        if len(values) == 1:
            return values[0]
        return max(numbers) if how == "max" else math.fsum(numbers) / len(numbers)
    known = [str(v) for v in values if v is not None]
    if not known:
        return None
    return max(dict.fromkeys(known), key=known.count)


def throughput_metrics() -> list[Metric]:
    """The throughput metrics a runner derives from an iteration's counts and its window."""
    return [m for m in REGISTRY.values() if m.scope == "throughput" and m.count]


def derive_throughput(metrics: dict[str, Any], window_s: float | None) -> dict[str, Any]:
    """Add every throughput metric whose count is in `metrics` (count ÷ window), in place; a window
    that is not positive leaves them out."""
    for metric in throughput_metrics():
        count = metrics.get(metric.count)
        if metric.name in metrics or not isinstance(count, (int, float)) or isinstance(count, bool):
            continue
        metrics[metric.name] = count / window_s if window_s and window_s > 0 else None
    return metrics
