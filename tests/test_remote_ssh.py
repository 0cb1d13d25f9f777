"""Remote runs against a real OpenSSH server on 127.0.0.1 (see remote_helpers.py): two aliases
with different machine profiles in parallel, gathering, an unreachable host, an unknown host
key, remote failures, an interrupt, and shell injection attempts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from remote_helpers import SshServer, why_no_sshd, write_profile, write_suite

from benchbench.cli import main as cli

pytestmark = pytest.mark.skipif(why_no_sshd() is not None, reason=why_no_sshd() or "")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = SshServer(tmp_path_factory.mktemp("sshd")).start()
    yield srv
    srv.stop()


@pytest.fixture
def env(server, tmp_path, monkeypatch):
    """This process talks only to the test server: temp HOME, ssh config, no agent."""
    values = server.env(tmp_path / "home")
    (tmp_path / "home").mkdir()
    for key in ("SSH_AUTH_SOCK", "BENCHBENCH_KNOWN_HOSTS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "proj"
    write_profile(folder / "machines", "box-a", 0.2)
    write_profile(folder / "machines", "box-b", 0.3)
    return folder


def records(folder: Path) -> dict[str, dict]:
    return {str(p.relative_to(folder)): json.loads(p.read_text()) for p in sorted(folder.rglob("*.json"))}


@pytest.fixture(scope="module")
def two_hosts(server, tmp_path_factory):
    """One suite on alpha (profile box-a) and beta (box-b) at the same time."""
    base = tmp_path_factory.mktemp("two")
    (base / "home").mkdir()
    folder = base / "proj"
    write_profile(folder / "machines", "box-a", 0.2)
    write_profile(folder / "machines", "box-b", 0.3)
    suite = write_suite(folder)
    env = server.env(base / "home")
    env["BENCHBENCH_REMOTE_DIR"] = str(server.folder / "two hosts")   # its own, for the gather test
    done = subprocess.run([sys.executable, "-m", "benchbench", "run", str(suite), "--host", "alpha=box-a",
                           "--host", "beta=box-b", "--results", str(base / "results")],
                          env=env, cwd=base, capture_output=True, text=True, timeout=120)
    return done, base / "results", Path(env["BENCHBENCH_REMOTE_DIR"])


def test_two_hosts_in_parallel_both_machines_records_arrive(two_hosts):
    done, results, remote_dir = two_hosts
    assert done.returncode == 0, done.stderr
    got = records(results)
    by_machine = {r["machine"]["name"]: r for r in got.values()}
    assert set(by_machine) == {"box-a", "box-b"}
    for name, rec in by_machine.items():
        assert rec["status"] == "complete" and rec["suite"]["name"] == "tiny"
        assert [it["warmup"] for it in rec["iterations"]] == [False, False]
        assert all(it["metrics"]["output_tokens"] == 4 for it in rec["iterations"])
        assert rec["machine"]["profile"]["name"] == name
        # the prompt file was uploaded and read there
        assert rec["workload"]["params"]["prompt_file"] == f"{remote_dir}/suites/tiny/prompts/hello.txt"
    assert by_machine["box-b"]["machine"]["profile"]["electricity_per_kwh"] == 0.3
    assert sorted(got) == sorted(f"{r['machine']['name']}/tiny/{r['run_id']}.json" for r in got.values())
    # in parallel: each host's run started before the other finished
    a, b = by_machine["box-a"], by_machine["box-b"]
    assert a["started_at"] < b["finished_at"] and b["started_at"] < a["finished_at"]
    # progress lines streamed with the host in front; the summary lists both machines
    for host in ("alpha", "beta"):
        assert f"[{host}] [tiny-llama] iteration 2/2 (measured)" in done.stderr
        assert f"[{host}] gathered 1 new record(s)" in done.stderr
    assert "alpha: complete (machine box-a); 1 record(s) gathered" in done.stdout
    assert "box-b    tiny-llama" in done.stdout


def test_gather_skips_present_records_and_never_overwrites(two_hosts, env, tmp_path, capsys, monkeypatch):
    _, results, remote_dir = two_hosts
    monkeypatch.setenv("BENCHBENCH_REMOTE_DIR", str(remote_dir))
    remote_results = remote_dir / "results"
    rec_a = next((remote_results / "box-a" / "tiny").glob("*.json"))
    (rec_a.parent / f"{rec_a.stem}.it0.wav").write_bytes(b"RIFF fake audio")
    before = {p: p.read_bytes() for p in results.rglob("*.json")}
    local_a = next(p for p in before if p.name == rec_a.name)
    local_a.write_text(local_a.read_text().replace('"complete"', '"complete" '))   # a local edit
    assert cli(["gather", "alpha", "--results", str(results)]) == 0
    out = capsys.readouterr()
    assert "[alpha] 0 new record(s) copied" in out.err and "2 already here" in out.err
    assert local_a.read_text().count('"complete" ') == 1          # not overwritten
    assert not (local_a.parent / f"{rec_a.stem}.it0.wav").exists()  # skipped with its record
    # into an empty folder: both records, with the side file, from HOST:PATH
    fresh = tmp_path / "fresh"
    assert cli(["gather", f"alpha:{remote_results}", "--results", str(fresh), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["hosts"][0]["copied"]) == 2 and report["hosts"][0]["side_files_copied"] == 1
    assert (fresh / "box-a" / "tiny" / f"{rec_a.stem}.it0.wav").read_bytes() == b"RIFF fake audio"
    assert {p.name for p in fresh.rglob("*.json")} == {p.name for p in before}
    assert cli(["gather", "beta:no/such/folder", "--results", str(fresh)]) == 1
    assert "no folder 'no/such/folder'" in capsys.readouterr().err


def test_unknown_host_key_is_a_one_line_error(env, project, tmp_path, capsys, monkeypatch):
    suite = write_suite(project)
    assert cli(["run", str(suite), "--host", "stranger", "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("[stranger] error: host key of 127.0.0.1:")
    assert "unknown or changed" in err and "accept it once with `ssh stranger`" in err
    assert "Traceback" not in err and not (tmp_path / "r").exists()
    assert cli(["gather", "stranger", "--results", str(tmp_path / "r")]) == 2
    # BENCHBENCH_KNOWN_HOSTS replaces the config's known_hosts: an empty one trusts nobody
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("BENCHBENCH_KNOWN_HOSTS", str(empty))
    assert cli(["gather", "alpha", "--results", str(tmp_path / "r")]) == 2
    assert "unknown or changed" in capsys.readouterr().err


def test_failures_are_reported_and_other_hosts_go_on(env, project, tmp_path, capsys, monkeypatch):
    """nowhere: unreachable; beta: no benchbench there; alpha: runs, but its workload fails there
    (a device that host lacks: bad input found while running, exit 2 there)."""
    monkeypatch.setenv("BENCHBENCH_REMOTE_CMD_BETA", "/nonexistent/bin/benchbench")
    suite = write_suite(project, name="fails", device="cuda:7")
    code = cli(["run", str(suite), "--host", "nowhere", "--host", "beta=box-b", "--host", "alpha=box-a",
                "--results", str(tmp_path / "r"), "--json"])
    out = capsys.readouterr()
    assert code == 2
    hosts = {h["host"]: h for h in json.loads(out.out)["hosts"]}
    assert hosts["nowhere"]["status"] == "failed"
    assert "cannot reach 127.0.0.1:" in hosts["nowhere"]["error"] and "refused" in hosts["nowhere"]["error"]
    assert hosts["beta"]["status"] == "failed" and "benchbench not found on beta" in hosts["beta"]["error"]
    assert hosts["alpha"]["status"] == "error" and hosts["alpha"]["remote_exit"] == 2
    assert "device 'cuda:7' is not here" in hosts["alpha"]["error"]
    (path,) = hosts["alpha"]["records"]
    rec = json.loads(Path(path).read_text())
    assert rec["status"] == "failed" and rec["machine"]["name"] == "box-a" and rec["errors"]
    assert Path(path).parent == tmp_path / "r" / "box-a" / "fails"
    assert "[nowhere] failed:" in out.err and "[beta] failed:" in out.err


def test_injection_attempts_stay_plain_text(env, project, tmp_path, capsys, server):
    """A workload name full of shell syntax goes through --only; the remote folder has quotes too."""
    assert "'" in str(server.remote_dir) and "$HOME" in str(server.remote_dir)
    marker = tmp_path / "pwned"
    name = f"tiny; touch {marker} $(touch {marker}2) `touch {marker}3` 'q\""
    suite = write_suite(project, name="inject")
    data = yaml.safe_load(suite.read_text())
    data["workloads"][0]["name"] = name
    suite.write_text(yaml.safe_dump(data))
    code = cli(["run", str(suite), "--host", "alpha=box-a", "--only", name, "--results", str(tmp_path / "r")])
    assert code == 0, capsys.readouterr().err
    assert not list(tmp_path.glob("pwned*"))
    (rec,) = records(tmp_path / "r").values()
    assert rec["workload"]["name"] == name and rec["status"] == "complete"
    assert rec["workload"]["params"]["prompt_file"].startswith(str(server.remote_dir))


def test_dry_run_and_a_profile_the_host_rejects(env, project, tmp_path, capsys):
    suite = write_suite(project, name="plan")
    assert cli(["run", str(suite), "--host", "alpha=box-a", "--dry-run", "--results", str(tmp_path / "r")]) == 0
    out = capsys.readouterr()
    assert "[alpha] - tiny-llama: llm/transformers, available: yes" in out.err
    assert "alpha: complete (machine box-a)" in out.out and not (tmp_path / "r").exists()
    # a profile unknown here is passed on by name; the host does not know it either
    assert cli(["run", str(suite), "--host", "alpha=no-such-box", "--results", str(tmp_path / "r")]) == 2
    out = capsys.readouterr()
    assert "[alpha] error: rejected there: error: " in out.err and "no machine profile named" in out.err


def test_interrupt_stops_the_remote_run_and_gathers_what_finished(server, project, tmp_path):
    suite = write_suite(project, name="long", repetitions=500, max_tokens=64)
    (tmp_path / "home").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "benchbench", "run", str(suite), "--host", "alpha=box-a",
                             "--results", str(tmp_path / "r")], env=server.env(tmp_path / "home"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        seen.append(line)
        if "iteration 3/500" in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "[alpha] sending SIGINT to the remote run" in err
    (rec,) = records(tmp_path / "r").values()
    assert rec["status"] == "interrupted" and rec["finished_at"]      # the remote handler ran
    assert 3 <= len(rec["iterations"]) < 500
    assert "alpha: interrupted (machine box-a); 1 record(s) gathered" in out
    assert not _processes_running(str(server.remote_dir / "suites" / "long"))


def _processes_running(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args)
    return found
