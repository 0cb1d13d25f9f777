"""`vllm bench serve --save-result` JSON and GuideLLM benchmarks JSON → imported runs.

Both measure a server under load from the client side; their figures map onto benchbench's with
vLLM's definitions (TTFT, TPOT excluding the first token, ITL, E2E latency): per-request figures are
the tools' own means over successful requests (scope request), `output_tok_s` is the tool's output
throughput over its window (scope throughput), `tg_tok_s` = 1 / mean TPOT.

vLLM: `date` (local time, whole seconds, written when the run ended) and `duration` give the window.
GuideLLM: each benchmark's `start_time` / `end_time` (Unix seconds) give it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .records import Imported, Iteration


def _objects(text: str) -> list[dict[str, Any]]:
    """One JSON object, or one per line (vLLM's --append-result)."""
    try:
        data = json.loads(text)
        return [data] if isinstance(data, dict) else [d for d in data if isinstance(d, dict)]
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def _s(ms: Any) -> float | None:
    return ms / 1000 if isinstance(ms, (int, float)) and not isinstance(ms, bool) else None


def _rate(ms: Any) -> float | None:
    return 1000 / ms if isinstance(ms, (int, float)) and ms > 0 else None


def _sum(a: Any, b: Any) -> float | None:
    return a + b if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None


def _int(x: float | None) -> int | None:
    return round(x) if x is not None else None


def _per(total: Any, n: Any) -> float | None:
    return total / n if isinstance(total, (int, float)) and isinstance(n, (int, float)) and n > 0 else None


# --- vLLM ----------------------------------------------------------------------------------------

VLLM_PARAMS = ("backend", "endpoint_type", "label", "tokenizer_id", "num_prompts", "request_rate", "burstiness",
               "max_concurrency")


def read_vllm(text: str, path: Path) -> list[Imported]:
    runs = []
    for k, data in enumerate(_objects(text)):
        if "duration" not in data or "completed" not in data:
            raise ValueError(f"result {k + 1} has no duration/completed: not `vllm bench serve` output")
        completed = data.get("completed")
        metrics = {
            "prompt_tokens": _per(data.get("total_input_tokens"), completed),
            "gen_tokens": _per(data.get("total_output_tokens"), completed),
            "ttft_s": _s(data.get("mean_ttft_ms")), "ttft_median_s": _s(data.get("median_ttft_ms")),
            "ttft_p99_s": _s(data.get("p99_ttft_ms")), "tpot_s": _s(data.get("mean_tpot_ms")),
            "tg_tok_s": _rate(data.get("mean_tpot_ms")), "itl_mean_s": _s(data.get("mean_itl_ms")),
            "itl_median_s": _s(data.get("median_itl_ms")), "itl_p99_s": _s(data.get("p99_itl_ms")),
            "e2e_s": _s(data.get("mean_e2el_ms")), "output_tok_s": data.get("output_throughput"),
            "req_s": data.get("request_throughput"), "concurrency": data.get("max_concurrency"),
            "window_s": data.get("duration"), "completed_requests": completed, "failed_requests": data.get("failed"),
            "input_tokens": data.get("total_input_tokens"), "output_tokens": data.get("total_output_tokens"),
            "total_tokens": _sum(data.get("total_input_tokens"), data.get("total_output_tokens")),
            "total_tok_s": data.get("total_token_throughput"),
        }
        end = _vllm_date(data.get("date"))
        window = (end - float(data["duration"]), end) if end is not None else None
        params = {"model": data.get("model_id"), **{k2: data[k2] for k2 in VLLM_PARAMS if k2 in data}}
        name = f"{Path(str(data.get('model_id') or 'model')).name} vllm-bench {data.get('request_rate')} req/s" + (
            f" c{data['max_concurrency']}" if data.get("max_concurrency") else "")
        raw = {k2: v for k2, v in data.items() if k2 not in ("generated_texts",)}
        it = Iteration(metrics, raw={"result": raw}, window_unix_s=window,
                       window_note="vLLM's `date` (local time, 1 s resolution, when the run ended) minus its duration")
        runs.append(Imported("vllm", "vllm-bench-serve", name, params, None, [it],
                             {"server": "vllm", "model": data.get("model_id")}, window[0] if window else None))
    return runs


def _vllm_date(value: Any) -> float | None:
    """`20250424-115850` (local time) → Unix seconds."""
    try:
        return time.mktime(time.strptime(str(value), "%Y%m%d-%H%M%S"))
    except (ValueError, OverflowError):
        return None


# --- GuideLLM ------------------------------------------------------------------------------------

def read_guidellm(text: str, path: Path) -> list[Imported]:
    data = json.loads(text)
    version = (data.get("metadata") or {}).get("guidellm_version")
    model = _find(data.get("args") or {}, ("model",)) or _find(data, ("backend_model", "model"))
    runs = []
    for k, bench in enumerate(data["benchmarks"]):
        m = bench["metrics"]
        start, end = _times(bench)
        itl_ms = _stat(m, "inter_token_latency_ms")
        metrics = {
            "prompt_tokens": _stat(m, "prompt_token_count"), "gen_tokens": _stat(m, "output_token_count"),
            "ttft_s": _s(_stat(m, "time_to_first_token_ms")),
            "ttft_median_s": _s(_stat(m, "time_to_first_token_ms", "median")),
            "ttft_p99_s": _s(_stat(m, "time_to_first_token_ms", "p99")),
            "tpot_s": _s(itl_ms), "tg_tok_s": _rate(itl_ms), "itl_mean_s": _s(itl_ms),
            "itl_median_s": _s(_stat(m, "inter_token_latency_ms", "median")),
            "itl_p99_s": _s(_stat(m, "inter_token_latency_ms", "p99")),
            "e2e_s": _stat(m, "request_latency"), "output_tok_s": _stat(m, "output_tokens_per_second"),
            "req_s": _stat(m, "req_second"), "concurrency": _stat(m, "request_concurrency"),
            "window_s": end - start if start is not None and end is not None else None,
            "completed_requests": (m.get("request_totals") or {}).get("successful"),
            "failed_requests": (m.get("request_totals") or {}).get("errored"),
            "input_tokens": _int(_stat(m, "prompt_token_count", "total_sum")),
            "output_tokens": _int(_stat(m, "output_token_count", "total_sum")),
            "total_tok_s": _stat(m, "tokens_per_second"),
        }
        metrics["total_tokens"] = _sum(metrics["input_tokens"], metrics["output_tokens"])
        strategy = _find(bench.get("config") or bench, ("type_",)) or "benchmark"
        name = f"{Path(str(model or 'model')).name} guidellm {strategy} #{k + 1}"
        it = Iteration(metrics, raw={"benchmark": {key: v for key, v in bench.items() if key != "requests"}},
                       window_unix_s=(start, end) if start is not None and end is not None else None,
                       window_note="GuideLLM's measured window (start_time, end_time)")
        runs.append(Imported("guidellm", "guidellm", name, {"model": model, "strategy": strategy, "benchmark": k},
                             version, [it], {"model": model}, start))
    return runs


def _stat(metrics: dict[str, Any], name: str, stat: str = "mean") -> float | None:
    """A GuideLLM distribution's statistic over successful requests (p99 etc. from `percentiles`)."""
    dist = ((metrics.get(name) or {}).get("successful")) or {}
    value = dist.get(stat) if stat in dist else (dist.get("percentiles") or {}).get(stat)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _times(bench: dict[str, Any]) -> tuple[float | None, float | None]:
    for source in (bench, bench.get("scheduler_metrics") or {}, bench.get("run_stats") or {}):
        start = source.get("start_time") if source is bench else source.get("measure_start_time",
                                                                           source.get("start_time"))
        end = source.get("end_time") if source is bench else source.get("measure_end_time", source.get("end_time"))
        if isinstance(start, (int, float)) and isinstance(end, (int, float)) and end > start > 0:
            return float(start), float(end)
    return None, None


def _find(data: Any, keys: tuple[str, ...]) -> Any:
    """The first string value under any of `keys`, searching depth-first."""
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
        children = data.values()
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        found = _find(child, keys)
        if found:
            return found
    return None
