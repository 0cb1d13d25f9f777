"""Reports built only from stored records: terminal/Markdown summary (summary.py), and the full report
in HTML, Markdown, CSV and JSON (docs/reports.md).

    from benchbench.reports import build_report, write_report
    report = build_report(["results/"], reference=True)
    write_report(report, "report.html")            # format from the extension

Heavy imports (pandas, matplotlib, jinja2) happen inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from .build import build_report as build
from .formats import format_for, get_format

__all__ = ["build_report", "write_report"]


def build_report(*args: Any, **kwargs: Any) -> Any:
    """See `benchbench.reports.build.build_report`."""

    return build(*args, **kwargs)


def write_report(report: Any, output: Path | str, fmt: str | None = None) -> list[Path]:
    """Write `report` to `output` in `fmt` (default: from the extension); returns the files written."""

    fmt = fmt or format_for(Path(output))
    if fmt is None:
        raise UserError("cannot tell the report format from the file name", file=str(output),
                        hint="use .html, .md, .csv or .json, or give --format")
    return get_format(fmt).write(report, Path(output))
