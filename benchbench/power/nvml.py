"""`nvml`: NVIDIA GPUs in-process through nvidia-ml-py (a power read costs microseconds).

Per GPU: board power (W) every interval; the total-energy counter (J, Volta and newer) every 10 s
(`counter_interval_ms`; 0: every poll), since one counter read costs ~3 ms of CPU on an H100 (a power
read ~1-20 µs); and, every second and at iteration edges, utilization, memory used, SM and memory
clocks, temperature and clock-event (throttle) reasons (`extras: false`: none, as `benchbench watch`
wants).

At iteration edges the counter gets more care (see `counter_ticks.py`): it advances in steps (every
100 ms on the H100 measured), so one read can be up to a step stale. The edge read polls the counter
until it has seen two steps, each placed between two reads a few ms apart, which lets `energy.py`
bridge the edge from the nearest step with the rate of the step next to it.
GPUs without the counter (Pascal: the P40) report only a power reading, so they are polled
every 50 ms by default unless `nvml: {interval_ms: ...}` says otherwise.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

from .base import Channel, PollingSampler, Reading, SamplerUnavailable
from .counter_ticks import STEPS_PER_EDGE, TickClock

COUNTERLESS_INTERVAL_S = 0.05
EXTRAS_EVERY_S = 0.95
COUNTER_EVERY_S = 10.0
EXTRA_FIELDS = ("util_pct", "mem_used_gb", "sm_clock_mhz", "mem_clock_mhz", "temp_c", "throttle")
INSTALL_HINT = "pip install 'benchbench[nvidia]' (nvidia-ml-py)"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlSampler(PollingSampler):
    """NVIDIA GPUs through NVML."""

    name = "nvml"
    option_keys = ("interval_ms", "devices", "counter_interval_ms", "edge_steps", "extras")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nv: Any = None
        self.handles: list[tuple[int, Any]] = []
        self.has_counter: dict[int, bool] = {}
        self.fields: dict[int, set[str]] = {}
        self._last_extras = 0.0
        self._last_counter = float("-inf")
        ms = self.options.get("counter_interval_ms")
        self.counter_interval_s = float(ms) / 1000 if ms is not None else COUNTER_EVERY_S
        self._inited = False
        self.ticks: dict[int, TickClock] = {}
        self.edge_steps = int(self.options.get("edge_steps", STEPS_PER_EDGE))   # 0: one read per edge

    # --- the library (fakes override this) ---------------------------------------------------
    def load_library(self) -> Any:
        try:
            import pynvml
        except ImportError:
            raise SamplerUnavailable(f"nvidia-ml-py is not installed: {INSTALL_HINT}") from None
        return pynvml

    @classmethod
    def availability(cls) -> str | None:
        if importlib.util.find_spec("pynvml") is None:
            return f"nvidia-ml-py is not installed: {INSTALL_HINT}"
        return None

    # --- life cycle ---------------------------------------------------------------------------
    def open(self) -> list[Channel]:
        nv = self.nv = self.load_library()
        try:
            nv.nvmlInit()
        except nv.NVMLError as exc:
            raise SamplerUnavailable(f"NVML could not start (no NVIDIA driver?): {exc}") from None
        self._inited = True
        try:
            count = nv.nvmlDeviceGetCount()
            wanted = self.options.get("devices")
            indices = [int(i) for i in wanted] if wanted is not None else list(range(count))
            bad = [i for i in indices if not 0 <= i < count]
            if bad or not indices:
                raise SamplerUnavailable(f"NVML sees {count} GPU(s); cannot read {bad or 'none'}")
            return [self._open_device(i) for i in indices]
        except nv.NVMLError as exc:
            raise SamplerUnavailable(f"NVML error while listing GPUs: {exc}") from None

    def _open_device(self, index: int) -> Channel:
        nv = self.nv
        handle = nv.nvmlDeviceGetHandleByIndex(index)
        self.handles.append((index, handle))
        try:
            nv.nvmlDeviceGetTotalEnergyConsumption(handle)
            self.has_counter[index] = True
            self.ticks[index] = TickClock(self.edge_steps)
        except nv.NVMLError:
            self.has_counter[index] = False
        self.fields[index] = set(EXTRA_FIELDS) if self.options.get("extras", True) else set()
        if not self.has_counter[index] and self.options.get("interval_ms") is None:
            self.interval_s = min(self.interval_s, COUNTERLESS_INTERVAL_S)
        note = "" if self.has_counter[index] else \
            f"no energy counter (pre-Volta): power integrated from {self.interval_s * 1000:g} ms readings"
        return Channel(f"gpu{index}", "gpu", self.name, _text(nv.nvmlDeviceGetName(handle)),
                       counter=self.has_counter[index], counter_resolution_j=0.001, note=note)

    def close(self) -> None:
        if self._inited:
            self._inited = False
            try:
                self.nv.nvmlShutdown()
            except self.nv.NVMLError:
                pass

    def info(self) -> dict[str, Any]:
        out = {"interval_s": self.interval_s, "counter_interval_s": self.counter_interval_s,
               "energy_counter": {f"gpu{i}": c for i, c in self.has_counter.items()}}
        steps = {f"gpu{i}": clock.summary() for i, clock in self.ticks.items() if clock.period_s is not None}
        if steps:
            out["counter_steps"] = steps
        return out

    # --- reading ------------------------------------------------------------------------------
    def read(self) -> list[Reading]:
        nv = self.nv
        now = time.monotonic()
        extras_due = self.forced or now - self._last_extras >= EXTRAS_EVERY_S
        if extras_due:
            self._last_extras = now
        counter_due = self.forced or now - self._last_counter >= self.counter_interval_s
        if counter_due:
            self._last_counter = now
        out = []
        for index, handle in self.handles:
            try:
                power = nv.nvmlDeviceGetPowerUsage(handle) / 1000
                energy = nv.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000 \
                    if self.has_counter[index] and counter_due else None
            except nv.NVMLError as exc:
                raise SamplerUnavailable(f"NVML read of GPU {index} failed: {exc}") from None
            t_s = time.monotonic()  # stamped when read (a counter read takes ms), not after the extras
            extra = self._extras(index, handle) if extras_due else {}
            out.append(Reading(f"gpu{index}", power, energy, extra, t_s))
        return out

    def _extras(self, index: int, handle: Any) -> dict[str, Any]:
        nv = self.nv
        getters = {
            "util_pct": lambda: nv.nvmlDeviceGetUtilizationRates(handle).gpu,
            "mem_used_gb": lambda: round(nv.nvmlDeviceGetMemoryInfo(handle).used / 1e9, 3),
            "sm_clock_mhz": lambda: nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_SM),
            "mem_clock_mhz": lambda: nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_MEM),
            "temp_c": lambda: nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU),
            "throttle": lambda: int(self._reasons(handle)),
        }
        out: dict[str, Any] = {}
        for key in list(self.fields[index]):
            try:
                out[key] = getters[key]()
            except nv.NVMLError:  # not supported on this GPU: stop asking
                self.fields[index].discard(key)
        return out

    def _reasons(self, handle: Any) -> int:
        nv = self.nv
        getter = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
            nv.nvmlDeviceGetCurrentClocksThrottleReasons
        return getter(handle)

    # --- iteration edges -------------------------------------------------------------------------
    def sample_edge(self, side: str) -> None:
        """A full reading now, then the counters polled until each has shown its next two steps."""
        self.sample_now()
        clocks = {i: self.ticks[i] for i, _ in self.handles if i in self.ticks}
        if not clocks or not self.edge_steps or not self._started or self._stopped:
            return
        cpu0 = time.thread_time()
        try:
            self._poll_steps(clocks)
        finally:
            self.edge_cpu_s += time.thread_time() - cpu0

    def _poll_steps(self, clocks: dict[int, TickClock]) -> None:
        nv = self.nv
        handles = dict(self.handles)
        for index, clock in clocks.items():
            series = self.series[f"gpu{index}"]
            _, _, te, e = series.snapshot()
            clock.begin(te[-1] if te else None, e[-1] if e else None)
        pending = set(clocks)
        deadline = time.monotonic() + max(c.wait_limit_s() for c in clocks.values())
        while pending:
            now = time.monotonic()
            if now >= deadline:
                break
            wake = min(clocks[i].wake_at(now) for i in pending)
            if wake > now:
                time.sleep(min(wake, deadline) - now)
            for index in sorted(pending):
                a = time.monotonic()
                try:
                    value = nv.nvmlDeviceGetTotalEnergyConsumption(handles[index]) / 1000
                except nv.NVMLError as exc:
                    self._note_error(exc)
                    pending.discard(index)
                    continue
                t_s = (a + time.monotonic()) / 2
                self.store([Reading(f"gpu{index}", None, value, {}, t_s)])
                if clocks[index].read(t_s, value):
                    pending.discard(index)
