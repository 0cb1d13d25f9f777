"""Streaming samplers: ONE long-lived subprocess printing a reading every interval (nvidia-smi -lms, macmon,
powermetrics), parsed record by record on a background thread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import IO, Any, ClassVar

from ..errors import PowerError
from .base import Reading, Sampler, SamplerUnavailable

PR_SET_PDEATHSIG = 1


class StreamSampler(Sampler):
    """Runs ONE long-lived subprocess that prints a reading every interval (nvidia-smi -lms,
    macmon pipe, powermetrics). The child gets its own session, so a Ctrl-C to the terminal
    reaches only benchbench, which then terminates it; if benchbench dies (even by SIGKILL), Linux
    kills the child with it (PR_SET_PDEATHSIG), and elsewhere its next write fails on the closed pipe."""

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
