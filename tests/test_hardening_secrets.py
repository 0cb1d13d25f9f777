"""Secrets planted everywhere a person might put one, then every file benchbench wrote and everything
it printed is searched for them: records, power samples, reports in every format (the Markdown
report's PNG charts included), stdout and stderr of `run`, `report` and `doctor`."""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path

import fakes_llm_servers as fakes
import pytest
import yaml
from fakes_llm_servers import FakeOllama, FakeOpenAI

from benchbench import redact


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """name → secret; every one placed somewhere the run will see it."""
    redact.clear_secrets()
    made = {name: f"{name.upper()}{secrets.token_hex(10)}" for name in (
        "ollama_host_pw", "openai_url_pw", "bb_token", "api_key", "nested_bearer", "plug_pw", "shelly_pw",
        "jobs_pw", "jobs_query", "hf", "echo")}
    made["hf"] = "hf_" + made["hf"]
    made["echo"] = made["api_key"]     # the server echoes the key into its answer (text_head)
    monkeypatch.setenv("OLLAMA_HOST", "")   # set per workload below, after the fake server starts
    monkeypatch.setenv("BENCHBENCH_OPENAI_URL", f"http://me:{made['openai_url_pw']}@10.1.1.9:8080/v1")
    monkeypatch.setenv("BENCHBENCH_AUTH_TOKEN", made["bb_token"])
    monkeypatch.setenv("BB_TEST_API_KEY_VALUE", made["api_key"])
    monkeypatch.setenv("BB_TEST_PLUG_PASSWORD", made["plug_pw"])
    yield made
    redact.clear_secrets()


def _suite(tmp_path: Path, made: dict[str, str], openai_url: str) -> Path:
    data = {
        "name": "leaky", "warmups": 0, "repetitions": 1,
        "power": {"samplers": ["tasmota", "shelly"], "interval_ms": 100,
                  "tasmota": {"url": f"http://127.0.0.1:{_closed_port()}", "user": "admin",
                              "password_env": "BB_TEST_PLUG_PASSWORD", "timeout_s": 0.3},
                  "shelly": {"url": f"http://admin:{made['shelly_pw']}@127.0.0.1:{_closed_port()}",
                             "timeout_s": 0.3}},
        "workloads": [
            {"name": "ollama-from-env", "kind": "llm", "backend": "ollama", "model": "llama3.2:3b",
             "max_tokens": 4, "retries": 0, "prompt": f"my token is {made['hf']}, keep it"},
            {"name": "openai-keyed", "kind": "llm", "backend": "openai", "model": "llama-3.2-3b-instruct",
             "base_url": openai_url, "api_key_env": "BB_TEST_API_KEY_VALUE", "max_tokens": 4, "retries": 0,
             "options": {"nested": {"authorization": f"Bearer {made['nested_bearer']}"}}},
            {"name": "jobs", "kind": "video", "backend": "ltx-jobs", "prompt": "a kite", "seconds": 1,
             "url": f"http://jobs:{made['jobs_pw']}@127.0.0.1:{_closed_port()}/?api_key={made['jobs_query']}",
             "request_timeout_s": 1},
        ],
    }
    path = tmp_path / "leaky.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_no_planted_secret_reaches_any_file_or_stream(tmp_path, cli, planted, monkeypatch):
    real_token_text = fakes.token_text
    monkeypatch.setattr(fakes, "token_text", lambda kind, k, seed: f" {planted['echo']}" if k == 0
                        else real_token_text(kind, k, seed))
    outputs: list[str] = []
    with FakeOllama() as ollama, FakeOpenAI(flavor="openai", api_key=planted["api_key"]) as openai:
        host = ollama.url.replace("http://", f"http://me:{planted['ollama_host_pw']}@")
        monkeypatch.setenv("OLLAMA_HOST", host)
        suite = _suite(tmp_path, planted, openai.url + "/v1")
        results, out_dir = tmp_path / "results", tmp_path / "out"
        code, out, err = cli("run", suite, "--results", results)
        outputs += [out, err]
        assert code == 1, err                      # the job server is not there: that workload fails
        for args in (("-o", out_dir / "r.html"), ("-o", out_dir / "r.md"), ("-o", out_dir / "csv", "--format", "csv"),
                     ("-o", out_dir / "r.json"), ("--format", "md"), ("--format", "json"), ()):
            code, out, err = cli("report", results, "--no-reference", *args)
            assert code == 0, err
            outputs += [out, err]
        for args in ((), ("--json",)):
            code, out, err = cli("doctor", "--suite", suite, *args)
            outputs += [out, err]
        # `benchbench cost` (registry titles and units): a profile pricing an API model whose name holds a token
        profile = tmp_path / "box.yaml"
        profile.write_text(yaml.safe_dump({"name": "box", "load_w": 300, "electricity_per_kwh": 0.3,
                                           "prices": {"api": {planted["hf"]: 0.5}}}), encoding="utf-8")
        for args, expected in (((), 0), (("--json",), 0), (("--api-model", planted["hf"] + "x"), 2)):
            code, out, err = cli("cost", "--machine", profile, "--tok-s", "40", "--api-model", planted["hf"], *args)
            assert code == expected, err
            outputs += [out, err]
    records = [json.loads(p.read_text()) for p in results.rglob("*.json")]
    assert len([r for r in records if r.get("type") == "run"]) == 3
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != suite]
    assert any(p.suffix == ".png" for p in written) and any(p.suffix == ".csv" for p in written)
    written = [p for p in written if p.name != "box.yaml"]     # the profile is where the test put the token
    leaks = [(name, str(p.relative_to(tmp_path))) for p in written for name, value in planted.items()
             if value.encode() in p.read_bytes()]
    leaks += [(name, "output") for text in outputs for name, value in planted.items() if value in text]
    assert leaks == []
    # the secrets were there to leak: the mask stands where they were
    run = {r["workload"]["name"]: r for r in records if r.get("type") == "run"}
    env = run["openai-keyed"]["machine"]["fingerprint"]["env"]
    assert env["OLLAMA_HOST"].startswith(f"http://{redact.MASK}@127.0.0.1:")
    assert env["BENCHBENCH_OPENAI_URL"] == f"http://{redact.MASK}@10.1.1.9:8080/v1"
    assert env["BENCHBENCH_AUTH_TOKEN"] == redact.MASK
    assert run["openai-keyed"]["workload"]["params"]["options"]["nested"]["authorization"] == redact.MASK
    assert redact.MASK in run["ollama-from-env"]["workload"]["params"]["prompt"]
    power = json.dumps(run["ollama-from-env"]["power"])
    assert "password=" + redact.MASK in power or "password%3D" in power or "tasmota" in power
    assert redact.MASK in json.dumps(run["jobs"]["errors"])


def test_a_gathered_record_from_an_older_benchbench_arrives_redacted(tmp_path, planted):
    """`gather` copies records from hosts that may run an older version: they are redacted on arrival."""
    import asyncio
    import stat
    from types import SimpleNamespace

    from analysis_helpers import llm_run

    from benchbench.remote.pull import pull_tree

    rec, _ = llm_run(machine="old-host")
    rec["machine"]["fingerprint"]["env"] = {"OLLAMA_HOST": f"http://u:{planted['ollama_host_pw']}@h:11434"}
    rec["workload"]["params"]["options"] = {"api_key": planted["api_key"]}
    files = {"/r/old.json": json.dumps(rec).encode()}

    class Handle:
        def __init__(self, data: bytes) -> None:
            self.data = data

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return False

        async def read(self) -> bytes:
            return self.data

    class FakeSftp:
        async def scandir(self, folder):
            for path in files:
                if path.rsplit("/", 1)[0] == folder:
                    yield SimpleNamespace(filename=path.rsplit("/", 1)[1],
                                          attrs=SimpleNamespace(permissions=stat.S_IFREG | 0o644))

        def open(self, path, mode):
            return Handle(files[path])

    result = asyncio.run(pull_tree(FakeSftp(), "/r", tmp_path / "results", depth=0))
    (path,) = result.copied
    text = path.read_text()
    assert planted["ollama_host_pw"] not in text and planted["api_key"] not in text
    assert json.loads(text)["run_id"] == rec["run_id"]


def test_the_usage_ledger_keeps_no_secret(tmp_path, cli, monkeypatch):
    """`watch` stores source names, their info, events and its configuration in a SQLite ledger: a password
    in a server URL and the key named by --api-key-env reach neither the ledger nor the terminal."""
    from ledger_helpers import FakeVllm

    redact.clear_secrets()
    password, key = "VLLMPW" + secrets.token_hex(10), "VLLMKEY" + secrets.token_hex(10)
    monkeypatch.setenv("BB_TEST_VLLM_KEY", key)
    ledger = tmp_path / "l.db"
    with FakeVllm() as vllm:
        url = vllm.url.replace("http://", f"http://me:{password}@")
        code, out, err = cli("watch", "--ledger", ledger, "--interval", "0.3", "--duration", "1.2",
                             "--samplers", "none", "--vllm", url, "--api-key-env", "BB_TEST_VLLM_KEY")
        assert code == 0, err
    outputs = [out, err, *cli("report", ledger)[1:]]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and not [(p.name, s) for p in files for s in (password, key) if s.encode() in p.read_bytes()]
    assert not [s for text in outputs for s in (password, key) if s in text]
    import sqlite3

    with sqlite3.connect(ledger) as c:
        (config,) = c.execute("SELECT config FROM sessions").fetchone()
    assert json.loads(config)["roles"] == [f"vllm@http://{redact.MASK}@127.0.0.1:{vllm.url.rsplit(':', 1)[1]}"]
    redact.clear_secrets()
