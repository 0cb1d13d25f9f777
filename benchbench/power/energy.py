"""Energy over a time window: counter deltas cross-checked against the power integral.

Counter first (NVML total energy, amdsmi, RAPL, plug totals). A counter that advances in steps (NVML:
every 100 ms) is placed at an edge from the nearest step seen precisely (between two reads a few ms
apart, see counter_ticks.py), bridged to the edge with the counter's own rate over the neighbouring
step on the same side of the edge; otherwise it is linearly interpolated between close readings (an
edge far from any counter reading is bridged from the nearest one with the power integral). It is
rejected, as Zeus does for windows shorter than the counter's update period, when it did not move
while power was drawn, went backwards (reset), is coarser than the window, or disagrees wildly
(over 3x) with power × time. Otherwise the trapezoid integral of power,
interpolated at the edges, is used.
"""

from __future__ import annotations

import bisect
from typing import Any, NamedTuple

from .counter_ticks import CORNER_GAP_S

EDGE_EPS_S = 0.002         # a counter reading this close to an edge counts as on it
MIN_COUNTER_STEPS = 20     # the delta must span this many counter steps (quantization <= 5%)
COUNTER_RATIO_LIMIT = 3.0  # counter vs power × time beyond this: the counter is not trusted
MIN_READINGS_TO_COMPARE = 2   # fewer power readings inside a window: too few to judge a counter's size
STEP_WINDOW_S = 1.5        # steps looked for this far either side of an edge
MAX_BRIDGE_S = 0.25        # a step is carried to an edge at most this far
MAX_RATE_SPAN_S = 0.5      # a rate is taken between precise steps at most this far apart
FLAT_MIN_GAP_S = 0.001     # a counter holding its value over reads at least this far apart is stepped: a fine
                           # one moving with the power (mJ at 10 W and more) repeats only over reads µs apart


class Step:
    """A change of the counter between the read at `before_s` (value `old`) and the one at `after_s`
    (`new`); `flat`: the counter holds its value between steps (reads 1 ms to 20 ms apart showed the
    same value nearby), unlike RAPL or amdsmi's accumulators, which move at every read."""

    __slots__ = ("before_s", "after_s", "old", "new", "flat")

    def __init__(self, before_s: float, after_s: float, old: float, new: float, flat: bool = True) -> None:
        self.before_s, self.after_s, self.old, self.new, self.flat = before_s, after_s, old, new, flat

    @property
    def t_s(self) -> float:
        return (self.before_s + self.after_s) / 2

    @property
    def precise(self) -> bool:
        return self.flat and self.after_s - self.before_s <= CORNER_GAP_S


class Bridge(NamedTuple):
    span_s: float
    value: float


def steps_near(te: list[float], es: list[float], t: float) -> list[Step]:
    """Every change of the counter read within STEP_WINDOW_S of t, in order."""
    i = max(bisect.bisect_left(te, t - STEP_WINDOW_S), 1)
    j = bisect.bisect_right(te, t + STEP_WINDOW_S)
    flat = any(es[k] == es[k - 1] and FLAT_MIN_GAP_S <= te[k] - te[k - 1] <= CORNER_GAP_S for k in range(i, j))
    return [Step(te[k - 1], te[k], es[k - 1], es[k], flat) for k in range(i, j) if es[k] != es[k - 1]]


def stepped_at(te: list[float], es: list[float], t: float) -> float | None:
    """The counter at t bridged from the nearest precise step (a step's value is the energy up to its
    own instant) at the counter's rate between that step and the next precise one on the far side from
    t (a stretch wholly on that side of the edge); None when no step within MAX_BRIDGE_S has such a rate."""
    precise = [s for s in steps_near(te, es, t) if s.precise]
    bridges = []
    for k, step in enumerate(precise):
        other = precise[k - 1] if step.t_s <= t and k >= 1 else precise[k + 1] if step.t_s > t and \
            k + 1 < len(precise) else None
        if other is None or not 0 < abs(step.t_s - other.t_s) <= MAX_RATE_SPAN_S or \
                abs(t - step.t_s) > MAX_BRIDGE_S:
            continue
        rate_w = (step.new - other.new) / (step.t_s - other.t_s)
        bridges.append(Bridge(abs(t - step.t_s), step.new + rate_w * (t - step.t_s)))
    return min(bridges).value if bridges else None


def value_at(ts: list[float], ys: list[float], t: float, max_gap_s: float) -> float | None:
    """y(t): linear between neighbours; the nearest reading held up to max_gap_s outside."""
    if not ts:
        return None
    i = bisect.bisect_left(ts, t)
    if i < len(ts) and ts[i] == t:
        return ys[i]
    if i == 0:
        return ys[0] if ts[0] - t <= max_gap_s else None
    if i == len(ts):
        return ys[-1] if t - ts[-1] <= max_gap_s else None
    t_a, t_b = ts[i - 1], ts[i]
    return ys[i - 1] + (ys[i] - ys[i - 1]) * (t - t_a) / (t_b - t_a)


def trapezoid(ts: list[float], ps: list[float], t0: float, t1: float, max_gap_s: float) -> float | None:
    """∫ p dt over [t0, t1] with edge values interpolated; None when the window isn't covered."""
    if t1 <= t0:
        return 0.0 if ts else None
    p0, p1 = value_at(ts, ps, t0, max_gap_s), value_at(ts, ps, t1, max_gap_s)
    if p0 is None or p1 is None:
        return None
    i, j = bisect.bisect_right(ts, t0), bisect.bisect_left(ts, t1)
    xs = [t0, *ts[i:j], t1]
    vs = [p0, *ps[i:j], p1]
    return sum((xs[k + 1] - xs[k]) * (vs[k] + vs[k + 1]) / 2 for k in range(len(xs) - 1))


def counter_at(te: list[float], es: list[float], t: float, max_gap_s: float,
               tp: list[float] | None = None, ps: list[float] | None = None) -> float | None:
    """The counter at t: a reading on t, else linear between readings at most max_gap_s apart, else
    a neighbouring reading plus (or minus) the power integral between it and t, from the side with
    less energy to bridge (an integral's error grows with it); None if none applies."""
    if not te:
        return None
    stepped = stepped_at(te, es, t)
    if stepped is not None:
        return stepped
    i = bisect.bisect_left(te, t)
    for j in (i - 1, i):
        if 0 <= j < len(te) and abs(te[j] - t) <= EDGE_EPS_S:
            return es[j]
    bracketed = 0 < i < len(te)
    if bracketed and te[i] - te[i - 1] <= max_gap_s:
        return es[i - 1] + (es[i] - es[i - 1]) * (t - te[i - 1]) / (te[i] - te[i - 1])
    bridges = []
    if tp and i > 0:
        gap = trapezoid(tp, ps or [], te[i - 1], t, max_gap_s)
        if gap is not None:
            bridges.append((abs(gap), es[i - 1] + gap))
    if tp and i < len(te):
        gap = trapezoid(tp, ps or [], t, te[i], max_gap_s)
        if gap is not None:
            bridges.append((abs(gap), es[i] - gap))
    if bridges:
        return min(bridges)[1]
    return value_at(te, es, t, 0.0) if bracketed else None


def counter_delta(te: list[float], es: list[float], t0: float, t1: float, max_gap_s: float = float("inf"),
                  tp: list[float] | None = None, ps: list[float] | None = None) -> float | None:
    """Counter advance over [t0, t1] (see counter_at); None when an edge can't be placed."""
    e0 = counter_at(te, es, t0, max_gap_s, tp, ps)
    e1 = counter_at(te, es, t1, max_gap_s, tp, ps)
    if e0 is None or e1 is None:
        return None
    return e1 - e0


def counter_ok(counter_j: float, integrated_j: float | None, resolution_j: float = 0.0,
               compare: bool = True) -> bool:
    """Is a counter delta trustworthy next to power × time? (`compare`: whether the power readings
    inside the window are enough to judge its size; a stuck counter is caught either way)."""
    if counter_j < 0:
        return False
    if resolution_j and counter_j < MIN_COUNTER_STEPS * resolution_j:
        return False
    if integrated_j is None:
        return True
    if counter_j == 0:
        return integrated_j <= 0
    if integrated_j > 0 and compare:
        ratio = counter_j / integrated_j
        return 1 / COUNTER_RATIO_LIMIT <= ratio <= COUNTER_RATIO_LIMIT
    return True


def choose(counter_j: float | None, integrated_j: float | None,
           resolution_j: float = 0.0, compare: bool = True) -> tuple[float, str] | None:
    """(joules, source) with source `counter` or `integrated`; None when neither is known."""
    if counter_j is not None and counter_ok(counter_j, integrated_j, resolution_j, compare):
        return counter_j, "counter"
    if integrated_j is not None:
        return integrated_j, "integrated"
    if counter_j is not None and counter_j >= 0:
        return counter_j, "counter"
    return None


def window(series: Any, t0: float, t1: float, max_gap_s: float, counter: bool,
           resolution_j: float = 0.0) -> dict[str, Any] | None:
    """{"joules", "avg_w", "source"} for one channel's Series over [t0, t1], or None."""
    tp, p, te, e = series.snapshot()
    integrated = trapezoid(tp, p, t0, t1, max_gap_s)
    delta = counter_delta(te, e, t0, t1, max_gap_s, tp, p) if counter else None
    inside = bisect.bisect_left(tp, t1) - bisect.bisect_right(tp, t0)   # power readings within the window
    picked = choose(delta, integrated, resolution_j, compare=inside >= MIN_READINGS_TO_COMPARE)
    if picked is None:
        return None
    joules, source = picked
    duration = t1 - t0
    return {"joules": joules, "avg_w": joules / duration if duration > 0 else None, "source": source}


def cross_check(series: Any, max_gap_s: float) -> dict[str, float] | None:
    """Whole-run counter delta against the power integral over the same span."""
    tp, p, te, e = series.snapshot()
    if len(te) < 2 or len(tp) < 2:
        return None
    t0, t1 = max(te[0], tp[0]), min(te[-1], tp[-1])
    if t1 <= t0:
        return None
    c = counter_delta(te, e, t0, t1)
    i = trapezoid(tp, p, t0, t1, max_gap_s)
    if c is None or i is None:
        return None
    out = {"span_s": round(t1 - t0, 3), "counter_j": round(c, 3), "integrated_j": round(i, 3)}
    if c > 0:
        out["integrated_vs_counter_pct"] = round((i - c) / c * 100, 3)
    return out
