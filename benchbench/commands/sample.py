"""`benchbench sample`: record power to a file until stopped (Ctrl-C, SIGTERM or --seconds), for
results measured by other tools: `benchbench import FILE --power SAMPLES.json` matches them by time."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import fingerprint as fp
from ..errors import BenchError, Interrupted, UserError
from ..power.monitor import build_monitor
from ..power.recorded import clock_offset_s, save_session
from ..profile import resolve_profile
from ..record import new_session_id, utc_now
from ..runner import interrupt_signals, signals_deferred
from ..suite import PowerConfig
from . import plug_options
from .idle import _check


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="the file to write (default: power-<UTC time>.json here); "
                                            "the samples go beside it as <name>.power.csv")
    p.add_argument("--seconds", type=float, default=float("inf"), help="stop after this long (default: until "
                                                                       "Ctrl-C or SIGTERM)")
    p.add_argument("--machine", help="machine profile: a name in machines/ or a path")
    p.add_argument("--samplers", nargs="+", default=["auto"], metavar="NAME",
                   help="power samplers (default: auto), e.g. nvml rapl shelly")
    p.add_argument("--interval-ms", type=float, default=500.0, help="sampling interval (default 500)")
    p.add_argument("--url", action="append", metavar="[SAMPLER=]URL",
                   help="address of a smart plug, e.g. shelly=http://192.168.1.50 (repeatable)")
    p.add_argument("--save-every", type=float, default=10.0, metavar="SECONDS",
                   help="write what was recorded this often, so a killed session keeps it (default 10)")


def main(args: argparse.Namespace) -> int:
    if not args.seconds > 0:
        raise UserError(f"must be more than 0, found {args.seconds:g}", field="--seconds")
    args.settle = 0.0
    _check(argparse.Namespace(**{**vars(args), "seconds": min(args.seconds, 1e9)}))
    out = args.out or Path(f"power-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json")
    if out.suffix != ".json":
        raise UserError("must end in .json (the samples go beside it as .power.csv)", field="--out")
    if out.exists():
        raise UserError(f"{out} exists; nothing is overwritten", field="--out", hint="give another name")
    out.parent.mkdir(parents=True, exist_ok=True)
    profile = resolve_profile(args.machine) if args.machine else None
    config = PowerConfig(samplers=list(args.samplers), interval_ms=args.interval_ms,
                         options=plug_options(args.url, args.samplers))
    monitor = build_monitor(config, profile)
    fingerprint = fp.collect()
    meta = {"run_id": new_session_id(), "status": "recording", "started_at": utc_now(), "finished_at": None,
            "machine": {"name": fp.machine_name(profile.name if profile else None, fingerprint),
                        "profile": profile.to_record() if profile else None, "fingerprint": fingerprint},
            "clock": {"unix_minus_monotonic_s": clock_offset_s()}}
    stopped = "complete"
    with interrupt_signals(), monitor:
        if not monitor.channels and monitor.declared_w is None:
            reasons = "; ".join(f"{u['sampler']}: {u['reason']}" for u in monitor.unavailable + monitor.skipped)
            raise BenchError("no power sampler could measure this machine" + (f" ({reasons})" if reasons else ""))
        print(f"recording power ({', '.join(monitor.record_section()['samplers'])}) to {out}; "
              "Ctrl-C or SIGTERM stops and keeps it", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < args.seconds:
                time.sleep(max(0.05, min(args.save_every, args.seconds - (time.monotonic() - t0))))
                save_session(monitor, out, meta)
        except (Interrupted, KeyboardInterrupt):
            stopped = "stopped"
        meta.update(status=stopped, finished_at=utc_now(), seconds=time.monotonic() - t0)
        with signals_deferred():
            save_session(monitor, out, meta)
    print(f"{stopped}: {meta['seconds']:.1f} s of power from {len(monitor.channels)} channel(s) in {out}")
    return 0
