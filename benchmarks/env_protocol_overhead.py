"""What does running a backend in a worker process cost per iteration? (docs/envs.md)

The test backend `version-probe` (tests/envprobe/) runs in a worker started as the runner starts one
(EnvWorkload), with the runner's own clock around each run_once() and a power-monitor mark on the
worker's start event. Per iteration:

- overhead_s = the parent's wall time around run_once() − the worker's own window (its duration_s):
  the request, the start event, the reply (JSON encode and decode) and the scheduling in between.
  The record keeps both (`wall_s`, `duration_s`), so this is the figure every record can show.
- ping_s: the round trip of an empty request (the protocol's floor).
- in_process_s: the same run_once() called in this process, for scale.

Payloads: the probe's metrics alone, with 1,000 floats in `raw` (e.g. per-token times of a long
generation, about 17 kB of JSON) and with 10,000 (about 170 kB: JSON's cost per value shows).
Target: median overhead under 5 ms per iteration for payloads up to 1,000 values.

    python benchmarks/env_protocol_overhead.py [--iterations 300] [--python PATH] [--json]

--python: the worker's interpreter (default: this machine's base interpreter with -S, no
site-packages: the worker needs only the standard library and benchbench).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

TARGET_S = 0.005
PAYLOADS = (0, 1_000, 10_000)
TARGET_PAYLOAD = 1_000     # the target holds up to this many values in raw


def spec(raw_floats: int) -> Any:
    from envprobe.backend import VersionProbe

    from benchbench.envs.worker import WorkerSpec

    params = {"text": "hello there", "package": "wave", "sleep_s": 0.0, "raw_floats": raw_floats,
              "chatter": False, "seed": 42}
    return VersionProbe, WorkerSpec("bench", "bench", "tts", "version-probe", params)


def measure(python: str, flags: tuple[str, ...], iterations: int, raw_floats: int, folder: Path) -> dict[str, Any]:
    from benchbench.envs.proxy import EnvWorkload
    from benchbench.workloads.base import IterationContext

    cls, ws = spec(raw_floats)
    marks: list[float] = []
    proxy = EnvWorkload(ws, cls, None, python=python, python_flags=flags)
    facts = proxy.setup()
    overheads, durations = [], []
    try:
        for i in range(iterations):
            ctx = IterationContext(i, False, folder, f"w{i}", mark=lambda: marks.append(time.monotonic()))
            t0 = time.monotonic()
            result = proxy.run_once(ctx)
            t1 = time.monotonic()
            w0, w1 = result.window_s
            overheads.append((t1 - t0) - (w1 - w0))
            durations.append(w1 - w0)
    finally:
        proxy.teardown()
    local = cls(ws)
    local.setup()
    in_process = []
    for i in range(iterations):
        ctx = IterationContext(i, False, folder, f"p{i}")
        t0 = time.monotonic()
        local.run_once(ctx)
        in_process.append(time.monotonic() - t0)
    return {"raw_floats": raw_floats, "iterations": iterations, "ping_s": facts["worker"]["ping_s"],
            "worker_start_s": facts["worker"]["start_s"], "overhead_s": summary(overheads),
            "worker_duration_s": summary(durations), "in_process_s": summary(in_process),
            "marks_inside_window": len(marks) == iterations}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))],
            "max": ordered[-1], "mean": statistics.fmean(ordered)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--python", help="the worker's interpreter")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from benchbench.envs.spec import base_executable

    python, flags = (args.python, ("-s",)) if args.python else (base_executable(), ("-s", "-S"))
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(python, flags, args.iterations, n, Path(tmp)) for n in PAYLOADS]
    if args.json:
        print(json.dumps({"python": python, "rows": rows}, indent=1))
    else:
        print(f"worker: {python} {' '.join(flags)}; {args.iterations} iterations per payload")
        for r in rows:
            o, p = r["overhead_s"], r["in_process_s"]
            print(f"raw floats {r['raw_floats']:>6}: overhead median {o['median'] * 1e3:.3f} ms, "
                  f"p95 {o['p95'] * 1e3:.3f} ms, max {o['max'] * 1e3:.3f} ms; ping {r['ping_s'] * 1e3:.3f} ms; "
                  f"run_once in-process median {p['median'] * 1e3:.3f} ms; worker start {r['worker_start_s']:.3f} s")
    worst = max(r["overhead_s"]["median"] for r in rows if r["raw_floats"] <= TARGET_PAYLOAD)
    ok = worst < TARGET_S and all(r["marks_inside_window"] for r in rows)
    print(f"{'PASS' if ok else 'FAIL'}: median overhead {worst * 1e3:.3f} ms (target < {TARGET_S * 1e3:.0f} ms "
          f"up to {TARGET_PAYLOAD} values in raw)",
          file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
