"""`rocm-smi`: AMD GPUs through `rocm-smi --showpower --showenergycounter --showuse --showtemp
--showclocks --showmeminfo vram --json` (power, energy, GPU use, edge temperature, sclk/mclk, VRAM used;
rocm-smi reports no throttle reasons).

rocm-smi has no streaming mode, so each reading is one short process (tens of ms of CPU):
prefer `amdsmi`, and keep `interval_ms` at 1000 or more with this sampler.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

from ..errors import PowerError
from .base import Channel, PollingSampler, Reading, SamplerUnavailable

POWER_KEYS = ("Current Socket Graphics Package Power (W)", "Average Graphics Package Power (W)")
ENERGY_KEY = "Accumulated Energy (uJ)"
UTIL_KEY = "GPU use (%)"
TEMP_KEYS = ("Temperature (Sensor edge) (C)", "Temperature (Sensor junction) (C)")
CLOCK_KEYS = {"sm_clock_mhz": "sclk clock speed:", "mem_clock_mhz": "mclk clock speed:"}
VRAM_USED_KEY = "VRAM Total Used Memory (B)"
COMMAND_FLAGS = ("--showpower", "--showenergycounter", "--showuse", "--showtemp", "--showclocks",
                 "--showmeminfo", "vram", "--json")
DEFAULT_INTERVAL_S = 1.0


def _float(value: Any) -> float | None:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def _mhz(value: Any) -> float | None:
    """'(1900Mhz)' → 1900.0."""
    match = re.search(r"(\d+(?:\.\d+)?)\s*mhz", str(value or ""), re.I)
    return float(match.group(1)) if match else None


def extras(values: dict[str, Any]) -> dict[str, float]:
    """The optional columns from one card's rocm-smi JSON."""
    out = {"util_pct": _float(values.get(UTIL_KEY)),
           "temp_c": next((_float(values[k]) for k in TEMP_KEYS if _float(values.get(k)) is not None), None),
           **{col: _mhz(values.get(key)) for col, key in CLOCK_KEYS.items()}}
    used = _float(values.get(VRAM_USED_KEY))
    out["mem_used_gb"] = round(used / 1e9, 3) if used is not None else None
    return {k: v for k, v in out.items() if v is not None}


def parse_json(text: str) -> dict[int, dict[str, Any]]:
    """rocm-smi --json output → {card index: {power_w, energy_j, util_pct, extra}}; warnings before the
    JSON object are skipped."""
    start = text.find("{")
    if start < 0:
        raise PowerError(f"rocm-smi printed no JSON: {text.strip()[:200]}")
    data = json.loads(text[start:])
    out = {}
    for key, values in data.items():
        match = re.fullmatch(r"card(\d+)", key)
        if not match or not isinstance(values, dict):
            continue
        power = next((_float(values[k]) for k in POWER_KEYS if _float(values.get(k)) is not None), None)
        energy_uj = _float(values.get(ENERGY_KEY))
        out[int(match.group(1))] = {"power_w": power,
                                    "energy_j": energy_uj / 1e6 if energy_uj is not None else None,
                                    "util_pct": _float(values.get(UTIL_KEY)), "extra": extras(values)}
    return out


class RocmSmiSampler(PollingSampler):
    """AMD GPUs through one rocm-smi process per reading."""

    name = "rocm-smi"
    option_keys = ("interval_ms", "binary")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options.get("interval_ms") is None:
            self.interval_s = max(self.interval_s, DEFAULT_INTERVAL_S)
        self.binary = str(self.options.get("binary") or "rocm-smi")

    @classmethod
    def availability(cls) -> str | None:
        return None if shutil.which("rocm-smi") else "rocm-smi is not on PATH (ROCm not installed?)"

    def _run(self) -> str:
        try:
            done = subprocess.run([self.binary, *COMMAND_FLAGS], capture_output=True, text=True, timeout=10,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PowerError(f"cannot run {self.binary}: {exc}") from None
        if done.returncode != 0 and "{" not in done.stdout:
            raise PowerError(f"{self.binary} failed: {(done.stdout + done.stderr).strip()[:200]}")
        return done.stdout

    def open(self) -> list[Channel]:
        if not shutil.which(self.binary):
            raise SamplerUnavailable(f"{self.binary} is not on PATH (ROCm not installed?)")
        try:
            cards = parse_json(self._run())
        except (PowerError, ValueError) as exc:
            raise SamplerUnavailable(str(exc)) from None
        if not cards:
            raise SamplerUnavailable(f"{self.binary} lists no GPU")
        return [Channel(f"gpu{i}", "gpu", self.name, f"AMD GPU {i} (rocm-smi)",
                        counter=v["energy_j"] is not None) for i, v in sorted(cards.items())]

    def read(self) -> list[Reading]:
        cards = parse_json(self._run())
        return [Reading(f"gpu{i}", v["power_w"], v["energy_j"], v["extra"]) for i, v in sorted(cards.items())]
