"""Remote runs without a server: host specs, quoting, the uploaded suite copy, gathering rules."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from remote_helpers import write_profile, write_suite

from benchbench.cli import main as cli
from benchbench.errors import UserError
from benchbench.remote import bundle as bundle_mod
from benchbench.remote import hosts, pull, run, session, shell
from benchbench.suite import load_suite

NASTY = ["x; touch {m}", "$(touch {m})", "`touch {m}`", "it's \"quoted\"", "a\nb", "--machine=evil", "~root"]


@pytest.mark.parametrize("text,host,user,profile", [
    ("p40", "p40", None, None),
    ("me@strix.lan", "strix.lan", "me", None),
    ("p40=p40-server", "p40", None, "p40-server"),
    ("me@10.0.0.5=machines/x.yaml", "10.0.0.5", "me", "machines/x.yaml"),
])
def test_host_specs(text, host, user, profile):
    spec = hosts.parse_host(text)
    assert (spec.host, spec.user, spec.profile, spec.name) == (host, user, profile, text.split("=")[0])


@pytest.mark.parametrize("text", ["a;touch x", "-oProxyCommand=sh", "a b", "", "@host", "p40=", "a$(id)"])
def test_bad_host_specs_are_one_line_errors(text):
    with pytest.raises(UserError) as err:
        hosts.parse_host(text)
    assert "\n" not in str(err.value) and "--host" in str(err.value)


def test_gather_targets():
    spec, path = hosts.parse_target("me@box:/srv/results")
    assert (spec.user, spec.host, path) == ("me", "box", "/srv/results")
    assert hosts.parse_target("box") == (hosts.HostSpec("box", "box"), None)
    with pytest.raises(UserError):
        hosts.parse_target("box:")


def test_same_host_twice_with_two_profiles_is_refused():
    assert len(hosts.parse_hosts(["a=x", "a=x", "b"])) == 2
    with pytest.raises(UserError, match="given twice"):
        hosts.parse_hosts(["a=x", "a=y"])


def test_remote_command_from_environment(monkeypatch):
    spec = hosts.parse_host("p40-box")
    assert hosts.remote_command(spec) == ["benchbench"]
    monkeypatch.setenv("BENCHBENCH_REMOTE_CMD", "~/venv/bin/benchbench")
    monkeypatch.setenv("BENCHBENCH_REMOTE_CMD_P40_BOX", "env X='a b' /opt/bb/bin/benchbench")
    assert hosts.remote_command(spec) == ["env", "X=a b", "/opt/bb/bin/benchbench"]
    assert hosts.remote_command(hosts.parse_host("other")) == ["~/venv/bin/benchbench"]
    monkeypatch.setenv("BENCHBENCH_REMOTE_DIR", "~/bb")
    assert hosts.remote_dir() == "bb"


def test_command_line_passes_every_word_verbatim_through_a_real_shell(tmp_path):
    marker = tmp_path / "pwned"
    words = [w.format(m=marker) for w in NASTY]
    line = shell.command_line(["printf", "%s\\0", *words], cwd=str(tmp_path / "dir with 'quote'"))
    (tmp_path / "dir with 'quote'").mkdir()
    out = subprocess.run(["sh", "-c", line], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [w.encode() for w in words]
    assert not marker.exists()


def test_tilde_still_means_the_remote_home(tmp_path):
    line = shell.command_line(["printf", "%s", "~/bin/benchbench"])
    out = subprocess.run(["sh", "-c", line], capture_output=True, check=True,
                         env={"HOME": "/home/x y", "PATH": "/usr/bin:/bin"}).stdout
    assert out == b"/home/x y/bin/benchbench"


def test_pid_marker_and_signal_command():
    line = shell.command_line(["true"], announce_pid=True)
    out = subprocess.run(["sh", "-c", line], capture_output=True, check=True).stderr.decode()
    assert shell.parse_pid(out) is not None and shell.parse_pid("[x] 12") is None
    assert shell.signal_command(1234, "INT") == "kill -INT -- -1234 2>/dev/null || kill -INT 1234"
    for bad in ((1, "INT"), (5, "HUP; rm -rf /")):
        with pytest.raises(ValueError):
            shell.signal_command(*bad)


def test_json_after_login_noise():
    assert session.json_output('Welcome to p40!\n{\n "benchbench": "0.1.0"\n}\n') == {"benchbench": "0.1.0"}
    with pytest.raises(ValueError):
        session.json_output("bash: benchbench: command not found\n")


def test_version_compatibility():
    assert session.version_ok("0.1.0", "0.1.7")
    assert not session.version_ok("0.1.0", "0.2.0")
    assert session.version_ok("1.2.0", "1.9.1+local")
    assert not session.version_ok("1.2.0", "2.0.0")
    assert not session.version_ok("0.1.0", "garbage")


def test_bundle_rewrites_file_references_and_drops_hosts(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    other = tmp_path / "elsewhere" / "long prompt.txt"
    other.write_text("A longer prompt.\n")
    path = write_suite(tmp_path / "proj", extra=(
        "  - name: second\n    kind: llm\n    backend: transformers\n    architecture: tiny-llama\n"
        "    weights: dummy\n    device: cpu\n    max_tokens: 2\n"
        f"    matrix:\n      prompt_file: [prompts/hello.txt, '{other}']\n"))
    text = path.read_text().replace("name: tiny\n", "name: tiny\nhosts: [a, b=x]\nmachine: p40-server\n", 1)
    hello_abs = (tmp_path / "proj" / "prompts" / "hello.txt").resolve()
    text = text.replace("[prompts/hello.txt,", f"['{hello_abs}', prompts/hello.txt,")   # one file, two ways
    path.write_text(text)
    suite = load_suite(path)
    b = bundle_mod.build_bundle(suite)
    data = yaml.safe_load(b.suite_text)
    assert "hosts" not in data and "machine" not in data
    uploaded = {rel: local for local, rel in b.files}
    assert len(uploaded) == 3 and len(b.files) == 3
    # inside the suite folder: same text, same place; outside: a copy under _uploaded/
    hello = (tmp_path / "proj" / "prompts" / "hello.txt").resolve()
    assert data["workloads"][0]["prompt_file"] == "prompts/hello.txt" and uploaded["prompts/hello.txt"] == hello
    absolute, relative, moved = data["workloads"][1]["matrix"]["prompt_file"]
    assert relative == "prompts/hello.txt" and absolute.startswith("_uploaded/") and uploaded[absolute] == hello
    assert moved.startswith("_uploaded/") and moved.endswith("-long_prompt.txt") and uploaded[moved] == other
    # the copy is a valid suite where it lands, with the files beside it
    remote = tmp_path / "remote" / b.folder
    for rel, local in uploaded.items():
        (remote / rel).parent.mkdir(parents=True, exist_ok=True)
        (remote / rel).write_bytes(local.read_bytes())
    (remote / b.suite_name).write_text(b.suite_text)
    copy = load_suite(remote / b.suite_name)
    assert [w.name for w in copy.workloads][::2] == [w.name for w in suite.workloads][::2]
    assert Path(copy.workloads[0].params["prompt_file"]).read_text() == "Say hello to the home lab.\n"
    assert copy.hosts == [] and copy.machine is None


def test_profiles_found_here_are_uploaded(tmp_path):
    suite = load_suite(write_suite(tmp_path))
    write_profile(tmp_path / "machines", "box-a")
    local, rel = bundle_mod.profile_upload("box-a", suite)
    assert local == (tmp_path / "machines" / "box-a.yaml").resolve() and rel == "machines/box-a.yaml"
    assert bundle_mod.profile_upload("only-known-there", suite) is None
    with pytest.raises(UserError):
        bundle_mod.profile_upload("missing.yaml", suite)


def test_records_and_their_side_files():
    files = sorted(["a.json", "a.power.csv", "a.it0.wav", "a.it0.json", "b.json", "ab.json", "notes.txt"])
    assert pull.records_and_sidecars(files) == {
        "a.json": ["a.it0.json", "a.it0.wav", "a.power.csv"], "ab.json": [], "b.json": []}


def test_destination_comes_from_the_record(tmp_path):
    rec = {"type": "run", "machine": {"name": "p40 server"}, "suite": {"name": "llm/basics"}}
    assert pull.destination(rec, "x.json", tmp_path, "anything") == tmp_path / "p40_server" / "llm_basics" / "x.json"
    idle = {"type": "idle", "machine": {"name": ".."}}
    assert pull.destination(idle, "i.json", tmp_path, "r/m/idle") == tmp_path / "workload" / "idle" / "i.json"


def test_link_never_overwrites(tmp_path):
    dest = tmp_path / "r.json"
    assert pull._place_bytes(b"first", dest)
    assert not pull._place_bytes(b"second", dest)
    assert dest.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]       # no temporary file left


def test_exit_code_precedence():
    def o(status):
        return session.HostOutcome(host="h", status=status)
    assert run.exit_code([o("complete"), o("complete")]) == 0
    assert run.exit_code([o("complete"), o("failed")]) == 1
    assert run.exit_code([o("failed"), o("error")]) == 2
    assert run.exit_code([o("error"), o("interrupted")]) == 130


def test_cli_input_errors_exit_2_before_connecting(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BENCHBENCH_SSH_CONFIG", str(tmp_path / "missing_config"))
    suite = write_suite(tmp_path)
    assert cli(["run", str(suite), "--host", "a;reboot"]) == 2
    assert "not a host" in capsys.readouterr().err
    monkeypatch.delenv("BENCHBENCH_SSH_CONFIG")
    assert cli(["run", str(suite), "--host", "a", "--machine", "p40-server"]) == 2
    assert "NAME=PROFILE" in capsys.readouterr().err
    assert cli(["run", str(suite), "--host", "a", "--only", "nope"]) == 2
    assert "no workload named" in capsys.readouterr().err
    monkeypatch.setenv("BENCHBENCH_SSH_CONFIG", str(tmp_path / "missing_config"))
    assert cli(["run", str(suite), "--host", "a"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ssh config not found" in err
    bad = tmp_path / "hosts.yaml"
    bad.write_text(suite.read_text() + "hosts: ['x y']\n")
    assert cli(["run", str(bad)]) == 2
    assert f"{bad}: hosts: not a host" in capsys.readouterr().err
    assert cli(["gather", "box:"]) == 2


def test_doctor_section_lists_the_settings(tmp_path, monkeypatch):
    from benchbench.remote import doctor_section

    cfg = tmp_path / "config"
    cfg.write_text("Host box\n  HostName 127.0.0.1\n  Port 2222\n  User me\n")
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    monkeypatch.setenv("BENCHBENCH_SSH_CONFIG", str(cfg))
    monkeypatch.setenv("BENCHBENCH_KNOWN_HOSTS", str(kh))
    suite = write_suite(tmp_path)
    suite.write_text(suite.read_text() + "hosts: [box=p40-server]\n")
    rows = doctor_section(str(suite))["remote"]
    assert rows[0]["ssh_config"] == str(cfg) and rows[0]["known_hosts"] == str(kh)
    assert rows[1] == {"host": "box", "profile": "p40-server", "command": "benchbench",
                       "target": "me@127.0.0.1:2222", "host_key_known": False}
    json.dumps(rows)
