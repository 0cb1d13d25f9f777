"""GitHub-flavoured Markdown: the same tables, charts as PNG files in `<stem>_files/` beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...fmt import PROV_MARK
from ...textsafe import file_stem, markdown_cell
from ..model import Chart, Note, Report, Table
from ..plots import render
from ..view import columns, rows
from .base import ReportFormat, write_text

escape = markdown_cell   # the name the sections and tests use


class MarkdownFormat(ReportFormat):
    name = "md"
    extensions = ("md", "markdown")

    def write(self, report: Report, output: Path) -> list[Path]:

        output = Path(output)
        folder = output.with_name(f"{output.stem}_files")
        written = []
        images: dict[str, str] = {}
        charts = report.charts()
        if charts:
            folder.mkdir(parents=True, exist_ok=True)
        for chart in charts:
            path = folder / f"{file_stem(chart.name)}.png"   # a hostile currency can't leave the folder
            path.write_bytes(render(chart, "png"))
            images[chart.name] = f"{folder.name}/{path.name}"
            written.append(path)
        return [write_text(output, self.text(report, images)), *written]

    def render(self, report: Report) -> str:
        return self.text(report, None)

    def text(self, report: Report, images: dict[str, str] | None) -> str:
        """The document; charts link to `images` (None: charts are left out, with a note)."""
        out = [f"# {escape(report.title)}", "",
               f"{report.n_records} records measured on {len(report.machines)} machines"
               + (f" ({escape(', '.join(report.machines))})" if report.machines else "") + "; published reference "
               + (f"figures for {escape(', '.join(report.published_machines))} from {len(report.sources)} articles"
                  if report.reference else "figures left out")
               + f". Generated {report.generated_at} by benchbench {report.version}.", "",
               "Figures are measured unless marked *est.* (estimated), *decl.* (declared in a profile) or *pub.* "
               "(published by an article; the source column names it).", ""]
        if images is None and report.charts():
            out += ["_Charts are left out here: write the report with `-o FILE.md` to get them as PNG files._", ""]
        for section in report.sections:
            out += [f"## {escape(section.title)}", ""]
            if section.intro:
                out += [escape(section.intro), ""]
            for block in section.blocks:
                out += self._block(block, images)
        if report.sources:
            out += ["## Sources", ""]
            out += [f"- [{escape(s.title)}]({s.url})" if s.url else f"- {escape(s.title)}" for s in report.sources]
            out.append("")
        return "\n".join(out)

    def _block(self, block: Any, images: dict[str, str] | None) -> list[str]:
        if isinstance(block, Table):
            return [f"### {escape(block.title)}", "", *([escape(block.note), ""] if block.note else []),
                    *table_lines(block), ""]
        if isinstance(block, Chart):
            if images is None or block.name not in images:
                return []
            return [f"![{escape(block.title)}]({images[block.name]})", "", f"*{escape(block.caption)}*", ""]
        if isinstance(block, Note):
            return [escape(block.text), ""]
        return []


def table_lines(table: Table) -> list[str]:
    """A GFM table: numbers right-aligned, provenance marks after the value."""

    shown = columns(table)
    head = "| " + " | ".join(escape(c.title) for c in shown) + " |"
    align = "|" + "|".join("---:" if c.kind in ("num", "int", "pct", "stat") else "---" for c in shown) + "|"
    lines = [head, align]
    for row in rows(table):
        cells = []
        for cell in row.cells:
            text = escape(cell.text)
            if cell.href:
                text = f"[{text}]({cell.href})"
            if cell.prov in PROV_MARK and cell.mark:
                text += f" *{PROV_MARK[cell.prov]}*"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return lines
