"""Environment specs and keys, the suite's `env:` value, choosing where a workload runs, and the
one-line reading of pip's and uv's real failure output (tests/fixtures/pip/ and uv/)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from env_helpers import probe_entry, probe_suite, register_probe

from benchbench.envs import backend_env, choose_env
from benchbench.envs.pip_errors import failed_requirement
from benchbench.envs.spec import EnvSpec, Interpreter, satisfied_here, shared_pins
from benchbench.envs.store import holds, required_versions
from benchbench.errors import UserError
from benchbench.suite import load_suite
from benchbench.workloads import get_backend

FIXTURES = Path(__file__).parent / "fixtures"


def _spec(reqs=("a==1",), cons=(), interp=("/usr/bin/python3.11", "3.11.7")) -> EnvSpec:
    spec = EnvSpec("x", tuple(reqs), tuple(cons))
    spec.__dict__["interp"] = Interpreter(*interp)   # what cached_property would have found
    return spec


def test_key_names_the_contents_not_their_order():
    assert _spec(("a==1", "b==2")).key() == _spec(("b==2", "a==1")).key() == _spec(("a==1", "b==2", "a==1")).key()
    assert len(_spec().key()) == 12 and _spec().dirname == f"x-{_spec().key()}"
    others = [_spec(("a==2",)), _spec(cons=("torch==2.13.0",)), _spec(interp=("/usr/bin/python3.11", "3.11.8")),
              _spec(interp=("/opt/python3.12", "3.11.7"))]
    assert len({_spec().key(), *(s.key() for s in others)}) == 5


def test_torch_is_pinned_to_this_environments_release():
    pins = shared_pins(("qwen-tts==0.1.1",))
    assert pins == (f"torch=={version('torch').split('+')[0]}",) and "+" not in pins[0]
    assert shared_pins(("torch==2.9.1",)) == () and shared_pins(("Torch>=2",)) == ()


def test_satisfied_here_reads_installed_versions():
    have = version("iniconfig")
    assert satisfied_here((f"iniconfig=={have}", "pytest>=8"))
    assert not satisfied_here(("iniconfig==1.1.1",))
    assert not satisfied_here(("no-such-distribution-here==1",))
    assert satisfied_here(("iniconfig==1.1.1; python_version < '3'",))   # marker false: not needed


def test_where_a_workload_runs():
    qwen = get_backend("tts", "qwen3-tts")
    espeak = get_backend("tts", "espeak-ng")
    declared = backend_env(qwen)
    assert declared.name == "qwen3-tts" and "transformers==4.57.3" in declared.requirements
    assert declared.constraints == shared_pins()
    assert choose_env({}, qwen) == declared == choose_env({"env": "auto"}, qwen)
    assert choose_env({"env": "qwen3-tts"}, qwen) == declared
    assert choose_env({"env": "none"}, qwen) is None and choose_env({}, espeak) is None
    inline = choose_env({"env": {"requirements": ["iniconfig==1.1.1"], "python": "3.11"}}, espeak)
    assert (inline.name, inline.requirements, inline.python, inline.origin) == \
        ("espeak-ng", ("iniconfig==1.1.1",), "3.11", "suite")
    assert inline.constraints == shared_pins()
    with pytest.raises(UserError, match="no environment named `mine`"):
        choose_env({"env": "mine"}, espeak)


def test_an_environment_that_satisfies_the_backend_runs_it_here(monkeypatch):
    probe = type("Probe", (get_backend("tts", "espeak-ng"),), {"env_requirements": ("iniconfig>=2",)})
    assert choose_env({}, probe) is None
    assert choose_env({"env": "espeak-ng"}, probe) is not None   # asked by name: always its own


@pytest.mark.parametrize("value,line,message", [
    ("{requirements: []}", 10, "env.requirements: must list at least one requirement"),
    ("{requirement: [a]}", 10, "env.requirement: unknown key `requirement` (did you mean `requirements`?)"),
    ("{requirements: ['iniconfig=1']}", 10, "env.requirements: 'iniconfig=1' is not a requirement"),
    ("{requirements: ['-e .']}", 10, "env.requirements: '-e .' : options are not requirements"),
    ("{requirements: [a], name: Big}", 10, "env.name: 'Big' is not an environment name"),
    ("My Env", 10, "env: 'My Env' is neither `auto`, `none` nor an environment name"),
    ("[a, b]", 10, "env: must be a string or a mapping"),
])
def test_bad_env_values_are_one_line(monkeypatch, write, value, line, message):
    register_probe(monkeypatch)
    path = probe_suite(write, probe_entry("p", env=value))
    with pytest.raises(UserError) as info:
        load_suite(path)
    assert info.value.line == line and message.replace(" : ", ": ") in info.value.one_line()


def test_env_in_a_matrix_compares_in_process_with_a_worker(monkeypatch, write):
    register_probe(monkeypatch)
    path = probe_suite(write, probe_entry("p") + "    matrix:\n      env: [none, auto]\n")
    names = [w.name for w in load_suite(path).workloads]
    assert names == ["p[env=none]", "p[env=auto]"]


def test_versions_an_environment_holds():
    packages = {"qwen-tts": "0.1.1", "transformers": "4.57.3", "torch": "2.13.0+cpu"}
    assert required_versions(["Qwen_TTS==0.1.1", "missing>=1"], packages) == {"qwen-tts": "0.1.1", "missing": None}
    marker = {"requirements": ["qwen-tts==0.1.1", "transformers==4.57.3"],
              "constraints": ["torch==2.13.0", "numpy<3"]}
    assert holds(marker, packages) == {"qwen-tts": "0.1.1", "transformers": "4.57.3", "torch": "2.13.0+cpu"}


@pytest.mark.parametrize("fixture,expected", [
    ("pip/no-such-version.txt", "iniconfig==99.0.0: no such version on the package index "
                                "(versions there: ..., 1.1.1, 2.0.0, 2.1.0, 2.2.0, 2.3.0, 2.3.1)"),
    ("pip/no-such-package.txt", "no-such-package-benchbench-xyz: not on the package index"),
    ("pip/conflict.txt", "conflicting requirements: The user requested iniconfig==1.1.1; "
                         "The user requested iniconfig==2.0.0"),
    ("pip/transitive-conflict.txt", "conflicting requirements: The user requested transformers==4.0.0; "
                                    "qwen-tts 0.1.1 depends on transformers==4.57.3"),
    ("pip/build-failure.txt", "./brokenpkg: building it from source failed: this package cannot be built here"),
    ("uv/no-such-version.txt", "iniconfig==99.0.0: no such version on the package index"),
    ("uv/no-such-package.txt", "no-such-package-benchbench-xyz: not on the package index"),
    ("uv/conflict.txt", "conflicting requirements: you require iniconfig==1.1.1 and iniconfig==2.0.0"),
    ("uv/transitive-conflict.txt", "conflicting requirements: qwen-tts>=0.1.1 depends on transformers==4.57.3 "
                                   "and you require qwen-tts==0.1.1, we can conclude that you require "
                                   "transformers==4.57.3. And because you require transformers==4.0.0"),
    ("uv/build-failure.txt", "brokenpkg @ file:///tmp/brokenpkg: building it from source failed: "
                             "this package cannot be built here"),
])
def test_installer_failures_name_the_requirement(fixture, expected):
    """Outputs captured from pip 23.2 and uv 0.13 (the folder of the environment replaced by ENV)."""
    lines = (FIXTURES / fixture).read_text(encoding="utf-8").splitlines()
    assert failed_requirement(lines) == expected


def test_anything_else_is_the_last_error_line():
    assert failed_requirement(["something odd", "error: the disk is full"]) == "error: the disk is full"
    assert failed_requirement(["all fine"]) is None
