"""Record migrations: `update_to_N` brings a record of schema N − 1 to schema N (pure dict → dict).

Version 2 (Part 10) added the machine's throughput to LLM iterations and gave tg_tok_s one definition:
- `output_tokens` (all requests of the iteration), `output_tok_s` = output_tokens ÷ duration_s, and where
  known `input_tokens`, `total_tokens`, `total_tok_s`: computed from what the record holds (the per-request
  counts under `raw.requests`, or the iteration's own count at concurrency 1). Where it holds too little,
  `output_tok_s` is null and the record gets a `throughput_unknown` warning: never guessed.
- Ollama's tg_tok_s counted eval_count tokens over eval_duration, whose clock starts at the first token:
  now (eval_count − 1) ÷ eval_duration, per request, like every other backend.
- transformers' gen_tokens counted the decode steps (n − 1); now every output token (n).
- a `system` energy channel where the record had none but its profile allows one (see power/system.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .metrics import derive_throughput
from .power.system import add_system_channel

THROUGHPUT_UNKNOWN = "throughput_unknown"


def update_to_1(record: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (pre-release) kept `results` instead of `iterations` and no run type."""
    record = dict(record)
    if "iterations" not in record and "results" in record:
        record["iterations"] = record.pop("results")
    record.setdefault("type", "run")
    record.setdefault("warnings", [])
    record.setdefault("errors", [])
    record["schema_version"] = 1
    return record


def update_to_2(record: dict[str, Any]) -> dict[str, Any]:
    """Throughput and token counts on LLM iterations; one tg_tok_s definition; the `system` channel."""
    record = copy.deepcopy(record)
    record["schema_version"] = 2
    if record.get("type", "run") != "run" or not isinstance(record.get("iterations"), list):
        return record
    workload = _dict(record.get("workload"))
    profile = _dict(_dict(record.get("machine")).get("profile"))   # a wrong shape is the validation's to name
    unknown = []
    for it in record["iterations"]:
        if not isinstance(it, dict):
            continue
        add_system_channel(it.get("energy"), _number(it.get("duration_s")), profile)
        metrics = it.get("metrics")
        if workload.get("kind") != "llm" or not isinstance(metrics, dict) or not metrics or it.get("error"):
            continue
        _llm_iteration(it, metrics, workload.get("backend"))
        if metrics.get("output_tok_s") is None and not it.get("warmup"):
            unknown.append(it.get("index"))
    if unknown and not record.get("reference"):
        record.setdefault("warnings", []).append({
            "code": THROUGHPUT_UNKNOWN,
            "message": f"the record (written before benchbench 0.2) does not hold the output tokens of "
                       f"iteration(s) {', '.join(map(str, unknown))}: the machine's throughput, energy per "
                       "token and costs per token are unknown for them"})
    return record


def _llm_iteration(it: dict[str, Any], metrics: dict[str, Any], backend: str | None) -> None:
    requests = [r.get("metrics") for r in _list(_dict(it.get("raw")).get("requests"))
                if isinstance(r, dict) and isinstance(r.get("metrics"), dict)]
    single = metrics.get("concurrency") in (None, 1) and len(requests) <= 1
    if backend == "transformers" and _number(metrics.get("output_tokens")) is not None:
        metrics["gen_tokens"] = metrics["output_tokens"]          # was the decode steps, n − 1
    if backend == "ollama":
        for m in requests or ([metrics] if single else []):
            m["tg_tok_s"] = _decode_rate(m.get("gen_tokens"), m.get("gen_s"))
        if requests:
            speeds = [m["tg_tok_s"] for m in requests if m.get("tg_tok_s") is not None]
            metrics["tg_tok_s"] = sum(speeds) / len(speeds) if speeds else None
    for count, per_request in (("output_tokens", ("output_tokens", "gen_tokens")),
                               ("input_tokens", ("input_tokens", "prompt_tokens"))):
        if _number(metrics.get(count)) is not None:
            continue
        source = requests or ([metrics] if single else [])
        values = [next((m.get(k) for k in per_request if _number(m.get(k)) is not None), None) for m in source]
        metrics[count] = sum(values) if values and None not in values else None
    if metrics.get("total_tokens") is None and None not in (_number(metrics.get("input_tokens")),
                                                            _number(metrics.get("output_tokens"))):
        metrics["total_tokens"] = metrics["input_tokens"] + metrics["output_tokens"]
    derive_throughput(metrics, _number(it.get("duration_s")))
    metrics.setdefault("output_tok_s", None)


def _decode_rate(tokens: Any, seconds: Any) -> float | None:
    tokens, seconds = _number(tokens), _number(seconds)
    if tokens is None or seconds is None or tokens < 2 or seconds <= 0:
        return None
    return (tokens - 1) / seconds


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: update_to_1, 1: update_to_2}
SCHEMA_VERSION = max(MIGRATIONS) + 1
