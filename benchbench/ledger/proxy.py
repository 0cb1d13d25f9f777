"""`benchbench proxy`: a pass-through HTTP proxy in front of an Ollama or OpenAI-compatible server.

Every request goes to the upstream unchanged (hop-by-hop headers aside, as HTTP requires); the
answer comes back with the upstream's status, headers and body bytes exactly as they arrived, each
piece written to the client as soon as it is read (a streamed answer stays streamed: NDJSON or
server-sent events, chunk by chunk). Only after a piece has been forwarded is it read for token
counts (proxy_count.py). What the proxy adds per request is measured by benchmarks/proxy_latency.py.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .proxy_count import ProxyCounter, ResponseReader, api_of
from .sources import Collected, Source

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
MAX_REQUEST_BYTES = 256 << 20


class ProxySource(Source):
    """The proxy's counts as a ledger source."""

    kind = "proxy"
    busy_basis = "in-flight"

    def __init__(self, upstream: str, counter: ProxyCounter | None = None) -> None:
        super().__init__(upstream)
        self.counter = counter or ProxyCounter(self.name)

    def collect(self) -> Collected:
        return Collected(rows=self.counter.take())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._forward()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                size += length
                if size > MAX_REQUEST_BYTES:
                    return None
                parts.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self) -> None:
        import httpx

        body = self._read_body()
        if body is None:
            return self._error(413, "request body too large")
        api = api_of(self.path)
        model = _model(body) if api else None
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        upstream = self.server.upstream
        request = upstream.client.build_request(self.command, upstream.url + self.path, headers=headers,
                                                content=body)
        if model is not None:
            upstream.counter.begin(model)
        usage = None
        try:
            try:
                response = upstream.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                return self._error(502, f"benchbench proxy: upstream {upstream.url} unreachable: {exc}")
            try:
                usage = self._relay(response, api)
            finally:
                response.close()
        finally:
            if model is not None:
                upstream.counter.end(model, usage)
        return None

    def _relay(self, response: Any, api: str | None) -> Any:
        """Status, headers and body as they come; returns the usage read from a counted answer."""
        self.send_response_only(response.status_code, response.reason_phrase)
        length = response.headers.get("content-length")
        for key, value in response.headers.multi_items():
            if key.lower() not in HOP_BY_HOP or (key.lower() == "content-length" and length is not None):
                self.send_header(key, value)
        chunked = length is None and self.command != "HEAD" and response.status_code not in (204, 304)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        reader = ResponseReader(api, response.headers.get("content-type", "")) \
            if api and response.status_code < 400 else None
        try:
            for piece in response.iter_raw():
                if not piece:
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if reader is not None:
                    reader.feed(piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (ConnectionError, OSError):
            self.close_connection = True     # the client went away: stop reading the upstream
        except Exception:  # noqa: BLE001 - the upstream broke off mid-answer: end the client's answer too
            self.close_connection = True
        return reader.usage() if reader is not None else None

    def _error(self, status: int, message: str) -> None:
        data = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _model(body: bytes) -> str:
    try:
        obj = json.loads(body) if body else {}
    except ValueError:
        return ""
    return str(obj.get("model") or "") if isinstance(obj, dict) else ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    upstream: Upstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


class Upstream:
    """The server behind the proxy: its address, a pooled HTTP client, the counter."""

    def __init__(self, url: str, counter: ProxyCounter, timeout_s: float = 600.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.counter = counter
        self.client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0),
                                   limits=httpx.Limits(max_connections=256, max_keepalive_connections=32))
        for key in list(self.client.headers):   # no User-Agent, Accept-Encoding... of our own
            del self.client.headers[key]


class ProxyServer:
    """Listens on host:port and forwards to `upstream`; start() runs it in a thread."""

    def __init__(self, host: str, port: int, upstream: str, counter: ProxyCounter) -> None:
        self.upstream = Upstream(upstream, counter)
        self.httpd = _Server((host, port), _Handler)
        self.httpd.upstream = self.upstream
        self.address = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> ProxyServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="benchbench-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.upstream.client.close()
