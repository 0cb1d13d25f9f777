"""The steps of a stepped energy counter, found by polling it at an iteration's edge.

NVML's total-energy counter does not count continuously: on the H100 measured here it advances once
every 100.0 ms (p10-p90 98-102 ms over 312 steps), each step adding the energy of the period that just
ended. A single read at an edge can be up to one period stale (up to 10% of a 1 s iteration at full
power). So at each edge the sampler polls the counter back to back (a read costs about 3 ms there)
until it has seen the next step, then sleeps until just before the predicted following step and
polls again until it has seen that one too. A step seen between two reads at most CORNER_GAP_S apart
is placed at their midpoint; `energy.counter_at` then bridges the edge from the nearest step with the
counter's own rate over the adjoining step (a period that lies wholly on one side of the edge).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from typing import Any

CORNER_GAP_S = 0.02        # a step between two reads at most this far apart is placed precisely
STEPS_PER_EDGE = 2         # the step next to the edge, and the one after it (for the rate)
GUARD_S = 0.012            # wake this long before a predicted step
UNKNOWN_PERIOD_S = 0.15    # assumed until measured (a bound on the wait, not a figure used)
MAX_PERIOD_S = 0.5         # slower counters are not waited for at edges
MARGIN_S = 0.06


class TickClock:
    """One counter's step timing: period learned from consecutive precise steps, phase from the last."""

    def __init__(self, steps: int = STEPS_PER_EDGE) -> None:
        self.steps = steps
        self.period_s: float | None = None
        self.last_tick_s: float | None = None
        self.intervals: deque[float] = deque(maxlen=16)
        self.edges = 0
        self.reads = 0
        self.missed = 0
        self._prev_t: float | None = None
        self._prev_v: float | None = None
        self._steps = 0
        self._chain = False        # the previous change seen was a precise step
        self._expect: float | None = None
        self._free = False

    def begin(self, t_s: float | None, value: float | None) -> None:
        """Start an edge from the last reading stored (its time and value)."""
        self.edges += 1
        self._prev_t, self._prev_v = t_s, value
        self._steps, self._chain, self._expect, self._free = 0, False, None, False

    def wait_limit_s(self) -> float:
        period = self.period_s or UNKNOWN_PERIOD_S
        return 0.0 if period > MAX_PERIOD_S else (self.steps + 1) * period + MARGIN_S

    def wake_at(self, now_s: float) -> float:
        """When to read next: now, or just before the next predicted step once one step is seen."""
        if self._free or self._steps == 0 or self.period_s is None or self.last_tick_s is None:
            return now_s
        k = max(1, math.ceil((now_s - self.last_tick_s - GUARD_S) / self.period_s))
        self._expect = self.last_tick_s + k * self.period_s
        return self._expect - GUARD_S

    def read(self, t_s: float, value: float) -> bool:
        """One counter read; True once this edge has seen its steps."""
        self.reads += 1
        if self._prev_v is not None and self._prev_t is not None and value != self._prev_v:
            if t_s - self._prev_t <= CORNER_GAP_S:
                self._step((t_s + self._prev_t) / 2)
            else:                  # slept past a step (a late wake-up, or a step earlier than predicted)
                self._chain = False
                self._free = True
        elif self._expect is not None and t_s > self._expect + GUARD_S:
            self.missed += 1       # the step came later than predicted: poll back to back
            self._free = True
        self._prev_t, self._prev_v = t_s, value
        return self._steps >= self.steps

    def _step(self, tick_s: float) -> None:
        if self._chain and self.last_tick_s is not None and 0.001 < tick_s - self.last_tick_s < 1.0:
            self.intervals.append(tick_s - self.last_tick_s)
            if len(self.intervals) >= 2:
                self.period_s = statistics.median(self.intervals)
        self.last_tick_s = tick_s
        self._chain = True
        self._steps += 1
        self._expect = None

    def summary(self) -> dict[str, Any]:
        return {"period_s": round(self.period_s, 5) if self.period_s else None, "edges": self.edges,
                "reads": self.reads, "missed_predictions": self.missed}
