"""`benchbench idle`: measure this machine's idle power per channel and store it as an idle record."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import fingerprint as fp
from ..errors import BenchError, UserError
from ..power.idle import idle_path, idle_record, measure_idle
from ..power.monitor import build_monitor
from ..profile import resolve_profile
from ..record import clean_floats, save_record
from ..runner import interrupt_signals
from ..suite import PowerConfig
from . import check_power_flags, ensure_folder, plug_options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=60.0, help="how long to measure (default 60)")
    p.add_argument("--settle", type=float, default=5.0, metavar="SECONDS",
                   help="wait this long before measuring, unrecorded (default 5)")
    p.add_argument("--machine", help="machine profile: a name in machines/ or a path")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")
    p.add_argument("--samplers", nargs="+", default=["auto"], metavar="NAME",
                   help="power samplers (default: auto), e.g. nvml rapl shelly")
    p.add_argument("--interval-ms", type=float, default=500.0, help="sampling interval (default 500)")
    p.add_argument("--url", action="append", metavar="[SAMPLER=]URL",
                   help="address of a smart plug, e.g. shelly=http://192.168.1.50 (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def _check(args: argparse.Namespace) -> None:
    if not 0 < args.seconds < float("inf"):
        raise UserError(f"must be more than 0 and finite, found {args.seconds:g}", field="--seconds")
    if not 0 <= args.settle < float("inf"):
        raise UserError(f"must be 0 or more and finite, found {args.settle:g}", field="--settle")
    check_power_flags(args.interval_ms, args.samplers)


def main(args: argparse.Namespace) -> int:

    _check(args)

    ensure_folder(args.results)  # before a minute of measuring, not after
    profile = resolve_profile(args.machine) if args.machine else None
    config = PowerConfig(samplers=list(args.samplers), interval_ms=args.interval_ms,
                         options=plug_options(args.url, args.samplers))
    monitor = build_monitor(config, profile, under_load=False)
    fingerprint = fp.collect()
    machine = fp.machine_name(profile.name if profile else None, fingerprint)
    with interrupt_signals(), monitor:
        if not monitor.channels:
            reasons = "; ".join(f"{u['sampler']}: {u['reason']}" for u in monitor.unavailable + monitor.skipped)
            raise BenchError("no power sampler could measure this machine"
                             + (f" ({reasons})" if reasons else "")
                             + "; declared figures are not measurements: set idle_w in the profile instead")
        if not args.json:
            print(f"measuring idle power on {machine} for {args.seconds:g} s after {args.settle:g} s "
                  f"({', '.join(monitor.record_section()['samplers'])}); leave the machine alone...",
                  file=sys.stderr, flush=True)
        measured = measure_idle(monitor, args.seconds, args.settle)
        record = idle_record(measured, monitor, machine, profile, fingerprint, args.settle)
        path = idle_path(args.results, machine, record["run_id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        record["power"]["samples"] = monitor.save_samples(path.with_name(f"{record['run_id']}.power.csv"))
    save_record(clean_floats(record), path)
    _print(record, path, args.json)
    return 0


def _print(record: dict[str, Any], path: Path, as_json: bool) -> None:
    if as_json:
        json.dump({"path": str(path), "run_id": record["run_id"], "machine": record["machine"]["name"],
                   "seconds": record["seconds"], "idle": record["idle"], "details": record["details"],
                   "system_basis": record["system_basis"]}, sys.stdout, indent=1, default=str)
        print()
        return
    print(f"idle power of {record['machine']['name']} over {record['seconds']:.1f} s:")
    for channel, d in record["details"].items():
        how = d["source"] + (f" ({d['basis']})" if d.get("basis") else "")
        print(f"  {channel:14} {d['avg_w']:9.2f} W  {how}")
    print(f"saved {path}")
