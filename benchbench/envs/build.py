"""Building an environment: a virtual environment made by the standard library's venv (or uv), the
requirements installed by pip (or uv), one builder at a time (a file lock), the marker written last.
A failed build leaves nothing behind but its log, and fails with one line naming the requirement."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import BenchError
from . import store
from .pip_errors import failed_requirement
from .spec import EnvSpec

INSTALLER_VARIABLE = "BENCHBENCH_ENV_INSTALLER"   # auto (uv when on PATH, else pip) | pip | uv
STATUS_EVERY_S = 15.0
Say = Callable[[str], None]


class EnvBuildError(BenchError):
    """An environment could not be built; the message names the requirement that failed."""


def installer() -> str:
    """`uv` when asked for or (auto) on PATH, else `pip`."""
    choice = os.environ.get(INSTALLER_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in ("auto", "pip", "uv"):
        raise EnvBuildError(f"{INSTALLER_VARIABLE}={choice!r}: use auto, pip or uv")
    if choice == "uv" and not shutil.which("uv"):
        raise EnvBuildError(f"{INSTALLER_VARIABLE}=uv but uv is not on PATH (pip install uv)")
    return "uv" if choice == "uv" or (choice == "auto" and shutil.which("uv")) else "pip"


def ensure(spec: EnvSpec, say: Say | None = None, root: Path | None = None) -> store.EnvInfo:
    """The ready environment for `spec`, built first when it is missing or incomplete."""
    say = say or (lambda text: None)
    folder = store.env_folder(spec, root)
    info = store.EnvInfo(folder, store.read_marker(folder))
    if info.ready:
        return info
    with _locked(folder, say, spec):
        info = store.EnvInfo(folder, store.read_marker(folder))
        if info.ready:   # another process built it while we waited
            return info
        return _build(spec, folder, say)


@contextlib.contextmanager
def _locked(folder: Path, say: Say, spec: EnvSpec) -> Iterator[None]:
    """An exclusive lock on `<root>/.locks/<folder>.lock` (fcntl; released when the process dies)."""
    import fcntl

    locks = folder.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{folder.name}.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"env {spec.name}: another benchbench is building {folder.name}; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build(spec: EnvSpec, folder: Path, say: Say) -> store.EnvInfo:
    tool = installer()
    interp = spec.interp
    if folder.exists():
        say(f"env {spec.name}: removing the incomplete {folder}")
        shutil.rmtree(folder)
    log = folder.parent / ".logs" / f"{folder.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    say(f"env {spec.name}: building {folder} with {tool} (Python {interp.version}): "
        + ", ".join(spec.requirements))
    t0 = time.monotonic()
    try:
        with open(log, "w", encoding="utf-8") as out:
            _venv(tool, interp.path, folder, out, say, spec.name)
            _install(tool, spec, folder, out, say)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    build_s = time.monotonic() - t0
    size = store.folder_bytes(folder)
    store.write_marker(folder, {**spec.to_dict(), "installer": tool, "build_s": round(build_s, 2),
                                "size_bytes": size, "log": str(log), "packages": store.installed(folder),
                                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    say(f"env {spec.name}: ready in {build_s:.0f} s ({store.human_bytes(size)}) at {folder}")
    return store.EnvInfo(folder, store.read_marker(folder))


def _venv(tool: str, python: str, folder: Path, out: Any, say: Say, name: str) -> None:
    if tool == "uv":
        cmd = ["uv", "venv", "--quiet", "--python", python, str(folder)]
    elif _pip_can_target():
        cmd = [python, "-m", "venv", "--without-pip", str(folder)]   # this pip installs into it
    else:
        cmd = [python, "-m", "venv", str(folder)]
    _run(cmd, out, say, name, "creating the virtual environment", folder)


def _install(tool: str, spec: EnvSpec, folder: Path, out: Any, say: Say) -> None:
    target = str(store.env_python(folder))
    constraints = folder / "benchbench-constraints.txt"
    constraints.write_text("".join(f"{c}\n" for c in spec.constraints), encoding="utf-8")
    if tool == "uv":
        cmd = ["uv", "pip", "install", "--python", target, "-c", str(constraints), *_uv_find_links()]
    elif _pip_can_target():
        cmd = [sys.executable, "-m", "pip", "--python", target, "install", "-c", str(constraints)]
    else:
        cmd = [target, "-m", "pip", "install", "-c", str(constraints)]
    if tool == "pip":
        cmd += ["--progress-bar", "off", "--disable-pip-version-check", "--no-input"]
    _run([*cmd, *spec.requirements], out, say, spec.name, "installing", folder, spec)


def _pip_can_target() -> bool:
    """This process's pip can install into another interpreter (`pip --python`, pip 22.3+)."""
    if importlib.util.find_spec("pip") is None:
        return False
    from importlib.metadata import version

    try:
        major, minor = (int(x) for x in version("pip").split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (22, 3)


def _uv_find_links() -> list[str]:
    """pip's PIP_FIND_LINKS for uv (which reads no pip configuration): local wheels stay local."""
    if os.environ.get("UV_FIND_LINKS"):
        return []
    return [arg for link in os.environ.get("PIP_FIND_LINKS", "").split() for arg in ("--find-links", link)]


def _run(cmd: list[str], out: Any, say: Say, name: str, what: str, folder: Path,
         spec: EnvSpec | None = None) -> None:
    """Run a build step with its output in the log; a progress line every STATUS_EVERY_S seconds
    (elapsed time and the installer's latest line); one-line errors naming the requirement."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["VIRTUAL_ENV"] = str(folder)
    lines: list[str] = []
    t0 = time.monotonic()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          text=True, errors="replace", env=env, start_new_session=True) as proc:
        reader = threading.Thread(target=_collect, args=(proc.stdout, out, lines), daemon=True)
        reader.start()
        try:
            while True:
                try:
                    code = proc.wait(timeout=STATUS_EVERY_S)
                    break
                except subprocess.TimeoutExpired:
                    latest = next((ln.strip() for ln in reversed(lines) if _informative(ln)), "")
                    say(f"env {name}: {what} ({time.monotonic() - t0:.0f} s) {latest[:100]}".rstrip())
        except BaseException:   # interrupted: stop the installer and its builds, then the folder goes
            _stop_group(proc)
            raise
        reader.join()
    out.flush()
    if code != 0:
        log = getattr(out, "name", "")
        culprit = failed_requirement(lines, spec.requirements if spec else ())
        raise EnvBuildError(f"environment `{name}` could not be built: {culprit or what + ' failed'}"
                            + (f" (full log: {log})" if log else ""))


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the installer's process group (pip runs builds in children), SIGKILL after 5 s."""
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _collect(stream: Any, out: Any, lines: list[str]) -> None:
    for line in stream:
        out.write(line)
        lines.append(line.rstrip("\n"))


def _informative(line: str) -> bool:
    """Not pip's notes about index folders that do not exist."""
    text = line.strip()
    return bool(text) and not text.startswith(("WARNING: Location", "WARNING: Running pip as"))
