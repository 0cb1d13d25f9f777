"""Records → `Report`: load the records, run the analyzer, build each section that has data."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..analysis import analyze
from ..analysis.load import typed
from ..errors import InputSkipped
from ..fmt import clean
from ..ledger import machine_usage
from ..record import load_typed_records
from ..record_model import Record
from .model import Report
from .plots import colors
from .sections import depth, economics, llm, machines, power, sweeps, tts, verdict, video, workload
from .sections import load as load_tests
from .sections import usage as usage_section
from .sections import warnings as warn
from .sources import series_label, source


@dataclass
class Context:
    """What the section builders share: the analysis, the raw records and lookups over them."""

    analysis: Any
    records: list[Record]
    reference: bool
    skipped: list[tuple[str, str]] = field(default_factory=list)
    caught: list[str] = field(default_factory=list)
    max_power_runs: int = 12
    max_bars: int = 40
    prov: dict[str, dict[str, str]] = field(default_factory=dict)
    stats: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    palette: dict[str, str] = field(default_factory=dict)
    ledger: Any = None                   # sections.usage.LedgerView, when ledgers were given
    _groups: list[dict[str, Any]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:

        a = self.analysis
        for g, f, p in zip(a.figures["group_id"], a.figures["figure"], a.figures["provenance"]):
            self.prov.setdefault(g, {})[f] = p
        st = a.stats
        self.stats = {(g, m): r for g, m, r in zip(st["group_id"], st["metric"], st.to_dict("records"))}
        self.palette = colors(series_label(m, p, s) for m, p, s in
                              zip(a.groups["machine"], a.groups["provenance"], a.groups["source"]))

    def groups(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Group rows (fresh dicts, NaN → None) of one kind, each with `_prov`, `series`, `published`."""
        if self._groups is None:
            self._groups = []
            for row in self.analysis.groups.to_dict("records"):
                row = clean(row)
                row["_prov"] = self.prov.get(row["group_id"], {})
                row["series"] = series_label(row["machine"], row["provenance"], row["source"])
                row["published"] = row["provenance"] == "published"
                self._groups.append(row)
        return [dict(r, _prov=dict(r["_prov"])) for r in self._groups if kind is None or r["kind"] == kind]

    def stat(self, gid: str, metric: str) -> dict[str, Any] | None:
        return self.stats.get((gid, metric))

    def metrics_of(self, gid: str, prefix: str) -> dict[str, dict[str, Any]]:
        """Statistics of the metrics `<prefix>.<name>` of a group: name → stats row."""
        return {m[len(prefix) + 1:]: r for (g, m), r in self.stats.items() if g == gid and m.startswith(prefix + ".")}


def load(paths: Iterable[Path | str] | None) -> tuple[list[Record], list[tuple[str, str]]]:
    """Every record under `paths` (default `results/` when it exists), typed, and the files skipped."""
    if paths is None:
        paths = [Path("results")] if Path("results").is_dir() else []
    skipped: list[tuple[str, str]] = []
    records = load_typed_records(list(paths), on_skip=lambda p, why: skipped.append((str(p), why)))
    return records, skipped


def build_report(paths: Iterable[Path | str] | None = None, *, records: list[Record | dict[str, Any]] | None = None,
                 reference: bool = True, utilization: float | None = None, hours_per_day: float | None = None,
                 api_models: Iterable[str] = (), title: str = "benchbench report",
                 max_power_runs: int = 12, ledgers: Iterable[Path | str] = (), period: str = "day",
                 since: float | None = None, until: float | None = None, mix: Any = None,
                 usage: Any = None) -> Report:
    """The report of the records under `paths` (plus `records`), with the published reference
    figures unless `reference=False`, and the usage of `ledgers` per `period` (day, week, month)
    between `since` and `until` (UNIX seconds). `mix`: the request shape the verdict prices; `usage`: part 16's
    machine_usage() (read from `ledgers` when not given): the verdict's real token mix and utilization. Bad
    arguments raise UserError."""
    loaded, skipped = load(paths)
    ledgers = list(ledgers)
    if usage is None and ledgers:
        usage = machine_usage(ledgers, start=since, end=until) or None
    loaded += typed(records or [])
    with warnings.catch_warnings(record=True) as caught:   # the analysis' notices, and the power charts'
        warnings.simplefilter("always", InputSkipped)
        analysis = analyze([], records=loaded, reference=reference, utilization=utilization,
                           hours_per_day=hours_per_day, api_models=tuple(api_models), mix=mix, usage=usage)
        ctx = Context(analysis=analysis, records=[r for r in loaded if not r.reference], reference=reference,
                      skipped=skipped, max_power_runs=max_power_runs)
        if ledgers:
            ctx.ledger = usage_section.view(ledgers, period, list(api_models), since, until)
        built = {build: build(ctx) for build in _builders() if build is not warn.build}
    ctx.caught = _input_skipped(caught)
    built[warn.build] = warn.build(ctx)                    # last, so that it lists them all
    sections = [s for s in (built[build] for build in _builders()) if s is not None and s.blocks]
    runs = analysis.runs
    machines = sorted({str(m) for m in runs.loc[runs["provenance"] != "published", "machine"]})
    published = sorted({str(m) for m in runs.loc[runs["provenance"] == "published", "machine"]})
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    options: dict[str, Any] = {"utilization": utilization, "hours_per_day": hours_per_day,
                               "api_models": list(api_models)}
    if ledgers:
        options.update(period=period, ledgers=ctx.ledger.files if ctx.ledger else [])
    if mix is not None:
        options["mix"] = _mix_option(mix)
    return Report(title=title, generated_at=now, version=__version__, sections=sections, analysis=analysis,
                  sources=_sources(analysis), reference=reference, n_records=len(ctx.records), machines=machines,
                  published_machines=published, options=options, skipped=skipped, notices=ctx.caught)


def _mix_option(mix: Any) -> Any:
    return mix.to_dict() if hasattr(mix, "to_dict") else mix


def _input_skipped(caught: list[warnings.WarningMessage]) -> list[str]:
    """The analysis' own notices of input left out; any other warning (a library's) goes on as it came."""
    for w in caught:
        if not issubclass(w.category, InputSkipped):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return [str(w.message) for w in caught if issubclass(w.category, InputSkipped)]


def _builders() -> list[Any]:
    return [verdict.build, warn.build, machines.build, llm.build, sweeps.build, load_tests.build, depth.build,
            tts.build, video.build, workload.build, economics.build, usage_section.build, power.build]


def _sources(analysis: Any) -> list[Any]:

    files = sorted({s for s in analysis.runs["source"] if isinstance(s, str) and s})
    return [source(f) for f in files]
