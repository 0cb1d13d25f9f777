"""How the analyzer scales: 1,000 records holding N power samples in total (default 250k, 500k, 1M).

    python benchmarks/analyze_scale.py [--records 1000] [--samples 250000 500000 1000000] [--limit-s 10]

Records are synthetic but in the real layout (tests/analysis_helpers.py): LLM runs of 1 warmup + 3
measured iterations on 10 machines, GPU (with an energy counter) and wall channels, power samples in
`<run_id>.power.csv` beside each record. Writing them is not timed. Timed (best of --repeat, after an
untimed warm-up; wall and CPU time, the fit on CPU time, which other load on the host disturbs
less), in one process: `analyze()`
(read every record, build every table), then `.samples` (read every CSV, place each sample in its
iteration) and `.sample_energy` (recompute every iteration's energy from the samples). Exit 1 when
the largest size takes longer than --limit-s. CI runs it on 2 cores (`taskset -c 0,1`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def write_records(folder: Path, records: int, samples: int) -> int:
    """`records` runs holding about `samples` samples in total; returns the exact count."""
    from analysis_helpers import llm_run, write_run

    per_channel = samples // records // 2
    total = 0
    for i in range(records):
        speeds = [40.0 + (i % 7), 41.0 + (i % 5), 42.0 + (i % 3)]
        durations = [256 / r + 0.1 for r in [30.0, *speeds]]
        span = sum(durations) + 2.0 * 5
        rec, frame = llm_run(tok_s=speeds, gpu_w=180.0 + i % 40, wall_w=320.0 + i % 50, idle_w=90.0,
                             machine=f"box{i % 10}", workload=f"llm-{(i // 10) % 10}",
                             session=f"20250101T{i // 100:02d}{i % 100:02d}00Z-{i:04x}",
                             t0_s=1000.0 + i * 100, interval_s=span / (per_channel - 1),
                             facts={"model_size_bytes": 4.9e9})
        frame = frame.iloc[:per_channel * 2]
        total += len(frame)
        write_run(folder, rec, frame)
    return total


def measure(folder: Path) -> dict[str, float]:
    from benchbench import analyze

    c0 = time.process_time()
    t0 = time.perf_counter()
    a = analyze(folder)
    t1 = time.perf_counter()
    n = len(a.samples)
    t2 = time.perf_counter()
    e = a.sample_energy
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    assert len(a.runs) and n and len(e), "nothing analyzed"
    return {"groups": len(a.groups), "iterations_checked": len(e), "analyze_s": t1 - t0,
            "samples_s": t2 - t1, "energy_s": t3 - t2, "total_s": t3 - t0, "cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--samples", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    p.add_argument("--limit-s", type=float, default=10.0)
    p.add_argument("--repeat", type=int, default=2, help="runs per size; the fastest counts")
    args = p.parse_args(argv)
    import pandas  # noqa: F401 - imported before timing, as any analysis session has it loaded

    with tempfile.TemporaryDirectory() as tmp:      # warm up imports and pandas code paths, untimed
        write_records(Path(tmp), 20, 20_000)
        measure(Path(tmp))
    rows = []
    for size in args.samples:
        with tempfile.TemporaryDirectory() as tmp:
            count = write_records(Path(tmp), args.records, size)
            result = min((measure(Path(tmp)) for _ in range(args.repeat)), key=lambda r: r["total_s"])
        rows.append({"records": args.records, "samples": count, **result})
        r = rows[-1]
        print(f"{r['records']:>6} records {r['samples']:>10,} samples: analyze {r['analyze_s']:.2f} s, "
              f"samples {r['samples_s']:.2f} s, energy {r['energy_s']:.2f} s, total {r['total_s']:.2f} s "
              f"(CPU {r['cpu_s']:.2f} s)", flush=True)
    largest = rows[-1]
    if len(rows) > 1:
        import numpy as np

        n = np.array([r["samples"] for r in rows], float)
        t = np.array([r["cpu_s"] for r in rows])
        slope, intercept = np.polyfit(n, t, 1)
        worst = max(abs(t - (intercept + slope * n)) / t)
        print(f"linear fit of CPU time: {intercept:.2f} s + {slope * 1e6:.2f} s per million samples "
              f"(largest residual {worst:.0%})")
    if largest["total_s"] > args.limit_s:
        print(f"FAIL: {largest['total_s']:.2f} s > {args.limit_s} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
