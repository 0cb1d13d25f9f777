"""Runs one load point: a closed loop (N users, each sending when its last request ends) or an open
loop (arrivals on a schedule, optionally capped at max_concurrency), over one keep-alive pool, in an
asyncio event loop of its own.

The client watches itself: CPU time of the event-loop thread, event-loop lag (a 10 ms ticker's
lateness) and, in an open loop, how late each request left against its schedule. When these say the
client, not the server, set the pace, the point carries `client_saturated`.

Duration-bound points stop sending at `duration_s` and cancel what is still in flight (kept as
`cancelled` rows, like GuideLLM's incomplete requests); request-bound points wait for every answer.
Ctrl-C (SIGINT/SIGTERM) stops the point at once: finished requests are kept, the point is marked
interrupted.
"""

from __future__ import annotations

import asyncio
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..workloads.servers import error_text, scrub
from .apis import Api, Stream
from .arrivals import arrival_times
from .http import HTTPFailure, Pool
from .prompts import PromptSource
from .rows import Row
from .stats import percentile

LAG_TICK_S = 0.010
SATURATED_LAG_S = 0.010        # p99 event-loop lag or send lateness above this: the client is behind
SATURATED_CPU_SHARE = 0.90     # the event loop busy 90% of the wall time
PRECONNECT_MAX = 256           # connections opened before the clock starts


@dataclass
class PointPlan:
    """What one load point does."""

    label: str
    mode: str                        # closed | open
    concurrency: int | None = None
    rate: float | None = None        # requests/s; inf = all at once
    arrival: str = "poisson"
    burstiness: float = 1.0
    max_concurrency: int | None = None
    requests: int | None = None
    duration_s: float | None = None
    ramp_up_s: float = 0.0
    cool_down_s: float = 0.0
    seed: int = 0

    def describe(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.mode == "closed":
            for k in ("arrival", "burstiness", "rate"):
                out.pop(k, None)
        elif out.get("rate") == math.inf:
            out["rate"] = "inf"
        return out


@dataclass
class PointRun:
    """A finished (or interrupted) load point: its rows and the client's view of itself."""

    plan: PointPlan
    t0: float
    rows: list[Row]
    w0: float
    w1: float
    end_s: float
    interrupted: bool = False
    client: dict[str, Any] = field(default_factory=dict)
    signum: int | None = None        # the signal that interrupted it (SIGINT, SIGTERM)

    def saturated(self) -> str | None:
        """Why the client was the bottleneck, or None."""
        c = self.client
        why = []
        if (c.get("loop_lag_p99_s") or 0) > SATURATED_LAG_S:
            why.append(f"event-loop lag p99 {c['loop_lag_p99_s'] * 1000:.1f} ms")
        if (c.get("send_lag_p99_s") or 0) > SATURATED_LAG_S:
            why.append(f"requests left {c['send_lag_p99_s'] * 1000:.1f} ms late (p99)")
        if (c.get("client_cpu_share") or 0) > SATURATED_CPU_SHARE:
            why.append(f"the client's event loop was busy {c['client_cpu_share']:.0%} of the time")
        return "; ".join(why) or None


class Engine:
    """Sends a load point's requests through `api` to the server at `url`."""

    def __init__(self, api: Api, url: str, source: PromptSource, headers: dict[str, str] | None = None,
                 timeout_s: float = 600.0, secret: str | None = None, pool: type = Pool) -> None:
        """`pool`: the connection pool class (http.Pool; benchmarks/load_client.py swaps in aiohttp's to compare)."""
        self.api, self.url, self.source, self.secret, self.pool_class = api, url, source, secret, pool
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.timeout_s = timeout_s

    # --- the synchronous entry point -----------------------------------------------------------
    def run(self, plan: PointPlan, first_index: int) -> PointRun:
        """Run the point in a new event loop; Ctrl-C ends it early with what finished."""
        with asyncio.Runner() as runner:
            return runner.run(self._run(plan, first_index))

    async def _run(self, plan: PointPlan, first_index: int) -> PointRun:
        state = _State(plan, first_index, self)
        restore = _catch_signals(state.interrupt)
        try:
            return await state.run()
        finally:
            restore()


class _State:
    """One point's moving parts."""

    def __init__(self, plan: PointPlan, first_index: int, engine: Engine) -> None:
        self.plan, self.first, self.e = plan, first_index, engine
        self.rows: list[Row] = []
        self.in_flight = 0
        self.next_position = 0
        self.lags: list[float] = []
        self.send_lags: list[float] = []
        self.stop = asyncio.Event()
        self.interrupted = False
        self.signum: int | None = None
        self.pool = engine.pool_class(engine.url, engine.headers, engine.timeout_s)
        self.path = self.pool.path(engine.api.path) if not engine.api.path.startswith("/") else engine.api.path

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        self.interrupted, self.signum = True, signum
        self.stop.set()

    async def run(self) -> PointRun:
        loop = asyncio.get_running_loop()
        try:    # connect ahead, off the clock; a server that refuses fails each request on its own
            await self.pool.warm(min(PRECONNECT_MAX, self.plan.concurrency or self.plan.max_concurrency or 8))
        except HTTPFailure:
            pass
        ticker = loop.create_task(self._lag())
        cpu0, self.t0 = time.thread_time(), time.monotonic()
        body = loop.create_task(self._closed() if self.plan.mode == "closed" else self._open())
        deadline = self.plan.duration_s
        stopper = loop.create_task(self.stop.wait())
        done, _ = await asyncio.wait({body, stopper}, timeout=deadline, return_when=asyncio.FIRST_COMPLETED)
        stopped_s = time.monotonic()
        if body not in done:
            body.cancel()
        await asyncio.gather(body, return_exceptions=True)
        for task in (stopper, ticker):
            task.cancel()
        end_s = time.monotonic()
        client = {"client_cpu_s": time.thread_time() - cpu0, "wall_s": end_s - self.t0,
                  "connections_opened": self.pool.opened}
        await self.pool.close()
        client["client_cpu_share"] = client["client_cpu_s"] / client["wall_s"] if client["wall_s"] > 0 else None
        for name, values in (("loop_lag", self.lags), ("send_lag", self.send_lags)):
            if values:
                client[f"{name}_p50_s"] = percentile(values, 50)
                client[f"{name}_p99_s"] = percentile(values, 99)
                client[f"{name}_max_s"] = max(values)
        w0 = self.t0 + self.plan.ramp_up_s
        if self.plan.duration_s is not None and not self.interrupted:
            w1 = self.t0 + self.plan.duration_s
        elif self.interrupted:
            w1 = stopped_s
        else:
            w1 = max([r.end_s for r in self.rows if r.end_s is not None], default=end_s)
        w1 = max(w0, w1 - self.plan.cool_down_s)
        return PointRun(self.plan, self.t0, self.rows, w0, w1, end_s, self.interrupted, client, self.signum)

    async def _lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            self.lags.append(max(0.0, loop.time() - t - LAG_TICK_S))

    # --- closed loop ---------------------------------------------------------------------------
    async def _closed(self) -> None:
        async def user() -> None:
            while not self.stop.is_set():
                position = self._take()
                if position is None:
                    return
                await self._one(position, None)

        await asyncio.gather(*(user() for _ in range(int(self.plan.concurrency or 1))))

    def _take(self) -> int | None:
        if self.plan.requests is not None and self.next_position >= self.plan.requests:
            return None
        self.next_position += 1
        return self.next_position - 1

    # --- open loop -----------------------------------------------------------------------------
    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        cap = self.plan.max_concurrency
        slots = asyncio.Semaphore(cap) if cap else None
        tasks: set[asyncio.Task[None]] = set()
        times = arrival_times(float(self.plan.rate or math.inf), self.plan.arrival, self.plan.burstiness,
                              self.plan.seed)
        try:
            for offset in times:
                if self.stop.is_set() or (self.plan.duration_s is not None and offset >= self.plan.duration_s):
                    break
                position = self._take()
                if position is None:
                    break
                due = self.t0 + offset
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.send_lags.append(max(0.0, loop.time() - due))
                task = loop.create_task(self._one(position, due, slots))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            while tasks:
                await asyncio.gather(*list(tasks), return_exceptions=True)
        finally:
            for task in list(tasks):
                task.cancel()
            if tasks:
                await asyncio.gather(*list(tasks), return_exceptions=True)

    # --- one request ---------------------------------------------------------------------------
    async def _one(self, position: int, due: float | None, slots: asyncio.Semaphore | None = None) -> None:
        index = self.first + position
        if self.e.source.ready(index, position):
            prompt = self.e.source.prompt(index, position)
        else:   # a prompt length not built yet: the tokenizer calls happen off the event loop
            prompt = await asyncio.get_running_loop().run_in_executor(None, self.e.source.prompt, index, position)
        payload = self.e.api.body(prompt)
        row = Row(index, position, due, time.monotonic(), max_tokens=prompt.max_tokens,
                  input_tokens_asked=prompt.input_tokens_asked)
        if slots is not None:
            await slots.acquire()
        stream = Stream()
        line = self.e.api.line
        self.in_flight += 1
        try:
            row.sent_s = time.monotonic()
            response = await self.pool.request("POST", self.path, payload, lambda b, t: line(stream, b, t))
            row.http_status, row.end_s = response.status, response.end_s
            if response.status >= 400:
                row.status, row.error = "error", f"HTTP {response.status}: {error_text(response.body)}"
        except HTTPFailure as exc:
            row.status, row.error, row.end_s = "error", str(exc), time.monotonic()
        except asyncio.CancelledError:
            row.status, row.error, row.end_s = "cancelled", "still running when the load point ended", \
                time.monotonic()
            raise
        finally:
            self.in_flight -= 1
            if slots is not None:
                slots.release()
            self._finish(row, stream)
            if row.error and self.e.secret:
                row.error = scrub(row.error, self.e.secret)   # never the API key in rows or records
            self.rows.append(row)

    def _finish(self, row: Row, s: Stream) -> None:
        row.times = s.times
        row.finish_reason = s.finish_reason
        usage = self.e.api.usage(s)
        row.input_tokens, row.output_tokens = usage.get("input_tokens"), usage.get("output_tokens")
        row.cached_tokens = usage.get("cached_tokens")
        row.server = {k: v for k, v in usage.items() if k.startswith("server_")}
        if row.status != "ok":
            return
        if s.error:
            row.status, row.error = "error", s.error
        elif not self.e.api.ended(s):
            row.status, row.error = "error", "the stream ended before it finished"
        elif not s.times:
            row.status, row.error = "error", "no token chunk in the stream (vLLM counts this as failed)"


def _catch_signals(handler: Callable[[int], None]) -> Callable[[], None]:
    """SIGINT/SIGTERM call `handler(signum)` in the event loop; returns the function that puts back the
    Python handlers that were there (benchbench.signals'). Only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in saved:
        loop.add_signal_handler(sig, handler, sig)

    def restore() -> None:
        for sig, old in saved.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, old)
    return restore
