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


# --- a real llama.cpp: llama-server, llama-bench, a tiny GGUF (usage: tests/llamacpp_helpers.py) ---------

LLAMACPP_FIXTURES = {"llamacpp_bin", "tiny_gguf", "llama_server", "llama_server_factory"}
_llamacpp: dict[str, object] = {}


def pytest_collection_finish(session):
    """Build llama.cpp once, before any test's timeout starts, when a selected test needs it."""
    if session.config.option.collectonly or not any(
            LLAMACPP_FIXTURES & set(getattr(item, "fixturenames", ())) for item in session.items):
        return
    from llamacpp_helpers import binaries, build_dir

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and not (build_dir() / "build-info.json").exists() and not os.environ.get(
            "BENCHBENCH_LLAMACPP_BIN"):
        reporter.write_line("building llama-server and llama-bench once for this machine "
                            f"(about 15 min on 2 cores) into {build_dir()}")
    try:
        _llamacpp["bin"] = binaries()
    except RuntimeError as exc:
        _llamacpp["skip"] = f"no llama.cpp: {exc}"


@pytest.fixture(scope="session")
def llamacpp_bin():
    """{"llama-server": path, "llama-bench": path, "src": llama.cpp tree}; skips with the reason."""
    if "bin" not in _llamacpp and "skip" not in _llamacpp:
        from llamacpp_helpers import binaries
        try:
            _llamacpp["bin"] = binaries()
        except RuntimeError as exc:
            _llamacpp["skip"] = f"no llama.cpp: {exc}"
    if "skip" in _llamacpp:
        pytest.skip(str(_llamacpp["skip"]))
    return _llamacpp["bin"]


@pytest.fixture(scope="session")
def tiny_gguf(llamacpp_bin):
    """Path of the tiny random-weight llama GGUF (cached per machine)."""
    pytest.importorskip("tokenizers", reason="the tiny GGUF's tokenizer is trained with `tokenizers`")
    from llamacpp_helpers import make_tiny_gguf

    return make_tiny_gguf(llamacpp_bin["src"] or None)


@pytest.fixture(scope="session")
def llama_server_factory(llamacpp_bin, tiny_gguf):
    """start(n_parallel=1, ctx_size=4096, threads=1, extra=(), model=tiny_gguf) → a running LlamaServer, one
    per distinct set of arguments for the whole session; all stopped at the end."""
    import json

    from llamacpp_helpers import LlamaServer

    servers: dict[str, LlamaServer] = {}

    def start(model=None, **kwargs) -> LlamaServer:
        key = json.dumps([str(model), kwargs], sort_keys=True, default=str)
        server = servers.get(key)
        if server is None or server.proc is None or server.proc.poll() is not None:
            servers[key] = server = LlamaServer(llamacpp_bin["llama-server"], model or tiny_gguf, **kwargs).start()
        return server

    yield start
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def llama_server(llama_server_factory):
    """A llama-server with one slot and --metrics, shared by the session (don't kill it: make your own
    LlamaServer for that)."""
    return llama_server_factory()
