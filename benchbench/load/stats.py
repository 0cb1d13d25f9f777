"""A load point's figures from its per-request rows, with vLLM's definitions.

The measured window W = [w0, w1] (steady state, the ML.ENERGY method): latency distributions and
goodput use the requests that were sent and finished inside W; the counts of what happened inside W
(requests finished, output tokens arrived) become rates by the one rule of a measured window
(workloads.base.measured_window: count ÷ |W|, energy over W). With no ramp-up or cool-down W spans the
whole load point and every figure equals `vllm bench serve`'s: request throughput = completed / duration,
output throughput = output tokens / duration, goodput = requests meeting every SLO / duration;
percentiles interpolate linearly (numpy's default).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from .config import SLO
from .rows import Row

PERCENTILES = (50, 90, 95, 99)


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy.percentile's default), p in [0, 100]."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def distribution(name: str, values: list[float], mean_key: str | None = None) -> dict[str, float | None]:
    """`<mean_key>` (default `<name>_mean_s`), `<name>_median_s`, `_p90_s`, `_p95_s`, `_p99_s`."""
    out: dict[str, float | None] = {mean_key or f"{name}_mean_s": statistics.fmean(values) if values else None}
    for p in PERCENTILES:
        out[f"{name}_{'median' if p == 50 else f'p{p}'}_s"] = percentile(values, p)
    return out


def meets(row: Row, slo: SLO) -> bool:
    """Every SLO given is met (vLLM: a request with one output token has TPOT 0)."""
    checks = ((slo.ttft_s, row.ttft_s), (slo.tpot_s, row.tpot_s or 0.0), (slo.e2e_s, row.e2e_s))
    return all(limit is None or (value is not None and value <= limit) for limit, value in checks)


def mark_window(rows: list[Row], w0: float, w1: float) -> list[Row]:
    """Flag and return the rows sent and finished inside [w0, w1]."""
    for r in rows:
        r.in_window = r.ok and r.sent_s >= w0 and r.end_s is not None and r.end_s <= w1
    return [r for r in rows if r.in_window]


def point_metrics(rows: list[Row], w0: float, w1: float, slo: SLO) -> dict[str, Any]:
    """The load point's metrics (names carry their unit; scope in docs/load.md)."""
    window = max(w1 - w0, 1e-9)
    inside = mark_window(rows, w0, w1)
    ok = [r for r in rows if r.ok]
    finished = [r for r in ok if r.end_s is not None and w0 <= r.end_s <= w1]
    good = [r for r in finished if meets(r, slo)] if slo.any else finished
    per_chunk = _tokens_per_chunk(ok)
    out_tokens = sum(_tokens_between(r, w0, w1, per_chunk) for r in rows)
    in_tokens = sum(r.input_tokens or 0 for r in rows if r.times and w0 <= r.times[0] <= w1)
    m: dict[str, Any] = {
        "requests_sent": len(rows), "succeeded_requests": len(ok),
        "failed_requests": sum(r.status == "error" for r in rows),
        "cancelled_requests": sum(r.status == "cancelled" for r in rows), "measured_requests": len(inside),
        "window_s": window, "output_tokens": out_tokens, "input_tokens": in_tokens,
        "total_tokens": out_tokens + in_tokens, "completed_requests": len(finished),
        "good_requests": len(good) if slo.any else None,
        "slo_met_share": (sum(meets(r, slo) for r in inside) / len(inside)) if slo.any and inside else None,
    }
    m.update(distribution("ttft", [r.ttft_s for r in inside if r.ttft_s is not None], "ttft_s"))
    m.update(distribution("tpot", [r.tpot_s for r in inside if r.tpot_s is not None], "tpot_s"))
    m.update(distribution("itl", [g for r in inside for g in r.gaps_s]))
    m.update(distribution("e2e", [r.e2e_s for r in inside if r.e2e_s is not None], "e2e_s"))
    m.update(_per_request(inside, ok, per_chunk))
    m.update(concurrency(rows, w0, w1))
    m["meets_slo"] = slo_verdict(inside, slo)
    return m


def _per_request(inside: list[Row], ok: list[Row], per_chunk: float | None) -> dict[str, Any]:
    speeds = [(r.tokens - 1) / (r.times[-1] - r.times[0]) for r in inside
              if r.tokens > 1 and len(r.times) > 1 and r.times[-1] > r.times[0]]
    inputs = [r.input_tokens for r in inside if r.input_tokens is not None]
    outputs = [r.tokens for r in inside]
    cached = [r.cached_tokens for r in ok if r.cached_tokens is not None]
    all_inputs = sum(r.input_tokens or 0 for r in ok)
    server_tpot = [r.server_tpot_s for r in inside if r.server_tpot_s is not None]
    return {
        "tg_tok_s": statistics.fmean(speeds) if speeds else None,
        "input_tokens_mean": statistics.fmean(inputs) if inputs else None,
        "output_tokens_mean": statistics.fmean(outputs) if outputs else None,
        "cache_read_tokens": sum(cached) if cached else None,
        "cached_share": sum(cached) / all_inputs if cached and all_inputs else None,
        "tokens_per_chunk_mean": per_chunk,
        "server_tpot_mean_s": statistics.fmean(server_tpot) if server_tpot else None,
    }


def _tokens_per_chunk(ok: list[Row]) -> float | None:
    chunks = sum(len(r.times) for r in ok if r.output_tokens is not None)
    tokens = sum(r.output_tokens or 0 for r in ok if r.output_tokens is not None)
    return tokens / chunks if chunks else None


def _tokens_between(row: Row, w0: float, w1: float, per_chunk: float | None) -> float:
    """Output tokens of a request that arrived inside [w0, w1]: its chunks there × tokens per chunk
    (its own ratio when the server counted its tokens, else the point's)."""
    if not row.times:
        return 0.0
    if w0 <= row.times[0] and row.times[-1] <= w1:
        return float(row.tokens) if row.output_tokens is not None or per_chunk is None else \
            len(row.times) * per_chunk
    n = sum(1 for t in row.times if w0 <= t <= w1)
    ratio = row.tokens_per_chunk or per_chunk or 1.0
    return n * ratio


def concurrency(rows: list[Row], w0: float, w1: float) -> dict[str, Any]:
    """Peak requests in flight (sweep line over [sent, end), as vLLM) and the time-weighted mean
    inside the window."""
    events = []
    for r in rows:
        if r.end_s is not None:
            events += [(r.sent_s, 1), (r.end_s, -1)]
    events.sort()
    level = peak = 0
    area, last = 0.0, w0
    for t, delta in events:
        if t > w0:
            span = min(t, w1) - last
            if span > 0:
                area += level * span
                last = min(t, w1)
        level += delta
        peak = max(peak, level)
    if last < w1:
        area += level * (w1 - last)
    return {"peak_concurrency": peak, "concurrency_mean": area / (w1 - w0) if w1 > w0 else None}


def slo_verdict(inside: list[Row], slo: SLO) -> bool | None:
    """Does the load point meet its SLOs at `slo.percentile` (e.g. p90 TTFT ≤ ttft_s)? None: no SLO;
    False when no request was measured."""
    if not slo.any:
        return None
    series = {"ttft": [r.ttft_s for r in inside if r.ttft_s is not None],
              "tpot": [r.tpot_s or 0.0 for r in inside], "e2e": [r.e2e_s for r in inside if r.e2e_s is not None]}
    for limit, name in ((slo.ttft_s, "ttft"), (slo.tpot_s, "tpot"), (slo.e2e_s, "e2e")):
        if limit is None:
            continue
        value = percentile(series[name], slo.percentile)
        if value is None or value > limit:
            return False
    return True
