"""`watch` against a real `llama-server --metrics` (part 14's build from source, its `llama_server`
fixture): the tokens the ledger holds equal what the server said it served, request by request."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from benchbench.ledger.llamacpp import LlamaCppSource
from benchbench.ledger.recorder import Recorder

try:
    import llamacpp_helpers  # noqa: F401  (part 14: tests/llamacpp_helpers.py and its fixtures)
    WHY_NOT = None
except ImportError:
    WHY_NOT = ("needs part 14's real llama-server fixture (`llama_server` in tests/llamacpp_helpers.py, branch "
               "p14), which is not merged into this branch yet")

pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")


def test_watch_counts_what_a_real_llama_server_served(request, tmp_path):
    server = request.getfixturevalue("llama_server")
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
