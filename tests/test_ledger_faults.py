"""Faults: a server restarted mid-interval, a source that can't be read, the wall clock stepped back,
the recorder killed with SIGKILL, a full or read-only disk, an energy counter that resets. Each
keeps the ledger consistent, loses at most the interval in progress, and is said in an event."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ledger_helpers import HERE, FakeLlamaCpp, FakeVllm, replay_tap

from benchbench.errors import UserError
from benchbench.ledger import store
from benchbench.ledger.llamacpp import LlamaCppSource
from benchbench.ledger.power import PowerTap
from benchbench.ledger.recorder import Recorder
from benchbench.ledger.vllm import VllmSource
from benchbench.power.base import Channel, PollingSampler, Reading
from benchbench.power.monitor import PowerMonitor


def chat(url: str, model: str, words: int = 3, n: int = 1) -> None:
    for _ in range(n):
        r = httpx.post(url + "/v1/chat/completions", timeout=10, json={
            "model": model, "messages": [{"role": "user", "content": "go on " * words}], "max_tokens": 20})
        assert r.status_code == 200


def q(path: Path, sql: str, *args):
    c = sqlite3.connect(path)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def events(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, msg in q(path, "SELECT kind, message FROM events ORDER BY wall"):
        out.setdefault(kind, []).append(msg)
    return out


def output(path: Path) -> int:
    return q(path, "SELECT coalesce(sum(output_tokens), 0) FROM work")[0][0]


@pytest.mark.parametrize("kind", ["vllm", "llamacpp"])
def test_a_server_restarted_mid_interval_loses_only_what_it_served_before_the_restart(tmp_path, kind):
    fake_cls, source_cls = (FakeVllm, VllmSource) if kind == "vllm" else (FakeLlamaCpp, LlamaCppSource)
    path = tmp_path / "l.db"
    with fake_cls() as fake:
        rec = Recorder(path, "box", 60, sources=[source_cls(fake.url)])
        rec.start()
        chat(fake.url, fake.models[0], n=3)          # A: 60 tokens, read at the next edge
        rec.tick()
        chat(fake.url, fake.models[0], n=1)          # B: 20 tokens, lost with the old process
        fake.restart()
        chat(fake.url, fake.models[0], n=2)          # C: 40 tokens, counted from the restart on
        rec.tick()
        rec.close("stopped")
    assert output(path) == 60 + 40
    flags = q(path, "SELECT seq, flags FROM work ORDER BY seq")
    assert flags[0][1] & store.COUNTER_RESET == 0 and flags[1][1] & store.COUNTER_RESET
    said = events(path)["counter_reset"][0]
    assert "restarted" in said and "lost (at most one interval)" in said
    assert q(path, "PRAGMA integrity_check")[0][0] == "ok"


def test_a_source_that_cannot_be_read_catches_up_without_losing_anything(tmp_path):
    path = tmp_path / "l.db"
    with FakeVllm() as fake:
        rec = Recorder(path, "box", 60, sources=[VllmSource(fake.url)])
        rec.start()
        chat(fake.url, fake.models[0], n=1)
        rec.tick()
        fake.metrics_down = True
        chat(fake.url, fake.models[0], n=2)
        rec.tick()
        rec.tick()
        fake.metrics_down = False
        chat(fake.url, fake.models[0], n=1)
        rec.tick()
        rec.close("stopped")
    assert output(path) == 80
    rows = q(path, "SELECT seq, output_tokens, flags FROM work ORDER BY seq")
    assert [(s, f & store.SOURCE_DOWN != 0) for s, _, f in rows] == [(1, False), (2, True), (3, True), (4, False)]
    assert rows[-1][1] == 60 and rows[-1][2] & store.CATCH_UP
    said = events(path)
    assert len(said["source_down"]) == 1 and "HTTP 503" in said["source_down"][0] and said["source_up"]


def test_the_wall_clock_stepped_back_keeps_lengths_and_says_so(tmp_path):
    offset = [0.0]
    path = tmp_path / "l.db"
    tap, sampler = replay_tap()
    rec = Recorder(path, "box", 60, power=tap, wall=lambda: time.time() + offset[0])
    rec.start()
    t_first = rec.last_mono
    for k in range(4):
        time.sleep(0.1)
        if k == 2:
            offset[0] = -3600.0              # NTP (or a person) set the clock back an hour
        rec.tick()
    t_last = rec.last_mono
    rec.close("stopped")
    rows = q(path, "SELECT seq, start_ms / 1e3, span_us / 1e6, flags FROM intervals ORDER BY seq")
    stepped = [r for r in rows if r[3] & store.CLOCK_STEP]
    assert len(stepped) == 1 and stepped[0][0] == 3
    assert 0.09 < stepped[0][2] < 1.0                               # its length: monotonic, not -3600 s
    assert stepped[0][1] < rows[2][1] - 3000                         # its label: the wall clock now
    assert sum(r[2] for r in rows) == pytest.approx(rec.last_mono - t_first, abs=0.01)
    assert "stepped -3600" in events(path)["clock_step"][0]
    j = q(path, "SELECT sum(millijoules) / 1e3 FROM energy JOIN names n ON n.id = channel WHERE n.name='gpu0'")[0][0]
    assert j == pytest.approx(sampler.truth_j(t_first, t_last), rel=1e-6, abs=0.02)    # nothing counted twice


def _child(path: Path, url: str, trace_t0: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{HERE.parent}{os.pathsep}{HERE}"}
    return subprocess.Popen([sys.executable, str(HERE / "ledger_helpers.py"), str(path), "box", "0.25", url,
                             repr(trace_t0)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_intervals(path: Path, n: int, session: int | None = None, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            sql = "SELECT count(*) FROM intervals" + (f" WHERE session={session}" if session else "")
            if q(path, sql)[0][0] >= n:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} intervals after {timeout_s} s")


def test_kill_9_loses_no_counted_work_and_the_next_recorder_says_what_happened(tmp_path):
    from ledger_helpers import ReplaySampler

    path = tmp_path / "l.db"
    trace_t0 = time.monotonic()
    with FakeVllm() as fake:
        child = _child(path, fake.url, trace_t0)
        _wait_intervals(path, 3)
        chat(fake.url, fake.models[0], n=2)
        _wait_intervals(path, 6)
        chat(fake.url, fake.models[0], n=1)           # perhaps in the interval in progress: killed with it
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert q(path, "PRAGMA integrity_check")[0][0] == "ok"
        # every interval written is whole: its energy rows are there
        assert q(path, "SELECT count(*) FROM intervals i WHERE i.seq > 0 AND NOT EXISTS (SELECT 1 FROM energy e "
                       "WHERE e.session = i.session AND e.seq = i.seq)")[0][0] == 0
        chat(fake.url, fake.models[0], n=2)           # served while no recorder runs
        child = _child(path, fake.url, trace_t0)
        _wait_intervals(path, 3, session=2)
        child.send_signal(signal.SIGTERM)
        assert child.wait(10) == 0, child.stderr.read().decode()
        served = fake.served["output"]
    assert output(path) == served == 100                  # the gap was counted from the server's counters
    said = events(path)
    assert "ended without stopping" in said["recovered"][0] and said["gap"]
    gap = q(path, "SELECT span_us / 1e6, flags FROM intervals WHERE session=2 AND seq=0")[0]
    assert gap[1] & store.GAP and gap[0] > 0
    # energy: the counter chain runs across the kill (the gap from the counter), so the total is the trace's
    t_end = json.loads(q(path, "SELECT value FROM state WHERE session=2 AND key='edge'")[0][0])["mono_s"]
    j = q(path, "SELECT sum(millijoules) / 1e3 FROM energy JOIN names n ON n.id = channel WHERE n.name='gpu0'")[0][0]
    assert j == pytest.approx(ReplaySampler(t0=trace_t0).truth_j(_first_edge(path), t_end), rel=1e-3)
    assert q(path, "SELECT stop_reason FROM sessions ORDER BY id") == [(None,), ("stopped by SIGTERM",)]


def _first_edge(path: Path) -> float:
    """The monotonic time the first recorder started at: its first edge minus the intervals' lengths."""
    # session 1's state holds its last edge; its intervals' lengths lead back to its start
    last = json.loads(q(path, "SELECT value FROM state WHERE session=1 AND key='edge'")[0][0])["mono_s"]
    spans = q(path, "SELECT sum(span_us) / 1e6 FROM intervals WHERE session=1")[0][0]
    return last - spans


# --- the disk -----------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB tmpfs (needs root): full and read-only for real, not emulated."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def _run_through_a_fault(path: Path, break_it, fix_it) -> tuple[list[str], Recorder]:
    said: list[str] = []
    with FakeVllm() as fake:
        tap, _ = replay_tap()
        rec = Recorder(path, "box", 60, power=tap, sources=[VllmSource(fake.url)], say=said.append)
        rec.start()
        for k in range(12):
            if k == 3:
                break_it()
            if k == 8:
                fix_it()
            chat(fake.url, fake.models[0], n=1)
            rec.tick()
            if 3 <= k < 8:
                assert rec.pending, "a write into a broken ledger must not succeed"
        rec.close("stopped")
    return said, rec


def _check_nothing_lost(path: Path, why: str, said: list[str]) -> None:
    assert q(path, "PRAGMA integrity_check")[0][0] == "ok"
    seqs = [r[0] for r in q(path, "SELECT seq FROM intervals ORDER BY seq")]
    assert seqs == list(range(len(seqs))) and len(seqs) >= 13       # every interval, none twice
    late = [r[0] for r in q(path, "SELECT seq FROM intervals WHERE flags & ? ORDER BY seq", store.WRITTEN_LATE)]
    assert late == [4, 5, 6, 7, 8, 9]
    assert output(path) == 12 * 20
    resumed = events(path)["write_resumed"][0]
    assert why in resumed and "5 interval(s) were held in memory" in resumed or "6 interval(s)" in resumed
    assert any(why in s and "holding intervals in memory" in s for s in said)
    assert any("writable again" in s for s in said)


def test_a_full_disk_holds_intervals_in_memory_and_writes_them_late(small_disk):
    path = small_disk / "l.db"
    filler: list[Path] = []
    said, _ = _run_through_a_fault(path, lambda: filler.append(_fill(small_disk)), lambda: filler[0].unlink())
    _check_nothing_lost(path, "disk full", said)


def test_a_ledger_turned_read_only_holds_intervals_in_memory_and_writes_them_late(tmp_path):
    """SQLite's "attempt to write a readonly database" (SQLITE_READONLY) mid-run. A file system can't be
    remounted read-only while the ledger is open for writing (the kernel says "busy"), so the refusal
    comes from SQLite (query_only); a read-only disk at start is the next test, for real."""
    said, _ = _with_recorder(tmp_path / "l.db", lambda c: c.execute("PRAGMA query_only=ON"),
                             lambda c: c.execute("PRAGMA query_only=OFF"))
    _check_nothing_lost(tmp_path / "l.db", "read-only", said)


def _with_recorder(path: Path, break_it, fix_it):
    """_run_through_a_fault with faults applied to the recorder's own ledger connection."""
    holder: dict[str, Recorder] = {}
    original = Recorder.start

    def start(self):
        holder["rec"] = self
        original(self)

    Recorder.start = start
    try:
        return _run_through_a_fault(path, lambda: break_it(holder["rec"].ledger.conn),
                                    lambda: fix_it(holder["rec"].ledger.conn))
    finally:
        Recorder.start = original


def test_a_ledger_that_cannot_be_opened_is_a_one_line_error(small_disk, cli):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code, _, err = cli("watch", "--ledger", small_disk / "l.db", "--samplers", "none", "--duration", "1")
    assert code == 2 and err.startswith("error: ") and "cannot open the ledger" in err and err.count("\n") == 1


def test_two_recorders_of_the_same_power_into_one_ledger_are_refused(tmp_path):
    tap1, _ = replay_tap()
    tap2, _ = replay_tap()
    first = Recorder(tmp_path / "l.db", "box", 60, power=tap1)
    first.start()
    with pytest.raises(UserError, match="another recorder already records `power`"):
        Recorder(tmp_path / "l.db", "box", 60, power=tap2).start()
    first.close("stopped")
    second = Recorder(tmp_path / "l.db", "box", 60, power=replay_tap()[0])   # free again
    second.start()
    second.close("stopped")


class ResettingCounter(PollingSampler):
    """A wall plug drawing 100 W whose energy total restarts from 0 at `reset_at` (the plug rebooted)."""

    name = "plug"

    def __init__(self, reset_at: float) -> None:
        super().__init__(0.02)
        self.t0, self.reset_at = time.monotonic(), reset_at

    def open(self) -> list[Channel]:
        return [Channel("wall", "wall", self.name, counter=True, counter_resolution_j=0.001)]

    def read(self) -> list[Reading]:
        now = time.monotonic()
        energy = 100 * (now - self.t0) if now < self.reset_at else 100 * (now - self.reset_at)
        return [Reading("wall", 100.0, energy, {}, now)]


def test_an_energy_counter_that_restarts_falls_back_to_power_for_that_interval(tmp_path):
    sampler = ResettingCounter(time.monotonic() + 0.35)
    rec = Recorder(tmp_path / "l.db", "box", 60, power=PowerTap(PowerMonitor([([sampler], False)], 0.02)))
    rec.start()
    t0 = rec.last_mono
    for _ in range(6):
        time.sleep(0.12)
        rec.tick()
    rec.close("stopped")
    rows = q(tmp_path / "l.db", "SELECT e.seq, millijoules / 1e3, source FROM energy e JOIN names n ON n.id = channel "
                                "WHERE n.name='wall' ORDER BY e.seq")
    assert [r[2] for r in rows].count(2) == 1                       # one interval integrated, the rest counted
    assert sum(r[1] for r in rows) == pytest.approx(100 * (rec.last_mono - t0), rel=0.02)
    assert "went back" in events(tmp_path / "l.db")["energy_counter"][0]


def test_a_source_that_breaks_unexpectedly_does_not_stop_the_recorder(tmp_path):
    from benchbench.ledger.sources import Collected, Source

    class Broken(Source):
        kind = "broken"

        def collect(self) -> Collected:
            raise RuntimeError("unexpected answer")

    path = tmp_path / "l.db"
    tap, _ = replay_tap()
    rec = Recorder(path, "box", 60, power=tap, sources=[Broken("http://x")])
    rec.start()
    time.sleep(0.1)
    rec.tick()
    rec.close("stopped")
    assert q(path, "SELECT flags FROM work")[0][0] & store.SOURCE_DOWN
    assert "RuntimeError: unexpected answer" in events(path)["source_error"][0]
    assert q(path, "SELECT count(*) FROM energy WHERE seq = 1")[0][0] == 2     # energy still recorded
