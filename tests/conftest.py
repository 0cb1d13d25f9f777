"""Shared fixtures: a CLI runner and small suite writers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Strict metrics: a backend emitting a name the registry (or its own `emits`) does not know fails the test that
# ran it (benchbench/metrics). Subprocesses inherit it.
os.environ.setdefault("BENCHBENCH_STRICT_METRICS", "1")


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit_code, stdout, stderr)."""
    from benchbench.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def write(tmp_path):
    """Write a dedented text file under tmp_path and return its path."""
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def run_subprocess(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "benchbench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)


TINY_LLM = """
  - name: tiny
    kind: llm
    backend: transformers
    architecture: tiny-llama
    weights: dummy
    device: cpu
    prompt_tokens: 16
    max_tokens: {max_tokens}
"""


def tiny_suite(write, name: str = "suite.yaml", warmups: int = 1, repetitions: int = 3,
               max_tokens: int = 4, extra: str = "") -> Path:
    """A suite running the tiny dummy-weight llama on CPU (seconds, no downloads)."""
    body = f"name: tiny\nwarmups: {warmups}\nrepetitions: {repetitions}\n" \
           f"power: {{samplers: [none]}}\nworkloads:\n"
    body += TINY_LLM.format(max_tokens=max_tokens).lstrip("\n")
    return write(name, body + extra)
