"""`amdsmi`: AMD GPUs and APUs (Strix Halo) in-process through the amdsmi Python API.

Power from `amdsmi_get_power_info` (socket power; the field's name changed across ROCm versions)
and the energy accumulator from `amdsmi_get_energy_count` × its `counter_resolution` (µJ); every
second and at iteration edges, GFX activity, VRAM used, GFX and memory clocks, edge temperature and the
GPU metrics' throttle status (each dropped for good on a GPU or VM guest that does not support it).
On an APU the socket power includes the CPU cores, so RAPL's package channel is left out of
the system estimate (`covers: [cpu]`).
"""

from __future__ import annotations

import importlib.util
import re
import time
from typing import Any

from ..fingerprint import cpu_model
from .base import Channel, PollingSampler, Reading, SamplerUnavailable

POWER_KEYS = ("socket_power", "current_socket_power", "average_socket_power")
INSTALL_HINT = "install ROCm's amdsmi Python package (pip install 'benchbench[amd]')"
EXTRAS_EVERY_S = 0.95
MIB_TO_GB = 1.048576e-3
APU_CPU = re.compile(r"w(ith|/) Radeon|Ryzen AI", re.I)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.split()[0])
        except (ValueError, IndexError):
            return None  # "N/A"
    return None


def power_from_info(info: dict[str, Any]) -> float | None:
    """Socket power in W from amdsmi_get_power_info's dict, whatever the ROCm version calls it."""
    for key in POWER_KEYS:
        value = _number(info.get(key))
        if value is not None and value > 0:
            return value
    return None


def energy_from_count(count: dict[str, Any]) -> tuple[float, float] | None:
    """(joules, resolution_j) from amdsmi_get_energy_count: `energy_accumulator` (older: `power`)
    ticks × `counter_resolution` µJ."""
    ticks = count.get("energy_accumulator", count.get("power"))
    resolution = _number(count.get("counter_resolution"))
    if not isinstance(ticks, (int, float)) or resolution is None or resolution <= 0:
        return None
    return ticks * resolution / 1e6, resolution / 1e6


def clock_mhz(info: dict[str, Any]) -> float | None:
    """amdsmi_get_clock_info's current clock: `clk` (ROCm 6.x) or `cur_clk` (5.x)."""
    return _number(info.get("clk", info.get("cur_clk")))


def throttle_status(metrics: dict[str, Any]) -> int | None:
    """amdsmi_get_gpu_metrics_info's throttle bits: `indep_throttle_status`, else `throttle_status`."""
    for key in ("indep_throttle_status", "throttle_status"):
        value = metrics.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def is_apu(cpu_model: str) -> bool:
    """AMD APUs name their iGPU in the CPU model ('... w/ Radeon 8060S')."""
    return bool(APU_CPU.search(cpu_model or ""))


class AmdSmiSampler(PollingSampler):
    """AMD GPUs through amdsmi."""

    name = "amdsmi"
    option_keys = ("interval_ms", "devices", "apu")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lib: Any = None
        self.handles: list[tuple[int, Any]] = []
        self.has_counter: dict[int, bool] = {}
        self.fields: dict[int, set[str]] = {}
        self._last_extras = 0.0
        self._inited = False

    def load_library(self) -> Any:
        try:
            import amdsmi
        except (ImportError, OSError, KeyError) as exc:
            raise SamplerUnavailable(f"amdsmi is not usable ({exc}): {INSTALL_HINT}") from None
        return amdsmi

    @classmethod
    def availability(cls) -> str | None:
        return None if importlib.util.find_spec("amdsmi") else f"amdsmi is not installed: {INSTALL_HINT}"

    def open(self) -> list[Channel]:
        lib = self.lib = self.load_library()
        try:
            lib.amdsmi_init()
            self._inited = True
            handles = list(lib.amdsmi_get_processor_handles())
        except lib.AmdSmiException as exc:
            raise SamplerUnavailable(f"amdsmi could not start (amdgpu driver loaded?): {exc}") from None
        wanted = self.options.get("devices")
        indices = [int(i) for i in wanted] if wanted is not None else list(range(len(handles)))
        if not indices or any(not 0 <= i < len(handles) for i in indices):
            raise SamplerUnavailable(f"amdsmi sees {len(handles)} GPU(s); cannot read {indices}")
        apu = self.options.get("apu")
        if apu is None:

            apu = is_apu(cpu_model())
        return [self._open_device(i, handles[i], bool(apu)) for i in indices]

    def _open_device(self, index: int, handle: Any, apu: bool) -> Channel:
        lib = self.lib
        self.handles.append((index, handle))
        try:
            name = lib.amdsmi_get_gpu_asic_info(handle).get("market_name") or f"AMD GPU {index}"
        except lib.AmdSmiException:
            name = f"AMD GPU {index}"
        try:
            counted = energy_from_count(lib.amdsmi_get_energy_count(handle))
        except lib.AmdSmiException:
            counted = None
        self.has_counter[index] = counted is not None
        self.fields[index] = {"util_pct", "mem_used_gb", "sm_clock_mhz", "mem_clock_mhz", "temp_c", "throttle"}
        note = "APU socket power: includes the CPU cores" if apu else ""
        return Channel(f"gpu{index}", "gpu", self.name, str(name), counter=counted is not None,
                       counter_resolution_j=counted[1] if counted else 0.0,
                       covers=("cpu",) if apu else (), note=note)

    def close(self) -> None:
        if self._inited:
            self._inited = False
            try:
                self.lib.amdsmi_shut_down()
            except self.lib.AmdSmiException:
                pass

    def info(self) -> dict[str, Any]:
        return {"interval_s": self.interval_s,
                "energy_counter": {f"gpu{i}": c for i, c in self.has_counter.items()}}

    def read(self) -> list[Reading]:
        lib = self.lib
        now = time.monotonic()
        extras_due = self.forced or now - self._last_extras >= EXTRAS_EVERY_S
        if extras_due:
            self._last_extras = now
        out = []
        for index, handle in self.handles:
            try:
                power = power_from_info(lib.amdsmi_get_power_info(handle))
                counted = energy_from_count(lib.amdsmi_get_energy_count(handle)) \
                    if self.has_counter[index] else None
            except lib.AmdSmiException as exc:
                raise SamplerUnavailable(f"amdsmi read of GPU {index} failed: {exc}") from None
            extra = self._extras(index, handle) if extras_due else {}
            out.append(Reading(f"gpu{index}", power, counted[0] if counted else None, extra))
        return out

    def _extras(self, index: int, handle: Any) -> dict[str, Any]:
        lib = self.lib
        getters = {
            "util_pct": lambda: _number(lib.amdsmi_get_gpu_activity(handle).get("gfx_activity")),
            "mem_used_gb": lambda: round(_number(lib.amdsmi_get_gpu_vram_usage(handle)["vram_used"]) * MIB_TO_GB, 3),
            "sm_clock_mhz": lambda: clock_mhz(lib.amdsmi_get_clock_info(handle, lib.AmdSmiClkType.GFX)),
            "mem_clock_mhz": lambda: clock_mhz(lib.amdsmi_get_clock_info(handle, lib.AmdSmiClkType.MEM)),
            "temp_c": lambda: _number(lib.amdsmi_get_temp_metric(handle, lib.AmdSmiTemperatureType.EDGE,
                                                                 lib.AmdSmiTemperatureMetric.CURRENT)),
            "throttle": lambda: throttle_status(lib.amdsmi_get_gpu_metrics_info(handle)),
        }
        out: dict[str, Any] = {}
        for key in sorted(self.fields[index]):
            try:
                value = getters[key]()
            except (lib.AmdSmiException, AttributeError, KeyError, TypeError):  # unsupported here: stop asking
                self.fields[index].discard(key)
                continue
            if value is not None:
                out[key] = value
        return out
