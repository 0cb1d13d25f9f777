#!/bin/bash
# Part 3's real-GPU check, in one go (the device tool runs it from the repository root):
# validation against NVML's energy counter, the samplers' CPU cost, an idle record, and an end-to-end
# `benchbench run` with NVML energy per iteration. Everything lands in $OUT.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NO_COLOR=1
OUT=${OUT:-/tmp/power-out}
RES=/tmp/bb-results
PY=${PY:-python3}
mkdir -p "$OUT"
{
  echo "== environment"
  nvidia-smi --query-gpu=name,driver_version,power.limit,clocks_event_reasons.active --format=csv
  $PY -c "import torch, transformers, pynvml; print('torch', torch.__version__, 'transformers', transformers.__version__)"
  echo "== benchbench doctor"
  timeout 90 $PY -m benchbench doctor
  echo "== validation against the NVML energy counter"
  timeout 180 $PY benchmarks/power_validate_nvml.py --seconds 30 --json "$OUT/validate.json" \
    --samples "$OUT/validate-samples.csv"
  echo "== CPU cost at 500 ms"
  timeout 90 $PY benchmarks/power_cpu_cost.py --seconds 15 --samplers nvml nvml:counter_interval_ms=0 nvidia-smi rapl --reads \
    --json "$OUT/cost.json"
  echo "== benchbench idle"
  timeout 60 $PY -m benchbench idle --seconds 10 --settle 3 --samplers nvml --results "$RES"
  echo "== benchbench run (transformers, llama-3.2-1b dummy, cuda, nvml)"
  timeout 300 $PY -m benchbench run benchmarks/power_e2e_suite.yaml --results "$RES"
  echo "== the record"
  $PY benchmarks/power_e2e_show.py "$RES" "$OUT"
} 2>&1 | tee "$OUT/device.log"
