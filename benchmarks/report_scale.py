"""How long a report over many records takes: 1,000 records (default) with power samples beside them.

    python benchmarks/report_scale.py [--records 1000] [--formats html md csv json] [--limit-s 15]

Records are synthetic but in the real layout (tests/analysis_helpers.py): 4 machines; LLM runs of
5 models plus a num_ctx × concurrency matrix, TTS runs and video runs at two clip lengths; 1 warmup
+ 3 measured iterations for LLM, GPU (with an energy counter) and wall channels sampled every 0.5 s,
published reference figures included. Writing them is not timed. Timed, each in a fresh process
(as `benchbench report` runs): load + analyze + build + write, per format. Exit 1 when HTML takes
longer than --limit-s. CI runs it on 2 cores (`taskset -c 0,1`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

MODELS = ("llama3.2:3b", "llama3.1:8b", "qwen2.5:7b", "mistral:7b", "gemma2:9b")


def write_records(folder: Path, n: int) -> int:
    """n run records (+ power samples) and one idle record per machine; returns the sample count."""
    from analysis_helpers import idle_record, llm_run, tts_run, video_run, write_idle, write_run

    samples = 0
    for i in range(n):
        machine = f"box{i % 4}"
        kw = {"machine": machine, "session": f"2025{i // 100:04d}T{i % 100:02d}0000Z-{i:04x}", "idle_w": 80.0 + i % 4,
              "interval_s": 0.5, "t0_s": 1000.0 + i * 100, "gpu_w": 150.0 + 20 * (i % 4),
              "wall_w": 300.0 + 30 * (i % 4), "started_at": f"2025-01-{1 + i % 28:02d}T00:00:00.000Z",
              "suite_prices": {"api": {"hosted-8b": 0.2}, "cloud_hourly": {"gpu-rental": 1.0}}}
        slot = i % 10
        if slot < 5:
            model = MODELS[slot]
            rec, frame = llm_run(tok_s=[40.0 + i % 7, 41.0, 42.0 - i % 3], workload=model.replace(":", "-"),
                                 params={"model": model}, facts={"model_size_bytes": 4.9e9}, **kw)
        elif slot < 7:
            ctx, conc = (2048, 8192)[slot - 5], 1 + (i // 10) % 3
            rec, frame = llm_run(tok_s=[50.0 - conc, 49.0, 48.0],
                                 workload=f"ctx[options.num_ctx={ctx},concurrency={conc}]",
                                 params={"model": "llama3.1:8b", "options": {"num_ctx": ctx}, "concurrency": conc},
                                 **kw)
            rec["workload"]["matrix"] = {"options.num_ctx": ctx, "concurrency": conc}
            rec["workload"]["base_name"] = "ctx"
        elif slot < 9:
            rec, frame = tts_run(runs=[(40.0, 10.0), (25.0, 10.0), (24.0, 11.0), (26.0, 10.0)], chars=2400, warmups=1,
                                 workload=f"tts-{slot - 7}", backend="qwen3-tts", params={"model": f"tts-{slot - 7}"},
                                 **kw)
            frame = frame.iloc[::4]     # TTS runs are long: keep the file size of the others
        else:
            seconds = (4, 10)[(i // 10) % 2]
            rec, frame = video_run(gen_s=(60.0 * seconds, 62.0 * seconds), video_s=float(seconds), n_gpus=2,
                                   workload=f"ltx {seconds}s", params={"model": "LTX-2.3", "seconds": seconds}, **kw)
            frame = frame.iloc[::20]
        samples += len(frame)
        write_run(folder, rec, frame)
    for m in range(4):
        write_idle(folder, idle_record(f"box{m}", {"system": 85.0 + m, "gpu0": 20.0}))
    return samples


def time_format(folder: Path, out: Path, fmt: str) -> float:
    """Seconds for `benchbench report FOLDER -o OUT --format FMT` in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchbench", "report", str(folder), "-o", str(out), "--format", fmt],
                          cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"report failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--formats", nargs="+", default=["html", "md", "csv", "json"])
    p.add_argument("--limit-s", type=float, default=15.0)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "results"
        samples = write_records(folder, args.records)
        print(f"{args.records} records, {samples:,} power samples", flush=True)
        times = {}
        for fmt in args.formats:
            out = Path(tmp) / ("out" if fmt == "csv" else f"report.{fmt}")
            times[fmt] = time_format(folder, out, fmt)
            files = [out] if out.is_file() else list(out.iterdir())
            files += list(out.with_name(f"{out.stem}_files").glob("*"))     # the Markdown report's charts
            size = sum(f.stat().st_size for f in files)
            print(f"  {fmt:>4}: {times[fmt]:.2f} s, {size / 1e6:.1f} MB", flush=True)
    if "html" in times and times["html"] > args.limit_s:
        print(f"HTML report took {times['html']:.2f} s, over the {args.limit_s:g} s limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
