"""The service definitions `benchbench watch --unit` prints: a systemd unit systemd itself accepts, and a
launchd property list, both running this very command (SIGTERM stops it cleanly: see test_ledger_watch)."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import subprocess

import pytest

ARGS = ("--vllm", "http://127.0.0.1:8000", "--proxy", "11435=http://127.0.0.1:11434", "--interval", "30",
        "--samplers", "nvml", "rapl", "--url", "shelly=http://192.168.1.50")


def test_systemd_unit_runs_this_watch_and_systemd_accepts_it(tmp_path, cli):
    code, text, err = cli("watch", *ARGS, "--ledger", tmp_path / "my 100% ledger.db", "--unit", "systemd")
    assert code == 0, err
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(text)
    start = unit["Service"]["ExecStart"]
    assert " watch --interval 30 --samplers nvml rapl --url shelly=http://192.168.1.50 --vllm " \
        "http://127.0.0.1:8000 --proxy 11435=http://127.0.0.1:11434" in start
    assert unit["Service"]["Restart"] == "always" and unit["Service"]["KillSignal"] == "SIGTERM"
    assert unit["Service"]["Environment"] == f"BENCHBENCH_LEDGER={tmp_path}/my 100%% ledger.db"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the unit was parsed, not verified by systemd")
    path = tmp_path / "benchbench-watch.service"
    path.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_launchd_plist_runs_this_watch(cli):
    code, text, _ = cli("watch", *ARGS, "--unit", "launchd")
    assert code == 0
    plist = plistlib.loads(text.encode())
    argv = plist["ProgramArguments"]
    assert argv[argv.index("watch") + 1:] == ["--interval", "30", "--samplers", "nvml", "rapl", "--url",
                                              "shelly=http://192.168.1.50", "--vllm", "http://127.0.0.1:8000",
                                              "--proxy", "11435=http://127.0.0.1:11434"]
    assert plist["KeepAlive"] is True and plist["RunAtLoad"] is True and plist["Label"] == "org.benchbench.watch"
    assert plist["EnvironmentVariables"]["BENCHBENCH_LEDGER"].endswith("benchbench/ledger.db")


def test_the_shipped_files_are_valid():
    from importlib import resources

    data = resources.files("benchbench").joinpath("data")
    plist = plistlib.loads(data.joinpath("org.benchbench.watch.plist").read_bytes())
    assert plist["ProgramArguments"][1] == "watch" and plist["KeepAlive"] is True
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(data.joinpath("benchbench-watch.service").read_text())
    assert unit["Service"]["ExecStart"] == "{exec_start}" and unit["Service"]["Restart"] == "always"
