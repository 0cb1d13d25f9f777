"""Hostile names against the Markdown report and the terminal: a currency or workload name from a
gathered record can't become live HTML, break a table, write outside `-o`, or drive the terminal
(ANSI/OSC escape sequences, bells, bidi overrides, newlines)."""

from __future__ import annotations

import re

import pytest
from analysis_helpers import llm_run, write_run
from conftest import tiny_suite

from benchbench.textsafe import file_stem, one_line

CURRENCIES = ['<img src=x onerror=alert(1)>', "US/D", "../../../../tmp/escape", "$|**x**|`y`", "\x1b[31mUSD", "EUR"]
NAMES = ["w\x1b]0;owned\x07", "gen a/b\nsecond line", "x | y | z", "\u202eevil.exe", "`code` <b>bold</b> [l](http://x)",
         "$\\undefined{x}$ (mathtext)"]
PROFILE = {"electricity_per_kwh": 0.25, "hardware_cost": 4000.0, "amortization_years": 2.0, "idle_w": 95.0}


@pytest.fixture
def hostile(tmp_path):
    results = tmp_path / "results"
    for i, (cur, name) in enumerate(zip(CURRENCIES, NAMES)):
        rec, frame = llm_run(tok_s=[50.0 + i, 52.0, 51.0], gpu_w=250.0, wall_w=400.0, idle_w=90.0,
                             machine=f"m{i}", profile={**PROFILE, "currency": cur}, workload=name,
                             params={"model": name}, session=f"20250101T00000{i}Z-000{i}")
        write_run(results, rec, frame)
    return tmp_path


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str | None]]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Tags().feed(html)
    return found


def _render_markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(text)


@pytest.mark.filterwarnings("error::UserWarning")   # a control character on a chart: "Glyph 27 missing"
def test_markdown_report_is_inert_and_stays_inside_its_folder(hostile, cli):
    out = hostile / "out" / "r.md"
    code, _, err = cli("report", hostile / "results", "-o", out, "--no-reference")
    assert code == 0, err
    inside = sorted(p for p in hostile.rglob("*") if p.is_file() and "results" not in p.parts)
    assert inside and all(p.is_relative_to(hostile / "out") for p in inside), inside
    assert not list((hostile / "out").parent.parent.rglob("escape*"))
    md = out.read_text(encoding="utf-8")
    assert "\x1b" not in md and "\x07" not in md and "\u202e" not in md
    html = _render_markdown(md)
    tags = _tags(html)
    assert not {t for t, _ in tags} & {"script", "b", "iframe", "svg", "object", "embed", "style"}
    for tag, attrs in tags:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        assert not any("javascript:" in (v or "") for v in attrs.values()), (tag, attrs)
        if tag == "img":
            assert re.fullmatch(r"r_files/[A-Za-z0-9_.-]+\.png", attrs["src"]), attrs
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and "second line" in ln]
    assert rows and all("gen a/b second line" in r for r in rows)


def test_markdown_tables_keep_their_columns(hostile, cli):
    code, out, err = cli("report", hostile / "results", "--format", "md", "--no-reference")
    assert code == 0, err
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(-+:?\|)+|\|(-{3}:?\|)+", lines[i + 1]):
            width = len(re.split(r"(?<!\\)\|", line))
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                assert len(re.split(r"(?<!\\)\|", lines[j])) == width, lines[j]
                j += 1


def test_terminal_summary_shows_controls_escaped(hostile, cli):
    code, out, err = cli("report", hostile / "results")
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err and "\u202e" not in out
    assert "w\\x1b]0;owned\\x07" in out and "gen a/b\\nsecond line" in out and "\\u202eevil.exe" in out
    table = out.splitlines()
    assert len(table) == 2 + len(NAMES)          # header, rule, one line per run


def test_a_run_with_hostile_names_keeps_the_terminal_safe(write, cli, tmp_path):
    suite = tiny_suite(write, warmups=0, repetitions=1, max_tokens=2)
    text = suite.read_text().replace("- name: tiny", '- name: "t\\e]0;owned\\a\\e[2J a/b\\nc"')
    suite.write_text(text)
    code, out, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "t\\x1b]0;owned\\x07\\x1b[2J a/b\\nc" in err
    (record,) = (tmp_path / "r").rglob("*.json")
    assert "/" not in record.name.replace(".json", "") and "\x1b" not in record.name


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", ".", "..", "", "x" * 300, "con\x00trol", "é"])
def test_file_stems_are_safe_and_distinct(name):
    stem = file_stem(name)
    assert stem and stem not in (".", "..") and "/" not in stem and "\x00" not in stem and len(stem) <= 80
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", stem)
    others = {file_stem(n) for n in ("a/b", "a b", "a_b", "a?b", "a\nb")}
    assert len(others) == 5


def test_one_line_escapes_every_control():
    assert one_line("a\nb\x1b[31m\x07\u202e\u2028") == "a\\nb\\x1b[31m\\x07\\u202e\\u2028"
    assert one_line("plain text – ünïcode ✓") == "plain text – ünïcode ✓"


def test_notes_after_a_run_are_one_escaped_line_each():
    """Part 15's `note:` lines (printed after `run`) carry a machine name and a message from the record."""
    from benchbench.reports.summary import summary_notes

    rec = llm_run(machine="box\x1b]0;owned\x07")[0]
    rec["warnings"] = [{"code": "power_estimated", "level": "note", "message": "line one\nline two \u202e"}]
    (line,) = summary_notes([rec])
    assert line == "note: box\\x1b]0;owned\\x07: power_estimated: line one\\nline two \\u202e"
