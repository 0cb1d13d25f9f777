"""The scaling benchmark runs end to end (at a small size; the full run is benchmarks/analyze_scale.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_script_runs(capsys):
    spec = importlib.util.spec_from_file_location("analyze_scale", ROOT / "benchmarks" / "analyze_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--records", "20", "--samples", "4000", "8000", "--repeat", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("    20 records      4,000 samples: analyze")
    assert out[1].startswith("    20 records      8,000 samples")
    assert out[2].startswith("linear fit of CPU time:")
