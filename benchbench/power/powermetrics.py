"""`powermetrics`: Apple Silicon through `sudo powermetrics -f plist` (needs root).

Each sample is a plist (NUL-separated) with the energy the SoC model attributes to the CPU, GPU
and ANE over `elapsed_ns`; the samples tile time, so their running sum is a counter. Model
estimates, labelled so.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import sys
from typing import Any

from .base import Channel, Reading, SamplerUnavailable
from .stream import StreamSampler

# plist processor key (mJ over the sample) → (channel, kind)
ENERGY_KEYS = {"cpu_energy": ("cpu-package0", "cpu"), "gpu_energy": ("gpu0", "gpu"),
               "ane_energy": ("ane0", "ane")}


def parse_plist(chunk: bytes) -> tuple[float, dict[str, float], dict[str, Any]]:
    """One powermetrics plist → (elapsed_s, {channel: joules in the sample}, gpu extras)."""
    data = plistlib.loads(chunk.strip(b"\0\r\n\t "))
    elapsed_s = float(data["elapsed_ns"]) / 1e9
    processor = data.get("processor", {})
    gpu = data.get("gpu", {})
    joules = {}
    for key, (channel, _kind) in ENERGY_KEYS.items():
        mj = processor.get(key, gpu.get(key) if key == "gpu_energy" else None)
        if isinstance(mj, (int, float)):
            joules[channel] = float(mj) / 1000
    extra: dict[str, Any] = {}
    if isinstance(gpu.get("idle_ratio"), (int, float)):
        extra["util_pct"] = round((1 - float(gpu["idle_ratio"])) * 100, 2)
    if isinstance(gpu.get("freq_hz"), (int, float)):
        extra["sm_clock_mhz"] = round(float(gpu["freq_hz"]), 1)
    return elapsed_s, joules, extra


class PowermetricsSampler(StreamSampler):
    """Apple Silicon energy estimates through one root `powermetrics` process."""

    name = "powermetrics"
    option_keys = ("interval_ms", "binary")
    estimated = True
    separator = b"\0"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.binary = str(self.options.get("binary") or "/usr/bin/powermetrics")
        self.totals: dict[str, float] = {}

    @classmethod
    def availability(cls) -> str | None:
        if sys.platform != "darwin":
            return "macOS only"
        if os.geteuid() != 0:
            return "powermetrics needs root: run benchbench with sudo, or use `macmon` (no sudo)"
        return None

    def open(self) -> list[Channel]:
        if not shutil.which(self.binary):
            raise SamplerUnavailable(f"{self.binary} not found (macOS only)")
        if os.geteuid() != 0:
            raise SamplerUnavailable("powermetrics needs root: run with sudo, or use `macmon` (no sudo)")
        self.proc = self.spawn()
        return [Channel(ch, kind, self.name, f"Apple SoC {key} (powermetrics)", counter=True,
                        estimated=True, note="IOReport model estimate")
                for key, (ch, kind) in ENERGY_KEYS.items()]

    def command(self) -> list[str]:
        ms = max(1, int(round(self.interval_s * 1000)))
        return [self.binary, "--samplers", "cpu_power,gpu_power", "-i", str(ms), "-f", "plist"]

    def parse(self, chunk: bytes, received_s: float) -> list[Reading]:
        elapsed_s, joules, extra = parse_plist(chunk)
        out = []
        for channel, j in joules.items():
            if channel not in self.totals:  # the counter starts at 0 where the first sample began
                self.totals[channel] = 0.0
                out.append(Reading(channel, None, 0.0, {}, received_s - elapsed_s))
            self.totals[channel] += j
            out.append(Reading(channel, j / elapsed_s if elapsed_s > 0 else None, self.totals[channel],
                               extra if channel == "gpu0" else {}, received_s))
        return out
