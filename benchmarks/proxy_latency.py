"""What does `benchbench proxy` add to each request?

A fake Ollama (tests/fakes_llm_servers.py) runs in its own process and streams at a fixed rate;
`benchbench proxy` runs in another, in front of it, counting into a ledger; this process sends the
same requests alternately straight to the server and through the proxy, one at a time, on kept-alive
connections (as a client library does), and compares per request:

- time to the first body byte (what a user waits for before the first token);
- time to the last byte (the whole answer);
- the gaps between streamed chunks (whether streaming stays smooth);
- the proxy process's CPU time per request forwarded and counted (/proc/PID/stat, Linux).

Added latency = proxy − direct (medians, and p95 of the per-pair differences). Streamed (NDJSON,
`/api/chat`) and whole answers (`"stream": false`) are measured apart.

    python benchmarks/proxy_latency.py [--requests 200] [--rate 500] [--tokens 64] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def serve(rate: float, tokens: int) -> None:
    """Child process: the fake Ollama, its URL on stdout, serving until stdin closes."""
    from fakes_llm_servers import FakeOllama

    with FakeOllama(tg_tok_s=rate, pp_tok_s=1e6, gen_len=tokens) as fake:
        fake.preload("llama3.2:3b")
        print(fake.url, flush=True)
        sys.stdin.read()


def one(client: Any, url: str, stream: bool) -> dict[str, Any]:
    body = {"model": "llama3.2:3b", "messages": [{"role": "user", "content": "tell me about the jevons paradox"}],
            "stream": stream}
    t0 = time.perf_counter()
    first, arrivals, size = None, [], 0
    with client.stream("POST", url + "/api/chat", json=body) as r:
        for piece in r.iter_raw():
            now = time.perf_counter()
            first = first or now
            arrivals.append(now)
            size += len(piece)
    end = time.perf_counter()
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    return {"first_s": (first or end) - t0, "total_s": end - t0, "gap_s": statistics.mean(gaps) if gaps else 0.0,
            "bytes": size}


def run(requests: int, rate: float, tokens: int) -> dict[str, Any]:
    import httpx

    server = subprocess.Popen([sys.executable, __file__, "--serve", "--rate", str(rate), "--tokens", str(tokens)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tmp = tempfile.TemporaryDirectory()
    proxy = None
    try:
        upstream = server.stdout.readline().strip()
        proxy = subprocess.Popen([sys.executable, "-m", "benchbench", "proxy", upstream, "--listen", "127.0.0.1:0",
                                  "--ledger", str(Path(tmp.name) / "l.db"), "--interval", "60"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        line = proxy.stdout.readline()
        via = line.split()[1]
        out: dict[str, Any] = {"requests": requests, "rate_tok_s": rate, "tokens": tokens}
        with httpx.Client(timeout=30) as client:
            for stream in (True, False):
                for _ in range(5):   # warm both paths (connections, model loaded)
                    one(client, upstream, stream), one(client, via, stream)
                cpu0 = process_cpu_s(proxy.pid)
                pairs = [(one(client, upstream, stream), one(client, via, stream)) for _ in range(requests)]
                key = "streamed" if stream else "whole"
                out[key] = summarize(pairs)
                out[key]["proxy_cpu_ms_per_request"] = round(1000 * (process_cpu_s(proxy.pid) - cpu0) / requests, 3)
        out["counted_requests"] = counted(Path(tmp.name) / "l.db", proxy)
        return out
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        server.stdin.close()
        server.wait(10)
        tmp.cleanup()


def process_cpu_s(pid: int) -> float:
    """utime + stime of the proxy process (all its threads, finished ones included)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def counted(ledger: Path, proxy: Any) -> int | None:
    """Requests the proxy wrote into its ledger (after it stops: the last interval is written then)."""
    import sqlite3

    proxy.terminate()
    proxy.wait(10)
    c = sqlite3.connect(ledger)
    try:
        return c.execute("SELECT sum(requests) FROM work").fetchone()[0]
    finally:
        c.close()


def summarize(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    def ms(values: list[float]) -> float:
        return round(1000 * statistics.median(values), 3)

    def p95(values: list[float]) -> float:
        return round(1000 * sorted(values)[int(0.95 * (len(values) - 1))], 3)

    out = {}
    for key in ("first_s", "total_s", "gap_s"):
        diff = [p[key] - d[key] for d, p in pairs]
        name = key.removesuffix("_s")
        out[f"{name}_direct_ms"] = ms([d[key] for d, _ in pairs])
        out[f"{name}_proxy_ms"] = ms([p[key] for _, p in pairs])
        out[f"{name}_added_ms_median"] = ms(diff)
        out[f"{name}_added_ms_p95"] = p95(diff)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--rate", type=float, default=500.0, help="fake server tokens/s")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(args.rate, args.tokens)
    result = run(args.requests, args.rate, args.tokens)
    if args.json:
        print(json.dumps(result, indent=1))
        return None
    print(f"{args.requests} request pairs, fake Ollama at {args.rate:g} tok/s, {args.tokens} tokens each; "
          f"{result['counted_requests']} requests counted by the proxy")
    for kind in ("streamed", "whole"):
        r = result[kind]
        print(f"{kind:9s} first byte {r['first_direct_ms']:.2f} → {r['first_proxy_ms']:.2f} ms "
              f"(+{r['first_added_ms_median']:.2f}, p95 +{r['first_added_ms_p95']:.2f}); last byte "
              f"{r['total_direct_ms']:.2f} → {r['total_proxy_ms']:.2f} ms (+{r['total_added_ms_median']:.2f}, "
              f"p95 +{r['total_added_ms_p95']:.2f}); chunk gap +{r['gap_added_ms_median']:.3f} ms; "
              f"proxy CPU {r['proxy_cpu_ms_per_request']:.2f} ms/request")
    return None


if __name__ == "__main__":
    main()
