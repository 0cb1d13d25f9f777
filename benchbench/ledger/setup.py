"""Building a recorder from command-line choices, and running it until a signal stops it."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import UserError
from ..profile import resolve_profile
from ..redact import read_env
from .llamacpp import LlamaCppSource
from .recorder import Recorder
from .sources import Source
from .vllm import VllmSource

DEFAULT_INTERVAL_S = 60.0


def default_ledger() -> Path:
    """$BENCHBENCH_LEDGER, else $XDG_DATA_HOME/benchbench/ledger.db (~/.local/share/...)."""
    env = os.environ.get("BENCHBENCH_LEDGER")
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "benchbench" / "ledger.db"


def check_url(url: str, field: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"not an http(s) address: {url!r}", field=field, hint="e.g. http://127.0.0.1:8000")
    return url.rstrip("/")


def check_interval(value: float, field: str = "--interval") -> float:
    if not 0.05 <= value <= 3600:
        raise UserError(f"must be between 0.05 and 3600 seconds, found {value:g}", field=field)
    return float(value)


def parse_listen(text: str, field: str = "--listen") -> tuple[str, int]:
    """`PORT`, `HOST:PORT` or `[V6]:PORT`."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise UserError(f"not a port or HOST:PORT: {text!r}", field=field, hint="e.g. 127.0.0.1:11435")
    return host or "127.0.0.1", number


def machine_and_profile(ref: str | None) -> tuple[str, Any]:
    """The machine name (profile name, else the short host name) and the profile (or None)."""
    if ref:
        profile = resolve_profile(ref)
        return profile.name, profile
    return socket.gethostname().split(".")[0] or "localhost", None


def work_sources(llamacpp: list[str], vllm: list[str], api_key_env: str | None) -> list[Source]:
    if (llamacpp or vllm) and importlib.util.find_spec("prometheus_client") is None:
        raise UserError("reading a server's /metrics needs prometheus_client", field="--llamacpp/--vllm",
                        hint="pip install 'benchbench[ledger]'")
    if api_key_env and not read_env(api_key_env):   # read_env: its value is redacted everywhere
        raise UserError(f"environment variable {api_key_env} is not set", field="--api-key-env")
    out: list[Source] = [LlamaCppSource(check_url(u, "--llamacpp"), api_key_env) for u in llamacpp]
    out += [VllmSource(check_url(u, "--vllm"), api_key_env) for u in vllm]
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise UserError("the same server is given twice", field="--llamacpp/--vllm")
    return out


def run_until_signalled(recorder: Recorder, duration_s: float | None,
                        on_stop: Callable[[], None] | None = None) -> None:
    """Run the recorder; SIGTERM (systemd, launchd) and SIGINT stop it cleanly after writing the
    interval in progress."""
    def handler(signum: int, frame: Any) -> None:
        recorder.stop(f"stopped by {signal.Signals(signum).name}")

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                previous[sig] = signal.signal(sig, handler)
    try:
        recorder.run(duration_s)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        if on_stop is not None:
            on_stop()
