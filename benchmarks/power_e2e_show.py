"""Print the energy and metrics of the newest run record under a results folder, and copy it,
its power samples and the newest idle record to an output folder.

    python benchmarks/power_e2e_show.py RESULTS_DIR OUT_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def newest(results: Path, kind: str) -> Path | None:
    found = [p for p in results.rglob("*.json") if json.loads(p.read_text()).get("type", "run") == kind]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def main() -> int:
    results, out = Path(sys.argv[1]), Path(sys.argv[2])
    path = newest(results, "run")
    if path is None:
        print(f"no run record under {results}")
        return 1
    record = json.loads(path.read_text())
    power = record["power"] or {}
    print(f"record {path.name}: status {record['status']}, samplers {power.get('samplers')}, "
          f"system basis {power.get('system_basis')}, counter check {power.get('counter_check')}")
    print(f"facts: { {k: record['workload']['facts'].get(k) for k in ('load_s', 'dtype', 'parameters', 'device')} }")
    for it in record["iterations"]:
        m, e = it["metrics"], it["energy"]
        gpu = e.get("gpu0", {})
        j_tok = gpu.get("joules", 0) / m["gen_tokens"] if m.get("gen_tokens") else None
        print(f"  it{it['index']} {'warmup' if it['warmup'] else 'measured'}: {it['duration_s']:.3f} s, "
              f"pp {m.get('pp_tok_s', 0):.0f} tok/s, tg {m.get('tg_tok_s', 0):.1f} tok/s | gpu0 "
              f"{gpu.get('joules', 0):.1f} J, {gpu.get('avg_w', 0):.1f} W ({gpu.get('source')}); "
              f"system {e.get('system', {}).get('avg_w', 0):.1f} W ({e.get('system', {}).get('basis')})"
              + (f"; {j_tok:.3f} J per generated token (whole iteration)" if j_tok else ""))
    print(f"idle: {record.get('idle')} from {record.get('idle_source')}")
    for w in record["warnings"]:
        print(f"  warning {w['code']}: {w['message']}")
    for e in record["errors"]:
        print(f"  error: {e}")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, out / "e2e-record.json")
    if power.get("samples"):
        shutil.copy(path.parent / power["samples"], out / "e2e.power.csv")
    idle = newest(results, "idle")
    if idle is not None:
        shutil.copy(idle, out / "idle-record.json")
    return 0 if record["status"] == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())
