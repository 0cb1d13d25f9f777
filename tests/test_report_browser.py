"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright opens
it from disk and sees no console error, no script dialog and no request beyond the file itself; every
chart decodes. A screenshot is saved (to $BENCHBENCH_REPORT_SCREENSHOT too when that is set)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from report_helpers import hostile_results, rich_results, verdict_results

from benchbench.reports import build_report, write_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the `test` extra)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                       args=ARGS, viewport={"width": 1280, "height": 900})
        seen = {"requests": [], "console": [], "errors": [], "dialogs": []}
        context.on("request", lambda r: seen["requests"].append(r.url))
        context.on("console", lambda m: seen["console"].append((m.type, m.text)))
        context.on("weberror", lambda e: seen["errors"].append(str(e.error)))
        yield context, seen
        context.close()


def open_report(browser, path: Path):
    context, seen = browser
    for key in seen:
        seen[key].clear()
    page = context.new_page()
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    return page, seen


def test_report_opens_offline_clean_and_complete(browser, tmp_path):
    rich_results(tmp_path / "results")
    report = build_report([tmp_path / "results"], reference=True)
    path = write_report(report, tmp_path / "report.html")[0]
    page, seen = open_report(browser, path)
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    headings = page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    scripts = page.evaluate("document.scripts.length")
    shot = page.screenshot(path=str(tmp_path / "report.png"))
    target = os.environ.get("BENCHBENCH_REPORT_SCREENSHOT")
    if target:
        page.set_viewport_size({"width": 1760, "height": 1000})
        page.evaluate("document.getElementById('llm').scrollIntoView()")
        page.screenshot(path=target)
    page.close()
    assert seen["requests"] == [path.as_uri()]
    assert [c for c in seen["console"] if c[0] in ("error", "warning")] == [] and seen["errors"] == []
    assert len(images) == len(report.charts()) > 10 and all(ok and w > 300 and h > 100 for ok, w, h in images)
    # power_estimated is a note now: shown under Machines, not counted among the warnings
    assert headings == ["Verdict", "Warnings (3)", "Machines", "LLM", "Context and concurrency sweeps", "TTS", "Video",
                        "The work's economics", "Economics", "Power", "Sources"]
    assert scripts == 0 and shot[:8] == b"\x89PNG\r\n\x1a\n"


def test_hostile_report_runs_nothing(browser, tmp_path):
    hostile_results(tmp_path / "results")
    path = write_report(build_report([tmp_path / "results"], reference=False), tmp_path / "hostile.html")[0]
    page, seen = open_report(browser, path)
    found = page.evaluate("""() => ({scripts: document.scripts.length,
        imgs: Array.from(document.images).map(i => i.getAttribute('src').slice(0, 26)),
        cell: document.querySelector('#table-llm tbody td').textContent})""")
    page.close()
    assert seen["dialogs"] == [] and seen["requests"] == [path.as_uri()] and seen["errors"] == []
    assert found["scripts"] == 0 and set(found["imgs"]) == {"data:image/svg+xml;base64,"}
    assert found["cell"] == '<script>alert("x")</script><img src=x onerror=alert(1)>'   # shown as text


def test_verdict_opens_the_report_on_one_screen(browser, tmp_path):
    """The verdict is the first section and its table fits the first screen (1440 × 900); its chart decodes. With
    BENCHBENCH_VERDICT_SCREENSHOT set, the first screen is saved there (docs/img/verdict.png is made so)."""
    verdict_results(tmp_path / "results")
    report = build_report([tmp_path / "results"], reference=True, mix={"preset": "rag", "requests_per_day": 3000})
    path = write_report(report, tmp_path / "report.html")[0]
    page, seen = open_report(browser, path)
    page.set_viewport_size({"width": 1440, "height": 900})
    found = page.evaluate("""() => {
        const table = document.querySelector('#table-verdict');
        const cells = Array.from(table.querySelectorAll('tbody tr')).map(tr => Array.from(tr.cells).map(td =>
            td.textContent.trim()));
        const head = Array.from(table.querySelectorAll('thead th')).map(th => th.textContent.trim());
        const img = document.querySelector('#verdict figure img');
        return {first: document.querySelector('main section').id, bottom: table.getBoundingClientRect().bottom,
                head, cells, chart: img && [img.complete, img.naturalWidth]};
    }""")
    target = os.environ.get("BENCHBENCH_VERDICT_SCREENSHOT")
    page.screenshot(path=target or str(tmp_path / "verdict.png"))
    page.close()
    assert seen["errors"] == [] and seen["requests"] == [path.as_uri()]
    assert found["first"] == "verdict" and found["bottom"] <= 900
    assert found["chart"][0] and found["chart"][1] > 300
    row = dict(zip(found["head"], found["cells"][0]))
    assert row["model"] == "llama3.1:8b" and row["cheapest machine meeting the SLOs"] == "tower"
    assert row["nearest API"] == "groq:llama-3.1-8b-instant"
    assert "highest goodput meeting the SLOs" in row["load point"]
