"""JSON: the analyzer's tables (docs/analysis.md) as lists of rows, plus the report's own tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...fmt import clean
from ..model import Report
from .base import ReportFormat, write_text

ANALYSIS_TABLES = ("groups", "stats", "figures", "api", "cloud", "tts_cloud", "runs", "iterations", "energy", "idle")


class JsonFormat(ReportFormat):
    name = "json"
    extensions = ("json",)

    def write(self, report: Report, output: Path) -> list[Path]:
        return [write_text(Path(output), self.render(report))]

    def render(self, report: Report) -> str:
        return json.dumps(document(report), indent=1, ensure_ascii=False, allow_nan=False, default=_default) + "\n"


def document(report: Report) -> dict[str, Any]:
    a = report.analysis
    tables = {name: records(getattr(a, name)) for name in ANALYSIS_TABLES if getattr(a, name, None) is not None}
    own = {t.name: [{k: v for k, v in row.items() if not k.startswith("_")} for row in t.rows]
           for t in report.tables()}
    return {"benchbench_version": report.version, "generated_at": report.generated_at, "reference": report.reference,
            "records": report.n_records, "machines": report.machines,
            "published_machines": report.published_machines, "options": report.options,
            "sources": [{"file": s.file, "title": s.title, "url": s.url} for s in report.sources],
            "skipped": [{"path": p, "reason": r} for p, r in report.skipped], "notices": report.notices,
            "tables": clean(tables), "report_tables": clean(own)}


def records(frame: Any) -> list[dict[str, Any]]:
    return frame.to_dict("records") if frame is not None else []


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)
