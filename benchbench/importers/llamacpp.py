"""llama-bench (json, jsonl, csv) and llama-sweep-bench (jsonl) results → imported runs.

llama-bench rows that differ only in the test (n_prompt / n_gen) and its timings are one
configuration: its pp and tg tests become one iteration with the same metrics the `llama-bench`
backend records. Power windows: llama-bench's `test_time` (UTC, whole seconds, taken before the
test's warmup) plus the sum of its samples and one second; sweep-bench rows carry no times, so
power cannot be matched to them.
"""

from __future__ import annotations

import calendar
import json
import time
from pathlib import Path
from typing import Any

from ..workloads.llama_bench import llama_bench_metrics, test_seconds, test_tokens
from ..workloads.llamacpp_tools import lb_test_kind, lb_test_name, read_llama_bench, read_sweep_bench
from ..workloads.sweep_bench import sweep_metrics
from .records import Imported, Iteration

PER_TEST = ("n_prompt", "n_gen", "test_time", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns",
            "samples_ts")
# llama-bench field → the llama-bench backend's suite key
PARAMS = {"model_filename": "model", "n_depth": "depth", "n_threads": "threads", "n_gpu_layers": "n_gpu_layers",
          "n_batch": "batch", "n_ubatch": "ubatch", "flash_attn": "flash_attn", "type_k": "cache_type_k",
          "type_v": "cache_type_v", "n_cpu_moe": "n_cpu_moe", "tensor_split": "tensor_split",
          "split_mode": "split_mode", "main_gpu": "main_gpu", "no_kv_offload": "no_kv_offload"}
FACTS = ("cpu_info", "gpu_info", "backends", "model_type", "model_n_params", "build_commit", "build_number")
WINDOW_NOTE = ("approximate: llama-bench's test_time has 1 s resolution and is taken before the test's "
               "warmup; the window is test_time to test_time + 1 s + the sum of its samples")


def read_llama_bench_file(text: str, path: Path) -> list[Imported]:
    rows = read_llama_bench(text)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = json.dumps({k: v for k, v in row.items() if k not in PER_TEST}, sort_keys=True, default=str)
        groups.setdefault(key, []).append(row)
    runs = []
    for members in groups.values():
        kinds = [lb_test_kind(r) for r in members]
        if kinds.count("pp") <= 1 and kinds.count("tg") <= 1 and "pg" not in kinds:
            runs.append(_run(members, path))
        else:
            runs.extend(_run([r], path) for r in members)
    return runs


def _run(rows: list[dict[str, Any]], path: Path) -> Imported:
    first = rows[0]
    tests = [{"kind": lb_test_kind(r), "row": r, "energy": {}} for r in rows]
    if tests[0]["kind"] == "pg":
        row = first
        n_in, n_out = test_tokens(row, "n_prompt"), test_tokens(row, "n_gen")
        metrics = {"prompt_tokens": row.get("n_prompt"), "gen_tokens": row.get("n_gen"),
                   "e2e_s": (row.get("avg_ns") or 0) / 1e9 or None, "pg_tok_s": row.get("avg_ts"),
                   "depth_tokens": row.get("n_depth"), "input_tokens": n_in, "output_tokens": n_out,
                   "total_tokens": n_in + n_out if n_in is not None and n_out is not None else None}
    else:
        metrics = llama_bench_metrics(tests)
    params = {key: first[field] for field, key in PARAMS.items() if field in first}
    for t in tests:
        if t["kind"] in ("pp", "pg"):
            params["n_prompt"] = t["row"].get("n_prompt")
        if t["kind"] in ("tg", "pg"):
            params["n_gen"] = t["row"].get("n_gen")
    params["reps"] = len(first.get("samples_ns") or []) or None
    phase = {"pp": "prefill", "tg": "decode", "pg": "test"}
    windows = {phase[t["kind"]]: w for t in tests if (w := _window(t["row"])) is not None}
    seconds = {phase[t["kind"]]: s for t in tests if (s := test_seconds(t["row"])) is not None}
    measured = next((p for p in ("decode", "test", "prefill") if p in seconds), None)
    all_windows = list(windows.values())
    span = (min(w[0] for w in all_windows), max(w[1] for w in all_windows)) if all_windows else None
    model = Path(str(first.get("model_filename") or "model")).name
    name = f"{model} " + " ".join(lb_test_name(r) for r in rows)
    build = first.get("build_number")
    version = f"b{build} ({first.get('build_commit')})" if build else first.get("build_commit")
    facts = {k: first[k] for k in FACTS if k in first}
    facts["model_size_bytes"] = first.get("model_size")
    it = Iteration(metrics, raw={"tests": [{"test": lb_test_name(t["row"]), "kind": t["kind"], "row": t["row"]}
                                           for t in tests]},
                   window_unix_s=span, window_note=WINDOW_NOTE, sub_windows=windows, sub_seconds=seconds,
                   measured=measured)
    return Imported("llama-bench", "llama-bench", name, params, version, [it], facts,
                    span[0] if span else None)


def _window(row: dict[str, Any]) -> tuple[float, float] | None:
    """[test_time, test_time + 1 s + Σ samples] in Unix seconds; None without a test_time."""
    stamp = row.get("test_time")
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        start = calendar.timegm(time.strptime(stamp.rstrip("Z"), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    busy = sum(row.get("samples_ns") or []) / 1e9 or (row.get("avg_ns") or 0) / 1e9
    return float(start), start + 1.0 + busy


def read_sweep_bench_file(text: str, path: Path) -> list[Imported]:
    rows = read_sweep_bench(text)
    for row in rows:
        row.setdefault("energy_pp", {})
        row.setdefault("energy_tg", {})
    metrics = sweep_metrics(rows)
    first = rows[0]
    params = {"ctx_size": first.get("n_kv_max"), "ubatch": first.get("n_ubatch"), "batch": first.get("n_batch"),
              "n_gen": first.get("tg"), "threads": first.get("n_threads"), "n_gpu_layers": first.get("n_gpu_layers"),
              "model": path.stem}
    name = f"{path.stem} sweep to {metrics.get('depth_max_tokens')}"
    seconds = sum(float(r.get("t_pp") or 0) + float(r.get("t_tg") or 0) for r in rows)
    it = Iteration(metrics, raw={"rows": rows}, window_note="llama-sweep-bench prints no times: power can't be matched",
                   sub_seconds={"sweep": seconds} if seconds > 0 else {}, measured="sweep" if seconds > 0 else None)
    return [Imported("sweep-bench", "sweep-bench", name, params, None, [it],
                     {"flash_attn": first.get("flash_attn")})]
