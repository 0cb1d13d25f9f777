"""The sampler interface: channels, readings, and background polling or streaming threads.

A sampler owns one source (NVML, a smart plug, RAPL...). `start()` opens it and starts a daemon
thread that appends readings to per-channel series stamped with time.monotonic(); `stop()` is
bounded and idempotent. Polling samplers implement `read()`; streaming samplers (stream.py) run ONE
subprocess and implement `parse()`. Each sampler answers `benchbench doctor` for itself (`Sampler.doctor`).
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import BackendUnavailable
from .series import Series

STOP_TIMEOUT_S = 3.0
MAX_LOGGED_ERRORS = 5


class SamplerUnavailable(BackendUnavailable):
    """This sampler cannot read on this host; the message says why."""


class SamplerLine(dict):
    """`benchbench doctor`'s answer for one sampler: a dict for --json that prints as one readable line."""

    def __str__(self) -> str:
        state = "ok" if self["available"] else "unavailable"
        detail = self.get("detail") or self.get("why") or ""
        return f"{self['sampler']:13} {state}{': ' + detail if detail else ''}"


@dataclass
class Channel:
    """One measured quantity: a GPU, a CPU package, a wall plug."""

    name: str                          # gpu0, cpu-package0, wall, ...
    kind: str                          # gpu | cpu | dram | ane | wall | board
    sampler: str
    device: str = ""                   # human-readable device name
    counter: bool = False              # has a cumulative energy counter
    counter_resolution_j: float = 0.0  # smallest counter step, when known
    estimated: bool = False            # a model estimate (Apple IOReport), not a measurement
    in_system: bool = True             # counted in the gpu+cpu+overhead system estimate
    covers: tuple[str, ...] = ()       # kinds this channel already includes (APU socket: cpu)
    note: str = ""

    def to_record(self) -> dict[str, Any]:
        out = {"name": self.name, "kind": self.kind, "sampler": self.sampler, "device": self.device,
               "counter": self.counter, "estimated": self.estimated}
        if not self.in_system:
            out["in_system"] = False
        if self.covers:
            out["covers"] = list(self.covers)
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Reading:
    """One channel at one instant: power in W and/or a cumulative counter in J, plus extras."""

    channel: str
    power_w: float | None = None
    energy_j: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    t_s: float | None = None           # time.monotonic(); None: the time of the poll


_LIVE: weakref.WeakSet[Sampler] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Safety net: no sampler thread or subprocess outlives the interpreter."""
    for sampler in list(_LIVE):
        sampler.stop()


class Sampler(ABC):
    """Base of every power source. Subclasses set `name` and implement open/close and reading."""

    name: ClassVar[str]
    option_keys: ClassVar[tuple[str, ...]] = ()
    estimated: ClassVar[bool] = False

    def __init__(self, interval_s: float = 0.5, options: dict[str, Any] | None = None,
                 profile: Any = None) -> None:
        self.options = dict(options or {})
        self.profile = profile
        if self.options.get("interval_ms") is not None:
            interval_s = float(self.options["interval_ms"]) / 1000
        self.interval_s = interval_s
        self.channels: list[Channel] = []
        self.series: dict[str, Series] = {}
        self.declared_system_w: float | None = None
        self.ended_early: str | None = None   # a stream that stopped on its own, and why
        self.edge_cpu_s = 0.0             # CPU of sample_now() reads, in the caller's thread
        self._thread_cpu_s = 0.0          # the sampling thread's CPU once it has ended
        self.polls = 0
        self.errors = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    # --- to implement ---------------------------------------------------------------------
    @classmethod
    def doctor(cls, options: dict[str, Any] | None = None, profile: Any = None) -> SamplerLine:
        """`benchbench doctor`: open the source briefly (no thread) and say what it would measure."""
        why = cls.availability()
        if why:
            return SamplerLine(sampler=cls.name, available=False, why=why)
        sampler = cls(0.5, options, profile)
        try:
            channels = sampler.open()
        except Exception as exc:  # noqa: BLE001 - doctor reports, never crashes
            return SamplerLine(sampler=cls.name, available=False,
                               why=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        finally:
            try:
                sampler._halt()
                sampler.close()
            except Exception:  # noqa: BLE001
                pass
        detail = ", ".join(f"{c.name} {c.device}" + (" [counter]" if c.counter else "") +
                           (" [estimate]" if c.estimated else "") for c in channels)
        return SamplerLine(sampler=cls.name, available=True, detail=detail,
                           channels=[c.to_record() for c in channels])

    @classmethod
    def availability(cls) -> str | None:
        """Cheap check: None when this sampler may work here, else one line saying why not."""
        return None

    @abstractmethod
    def open(self) -> list[Channel]:
        """Acquire the source and say which channels it gives; raise SamplerUnavailable if it can't."""

    def close(self) -> None:
        """Release the source (called once, from stop())."""

    def info(self) -> dict[str, Any]:
        """Facts for the record's power section."""
        return {"interval_s": self.interval_s}

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Open the source and start the background thread."""
        if self._started:
            return
        try:
            self.channels = self.open()
        except BaseException:
            self._close_quietly()  # release what a failed open had acquired
            raise
        for ch in self.channels:
            self.series[ch.name] = Series()
        self._started = True
        _LIVE.add(self)
        self._thread = threading.Thread(target=self._run_thread, name=f"benchbench-power-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop sampling and release the source; bounded and safe to call many times."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        self._halt()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        if self._started:
            self._close_quietly()
        _LIVE.discard(self)

    def _close_quietly(self) -> None:
        try:
            self.close()
        except Exception as exc:  # noqa: BLE001 - closing must not mask the run's outcome
            self._note_error(exc)

    def _halt(self) -> None:
        """Unblock the thread (streams terminate their subprocess)."""

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run_thread(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # noqa: BLE001 - a broken source ends its thread, not the run
            self._note_error(exc)
        finally:
            self._thread_cpu_s = time.thread_time()

    @abstractmethod
    def _loop(self) -> None:
        """The thread body; returns when self._stop is set or the source ends."""

    def sample_now(self) -> None:
        """Take a reading at once, from the calling thread (sharpens iteration edges)."""

    def sample_edge(self, side: str) -> None:
        """Read at an iteration edge (`start` or `end`); samplers with stepped counters poll longer."""
        self.sample_now()

    def wait_past(self, t_s: float) -> None:
        """Block briefly until every channel has a sample at or after t_s (streams)."""

    # --- storing --------------------------------------------------------------------------
    def store(self, readings: list[Reading], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for r in readings:
            series = self.series.get(r.channel)
            if series is not None:
                series.add(now if r.t_s is None else r.t_s, r.power_w, r.energy_j, r.extra)

    @property
    def cpu_s(self) -> float:
        """CPU seconds this sampler has used so far: its thread (read live on Linux) plus edge reads."""
        thread = self._thread
        if thread is not None and thread.is_alive() and thread.ident is not None:
            try:
                return time.clock_gettime(time.pthread_getcpuclockid(thread.ident)) + self.edge_cpu_s
            except (AttributeError, OSError, OverflowError):
                pass
        return self._thread_cpu_s + self.edge_cpu_s

    def _note_error(self, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]

    def summary(self) -> dict[str, Any]:
        """What the record says about this sampler's health and cost."""
        out = {"sampler": self.name, **self.info(), "polls": self.polls, "cpu_s": round(self.cpu_s, 6)}
        if self.errors:
            out["errors"] = self.errors
            out["last_error"] = self.last_error
        return out


class PollingSampler(Sampler):
    """Reads the source every interval_s in a background thread (NVML, RAPL, plugs...)."""

    forced = False  # True while sample_now() reads (an iteration edge)

    @abstractmethod
    def read(self) -> list[Reading]:
        """One reading of every channel; raise PowerError (or the vendor's error) on failure."""

    def _poll(self) -> None:
        with self._lock:
            try:
                readings = self.read()
            except Exception as exc:  # noqa: BLE001 - counted and recorded, sampling goes on
                self._note_error(exc)
                return
            self.polls += 1
            self.store(readings)

    def _loop(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            self._poll()
            next_t += self.interval_s
            delay = next_t - time.monotonic()
            if delay < 0:  # fell behind: skip missed slots rather than burst
                next_t = time.monotonic()
                delay = 0
            if self._stop.wait(delay):
                break

    def sample_now(self) -> None:
        if self._started and not self._stopped:
            cpu0 = time.thread_time()
            self.forced = True
            try:
                self._poll()
            finally:
                self.forced = False
            self.edge_cpu_s += time.thread_time() - cpu0
