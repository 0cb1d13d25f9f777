"""Run-level power warnings: power_unavailable, power_estimated, gpu_idle_during_run,
idle_gpus_drawing_power, throttled."""

from __future__ import annotations

import os
from statistics import fmean
from typing import TYPE_CHECKING, Any

from ..warnings_ import RunWarning

if TYPE_CHECKING:
    from .monitor import PowerMonitor

IDLE_UTIL_PCT = 5.0        # a reading at or under this is "near 0% busy"
MOSTLY_IDLE_SHARE = 0.6    # gpu_idle_during_run when at least this share of the readings is near 0%
NO_WORK_UTIL_PCT = 2.0     # a GPU that "did no work" averages less than this
IDLE_POWER_MARGIN = 1.15   # without utilization: within 15% (+5 W) of the lowest reading is idle
DRAW_THRESHOLD_W = 1.0
EDGE_READ_S = 0.1
# NVML clock-event reasons that mean "slowed down" (idle, app clocks, sync boost are not)
THROTTLE_BITS = {0x4: "sw_power_cap (power limit)", 0x8: "hw_slowdown", 0x20: "sw_thermal",
                 0x40: "hw_thermal", 0x80: "hw_power_brake"}
VISIBLE_ENV = {"nvml": "CUDA_VISIBLE_DEVICES", "nvidia-smi": "CUDA_VISIBLE_DEVICES",
               "amdsmi": "HIP_VISIBLE_DEVICES", "rocm-smi": "HIP_VISIBLE_DEVICES"}


def physical(channel: str, sampler: str, env: dict[str, str] | None = None) -> str:
    """A workload's `gpuN` (framework ordinal) → the sampler's channel, through *_VISIBLE_DEVICES."""
    env = os.environ if env is None else env
    visible = env.get(VISIBLE_ENV.get(sampler, ""), "")
    ids = [v.strip() for v in visible.split(",") if v.strip()]
    if not channel.startswith("gpu") or not ids or not all(i.isdigit() for i in ids):
        return channel
    n = int(channel[3:]) if channel[3:].isdigit() else -1
    return f"gpu{ids[n]}" if 0 <= n < len(ids) else channel


def run_warnings(monitor: PowerMonitor, iterations: list[dict[str, Any]],
                 devices: list[str], compute_device: str | None = None) -> list[RunWarning]:
    """`compute_device`: where an in-process backend computed (`cpu`: every GPU is then expected to sit
    idle, and one that does is the CPU-fallback trap, whatever it draws)."""
    out = _availability(monitor) + _estimated(monitor)
    windows = [(it["mono_start_s"], it["mono_end_s"]) for it in iterations
               if not it.get("warmup") and not it.get("error") and "mono_start_s" in it]
    gpus = [(p, s, ch) for p, s, ch in monitor.channels if ch.kind == "gpu" and "@" not in p]
    if windows and gpus:
        stats = {p: {**_gpu_stats(s.series[ch.name], windows), "sampler": s.name} for p, s, ch in gpus}
        on_cpu = bool(compute_device and compute_device.startswith("cpu"))
        targets = set(stats) if on_cpu else {physical(d, s.name) for d in devices for _, s, _ in gpus[:1]}
        out += _idle_during_run(stats, targets, compute_device if on_cpu else None)
        out += _idle_drawing(stats, set() if on_cpu else targets) + _throttled(stats)
    return out


def _availability(monitor: PowerMonitor) -> list[RunWarning]:
    out = [RunWarning("power_unavailable", f"power sampler `{u['sampler']}` could not read: {u['reason']}; "
                      "the run went on without it") for u in monitor.unavailable]
    if not monitor.active and not monitor.unavailable and monitor.requested not in ([], ["none"]):
        why = "; ".join(f"{s['sampler']}: {s['reason']}" for s in monitor.skipped) or "no sampler available"
        out.append(RunWarning("power_unavailable", f"no power sampler works on this host ({why}); energy "
                              "is not measured: add `declared` with load_w in the profile, or a smart plug"))
    for s in monitor.active:
        if s.ended_early and s.polls:
            out.append(RunWarning("power_unavailable", f"power sampler `{s.name}` stopped during the run "
                                  f"({s.ended_early}); iterations after that have no {s.name} energy"))
        elif s.declared_system_w is None and s.polls == 0:
            out.append(RunWarning("power_unavailable", f"power sampler `{s.name}` started but never read "
                                  f"({s.last_error or 'no output'})"))
        elif s.errors > max(3, s.polls // 10):
            out.append(RunWarning("power_unavailable", f"power sampler `{s.name}` failed {s.errors} of "
                                  f"{s.errors + s.polls} readings (last: {s.last_error})"))
    return out


def _estimated(monitor: PowerMonitor) -> list[RunWarning]:
    out = []
    basis = monitor.system_basis()
    walls, parts = monitor.system_parts()
    if basis == "gpu+cpu+overhead":
        overhead = monitor.overhead_w
        rest = f"+ {overhead:g} W non_gpu_overhead_w from the profile" if overhead is not None else \
            "with nothing for the rest of the machine (no non_gpu_overhead_w in the profile)"
        out.append(RunWarning("power_estimated", f"system power is estimated: {' + '.join(parts)} {rest}; "
                              "a smart plug (shelly/tasmota) measures it"))
    elif basis == "declared":
        out.append(RunWarning("power_estimated", f"system power is declared ({monitor.declared_w:g} W), "
                              "not measured"))
    apple = sorted({s.name for _, s, ch in monitor.channels if ch.estimated})
    if apple:
        out.append(RunWarning("power_estimated", f"{', '.join(apple)} figures are Apple's IOReport model "
                              "estimates, not measurements; GPU power is not system power"))
    return out


def _gpu_stats(series: Any, windows: list[tuple[float, float]]) -> dict[str, Any]:
    tp, p, _, _ = series.snapshot()
    inside = [w for t, w in zip(tp, p, strict=True) if any(a <= t <= b for a, b in windows)]
    # + the read right after each iteration (NVML utilization covers the last sample period)
    extras = [x for a, b in windows for x in series.extras_between(a, b + EDGE_READ_S)]
    utils = [x["util_pct"] for x in extras if x.get("util_pct") is not None]
    throttles = [int(x["throttle"]) for x in extras if x.get("throttle") is not None]
    return {"avg_w": fmean(inside) if inside else None, "floor_w": min(p) if p else None,
            "util_pct": fmean(utils) if utils else None, "throttles": throttles,
            "idle_share": sum(u <= IDLE_UTIL_PCT for u in utils) / len(utils) if utils else None,
            "util_readings": len(utils)}


def _idle_during_run(stats: dict[str, dict[str, Any]], targets: set[str],
                     cpu_device: str | None = None) -> list[RunWarning]:
    """From utilization, never from power alone where utilization is read: a GPU left warm by earlier
    work draws well above its idle power at 0% busy (130 W on the H100 measured)."""
    out = []
    for name in sorted(targets & set(stats)):
        st = stats[name]
        share, avg, floor = st["idle_share"], st["avg_w"], st["floor_w"]
        drawing = f", drawing {avg:.0f} W on average" if avg is not None else ""
        if share is not None:
            idle = share >= MOSTLY_IDLE_SHARE
            why = (f"utilization at most {IDLE_UTIL_PCT:g}% in {round(share * st['util_readings'])} of "
                   f"{st['util_readings']} readings{drawing}")
        elif avg is not None and floor is not None and cpu_device is None:
            idle = avg <= floor * IDLE_POWER_MARGIN + 5
            why = f"{avg:.1f} W, near its lowest reading {floor:.1f} W; no utilization readings"
        else:
            continue
        if not idle:
            continue
        if cpu_device:
            message = (f"{name} sat idle while the model ran in-process on the CPU (device: {cpu_device}; {why}): "
                       "these are CPU figures although a GPU is there; check the device setting and PyTorch's build")
        else:
            message = (f"{name} stayed near idle while the workload ran ({why}): it may be running on the CPU; "
                       "check the device and the model's placement")
        out.append(RunWarning("gpu_idle_during_run", message))
    return out


def _idle_drawing(stats: dict[str, dict[str, Any]], targets: set[str]) -> list[RunWarning]:
    busy = {n for n, st in stats.items() if (st["util_pct"] or 0) > 20}
    idle = []
    for name, st in sorted(stats.items()):
        if name in targets or st["avg_w"] is None or st["avg_w"] < DRAW_THRESHOLD_W:
            continue
        did_nothing = st["util_pct"] < NO_WORK_UTIL_PCT if st["util_pct"] is not None else bool(targets)
        if did_nothing and (targets or busy):
            idle.append((name, st["avg_w"]))
    if not idle:
        return []
    names = ", ".join(n for n, _ in idle)
    watts = ", ".join(f"{w:.1f} W" for _, w in idle)
    total = sum(w for _, w in idle)
    return [RunWarning("idle_gpus_drawing_power", f"{names} did no work but drew {watts} on average "
                       f"({total:.1f} W together, part of this machine's running cost): remove or power "
                       "them down, or accept them as part of the cost")]


def throttle_labels(value: int, sampler: str) -> list[str]:
    """What a throttle reading means: NVML's clock-event bits (nvml, nvidia-smi), or for AMD (amdsmi's
    throttle status, whose bits vary by ASIC) any non-zero value."""
    if sampler in ("nvml", "nvidia-smi"):
        return [label for bit, label in THROTTLE_BITS.items() if value & bit]
    return [f"throttle status {value:#x}"] if value else []


def _throttled(stats: dict[str, dict[str, Any]]) -> list[RunWarning]:
    out = []
    for name, st in sorted(stats.items()):
        sampler = st.get("sampler", "nvml")
        seen = [t for t in st["throttles"] if throttle_labels(t, sampler)]
        if not seen:
            continue
        reasons = sorted({label for t in seen for label in throttle_labels(t, sampler)})
        share = len(seen) / len(st["throttles"])
        out.append(RunWarning("throttled", f"{name} clocks were held down in {share:.0%} of readings during "
                              f"the measured runs: {', '.join(reasons)}; results may not be repeatable"))
    return out
