"""Tables as display cells (text, provenance, link), shared by the HTML and Markdown formats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fmt import cell_text, missing, provenance_of
from .model import Table
from .sources import ARTICLES

NUMERIC = {"num", "int", "pct", "stat"}


@dataclass
class Cell:
    text: str
    prov: str | None = None
    href: str | None = None
    numeric: bool = False


@dataclass
class Row:
    cells: list[Cell]
    classes: str = ""


def rows(table: Table) -> list[Row]:
    """Every row of a table as display cells; row classes: published, warmup, failed."""
    out = []
    for row in table.rows:
        cells = []
        for col in table.columns:
            if col.kind == "source":
                cells.append(source_cell(row.get(col.key)))
                continue
            cells.append(Cell(cell_text(col, row), provenance_of(col, row), numeric=col.kind in NUMERIC))
        out.append(Row(cells, row_classes(row)))
    return out


def source_cell(value: Any) -> Cell:
    """An article named by its file: its short title, linked when its address is known."""
    if missing(value):
        return Cell("")
    short, _title, url = ARTICLES.get(str(value), (str(value), str(value), None))
    return Cell(short, href=url)


def row_classes(row: dict[str, Any]) -> str:
    classes = []
    if row.get("provenance") == "published" or row.get("published"):
        classes.append("published")
    if row.get("warmup"):
        classes.append("warmup")
    if row.get("error"):
        classes.append("failed")
    return " ".join(classes)
