"""TTS: each run's generation time, audio length and RTF (warmups marked), averages, the first-run
penalty and the cost per audio hour; RTF by run index per machine."""

from __future__ import annotations

import statistics
from typing import Any

from ...fmt import clean, finite
from ..model import Chart, Column, Section, Table
from ..plots import Line
from ..plots import lines as draw_lines
from ..sources import short_label
from . import ORIGIN, SOURCE, chunks, currency_unit, provenance_caption, with_currency

SUMMARY = [
    Column("machine", "machine", kind="text"), Column("workload", "workload", kind="text"),
    Column("model", "model", kind="text"), Column("backend", "backend", kind="text"), ORIGIN, SOURCE,
    Column.of("rtf", kind="stat", prov=True), Column.of("rtf_best", prov=True),
    Column.of("first_run_penalty_pct"),
    Column.of("chars_per_audio_s", prov=True),
    Column.of("system_w", prov=True), Column.of("j_per_audio_s", prov=True),
    Column.of("cost_per_audio_hour", prov=True),
    Column.of("cost_per_1k_chars", prov=True),
    Column("warnings", "warnings", kind="list"),
]
RUNS = [
    Column("machine", "machine", kind="text"), Column("workload", "workload", kind="text"), ORIGIN,
    Column("run", "run", kind="int"), Column("warmup", "warmup", kind="bool"), Column("error", "error", kind="text"),
    Column.of("chars"), Column.of("gen_s"), Column.of("audio_s"),
    Column.of("rtf"),
]
CLOUD = [
    Column("machine", "machine", kind="text"), Column("workload", "workload", kind="text"),
    Column("service", "cloud TTS", kind="text"), Column("price_source", "price from", kind="text"),
    Column.of("per_million_chars"),
    Column.of("cloud_per_audio_hour", prov=True),
    Column.of("local_per_audio_hour", prov=True),
    Column.of("cloud_vs_local"), Column("note", "note", kind="text"),
]
LINES_PER_CHART = 12


def build(ctx: Any) -> Section | None:
    groups = [g for g in ctx.groups("tts") if g.get("rtf") is not None or g.get("gen_s") is not None]
    if not groups:
        return None
    groups.sort(key=lambda g: (g["published"], str(g["machine"]), str(g["workload"])))
    runs = per_run_rows(ctx, groups)
    for g in groups:
        g["rtf_n"] = g.get("n")
        g["first_run_penalty_pct"] = first_run_penalty(runs.get(g["group_id"], []))
    unit = currency_unit(groups)
    blocks: list[Any] = [
        Table("tts", "TTS per machine", with_currency(SUMMARY, unit), groups,
              note="RTF = generation time ÷ audio length (below 1 is faster than real time). Average RTF is the "
                   "mean of the measured runs' RTFs, best the lowest. First-run penalty: the first run's RTF "
                   "against the median of the later runs of the same session (warmups included), averaged over "
                   "sessions."),
        Table("tts_runs", "TTS runs", RUNS, [r for g in groups for r in runs.get(g["group_id"], [])],
              note="Every iteration in order, warmups and failures included (they are left out of the averages)."),
    ]
    cloud = _cloud_rows(ctx)
    if cloud:
        blocks.append(Table("tts_cloud", "Local TTS against cloud TTS", with_currency(CLOUD, currency_unit(cloud)),
                            cloud,
                            note="Cloud prices per million characters, turned into a price per audio hour with the "
                                 "characters per audio second measured here."))
    blocks += rtf_charts(ctx, groups, runs)
    return Section("tts", "TTS", blocks)



def per_run_rows(ctx: Any, groups: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """group_id → its iterations in order (runs by start time, then index), numbered from 1."""
    a = ctx.analysis
    wanted = {g["group_id"]: g for g in groups}
    its = a.iterations[a.iterations["group_id"].isin(list(wanted))]
    started = dict(zip(a.runs["run_id"], a.runs["started_at"]))
    cols = [c for c in ("chars", "gen_s", "audio_s", "rtf") if c in its.columns]
    out: dict[str, list[dict[str, Any]]] = {}
    records = its[["group_id", "run_id", "index", "warmup", "error", *cols]].to_dict("records")
    records.sort(key=lambda r: (str(started.get(r["run_id"]) or ""), r["run_id"], r["index"]))
    for r in records:
        g = wanted[r["group_id"]]
        rows = out.setdefault(r["group_id"], [])
        row = {"machine": g["machine"], "workload": g["workload"], "provenance": g["provenance"],
               "run": len(rows) + 1, "run_id": r["run_id"], "warmup": bool(r["warmup"]),
               "error": r["error"] if isinstance(r["error"], str) else None}
        row.update({c: finite(r.get(c)) for c in cols})
        rows.append(row)
    return out


def first_run_penalty(rows: list[dict[str, Any]]) -> float | None:
    """Mean over sessions of (first RTF ÷ median of the later RTFs − 1) × 100."""
    by_run: dict[str, list[float]] = {}
    for r in rows:
        if not r.get("error") and r.get("rtf") is not None:
            by_run.setdefault(r["run_id"], []).append(r["rtf"])
    ratios = [(v[0] / statistics.median(v[1:]) - 1) * 100 for v in by_run.values()
              if len(v) > 1 and statistics.median(v[1:]) > 0]
    return statistics.fmean(ratios) if ratios else None


def _cloud_rows(ctx: Any) -> list[dict[str, Any]]:
    frame = ctx.analysis.tts_cloud
    if frame is None or not len(frame):
        return []
    prov = {g["group_id"]: g for g in ctx.groups("tts")}
    out = []
    for row in frame.to_dict("records"):
        row = clean(row)
        g = prov.get(row["group_id"], {})
        # the cloud figure is a price × the characters per audio second (no power): their label
        cloud = g.get("_prov", {}).get("chars_per_audio_s") or row.get("provenance")
        row["_prov"] = {"cloud_per_audio_hour": cloud, "local_per_audio_hour": row.get("provenance")}
        row["published"] = g.get("published", False)
        out.append(row)
    return out


def rtf_charts(ctx: Any, groups: list[dict[str, Any]], runs: dict[str, list[dict[str, Any]]]) -> list[Chart]:

    lines = []
    per_series: dict[str, int] = {}
    for g in groups:
        ok = [r for r in runs.get(g["group_id"], []) if r.get("rtf") is not None and not r.get("error")]
        if ok:
            label = short_label(g["machine"], g["workload"], g["published"])
            variant = per_series[g["series"]] = per_series.get(g["series"], -1) + 1
            lines.append((g, Line(label, [r["run"] for r in ok], [r["rtf"] for r in ok],
                                  color=ctx.palette.get(g["series"], "#1f77b4"), dashed=g["published"],
                                  hollow=[r["warmup"] for r in ok], variant=variant)))
    out = []
    parts = chunks(lines, LINES_PER_CHART)
    for i, part in enumerate(parts):
        if not part:
            continue
        suffix = f" ({i + 1})" if len(parts) > 1 else ""

        def draw(fig: Any, part: Any = part) -> None:

            draw_lines(fig.subplots(), [ln for _, ln in part], "run (in order)", "RTF (lower is faster)",
                       logx=False, integer_x=True)

        out.append(Chart(f"tts-rtf-{i + 1}", f"RTF by run, per machine{suffix}",
                         "Each point is one generation, in order; hollow points are warmups, dashed lines published "
                         "figures. The first run of a session is often slower (model compilation and caches). "
                         + provenance_caption([g for g, _ in part], "rtf"), draw, size=(10.0, 4.0)))
    return out
