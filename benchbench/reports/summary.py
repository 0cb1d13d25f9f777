"""The summary table: machine, workload, params, key metrics as mean ± stdev with their registry labels and
units, n, warnings."""

from __future__ import annotations

from typing import Any

from .. import metrics
from ..fmt import aligned_table, number
from ..stats import measured, metric_values, summarize
from ..textsafe import markdown_cell, one_line
from ..warning_levels import is_note

KEY_METRICS = {
    "llm": ("pp_tok_s", "tg_tok_s", "output_tok_s", "ttft_s", "e2e_s"),
    "tts": ("rtf", "gen_s", "audio_s"),
    "video": ("gen_s", "video_s", "fps"),
}
LOAD_METRICS = ("output_tok_s", "req_s", "ttft_p90_s", "tpot_p90_s", "goodput_req_s", "max_output_tok_s",
                "knee_req_s")      # a load test (params.load): the point's aggregates, or a sweep's summary
COLUMNS = ("machine", "workload", "backend", "model", "status", "n", "metrics", "warnings")


def summary_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run record, with formatted metric cells."""
    rows = []
    for rec in records:
        if rec.get("type", "run") != "run":
            continue
        wl = rec["workload"]
        kept = measured(rec.get("iterations", []))
        cells = []
        keys = LOAD_METRICS if isinstance((wl.get("params") or {}).get("load"), dict) else \
            KEY_METRICS.get(wl.get("kind"), ())
        for metric in keys:
            st = summarize(metric_values(kept, metric))
            if st["n"]:
                m = metrics.get(metric)
                cells.append(f"{m.label} {format_stat(st)} {m.unit}".rstrip())
        codes = sorted({w["code"] for w in rec.get("warnings", []) if not is_note(w)})   # notes: below
        params = wl.get("params", {})
        rows.append({
            "machine": rec["machine"].get("name", "?"), "workload": wl.get("name", "?"),
            "backend": wl.get("backend", "?"),
            "model": str(params.get("model") or params.get("architecture") or ""),
            "status": rec.get("status"), "n": len(kept), "metrics": "; ".join(cells) or "-",
            "warnings": ", ".join(codes) or "-",
        })
    return rows


def summary_notes(records: list[dict[str, Any]]) -> list[str]:
    """Notes (warning_levels.NOTE), each code said once per machine: `note: <machine>: <code>: <message>`."""
    seen: dict[tuple[str, str], str] = {}
    for rec in records:
        machine = str((rec.get("machine") or {}).get("name", "?"))
        for w in rec.get("warnings", []):
            if is_note(w):
                seen.setdefault((machine, str(w["code"])), str(w.get("message", "")))
    return [one_line(f"note: {machine}: {code}: {message}") for (machine, code), message in seen.items()]


def format_number(x: float | None) -> str:
    """A number as every report shows it (benchbench.fmt.number)."""
    return number(x) if x is not None else "-"


def format_stat(st: dict[str, Any]) -> str:
    """`mean ± stdev` (or just the mean with one value)."""
    if st.get("stdev") is None:
        return format_number(st["mean"])
    return f"{format_number(st['mean'])} ± {format_number(st['stdev'])}"


def _escape_md(text: str) -> str:
    return markdown_cell(text)


def render_markdown(rows: list[dict[str, Any]]) -> str:
    """GitHub-flavoured Markdown table."""
    if not rows:
        return "_no records_\n"
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_escape_md(row[c]) for c in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def render_text(rows: list[dict[str, Any]]) -> str:
    """A plain aligned table for the terminal."""
    if not rows:
        return "no records\n"
    return aligned_table([list(COLUMNS)] + [[one_line(row[c]) for c in COLUMNS] for row in rows])
