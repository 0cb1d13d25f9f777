"""Video: per machine and clip length, generation time, stage breakdown, per-GPU peak memory,
energy and cost per clip."""

from __future__ import annotations

from typing import Any

from ... import metrics
from ...analysis import formulas as f
from ..model import Chart, Column, Section, Table
from ..plots import stacked_hbars
from ..sources import short_label
from . import ORIGIN, SOURCE, chunks, currency_unit, provenance_caption, with_currency

STAGES = ("text_encode", "stage1", "upsample", "stage2", "decode")


def build(ctx: Any) -> Section | None:
    groups = [g for g in ctx.groups("video") if g.get("gen_s") is not None]
    if not groups:
        return None
    stage_names: dict[str, None] = {}
    devices: dict[str, None] = {}
    for g in groups:
        _fill(ctx, g, stage_names, devices)
    groups.sort(key=lambda g: (g["provenance"] != "measured", str(g["machine"]), g.get("video_s") or 0,
                               str(g["workload"])))
    stages = sorted(stage_names, key=lambda s: (STAGES.index(s) if s in STAGES else len(STAGES), s))
    cols = with_currency([
            Column("machine", "machine", kind="text"), Column("workload", "workload", kind="text"), ORIGIN, SOURCE,
            Column("resolution", "resolution", kind="text"), Column.of("frames"),
            Column.of("video_s"), Column.of("gen_s", kind="stat", prov=True),
            Column.of("gen_min", prov=True),
            *(Column(f"stage:{s}", s, metrics.unit("stages_s")) for s in stages),
            *(Column(f"mem:{d}", f"{metrics.label('peak_mem_gb')} {d}", metrics.unit("peak_mem_gb")) for d in devices),
            Column.of("system_w", prov=True),
            Column.of("wh_per_clip", prov=True),
            Column.of("cost_per_clip", prov=True),
            Column.of("cost_per_video_s", prov=True),
            Column("warnings", "warnings", kind="list")], currency_unit(groups))
    table = Table("video", "Video generation per machine and clip length", cols, groups,
                  note="Generation time is the mean ± stdev over measured clips; stage times are means; peak memory "
                       "is the highest reading per device.")
    return Section("video", "Video", [table, *stage_charts(ctx, groups, stages)])


def _fill(ctx: Any, g: dict[str, Any], stage_names: dict[str, None], devices: dict[str, None]) -> None:
    gid = g["group_id"]
    st = ctx.stat(gid, "gen_s")
    g["gen_s_stdev"], g["gen_s_n"] = (st["stdev"], st["n"]) if st and not g["published"] else (None, None)
    g["gen_min"] = g["gen_s"] / 60
    g["_prov"]["gen_s"] = g["_prov"]["gen_min"] = g["_prov"].get("gen_s", "published" if g["published"] else
                                                                   "measured")
    if g["_prov"].get("j_per_clip"):
        g["_prov"]["wh_per_clip"] = g["_prov"]["j_per_clip"]
    g["wh_per_clip"] = f.wh_per_clip(g.get("system_w"), g.get("gen_s")) if g.get("j_per_clip") is not None else None
    params = g.get("params") or {}
    width, height = ctx.stat(gid, "width"), ctx.stat(gid, "height")
    g["resolution"] = params.get("resolution") or (
        f"{width['mean']:g}x{height['mean']:g}" if width and height else None)
    for name, row in ctx.metrics_of(gid, "stages_s").items():
        g[f"stage:{name}"] = row["mean"]
        stage_names[name] = None
    for name, row in ctx.metrics_of(gid, "peak_mem_gb").items():
        g[f"mem:{name}"] = row["max"]
        devices[name] = None


def stage_charts(ctx: Any, groups: list[dict[str, Any]], stages: list[str]) -> list[Chart]:
    out = []
    parts = chunks(groups, ctx.max_bars)
    for i, part in enumerate(parts):
        labels, values = [], []
        for g in part:
            split = {s: g.get(f"stage:{s}") or 0.0 for s in stages if g.get(f"stage:{s}") is not None}
            rest = g["gen_s"] - sum(split.values())
            if not split:
                split = {"total (no stage breakdown)": g["gen_s"]}
            elif rest > 0.01 * g["gen_s"]:
                split["other"] = rest
            labels.append(short_label(g["machine"], g["workload"], g["published"]))
            values.append({k: v / 60 for k, v in split.items()})
        suffix = f" ({i + 1})" if len(parts) > 1 else ""

        def draw(fig: Any, labels: list[str] = labels, values: list[dict[str, float]] = values) -> None:

            stacked_hbars(fig, labels, values, "generation time per clip (min)")

        out.append(Chart(f"video-stages-{i + 1}", f"Generation time per clip by stage{suffix}",
                         "Stacked mean stage times; 'other' is the time outside the timed stages. "
                         + provenance_caption(part, "gen_s"), draw, size=(10.0, 1.0 + 0.3 * len(labels))))
    return out
