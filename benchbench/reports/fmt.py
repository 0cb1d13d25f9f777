"""Display text of table cells, shared by the HTML and Markdown formats (CSV and JSON keep raw values)."""

from __future__ import annotations

import math
from typing import Any

from .model import Column
from .summary import format_number

MISSING = "–"
PROV_SHORT = {"imported": "imp.", "estimated": "est.", "declared": "decl.", "published": "pub."}


def missing(value: Any) -> bool:
    """None, NaN, or an empty string/list."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) == 0
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def number(value: Any) -> str:
    if missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(x) >= 1000:
        return f"{x:,.0f}" if x == int(x) or abs(x) >= 100_000 else f"{x:,.1f}"
    return format_number(x)


def cell_text(col: Column, row: dict[str, Any]) -> str:
    """The text of one cell (without its provenance mark)."""
    value = row.get(col.key)
    kind = col.kind
    if kind == "stat":
        return stat_text(value, row.get(f"{col.key}_stdev"), row.get(f"{col.key}_n"))
    if missing(value):
        return MISSING
    if kind == "int":
        return f"{int(round(float(value))):,}"
    if kind == "pct":
        return f"{float(value):.0f}%" if abs(float(value)) >= 10 else f"{float(value):.1f}%"
    if kind == "bool":
        return "yes" if value else ""
    if kind == "list":
        return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    if kind == "num":
        return number(value)
    return str(value)


def stat_text(mean: Any, stdev: Any, n: Any) -> str:
    """`mean ± stdev (n=N)`; the mean alone with one value."""
    if missing(mean):
        return MISSING
    text = number(mean)
    if not missing(stdev):
        text += f" ± {number(stdev)}"
    if not missing(n):
        text += f" (n={int(n)})"
    return text


def provenance_of(col: Column, row: dict[str, Any]) -> str | None:
    """The provenance label of a cell, when the column carries one and the cell has a value."""
    if not col.prov or (missing(row.get(col.key))):
        return None
    return (row.get("_prov") or {}).get(col.key)
