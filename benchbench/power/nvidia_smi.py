"""`nvidia-smi`: NVIDIA GPUs through ONE streaming `nvidia-smi --query-gpu=... -lms N` process.

For hosts where NVML can't be imported. Never one process per reading: a spawn costs ~18 ms of
CPU, the stream costs a fraction of that per reading. Timestamps come from nvidia-smi's own
`timestamp` field (local wall clock), mapped onto time.monotonic(), so pipe buffering does not
skew them.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import time
from typing import Any

from ..errors import PowerError
from .base import Channel, Reading, SamplerUnavailable
from .stream import StreamSampler

FULL_FIELDS = ("timestamp", "index", "power.draw", "utilization.gpu", "memory.used", "clocks.sm", "clocks.mem",
               "temperature.gpu", "clocks_event_reasons.active")
BASIC_FIELDS = ("timestamp", "index", "power.draw")
EXTRA_KEYS = {"utilization.gpu": "util_pct", "memory.used": "mem_used_gb", "clocks.sm": "sm_clock_mhz",
              "clocks.current.sm": "sm_clock_mhz", "clocks.mem": "mem_clock_mhz",
              "clocks.current.memory": "mem_clock_mhz",
              "temperature.gpu": "temp_c", "clocks_event_reasons.active": "throttle",
              "clocks_throttle_reasons.active": "throttle"}
_NUMBER = re.compile(r"^\s*(0x[0-9a-fA-F]+|[-+]?\d+(?:\.\d+)?)")
TIME_FORMAT = "%Y/%m/%d %H:%M:%S.%f"


def parse_value(text: str) -> float | int | None:
    """'85.75 W', '85.75', '0 %', '0x0000000000000004' → a number; '[N/A]', '[Not Supported]' → None."""
    match = _NUMBER.match(text)
    if not match:
        return None
    token = match.group(1)
    return int(token, 16) if token.startswith("0x") else float(token)


def fields_from_header(header: str) -> tuple[str, ...]:
    """'index, name, power.draw [W], ...' (the csv header) → ('index', 'name', 'power.draw', ...)."""
    return tuple(part.split("[")[0].strip() for part in header.split(","))


def parse_line(line: str, fields: tuple[str, ...], clock_offset_s: float | None) -> Reading | None:
    """One CSV line (with or without units) → a Reading for gpu<index>; None for a header line."""
    parts = [p.strip() for p in line.strip().split(",")]
    if not parts or parts[0].startswith(("timestamp", "index")) or len(parts) < len(fields):
        return None
    values = dict(zip(fields, parts, strict=False))
    t_s = None
    if "timestamp" in values and clock_offset_s is not None:
        t_s = dt.datetime.strptime(values["timestamp"], TIME_FORMAT).timestamp() - clock_offset_s
    index = int(parse_value(values.get("index", "0")) or 0)
    extra: dict[str, Any] = {}
    for field, key in EXTRA_KEYS.items():
        if field in values:
            v = parse_value(values[field])
            if v is not None:
                extra[key] = round(v * 1.048576e-3, 3) if key == "mem_used_gb" else v
    return Reading(f"gpu{index}", parse_value(values["power.draw"]), None, extra, t_s)


class NvidiaSmiSampler(StreamSampler):
    """NVIDIA GPUs through a streaming nvidia-smi subprocess."""

    name = "nvidia-smi"
    option_keys = ("interval_ms", "binary")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.binary = str(self.options.get("binary") or "nvidia-smi")
        self.fields = FULL_FIELDS
        self.clock_offset_s = time.time() - time.monotonic()
        self.max_lag_s = 0.0

    @classmethod
    def availability(cls) -> str | None:
        return None if shutil.which("nvidia-smi") else "nvidia-smi is not on PATH (no NVIDIA driver?)"

    def _query(self, fields: tuple[str, ...], extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([self.binary, f"--query-gpu={','.join(fields)}",
                                   "--format=csv,noheader,nounits", *extra],
                                  capture_output=True, text=True, timeout=15, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SamplerUnavailable(f"cannot run {self.binary}: {exc}") from None

    def open(self) -> list[Channel]:
        if not shutil.which(self.binary):
            raise SamplerUnavailable(f"{self.binary} is not on PATH (no NVIDIA driver?)")
        probe = self._query(self.fields)
        if probe.returncode != 0:  # an older driver without some field: fall back to power only
            self.fields = BASIC_FIELDS
            probe = self._query(self.fields)
        if probe.returncode != 0:
            raise SamplerUnavailable(f"{self.binary} failed: {(probe.stdout + probe.stderr).strip()[:200]}")
        names = self._query(("index", "name"))
        channels = []
        for line in names.stdout.splitlines():
            index, _, name = line.partition(",")
            if index.strip().isdigit():
                channels.append(Channel(f"gpu{index.strip()}", "gpu", self.name, name.strip(),
                                        note="power.draw readings integrated (nvidia-smi has no energy counter)"))
        if not channels:
            raise SamplerUnavailable(f"{self.binary} lists no GPU")
        self.clock_offset_s = time.time() - time.monotonic()
        self.proc = self.spawn()
        return channels

    def command(self) -> list[str]:
        ms = max(1, int(round(self.interval_s * 1000)))
        return [self.binary, f"--query-gpu={','.join(self.fields)}", "--format=csv,noheader,nounits",
                "-lms", str(ms)]

    def parse(self, chunk: bytes, received_s: float) -> list[Reading]:
        text = chunk.decode(errors="replace")
        if "not a valid field" in text.lower():
            raise PowerError(text.strip())
        reading = parse_line(text, self.fields, self.clock_offset_s)
        if reading is None:
            return []
        if reading.t_s is None or not -120 < reading.t_s - received_s < 2:  # clock stepped: use arrival
            reading.t_s = received_s
        self.max_lag_s = max(self.max_lag_s, received_s - reading.t_s)
        return [reading]

    def info(self) -> dict[str, Any]:
        return {"interval_s": self.interval_s, "fields": list(self.fields),
                "max_delivery_lag_s": round(self.max_lag_s, 4)}
