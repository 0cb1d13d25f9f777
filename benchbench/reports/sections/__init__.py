"""One module per report section; each has `build(ctx) -> Section | None` (None: no data for it).

Shared here: the columns every section starts with and how rows are ordered and charts captioned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..model import Column
from ..sources import tag

ORIGIN = Column("provenance", "data", kind="text")
SOURCE = Column("source", "source", kind="source")


def row_order(row: dict[str, Any], *first: str) -> tuple:
    """Sort rows by the given keys, then measured before published, then machine and workload."""
    return (*(str(row.get(k) or "") for k in first), row.get("provenance") != "measured", str(row.get("machine")),
            str(row.get("workload")))


def provenance_caption(rows: Iterable[dict[str, Any]], *figures: str) -> str:
    """`Data: measured (box), published (p40-server, economics).` for the rows shown in a chart."""
    seen: dict[str, dict[str, None]] = {}
    for row in rows:
        labels = {(row.get("_prov") or {}).get(f) for f in figures} - {None}
        if not labels:
            labels = {row.get("provenance") or "measured"}
        for label in labels:
            who = str(row.get("machine"))
            if row.get("provenance") == "published":
                who += f", {tag(row.get('source'))}"
            seen.setdefault(label, {})[who] = None
    order = ("measured", "imported", "estimated", "declared", "published")
    parts = [f"{label} ({'; '.join(seen[label])})" for label in order if label in seen]
    return "Data: " + ", ".join(parts) + "." if parts else ""


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [items]


def with_currency(cols: list[Column], unit: str) -> list[Column]:
    """The columns with `{cur}` in their units replaced by the rows' currency."""
    return [Column(c.key, c.header, c.unit.replace("{cur}", unit), c.kind, c.prov) for c in cols]


def currency_unit(rows: Sequence[dict[str, Any]]) -> str:
    """The one currency of these rows, or `cur.` when they mix (then a currency column says which)."""
    found = {r.get("currency") or "USD" for r in rows}
    return found.pop() if len(found) == 1 else "cur."


def mixed_currency(rows: Sequence[dict[str, Any]]) -> bool:
    return len({r.get("currency") or "USD" for r in rows}) > 1
