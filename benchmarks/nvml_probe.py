"""Probe an NVIDIA GPU's NVML readings: what each read costs, and how often the energy counter and
the power fields really change.

1. Read costs: each NVML getter benchbench uses, 200 times (median and p90 wall time).
2. Update cadence: an independent process (benchmarks/energy_trace.py) reads the energy counter back to
   back (plus the instantaneous and the averaged power after each read) while this process runs an
   idle → square-wave load → idle pattern of bf16 matrix products with known edges. From the trace:
   the counter's update period (the gaps between the instants where its value changes), how many
   reads fall between updates, the instantaneous field's update period, and the load's edges for
   replaying edge estimators offline.

    python benchmarks/nvml_probe.py --out DIR
Writes DIR/probe-trace.csv, DIR/probe-edges.json and DIR/probe.json; prints a summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def read_costs(nv: Any, handle: Any) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(HERE))
    from energy_trace import instant_w

    getters = {
        "total_energy": lambda: nv.nvmlDeviceGetTotalEnergyConsumption(handle),
        "power_usage": lambda: nv.nvmlDeviceGetPowerUsage(handle),
        "power_instant_field": lambda: instant_w(nv, handle),
        "utilization": lambda: nv.nvmlDeviceGetUtilizationRates(handle),
        "memory_info": lambda: nv.nvmlDeviceGetMemoryInfo(handle),
        "sm_clock": lambda: nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_SM),
        "mem_clock": lambda: nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_MEM),
        "temperature": lambda: nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU),
        "clock_event_reasons": lambda: nv.nvmlDeviceGetCurrentClocksEventReasons(handle),
    }
    out = {}
    for name, fn in getters.items():
        times = []
        try:
            value = fn()
            for _ in range(200):
                a = time.perf_counter()
                fn()
                times.append(time.perf_counter() - a)
        except Exception as exc:  # noqa: BLE001 - a getter this driver lacks is a finding, not a failure
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        times.sort()
        out[name] = {"median_us": statistics.median(times) * 1e6, "p90_us": times[int(0.9 * len(times))] * 1e6,
                     "value": str(value)[:80]}
    return out


def load_pattern(edges: list[dict[str, Any]]) -> None:
    """Idle 3 s; square waves of 0.3, 1.0 and 2.5 s on/off at shifting phases; idle 3 s."""
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    (a @ b).sum().item()
    torch.cuda.synchronize()
    time.sleep(3.0)
    for on_s, off_s in [(0.3, 0.45), (0.3, 0.53), (0.3, 0.61), (1.0, 1.07), (1.0, 1.13), (2.5, 1.5), (4.0, 2.0)]:
        torch.cuda.synchronize()
        t0 = time.monotonic()
        while time.monotonic() - t0 < on_s:
            for _ in range(4):
                a @ b
            torch.cuda.synchronize()
        t1 = time.monotonic()
        edges.append({"t0_s": t0, "t1_s": t1})
        time.sleep(off_s)
    time.sleep(3.0)


def changes(ts: list[float], vs: list[float]) -> list[tuple[float, float, float]]:
    """(instant of change estimated as the midpoint between reads, gap between those reads, new value)."""
    out = []
    for i in range(1, len(vs)):
        if vs[i] != vs[i - 1]:
            out.append(((ts[i - 1] + ts[i]) / 2, ts[i] - ts[i - 1], vs[i]))
    return out


def summarize_trace(path: Path) -> dict[str, Any]:
    rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
    ts = [float(r[0]) for r in rows]
    reads = [float(r[1]) for r in rows]
    es = [float(r[2]) for r in rows]
    inst = [float(r[3]) if r[3] else None for r in rows]
    avg = [float(r[4]) if r[4] else None for r in rows]
    out: dict[str, Any] = {"reads": len(rows), "read_s_median": statistics.median(reads),
                           "read_s_p90": sorted(reads)[int(0.9 * len(reads))]}
    for name, vs in (("counter", es), ("instant", inst), ("average", avg)):
        pairs = [(t, v) for t, v in zip(ts, vs) if v is not None]
        if len(pairs) < 3:
            continue
        ch = changes([p[0] for p in pairs], [p[1] for p in pairs])
        periods = [b[0] - a[0] for a, b in zip(ch, ch[1:])]
        if periods:
            periods.sort()
            out[f"{name}_updates"] = len(ch)
            out[f"{name}_period_s"] = {"median": statistics.median(periods), "p10": periods[len(periods) // 10],
                                       "p90": periods[9 * len(periods) // 10], "min": periods[0], "max": periods[-1]}
            out[f"{name}_change_gap_s_median"] = statistics.median(c[1] for c in ch)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--interval-ms", type=float, default=0.0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    import pynvml as nv

    nv.nvmlInit()
    handle = nv.nvmlDeviceGetHandleByIndex(0)
    costs = read_costs(nv, handle)
    trace = args.out / "probe-trace.csv"
    proc = subprocess.Popen([sys.executable, str(HERE / "energy_trace.py"), "--out", str(trace),
                             "--interval-ms", str(args.interval_ms), "--seconds", "120"])
    time.sleep(1.0)
    edges: list[dict[str, Any]] = []
    try:
        load_pattern(edges)
    finally:
        proc.terminate()
        proc.wait(10)
    (args.out / "probe-edges.json").write_text(json.dumps(edges, indent=1))
    summary = {"read_costs": costs, "trace": summarize_trace(trace), "gpu": nv.nvmlDeviceGetName(handle)}
    nv.nvmlShutdown()
    (args.out / "probe.json").write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
