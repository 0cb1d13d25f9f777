"""How much do the ollama and openai clients themselves distort what they measure?

A fake server (tests/fakes_llm_servers.py) runs in its own process and streams at a fixed, known rate;
the backends measure it as they would a real server. Reported per backend and rate:

- tg_tok_s: ollama's comes from the server's own counters (eval_count / eval_duration), openai's is
  measured by the client as (gen_tokens − 1) / (e2e − ttft); the truth is the configured rate.
- ttft_s: measured by the client (request sent → first token received); the truth is the server's own
  time from receiving the request to writing the first token (openai: also the configured ttft).

Pass: |tg_tok_s error| ≤ 1% and |ttft_s error| ≤ 5 ms (median over the measured requests).

    python benchmarks/llm_client_overhead.py [--rates 50 500 2000] [--tokens 128] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

OPENAI_TTFT_S = 0.200   # the fake OpenAI server's time to first token
OLLAMA_PP_TOK_S = 100.0  # the fake Ollama's prefill speed (a ~20-token prompt: ~0.2 s)


def serve(kind: str, rate: float) -> None:
    """Child process: run one fake server, print its URL, serve until stdin closes."""
    from fakes_llm_servers import FakeOllama, FakeOpenAI

    fake = (FakeOllama(tg_tok_s=rate, pp_tok_s=OLLAMA_PP_TOK_S, gen_len=None) if kind == "ollama" else
            FakeOpenAI(tg_tok_s=rate, ttft_s=OPENAI_TTFT_S, pp_tok_s=None, gen_len=None))
    with fake:
        print(fake.url, flush=True)
        sys.stdin.read()


def measure(kind: str, rate: float, tokens: int, runs: int) -> dict[str, Any]:
    import httpx
    from fakes_llm_servers import build, iterate

    child = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--rate", str(rate)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = child.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            params = {"host": url} if kind == "ollama" else {"base_url": url + "/v1"}
            w = build(Path(tmp), kind, model="llama3.2:3b" if kind == "ollama" else "llama-3.2-3b-instruct",
                      max_tokens=tokens, **params)
            w.setup()
            results = [iterate(w, i, Path(tmp)).metrics for i in range(runs + 1)][1:]   # first: warmup
            w.teardown()
        log = httpx.get(url + "/_fake/log").json()["log"][-runs:]
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    return summarize(kind, rate, results, log)


def summarize(kind: str, rate: float, results: list[dict], log: list[dict]) -> dict[str, Any]:
    server_ttft = [t["first_token_s"] - t["recv_s"] for t in log]
    ttft_err = [m["ttft_s"] - s for m, s in zip(results, server_ttft)]
    tg_err = [m["tg_tok_s"] / rate - 1 for m in results]
    row = {"backend": kind, "rate_tok_s": rate, "runs": len(results),
           "tg_tok_s_median": statistics.median(m["tg_tok_s"] for m in results),
           "tg_error_median": statistics.median(tg_err), "tg_error_max_abs": max(map(abs, tg_err)),
           "ttft_s_median": statistics.median(m["ttft_s"] for m in results),
           "server_ttft_s_median": statistics.median(server_ttft),
           "ttft_overhead_ms_median": 1000 * statistics.median(ttft_err),
           "ttft_overhead_ms_max": 1000 * max(ttft_err)}
    if kind == "openai":
        row["ttft_vs_configured_ms_median"] = 1000 * statistics.median(m["ttft_s"] - OPENAI_TTFT_S
                                                                       for m in results)
    row["pass"] = abs(row["tg_error_median"]) <= 0.01 and abs(row["ttft_overhead_ms_median"]) <= 5
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rates", type=float, nargs="+", default=[50.0, 500.0, 2000.0])
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--serve", choices=("ollama", "openai"), help=argparse.SUPPRESS)
    p.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.rate)
        return 0
    load_before = os.getloadavg()[0]
    rows = [measure(kind, rate, args.tokens, args.runs) for kind in ("ollama", "openai") for rate in args.rates]
    context = {"cpus": os.cpu_count(), "load_avg_1min": [load_before, os.getloadavg()[0]],
               "tokens": args.tokens, "runs": args.runs}
    if args.json:
        print(json.dumps({"context": context, "rows": rows}, indent=1))
    else:
        print(f"{context['cpus']} CPUs, 1-minute load average {load_before:.1f} before, "
              f"{context['load_avg_1min'][1]:.1f} after; {args.tokens} tokens, median of {args.runs} runs")
        print(f"{'backend':8} {'rate':>7} {'tg_tok_s':>9} {'tg err':>8} {'ttft_s':>8} "
              f"{'server ttft':>11} {'overhead':>9} {'max':>7}  pass")
        for r in rows:
            print(f"{r['backend']:8} {r['rate_tok_s']:7.0f} {r['tg_tok_s_median']:9.2f} "
                  f"{100 * r['tg_error_median']:+7.3f}% {r['ttft_s_median']:8.4f} {r['server_ttft_s_median']:11.4f} "
                  f"{r['ttft_overhead_ms_median']:7.2f}ms {r['ttft_overhead_ms_max']:5.2f}ms  "
                  f"{'yes' if r['pass'] else 'NO'}")
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
