"""Machines: each machine's profile (prices, hardware, idle) and fingerprint, measured or published."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ...analysis.reference import published_data
from ...record_model import RunRecord
from ..model import Column, Section, Table
from . import ORIGIN, SOURCE, currency_unit, with_currency

PROFILE_COLUMNS = [
    Column("machine", "machine", kind="text"), ORIGIN, SOURCE,
    Column.of("electricity_per_kwh", prov=True),
    Column.of("hardware_cost", prov=True),
    Column.of("amortization_years", prov=True),
    Column.of("amortization_per_hour", prov=True),
    Column.of("idle_w", prov=True), Column("idle_source", "idle from", kind="text"),
    Column.of("idle_cost_per_month", prov=True),
    Column.of("load_w", prov=True),
    Column.of("non_gpu_overhead_w", prov=True),
    Column.of("memory_bandwidth_gbs", prov=True),
    Column.of("cloud_hourly", prov=True),
    Column("notes", "notes", kind="list"),
]
HARDWARE_COLUMNS = [
    Column("machine", "machine", kind="text"), ORIGIN, SOURCE, Column("hostname", "hostname", kind="text"),
    Column("cpu", "CPU / description", kind="text"), Column("cores", "cores", kind="int"),
    Column("ram_gb", "RAM", "GB"), Column("gpus", "GPUs", kind="text"), Column("driver", "driver", kind="text"),
    Column("os", "OS", kind="text"), Column("python", "Python", kind="text"),
    Column("env", "environment", kind="list"),
]


def build(ctx: Any) -> Section | None:
    machines = _machines(ctx)
    if not machines:
        return None
    unit = currency_unit(machines)
    cols = with_currency(PROFILE_COLUMNS, unit)
    if unit == "cur.":
        cols.insert(3, Column("currency", "currency", kind="text"))
    blocks: list[Any] = [Table("machines", "Machine profiles", cols, machines,
                               note="Profile values are declared by you (published: stated by the article); "
                                    "idle power is measured where an idle record or run measured it.")]
    hardware: dict[tuple, dict[str, Any]] = {}
    for m in machines:
        row = _hardware(ctx, m)
        if row:
            hardware.setdefault((row["machine"], row["provenance"], row["source"]), row)
    if hardware:
        blocks.append(Table("hardware", "Hardware and software (fingerprints)", HARDWARE_COLUMNS,
                            list(hardware.values())))
    return Section("machines", "Machines", blocks)


def _machines(ctx: Any) -> list[dict[str, Any]]:
    """One row per (machine, provenance, source), from its latest group and run."""
    runs = ctx.analysis.runs
    out: dict[tuple, dict[str, Any]] = {}
    for g in ctx.groups():
        key = (g["machine"], g["provenance"], g["source"])
        row = out.setdefault(key, {"machine": g["machine"], "provenance": g["provenance"], "source": g["source"],
                                   "currency": g["currency"], "_prov": {}})
        label = "published" if g["published"] else "declared"
        for k in ("electricity_per_kwh", "hardware_cost", "amortization_years", "amortization_per_hour"):
            if g.get(k) is not None:
                row[k] = g[k]
                row["_prov"][k] = label
        if g.get("idle_w") is not None and _better_idle(g.get("idle_provenance"), row["_prov"].get("idle_w")):
            row.update(idle_w=g["idle_w"], idle_source="the article" if g["published"] else g["idle_source"],
                       idle_cost_per_month=g["idle_cost_per_month"])
            row["_prov"]["idle_w"] = g["idle_provenance"]
            row["_prov"]["idle_cost_per_month"] = (g["_prov"] or {}).get("idle_cost_per_month", g["idle_provenance"])
    for key, row in out.items():
        sel = runs[(runs["machine"] == key[0]) & (runs["provenance"] == key[1])]
        sel = sel[sel["source"].isna()] if key[2] is None else sel[sel["source"] == key[2]]
        last = sel.iloc[-1] if len(sel) else None
        for k in ("load_w", "non_gpu_overhead_w", "memory_bandwidth_gbs", "cloud_hourly"):
            value = None if last is None else last[k]
            if value is not None and value == value:
                row[k] = float(value)
                row["_prov"][k] = "published" if key[1] == "published" else "declared"
    notes = machine_notes(ctx.records)
    for (machine, provenance, _), row in out.items():
        if provenance == "measured" and notes.get(machine):
            row["notes"] = notes[machine]
    return sorted(out.values(), key=lambda r: (r["provenance"] != "measured", str(r["machine"]), str(r["source"])))


def machine_notes(records: list[Any]) -> dict[str, list[str]]:
    """Each machine's notes (warning_levels.NOTE, e.g. power_estimated), one per code: said once here
    rather than on every run's warning list."""
    out: dict[str, dict[str, str]] = {}
    for rec in records:
        if not isinstance(rec, RunRecord):
            continue
        machine = str(rec.machine.name or "?")
        for w in rec.warnings:
            if w.code and w.is_note:
                out.setdefault(machine, {}).setdefault(w.code, f"{w.code}: {w.message}")
    return {m: list(codes.values()) for m, codes in out.items()}


def _better_idle(new: str | None, old: str | None) -> bool:
    rank = {"measured": 0, "published": 1, "estimated": 2, "declared": 3, None: 9}
    return rank.get(new, 8) <= rank.get(old, 9)


def _hardware(ctx: Any, machine: dict[str, Any]) -> dict[str, Any] | None:
    base = {k: machine[k] for k in ("machine", "provenance", "source")}
    if machine["provenance"] == "published":

        entry = (published_data().get("machines") or {}).get(machine["machine"], {})
        return {**base, "source": entry.get("source") or base["source"], "cpu": entry["description"]} \
            if entry.get("description") else None
    recs = [r for r in ctx.records if r.machine.name == machine["machine"] and r.machine.fingerprint]
    if not recs:
        return None
    fp = max(recs, key=lambda r: str(r.started_at or "")).machine.fingerprint
    gpus = [g for g in fp.get("gpus") or [] if isinstance(g, dict)]
    return {**base, "hostname": fp.get("hostname"), "cpu": fp.get("cpu"), "cores": fp.get("cores"),
            "ram_gb": fp.get("ram_gb"), "gpus": describe_gpus(gpus),
            "driver": ", ".join(sorted({str(g["driver"]) for g in gpus if g.get("driver")})),
            "os": fp.get("os"), "python": fp.get("python"),
            "env": [f"{k}={v}" for k, v in sorted((fp.get("env") or {}).items())]}


def describe_gpus(gpus: list[dict[str, Any]]) -> str:
    """`4× Tesla P40 (24 GB)`, identical cards counted."""
    names = Counter()
    for g in gpus:
        name = str(g.get("name") or g.get("vendor") or "GPU")
        mem = g.get("memory_gb")
        names[f"{name} ({mem:g} GB)" if isinstance(mem, (int, float)) and mem else name] += 1
    return ", ".join(f"{n}× {name}" if n > 1 else name for name, n in names.items())
