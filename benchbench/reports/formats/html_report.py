"""One self-contained HTML file: Jinja2 template with autoescape, CSS inline, charts as data: URIs.

Nothing is loaded from elsewhere: a Content-Security-Policy meta tag allows only inline styles and
data: images, so even a string that got past escaping could neither run a script nor fetch anything.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ...fmt import PROV_MARK
from ..model import Chart, Note, Report, Table
from ..plots import render
from ..view import columns, rows
from .base import ReportFormat, write_text

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


class HtmlFormat(ReportFormat):
    name = "html"
    extensions = ("html", "htm")

    def __init__(self, chart_format: str = "svg") -> None:
        self.chart_format = chart_format

    def write(self, report: Report, output: Path) -> list[Path]:
        return [write_text(Path(output), self.render(report))]

    def render(self, report: Report) -> str:
        env = environment()
        return env.get_template("report.html.j2").render(
            report=report, sections=[self._section(s) for s in report.sections], csp=CSP, prov_short=PROV_MARK)

    def _section(self, section: Any) -> dict[str, Any]:
        return {"id": section.id, "title": section.title, "intro": section.intro,
                "blocks": [self._block(b) for b in section.blocks]}

    def _block(self, block: Any) -> dict[str, Any]:

        if isinstance(block, Table):
            return {"type": "table", "name": block.name, "title": block.title, "note": block.note,
                    "headers": [c.title for c in columns(block)], "rows": rows(block), "collapsed": block.collapsed,
                    "n": len(block.rows)}
        if isinstance(block, Chart):
            return {"type": "chart", "name": block.name, "title": block.title, "caption": block.caption,
                    "uri": data_uri(block, self.chart_format)}
        if isinstance(block, Note):
            return {"type": "note", "text": block.text}
        raise TypeError(f"unknown block {type(block).__name__}")


def data_uri(chart: Chart, fmt: str = "svg") -> str:
    """The chart as a base64 data: URI (an <img> never runs what an SVG might hold)."""

    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(render(chart, fmt)).decode("ascii")


def environment() -> Any:
    """The Jinja2 environment: autoescape on for every template, undefined names are errors."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["breakable"] = breakable
    return env


def breakable(text: str) -> Any:
    """Escaped text with line-break opportunities (<wbr>) after `,` `+` `[` and `=`, so that long
    identifiers such as `ctx[options.num_ctx=2048,concurrency=1]` can wrap in a narrow column."""
    from markupsafe import Markup, escape

    out = escape(str(text))
    for ch in (",", "+", "[", "="):
        out = out.replace(ch, Markup(ch + "<wbr>"))
    return out
