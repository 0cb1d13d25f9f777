"""Warnings: every validity warning of the records (and of the analysis) that can change a decision, with
what to do. Notes (warning_levels.NOTE: system power estimated, generation stopped at the asked length...)
are not listed here: they stay beside the figures they concern (the tables' warnings column)."""

from __future__ import annotations

import re
from typing import Any

from ...record_model import RunRecord
from ...warning_levels import NOTE, level
from ..hints import hint
from ..model import Column, Section, Table

FIRST = ("record_skipped", "run_failed", "model_on_cpu", "model_partially_on_cpu", "gpu_idle_during_run",
         "iteration_failed", "run_interrupted", "throttled", "prompt_cached", "degenerate_output",
         "power_unavailable", "far_below_roofline", "high_variance", "first_run_slow")
COLUMNS = [Column("code", "warning", kind="text"), Column("machine", "machine", kind="text"),
           Column("workloads", "workloads", kind="list"), Column("runs", "runs", kind="int"),
           Column("message", "what happened", kind="text"), Column("todo", "what to do", kind="text")]
MAX_NAMES = 5
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def build(ctx: Any) -> Section | None:
    found: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(code: str, machine: str, workload: str, message: str, run_id: str) -> None:
        key = (code, machine, _NUMBER.sub("#", message))   # the same warning with other numbers: one row
        row = found.setdefault(key, {"code": code, "machine": machine, "message": message, "_variants": set(),
                                     "_workloads": {}, "_runs": set(), "todo": hint(code)})
        row["_variants"].add(message)
        row["_workloads"][workload] = None
        row["_runs"].add(run_id)

    for rec in ctx.records:
        if isinstance(rec, RunRecord):
            _record_warnings(rec, add)
    _analysis_warnings(ctx, add)
    for path, why in ctx.skipped:
        add("record_skipped", "", "", f"{path}: {why}", path)
    for message in ctx.caught:
        add("analysis", "", "", message, message)
    if not found:
        return None
    rows = []
    for row in found.values():
        others = len(row.pop("_variants")) - 1
        if others:
            row["message"] += f" (and {others} similar)"
        names = list(row.pop("_workloads"))
        row["workloads"] = [n for n in names[:MAX_NAMES] if n] + ([f"and {len(names) - MAX_NAMES} more"]
                                                                  if len(names) > MAX_NAMES else [])
        row["runs"] = len(row.pop("_runs"))
        rows.append(row)
    rank = {c: i for i, c in enumerate(FIRST)}
    rows.sort(key=lambda r: (rank.get(r["code"], len(rank)), r["code"], r["machine"], r["message"]))
    table = Table("warnings", "Validity warnings", COLUMNS, rows,
                  note="Each warning says what happened and what to do; figures of the runs concerned are "
                       "shown below but may not mean what they seem. Notes (estimated system power, "
                       "fixed-length generation...) are shown beside the figures instead.")
    return Section("warnings", f"Warnings ({len(rows)})", [table])


def _record_warnings(rec: RunRecord, add: Any) -> None:
    machine, workload, run_id = str(rec.machine.name or "?"), str(rec.workload.name), rec.run_id
    for w in rec.warnings:
        if w.code and not w.is_note:
            add(w.code, machine, workload, w.message or w.code, run_id)
    if rec.status in ("interrupted", "failed"):
        add(f"run_{rec.status}", machine, workload, f"the run is {rec.status}", run_id)
    its = rec.iterations
    failed = [it for it in its if it.error]
    if failed:
        first = str(failed[0].error)[:300]
        add("iteration_failed", machine, workload, f"{len(failed)} of {len(its)} iterations failed; "
                                                   f"first error: {first}", run_id)


def _analysis_warnings(ctx: Any, add: Any) -> None:
    """Warnings the analyzer adds to groups (e.g. far_below_roofline), not stored in any record."""
    stored = {(r.run_id, w.code) for r in ctx.records for w in r.warnings}
    for g in ctx.groups():
        if g["published"]:
            continue
        for code in g.get("warnings") or []:
            if level(code) == NOTE or any((rid, code) in stored for rid in g.get("run_ids") or []):
                continue
            add(code, str(g["machine"]), str(g["workload"]), _message(code, g), ",".join(g.get("run_ids") or []))


def _message(code: str, g: dict[str, Any]) -> str:
    if code == "far_below_roofline" and g.get("roofline_tok_s"):
        size = (g.get("model_size_bytes") or 0) / 1e9
        return (f"decode at {g['roofline_pct']:.2g}% of the memory-bandwidth bound: {g['tg_tok_s']:.1f} of "
                f"{g['roofline_tok_s']:.1f} tok/s ({g['memory_bandwidth_gbs']:g} GB/s ÷ {size:.3g} GB)")
    return code.replace("_", " ")
