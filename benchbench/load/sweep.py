"""GuideLLM's sweep: a synchronous point (one request at a time), a throughput point (the server
saturated), then open-loop rates evenly spaced between the two measured request rates:
numpy.linspace(sync, throughput, points − 1)[1:], so `points` load points in all. The knee is the
highest load point that meets the SLOs at their percentile (docs/load.md)."""

from __future__ import annotations

from typing import Any

SWEEP_DEFAULT_CONCURRENCY = 64     # the throughput point's users when max_concurrency is not given


def rates_between(sync_req_s: float, throughput_req_s: float, points: int) -> list[float]:
    """The open-loop rates after the synchronous and throughput points (GuideLLM's spacing)."""
    n = points - 1
    if n < 2 or sync_req_s <= 0 and throughput_req_s <= 0:
        return []
    step = (throughput_req_s - sync_req_s) / (n - 1)
    return [r for r in (sync_req_s + step * i for i in range(1, n)) if r > 0]


def _j_per_token(point: dict[str, Any]) -> float | None:
    """The point's system energy ÷ the output tokens counted in the same window."""
    joules = ((point.get("energy") or {}).get("system") or {}).get("joules")
    tokens = point["metrics"].get("output_tokens")
    return joules / tokens if joules is not None and tokens else None


def sweep_summary(points: list[dict[str, Any]]) -> dict[str, Any]:
    """The sweep's iteration metrics: its range and its knee."""
    ms = [p["metrics"] for p in points]
    out: dict[str, Any] = {"points": len(points)}
    if not ms:
        return out
    best = max(ms, key=lambda m: m.get("output_tok_s") or 0)
    out.update(max_output_tok_s=best.get("output_tok_s"), max_req_s=max(m.get("req_s") or 0 for m in ms),
               sync_output_tok_s=ms[0].get("output_tok_s"), sync_tg_tok_s=ms[0].get("tg_tok_s"),
               sync_ttft_p90_s=ms[0].get("ttft_p90_s"))
    meeting = [(p, m) for p, m in zip(points, ms) if m.get("meets_slo")]
    if any(m.get("meets_slo") is not None for m in ms):
        knee = max(meeting, key=lambda pm: pm[1].get("req_s") or 0, default=None)
        out.update(knee_req_s=knee[1].get("req_s") if knee else None,
                   knee_output_tok_s=knee[1].get("output_tok_s") if knee else None,
                   knee_label=knee[0]["label"] if knee else None,
                   knee_j_per_token=_j_per_token(knee[0]) if knee else None)
    return out
