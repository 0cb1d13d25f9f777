"""The worker protocol's framing: one JSON object per line, UTF-8, on two dedicated pipes (never on
stdout or stderr, which belong to the libraries). Standard library only: the worker imports this
inside an environment that holds none of benchbench's dependencies.

Parent → worker: {"op": "setup" | "run_once" | "check_run" | "devices" | "ping" | "teardown", ...}.
Worker → parent: zero or more events ({"event": "hello" | "start", ...}), then one reply
({"ok": true, ...} or {"ok": false, "error": {...}}) per request.
"""

from __future__ import annotations

import json
import os
import select
import time
from pathlib import Path
from typing import Any

VERSION = 1


class ChannelClosed(Exception):
    """The other side closed its end (it exited or died)."""


def _default(value: Any) -> Any:
    for method in ("item", "tolist"):      # numpy and torch scalars, then arrays and tensors
        if callable(getattr(value, method, None)):
            try:
                return getattr(value, method)()
            except (ValueError, TypeError, RuntimeError):
                continue
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def encode(message: dict[str, Any]) -> bytes:
    """One line; NaN and infinities are kept (Python's json reads them back)."""
    return json.dumps(message, default=_default, separators=(",", ":")).encode() + b"\n"


class Channel:
    """Line-delimited JSON over a pair of file descriptors."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        data = encode(message)
        while data:
            try:
                written = os.write(self.write_fd, data)
            except (BrokenPipeError, OSError) as exc:
                raise ChannelClosed(str(exc)) from None
            data = data[written:]

    def recv(self, timeout_s: float | None = None) -> dict[str, Any]:
        """The next message; ChannelClosed at end of file; TimeoutError after `timeout_s`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                    raise TimeoutError
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                raise ChannelClosed("end of file")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
