#!/bin/bash
# Part 15's check on an NVIDIA GPU, in one go (run from the folder that holds benchbench/ and benchmarks/):
# optionally the NVML probe (read costs, update periods of the energy counter and the power fields), then
# benchmarks/gpu_trust.py (idle, the suite, an independent counter trace, per-iteration energy errors).
# Everything lands in $OUT.   bash benchmarks/gpu_trust.sh [--probe]
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NO_COLOR=1
OUT=${OUT:-/tmp/gpu-trust}
mkdir -p "$OUT"
if [ "${1:-}" = "--probe" ]; then
  echo "== NVML probe"
  timeout 180 python3 benchmarks/nvml_probe.py --out "$OUT" > "$OUT/probe.log" 2>&1
  tail -c 4000 "$OUT/probe.log"
fi
echo "== gpu_trust"
timeout 540 python3 benchmarks/gpu_trust.py run --out "$OUT"
echo "== chain log (tail)"
tail -n 40 "$OUT/chain.log"
