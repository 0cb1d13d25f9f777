"""CPU cost of each power sampler: one at a time, at 500 ms, on an otherwise idle process.

The process's CPU time over the run, read before the sampler stops (the main thread only sleeps,
so this is the sampler's thread; start-up and shutdown are left out), plus, for streaming
samplers, the child's CPU over its whole life, start-up included (resource.getrusage of reaped
children, so read after the stop). Prints CPU
seconds per hour of sampling and the share of one core; with --reads, the cost of single reads
(NVML power, NVML energy counter, one nvidia-smi spawn).

    python benchmarks/power_cpu_cost.py --seconds 15 [--samplers nvml nvml:counter_interval_ms=0]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchbench.power.registry import AUTO_GROUPS, sampler_class  # noqa: E402


def children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cost(spec: str, seconds: float, interval_s: float) -> dict[str, Any]:
    """spec: a sampler name, optionally with options: `nvml:counter_interval_ms=0`."""
    name, _, opts = spec.partition(":")
    options = {k: float(v) for k, _, v in (o.partition("=") for o in opts.split(",") if o)}
    sampler = sampler_class(name)(interval_s, options)
    try:
        sampler.start()
    except Exception as exc:  # noqa: BLE001 - report and go on
        return {"sampler": spec, "error": str(exc)}
    time.sleep(min(1.0, seconds / 4))  # let start-up settle, then measure
    cpu0, child0, t0, polls0 = time.process_time(), children_cpu_s(), time.monotonic(), sampler.polls
    time.sleep(seconds)
    wall = time.monotonic() - t0
    polls = sampler.polls - polls0
    inprocess = time.process_time() - cpu0
    sampler.stop()  # reaps a streaming child, so its CPU shows in RUSAGE_CHILDREN
    child = children_cpu_s() - child0
    cpu = inprocess + child
    return {"sampler": spec, "interval_s": sampler.interval_s, "wall_s": wall, "polls": polls,
            "cpu_s": cpu, "cpu_inprocess_s": inprocess, "cpu_child_s": child,
            "cpu_s_per_hour": cpu / wall * 3600, "pct_of_one_core": cpu / wall * 100,
            "cpu_ms_per_reading": cpu / polls * 1000 if polls else None}


def read_costs(n: int = 200) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        reads = {"nvml_power_read": lambda: pynvml.nvmlDeviceGetPowerUsage(h),
                 "nvml_energy_read": lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(h),
                 "nvml_util_read": lambda: pynvml.nvmlDeviceGetUtilizationRates(h),
                 "nvml_memory_read": lambda: pynvml.nvmlDeviceGetMemoryInfo(h),
                 "nvml_sm_clock_read": lambda: pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
                 "nvml_temperature_read": lambda: pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
                 "nvml_clock_reasons_read": lambda: pynvml.nvmlDeviceGetCurrentClocksEventReasons(h)}
        for label, fn in reads.items():
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n if label != "nvml_energy_read" else n // 4):
                fn()
            k = n if label != "nvml_energy_read" else n // 4
            out[f"{label}_us"] = (time.perf_counter() - w0) / k * 1e6
            out[f"{label}_cpu_us"] = (time.process_time() - c0) / k * 1e6
        pynvml.nvmlShutdown()
    except Exception as exc:  # noqa: BLE001
        out["nvml_error"] = str(exc)
    if shutil.which("nvidia-smi"):
        k, w0, c0 = 5, time.perf_counter(), children_cpu_s()
        for _ in range(k):
            subprocess.run(["nvidia-smi", "--query-gpu=power.draw", "--format=csv,noheader,nounits"],
                           capture_output=True, check=False)
        out["nvidia_smi_spawn_ms"] = (time.perf_counter() - w0) / k * 1000
        out["nvidia_smi_spawn_cpu_ms"] = (children_cpu_s() - c0) / k * 1000
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=15.0, help="sampling time per sampler (default 15)")
    ap.add_argument("--interval-ms", type=float, default=500.0)
    ap.add_argument("--samplers", nargs="+", help="default: every sampler available here")
    ap.add_argument("--reads", action="store_true", help="also time single reads")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    names = args.samplers or [n for group in AUTO_GROUPS for n in group if sampler_class(n).availability() is None]
    rows = [cost(n, args.seconds, args.interval_ms / 1000) for n in names]
    print(f"{'sampler':34} {'interval':>8} {'polls':>6} {'CPU s/hour':>11} {'% of a core':>12} {'ms/reading':>11}")
    for r in rows:
        if "error" in r:
            print(f"{r['sampler']:34} unavailable: {r['error']}")
            continue
        per = f"{r['cpu_ms_per_reading']:.3f}" if r["cpu_ms_per_reading"] is not None else "n/a"
        print(f"{r['sampler']:34} {r['interval_s']:8.3f} {r['polls']:6d} {r['cpu_s_per_hour']:11.2f} "
              f"{r['pct_of_one_core']:12.4f} {per:>11}")
    result: dict[str, Any] = {"samplers": rows}
    if args.reads:
        result["reads"] = read_costs()
        for key, value in result["reads"].items():
            print(f"{key:26} {value:.3f}" if isinstance(value, float) else f"{key:26} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
