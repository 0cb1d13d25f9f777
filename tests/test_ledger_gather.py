"""`benchbench gather HOST --ledger` against a real OpenSSH server on 127.0.0.1 (remote_helpers.py): the
host's ledger, being written, arrives merged into ledgers/<host>.db; gathering again adds only what is
new; the host keeps no copy behind."""

from __future__ import annotations

import json
import os
import pwd
import sqlite3

import pytest
from remote_helpers import SshServer, why_no_sshd
from test_ledger_report import write_ledger

from benchbench.cli import main as cli
from benchbench.ledger.store import Ledger, Tick

pytestmark = pytest.mark.skipif(why_no_sshd() is not None, reason=why_no_sshd() or "")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = SshServer(tmp_path_factory.mktemp("sshd")).start()
    yield srv
    srv.stop()


@pytest.fixture
def env(server, tmp_path, monkeypatch):
    (tmp_path / "home").mkdir()
    for key in ("SSH_AUTH_SOCK", "BENCHBENCH_KNOWN_HOSTS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in server.env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    return server


def test_gather_brings_the_ledger_home_and_then_only_what_is_new(env, tmp_path, capsys):
    remote = env.remote_dir / "ledger on the host.db"
    write_ledger(remote)
    writer = Ledger(remote)                          # the host's recorder keeps writing meanwhile
    writer.start_session("u-live", "p40", "h", "b", 2, 0.0, 60, "v", {"roles": ["power"]})
    writer.write([Tick(0, 1.74e9, 60.0, energy=[("system", 5.0, "counter")])])
    home = tmp_path / "ledgers"
    assert cli(["gather", "alpha", "--ledger", str(remote), "--ledgers", str(home), "--results",
                str(tmp_path / "results")]) == 0
    err = capsys.readouterr().err
    assert "[alpha] ledger: 91 new interval(s), 2 new session(s)" in err
    merged = home / "alpha.db"
    c = sqlite3.connect(merged)
    assert c.execute("SELECT count(*) FROM intervals").fetchone()[0] == 91
    c.close()
    writer.write([Tick(1, 1.74e9 + 60, 60.0, energy=[("system", 5.0, "counter")])])
    assert cli(["gather", "alpha", "--ledger", str(remote), "--ledgers", str(home), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["hosts"][0]
    assert row["ledger"]["added"]["intervals"] == 1 and row["ledger"]["added"]["sessions"] == 0
    writer.close()
    remote_home = pwd.getpwuid(os.geteuid()).pw_dir             # where the ssh session starts
    leftovers = [p for p in os.listdir(remote_home) if p.startswith(".benchbench-ledger-")]
    assert leftovers == []                              # the snapshot was removed from the host
    assert not list(home.glob(".ledger-*"))             # and no partial download stayed here


def test_a_missing_remote_ledger_fails_that_host_only(env, tmp_path, capsys):
    code = cli(["gather", "alpha", "--ledger", str(env.remote_dir / "none.db"), "--ledgers", str(tmp_path / "l")])
    err = capsys.readouterr().err
    assert code == 1 and "ledger snapshot failed on the host" in err and "no such ledger" in err
