"""`watch` against a real `llama-server --metrics` (part 14's build from source, its `llama_server`
fixture): the tokens the ledger holds equal what the server said it served, request by request."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from benchbench.ledger.llamacpp import LlamaCppSource
from benchbench.ledger.recorder import Recorder

pytestmark = pytest.mark.slow


def test_watch_counts_what_a_real_llama_server_served(llama_server, tmp_path):
    # the fixture as an argument: the session builds llama.cpp before any test's timeout when one needs it
    server = llama_server
    root = getattr(server, "root", None) or str(server.base_url).rstrip("/").removesuffix("/v1")
    path = tmp_path / "l.db"
    rec = Recorder(path, "box", 60, sources=[LlamaCppSource(root)])
    rec.start()
    said = {"prompt_n": 0, "cache_n": 0, "predicted_n": 0, "ms": 0.0}
    for k in range(4):
        r = httpx.post(root + "/completion", timeout=120, json={
            "prompt": "The home lab hums along. " * (2 + k % 2), "n_predict": 8, "cache_prompt": True})
        assert r.status_code == 200, r.text
        t = r.json()["timings"]
        for key in ("prompt_n", "cache_n", "predicted_n"):
            said[key] += int(t.get(key) or 0)
        said["ms"] += float(t["prompt_ms"]) + float(t["predicted_ms"])
    rec.tick()
    rec.close("stopped")
    c = sqlite3.connect(path)
    inputs, cached, output, busy, model = c.execute(
        "SELECT sum(input_tokens), sum(cached_tokens), sum(output_tokens), sum(busy_ms) / 1e3, n.name FROM work "
        "JOIN names n ON n.id = work.model").fetchone()
    assert output == said["predicted_n"]
    if cached is None:                  # a server without llamacpp:prompt_tokens_cached_total
        assert inputs == said["prompt_n"]
    else:
        assert (inputs, cached) == (said["prompt_n"] + said["cache_n"], said["cache_n"])
    assert busy == pytest.approx(said["ms"] / 1000, rel=0.02, abs=0.005)
    assert model                        # the name /v1/models gives


def test_the_proxy_and_the_metrics_page_agree_on_a_real_llama_server(llama_server):
    """Streamed answers without `include_usage` (counted from llama.cpp's `timings`) and a whole one
    (its `usage`): the proxy's counts equal what /metrics counted meanwhile."""
    from benchbench.ledger.proxy import ProxyServer, ProxySource

    server = llama_server
    root = getattr(server, "root", None) or str(server.base_url).rstrip("/").removesuffix("/v1")
    metrics = LlamaCppSource(root)
    metrics.open()
    source = ProxySource(root)
    proxy = ProxyServer("127.0.0.1", 0, root, source.counter).start()
    try:
        body = {"model": "tiny", "messages": [{"role": "user", "content": "hello home lab " * 3}], "max_tokens": 8}
        for _ in range(3):
            with httpx.stream("POST", proxy.address + "/v1/chat/completions", json={**body, "stream": True},
                              timeout=120) as r:
                assert r.status_code == 200
                b"".join(r.iter_raw())
        assert httpx.post(proxy.address + "/v1/chat/completions", json=body, timeout=120).status_code == 200
        deadline = time.monotonic() + 5
        while source.counter.requests_total < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        (counted,) = source.collect().rows
        (served,) = metrics.collect().rows
    finally:
        proxy.stop()
    assert counted.requests == 4 and not counted.flags                 # nothing estimated
    assert (counted.input_tokens, counted.cached_tokens, counted.output_tokens) == \
        (served.input_tokens, served.cached_tokens, served.output_tokens)
