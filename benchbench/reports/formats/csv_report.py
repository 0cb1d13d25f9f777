"""CSV: one file per table, raw values (numbers unformatted), provenance in `<column>_provenance`.

`-o report.csv` writes `report_<table>.csv` beside it; `-o FOLDER` (no .csv suffix) writes
`FOLDER/<table>.csv`. Text cells that a spreadsheet would read as a formula are prefixed with `'`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ...fmt import missing
from ...textsafe import file_stem
from ..model import Report, Table
from .base import ReportFormat, write_text

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CsvFormat(ReportFormat):
    name = "csv"
    extensions = ("csv",)

    def write(self, report: Report, output: Path) -> list[Path]:
        return [write_text(path, table_csv(table)) for table, path in self.paths(report, Path(output))]

    @staticmethod
    def paths(report: Report, output: Path) -> list[tuple[Table, Path]]:
        """Where each table goes for this `-o`."""
        if output.suffix.lower() == ".csv":
            return [(t, output.with_name(f"{output.stem}_{file_stem(t.name)}.csv")) for t in report.tables()]
        return [(t, output / f"{file_stem(t.name)}.csv") for t in report.tables()]


def header(table: Table) -> list[str]:
    names = []
    for col in table.columns:
        names.append(col.key)
        if col.kind == "stat":
            names += [f"{col.key}_stdev", f"{col.key}_n"]
        if col.prov:
            names.append(f"{col.key}_provenance")
    return names


def table_csv(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header(table))
    for row in table.rows:
        out: list[Any] = []
        for col in table.columns:
            out.append(value(row.get(col.key)))
            if col.kind == "stat":
                out += [value(row.get(f"{col.key}_stdev")), value(row.get(f"{col.key}_n"))]
            if col.prov:
                out.append((row.get("_prov") or {}).get(col.key) if row.get(col.key) is not None else "")
        writer.writerow(out)
    return buf.getvalue()


def value(v: Any) -> Any:
    """A raw cell: numbers as they are, lists joined with `; `, formula-looking text defused."""
    if v is None or (isinstance(v, float) and missing(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v)) if isinstance(v, float) else v
    if isinstance(v, (list, tuple)):
        v = "; ".join(str(x) for x in v)
    text = str(v)
    return "'" + text if text.startswith(_FORMULA_START) else text
