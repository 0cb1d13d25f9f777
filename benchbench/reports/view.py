"""Tables as display cells (text, provenance, link), shared by the HTML and Markdown formats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fmt import cell_text, missing, provenance_of
from .model import Column, Table
from .sources import ARTICLES

NUMERIC = {"num", "int", "pct", "stat"}


@dataclass
class Cell:
    """`prov` is the cell's provenance; `mark` whether to show it (not in a published row that says
    so in its own column: the row's shading and `data` cell carry it)."""

    text: str
    prov: str | None = None
    href: str | None = None
    numeric: bool = False
    mark: bool = True
    small: bool = False


@dataclass
class Row:
    cells: list[Cell]
    classes: str = ""


def columns(table: Table) -> list[Column]:
    """The columns worth showing: those with a value in some row (the first two always)."""
    return [c for i, c in enumerate(table.columns) if i < 2 or any(not missing(r.get(c.key)) for r in table.rows)]


def rows(table: Table) -> list[Row]:
    """Every row of a table as display cells (shown columns only); row classes: published, warmup, failed."""
    out = []
    labelled = any(c.key == "provenance" for c in table.columns)
    shown = columns(table)
    for row in table.rows:
        cells = []
        published_row = labelled and row.get("provenance") == "published"
        for col in shown:
            if col.kind == "source":
                cells.append(source_cell(row.get(col.key)))
                continue
            prov = provenance_of(col, row)
            cells.append(Cell(cell_text(col, row), prov, numeric=col.kind in NUMERIC,
                              mark=not (published_row and prov == "published"), small=col.kind == "list"))
        out.append(Row(cells, row_classes(row)))
    return out


def source_cell(value: Any) -> Cell:
    """An article named by its file: its short title, linked when its address is known."""
    if missing(value):
        return Cell("")
    short, _title, url = ARTICLES.get(str(value), (str(value), str(value), None))
    return Cell(short, href=url, small=True)


def row_classes(row: dict[str, Any]) -> str:
    classes = []
    if row.get("provenance") == "published" or row.get("published"):
        classes.append("published")
    if row.get("warmup"):
        classes.append("warmup")
    if row.get("error"):
        classes.append("failed")
    return " ".join(classes)
