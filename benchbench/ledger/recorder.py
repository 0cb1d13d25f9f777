"""The recorder behind `benchbench watch` and `benchbench proxy`: one interval after another.

Every `interval_s` (monotonic clock) it reads energy per channel and the work of every source,
labels the interval with the wall clock, and writes it in one transaction. What can go wrong, and
what it does (each case is also an event in the ledger):

- the wall clock steps (NTP, a manual change, a resume): the interval keeps its monotonic length and
  is labelled from the wall clock now; the step is recorded with its size;
- a write fails (disk full, read-only file system): intervals are kept in memory (up to
  MAX_PENDING) and written, flagged `written_late`, once the ledger can be written again;
- the recorder is killed (kill -9, a crash, power loss): the interval in progress is lost; the next
  recorder says so and, on the same boot, counts what the counters counted meanwhile as one `gap`
  interval (servers' token counters; energy counters that kept counting);
- a server restarts (its counters go back): see sources.py.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import UserError
from .power import PowerTap
from .sources import Collected, Source
from .store import CLOCK_STEP, FIRST, GAP, SOURCE_DOWN, WRITTEN_LATE, Ledger, Tick, WorkRow, describe_error

STEP_TOLERANCE_S = 2.0       # wall minus monotonic drift beyond this is a clock step
MAX_PENDING = 1440           # intervals held in memory while the ledger can't be written (a day at 60 s)


def boot_id() -> str | None:
    """This boot's id (Linux): monotonic readings of the same boot compare across processes."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


class Recorder:
    """Writes one session of intervals into a ledger. `tick()` may be driven by hand (tests)."""

    def __init__(self, ledger_path: Path | str, machine: str, interval_s: float = 60.0,
                 power: PowerTap | None = None, sources: list[Source] | None = None,
                 profile: dict[str, Any] | None = None, mono: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, say: Callable[[str], None] | None = None) -> None:
        self.ledger_path = Path(ledger_path).expanduser()
        self.machine = machine
        self.interval_s = float(interval_s)
        self.power = power
        self.sources = list(sources or [])
        self.profile = profile
        self.mono, self.wall = mono, wall
        self.say = say or (lambda text: print(f"watch: {text}", file=sys.stderr, flush=True))
        self.ledger: Ledger | None = None
        self.seq = 0
        self.pending: list[Tick] = []
        self.dropped = 0
        self.failing_since: tuple[float, str] | None = None
        self.stopping = threading.Event()
        self.stop_reason = "stopped"
        self.last_mono = self.last_wall = 0.0
        self.boot = boot_id()
        self._lock_fds: list[int] = []
        self._events: list[tuple[float, str, str]] = []
        self._restored: set[str] = set()

    @property
    def roles(self) -> list[str]:
        return (["power"] if self.power is not None else []) + [s.name for s in self.sources]

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Open the ledger and the sources, say what the previous recorder left, record the gap."""
        self.ledger = Ledger(self.ledger_path)
        try:
            self._lock_roles()
        except UserError:
            self.ledger.close()
            self.ledger = None
            raise
        config = {"roles": self.roles, "interval_s": self.interval_s, "profile": self.profile,
                  "sources": {s.name: s.info() for s in self.sources}}
        if self.power is not None:
            self._events += [(self.wall(), k, m) for k, m in self.power.start(self.interval_s)]
            config["channels"] = self.power.channels()
        self.ledger.start_session(str(uuid.uuid4()), self.machine, socket.gethostname(), self.boot, os.getpid(),
                                  self.wall(), self.interval_s, __version__, config)
        previous = self.ledger.previous_session(self.machine, set(self.roles))
        if self.power is not None:
            self.power.mark()
        self.last_mono, self.last_wall = self.mono(), self.wall()
        self._event("started", f"recording every {self.interval_s:g} s: {', '.join(self.roles) or 'nothing'}")
        gap = self._recover(previous) if previous else None
        for source in self.sources:
            if not (gap is not None and source.name in self._restored):
                self._events += [(self.wall(), k, m) for k, m in source.open()]
        first = gap or Tick(self.seq, self.last_wall, 0.0, FIRST)
        first.events += self._take_events()
        self._queue(first)
        self.seq += 1
        self.flush()

    def _recover(self, prev: dict[str, Any]) -> Tick | None:
        """Say how the previous recorder ended; on the same boot, the work and counted energy of the gap."""
        if prev["stopped_wall"] is None:
            end = prev["last_end_wall"]
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(end)) if end else "its start"
            self._event("recovered", f"the previous recorder (session {prev['uuid'][:8]}) ended without stopping "
                                     f"(killed, crashed or power lost) after its interval ending {when}; the "
                                     "interval it had in progress was not written")
        edge = prev["state"].get("edge") or {}
        if not edge or edge.get("boot_id") != self.boot or self.boot is None:
            if edge:
                self._event("gap", "the machine rebooted since the previous recorder: the time between is "
                                   "not recorded")
            return None
        span = self.last_mono - float(edge["mono_s"])
        if span <= 0:
            return None
        tick = Tick(self.seq, self.last_wall - span, span, GAP)
        if self.power is not None:
            tick.energy = self.power.gap(prev["state"].get("counters") or {}, self.last_mono, span)
        self._restored = set()
        for source in self.sources:
            state = prev["state"].get(f"source:{source.name}")
            if state:
                source.restore(state)
                got = _collect(source)
                tick.work += got.rows
                self._events += [(self.wall(), k, m) for k, m in got.events]
                self._restored.add(source.name)
        self._event("gap", f"{span:.0f} s without a recorder: counted from counters that kept counting "
                           f"({len(tick.energy)} energy channel(s), {len(self._restored)} source(s)); "
                           "energy of channels without a counter is not known for it")
        return tick

    def run(self, duration_s: float | None = None) -> None:
        """Tick every interval until stop() (or `duration_s`), then write the last partial interval."""
        self.start()
        t0 = self.mono()
        due = t0 + self.interval_s
        reason = "duration reached"
        try:
            while not self.stopping.is_set():
                end = t0 + duration_s if duration_s is not None else None
                wake = min(due, end) if end is not None else due
                if self.stopping.wait(max(0.0, wake - self.mono())):
                    reason = self.stop_reason
                    break
                if end is not None and self.mono() >= end:
                    break
                self.tick()
                due += self.interval_s
                if due < self.mono():       # fell behind (suspend, a slow source): skip, don't burst
                    due = self.mono() + self.interval_s
            if self.stopping.is_set():
                reason = self.stop_reason
        except BaseException as exc:
            reason = f"error: {type(exc).__name__}: {exc}"[:300]
            raise
        finally:
            self.close(reason)

    def stop(self, reason: str = "stopped") -> None:
        self.stop_reason = reason
        self.stopping.set()

    def close(self, reason: str) -> None:
        """Write the partial interval in progress, mark the session stopped, release everything."""
        if self.ledger is None:
            return
        try:
            if self.mono() - self.last_mono > 0.05:
                self.tick()
            else:
                self.flush()
            if self.pending:
                self.say(f"{len(self.pending)} interval(s) could not be written and are lost "
                         f"({self.failing_since[1] if self.failing_since else 'write failed'})")
            else:
                self.ledger.event(self.wall(), "stopped", reason)
                self.ledger.stop_session(self.wall(), reason)
        except sqlite3.Error as exc:
            self.say(f"could not mark the session stopped ({describe_error(exc)})")
        finally:
            for source in self.sources:
                source.close()
            if self.power is not None:
                self.power.stop()
            self.ledger.close()
            self.ledger = None
            self._unlock()

    # --- one interval ---------------------------------------------------------------------
    def tick(self) -> Tick:
        """Close the interval now: energy, work, labels; write it (or keep it while writes fail)."""
        mono, wall = self.mono(), self.wall()
        span = mono - self.last_mono
        step = (wall - self.last_wall) - span
        tick = Tick(self.seq, wall - span, span)
        if abs(step) > STEP_TOLERANCE_S:
            tick.flags |= CLOCK_STEP
            self._event("clock_step", f"the wall clock stepped {step:+.1f} s during this interval; its "
                                      f"length ({span:.1f} s) comes from the monotonic clock, its label from "
                                      "the wall clock now")
        if self.power is not None:
            tick.energy, events = self.power.energy(self.last_mono, mono)
            self._events += [(wall, k, m) for k, m in events]
            tick.state["counters"] = self.power.counters()
        for source in self.sources:
            got = _collect(source)
            tick.work += got.rows
            self._events += [(wall, k, m) for k, m in got.events]
            state = source.state()
            if state:
                tick.state[f"source:{source.name}"] = state
        tick.state["edge"] = {"mono_s": mono, "wall_s": wall, "boot_id": self.boot}
        tick.events += self._take_events()
        self.last_mono, self.last_wall = mono, wall
        self.seq += 1
        self._queue(tick)
        self.flush()
        return tick

    def _queue(self, tick: Tick) -> None:
        self.pending.append(tick)
        if len(self.pending) > MAX_PENDING:
            self.dropped += 1
            self.pending.pop(0)

    def flush(self) -> bool:
        """Write every pending interval in one transaction; False (and kept) when the ledger refuses."""
        if not self.pending or self.ledger is None:
            return True
        if self.failing_since is not None:
            since, why = self.failing_since
            n = len(self.pending)
            for t in self.pending:
                t.flags |= WRITTEN_LATE
            note = (f"could not write the ledger ({why}) from {_utc(since)} to {_utc(self.wall())}: "
                    f"{n} interval(s) were held in memory and are written late")
            if self.dropped:
                note += f"; {self.dropped} older interval(s) did not fit in memory and are lost"
            self.pending[-1].events.append((self.wall(), "write_resumed", note))
        try:
            self.ledger.write(self.pending)
        except Exception as exc:  # noqa: BLE001 - sqlite3.Error or OSError: keep the intervals, retry later
            if self.failing_since is not None:
                self.pending[-1].events.pop()
            else:
                self.failing_since = (self.wall(), describe_error(exc))
                self.say(f"cannot write the ledger {self.ledger_path} ({self.failing_since[1]}): holding "
                         f"intervals in memory (up to {MAX_PENDING}) and retrying every interval")
            return False
        if self.failing_since is not None:
            self.say(f"the ledger is writable again; {len(self.pending)} interval(s) written late")
        self.pending, self.failing_since, self.dropped = [], None, 0
        return True

    # --- events and locks -----------------------------------------------------------------
    def _event(self, kind: str, message: str) -> None:
        self._events.append((self.wall(), kind, message))

    def _take_events(self) -> list[tuple[float, str, str]]:
        out, self._events = self._events, []
        return out

    def _lock_roles(self) -> None:
        """One recorder per role (power, each source) and ledger: two would count the same twice.
        A lock file per role beside the ledger, held with flock (released by the kernel on any exit)."""
        try:
            import fcntl
        except ImportError:   # no flock (Windows): nothing to guard with
            return
        folder = self.ledger_path.with_name(self.ledger_path.name + ".locks")
        folder.mkdir(exist_ok=True)
        for role in self.roles:
            fd = os.open(folder / f"{zlib.crc32(role.encode()):08x}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                self._unlock()
                raise UserError(f"another recorder already records `{role}` into this ledger",
                                file=str(self.ledger_path), hint="stop it first, or use another --ledger") from None
            self._lock_fds.append(fd)

    def _unlock(self) -> None:
        for fd in self._lock_fds:
            os.close(fd)
        self._lock_fds = []


def _collect(source: Source) -> Collected:
    """A source's work; an unexpected failure is a `down` row and an event, never the recorder's end."""
    try:
        return source.collect()
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others being recorded
        return Collected([WorkRow(source.name, "", flags=SOURCE_DOWN)],
                         [("source_error", f"{source.name}: {type(exc).__name__}: {exc}"[:300])])


def _utc(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(wall))
