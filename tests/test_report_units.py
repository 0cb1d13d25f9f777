"""Small pieces of the reports: cell text, escaping, CSV cells, formats by name and extension, charts."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from benchbench.errors import UserError
from benchbench.reports.fmt import cell_text, missing, number, stat_text
from benchbench.reports.formats import format_for, get_format
from benchbench.reports.formats.csv_report import value
from benchbench.reports.formats.markdown_report import escape
from benchbench.reports.model import Chart, Column
from benchbench.reports.sections.tts import first_run_penalty


def test_cell_text():
    assert stat_text(51.0, 1.0, 3) == "51.00 ± 1.00 (n=3)" and stat_text(47.5, None, None) == "47.50"
    assert number(4000.0) == "4,000" and number(1511.4) == "1,511.4" and number(0.0456) == "0.046"
    assert number(float("nan")) == "–" and number(None) == "–"
    assert cell_text(Column("p", "p", kind="pct"), {"p": 31.04}) == "31%"
    assert cell_text(Column("p", "p", kind="pct"), {"p": 1.64}) == "1.6%"
    assert cell_text(Column("w", "w", kind="list"), {"w": ["a", "b"]}) == "a, b"
    assert cell_text(Column("b", "b", kind="bool"), {"b": False}) == ""
    assert missing([]) and missing(math.nan) and not missing(0)


def test_markdown_escape_keeps_text_literal():
    assert escape("a|b") == "a\\|b" and escape("x_y*z") == "x\\_y\\*z"
    assert escape("<b>&</b>\nnext") == "&lt;b&gt;&amp;&lt;/b&gt; next"
    assert escape("[link](javascript:x)") == "\\[link\\](javascript:x)"


def test_csv_cells():
    assert value(None) == "" and value(float("nan")) == "" and value(True) == "true"
    assert value(0.1 + 0.2) == "0.30000000000000004" and value(3) == 3
    assert value(["a", "b"]) == "a; b" and value("=1+1") == "'=1+1" and value("-cmd") == "'-cmd"
    assert value(-1.5) == "-1.5"   # numbers are numbers


def test_formats_by_extension_and_name():
    assert format_for(Path("r.HTML")) == "html" and format_for(Path("r.md")) == "md"
    assert format_for(Path("r.csv")) == "csv" and format_for(Path("r.json")) == "json"
    assert format_for(Path("r.pdf")) is None
    assert get_format("md").name == "md"
    with pytest.raises(UserError, match="unknown report format 'pdf'"):
        get_format("pdf")


def test_first_run_penalty_per_session():
    rows = [{"run_id": "a", "rtf": 4.0}, {"run_id": "a", "rtf": 2.0}, {"run_id": "a", "rtf": 3.0},
            {"run_id": "b", "rtf": 3.0}, {"run_id": "b", "rtf": 3.0}, {"run_id": "b", "rtf": None}]
    assert first_run_penalty(rows) == pytest.approx(((4.0 / 2.5 - 1) * 100 + 0.0) / 2)
    assert first_run_penalty([{"run_id": "a", "rtf": 2.0}]) is None


def test_charts_render_deterministic_svg_and_png():
    from benchbench.reports.plots import Bar, Line, hbars, lines, render

    bars = Chart("b", "t", "c", lambda fig: hbars(fig, [Bar("x — m", "m", 2.0), Bar("y — p", "p", 3.0, True, 4.0)],
                                                  "tok/s", {"m": "#000000", "p": "#ff0000"}))
    svg = render(bars, "svg")
    assert svg.startswith(b"<?xml") and b"<svg" in svg and svg == render(bars, "svg")   # no date, fixed ids
    assert b"<text" not in svg   # text drawn as paths: no font needed
    assert not re.search(rb"""(?:href|src)\s*=\s*["'](?!#)|url\((?!#)""", svg)   # only internal references
    line = Chart("l", "t", "c", lambda fig: lines(fig.subplots(), [Line("a", [1, 2], [3.0, 2.0], hollow=[True, False])],
                                                  "run", "RTF"))
    assert render(line, "png")[:8] == b"\x89PNG\r\n\x1a\n"
