"""The counting proxy: streaming forwarded byte for byte and as it arrives, headers and statuses kept,
tokens counted from Ollama and OpenAI answers (usage, llama.cpp timings, or chunks: estimated)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fakes_llm_servers import FakeOllama, FakeOpenAI, free_port

from benchbench.ledger.proxy import ProxyServer, ProxySource
from benchbench.ledger.proxy_count import ResponseReader

PIECES = [b'{"model":"m","response":"caf\xc3', b'\xa9","done":false}\n', b"\r\n\x00binary\xff tail\n",
          b'{"model":"m","done":true,"prompt_eval_count":7,"eval_count":3}\n']
GAP_S = 0.3


class _Scripted(BaseHTTPRequestHandler):
    """Sends PIECES as chunks, GAP_S apart, with odd headers; records what it was sent."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append({"headers": dict(self.headers), "body": self.rfile.read(length), "path": self.path})
        self.send_response(207, "Multi-Status Custom")
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("X-Upstream", "kept")
        self.send_header("Set-Cookie", "a=1")
        self.send_header("Set-Cookie", "b=2")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in PIECES:
            self.server.sent_at.append(time.perf_counter())    # before the write: it may arrive at once
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            time.sleep(GAP_S)
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def scripted():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    httpd.seen, httpd.sent_at = [], []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def proxy_for(url: str) -> tuple[ProxyServer, ProxySource]:
    source = ProxySource(url)
    return ProxyServer("127.0.0.1", 0, url, source.counter).start(), source


def settle(source: ProxySource, requests: int, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while source.counter.requests_total < requests and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_stream_arrives_byte_for_byte_and_piece_by_piece(scripted):
    httpd, url = scripted
    proxy, source = proxy_for(url)
    got, arrived = b"", []
    body = {"model": "m", "prompt": "été", "stream": True}
    with httpx.stream("POST", proxy.address + "/api/generate?x=1", json=body,
                      headers={"Authorization": "Bearer secret-token", "X-Client": "c"}) as r:
        assert r.status_code == 207 and r.reason_phrase == "Multi-Status Custom"
        assert r.headers["x-upstream"] == "kept" and r.headers.get_list("set-cookie") == ["a=1", "b=2"]
        for piece in r.iter_raw():
            got += piece
            arrived.append(time.perf_counter())
    settle(source, 1)
    proxy.stop()
    assert got == b"".join(PIECES)                     # every byte, the broken UTF-8 and the NUL included
    # each piece reached the client before the upstream sent the next one: streamed, not buffered
    assert len(arrived) >= len(PIECES)
    for sent, nxt in zip(httpd.sent_at, httpd.sent_at[1:]):
        assert any(sent <= t < nxt for t in arrived), (httpd.sent_at, arrived)
    seen = httpd.seen[0]
    assert seen["path"] == "/api/generate?x=1" and json.loads(seen["body"]) == body
    assert seen["headers"]["Authorization"] == "Bearer secret-token" and seen["headers"]["X-Client"] == "c"
    assert source.counter.requests_total == 1
    (row,) = source.collect().rows
    assert (row.model, row.requests, row.input_tokens, row.output_tokens) == ("m", 1, 7, 3)
    assert row.busy_s >= GAP_S * len(PIECES) * 0.9


def test_the_proxy_adds_no_header_of_its_own(scripted):
    httpd, url = scripted
    proxy, _ = proxy_for(url)
    with socket.create_connection(("127.0.0.1", int(proxy.address.rsplit(":", 1)[1]))) as s:
        s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        s.settimeout(5)
        data = b""
        while b"0\r\n\r\n" not in data:
            data += s.recv(65536)
    proxy.stop()
    assert set(httpd.seen[0]["headers"]) == {"Host", "Content-Length"}   # no User-Agent, Accept-Encoding...
    assert data.startswith(b"HTTP/1.1 207 Multi-Status Custom\r\n")


def test_ollama_streamed_and_whole_answers_are_counted_per_model():
    with FakeOllama(models=("llama3.2:3b", "qwen3:8b")) as fake:
        proxy, source = proxy_for(fake.url)
        for model, stream in (("llama3.2:3b", True), ("qwen3:8b", False), ("llama3.2:3b", False)):
            r = httpx.post(proxy.address + "/api/generate", json={"model": model, "prompt": "a b c d",
                                                                    "stream": stream})
            assert r.status_code == 200
        missing = httpx.post(proxy.address + "/api/chat", json={"model": "nope", "messages": []})
        assert missing.status_code == 404
        assert httpx.get(proxy.address + "/api/tags").json()["models"]
        settle(source, 3)
        rows = {r.model: r for r in source.collect().rows}
        proxy.stop()
        log = fake.log
    assert rows["llama3.2:3b"].requests == 2 and rows["qwen3:8b"].requests == 1
    assert sum(r.output_tokens for r in rows.values()) == sum(g["eval_count"] for g in log)
    assert sum(r.input_tokens or 0 for r in rows.values()) == sum(g["prompt_eval_count"] for g in log)
    assert "nope" not in rows or rows["nope"].requests == 0


@pytest.mark.parametrize("flavor,usage,estimated", [("vllm", "requested", False), ("llamacpp", "never", False),
                                                    ("vllm", "never", True)])
def test_openai_answers_are_counted_from_usage_timings_or_chunks(flavor, usage, estimated):
    with FakeOpenAI(flavor=flavor, usage=usage) as fake:
        proxy, source = proxy_for(fake.url)
        model = fake.models[0]
        body = {"model": model, "messages": [{"role": "user", "content": "one two three"}], "stream": True,
                "stream_options": {"include_usage": True}}
        with httpx.stream("POST", proxy.address + "/v1/chat/completions", json=body) as r:
            for _ in r.iter_bytes():
                pass
        whole = httpx.post(proxy.address + "/v1/completions", json={"model": model, "prompt": "one two"})
        settle(source, 2)
        (row,) = source.collect().rows
        proxy.stop()
        streamed_prompt = fake.log[0]["prompt_tokens"]
    assert row.requests == 2 and row.output_tokens == 80
    assert bool(row.flags & 8) is estimated
    if not estimated:
        assert row.input_tokens == streamed_prompt + whole.json()["usage"]["prompt_tokens"]
    else:
        assert row.input_tokens == whole.json()["usage"]["prompt_tokens"]   # only the answer that said


def test_an_unreachable_upstream_is_a_502_and_no_request():
    url = f"http://127.0.0.1:{free_port()}"
    proxy, source = proxy_for(url)
    r = httpx.post(proxy.address + "/api/chat", json={"model": "m", "messages": []})
    proxy.stop()
    assert r.status_code == 502 and "unreachable" in r.json()["error"]
    rows = source.collect().rows
    assert all(row.requests == 0 for row in rows)


def test_busy_time_is_the_union_of_requests_in_flight():
    with FakeOllama(tg_tok_s=100, gen_len=20) as fake:            # 0.2 s per answer
        proxy, source = proxy_for(fake.url)
        t0 = time.monotonic()
        threads = [threading.Thread(target=lambda: httpx.post(proxy.address + "/api/generate", timeout=10,
                                                              json={"model": "llama3.2:3b", "prompt": "x"}))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        settle(source, 4)
        (row,) = source.collect().rows
        proxy.stop()
    assert row.requests == 4
    assert 0.2 <= row.busy_s <= wall            # four overlapping answers: not 4 × 0.2 s


def test_a_reader_takes_usage_from_the_final_event_and_ignores_garbage():
    r = ResponseReader("openai", "text/event-stream")
    for piece in (b'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: not json\n\n',
                  b'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,',
                  b'"prompt_tokens_details":{"cached_tokens":4}}}\n\ndata: [DONE]\n\n'):
        r.feed(piece)
    u = r.usage()
    assert (u.input_tokens, u.cached_tokens, u.output_tokens, u.estimated) == (9, 4, 2, False)
    o = ResponseReader("ollama", "application/json")
    o.feed(b'{"model":"m","done":true,\n"prompt_eval_count":5,"prompt_eval_cached_count":3,"eval_count":1}')
    u = o.usage()
    assert (u.input_tokens, u.cached_tokens, u.output_tokens) == (5, 3, 1)
