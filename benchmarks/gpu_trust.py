"""Part 15's whole check on a real NVIDIA GPU, the way a new user would run benchbench.

`run`: starts an independent reader of NVML's energy counter (benchmarks/energy_trace.py, its own process,
every 10 ms, on time.monotonic() like benchbench), then `benchbench doctor`, `benchbench idle`, and
`benchbench run benchmarks/gpu_trust_suite.yaml` (llama-3.2-1b swept over prompt length, llama-3.1-8b with
512 prompt tokens and 256 new, both dummy weights in bf16 on the GPU; smollm2-135m forced onto the CPU
while the GPU sits idle, warm from the 8B). Then `analyze`.

`analyze`: per iteration, benchbench's gpu0 energy against the trace's energy over the same
[mono_start_s, mono_end_s], with the trace's own edge uncertainty; setup and load times; the warnings of
each record (level and code).

The trace's energy at an instant t: see `Trace` (step instants from a straight-line fit of the counter's
regular steps; the straddling step split between the rates of its neighbours).

    python benchmarks/gpu_trust.py run --out "$OUT"          # on the GPU machine (about 5 minutes)
    python benchmarks/gpu_trust.py analyze --results DIR --trace trace.csv
"""

from __future__ import annotations

import argparse
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
    """The independent counter trace (energy_trace.py's CSV) as an energy function of time.

    The counter steps every ~100 ms on a very regular clock (on the H100 probe, step instants fitted to a
    straight line k -> a + U k left residuals of 0.9 ms SD, what 3 ms read gaps alone give). Each step seen
    between two reads is numbered, and its instant taken from a weighted straight-line fit over the
    FIT_STEPS steps either side (midpoint ± half the gap: far sharper than one 10 ms gap). Inside the step
    that straddles an edge, its energy is split as if the power were the rate of the step before until
    the edge and the rate of the step after from it (loads start and stop at iteration edges).
    Uncertainty per edge: 2 standard errors of the fitted instant × the power there, plus the power change
    × TRANSITION_S (on the probe's square waves the counter placed the load's edges 7 ms RMS, 13 ms at most,
    from where this model puts them).
    """

    FIT_STEPS = 50
    TRANSITION_S = 0.008

    def __init__(self, rows: list[tuple[float, float]]) -> None:
        import numpy as np

        t = np.array([r[0] for r in rows])
        e = np.array([r[1] for r in rows])
        ch = np.nonzero(np.diff(e))[0] + 1
        mid, half, self.e = (t[ch - 1] + t[ch]) / 2, (t[ch] - t[ch - 1]) / 2, e[ch]
        gaps = np.diff(mid)
        self.period = float(np.median(gaps[gaps < 0.15])) if len(gaps) else 0.1
        k = np.concatenate([[0], np.cumsum(np.round(gaps / self.period))]) if len(mid) else np.array([])
        self.tau, self.se = self._fit(mid, half, k)
        if len(k) > 1 and k[-1] > k[0]:
            self.period = float((self.tau[-1] - self.tau[0]) / (k[-1] - k[0]))

    def _fit(self, mid: Any, half: Any, k: Any) -> tuple[Any, Any]:
        import numpy as np

        tau, se = mid.copy(), half.copy()
        w = 3.0 / np.maximum(half, 1e-4) ** 2          # 1 / variance of a uniform ± half
        breaks = np.concatenate([[0], np.nonzero(np.diff(mid) > 1.0)[0] + 1, [len(mid)]])   # trace gaps
        segment = np.searchsorted(breaks, np.arange(len(mid)), side="right") - 1
        for i in range(len(mid)):
            first, last = breaks[segment[i]], breaks[segment[i] + 1]
            lo, hi = max(first, i - self.FIT_STEPS), min(last, i + self.FIT_STEPS + 1)
            if hi - lo < 10:
                continue
            kk, mm, ww = k[lo:hi], mid[lo:hi], w[lo:hi]
            kbar = np.sum(ww * kk) / np.sum(ww)
            sxx = np.sum(ww * (kk - kbar) ** 2)
            if sxx <= 0:
                continue
            slope = np.sum(ww * (kk - kbar) * mm) / sxx
            inter = np.sum(ww * mm) / np.sum(ww) - slope * kbar
            resid = mm - (inter + slope * kk)
            scale = np.sum(ww * resid ** 2) / max(hi - lo - 2, 1)     # residual variance × weight
            tau[i] = inter + slope * k[i]
            se[i] = np.sqrt(scale * (1 / np.sum(ww) + (k[i] - kbar) ** 2 / sxx))
        return tau, se

    @classmethod
    def load(cls, path: Path) -> Trace:
        rows = []
        for line in path.read_text().splitlines()[1:]:
            parts = line.split(",")
            rows.append((float(parts[0]), float(parts[2])))
        return cls(rows)

    def period_s(self) -> float:
        return self.period

    def at(self, t: float) -> tuple[float, float] | None:
        """(energy in J at t, uncertainty in J), or None where t lacks two steps on each side."""
        import numpy as np

        k = int(np.searchsorted(self.tau, t, side="right")) - 1
        if k < 1 or k + 2 >= len(self.tau):
            return None
        ta, tb = self.tau[k], self.tau[k + 1]
        ea, eb = self.e[k], self.e[k + 1]
        before = (ea - self.e[k - 1]) / (ta - self.tau[k - 1])
        after = (self.e[k + 2] - eb) / (self.tau[k + 2] - tb)
        x, y = before * (t - ta), after * (tb - t)
        value = ea + (eb - ea) * (x / (x + y) if x + y > 0 else (t - ta) / (tb - ta))
        power = before if t - ta < tb - t else after
        unc = 2 * max(self.se[k], self.se[k + 1]) * power + abs(after - before) * self.TRANSITION_S
        return float(value), float(unc)

    def energy(self, t0: float, t1: float) -> tuple[float, float] | None:
        a, b = self.at(t0), self.at(t1)
        if a is None or b is None:
            return None
        return b[0] - a[0], a[1] + b[1]


# --- analysis ------------------------------------------------------------------------------------

def load_records(results: Path) -> list[Any]:
    """The run and idle records under results/ (benchbench's typed record), oldest first."""
    from benchbench.record import load_typed_records

    return sorted(load_typed_records([results]), key=lambda r: r.started_at or "")


def compare(records: list[Any], trace: Trace) -> list[dict[str, Any]]:
    rows = []
    for rec in records:
        for it in rec.iterations:
            gpu = it.energy.get("gpu0")
            if gpu is None or gpu.joules is None or it.error or it.mono_start_s is None or it.mono_end_s is None:
                continue
            ref = trace.energy(it.mono_start_s, it.mono_end_s)
            if ref is None or ref[0] <= 0:
                continue
            rows.append({"workload": rec.workload.name, "index": it.index, "warmup": it.warmup,
                         "duration_s": it.duration_s, "bench_j": gpu.joules, "source": gpu.source or "?",
                         "trace_j": ref[0], "error_pct": (gpu.joules - ref[0]) / ref[0] * 100,
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
    runs = [r for r in records if r.type == "run"]
    out: dict[str, Any] = {"setup": [], "warnings": []}
    for rec in records:
        name = rec.workload.name if rec.type == "run" else "idle"
        if rec.type == "run":
            facts = rec.workload.facts
            out["setup"].append({"workload": name, "setup_s": facts.get("setup_s"), "load_s": facts.get("load_s"),
                                 "device": facts.get("device"), "weights_source": facts.get("weights_source")})
        for w in rec.warnings:
            out["warnings"].append({"workload": name, "level": "note" if w.is_note else "warning",
                                    "code": w.code, "message": w.message})
    if trace_path is not None and trace_path.exists():
        trace = Trace.load(trace_path)
        rows = compare(runs, trace)
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


def single_read_suite(path: Path) -> Path:
    """The suite's GPU workloads again, with one counter read per edge (`nvml: {edge_steps: 0}`, the
    behaviour before part 15): the before/after on the same machine."""
    import yaml

    suite = yaml.safe_load((HERE / "gpu_trust_suite.yaml").read_text())
    suite["name"] = "gpu-trust-single-read"
    suite["machine"] = str(HERE / "gpu_trust_machine.yaml")
    suite["power"] = {**suite["power"], "nvml": {"edge_steps": 0}}
    suite["workloads"] = [w for w in suite["workloads"] if w.get("device") != "cpu"]
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def run_chain(out: Path, results: Path, trace_ms: float, before: bool) -> Path:
    py = sys.executable
    out.mkdir(parents=True, exist_ok=True)
    trace_path = out / "trace.csv"
    log_path = out / "chain.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    tracer = subprocess.Popen([py, str(HERE / "energy_trace.py"), "--out", str(trace_path), "--interval-ms",
                               str(trace_ms), "--seconds", "1200", "--no-power"], env=env)
    t0 = time.monotonic()
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            sh(["nvidia-smi", "--query-gpu=name,driver_version,power.limit,power.draw,clocks.sm,utilization.gpu",
                "--format=csv"], log, 30)
            sh([py, "-c", "import torch, transformers; print('torch', torch.__version__, 'cuda',"
                " torch.version.cuda, 'transformers', transformers.__version__)"], log, 60)
            sh([py, "-m", "benchbench", "doctor"], log, 120)
            sh([py, "-m", "benchbench", "idle", "--seconds", "20", "--settle", "3", "--samplers", "nvml",
                "--machine", str(HERE / "gpu_trust_machine.yaml"), "--results", str(results / "main")], log, 120)
            sh([py, "-m", "benchbench", "run", str(HERE / "gpu_trust_suite.yaml"), "--results",
                str(results / "main")], log, 600)
            sh([py, str(HERE / "gpu_burst.py"), "--seconds", "6", "--out", str(results / "burst")], log, 120)
            if before:
                sh([py, "-m", "benchbench", "run", str(single_read_suite(results / "single-read.yaml")),
                    "--results", str(results / "single-read")], log, 600)
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
    r.add_argument("--no-before", action="store_true", help="skip the one-read-per-edge pass")
    a = sub.add_parser("analyze")
    a.add_argument("--results", type=Path, required=True)
    a.add_argument("--trace", type=Path)
    a.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        if args.results.exists():
            shutil.rmtree(args.results)
        trace = run_chain(args.out, args.results, args.trace_ms, not args.no_before)
        summary = analyze_all(args.results, trace)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    else:
        summary = analyze_all(args.results, args.trace)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1))
    for name, part in summary.items():
        print(f"\n######## {name}")
        show(part)
    return 0


def analyze_all(results: Path, trace: Path | None) -> dict[str, Any]:
    """Each pass under results/ (main: the default, two counter steps per edge; single-read: before)."""
    out = {}
    for name in ("main", "single-read"):
        if (results / name).is_dir():
            out[name] = analyze(results / name, trace)
    burst = results / "burst" / "burst.json"
    if burst.exists():
        out["burst"] = {"setup": [], "warnings": [{"workload": "burst", **w} for w in
                                                  json.loads(burst.read_text())["warnings"]]}
    return out


if __name__ == "__main__":
    sys.exit(main())
