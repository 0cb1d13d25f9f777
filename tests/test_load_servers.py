"""Load tests against the protocol fakes of Part 2 (tests/fakes_llm_servers.py): a hosted-API style
server with a key, failures, and the Ollama backend's warm/cold key beside a load block."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fakes_llm_servers import FakeOpenAI, free_port

from benchbench.load.rows import read_rows
from benchbench.suite import load_suite

KEY = "sk-test-0123456789abcdef"


def write_suite(folder: Path, entry: dict) -> Path:
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "warmups": 0, "repetitions": 1, "power": {"samplers": ["none"]},
                                    "workloads": [entry]}, sort_keys=False))
    return path


def test_hosted_api_key_is_sent_and_never_written(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_KEY", KEY)
    with FakeOpenAI(flavor="openai", api_key=KEY, tg_tok_s=2000, gen_len=None) as fake:
        entry = {"name": "hosted", "kind": "llm", "backend": "openai", "model": "llama-3.2-3b-instruct",
                 "base_url": fake.url + "/v1", "api_key_env": "FAKE_KEY", "max_tokens": 8,
                 "load": {"concurrency": 2, "requests": 4}}
        code, _, err = cli("run", write_suite(tmp_path, entry), "--results", tmp_path / "ok")
        assert code == 0, err
        monkeypatch.setenv("FAKE_KEY", "sk-wrong-key-that-must-not-leak")
        code, _, err = cli("run", write_suite(tmp_path, entry), "--results", tmp_path / "bad")
    assert code == 1                                    # every request failed: the iteration failed
    rec = json.loads(next((tmp_path / "ok").rglob("*.json")).read_text())
    m = rec["iterations"][0]["metrics"]
    assert m["succeeded_requests"] == 4 and m["output_tokens_mean"] == 8
    bad = json.loads(next((tmp_path / "bad").rglob("*.json")).read_text())
    assert "every request failed" in bad["iterations"][0]["error"] and "HTTP 401" in bad["iterations"][0]["error"]
    for path in list((tmp_path / "ok").rglob("*")) + list((tmp_path / "bad").rglob("*")):
        if path.is_file():
            text = path.read_text()
            assert KEY not in text and "sk-wrong-key-that-must-not-leak" not in text, path


def test_unreachable_server_fails_each_request_with_the_reason(tmp_path: Path, cli) -> None:
    entry = {"name": "gone", "kind": "llm", "backend": "ollama", "model": "llama3.2:1b",
             "host": f"http://127.0.0.1:{free_port()}", "load": {"concurrency": 2, "requests": 2}}
    code, _, err = cli("run", write_suite(tmp_path, entry), "--results", tmp_path / "r")
    assert code == 1
    rec = json.loads(next((tmp_path / "r").rglob("*.json")).read_text())
    assert "cannot reach" in rec["errors"][0]["message"]          # set-up fails before any load point


def test_ollama_keeps_warm_and_cold_beside_load_blocks(tmp_path: Path) -> None:
    base = {"name": "o", "kind": "llm", "backend": "ollama", "model": "llama3.2:1b"}
    assert load_suite(write_suite(tmp_path, {**base, "load": "cold"})).workloads[0].params["load"] == "cold"
    spec = load_suite(write_suite(tmp_path, {**base, "load": {"request_rate": 2, "requests": 4}})).workloads[0]
    assert spec.params["load"] == {"request_rate": 2, "requests": 4}
    with pytest.raises(Exception, match="unknown value 'tepid'"):
        load_suite(write_suite(tmp_path, {**base, "load": "tepid"}))


def test_rows_of_a_failed_point_are_kept(tmp_path: Path, cli) -> None:
    with FakeOpenAI(tg_tok_s=2000) as fake:
        fake.fail_next = [(500, {"error": {"message": "overloaded"}})] * 3
        entry = {"name": "flaky", "kind": "llm", "backend": "openai", "model": "llama-3.2-3b-instruct",
                 "base_url": fake.url + "/v1", "max_tokens": 4, "load": {"concurrency": 1, "requests": 6}}
        code, _, err = cli("run", write_suite(tmp_path, entry), "--results", tmp_path / "r")
    assert code == 0, err
    rec = json.loads(next((tmp_path / "r").rglob("*.json")).read_text())
    m = rec["iterations"][0]["metrics"]
    assert (m["succeeded_requests"], m["failed_requests"]) == (3, 3)
    assert any(w["code"] == "requests_failed" and "overloaded" in w["message"] for w in rec["warnings"])
    rows = read_rows(next((tmp_path / "r").rglob("*.requests.csv")))
    assert [r["status"] for r in rows] == ["error"] * 3 + ["ok"] * 3 and rows[0]["http_status"] == 500
