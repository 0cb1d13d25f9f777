"""`kind: video, backend: ltx-jobs` against the real serve-video server (tiny LTX-2 pipeline on CPU),
and `benchbench doctor --suite` reporting that server's reachability."""

from __future__ import annotations

import socket

import pytest
from serve_helpers import CRASH_ENTRY, CRASH_MARK, ServerProcess, png_bytes

from benchbench import __version__
from benchbench.commands.doctor import collect
from benchbench.record import load_records
from benchbench.serve.config import JOB_ENTRY_ENV
from benchbench.workloads.ltx_jobs import LTXJobs, _ts


def _suite(write, url: str, extra: str = "", image: str = "") -> object:
    return write("jobs.yaml", f"""
        name: jobs-client
        warmups: 0
        repetitions: 1
        power: {{samplers: [none]}}
        workloads:
          - name: clip
            kind: video
            backend: ltx-jobs
            url: {url}
            prompt: a lighthouse at dusk
            seconds: 1
            seed: 5
            poll_s: 0.1
            {image}
        {extra}""")


def _runs(results) -> dict[str, dict]:
    return {r["workload"]["name"]: r for r in load_records([results]) if r.get("type", "run") == "run"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    results = tmp_path_factory.mktemp("served") / "results"
    proc = ServerProcess(results, env={JOB_ENTRY_ENV: CRASH_ENTRY})
    yield proc
    proc.kill()


@pytest.mark.slow
def test_ltx_jobs_measures_a_served_clip(server, write, cli, tmp_path):
    (tmp_path / "frame.png").write_bytes(png_bytes())
    suite = _suite(write, server.url, image="image: frame.png", extra=f"""
          - name: refused
            kind: video
            backend: ltx-jobs
            url: {server.url}
            prompt: too long
            seconds: 25
          - name: crashed
            kind: video
            backend: ltx-jobs
            url: {server.url}
            prompt: {CRASH_MARK}
            poll_s: 0.1
        """)
    code, out, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 1, err                  # two entries fail, the others complete
    runs = _runs(tmp_path / "r")

    rec = runs["clip"]
    assert rec["status"] == "complete", rec["errors"]
    facts = rec["workload"]["facts"]
    assert facts["server"] == "benchbench serve-video" and facts["server_config"]["workload"]["weights"] == "dummy"
    (it,) = rec["iterations"]
    m = it["metrics"]
    job = server.job(it["raw"]["job_id"])
    assert m["timing_source"] == "server"
    assert m["queue_s"] == pytest.approx(job["queue_s"], abs=2e-3)
    assert m["gen_s"] == pytest.approx(job["run_s"], abs=2e-3) and m["gen_s"] > 0
    assert m["e2e_s"] >= m["gen_s"] and m["e2e_s"] < m["queue_s"] + m["gen_s"] + 5
    assert m["pipeline_gen_s"] == job["metrics"]["gen_s"] and m["pipeline_gen_s"] <= m["gen_s"]
    assert m["seconds_requested"] == 1.0 and m["seed"] == 5 and job["prompt"] == "a lighthouse at dusk"
    assert job["image"] is True                              # the suite's image was uploaded
    for key in ("frames", "fps", "width", "height"):
        assert m[key] == job["metrics"][key]
    mp4 = next((tmp_path / "r").rglob(it["artifacts"][0]))
    assert mp4.read_bytes() == server.get(f"/jobs/{job['id']}/video").content
    assert m["mp4_bytes"] == mp4.stat().st_size

    refused = runs["refused"]
    assert refused["status"] == "failed"
    assert "refused the job (422)" in refused["errors"][0]["message"]
    assert "at most 20 seconds" in refused["errors"][0]["message"]

    crashed = runs["crashed"]
    assert crashed["status"] == "failed" and "killed by SIGABRT" in crashed["errors"][0]["message"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_fails_the_run_with_a_message(write, cli, tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    code, _, err = cli("run", _suite(write, url), "--results", tmp_path / "r")
    assert code == 1
    rec = _runs(tmp_path / "r")["clip"]
    assert rec["status"] == "failed"
    assert rec["errors"][0]["message"].startswith(f"{url}/health: ConnectionError")


@pytest.mark.slow
def test_doctor_reports_job_server_reachability(server, write):
    dead = f"http://127.0.0.1:{_free_port()}"
    suite = _suite(write, server.url, extra=f"""
          - name: elsewhere
            kind: video
            backend: ltx-jobs
            url: {dead}
            prompt: x
        """)
    up, down = collect(str(suite))["job_servers"]          # LTXJobs.doctor, through `benchbench doctor`
    assert up["url"] == server.url and up["reachable"] is True and up["workloads"] == ["clip"]
    assert up["server"] == "benchbench serve-video" and up["worker_alive"] is True
    assert down["reachable"] is False and "ConnectionError" in down["why"]
    assert str(up) == f"{server.url} (clip): reachable, benchbench serve-video {__version__}, 0 queued, idle"
    assert str(down).startswith(f"{dead} (elsewhere): unreachable (ConnectionError: nothing answers")
    assert LTXJobs.doctor([]) == {} and "job_servers" not in collect(None)


def test_observed_timing_when_the_server_reports_no_timestamps():
    lj = LTXJobs.__new__(LTXJobs)
    lj.params = {"poll_s": 0.5}
    seen = {"queued": 10.0, "running": 12.0, "done": 20.5}
    m = lj._metrics({"status": "done"}, seen, t_submit=9.5, t_dl=20.6, t_end=21.0)
    assert m["timing_source"] == "observed"
    assert m["queue_s"] == pytest.approx(2.5) and m["gen_s"] == pytest.approx(8.5)
    assert m["e2e_s"] == pytest.approx(11.5) and m["download_s"] == pytest.approx(0.4)
    # queued → done between two polls: the split is unknown, so it is not invented
    m = lj._metrics({"status": "done"}, {"queued": 10.0, "done": 20.0}, 9.5, 20.1, 20.2)
    assert "gen_s" not in m and "queue_s" not in m and m["e2e_s"] == pytest.approx(10.7)
    # server timestamps win when present (ISO with Z, or epoch seconds)
    job = {"created_at": "2026-01-01T00:00:00.000Z", "started_at": "2026-01-01T00:00:03.250Z",
           "finished_at": 1767225610.5}
    m = lj._metrics(job, seen, 9.5, 20.6, 21.0)
    assert m["timing_source"] == "server"
    assert m["queue_s"] == pytest.approx(3.25) and m["gen_s"] == pytest.approx(7.25)
    assert _ts("not a time") is None and _ts(None) is None
