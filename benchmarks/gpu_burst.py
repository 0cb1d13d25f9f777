"""A GPU held at full power (bf16 8192³ matrix products back to back) for --seconds, measured by benchbench's
PowerMonitor (nvml every 100 ms) as one "iteration": its samples (utilization, clocks, temperature, throttle
reasons beside power) and window are written for replay tests of the `throttled` warning.

    python benchmarks/gpu_burst.py --seconds 6 --out DIR      # DIR/burst.power.csv, DIR/burst.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchbench.power.monitor import PowerMonitor  # noqa: E402
from benchbench.power.nvml import NvmlSampler  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    (a @ b).sum().item()
    with PowerMonitor([([NvmlSampler(0.1)], False)], 0.1, None, ["nvml"]) as mon:
        time.sleep(1.0)
        mon.mark()
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.seconds:
            for _ in range(8):
                a @ b
            torch.cuda.synchronize()
        t1 = time.monotonic()
        energy = mon.energy(t0, t1)
        time.sleep(1.0)
        it = {"index": 0, "warmup": False, "duration_s": t1 - t0, "mono_start_s": t0, "mono_end_s": t1,
              "energy": energy}
        warnings = [w.to_dict() for w in mon.run_warnings([it], ["gpu0"], "cuda")]
        args.out.mkdir(parents=True, exist_ok=True)
        mon.save_samples(args.out / "burst.power.csv")
    (args.out / "burst.json").write_text(json.dumps({"iterations": [it], "warnings": warnings}, indent=1))
    print(json.dumps({"energy": energy, "warnings": warnings}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
