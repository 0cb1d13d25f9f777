"""Energy at iteration edges with a counter that advances in steps (NVML: every 100 ms on the H100).

Law: the fake GPU draws IDLE_W, and LOAD_W exactly between the iteration's t0 and t1 (its own
time.monotonic() readings); the counter steps every STEP_S at a phase that differs per case. The
iteration's energy must then be LOAD_W × (t1 − t0): a single stale read at each edge would be off by
up to (LOAD_W − IDLE_W) × STEP_S per edge.
"""

from __future__ import annotations

import time

import pytest
from power_helpers import FakeGpu, FakeNvml, FakePynvml

from benchbench.power.counter_ticks import TickClock
from benchbench.power.energy import counter_at, stepped_at
from benchbench.power.monitor import PowerMonitor

IDLE_W, LOAD_W, STEP_S = 100.0, 400.0, 0.05


class Load:
    """Power as a function of seconds since the fake GPU was created: LOAD_W inside [on, off)."""

    def __init__(self) -> None:
        self.on = self.off = float("inf")

    def __call__(self, t: float) -> float:
        return LOAD_W if self.on <= t < self.off else IDLE_W


@pytest.mark.parametrize("phase_s,length_s", [(0.0, 0.33), (0.013, 0.5), (0.031, 0.27)])
def test_stepped_counter_edges(monkeypatch, phase_s, length_s):
    load = Load()
    gpu = FakeGpu(load, step_s=STEP_S, phase_s=phase_s)
    monkeypatch.setattr(FakeNvml, "library", FakePynvml([gpu]))
    sampler = FakeNvml(0.5)
    with PowerMonitor([([sampler], False)], 0.5, None, ["nvml"]) as mon:
        results = []
        for _ in range(3):
            mon.mark()
            t0 = time.monotonic()
            load.on = t0 - gpu.t0
            time.sleep(length_s)
            t1 = time.monotonic()
            load.off = t1 - gpu.t0
            energy = mon.energy(t0, t1)["gpu0"]
            results.append((energy, LOAD_W * (t1 - t0)))
        info = sampler.info()
    for energy, truth in results:
        assert energy["source"] == "counter"
        # a step is placed between reads up to 20 ms apart when this shared machine stalls the poller:
        # ±(300 W × 10 ms) per edge at worst; one stale read per edge would be up to 15 J of 100-200 J
        assert energy["joules"] == pytest.approx(truth, rel=0.025)
    assert info["counter_steps"]["gpu0"]["period_s"] == pytest.approx(STEP_S, rel=0.2)


def test_stepped_at_bridges_from_the_nearest_precise_step():
    # steps every 0.1 s at 0.05, 0.15, 0.25 ... of a 100 W then (from t=1.0) 500 W load, read in pairs 2 ms apart
    def energy(t: float) -> float:
        return 100 * min(t, 1.0) + 500 * max(t - 1.0, 0.0)

    te, es = [], []
    for k in range(20):
        tick = 0.05 + 0.1 * k
        for t in (tick - 0.001, tick + 0.001):
            te.append(t)
            es.append(energy(0.05 + 0.1 * (k - (t < tick))))
    assert stepped_at(te, es, 0.999) == pytest.approx(energy(0.999), abs=1e-6)  # forward, pre-edge rate
    assert stepped_at(te, es, 1.001) == pytest.approx(energy(1.001), abs=1e-6)  # backward, post-edge rate
    # no precise steps near: the old rules apply (linear between readings)
    assert stepped_at([0.0, 5.0], [0.0, 500.0], 2.0) is None
    assert counter_at([0.0, 1.0], [0.0, 100.0], 0.5, max_gap_s=2.0) == pytest.approx(50.0)


def test_tick_clock_learns_the_period_and_sleeps_until_the_next_step():
    clock = TickClock()
    clock.begin(0.0, 0.0)
    value, t = 0.0, 0.0
    seen = []
    while t < 0.5:   # reads every 3 ms; steps every 100 ms at 0.042 + k/10
        t += 0.003
        value = 10.0 * int((t - 0.042) // 0.1 + 1) if t >= 0.042 else 0.0
        if clock.read(t, value):
            seen.append(t)
            clock.begin(t, value)
    assert clock.period_s == pytest.approx(0.1, abs=0.004)
    clock.begin(t, value)
    clock.read(t + 0.003, value + 10)   # a step at about t + 1.5 ms
    wake = clock.wake_at(t + 0.004)
    assert wake == pytest.approx(t + 0.0015 + 0.1 - 0.012, abs=0.004)
