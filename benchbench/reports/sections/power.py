"""Power: energy per channel with its source, and power over time per channel for a few runs, with
iteration boundaries shaded."""

from __future__ import annotations

from typing import Any

from ...analysis.samples import load_samples
from ...record import slug
from ...record_model import Record, RunRecord
from ..model import Chart, Column, Note, Section, Table
from ..plots import timeline

ENERGY_COLUMNS = [
    Column("machine", "machine", kind="text"), Column("workload", "workload", kind="text"),
    Column("channel", "channel", kind="text"), Column("n", "iterations", kind="int"),
    Column.of("avg_w", prov=True), Column.of("joules", prov=True),
    Column("source", "source", kind="text"), Column("basis", "system basis", kind="text"),
    Column("provenance", "provenance", kind="text"),
]
MAX_POINTS = 3000


def build(ctx: Any) -> Section | None:
    energy = energy_rows(ctx)
    runs = plotted_runs(ctx)
    if not energy and not runs:
        return None
    blocks: list[Any] = []
    if energy:
        blocks.append(Table("energy", "Energy per channel (measured iterations)", ENERGY_COLUMNS, energy,
                            note="Sources: counter (a cumulative energy counter), integrated (power readings "
                                 "integrated over the iteration), declared (the profile's load_w), estimated (GPU + "
                                 "CPU + the profile's non-GPU overhead). `system` is the whole machine."))
    blocks += power_charts(ctx, runs)
    total = int((ctx.analysis.runs["power_files"].map(len) > 0).sum())
    if total > len(runs):
        blocks.append(Note(f"Power over time is drawn for {len(runs)} of the {total} runs with power samples "
                           "(the latest run of each group); the energy table covers them all."))
    return Section("power", "Power", blocks)


def energy_rows(ctx: Any) -> list[dict[str, Any]]:
    """Mean power and energy per measured iteration, per group × channel."""
    a = ctx.analysis
    if a.energy is None or not len(a.energy):
        return []
    its = a.iterations[["run_id", "index", "measured", "group_id"]]
    frame = a.energy.merge(its, on=["run_id", "index"], how="left")
    frame = frame[frame["measured"].fillna(False).astype(bool)]
    groups = {g["group_id"]: g for g in ctx.groups() if not g["published"]}
    frame = frame[frame["group_id"].isin(list(groups))]
    if not len(frame):
        return []
    out = []
    for (gid, channel), part in frame.groupby(["group_id", "channel"], sort=False):
        g = groups[gid]
        prov = sorted({p for p in part["provenance"] if isinstance(p, str)})
        label = prov[-1] if len(prov) == 1 else ", ".join(prov)
        joules = part["joules"].dropna()
        watts = part["avg_w"].dropna()
        out.append({"machine": g["machine"], "workload": g["workload"], "channel": channel, "n": len(part),
                    "avg_w": float(watts.mean()) if len(watts) else None,
                    "joules": float(joules.mean()) if len(joules) else None,
                    "source": ", ".join(sorted({s for s in part["source"] if isinstance(s, str)})),
                    "basis": ", ".join(sorted({b for b in part["basis"] if isinstance(b, str)})),
                    "provenance": label, "_prov": {"avg_w": label, "joules": label}})
    out.sort(key=lambda r: (str(r["machine"]), str(r["workload"]), r["channel"] != "system", str(r["channel"])))
    return out


def plotted_runs(ctx: Any) -> list[str]:
    """The latest run with samples of each measured group, at most ctx.max_power_runs."""
    runs = ctx.analysis.runs
    runs = runs[(runs["provenance"] == "measured") & (runs["power_files"].map(len) > 0)]
    if not len(runs):
        return []
    ids = dict(zip(ctx.analysis.iterations["run_id"], ctx.analysis.iterations["group_id"]))
    latest: dict[str, tuple[str, str]] = {}
    for run_id, started in zip(runs["run_id"], runs["started_at"]):
        gid = ids.get(run_id, run_id)
        if gid not in latest or str(started or "") >= latest[gid][1]:
            latest[gid] = (run_id, str(started or ""))
    return [run_id for run_id, _ in latest.values()][: ctx.max_power_runs]


def power_charts(ctx: Any, run_ids: list[str]) -> list[Chart]:
    if not run_ids:
        return []

    a = ctx.analysis
    runs = a.runs[a.runs["run_id"].isin(run_ids)]
    its = a.iterations[a.iterations["run_id"].isin(run_ids)]
    samples = load_samples(runs, its)
    records = {r.run_id: r for r in ctx.records}
    out = []
    for run in runs.to_dict("records"):
        chart = _chart(run, samples[samples["run_id"] == run["run_id"]], its[its["run_id"] == run["run_id"]],
                       records.get(run["run_id"]))
        if chart:
            out.append(chart)
    return out


def _chart(run: dict[str, Any], samples: Any, its: Any, record: Record | None) -> Chart | None:
    if not len(samples):
        return None
    channels: dict[str, tuple[Any, Any]] = {}
    for name, part in samples.groupby("channel", observed=True, sort=True):
        part = part.dropna(subset=["power_w"]).sort_values("t_s")
        if len(part):
            step = max(1, len(part) // MAX_POINTS)
            channels[str(name)] = (part["t_s"].to_numpy(float)[::step], part["power_w"].to_numpy(float)[::step])
    if not channels:
        return None
    windows = [(s, e, "failed" if isinstance(err, str) else "warmup" if w else "measured")
               for s, e, w, err in zip(its["mono_start_s"], its["mono_end_s"], its["warmup"], its["error"])
               if s == s and e == e]
    t0 = float(samples["t_s"].min())
    info = ((record.power if isinstance(record, RunRecord) else None) or {}).get("channels") or []
    described = [f"{c.get('name')}: {c.get('sampler')}{' (estimated)' if c.get('estimated') else ''}"
                 for c in info if isinstance(c, dict)]
    estimated = any(isinstance(c, dict) and c.get("estimated") for c in info)

    def draw(fig: Any) -> None:

        timeline(fig.subplots(), channels, windows, t0)


    return Chart(f"power-{slug(run['run_id']).lower()}", f"Power over time: {run['machine']} · {run['workload']}",
                 f"Run {run['run_id']}; {'estimated' if estimated else 'measured'} power samples"
                 + (f" ({'; '.join(described)})" if described else "") + ", iterations shaded.", draw,
                 size=(10.0, 3.2))
