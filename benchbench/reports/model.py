"""What a report is made of, independent of its format: sections holding tables, charts and notes.

Table rows hold raw values (numbers stay numbers); each format decides how to show them. A cell's
provenance (measured / estimated / declared / published) travels in the row under `_prov`
({column key: label}); a row's own origin under `provenance` and `source`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import metrics


@dataclass
class Column:
    """One table column. kind: text | num | int | pct | stat | bool | list | source.

    `stat` shows `key` as mean ± `<key>_stdev` with `<key>_n`; `prov` marks the cell with the
    provenance found in the row's `_prov` under `key`."""

    key: str
    header: str
    unit: str = ""
    kind: str = "num"
    prov: bool = False

    @property
    def title(self) -> str:
        return f"{self.header} ({self.unit})" if self.unit else self.header

    @classmethod
    def of(cls, name: str, kind: str | None = None, prov: bool = False) -> Column:
        """The column of a registered metric: its label and unit (`{cur}` kept for the section to fill in)
        from benchbench/metrics, its format unless `kind` says otherwise (`stat`: mean ± stdev (n))."""
        metric = metrics.get(name)
        return cls(name, metric.label, metric.shown_unit, kind or metric.fmt, prov)


@dataclass
class Table:
    """A titled table; `name` is file-safe (CSV file names, HTML ids)."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""

    @property
    def collapsed(self) -> bool:
        """Long tables are folded in the HTML report."""
        return len(self.rows) > 40


@dataclass
class Chart:
    """A matplotlib figure drawn on demand by `draw(fig)`; `caption` says what it shows and the
    provenance of its data."""

    name: str
    title: str
    caption: str
    draw: Callable[[Any], None]
    size: tuple[float, float] = (8.0, 4.5)


@dataclass
class Note:
    """A paragraph of plain text."""

    text: str


Block = Table | Chart | Note


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    intro: str = ""

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def charts(self) -> list[Chart]:
        return [b for b in self.blocks if isinstance(b, Chart)]


@dataclass
class Source:
    """A published article the reference figures come from."""

    file: str
    title: str
    url: str | None = None


@dataclass
class Report:
    """Everything a format needs: sections in order, the analysis behind them, the sources."""

    title: str
    generated_at: str
    version: str
    sections: list[Section]
    analysis: Any
    sources: list[Source]
    reference: bool
    n_records: int
    machines: list[str]                  # measured
    published_machines: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)     # input the analysis left out (InputSkipped)

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables()]

    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts()]

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)
