"""`macmon`: Apple Silicon through `macmon pipe` (no sudo): one JSON line per interval.

macmon reads the same IOReport energy model as powermetrics: CPU, GPU, ANE and DRAM figures are
the SoC's model estimates, labelled so. `sys_power` (the SMC's whole-board reading) is kept as
the `board` channel for reference and is not added to the system estimate.
"""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

from .base import Channel, Reading, SamplerUnavailable
from .stream import StreamSampler

# macmon key → (channel, kind)
CHANNELS = {"cpu_power": ("cpu-package0", "cpu"), "gpu_power": ("gpu0", "gpu"),
            "ane_power": ("ane0", "ane"), "ram_power": ("dram0", "dram"), "sys_power": ("board", "board")}


def parse_line(line: str) -> dict[str, tuple[float, dict[str, Any]]]:
    """One `macmon pipe` JSON line → {channel: (watts, extras)}."""
    data = json.loads(line)
    out: dict[str, tuple[float, dict[str, Any]]] = {}
    for key, (channel, _kind) in CHANNELS.items():
        value = data.get(key)
        if isinstance(value, (int, float)):
            out[channel] = (float(value), {})
    gpu = out.get("gpu0")
    if gpu is not None:
        usage = data.get("gpu_usage")
        if isinstance(usage, list) and len(usage) == 2:
            gpu[1]["sm_clock_mhz"] = usage[0]
            gpu[1]["util_pct"] = round(float(usage[1]) * 100, 2)
        temp = (data.get("temp") or {}).get("gpu_temp_avg")
        if isinstance(temp, (int, float)):
            gpu[1]["temp_c"] = round(float(temp), 2)
    return out


class MacmonSampler(StreamSampler):
    """Apple Silicon power estimates through one `macmon pipe` process."""

    name = "macmon"
    option_keys = ("interval_ms", "binary")
    estimated = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.binary = str(self.options.get("binary") or "macmon")

    @classmethod
    def availability(cls) -> str | None:
        if sys.platform != "darwin":
            return "macOS on Apple Silicon only"
        return None if shutil.which("macmon") else "macmon is not installed (brew install macmon)"

    def open(self) -> list[Channel]:
        if not shutil.which(self.binary):
            raise SamplerUnavailable(f"{self.binary} is not installed (brew install macmon)")
        self.proc = self.spawn()
        return [Channel(ch, kind, self.name, f"Apple SoC {key} (macmon)", estimated=True,
                        in_system=kind != "board",
                        note="IOReport model estimate" if kind != "board" else "SMC board power, not summed")
                for key, (ch, kind) in CHANNELS.items()]

    def command(self) -> list[str]:
        return [self.binary, "pipe", "-i", str(max(1, int(round(self.interval_s * 1000))))]

    def parse(self, chunk: bytes, received_s: float) -> list[Reading]:
        # each value is the average over the last interval: place it at the interval's middle
        t_s = received_s - self.interval_s / 2
        return [Reading(ch, watts, None, extra, t_s) for ch, (watts, extra) in parse_line(chunk.decode()).items()]
