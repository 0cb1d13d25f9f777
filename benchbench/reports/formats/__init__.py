"""Report formats by name (`--format`) and by file extension; one module per format."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ...errors import UserError

FORMATS: dict[str, str] = {
    "html": "benchbench.reports.formats.html_report:HtmlFormat",
    "md": "benchbench.reports.formats.markdown_report:MarkdownFormat",
    "csv": "benchbench.reports.formats.csv_report:CsvFormat",
    "json": "benchbench.reports.formats.json_report:JsonFormat",
}
EXTENSIONS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json"}


def get_format(name: str) -> Any:
    """An instance of the named format (UserError for an unknown one)."""
    if name not in FORMATS:
        raise UserError(f"unknown report format {name!r}", field="--format", hint="one of: " + ", ".join(FORMATS))
    module, cls = FORMATS[name].split(":")
    return getattr(importlib.import_module(module), cls)()


def format_for(path: Path) -> str | None:
    """The format a file name asks for, from its extension (None when it says nothing)."""
    return EXTENSIONS.get(Path(path).suffix.lower())
