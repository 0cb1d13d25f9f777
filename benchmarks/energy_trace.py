"""An independent trace of NVML's total-energy counter: its own process, its own NVML handle.

Reads GPU `--gpu`'s energy counter every `--interval-ms` (0: back to back) and writes one CSV row
per read: `t_s` (time.monotonic(), the clock benchbench stamps iterations with: the midpoint of the
counter read), `read_s` (how long that read took), `energy_j` (the counter), `inst_w` (NVML's
instantaneous power field, read right after; empty where the driver lacks it) and `avg_w`
(nvmlDeviceGetPowerUsage, a 1 s average on data-centre GPUs). Stops on SIGTERM/SIGINT or after
`--seconds`; nothing from benchbench is imported, so it checks benchbench rather than repeating it.

    python benchmarks/energy_trace.py --out trace.csv --interval-ms 10 --seconds 600 &
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

FI_POWER_INSTANT = 186  # NVML_FI_DEV_POWER_INSTANT
_stop = False


def _on_signal(signum: int, frame: Any) -> None:
    global _stop
    _stop = True


def instant_w(nv: Any, handle: Any) -> float | None:
    """NVML's instantaneous power field in W, or None where the driver has none."""
    try:
        value = nv.nvmlDeviceGetFieldValues(handle, [FI_POWER_INSTANT])[0]
    except nv.NVMLError:
        return None
    if value.nvmlReturn != 0:
        return None
    member = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")[value.valueType]
    return getattr(value.value, member) / 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--gpu", type=int, default=0)
    ap.add_argument("--interval-ms", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--no-power", action="store_true", help="read the counter only")
    args = ap.parse_args(argv)
    import pynvml as nv

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    nv.nvmlInit()
    handle = nv.nvmlDeviceGetHandleByIndex(args.gpu)
    has_instant = instant_w(nv, handle) is not None
    interval_s = args.interval_ms / 1000
    end = time.monotonic() + args.seconds
    rows = 0
    with open(args.out, "w", encoding="utf-8", buffering=1 << 20) as fh:
        fh.write("t_s,read_s,energy_j,inst_w,avg_w\n")
        next_t = time.monotonic()
        while not _stop and time.monotonic() < end:
            a = time.monotonic()
            e_mj = nv.nvmlDeviceGetTotalEnergyConsumption(handle)
            b = time.monotonic()
            inst = avg = None
            if not args.no_power:
                inst = instant_w(nv, handle) if has_instant else None
                avg = nv.nvmlDeviceGetPowerUsage(handle) / 1000
            fh.write(f"{(a + b) / 2:.6f},{b - a:.6f},{e_mj / 1000:.3f},"
                     f"{'' if inst is None else f'{inst:.3f}'},{'' if avg is None else f'{avg:.3f}'}\n")
            rows += 1
            if interval_s > 0:
                next_t += interval_s
                delay = next_t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_t = time.monotonic()
    nv.nvmlShutdown()
    print(f"energy_trace: {rows} reads written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
