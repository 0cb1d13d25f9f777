"""The job store and the worker without HTTP: queue order, cancel, restart recovery, timeouts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from benchbench.serve.config import JOB_ENTRY_ENV, ServeConfig
from benchbench.serve.store import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job, JobStore, iso
from benchbench.serve.worker import Worker, crash_message


def _job(i: int, **kw) -> Job:
    return Job(id=f"{i:012x}", status=QUEUED, prompt=f"p{i}", duration_s=1.0, seed=i,
               created_at=time.time(), **kw)


def test_queue_is_fifo_and_only_queued_jobs_cancel(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    for i in range(4):
        store.add(_job(i))
    assert [store.position(store.get(f"{i:012x}")) for i in range(4)] == [0, 1, 2, 3]
    first = store.claim_next()
    assert first.id == f"{0:012x}" and first.status == RUNNING and first.started_at >= first.created_at
    assert store.position(store.get(f"{1:012x}")) == 1        # the running job is still ahead
    assert store.cancel(f"{1:012x}") is True
    assert store.cancel(f"{1:012x}") is False                 # already cancelled
    assert store.cancel(first.id) is False                    # running: not cancellable
    assert store.claim_next().id == f"{2:012x}"               # the cancelled one is skipped
    store.finish(first.id, DONE, metrics={"gen_s": 1.5}, video="a/b.mp4")
    done = store.get(first.id)
    assert done.status == DONE and done.metrics == {"gen_s": 1.5} and done.run_s >= 0
    assert [j.id for j in store.list()] == [f"{i:012x}" for i in (3, 2, 1, 0)]
    assert [j.id for j in store.list(CANCELLED)] == [f"{1:012x}"]
    assert store.count(QUEUED, RUNNING) == 2
    store.close()


def test_state_survives_reopening_and_running_jobs_are_failed(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    for i in range(3):
        store.add(_job(i, image="input.png" if i == 0 else None))
    running = store.claim_next()
    store.close()                                             # the server dies here
    store = JobStore(path)
    assert [j.id for j in store.recover("the server stopped")] == [running.id]
    job = store.get(running.id)
    assert job.status == FAILED and job.error == "the server stopped" and job.finished_at
    assert job.image == "input.png"
    assert [j.status for j in store.list()] == [QUEUED, QUEUED, FAILED]
    assert store.recover("again") == []
    store.close()


def test_iso_matches_the_record_format():
    assert iso(0.0) == "1970-01-01T00:00:00.000Z" and iso(None) is None
    assert iso(1767225610.5) == "2026-01-01T00:00:10.500Z"


def test_crash_message_names_the_signal_and_quotes_the_log(tmp_path):
    log = tmp_path / "job.log"
    log.write_text("loading\n\nSegmentation fault in block 7\n")
    assert crash_message(-11, log) == ("the job process was killed by SIGSEGV; last output: "
                                       "loading | Segmentation fault in block 7")
    assert crash_message(3, tmp_path / "none") == "the job process exited with code 3 without a result"


def _worker(tmp_path, monkeypatch, entry: str, **kw) -> tuple[Worker, JobStore, Job]:
    monkeypatch.setenv(JOB_ENTRY_ENV, entry)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    config = ServeConfig(results=tmp_path / "results", **kw)
    store = JobStore(config.db_path)
    job = store.add(_job(1))
    config.job_dir(job.id).mkdir(parents=True)
    (config.job_dir(job.id) / "suite.yaml").write_text("unused by the test entries\n")
    return Worker(store, config), store, store.claim_next()


@pytest.mark.parametrize("entry, status, error", [
    ("serve_helpers:sleep_entry", FAILED, "timed out after 1 s (serve-video --job-timeout)"),
    ("serve_helpers:fail_entry", FAILED, "pipeline said no"),
    ("no_such_module:entry", FAILED, "cannot load 'no_such_module:entry'"),
])
def test_worker_outcomes(tmp_path, monkeypatch, entry, status, error):
    # only the sleeping job must hit the 1 s timeout; the others get time to start a Python process on a
    # loaded machine (importing the job module alone can take most of a second there)
    timeout_s = 1.0 if "sleep" in entry else 30.0
    worker, store, job = _worker(tmp_path, monkeypatch, entry, job_timeout_s=timeout_s)
    t0 = time.monotonic()
    worker.run(job)
    done = store.get(job.id)
    assert done.status == status and error in done.error
    assert time.monotonic() - t0 < 15
    if entry.endswith("fail_entry"):
        assert done.record == "x/y.json" and done.exit_code == 1
    store.close()


def test_stopping_the_worker_fails_the_running_job(tmp_path, monkeypatch):
    worker, store, job = _worker(tmp_path, monkeypatch, "serve_helpers:sleep_entry")
    store.update(job.id, status=QUEUED, started_at=None)      # let the worker claim it itself
    worker.start()
    deadline = time.monotonic() + 10
    while store.get(job.id).pid is None and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    done = store.get(job.id)
    assert done.status == FAILED and done.error == "the server shut down while the job was running"
    assert done.exit_code is not None and not worker.alive
    store.close()


def test_service_queues_views_and_refuses_without_http(tmp_path):
    import yaml

    from benchbench.serve.service import BadRequest, Service

    config = ServeConfig(results=tmp_path / "r", workload={"weights": "dummy", "architecture": "tiny"},
                         devices=["cpu"], power=["none"], max_queue=2)
    service = Service(config)
    service.open()                                # the worker is not started: jobs stay queued
    try:
        first = service.submit("a kite", "2.5", "9")
        second = service.submit("a boat", None, None)
        assert second.duration_s == 4.0 and 0 <= second.seed < 2**31
        with pytest.raises(BadRequest) as exc:
            service.submit("one too many", "1", "1")
        assert exc.value.status == 429 and "queue is full (2 jobs waiting)" in exc.value.message
        view = service.view(service.get(second.id))
        assert view["position"] == 1 and view["status"] == QUEUED and view["queue_s"] is None
        assert view["created_at"].endswith("Z") and "video" not in view
        suite = yaml.safe_load((config.job_dir(first.id) / "suite.yaml").read_text())
        assert suite["warmups"] == 0 and suite["repetitions"] == 1 and suite["power"] == {"samplers": ["none"]}
        assert suite["workloads"] == [{"name": f"job-{first.id}", "kind": "video", "backend": "ltx2",
                                       "devices": ["cpu"], "weights": "dummy", "architecture": "tiny",
                                       "prompt": "a kite", "seconds": 2.5, "seed": 9}]
        assert service.cancel(first.id).status == CANCELLED
        assert service.view(service.get(second.id))["position"] == 0
        with pytest.raises(BadRequest) as exc:
            service.video(second.id)
        assert exc.value.status == 409 and "is queued" in exc.value.message
        with pytest.raises(BadRequest) as exc:
            service.get("nope")
        assert exc.value.status == 404
    finally:
        service.close()
