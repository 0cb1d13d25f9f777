"""Fakes for the power tests: NVML and amdsmi libraries behind the REAL samplers (subclasses
that only swap the library), a sampler fed by hand, and a fake `nvidia-smi` executable that
streams the documented CSV format."""

from __future__ import annotations

import csv
import os
import stat
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from benchbench.power.amdsmi_sampler import AmdSmiSampler
from benchbench.power.base import Channel, PollingSampler, Reading
from benchbench.power.nvml import NvmlSampler

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "power"


def load_trace(name: str = "nvml-20ms-idle-burst-idle.csv") -> dict[str, list[float]]:
    """The recorded H200 NVML trace as columns of floats."""
    with open(FIXTURES / name, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {key: [float(r[key]) for r in rows] for key in rows[0]}


class FakeGpu:
    """A GPU drawing `watts` (a number, or a function of seconds since creation). Its energy counter is
    the left Riemann sum of that power at a 1 ms step; with `step_s` it advances only every `step_s`
    (at `phase_s` past creation), each step adding the energy up to it, as NVML's counter does on
    the H100 (every 100 ms)."""

    def __init__(self, watts: Any = 100.0, counter: bool = True, util: float = 50.0,
                 throttle: int = 0, name: str = "Fake GPU", step_s: float | None = None,
                 phase_s: float = 0.0) -> None:
        self.watts = watts if callable(watts) else (lambda t, w=float(watts): w)
        self.counter = counter
        self.util = util
        self.throttle = throttle
        self.name = name
        self.step_s = step_s
        self.phase_s = phase_s
        self.t0 = time.monotonic()
        self._energy_j = 0.0
        self._last = self.t0

    def power_w(self) -> float:
        return self.watts(time.monotonic() - self.t0)

    def energy_j(self) -> float:
        now = time.monotonic()
        if self.step_s:
            k = int((now - self.t0 - self.phase_s) // self.step_s)
            now = max(self.t0 + self.phase_s + k * self.step_s, self._last)
        step = 0.001
        while self._last + step <= now:
            self._energy_j += self.watts(self._last - self.t0) * step
            self._last += step
        return self._energy_j + self.watts(self._last - self.t0) * (now - self._last)


class FakePynvml:
    """The subset of pynvml that NvmlSampler uses, with pynvml's names and units."""

    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_TEMPERATURE_GPU = 0

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    def __init__(self, gpus: list[FakeGpu], fail_init: bool = False) -> None:
        self.gpus = gpus
        self.fail_init = fail_init
        self.inits = 0

    def nvmlInit(self) -> None:
        if self.fail_init:
            raise self.NVMLError("NVML Shared Library Not Found")
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.inits -= 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> FakeGpu:
        return self.gpus[i]

    def nvmlDeviceGetName(self, h: FakeGpu) -> bytes:
        return h.name.encode()

    def nvmlDeviceGetPowerUsage(self, h: FakeGpu) -> int:
        return int(h.power_w() * 1000)          # mW

    def nvmlDeviceGetTotalEnergyConsumption(self, h: FakeGpu) -> int:
        if not h.counter:
            raise self.NVMLError_NotSupported("Not Supported")
        return int(h.energy_j() * 1000)         # mJ

    def nvmlDeviceGetUtilizationRates(self, h: FakeGpu) -> Any:
        return SimpleNamespace(gpu=h.util, memory=0)

    def nvmlDeviceGetMemoryInfo(self, h: FakeGpu) -> Any:
        return SimpleNamespace(used=2_000_000_000, total=24_000_000_000)

    def nvmlDeviceGetClockInfo(self, h: FakeGpu, clock: int) -> int:
        return 1500

    def nvmlDeviceGetTemperature(self, h: FakeGpu, sensor: int) -> int:
        return 45

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: FakeGpu) -> int:
        return h.throttle


class FakeNvml(NvmlSampler):
    """The real NVML sampler over FakePynvml (class attribute `library` set by tests)."""

    library: FakePynvml = FakePynvml([FakeGpu()])

    def load_library(self) -> Any:
        return self.library


class FakeAmdsmiLib:
    """The subset of the amdsmi module that AmdSmiSampler uses (ROCm 6.x key names)."""

    class AmdSmiException(Exception):
        pass

    def __init__(self, gpus: list[FakeGpu], resolution_uj: float = 15.259, old_keys: bool = False) -> None:
        self.gpus = gpus
        self.resolution_uj = resolution_uj
        self.old_keys = old_keys

    def amdsmi_init(self, *flags: Any) -> None:
        pass

    def amdsmi_shut_down(self) -> None:
        pass

    def amdsmi_get_processor_handles(self) -> list[FakeGpu]:
        return list(self.gpus)

    def amdsmi_get_gpu_asic_info(self, h: FakeGpu) -> dict[str, Any]:
        return {"market_name": h.name, "target_graphics_version": "gfx1151"}

    def amdsmi_get_power_info(self, h: FakeGpu) -> dict[str, Any]:
        return {"current_socket_power": round(h.power_w()), "average_socket_power": "N/A",
                "gfx_voltage": "N/A", "power_limit": 120}

    def amdsmi_get_energy_count(self, h: FakeGpu) -> dict[str, Any]:
        if not h.counter:
            raise self.AmdSmiException("AMDSMI_STATUS_NOT_SUPPORTED")
        ticks = int(h.energy_j() * 1e6 / self.resolution_uj)
        key = "power" if self.old_keys else "energy_accumulator"
        return {key: ticks, "counter_resolution": self.resolution_uj, "timestamp": time.time_ns()}

    def amdsmi_get_gpu_activity(self, h: FakeGpu) -> dict[str, Any]:
        return {"gfx_activity": h.util, "umc_activity": 0, "mm_activity": "N/A"}

    AmdSmiClkType = SimpleNamespace(GFX=0, MEM=1)
    AmdSmiTemperatureType = SimpleNamespace(EDGE=0)
    AmdSmiTemperatureMetric = SimpleNamespace(CURRENT=0)

    def amdsmi_get_gpu_vram_usage(self, h: FakeGpu) -> dict[str, Any]:
        return {"vram_total": 98304, "vram_used": 4096}          # MiB

    def amdsmi_get_clock_info(self, h: FakeGpu, clk: int) -> dict[str, Any]:
        mhz = 2900 if clk == self.AmdSmiClkType.GFX else 1000
        return {"cur_clk": mhz, "min_clk": 600} if self.old_keys else {"clk": mhz, "min_clk": 600, "max_clk": 2900}

    def amdsmi_get_temp_metric(self, h: FakeGpu, sensor: int, metric: int) -> int:
        return 48

    def amdsmi_get_gpu_metrics_info(self, h: FakeGpu) -> dict[str, Any]:
        return {"throttle_status": h.throttle} if self.old_keys else {"indep_throttle_status": h.throttle}


class FakeAmdSmi(AmdSmiSampler):
    """The real amdsmi sampler over FakeAmdsmiLib."""

    library: FakeAmdsmiLib = FakeAmdsmiLib([FakeGpu()])

    def load_library(self) -> Any:
        return self.library


class HandSampler(PollingSampler):
    """Channels given by the test; readings pushed with `push()` at chosen times."""

    name = "hand"

    def __init__(self, channels: list[Channel], interval_s: float = 0.5, **kw: Any) -> None:
        super().__init__(interval_s, **kw)
        self._channels = channels

    def open(self) -> list[Channel]:
        return list(self._channels)

    def read(self) -> list[Reading]:
        return []

    def push(self, channel: str, t_s: float, power_w: float | None, energy_j: float | None = None,
             **extra: Any) -> None:
        self.series[channel].add(t_s, power_w, energy_j, extra)
        self.polls += 1


FAKE_SMI = '''#!{python}
"""A stand-in for nvidia-smi: the documented --query-gpu CSV, streamed with -lms."""
import datetime, sys, time
args = sys.argv[1:]
query = next(a.split("=", 1)[1] for a in args if a.startswith("--query-gpu="))
fields = query.split(",")
ms = int(args[args.index("-lms") + 1]) if "-lms" in args else None
values = {{"index": "0", "name": "NVIDIA Fake", "power.draw": "{watts}", "utilization.gpu": "97",
          "memory.used": "1024", "clocks.sm": "1410", "clocks.mem": "2619", "temperature.gpu": "51",
          "clocks_event_reasons.active": "0x0000000000000000"}}
def line():
    now = datetime.datetime.now().strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
    return ", ".join(now if f == "timestamp" else values[f] for f in fields)
if ms is None:
    print(line(), flush=True)
    sys.exit(0)
while True:
    print(line(), flush=True)
    time.sleep(ms / 1000)
'''


def fake_nvidia_smi(folder: Path, watts: float = 200.0) -> Path:
    """Write an executable fake `nvidia-smi` into folder and return its path."""
    path = folder / "nvidia-smi"
    path.write_text(FAKE_SMI.format(python=sys.executable, watts=watts), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def pid_alive(pid: int) -> bool:
    """True while a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
