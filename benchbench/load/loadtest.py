"""The load path of a server backend: one iteration = one load point (or one whole sweep).

Record shape (docs/load.md): a workload with `load: {concurrency: 8}` is one record; each iteration
runs the load point once and its metrics are the point's aggregates; a matrix over
`load.concurrency` gives one record per value. Per-request rows go to `<run_id>.it<i>.requests.csv`
beside the record. A sweep's iteration holds its points under `load_points`, each with its metrics,
energy and rows file; the iteration's metrics summarize the sweep (peak throughput, the knee).
"""

from __future__ import annotations

import signal
from typing import Any

from ..errors import Interrupted, ServerError
from ..workloads.base import IterationContext, IterationResult, RunWarning, measured_window
from .apis import Api
from .config import LoadConfig, load_config
from .engine import Engine, PointPlan, PointRun
from .prompts import PromptSource, Tokenizer
from .rows import write_rows
from .server_view import ServerView
from .stats import point_metrics
from .sweep import SWEEP_DEFAULT_CONCURRENCY, rates_between, sweep_summary

MULTI_TOKEN_CHUNKS = 1.05        # tokens per chunk above this: ITL is per chunk, said so


class LoadTest:
    """Set up once per run; `run_once` per iteration."""

    def __init__(self, params: dict[str, Any], api: Api, url: str, headers: dict[str, str] | None = None,
                 timeout_s: float = 600.0, tokenizer: Tokenizer | None = None,
                 view: ServerView | None = None, secret: str | None = None) -> None:
        self.params = params
        self.cfg: LoadConfig = load_config(params)
        self.source = PromptSource(params, self.cfg, tokenizer=tokenizer)
        self.engine = Engine(api, url, self.source, headers, timeout_s, secret)
        self.view = view
        self.next_index = 0

    def facts(self) -> dict[str, Any]:
        """Recorded once per run (workload.facts.load)."""
        return {"config": self.cfg.to_dict(), "slo": self.cfg.slo.to_dict() if self.cfg.slo.any else None,
                "prompts": self.source.describe(), "api": self.engine.api.name}

    # --- iterations ----------------------------------------------------------------------------
    def run_once(self, ctx: IterationContext) -> IterationResult:
        if self.cfg.mode == "sweep":
            return self._sweep(ctx)
        point = self._point(self._plan(), ctx, "")
        return _as_result(point)

    def _plan(self) -> PointPlan:
        c = self.cfg
        label = f"concurrency {c.concurrency}" if c.mode == "closed" else f"{c.arrival} {_rate(c.request_rate)}/s"
        return PointPlan(label, c.mode, concurrency=c.concurrency, rate=c.request_rate, arrival=c.arrival,
                         burstiness=c.burstiness, max_concurrency=c.max_concurrency, requests=c.requests,
                         duration_s=c.duration_s, ramp_up_s=c.ramp_up_s, cool_down_s=c.cool_down_s, seed=c.seed)

    def _point(self, plan: PointPlan, ctx: IterationContext, tag: str) -> dict[str, Any]:
        """Run one load point and turn it into its record entry; Interrupted carries the partial entry."""
        self.source.warm(self.next_index, plan.requests or _estimate(plan))
        before = self.view.snapshot() if self.view else None
        run = self.engine.run(plan, self.next_index)
        self.next_index += len(run.rows) + 1
        point = self._entry(run, ctx, tag, before)
        if run.interrupted:
            exc = Interrupted(run.signum or signal.SIGINT, f"interrupted during load point {plan.label}")
            exc.partial = point   # type: ignore[attr-defined]
            exc.partial_result = _as_result(point)   # type: ignore[attr-defined]
            raise exc
        if run.rows and point["metrics"]["succeeded_requests"] == 0:
            first = next((r.error for r in run.rows if r.error), "no answer")
            raise ServerError(f"{plan.label}: every request failed ({len(run.rows)}; first: {first}); "
                              f"rows in {point['requests_file']}")
        return point

    def _entry(self, run: PointRun, ctx: IterationContext, tag: str, before: Any) -> dict[str, Any]:
        metrics = point_metrics(run.rows, run.w0, run.w1, self.cfg.slo)
        metrics.update({k: v for k, v in run.client.items() if k != "wall_s"})
        energy = measured_window(metrics, ctx.energy, run.w0, run.w1)   # rates and energy: the same window W
        metrics["j_per_request"] = j_per(energy, metrics.get("completed_requests"))
        path = write_rows(run.rows, run.t0, ctx.artifact_path(f"{tag}.requests.csv"), self.cfg.rows)
        server = self.view.after(before) if self.view else {}
        summary = server.pop("summary", None) or {}
        metrics.update({f"{k}_delta" if not k.endswith("_delta") else k: v for k, v in summary.items()})
        entry = {"label": run.plan.label, "plan": run.plan.describe(), "metrics": metrics,
                 "window": {"t0_s": run.t0, "mono_start_s": run.w0, "mono_end_s": run.w1,
                            "duration_s": run.w1 - run.w0, "ramp_up_s": run.plan.ramp_up_s,
                            "cool_down_s": run.plan.cool_down_s},
                 "requests_file": path.name, "interrupted": run.interrupted,
                 "warnings": [w.to_dict() for w in self._warnings(run, metrics)]}
        if energy is not None:
            entry["energy"] = energy
        if server:
            entry["server"] = server
        return entry

    def _warnings(self, run: PointRun, m: dict[str, Any]) -> list[RunWarning]:
        out = []
        why = run.saturated()
        if why:
            out.append(RunWarning("client_saturated", f"{run.plan.label}: the client fell behind ({why}); its "
                                  "latencies include its own delay: lower the load or run the client elsewhere"))
        if m["failed_requests"]:
            first = next(r.error for r in run.rows if r.status == "error")
            out.append(RunWarning("requests_failed", f"{run.plan.label}: {m['failed_requests']} of "
                                  f"{m['requests_sent']} requests failed (first: {first})"))
        if (m.get("cached_share") or 0) > 0.5:
            out.append(RunWarning("prompt_cached", f"{run.plan.label}: {m['cached_share']:.0%} of prompt tokens "
                                  "came from the server's cache: prefill was not measured"))
        if (m.get("tokens_per_chunk_mean") or 1) > MULTI_TOKEN_CHUNKS:
            out.append(RunWarning("multi_token_chunks", f"{run.plan.label}: chunks carry "
                                  f"{m['tokens_per_chunk_mean']:.2f} tokens on average: ITL is per chunk gap"))
        if m["measured_requests"] == 0:
            out.append(RunWarning("empty_window", f"{run.plan.label}: no request was sent and finished "
                                  "inside the measured window: lengthen the point or shorten ramp_up_s/cool_down_s"))
        return out

    # --- sweeps --------------------------------------------------------------------------------
    def _sweep(self, ctx: IterationContext) -> IterationResult:
        c = self.cfg
        points: list[dict[str, Any]] = []
        base = dict(requests=c.requests, duration_s=c.duration_s, ramp_up_s=c.ramp_up_s,
                    cool_down_s=c.cool_down_s, seed=c.seed)
        try:
            points.append(self._point(PointPlan("synchronous", "closed", concurrency=1, **base), ctx, ".p0"))
            peak = c.max_concurrency or SWEEP_DEFAULT_CONCURRENCY
            points.append(self._point(PointPlan("throughput", "closed", concurrency=peak, **base), ctx, ".p1"))
            rates = rates_between(points[0]["metrics"]["req_s"], points[1]["metrics"]["req_s"], c.points)
            for k, rate in enumerate(rates, 2):
                plan = PointPlan(f"{c.arrival} {_rate(rate)}/s", "open", rate=rate, arrival=c.arrival,
                                 burstiness=c.burstiness, max_concurrency=c.max_concurrency, **base)
                points.append(self._point(plan, ctx, f".p{k}"))
        except Interrupted as exc:
            partial = getattr(exc, "partial", None)
            result = _sweep_result(points + ([partial] if partial else []))
            exc.partial_result = result   # type: ignore[attr-defined]
            raise
        return _sweep_result(points)


def _as_result(point: dict[str, Any]) -> IterationResult:
    metrics = point["metrics"]
    raw = {"load": {k: v for k, v in point.items() if k not in ("metrics", "warnings", "energy")}}
    w = point["window"]
    return IterationResult(metrics, raw=raw, warnings=[_warning(x) for x in point["warnings"]],
                           artifacts=[point["requests_file"]],
                           energy_window=("load point", w["mono_start_s"], w["mono_end_s"]))


def _warning(stored: dict[str, Any]) -> RunWarning:
    """A point's stored warning ({code, level, message}) back as a RunWarning (its level follows its code)."""
    return RunWarning(stored["code"], stored["message"])


def _sweep_result(points: list[dict[str, Any]]) -> IterationResult:
    warnings = [_warning(x) for p in points for x in p["warnings"]]
    window = ("sweep", points[0]["window"]["mono_start_s"], points[-1]["window"]["mono_end_s"]) if points else None
    return IterationResult(sweep_summary(points), warnings=warnings, artifacts=[p["requests_file"] for p in points],
                           energy_window=window, points=points)


def j_per(energy: dict[str, Any] | None, count: float | None) -> float | None:
    """System energy over the window ÷ `count` (requests or output tokens counted in the same window)."""
    system = (energy or {}).get("system") or {}
    joules = system.get("joules")
    return joules / count if joules is not None and count else None


def _estimate(plan: PointPlan) -> int:
    """Prompts to build ahead for a duration-bound point (more are built off the loop if needed)."""
    if plan.mode == "open" and plan.rate and plan.rate != float("inf") and plan.duration_s:
        return int(plan.rate * plan.duration_s * 1.2) + 16
    return 64 * (plan.concurrency or 1)


def _rate(rate: float | None) -> str:
    return "inf" if rate is None or rate == float("inf") else f"{rate:.3g}"
