"""Part 15's whole check on a real NVIDIA GPU, the way a new user would run benchbench.

`run`: starts an independent reader of NVML's energy counter (benchmarks/energy_trace.py, its own process,
every 10 ms, on time.monotonic() like benchbench), then `benchbench doctor`, `benchbench idle`, and
`benchbench run benchmarks/gpu_trust_suite.yaml` (llama-3.2-1b swept over prompt length, llama-3.1-8b with
512 prompt tokens and 256 new, both dummy weights in bf16 on the GPU; smollm2-135m forced onto the CPU
while the GPU sits idle, warm from the 8B). Then `analyze`.

`analyze`: per iteration, benchbench's gpu0 energy against the trace's energy over the same
[mono_start_s, mono_end_s], with the trace's own edge uncertainty; setup and load times; the warnings of
each record (level and code).

The trace's energy at an instant t: the counter changes in steps; each change is placed at the midpoint
of the two reads around it (± half their gap: the timing part of the uncertainty). Between two changes the
step's energy is spread in proportion to the instantaneous power read beside the counter (linearly when
the driver has no instantaneous field); the difference between that and a linear spread is the shape
part of the uncertainty.

    python benchmarks/gpu_trust.py run --out "$OUT"          # on the GPU machine (about 5 minutes)
    python benchmarks/gpu_trust.py analyze --results DIR --trace trace.csv
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class Trace:
    """The independent counter trace (energy_trace.py's CSV) as an energy function of time."""

    def __init__(self, rows: list[tuple[float, float, float | None]]) -> None:
        self.t = [r[0] for r in rows]
        self.e = [r[1] for r in rows]
        self.inst = [(r[0], r[2]) for r in rows if r[2] is not None]
        self.corners: list[tuple[float, float, float]] = []   # (instant, half-width, counter after)
        for i in range(1, len(rows)):
            if self.e[i] != self.e[i - 1]:
                self.corners.append(((self.t[i - 1] + self.t[i]) / 2, (self.t[i] - self.t[i - 1]) / 2, self.e[i]))
        self.tau = [c[0] for c in self.corners]

    @classmethod
    def load(cls, path: Path) -> Trace:
        rows = []
        for line in path.read_text().splitlines()[1:]:
            parts = line.split(",")
            rows.append((float(parts[0]), float(parts[2]), float(parts[3]) if parts[3] else None))
        return cls(rows)

    def period_s(self) -> float | None:
        gaps = [b - a for a, b in zip(self.tau, self.tau[1:])]
        return statistics.median(gaps) if gaps else None

    def _inst_integral(self, a: float, b: float) -> float | None:
        if len(self.inst) < 2:
            return None
        ts = [x[0] for x in self.inst]
        i, j = bisect.bisect_right(ts, a), bisect.bisect_left(ts, b)
        if i == 0 or j >= len(ts):
            return None
        pts = [(a, _lerp(self.inst, a)), *self.inst[i:j], (b, _lerp(self.inst, b))]
        return sum((pts[k + 1][0] - pts[k][0]) * (pts[k][1] + pts[k + 1][1]) / 2 for k in range(len(pts) - 1))

    def at(self, t: float) -> tuple[float, float] | None:
        """(energy in J at t, uncertainty in J), or None outside the trace."""
        k = bisect.bisect_right(self.tau, t) - 1
        if k < 0 or k + 1 >= len(self.corners):
            return None
        (ta, wa, ea), (tb, wb, eb) = self.corners[k], self.corners[k + 1]
        step = eb - ea
        linear = ea + step * (t - ta) / (tb - ta)
        part, whole = self._inst_integral(ta, t), self._inst_integral(ta, tb)
        shaped = ea + step * part / whole if part is not None and whole else linear
        power_w = step / (tb - ta)
        return shaped, abs(shaped - linear) + power_w * max(wa, wb)

    def energy(self, t0: float, t1: float) -> tuple[float, float] | None:
        a, b = self.at(t0), self.at(t1)
        if a is None or b is None:
            return None
        return b[0] - a[0], a[1] + b[1]


def _lerp(points: list[tuple[float, float]], t: float) -> float:
    ts = [p[0] for p in points]
    i = min(max(bisect.bisect_left(ts, t), 1), len(points) - 1)
    (ta, va), (tb, vb) = points[i - 1], points[i]
    return va + (vb - va) * (t - ta) / (tb - ta) if tb > ta else va


# --- analysis ------------------------------------------------------------------------------------

def load_records(results: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(results.rglob("*.json")):
        rec = json.loads(path.read_text())
        if isinstance(rec, dict) and rec.get("type") in ("run", "idle"):
            out.append(rec)
    return sorted(out, key=lambda r: r.get("started_at") or "")


def compare(records: list[dict[str, Any]], trace: Trace) -> list[dict[str, Any]]:
    rows = []
    for rec in records:
        for it in rec.get("iterations") or []:
            gpu = (it.get("energy") or {}).get("gpu0")
            if not gpu or it.get("error") or "mono_start_s" not in it:
                continue
            ref = trace.energy(it["mono_start_s"], it["mono_end_s"])
            if ref is None or ref[0] <= 0:
                continue
            rows.append({"workload": rec["workload"]["name"], "index": it["index"], "warmup": it["warmup"],
                         "duration_s": it["duration_s"], "bench_j": gpu["joules"], "source": gpu["source"],
                         "trace_j": ref[0], "error_pct": (gpu["joules"] - ref[0]) / ref[0] * 100,
                         "trace_unc_pct": ref[1] / ref[0] * 100})
    return rows


def by_length(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for label, lo, hi, goal in (("< 1 s", 0, 1, None), ("1-4 s", 1, 4, 1.0), (">= 4 s", 4, 1e9, 0.5)):
        sel = [r for r in rows if lo <= r["duration_s"] < hi]
        if sel:
            worst = max(sel, key=lambda r: abs(r["error_pct"]))
            out.append({"iterations": label, "n": len(sel), "goal_pct": goal,
                        "median_abs_pct": statistics.median(abs(r["error_pct"]) for r in sel),
                        "worst_pct": worst["error_pct"], "worst_trace_unc_pct": worst["trace_unc_pct"],
                        "median_trace_unc_pct": statistics.median(r["trace_unc_pct"] for r in sel)})
    return out


def analyze(results: Path, trace_path: Path | None) -> dict[str, Any]:
    records = load_records(results)
    out: dict[str, Any] = {"setup": [], "warnings": []}
    for rec in records:
        name = rec["workload"]["name"] if rec["type"] == "run" else "idle"
        facts = (rec.get("workload") or {}).get("facts") or {}
        if rec["type"] == "run":
            out["setup"].append({"workload": name, "setup_s": facts.get("setup_s"), "load_s": facts.get("load_s"),
                                 "device": facts.get("device"), "weights_source": facts.get("weights_source")})
        for w in rec.get("warnings") or []:
            out["warnings"].append({"workload": name, "level": w.get("level", "?"), "code": w["code"],
                                    "message": w["message"]})
    if trace_path is not None and trace_path.exists():
        trace = Trace.load(trace_path)
        rows = compare([r for r in records if r["type"] == "run"], trace)
        out.update({"trace_period_s": trace.period_s(), "iterations": rows, "by_length": by_length(rows)})
    return out


def show(summary: dict[str, Any]) -> None:
    print("\n== setup (s)")
    for s in summary["setup"]:
        print(f"  {s['workload']:<48} setup {s['setup_s'] or 0:7.2f}  load {s['load_s'] or 0:7.2f}  {s['device']}")
    if "iterations" in summary:
        print(f"\n== energy per iteration: benchbench gpu0 vs the independent trace "
              f"(counter period {summary['trace_period_s'] or 0:.4f} s)")
        for r in summary["iterations"]:
            print(f"  {r['workload']:<48} it{r['index']}{'w' if r['warmup'] else ' '} {r['duration_s']:6.2f} s "
                  f"{r['bench_j']:9.1f} J ({r['source'][:4]}) trace {r['trace_j']:9.1f} J  "
                  f"error {r['error_pct']:+6.2f}%  trace ±{r['trace_unc_pct']:.2f}%")
        for b in summary["by_length"]:
            print(f"  {b['iterations']:>7}: n={b['n']:<3} median |error| {b['median_abs_pct']:.2f}%  worst "
                  f"{b['worst_pct']:+.2f}% (trace ±{b['worst_trace_unc_pct']:.2f}% there; median trace "
                  f"±{b['median_trace_unc_pct']:.2f}%)  goal {b['goal_pct'] or '-'}")
    print("\n== warnings")
    for w in summary["warnings"]:
        print(f"  {w['workload']:<48} {w['level']:<8} {w['code']:<24} {w['message'][:140]}")


# --- the chain ---------------------------------------------------------------------------------------

def sh(cmd: list[str], log: Any, timeout_s: float) -> int:
    log.write(f"\n$ {' '.join(cmd)}\n")
    log.flush()
    done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s, check=False, cwd=ROOT)
    log.write(f"(exit {done.returncode})\n")
    log.flush()
    return done.returncode


def run_chain(out: Path, results: Path, trace_ms: float) -> Path:
    py = sys.executable
    out.mkdir(parents=True, exist_ok=True)
    trace_path = out / "trace.csv"
    log_path = out / "chain.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    tracer = subprocess.Popen([py, str(HERE / "energy_trace.py"), "--out", str(trace_path), "--interval-ms",
                               str(trace_ms), "--seconds", "1200"], env=env)
    t0 = time.monotonic()
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            sh(["nvidia-smi", "--query-gpu=name,driver_version,power.limit,power.draw,clocks.sm,utilization.gpu",
                "--format=csv"], log, 30)
            sh([py, "-c", "import torch, transformers; print('torch', torch.__version__, 'cuda',"
                " torch.version.cuda, 'transformers', transformers.__version__)"], log, 60)
            sh([py, "-m", "benchbench", "doctor"], log, 120)
            sh([py, "-m", "benchbench", "idle", "--seconds", "20", "--settle", "3", "--samplers", "nvml",
                "--machine", str(HERE / "gpu_trust_machine.yaml"), "--results", str(results)], log, 120)
            sh([py, "-m", "benchbench", "run", str(HERE / "gpu_trust_suite.yaml"), "--results", str(results)],
               log, 900)
    finally:
        time.sleep(0.5)
        tracer.terminate()
        tracer.wait(10)
    print(f"chain done in {time.monotonic() - t0:.0f} s; log {log_path}")
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        tar.add(results, arcname="results")
    return trace_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "/tmp/gpu-trust")))
    r.add_argument("--results", type=Path, default=Path("/tmp/gpu-trust-results"))
    r.add_argument("--trace-ms", type=float, default=10.0)
    a = sub.add_parser("analyze")
    a.add_argument("--results", type=Path, required=True)
    a.add_argument("--trace", type=Path)
    a.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        if args.results.exists():
            shutil.rmtree(args.results)
        trace = run_chain(args.out, args.results, args.trace_ms)
        summary = analyze(args.results, trace)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    else:
        summary = analyze(args.results, args.trace)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1))
    show(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
