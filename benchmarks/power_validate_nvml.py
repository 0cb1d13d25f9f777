"""Validate the power samplers against NVML's hardware energy counter on a real NVIDIA GPU.

Runs a bursty load (bf16 8192³ matrix products for 0.5 s, then a 0.25 s pause, every 4th pause
1.5 s) for --seconds between two idle periods, with these samplers running at once:
nvml every 20, 100, 500 and 1000 ms, nvidia-smi streaming every 500 ms, and (when the driver
has it) NVML's instantaneous-power field every 20 and 500 ms. It prints, per sampler and
interval, the trapezoid integral of its power readings against the counter's advance over the
same span (read directly at both ends), the per-"iteration" energy that the runner's path
(PowerMonitor.energy with nvml at 500 ms) reports against the counter, and each sampler's own
CPU time.

    python benchmarks/power_validate_nvml.py --seconds 30 --json out.json --samples out.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchbench.power.base import Reading  # noqa: E402
from benchbench.power.energy import trapezoid  # noqa: E402
from benchbench.power.monitor import PowerMonitor, max_gap  # noqa: E402
from benchbench.power.nvidia_smi import NvidiaSmiSampler  # noqa: E402
from benchbench.power.nvml import NvmlSampler  # noqa: E402

FI_POWER_INSTANT = 186  # NVML_FI_DEV_POWER_INSTANT


class InstantNvml(NvmlSampler):
    """NVML's instantaneous power field instead of the (1 s-averaged) power usage: for comparison."""

    name = "nvml-instant"

    def read(self) -> list[Reading]:
        out = []
        for index, handle in self.handles:
            value = self.nv.nvmlDeviceGetFieldValues(handle, [FI_POWER_INSTANT])[0]
            if value.nvmlReturn != 0:
                raise RuntimeError(f"power instant field: NVML return {value.nvmlReturn}")
            member = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")[value.valueType]
            out.append(Reading(f"gpu{index}", getattr(value.value, member) / 1000))
        return out


def child_cpu_s(pid: int) -> float | None:
    """utime + stime of a live child, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def counter_j(nv: Any, handle: Any) -> float:
    return nv.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000


def bursty(seconds: float, windows_every: int, monitors: list[PowerMonitor], nv: Any, handle: Any) -> list[dict]:
    """The load; every `windows_every` bursts is one 'iteration' measured like the runner does."""
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    (a @ b).sum().item()
    windows, end, n = [], time.monotonic() + seconds, 0
    for m in monitors:
        m.mark()  # as the runner does before every iteration
    t0, c0 = time.monotonic(), counter_j(nv, handle)
    while time.monotonic() < end:
        start = time.monotonic()
        while time.monotonic() - start < 0.5:
            for _ in range(4):
                a @ b
            torch.cuda.synchronize()
        time.sleep(1.5 if n % 4 == 3 else 0.25)
        n += 1
        if n % windows_every == 0:
            t1 = time.monotonic()
            c1 = counter_j(nv, handle)
            e = monitors[0].energy(t0, t1)["gpu0"]
            dense = monitors[1].energy(t0, t1)["gpu0"]
            windows.append({"t0_s": t0, "t1_s": t1, "reference_j": c1 - c0, **e,
                            "dense_counter_j": dense["joules"], "dense_source": dense["source"]})
            time.sleep(0.01)  # the runner's save between iterations
            for m in monitors:
                m.mark()
            t0, c0 = time.monotonic(), counter_j(nv, handle)
    return windows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="bursty load duration (default 30)")
    ap.add_argument("--idle", type=float, default=3.0, help="idle before and after (default 3)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--samples", type=Path, help="write every sampler's power readings here (CSV)")
    args = ap.parse_args()

    samplers = {f"nvml@{ms}ms": NvmlSampler(ms / 1000) for ms in (20, 100, 500, 1000)}
    samplers["nvidia-smi@500ms"] = NvidiaSmiSampler(0.5)
    for ms in (20, 500):
        samplers[f"nvml-instant@{ms}ms"] = InstantNvml(ms / 1000)
    runner_path = NvmlSampler(0.5)
    dense_path = NvmlSampler(0.5, {"counter_interval_ms": 0})   # the counter at every poll too
    started = {}
    for label, s in samplers.items():
        try:
            s.start()
            started[label] = s
        except Exception as exc:  # noqa: BLE001 - report and go on
            print(f"{label}: not started: {exc}")
    monitor = PowerMonitor([([runner_path], False)], 0.5)
    monitor.start()
    dense = PowerMonitor([([dense_path], False)], 0.5)
    dense.start()
    nv, handle = runner_path.nv, runner_path.handles[0][1]
    name = runner_path.channels[0].device
    cpu_at_start = {label: s.cpu_s for label, s in started.items()}

    time.sleep(1.0)
    t_start, c_start = time.monotonic(), counter_j(nv, handle)
    time.sleep(args.idle)
    windows = bursty(args.seconds, 4, [monitor, dense], nv, handle)
    time.sleep(args.idle)
    t_end, c_end = time.monotonic(), counter_j(nv, handle)
    time.sleep(1.0)
    wall = t_end - t_start + 2
    smi = started.get("nvidia-smi@500ms")
    smi_cpu = child_cpu_s(smi.proc.pid) if smi and smi.proc else None
    for s in started.values():
        s.stop()
    monitor.stop()
    dense.stop()

    reference = c_end - c_start
    print(f"GPU: {name}; span {t_end - t_start:.1f} s; NVML energy counter advanced {reference:.1f} J "
          f"({reference / (t_end - t_start):.1f} W average)")
    print(f"{'sampler':22} {'readings':>8} {'mean dt':>8} {'integrated J':>13} {'vs counter':>10} "
          f"{'CPU s':>8} {'CPU %core':>9}")
    rows = []
    for label, s in started.items():
        tp, p, _, _ = s.series["gpu0"].snapshot()
        inside = [t for t in tp if t_start <= t <= t_end]
        integral = trapezoid(tp, p, t_start, t_end, max_gap(s))
        cpu = (smi_cpu if s is smi else s.cpu_s - cpu_at_start[label]) or 0.0
        row = {"sampler": label, "readings": len(inside),
               "mean_interval_s": (inside[-1] - inside[0]) / (len(inside) - 1) if len(inside) > 1 else None,
               "integrated_j": integral, "counter_j": reference,
               "error_pct": (integral - reference) / reference * 100 if integral is not None else None,
               "cpu_s": cpu, "cpu_pct_core": cpu / wall * 100, "errors": s.errors, "last_error": s.last_error}
        rows.append(row)
        err = f"{row['error_pct']:+.2f}%" if row["error_pct"] is not None else "n/a"
        print(f"{label:22} {len(inside):8d} {row['mean_interval_s'] or 0:8.3f} {integral or 0:13.1f} {err:>10} "
              f"{cpu:8.3f} {row['cpu_pct_core']:9.4f}")
    print(f"nvidia-smi delivery lag (arrival - its timestamp): max {smi.max_lag_s if smi else float('nan'):.3f} s")
    print(f"\nper-iteration energy, runner path (PowerMonitor.energy, nvml defaults: power every 500 ms, counter "
          f"every 10 s and at iteration edges), {len(windows)} windows:")
    for w in windows:
        w["error_pct"] = (w["joules"] - w["reference_j"]) / w["reference_j"] * 100
        w["dense_error_pct"] = (w["dense_counter_j"] - w["reference_j"]) / w["reference_j"] * 100
        print(f"  {w['t1_s'] - w['t0_s']:5.2f} s  {w['source']:10} {w['joules']:8.1f} J  counter read directly "
              f"{w['reference_j']:8.1f} J  {w['error_pct']:+.2f}%  (counter at every poll: "
              f"{w['dense_source']} {w['dense_error_pct']:+.2f}%)")
    worst = max((abs(w["error_pct"]) for w in windows), default=None)
    print(f"  worst window: {worst:.2f}%" if worst is not None else "  no windows")
    result = {"t_start": t_start, "gpu": name, "span_s": t_end - t_start, "counter_j": reference, "samplers": rows,
              "windows": windows, "monitor": monitor.record_section(),
              "nvidia_smi_max_delivery_lag_s": smi.max_lag_s if smi else None}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    if args.samples:
        with open(args.samples, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["sampler", "t_s", "power_w", "energy_j"])
            for label, s in started.items():
                for t, p, e, _ in s.series["gpu0"].rows():
                    writer.writerow([label, f"{t - t_start:.4f}", p, e])
    return 0


if __name__ == "__main__":
    sys.exit(main())
