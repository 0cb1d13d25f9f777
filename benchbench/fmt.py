"""The one place numbers become text, and missing values are told apart from numbers.

Used by the terminal summary, `benchbench cost`, and every report format (HTML, Markdown; CSV and JSON keep
raw values). Provenance marks live here too, so every format labels estimated, declared and published
figures the same way.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"
PROV_MARK = {"imported": "imp.", "estimated": "est.", "declared": "decl.", "published": "pub."}


def finite(value: Any) -> float | None:
    """A finite real number as float; None for None, NaN, ±inf, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):   # numpy scalars
            try:
                return finite(value.item())
            except (TypeError, ValueError):
                return None
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def clean(value: Any) -> Any:
    """NaN and ±inf → None, numpy scalars → Python, recursively through dicts, lists and tuples (JSON-safe).
    The one NaN cleaner of the project."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and not isinstance(value, (str, bytes, bool, int)):
        try:
            return clean(value.item())
        except (TypeError, ValueError):
            return str(value)
    return value


def missing(value: Any) -> bool:
    """None, NaN, or an empty string/list/mapping."""
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


def short_number(x: float | None) -> str:
    """Three or four significant figures: 123.4, 12.34, 0.123, 0.0012."""
    if x is None:
        return MISSING
    ax = abs(x)
    if ax >= 100:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax >= 0.01:
        return f"{x:.3f}"
    return f"{x:.2g}"


def number(value: Any) -> str:
    """A number for people: thousands separated from 1,000 up, else `short_number`."""
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
    return short_number(x)


def stat_text(mean: Any, stdev: Any, n: Any = None) -> str:
    """`mean ± stdev (n=N)`; the mean alone with one value; `(n=N)` only when n is given."""
    if missing(mean):
        return MISSING
    text = number(mean)
    if not missing(stdev):
        text += f" ± {number(stdev)}"
    if not missing(n):
        text += f" (n={int(n)})"
    return text


def format_value(value: Any, fmt: str = "num") -> str:
    """A value in a registry format: num, int, pct, text, bool, list."""
    if fmt == "bool":
        return MISSING if value is None else ("yes" if value else "")
    if missing(value):
        return MISSING
    if fmt == "int":
        return f"{int(round(float(value))):,}"
    if fmt == "pct":
        return f"{float(value):.0f}%" if abs(float(value)) >= 10 else f"{float(value):.1f}%"
    if fmt == "list":
        return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    if fmt == "num":
        return number(value)
    return str(value)


def csv_number(value: Any, digits: int) -> str:
    """A number for a data file (the power samples CSV): fixed decimals, trailing zeros dropped, "" for none."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def prov_mark(label: str | None) -> str | None:
    """The short mark a report puts after an estimated, declared or published figure."""
    return PROV_MARK.get(label) if label else None


def aligned_table(rows: list[list[str]], header_rows: int = 1) -> str:
    """Cells padded into columns for the terminal, a dashed rule under the first `header_rows` rows."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for j, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if j == header_rows - 1:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
