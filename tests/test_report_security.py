"""Hostile records: markup and script in model names, hostnames, outputs and errors come out escaped in
every format, and the HTML report loads nothing from anywhere."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser

import pytest
from report_helpers import HOSTILE, hostile_results, rich_results

from benchbench.reports import build_report, write_report
from benchbench.reports.sources import ARTICLES

ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
ALLOWED_LINKS = {url for _, _, url in ARTICLES.values() if url}


class Audit(HTMLParser):
    """Every tag and attribute, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def audit(html: str) -> Audit:
    a = Audit()
    a.feed(html)
    return a


def assert_loads_nothing(html: str) -> None:
    """No script, no remote src, no stylesheet link, no @import or url(), no event handler attribute;
    links only to the known article addresses and to anchors in the page."""
    a = audit(html)
    names = {t for t, _ in a.tags}
    assert not names & {"script", "iframe", "object", "embed", "link", "base", "frame", "svg", "video", "audio",
                        "source", "form", "input"}
    for tag, attrs in a.tags:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        if "src" in attrs:
            assert tag == "img" and attrs["src"].startswith(("data:image/svg+xml;base64,", "data:image/png;base64,"))
        if "href" in attrs:
            assert tag == "a" and (attrs["href"].startswith("#") or attrs["href"] in ALLOWED_LINKS), attrs
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy":
            assert attrs["content"].startswith("default-src 'none'; img-src data:;")
    css = "".join(a.styles)
    assert css and "@import" not in css and "url(" not in css and "expression(" not in css


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    hostile_results(root / "results")
    return root, build_report([root / "results"], reference=False)


def test_hostile_strings_are_escaped_in_html(hostile):
    root, report = hostile
    write_report(report, root / "r.html")
    html = (root / "r.html").read_text(encoding="utf-8")
    assert HOSTILE not in html and "<script" not in html.lower() and "<img src=x" not in html
    for where in ('id="table-llm"', 'id="table-warnings"', 'id="table-hardware"'):   # model, error, hostname
        start = html.index(where)
        assert ESCAPED in html[start:html.index("</table>", start)].replace("<wbr>", ""), where
    assert_loads_nothing(html)
    assert f'alt="{ESCAPED}: all-in cost per million tokens against utilization"' in html   # a chart title


def test_hostile_strings_are_inert_in_markdown_and_csv(hostile):
    root, report = hostile
    write_report(report, root / "r.md")
    md = (root / "r.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<img" not in md
    assert "evil&lt;script&gt;alert(\"x\")&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in md
    for line in md.splitlines():
        if line.startswith("| evil"):
            assert len(re.split(r"(?<!\\)\|", line)) == len(re.split(r"(?<!\\)\|", md.splitlines()[
                md.splitlines().index(line) - 1]))   # no cell broken open by a `|`
    write_report(report, root / "r.csv")
    with open(root / "r_llm.csv", newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    assert row["model"] == HOSTILE and row["machine"] == "evil" + HOSTILE


def test_a_formula_in_a_record_is_not_a_formula_in_the_csv(tmp_path):
    from analysis_helpers import llm_run, write_run

    write_run(tmp_path / "results", llm_run(params={"model": '=HYPERLINK("http://x","y")'}, workload="+cmd")[0])
    report = build_report([tmp_path / "results"], reference=False)
    write_report(report, tmp_path / "out.csv")
    with open(tmp_path / "out_llm.csv", newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    assert row["model"] == "'=HYPERLINK(\"http://x\",\"y\")" and row["workload"] == "'+cmd"


def test_a_full_report_loads_no_external_resource(tmp_path):
    rich_results(tmp_path / "results", samples=False)
    report = build_report([tmp_path / "results"], reference=True)
    write_report(report, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert_loads_nothing(html)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//(?!tinycomputers\.io/posts/)""", html)
    assert html.count("<img ") == len(report.charts())
