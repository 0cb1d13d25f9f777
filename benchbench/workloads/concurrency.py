"""One iteration's concurrent requests: started together, failures gathered, metrics combined as the metric
registry says (per-stream figures averaged, token counts summed), warnings merged per code."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from ..errors import ServerError
from ..metrics import combine_requests
from ..warnings_ import RunWarning
from .llm_common import prompt_text


def run_parallel(fn: Callable[[int, threading.Event], Any], n: int) -> list[Any]:
    """fn(j, stop) for j in range(n), all started together; results or the exceptions raised.
    With n == 1 it runs in this thread and exceptions propagate (so Ctrl-C stays prompt)."""
    stop = threading.Event()
    if n == 1:
        return [fn(0, stop)]
    barrier = threading.Barrier(n)

    def task(j: int) -> Any:
        barrier.wait()
        return fn(j, stop)

    pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="benchbench-request")
    futures = [pool.submit(task, j) for j in range(n)]
    try:
        wait_futures(futures)
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [f.exception() or f.result() for f in futures]


def fan_out(params: dict[str, Any], index: int,
            request: Callable[[int, str, threading.Event], dict[str, Any]],
            prompt: Callable[[int], str] | None = None) -> tuple[list[dict[str, Any]], dict]:
    """One iteration's `concurrency` requests (each with its own prompt: `prompt(i)`, else the suite's),
    started together. Returns the per-request results and their aggregate metrics; any failure raises
    ServerError."""
    n = int(params["concurrency"])
    vary = bool(params["vary_prompt"])
    prompt = prompt or (lambda i: prompt_text(params, i, vary))
    prompts = [prompt(index * n + j) for j in range(n)]
    results = run_parallel(lambda j, stop: request(j, prompts[j], stop), n)
    check_failures(results)
    return results, aggregate(results)


def check_failures(results: list[Any]) -> None:
    """Raise one ServerError when any request of the iteration failed."""
    failed = [r for r in results if isinstance(r, BaseException)]
    if not failed:
        return
    first = failed[0]
    message = str(first) if isinstance(first, ServerError) else f"{type(first).__name__}: {first}"
    if len(results) > 1:
        message = f"{len(failed)} of {len(results)} requests failed: {message}"
    raise ServerError(message)


def aggregate(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Iteration metrics from per-request ones, each combined as the metric registry says (per-stream
    figures: the mean; token counts: the sum), plus concurrency, window_s and agg_output_tok_s. The
    runner adds the throughput over the iteration's own window (output_tok_s)."""
    metrics = {key: combine_requests(key, [r["metrics"].get(key) for r in requests])
               for key in dict.fromkeys(k for r in requests for k in r["metrics"])}
    start = min(r["start_s"] for r in requests)
    end = max(r["end_s"] for r in requests)
    total = metrics.get("output_tokens")
    metrics.update({"concurrency": len(requests), "window_s": end - start,
                    "agg_output_tok_s": total / (end - start) if end > start and total else None})
    return metrics


def merge_warnings(per_request: list[list[RunWarning]]) -> list[RunWarning]:
    """One warning per code for the iteration, saying how many requests it concerns."""
    by_code: dict[str, list[RunWarning]] = {}
    for warnings in per_request:
        for w in warnings:
            by_code.setdefault(w.code, []).append(w)
    out = []
    n = len(per_request)
    for code, ws in by_code.items():
        prefix = f"{len(ws)} of {n} requests: " if n > 1 else ""
        out.append(RunWarning(code, prefix + ws[0].message))
    return out
