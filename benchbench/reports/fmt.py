"""Display text of table cells, shared by the HTML and Markdown formats (CSV and JSON keep raw values).
Numbers, missing values and provenance marks come from benchbench/fmt.py, the one formatting module."""

from __future__ import annotations

from typing import Any

from ..fmt import MISSING, PROV_MARK, format_value, missing, number, stat_text
from .model import Column

__all__ = ["MISSING", "PROV_MARK", "cell_text", "missing", "number", "provenance_of", "stat_text"]


def cell_text(col: Column, row: dict[str, Any]) -> str:
    """The text of one cell (without its provenance mark)."""
    value = row.get(col.key)
    if col.kind == "stat":
        return stat_text(value, row.get(f"{col.key}_stdev"), row.get(f"{col.key}_n"))
    if col.kind == "bool":
        return MISSING if missing(value) else ("yes" if value else "")
    return format_value(value, col.kind if col.kind in ("int", "pct", "list", "num") else "text")


def provenance_of(col: Column, row: dict[str, Any]) -> str | None:
    """The provenance label of a cell, when the column carries one and the cell has a value."""
    if not col.prov or (missing(row.get(col.key))):
        return None
    return (row.get("_prov") or {}).get(col.key)
