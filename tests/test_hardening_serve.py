"""serve-video hardening: atomic queue admission, folders and rows together, strict numbers,
no API docs by default, a bearer token required beyond loopback. Service-level and in-process
(FastAPI's TestClient): no server process, no job ever runs."""

from __future__ import annotations

import threading

import pytest

from benchbench.serve.config import ServeConfig
from benchbench.serve.service import BadRequest, Service
from benchbench.serve.store import QUEUED

TINY_JOB = {"weights": "dummy", "architecture": "tiny"}


def _service(tmp_path, **kw) -> Service:
    config = ServeConfig(results=tmp_path / "r", workload=dict(TINY_JOB), devices=["cpu"], power=["none"], **kw)
    service = Service(config)
    service.open()     # the worker is not started: every job stays queued
    return service


def _folders(service: Service) -> set[str]:
    jobs = service.config.job_dir("x").parent
    return {p.name for p in jobs.iterdir()} if jobs.is_dir() else set()


def test_concurrent_submissions_never_pass_the_queue_cap(tmp_path):
    service = _service(tmp_path, max_queue=5)
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def submit(i: int) -> None:
        start.wait()
        try:
            service.submit(f"clip {i}", "1", str(i))
            status = 201
        except BadRequest as exc:
            status = exc.status
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert sorted(statuses) == [201] * 5 + [429] * 35
        assert service.store.count(QUEUED) == 5
        assert _folders(service) == service.store.ids()              # a folder for each row, no more
        assert not any(service.config.staging.iterdir()) if service.config.staging.exists() else True
    finally:
        service.close()


def test_a_failure_inside_the_admission_transaction_leaves_neither_row_nor_folder(tmp_path, monkeypatch):
    service = _service(tmp_path)
    real_admit = service.store.admit

    def admit_then_fail(job, max_queue, place=None):
        def place_then_die():
            place()
            raise OSError("disk full")
        return real_admit(job, max_queue, place_then_die)

    monkeypatch.setattr(service.store, "admit", admit_then_fail)
    try:
        with pytest.raises(OSError):
            service.submit("a kite", "1", "1")
        assert service.store.ids() == set() and _folders(service) == set()
    finally:
        service.close()


def test_a_restart_removes_folders_without_rows(tmp_path):
    service = _service(tmp_path)
    kept = service.submit("a kite", "1", "1")
    service.close()
    config = service.config
    (config.job_dir("0123456789ab")).mkdir(parents=True)           # killed between rename and commit
    (config.staging_dir("ba9876543210")).mkdir(parents=True)       # killed while preparing
    again = Service(config)
    again.open()
    try:
        assert _folders(again) == {kept.id} and not config.staging.exists()
    finally:
        again.close()


@pytest.mark.parametrize("duration", ["1e-300", "1e1", "1_0", "١٢", "１", "inf", "nan", "-1", "+1", "0x10",
                                      "1.0000001", "1,5", "2 s", "1" * 30, "0", "0.0", "21"])
def test_durations_are_plain_decimal_numbers(tmp_path, duration):
    service = _service(tmp_path)
    try:
        with pytest.raises(BadRequest) as exc:
            service.submit("a kite", duration, "1")
        assert exc.value.status == 422 and "`duration`" in exc.value.message
        assert service.store.ids() == set() and _folders(service) == set()
    finally:
        service.close()


@pytest.mark.parametrize("seed", ["1_0", "١", "1e3", "-1", "0x1", "99999999999999999999", "1.0", "٣٤"])
def test_seeds_are_plain_whole_numbers(tmp_path, seed):
    service = _service(tmp_path)
    try:
        with pytest.raises(BadRequest) as exc:
            service.submit("a kite", "1", seed)
        assert exc.value.status == 422 and "`seed`" in exc.value.message
    finally:
        service.close()


def test_plain_numbers_are_accepted(tmp_path):
    service = _service(tmp_path)
    try:
        job = service.submit("a kite", " 2.5 ", "007")
        assert (job.duration_s, job.seed) == (2.5, 7)
    finally:
        service.close()


def _client(tmp_path, **kw):
    from fastapi.testclient import TestClient

    from benchbench.serve.app import create_app

    service = _service(tmp_path, **kw)
    return TestClient(create_app(service, run_worker=False)), service


def test_api_docs_are_off_unless_asked_for(tmp_path):
    client, service = _client(tmp_path / "off")
    try:
        assert [client.get(p).status_code for p in ("/docs", "/redoc", "/openapi.json")] == [404, 404, 404]
        assert client.get("/health").status_code == 200
    finally:
        service.close()
    client, service = _client(tmp_path / "on", api_docs=True)
    try:
        assert client.get("/openapi.json").status_code == 200 and client.get("/docs").status_code == 200
    finally:
        service.close()


def test_a_token_is_required_on_every_route_when_set(tmp_path):
    token = "t0ken-" + "x" * 26
    client, service = _client(tmp_path, token=token)
    try:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token},
                        {"Authorization": f"Basic {token}"}):
            for method, route in (("GET", "/health"), ("GET", "/jobs"), ("POST", "/jobs"), ("DELETE", "/jobs/x")):
                resp = client.request(method, route, headers=headers, data={"prompt": "x"})
                assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
                assert token not in resp.text
        ok = {"Authorization": f"Bearer {token}"}
        health = client.get("/health", headers=ok)
        assert health.status_code == 200 and token not in health.text
        assert client.post("/jobs", headers=ok, data={"prompt": "a kite", "duration": "1"}).status_code == 201
    finally:
        service.close()


TINY = ["--tiny", "--power", "none", "--port", "0"]


@pytest.mark.parametrize("env, args, words", [
    ({}, ["--host", "0.0.0.0"], "--token-env: listening on 0.0.0.0 reaches beyond this machine"),
    ({}, ["--token-env", "BB_TEST_TOKEN"], "--token-env: environment variable BB_TEST_TOKEN is not set"),
    ({"BB_TEST_TOKEN": "short"}, ["--token-env", "BB_TEST_TOKEN"], "shorter than 16 characters"),
])
def test_serving_beyond_loopback_needs_a_token(cli, tmp_path, monkeypatch, env, args, words):
    monkeypatch.delenv("BB_TEST_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out, err = cli("serve-video", "--results", tmp_path / "r", *TINY, *args)
    assert code == 2 and err.count("\n") == 1 and words in err and "Traceback" not in err
    assert "short" not in err.replace("shorter", "")


def test_health_does_not_show_the_token(tmp_path):
    service = _service(tmp_path, token="s3cret-token-abcdefghijkl")
    try:
        assert "s3cret" not in repr(service.config) and "s3cret" not in str(service.health())
        assert service.health()["config"]["token_required"] is True
    finally:
        service.close()
