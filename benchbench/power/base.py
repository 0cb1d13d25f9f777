"""The sampler interface: channels, readings, and background polling or streaming threads.

A sampler owns one source (NVML, a smart plug, RAPL...). `start()` opens it and starts a daemon
thread that appends readings to per-channel series stamped with time.monotonic(); `stop()` is
bounded and idempotent. Polling samplers implement `read()`; streaming samplers run ONE
subprocess and implement `parse()`.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

from ..errors import BackendUnavailable, PowerError
from .series import Series

STOP_TIMEOUT_S = 3.0
PR_SET_PDEATHSIG = 1
MAX_LOGGED_ERRORS = 5


class SamplerUnavailable(BackendUnavailable):
    """This sampler cannot read on this host; the message says why."""


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


class StreamSampler(Sampler):
    """Runs ONE long-lived subprocess that prints a reading every interval (nvidia-smi -lms,
    macmon pipe, powermetrics). The child gets its own session, so a Ctrl-C to the terminal
    reaches only benchbench, which then terminates it; if benchbench dies, the child's next
    write fails on the closed pipe and it exits."""

    separator: ClassVar[bytes] = b"\n"
    startup_grace_s: ClassVar[float] = 1.5

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_tail = ""
        self._latest = 0.0
        self._arrived = threading.Condition()

    @abstractmethod
    def command(self) -> list[str]:
        """The streaming command line."""

    @abstractmethod
    def parse(self, chunk: bytes, received_s: float) -> list[Reading]:
        """Readings from one record of output (a line, or a NUL-separated plist)."""

    def spawn(self) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=die_with_parent())
        except OSError as exc:
            raise SamplerUnavailable(f"cannot start {self.command()[0]}: {exc}") from None

    def _records(self, stream: IO[bytes]) -> Iterator[bytes]:
        buf = b""
        fd = stream.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                if buf.strip():
                    yield buf
                return
            buf += data
            *done, buf = buf.split(self.separator)
            yield from (d for d in done if d.strip())

    def _loop(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for chunk in self._records(self.proc.stdout):
            now = time.monotonic()
            try:
                readings = self.parse(chunk, now)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                self._note_error(PowerError(f"unparsable output {chunk[:80]!r}: {exc}"))
                continue
            if readings:
                self.polls += 1
                self.store(readings, now)
                with self._arrived:
                    self._latest = max([now] + [r.t_s for r in readings if r.t_s is not None])
                    self._arrived.notify_all()
            if self._stop.is_set():
                break
        if not self._stop.is_set():
            try:  # the pipe closes a moment before the process can be reaped
                code: int | None = self.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                code = None
            self._collect_stderr()
            self.ended_early = f"{self.command()[0]} ended (exit {code}): {self.stderr_tail}"
            self._note_error(PowerError(self.ended_early))

    def _collect_stderr(self) -> None:
        if self.proc is not None and self.proc.stderr is not None and self.proc.poll() is not None:
            try:
                self.stderr_tail = self.proc.stderr.read().decode(errors="replace").strip()[-300:]
            except (OSError, ValueError):
                pass

    def wait_past(self, t_s: float) -> None:
        deadline = time.monotonic() + 1.5 * self.interval_s + 0.2
        with self._arrived:
            while self._latest < t_s and self.alive:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._arrived.wait(left)

    def _halt(self) -> None:
        terminate(self.proc)

    def close(self) -> None:
        terminate(self.proc)
        for pipe in (self.proc.stdout, self.proc.stderr) if self.proc else ():
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL the child when benchbench dies, even by SIGKILL (a sampler
    that never writes would otherwise never notice the closed pipe); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:   # the parent died before prctl took effect
            os._exit(1)

    return preexec


def terminate(proc: subprocess.Popen[bytes] | None, timeout_s: float = 2.0) -> None:
    """SIGTERM, then SIGKILL after timeout_s; always reaps the child."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout_s)
    except OSError:
        pass
