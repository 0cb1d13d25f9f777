"""Records for the shape-economics tests, in the real layout, with laws simple enough to work out by hand.

- `stream_run`: one request per iteration (or `concurrency`), each iteration `window_s` long at `power_w`, the
  request's prefill `prompt_s` and decode `gen_s` (the decode speed (n − 1) ÷ gen_s, as every backend records it);
- `load_run`: a part-12 load point (one record, iterations = repetitions): the point's metrics, energy over its
  window, `raw.load` and a requests file beside the record (rows in the window, the server's own phase times);
- `sweep_run`: one record whose iteration holds several `load_points`;
- `bench_run`: a part-14 llama-bench test pair (prefill and decode measured apart).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from analysis_helpers import run_record, write_run

PROFILE = {"electricity_per_kwh": 0.30, "hardware_cost": 2400.0, "amortization_years": 2.0, "idle_w": 50.0}


def stream_run(*, machine: str = "box", model: str = "llama3.1:8b", workload: str = "chat", n: int = 3,
               input_tokens: int = 1000, output_tokens: int = 101, prompt_s: float = 1.0, gen_s: float = 8.0,
               window_s: float = 10.0, power_w: float = 200.0, backend: str = "transformers", concurrency: int = 1,
               cached: int = 0, profile: dict[str, Any] | None = None, warnings: tuple[str, ...] = (),
               session: str = "20250401T000000Z-0001", suite_extra: dict[str, Any] | None = None,
               basis: str = "wall") -> dict[str, Any]:
    """An LLM run whose every measured iteration follows the law above (no warmup)."""
    metrics = []
    for _ in range(n):
        metrics.append({"prompt_tokens": input_tokens, "prompt_s": prompt_s, "pp_tok_s": input_tokens / prompt_s,
                        "gen_tokens": output_tokens, "gen_s": gen_s, "tg_tok_s": (output_tokens - 1) / gen_s,
                        "ttft_s": prompt_s, "e2e_s": prompt_s + gen_s, "concurrency": concurrency,
                        "input_tokens": input_tokens * concurrency, "cache_read_tokens": cached * concurrency,
                        "output_tokens": output_tokens * concurrency,
                        "output_tok_s": output_tokens * concurrency / window_s})
    kw: dict[str, Any] = {"wall_w": power_w} if basis == "wall" else {"load_w": power_w}
    rec, _ = run_record("llm", metrics, machine=machine, workload=workload, backend=backend, warmups=0,
                        params={"model": model}, durations=window_s, profile={**PROFILE, **(profile or {})},
                        session=session, warnings=warnings, **kw)
    if basis != "wall":
        for it in rec["iterations"]:
            it["energy"]["system"].update(source="estimated", basis="gpu+cpu+overhead")
    if suite_extra:
        rec["suite"].update(suite_extra)
    return rec


def load_run(results: Path, *, concurrency: int, req_s: float, goodput_req_s: float, meets_slo: bool,
             machine: str = "box", model: str = "llama3.1:8b", window_s: float = 20.0, power_w: float = 400.0,
             rows: list[dict[str, Any]] | None = None, metrics: dict[str, Any] | None = None,
             profile: dict[str, Any] | None = None, session: str = "20250402T000000Z-0001",
             slo: dict[str, Any] | None = None) -> Path:
    """A load point record with a requests file; the iteration's metrics are the point's."""
    m = {"window_s": window_s, "req_s": req_s, "goodput_req_s": goodput_req_s, "meets_slo": meets_slo,
         "ttft_p90_s": 0.5, "tpot_p90_s": 0.05, "e2e_p90_s": 3.0, "measured_requests": len(rows or []),
         **(metrics or {})}
    workload = f"w[load.concurrency={concurrency}]"
    rec, _ = run_record("llm", [m], machine=machine, workload=workload, backend="openai", warmups=0,
                        params={"model": model, "base_url": "http://localhost:8080/v1",
                                "load": {"concurrency": concurrency, "requests": 64}},
                        durations=window_s + 1.0, profile={**PROFILE, **(profile or {})}, session=session,
                        wall_w=power_w, facts={"load": {"slo": slo or {"ttft_s": 2.0, "tpot_s": 0.1}}})
    it = rec["iterations"][0]
    for entry in it["energy"].values():
        entry["joules"] = power_w * window_s
    it["energy_window"] = {"duration_s": window_s}
    name = f"{rec['run_id']}.it0.requests.csv"
    it["raw"] = {"load": {"label": f"concurrency {concurrency}", "plan": {"concurrency": concurrency},
                          "requests_file": name}}
    path = write_run(results, rec)
    if rows is not None:
        write_rows(path.parent / name, rows)
    return path


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    keys = ["index", "status", "in_window", "ttft_s", "e2e_s", "input_tokens", "cached_tokens", "output_tokens",
            "server_prompt_s", "server_gen_s"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for i, r in enumerate(rows):
            w.writerow({"index": i, "status": "ok", "in_window": True, **r})


def sweep_run(results: Path, points: list[dict[str, Any]], *, machine: str = "box", model: str = "llama3.1:8b",
              session: str = "20250403T000000Z-0001") -> Path:
    """One sweep record: `points` = [{label, concurrency, window_s, power_w, metrics}]."""
    rec, _ = run_record("llm", [{"points": len(points)}], machine=machine, workload="sweep", backend="openai",
                        warmups=0, params={"model": model, "base_url": "http://localhost:8080/v1",
                                           "load": {"mode": "sweep"}},
                        durations=100.0, profile=dict(PROFILE), session=session, wall_w=300.0,
                        facts={"load": {"slo": {"ttft_s": 2.0}}})
    rec["iterations"][0]["load_points"] = [
        {"label": p["label"], "plan": {"concurrency": p.get("concurrency")}, "metrics": p["metrics"],
         "window": {"duration_s": p["window_s"]},
         "energy": {"system": {"joules": p["power_w"] * p["window_s"], "source": "integrated", "basis": "wall"}}}
        for p in points]
    return write_run(results, rec)


def bench_run(*, pp_tok_s: float, tg_tok_s: float, prefill_j: float, decode_j: float, machine: str = "box",
              model: str = "llama3.1:8b") -> dict[str, Any]:
    """A llama-bench record: prefill and decode tests with their own energy per token."""
    m = {"pp_tok_s": pp_tok_s, "tg_tok_s": tg_tok_s, "prefill_j_per_tok": prefill_j, "decode_j_per_tok": decode_j,
         "prefill_w": prefill_j * pp_tok_s, "decode_w": decode_j * tg_tok_s, "output_tok_s": tg_tok_s}
    rec, _ = run_record("llm", [m, m], machine=machine, workload="bench", backend="llama-bench", warmups=0,
                        params={"model": model}, durations=5.0, profile=dict(PROFILE), wall_w=300.0,
                        session="20250404T000000Z-0001")
    return rec


def dump(results: Path, rec: dict[str, Any]) -> Path:
    return write_run(results, json.loads(json.dumps(rec)))
