"""Environments built for real with venv and pip from the package index: the conflict check (one package
in two versions, one suite), one-line build errors, locking, `benchbench env`, and the worker dying
with its parent (SIGKILL, SIGTERM, Ctrl-C)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from importlib.metadata import version

import pytest
from env_helpers import OLD, ROOT, pid_alive, probe_entry, probe_suite, register_probe, start_cli, wait_for

from benchbench.envs import build, store
from benchbench.envs.spec import EnvSpec, shared_pins
from benchbench.record import load_records

OLD_ENV = "{requirements: [" + OLD + "], name: probe-old}"


@pytest.fixture(scope="session")
def env_root(tmp_path_factory):
    """One cache for the session: the probe environment is built once (about 2 s)."""
    return tmp_path_factory.mktemp("envs")


@pytest.fixture
def envs(env_root, monkeypatch):
    monkeypatch.setenv("BENCHBENCH_ENV_DIR", str(env_root))
    monkeypatch.setenv("BENCHBENCH_ENV_INSTALLER", "pip")
    register_probe(monkeypatch)
    return env_root


def _records(folder) -> dict[str, dict]:
    return {r["workload"]["name"]: r for r in load_records([folder]) if r.get("type", "run") == "run"}


def test_one_package_in_two_versions_in_one_suite(envs, write, cli, tmp_path):
    main_version = version("iniconfig")
    assert main_version != OLD.split("==")[1]
    suite = probe_suite(write, probe_entry("in-process"), probe_entry("in-env", env=OLD_ENV))
    code, out, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    recs = _records(tmp_path / "r")
    here, there = recs["in-process"], recs["in-env"]
    assert here["status"] == there["status"] == "complete"
    assert here["workload"]["facts"]["version_seen"] == main_version
    facts = there["workload"]["facts"]
    assert facts["version_seen"] == "1.1.1" and facts["module_file"].startswith(str(envs))
    assert facts["env"]["name"] == "probe-old" and facts["env"]["holds"] == {"iniconfig": "1.1.1"}
    assert facts["env"]["constraints"] == list(shared_pins())
    assert all(it["raw"]["version_seen"] == "1.1.1" for it in there["iterations"])
    assert len(there["iterations"]) == len(here["iterations"]) == 3
    assert there["workload"]["params"]["env"] == {"requirements": [OLD], "name": "probe-old"}


def test_env_list_create_remove(envs, cli):
    code, out, err = cli("env", "create", "probe-old", "-r", OLD)
    assert code == 0, err
    (line,) = out.splitlines()
    name_key, state, path = line.split()
    assert state == "ready" and path.startswith(str(envs)) and name_key.startswith("probe-old-")
    code, out, _ = cli("env", "list", "--json")
    listed = {e["name"]: e for e in json.loads(out)["environments"]}
    assert listed["probe-old"]["holds"] == {"iniconfig": "1.1.1"} and listed["probe-old"]["status"] == "ready"
    code, out, _ = cli("env", "list")
    assert f"{name_key}  ready  Python" in out and "holds iniconfig 1.1.1" in out
    made = EnvSpec("scratch", ("iniconfig==1.1.0",), origin="created")
    build.ensure(made)
    code, out, _ = cli("env", "remove", "scratch")
    assert code == 0 and out.strip() == f"removed {envs / made.dirname}" and not (envs / made.dirname).exists()
    code, _, err = cli("env", "remove", "scratch")
    assert code == 2 and "no environment named 'scratch'" in err


def test_env_create_builds_what_a_suite_needs(envs, write, cli):
    suite = probe_suite(write, probe_entry("here"), probe_entry("there", env=OLD_ENV),
                        probe_entry("again", env=OLD_ENV))
    code, out, err = cli("env", "create", suite)
    assert code == 0, err
    (line,) = out.splitlines()     # one environment, however many workloads use it
    assert line.startswith("probe-old-") and " ready " in line
    code, out, err = cli("env", "create", probe_suite(write, probe_entry("here"), name="local.yaml"))
    assert code == 0 and out == "" and "every workload runs in this process; nothing to build" in err


def test_a_named_environment_made_by_env_create(envs, write, cli, tmp_path):
    code, _, err = cli("env", "create", "old-ini", "-r", OLD)
    assert code == 0, err
    suite = probe_suite(write, probe_entry("named", env="old-ini"), warmups=0, repetitions=1)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    assert _records(tmp_path / "r")["named"]["workload"]["facts"]["version_seen"] == "1.1.1"
    suite = probe_suite(write, probe_entry("unknown", env="nobody-made-this"), name="s2.yaml")
    code, _, err = cli("run", suite, "--results", tmp_path / "r2")
    assert code == 2 and "env: no environment named `nobody-made-this`" in err


def test_a_requirement_that_does_not_exist_is_one_line_and_the_suite_goes_on(envs, write, cli, tmp_path):
    bad = "{requirements: [iniconfig==99.0.0]}"
    suite = probe_suite(write, probe_entry("missing", env=bad), probe_entry("fine"), warmups=0, repetitions=1)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 1
    recs = _records(tmp_path / "r")
    (error,) = recs["missing"]["errors"]
    assert error["type"] == "EnvBuildError"
    assert error["message"].startswith("environment `version-probe` could not be built: iniconfig==99.0.0: "
                                       "no such version on the package index (versions there: ")
    assert "1.1.1" in error["message"] and "(full log: " in error["message"]
    assert recs["fine"]["status"] == "complete"
    assert not [p for p in envs.iterdir() if p.name.startswith("version-probe-")]   # nothing half-built


def test_conflicting_requirements_name_both(envs, cli):
    code, _, err = cli("env", "create", "clash", "-r", "iniconfig==1.1.1", "-r", "iniconfig==2.0.0")
    assert code == 1
    (line,) = err.strip().splitlines()[-1:]
    assert "could not be built: conflicting requirements: The user requested iniconfig==1.1.1; " \
           "The user requested iniconfig==2.0.0" in line


def test_a_second_builder_waits_for_the_first(envs, env_root, tmp_path):
    spec = EnvSpec("locked", (OLD,), constraints=shared_pins((OLD,)), origin="created")   # as `env create`
    folder = store.env_folder(spec, env_root)
    (env_root / ".locks").mkdir(exist_ok=True)
    with open(env_root / ".locks" / f"{folder.name}.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = start_cli(["env", "create", "locked", "-r", OLD], env_root, tmp_path,
                         env={"BENCHBENCH_ENV_INSTALLER": "pip"})
        assert wait_for(lambda: _lines_so_far(proc), 60), "the second builder did not say it was waiting"
        build._build(spec, folder, lambda text: None)   # the first builder, holding the lock
        created = store.read_marker(folder)["created_at"]
        fcntl.flock(held, fcntl.LOCK_UN)
        out, rest = proc.communicate(timeout=60)
    err = _seen.pop(proc.pid, "") + rest
    assert proc.returncode == 0, err
    assert "another benchbench is building" in err and "building /" not in err   # it reused, never built
    assert store.read_marker(folder)["created_at"] == created and out.split()[1] == "ready"


_seen: dict[int, str] = {}


def _lines_so_far(proc: subprocess.Popen) -> bool:
    """True once the child's stderr says it is waiting (reads what is there without blocking long)."""
    import select

    if select.select([proc.stderr], [], [], 0.05)[0]:
        _seen[proc.pid] = _seen.get(proc.pid, "") + os.read(proc.stderr.fileno(), 4096).decode()
    return "waiting for it" in _seen.get(proc.pid, "")


def test_an_incomplete_environment_is_rebuilt(envs, env_root):
    spec = EnvSpec("half", (OLD,), origin="created")
    folder = store.env_folder(spec, env_root)
    folder.mkdir(parents=True)
    (folder / "leftover").write_text("from a build that was killed")
    said: list[str] = []
    info = build.ensure(spec, said.append, env_root)
    assert info.ready and not (folder / "leftover").exists()
    assert any("removing the incomplete" in s for s in said)


# --- the worker dies with its parent ---------------------------------------------------------------

def _start_hanging_run(env_root, write, tmp_path, extra_env=None):
    pid_file = tmp_path / "worker.pid"
    suite = probe_suite(write, probe_entry("hang", env=OLD_ENV, hang_at=1, pid_file=str(pid_file)),
                        warmups=1, repetitions=2)
    proc = start_cli(["run", suite, "--results", tmp_path / "r"], env_root, tmp_path, env=extra_env or {})
    folder = tmp_path / "r"
    assert wait_for(lambda: any(r["iterations"] for r in load_records([folder])) if folder.exists() else False,
                    120), proc.stderr.read() if proc.poll() is not None else "no iteration finished"
    worker = int(pid_file.read_text())
    assert pid_alive(worker)
    return proc, worker


@pytest.mark.parametrize("pdeathsig", ["1", "0"], ids=["prctl", "watchdog"])
def test_sigkill_of_the_parent_leaves_no_worker(envs, env_root, write, tmp_path, pdeathsig):
    proc, worker = _start_hanging_run(env_root, write, tmp_path, {"BENCHBENCH_WORKER_PDEATHSIG": pdeathsig})
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert wait_for(lambda: not pid_alive(worker), 5), f"worker {worker} outlived its parent"


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_interrupting_the_parent_stops_the_worker_and_keeps_finished_iterations(envs, env_root, write,
                                                                                tmp_path, how):
    proc, worker = _start_hanging_run(env_root, write, tmp_path)
    if how == "SIGTERM":
        os.kill(proc.pid, signal.SIGTERM)
    else:   # the terminal sends SIGINT to the whole foreground group: the worker ignores it
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + (signal.SIGTERM if how == "SIGTERM" else signal.SIGINT), err   # 143, 130
    assert not pid_alive(worker)
    (rec,) = load_records([tmp_path / "r"])
    assert rec["status"] == "interrupted" and [it["index"] for it in rec["iterations"]] == [0]


def test_worker_bootstrap_does_not_expose_the_main_environment(envs, env_root):
    """The worker sees benchbench, and neither the main environment's packages nor PYTHONPATH."""
    info = build.ensure(EnvSpec("probe-old", (OLD,), constraints=shared_pins(), origin="suite"), None, env_root)
    from benchbench.envs.process import BOOT, PACKAGE_DIR

    code = "import sys,importlib.util as u;print(u.find_spec('yaml') is None, u.find_spec('pytest') is None)"
    boot = BOOT.replace("from benchbench.envs.worker import main;sys.exit(main(sys.argv[2:]))", code)
    out = subprocess.run([str(store.env_python(info.path)), "-s", "-c", boot, str(PACKAGE_DIR)], text=True,
                         capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, check=True)
    assert out.stdout.split() == ["True", "True"] and sys.executable not in out.stdout


def test_interrupting_a_build_stops_the_installer_and_leaves_nothing(envs, env_root, tmp_path):
    """A local package whose build sleeps: SIGTERM while pip builds it stops pip and its build process."""
    pkg = tmp_path / "slowpkg"
    pkg.mkdir()
    pid_file = tmp_path / "build.pid"
    (pkg / "setup.py").write_text(
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)\n"
        "from setuptools import setup\nsetup(name='slowpkg', version='1.0')\n")
    proc = start_cli(["env", "create", "slow", "-r", f"slowpkg @ {pkg.as_uri()}"], env_root, tmp_path,
                     env={"BENCHBENCH_ENV_INSTALLER": "pip"})
    assert wait_for(pid_file.exists, 120), proc.communicate(timeout=5)
    builder = int(pid_file.read_text())
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert wait_for(lambda: not pid_alive(builder), 10), "the package build outlived benchbench"
    assert not [p for p in env_root.iterdir() if p.name.startswith("slow-")]
