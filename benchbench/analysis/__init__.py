"""The analyzer: stored records → tidy pandas tables of statistics, power, energy and costs.

    from benchbench import analyze
    a = analyze(["results/"], reference=True)
    a.groups          # one row per machine × workload × params (docs/analysis.md lists every column)
    a.figures         # the same figures, long: value, unit, provenance
    a.api, a.cloud, a.tts_cloud   # break-even, payback, cloud TTS comparisons
    a.samples         # power samples, read on first use

pandas is imported inside functions only, so importing this package stays light.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..shapes import Shape, parse_mix
from .economics import economics
from .formulas import check_utilization
from .load import build, read_records, typed
from .prices import Price, parse_prices
from .reference import published_prices, reference_records
from .samples import load_samples, sample_energy
from .tables import Options, build_tables

__all__ = ["Analysis", "analyze"]


@dataclass
class Analysis:
    """The tables of one analysis. Frames are pandas DataFrames; see docs/analysis.md."""

    runs: Any
    iterations: Any
    energy: Any
    idle: Any
    groups: Any
    stats: Any
    figures: Any
    api: Any
    cloud: Any
    tts_cloud: Any
    skipped: list[tuple[str, str]] = field(default_factory=list)
    shape_points: Any = None       # the economics of the work (economics.py): every point priced for the shape
    shape_apis: Any = None
    shape_breakeven: Any = None
    shape_payback: Any = None
    verdict: Any = None
    shapes: dict[str, Any] = field(default_factory=dict)
    _samples: Any = field(default=None, repr=False)
    _sample_energy: Any = field(default=None, repr=False)

    @property
    def samples(self) -> Any:
        """Every power sample beside the records (read on first use), with its iteration index."""
        if self._samples is None:

            self._samples = load_samples(self.runs, self.iterations)
        return self._samples

    @property
    def sample_energy(self) -> Any:
        """Per iteration and channel, energy recomputed from the samples against the record's."""
        if self._sample_energy is None:

            self._sample_energy = sample_energy(self.samples, self.iterations, self.energy)
        return self._sample_energy

    def group_iterations(self, group_id: str, measured_only: bool = True) -> Any:
        """The iterations of one group."""
        its = self.iterations[self.iterations["group_id"] == group_id]
        return its[its["measured"]] if measured_only else its


def analyze(paths: Iterable[Path | str] | Path | str | None = None, *,
            records: Iterable[dict[str, Any]] | None = None, reference: bool = False,
            utilization: float | None = None, hours_per_day: float | None = None,
            prices: Mapping[str, Any] | Iterable[Price] | None = None,
            api_models: Iterable[str] = (), mix: Shape | Mapping[str, Any] | str | None = None,
            usage: Mapping[str, Any] | None = None) -> Analysis:
    """Analyze the records under `paths` (files or folders; default `results/` when it exists).

    records: already loaded records, added to those read from `paths`.
    reference: add the articles' published figures (labelled `published`) and their quoted prices.
    utilization: fraction of hours spent generating (0 < u ≤ 1) for the all-in cost; default the
        profile's, else full use. hours_per_day: for payback; default the profile's, else 24 × u.
    prices: a `prices:` mapping (see prices.py) or Price entries, overriding suites and profiles.
    api_models: API models (genai-prices names or `prices.api` names) to compute break-even against.
    mix: the request shape to price (a Shape, a `mix:` mapping or a preset name), over the suites' and profiles'.
    usage: part 16's `machine_usage()` (machine → Usage): measured utilization and token mix, where a ledger exists.
    Unreadable record files are skipped with a warning naming the file (also in `.skipped`).
    """

    loaded_records, skipped = read_records(_paths(paths))
    loaded_records += typed(records or ())
    published = []
    if reference:

        loaded_records += reference_records()
        published = published_prices()
    if utilization is not None:
        _check(check_utilization, utilization, "utilization")
    if hours_per_day is not None and not 0 <= hours_per_day <= 24:

        raise UserError(f"must be in [0, 24], found {hours_per_day!r}", field="hours_per_day")
    opts = Options(utilization=utilization, hours_per_day=hours_per_day, prices=_prices(prices),
                   api_models=tuple(api_models), published_prices=published,
                   mix=mix if isinstance(mix, Shape) or mix is None else parse_mix(mix, prefix="mix."),
                   usage=usage)
    loaded_records = typed(loaded_records)
    loaded = build(loaded_records, skipped)
    tables = build_tables(loaded, opts)
    tables.update(economics(loaded_records, tables["groups"], opts))
    return Analysis(runs=loaded.runs, energy=loaded.energy, idle=loaded.idle, skipped=skipped, **tables)


def _paths(paths: Iterable[Path | str] | Path | str | None) -> list[Path]:
    if paths is None:
        default = Path("results")
        return [default] if default.is_dir() else []
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _prices(prices: Mapping[str, Any] | Iterable[Price] | None) -> list[Price]:
    if prices is None:
        return []
    if isinstance(prices, Mapping):
        return parse_prices(prices, source="caller")
    return list(prices)


def _check(fn: Any, value: Any, name: str) -> None:

    try:
        fn(value)
    except ValueError as exc:
        raise UserError(str(exc), field=name) from None
