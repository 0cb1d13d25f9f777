"""serve-video end to end: the real server (uvicorn) on loopback, the tiny LTX-2 pipeline on CPU.

One scenario, in order: bad requests are refused, a job that crashes its subprocess fails and the
next job still runs, a queued job is cancelled, the server is killed mid-queue and restarted, and
every state, MP4 and result record is checked.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from serve_helpers import CRASH_ENTRY, CRASH_MARK, ServerProcess, png_bytes

from benchbench.record import load_record, load_records
from benchbench.serve.config import JOB_ENTRY_ENV
from benchbench.serve.store import JobStore

pytestmark = pytest.mark.slow
ENV = {JOB_ENTRY_ENV: CRASH_ENTRY}


def _detail(resp) -> str:
    return resp.json()["detail"]


def check_bad_requests(server: ServerProcess) -> None:
    cases = [
        (server.submit(prompt=None), 422, "missing `prompt`"),
        (server.submit(prompt="   "), 422, "missing `prompt`"),
        (server.submit(duration=0), 422, "more than 0 and at most 20 seconds, got 0"),
        (server.submit(duration=21), 422, "at most 20 seconds, got 21"),
        (server.submit(duration="long"), 422, "number of seconds, got 'long'"),
        (server.submit(seed="x"), 422, "`seed` must be a whole number"),
        (server.submit(image=b"GIF89a but not really"), 415, "not an image Pillow can read"),
        (server.submit(image=b"\0" * (1024 * 1024 + 100_000)), 413, "larger than the limit"),
    ]
    for resp, status, message in cases:
        assert resp.status_code == status, resp.text
        assert message in _detail(resp)
    assert server.get("/jobs").json() == {"jobs": []}    # nothing was queued
    assert server.get("/jobs/000000000000").status_code == 404
    assert server.get("/jobs?status=bogus").status_code == 422


def test_queue_crash_cancel_restart(tmp_path):
    results = tmp_path / "results"
    s1 = ServerProcess(results, "--max-upload-mb", "1", env=ENV)
    try:
        check_bad_requests(s1)
        ids = {}
        for name, kw in (("crash", {"prompt": CRASH_MARK}), ("a", {"image": png_bytes(), "seed": 11}),
                         ("c", {"prompt": "a blue kite"}), ("d", {"prompt": "waves", "seed": 3}),
                         ("e", {"prompt": "never runs"})):
            resp = s1.submit(**kw)
            assert resp.status_code == 201, resp.text
            assert resp.headers["location"] == f"/jobs/{resp.json()['id']}"
            ids[name] = resp.json()["id"]
        assert len(ids["a"]) == 12 and int(ids["a"], 16) >= 0
        queued_e = s1.job(ids["e"])
        assert queued_e["status"] == "queued" and queued_e["position"] >= 3
        cancelled = s1.delete(ids["e"])
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = s1.delete(ids["e"])
        assert again.status_code == 409 and "already cancelled" in _detail(again)

        crash = s1.wait(ids["crash"], "failed", "done", timeout_s=30)
        assert crash["status"] == "failed" and crash["exit_code"] == -signal.SIGABRT
        assert "killed by SIGABRT" in crash["error"] and "about to crash on purpose" in crash["error"]
        assert s1.get(f"/jobs/{ids['crash']}/video").status_code == 409

        a = s1.wait(ids["a"], "done", "failed", timeout_s=60)   # the job after the crash still runs
        assert a["status"] == "done", a
        assert a["image"] is True and a["seed"] == 11 and a["duration"] == 1.0
        assert a["queue_s"] >= 0 and a["run_s"] > 0 and a["metrics"]["frames"] >= 1
        video_a = s1.get(f"/jobs/{ids['a']}/video")
        assert video_a.status_code == 200 and video_a.headers["content-type"] == "video/mp4"
        assert video_a.content[4:8] == b"ftyp"

        s1.wait(ids["c"], "running", timeout_s=30)
        running = s1.delete(ids["c"])
        assert running.status_code == 409 and "is running" in _detail(running)
        s1.kill()                                               # the server dies mid-queue
    finally:
        s1.kill()

    s2 = ServerProcess(results, env=ENV)
    try:
        assert "marked 1 job(s) failed" in s2.log() and ids["c"] in s2.log()
        c = s2.job(ids["c"])
        assert c["status"] == "failed" and "server stopped while the job was running" in c["error"]
        d = s2.wait(ids["d"], "done", "failed", timeout_s=60)   # the queue goes on after the restart
        assert d["status"] == "done", d
        assert s2.job(ids["e"])["status"] == "cancelled"
        assert s2.job(ids["a"])["status"] == "done"
        assert s2.get(f"/jobs/{ids['a']}/video").content == video_a.content
        listed = [j["id"] for j in s2.get("/jobs").json()["jobs"]]
        assert listed == [ids[k] for k in ("e", "d", "c", "a", "crash")]   # newest first
        assert [j["id"] for j in s2.get("/jobs?status=done").json()["jobs"]] == [ids["d"], ids["a"]]

        # a graceful stop fails the running job with its reason
        f = s2.submit(prompt="stopped by shutdown").json()["id"]
        s2.wait(f, "running", timeout_s=30)
        s2.stop(signal.SIGINT)
    finally:
        s2.kill()

    store = JobStore(results / "serve-video" / "jobs.sqlite3")
    assert "server shut down while the job was running" in store.get(f).error
    store.close()
    check_records(results, a, d)


def check_records(results, a, d) -> None:
    """Each finished job left a complete benchbench record with its MP4 beside it."""
    runs = [r for r in load_records([results]) if r.get("type", "run") == "run"]
    by_name = {r["workload"]["name"]: r for r in runs}
    for job in (a, d):
        rec = by_name[f"job-{job['id']}"]
        assert rec["status"] == "complete"
        assert rec["workload"]["backend"] == "ltx2" and rec["suite"]["name"] == "serve-video"
        params = rec["workload"]["params"]
        assert params["prompt"] == job["prompt"] and params["seed"] == job["seed"]
        assert params["seconds"] == job["duration"]
        (it,) = rec["iterations"]
        assert it["warmup"] is False and it["metrics"]["gen_s"] == job["metrics"]["gen_s"]
        assert (results / job["record"]).resolve() == Path(rec["_path"]).resolve()
        mp4 = results / job["record"].rsplit("/", 1)[0] / it["artifacts"][0]
        assert mp4.read_bytes()[4:8] == b"ftyp"
    assert load_record(results / a["record"])["workload"]["params"]["image"].endswith(".png")
