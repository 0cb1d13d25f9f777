"""Shared by tests/test_envs_*.py: the `version-probe` test backend registered, suites that use it,
and a script that runs benchbench with it registered (for tests that signal or kill the parent)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PROBE = "envprobe.backend:VersionProbe"
OLD = "iniconfig==1.1.1"   # pure Python; the main environment has iniconfig 2.x (pytest needs it)

RUN_WITH_PROBE = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from benchbench.workloads import REGISTRY
REGISTRY["tts"]["version-probe"] = {PROBE!r}
from benchbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def register_probe(monkeypatch: Any) -> None:
    from benchbench.workloads import REGISTRY

    monkeypatch.setitem(REGISTRY["tts"], "version-probe", PROBE)


def probe_entry(name: str, env: str = "none", **keys: Any) -> str:
    """One workload entry of the probe (YAML, two-space list indent)."""
    lines = [f"  - name: {name}", "    kind: tts", "    backend: version-probe", '    text: "hello there"',
             f"    env: {env}"]
    lines += [f"    {k}: {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def probe_suite(write: Any, *entries: str, warmups: int = 1, repetitions: int = 2,
                name: str = "suite.yaml") -> Path:
    head = f"name: envs-test\nwarmups: {warmups}\nrepetitions: {repetitions}\npower: {{samplers: [none]}}\nworkloads:\n"
    return write(name, head + "".join(entries))


def start_cli(args: list[str], env_root: Path, cwd: Path, **kw: Any) -> subprocess.Popen:
    """benchbench with the probe registered, in a new process (its own process group)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "BENCHBENCH_ENV_DIR": str(env_root)}
    env.update(kw.pop("env", {}))
    return subprocess.Popen([sys.executable, "-c", RUN_WITH_PROBE, *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)


def wait_for(predicate: Any, timeout_s: float = 60.0, every_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return False


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"
