"""The ledger database: schema and pragmas, atomic intervals, migration, snapshots and merging."""

from __future__ import annotations

import sqlite3

import pytest

from benchbench.errors import UserError
from benchbench.ledger import copy, store
from benchbench.ledger.store import Ledger, Tick, WorkRow


def new_ledger(path, machine="box", uuid="u-1"):
    led = Ledger(path)
    led.start_session(uuid, machine, "host", "boot", 1, 1000.0, 60.0, "0.1.0", {"roles": ["power"]})
    return led


def tick(seq, joules=100.0, tokens=10, t0=1000.0):
    return Tick(seq, t0 + 60 * seq, 60.0, energy=[("gpu0", joules, "counter"), ("system", joules + 50, "estimated")],
                work=[WorkRow("vllm@x", "m", 1, tokens, 0, tokens * 2, 1.5)], events=[(t0 + 60 * seq, "k", f"e{seq}")],
                state={"edge": {"mono_s": seq}})


def test_a_new_ledger_is_a_versioned_wal_database(tmp_path):
    path = tmp_path / "l.db"
    led = new_ledger(path)
    led.write([tick(0), tick(1)])
    conn = led.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2          # FULL: each interval on disk
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == store.APPLICATION_ID
    assert store.is_ledger(path)
    rows = conn.execute("SELECT seq, millijoules / 1e3 FROM energy JOIN names ON names.id = channel "
                        "WHERE name='gpu0'").fetchall()
    assert rows == [(0, 100.0), (1, 100.0)]
    assert conn.execute("SELECT count(*) FROM names").fetchone()[0] == 4   # gpu0, system, vllm@x, m: once each
    led.close()
    assert store.find_ledgers([tmp_path]) == [path]


def test_an_interval_is_written_whole_or_not_at_all(tmp_path):
    led = new_ledger(tmp_path / "l.db")
    led.write([tick(0)])
    bad = tick(1)
    bad.work.append(WorkRow("vllm@x", "m", 1, 1, 0, 1, 0.1))    # the same (source, model) twice: refused
    with pytest.raises(sqlite3.IntegrityError):
        led.write([bad])
    counts = [led.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("intervals", "energy", "work")]
    assert counts == [1, 2, 1]
    led.write([tick(1)])        # name ids cached in the failed transaction were forgotten
    assert led.conn.execute("SELECT count(*) FROM intervals").fetchone()[0] == 2
    assert led.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_other_files_and_newer_schemas_are_refused_in_one_line(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t(x)")
    with pytest.raises(UserError, match="is not a benchbench ledger"):
        Ledger(other)
    newer = tmp_path / "newer.db"
    Ledger(newer).close()
    c = sqlite3.connect(newer)
    c.execute(f"PRAGMA user_version={store.SCHEMA_VERSION + 1}")
    c.close()
    with pytest.raises(UserError, match="newer than this benchbench"):
        Ledger(newer)


def test_migrations_run_in_order_from_an_empty_file(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(store.MIGRATIONS, 2, lambda conn: (calls.append(2),
                                                           conn.execute("ALTER TABLE work ADD COLUMN x")))
    conn = store.open_ledger(tmp_path / "l.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2 and calls == [2]
    assert "x" in [r[1] for r in conn.execute("PRAGMA table_info(work)")]
    conn.close()
    store.open_ledger(tmp_path / "l.db").close()      # already current: nothing runs again
    assert calls == [2]


def test_snapshot_of_a_ledger_being_written_holds_the_newest_intervals(tmp_path):
    led = new_ledger(tmp_path / "l.db")
    led.write([tick(k) for k in range(5)])             # in the WAL, not yet checkpointed into the file
    snap = copy.snapshot(tmp_path / "l.db", tmp_path / "snap.db")
    c = sqlite3.connect(snap)
    assert c.execute("SELECT count(*) FROM intervals").fetchone()[0] == 5
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with pytest.raises(UserError, match="never overwrites"):
        copy.snapshot(tmp_path / "l.db", snap)
    led.close()


def test_merging_adds_only_what_is_new_and_never_rewrites(tmp_path):
    a = new_ledger(tmp_path / "a.db", "box-a", "ua")
    a.write([tick(0), tick(1)])
    b = new_ledger(tmp_path / "b.db", "box-b", "ub")
    b.write([tick(0, joules=7.0)])
    home = tmp_path / "home.db"
    assert copy.merge(tmp_path / "a.db", home)["intervals"] == 2
    assert copy.merge(tmp_path / "b.db", home)["intervals"] == 1
    a.write([tick(2)])
    a.stop_session(2000.0, "stopped")
    added = copy.merge(tmp_path / "a.db", home)
    assert added["intervals"] == 1 and added["sessions"] == 0 and added["events"] == 1
    assert copy.merge(tmp_path / "a.db", home) == dict.fromkeys(added, 0)
    c = sqlite3.connect(home)
    assert c.execute("SELECT stop_reason FROM sessions WHERE uuid='ua'").fetchone()[0] == "stopped"
    per = dict(c.execute("SELECT s.machine, sum(e.millijoules) / 1e3 FROM energy e JOIN sessions s ON s.id = e.session "
                         "JOIN names n ON n.id = e.channel WHERE n.name='gpu0' GROUP BY s.machine"))
    assert per == {"box-a": 300.0, "box-b": 7.0}
    a.close()
    b.close()
