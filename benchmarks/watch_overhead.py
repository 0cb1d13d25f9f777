"""The cost of watching: CPU and memory of `benchbench watch`, and how fast its ledger grows.

Goal (issue 19): under 0.1% of one core and under 60 MB of memory on the watched machine, and a
ledger growing under 20 MB a month per machine.

CPU and memory. `benchbench watch` runs as its own process with every kind of source at once: power
(`--samplers auto`: whatever this host has, NVML on a GPU machine), a fake vLLM whose /metrics page is
as long as a real one's, a fake llama-server, and a counting proxy in front of a fake Ollama, while a
client sends a request to the vLLM and llama.cpp fakes every few seconds (so their counters move).
The proxy idles: what it costs per request it forwards is measured by proxy_latency.py. Its CPU time
(the sum of /proc/PID/task/*/schedstat, nanoseconds; /proc/PID/stat's clock ticks beside it) is read
once it has settled and again at the end, at two interval lengths: CPU per second = background
(power polling, idle threads) + cost of one interval ÷ interval length; the two runs give both
terms, and so the figure at the default 60 s. Memory: the peak resident set (VmHWM) of the process.

Growth. The ledger of a whole month at 60 s (43,200 intervals) is written with the real store code for
two machine shapes: a small one (one GPU, system, one source serving every interval) and a big one
(8 GPUs, 2 CPU packages, DRAM, wall plug, system; 3 sources × 2 models serving every interval: the
worst case, a busy machine). Bytes per interval from the live run are printed beside it.

    python benchmarks/watch_overhead.py [--seconds 60] [--intervals 1 5] [--direct 0] [--json]

Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
MONTH_S = 30 * 86400
TICK = os.sysconf("SC_CLK_TCK")


def serve() -> None:
    """Child process: fake vLLM, llama-server and Ollama; their URLs on stdout; until stdin closes."""
    from fakes_llm_servers import FakeOllama
    from ledger_helpers import FakeLlamaCpp, FakeVllm

    with FakeVllm(tg_tok_s=2000) as vllm, FakeLlamaCpp(tg_tok_s=2000) as llama, FakeOllama(tg_tok_s=2000) as oll:
        print(json.dumps({"vllm": vllm.url, "llamacpp": llama.url, "ollama": oll.url,
                          "models": [vllm.models[0], llama.models[0]]}), flush=True)
        sys.stdin.read()


def cpu_s(pid: int) -> float:
    """Seconds on a CPU of all the process's threads (schedstat: nanoseconds)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def ticks_s(pid: int) -> float:
    """utime + stime of the whole process (clock ticks, dead threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def client(urls: dict[str, Any], stop: threading.Event, every_s: float = 3.0) -> None:
    import httpx

    with httpx.Client(timeout=30) as c:
        while not stop.wait(every_s):
            for url, model in ((urls["vllm"], urls["models"][0]), (urls["llamacpp"], urls["models"][1])):
                c.post(url + "/v1/chat/completions", json={"model": model, "max_tokens": 32,
                                                            "messages": [{"role": "user", "content": "hi"}]})


def live(urls: dict[str, Any], interval_s: float, seconds: float, settle_s: float = 5.0) -> dict[str, Any]:
    """One `benchbench watch` process: CPU per second after it settled, peak memory, ledger bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "l.db"
        watch = subprocess.Popen(
            [sys.executable, "-m", "benchbench", "watch", "--ledger", str(ledger), "--interval", str(interval_s),
             "--vllm", urls["vllm"], "--llamacpp", urls["llamacpp"], "--proxy", f"127.0.0.1:0={urls['ollama']}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watch.stdout.readline()        # the proxy's address: it is up
        stop = threading.Event()
        load = threading.Thread(target=client, args=(urls, stop), daemon=True)
        load.start()
        time.sleep(settle_s)
        c0, k0, t0 = cpu_s(watch.pid), ticks_s(watch.pid), time.monotonic()
        time.sleep(seconds)
        c1, k1, t1 = cpu_s(watch.pid), ticks_s(watch.pid), time.monotonic()
        peak_kb, rss_kb = status_kb(watch.pid, "VmHWM"), status_kb(watch.pid, "VmRSS")
        anon_kb, file_kb = status_kb(watch.pid, "RssAnon"), status_kb(watch.pid, "RssFile")
        stop.set()
        load.join()
        watch.terminate()
        watch.wait(30)
        import sqlite3

        c = sqlite3.connect(ledger)
        intervals, energy_rows, work_rows, channels = (c.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM intervals", "SELECT count(*) FROM energy", "SELECT count(*) FROM work",
            "SELECT count(DISTINCT channel) FROM energy"))
        c.close()
        size = sum(p.stat().st_size for p in Path(tmp).glob("l.db*"))
    return {"interval_s": interval_s, "seconds": round(t1 - t0, 1), "cpu_s": round(c1 - c0, 4),
            "cpu_pct_of_core": round(100 * (c1 - c0) / (t1 - t0), 4),
            "cpu_s_from_ticks": round(k1 - k0, 3), "peak_rss_mb": round(peak_kb / 1024, 1),
            "rss_mb": round(rss_kb / 1024, 1), "rss_anon_mb": round(anon_kb / 1024, 1),
            "rss_file_mb": round(file_kb / 1024, 1), "intervals": intervals, "energy_channels": channels,
            "energy_rows": energy_rows, "work_rows": work_rows, "ledger_bytes": size,
            "bytes_per_interval": round(size / max(1, intervals))}


def fit(runs: list[dict[str, Any]]) -> dict[str, float]:
    """cpu/s = background + per_interval / interval, from the two shortest intervals measured."""
    (a, b) = sorted(runs, key=lambda r: r["interval_s"])[:2]
    ra, rb = a["cpu_s"] / a["seconds"], b["cpu_s"] / b["seconds"]
    ia, ib = a["interval_s"], b["interval_s"]
    per = max(0.0, (ra - rb) / (1 / ia - 1 / ib))
    bg = max(0.0, ra - per / ia)
    return {"background_cpu_pct": round(100 * bg, 4), "cpu_ms_per_interval": round(1000 * per, 3),
            "cpu_pct_at_60s": round(100 * (bg + per / 60), 4)}


def month(shape: str) -> dict[str, Any]:
    """A month at 60 s written with the real store: bytes on disk."""
    from benchbench.ledger.store import Ledger, Tick, WorkRow

    channels = ["gpu0", "system"] if shape == "small" else \
        [f"gpu{i}" for i in range(8)] + ["cpu-package0", "cpu-package1", "cpu-dram0", "wall", "system"]
    sources = [("proxy@http://127.0.0.1:11434", "llama3.1:8b")] if shape == "small" else \
        [(f"{k}@http://127.0.0.1:{p}", f"model-{m}") for k, p in (("vllm", 8000), ("llamacpp", 8080),
                                                                   ("proxy", 11434)) for m in range(2)]
    n = MONTH_S // 60
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "month.db"
        led = Ledger(path)
        led.start_session("u", "box", "host", "boot", 1, 1.7e9, 60.0, "0.1.0", {"roles": ["power"]})
        batch = []
        for k in range(n):
            t = Tick(k, 1.7e9 + 60 * k, 60.000123 + k % 7 * 1e-6, state={"edge": {"mono_s": 1e5 + 60 * k}})
            t.energy = [(ch, 6012.3456 + k % 13, "counter") for ch in channels]
            t.work = [WorkRow(src, model, 3 + k % 5, 2000 + k % 977, 500 + k % 311, 300 + k % 89, 12.345678 + k % 3)
                      for src, model in sources]
            batch.append(t)
            if len(batch) == 1000:
                led.write(batch)
                batch = []
        led.write(batch)
        led.close()
        size = sum(p.stat().st_size for p in Path(tmp).glob("month.db*"))
    return {"shape": shape, "intervals": n, "channels": len(channels), "work_rows_per_interval": len(sources),
            "mb_per_month": round(size / 1e6, 2), "bytes_per_interval": round(size / n)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured seconds per run (after 5 s settling)")
    ap.add_argument("--intervals", type=float, nargs="+", default=[1.0, 5.0])
    ap.add_argument("--direct", type=float, default=0.0, metavar="SECONDS",
                    help="also run at the default 60 s interval for this long")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve()
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        urls = json.loads(server.stdout.readline())
        runs = [live(urls, i, args.seconds) for i in args.intervals]
        if args.direct:
            runs.append(live(urls, 60.0, args.direct))
    finally:
        server.stdin.close()
        server.wait(10)
    result = {"runs": runs, "fit": fit(runs) if len(args.intervals) >= 2 else None,
              "month": [month("small"), month("big")]}
    if args.json:
        print(json.dumps(result, indent=1))
        return None
    for r in runs:
        print(f"interval {r['interval_s']:g} s: {r['cpu_pct_of_core']:.4f}% of a core over {r['seconds']:g} s, "
              f"peak RSS {r['peak_rss_mb']} MB (now {r['rss_anon_mb']} MB own + {r['rss_file_mb']} MB mapped files), "
              f"{r['energy_channels']} energy channel(s), "
              f"{r['bytes_per_interval']} B/interval")
    if result["fit"]:
        f = result["fit"]
        print(f"fit: background {f['background_cpu_pct']:.4f}% + {f['cpu_ms_per_interval']:.2f} ms per interval "
              f"→ {f['cpu_pct_at_60s']:.4f}% of a core at 60 s")
    for m in result["month"]:
        print(f"a month at 60 s, {m['shape']} machine ({m['channels']} channels, {m['work_rows_per_interval']} "
              f"work rows per interval): {m['mb_per_month']} MB ({m['bytes_per_interval']} B/interval)")
    return None


if __name__ == "__main__":
    main()
