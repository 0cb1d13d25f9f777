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

from benchbench.power import energy as en
from benchbench.power.counter_ticks import TickClock
from benchbench.power.energy import counter_at, stepped_at
from benchbench.power.monitor import PowerMonitor
from benchbench.power.series import Series

IDLE_W, LOAD_W, STEP_S = 100.0, 400.0, 0.05


class Load:
    """Power as a function of seconds since the fake GPU was created: LOAD_W inside [on, off)."""

    def __init__(self) -> None:
        self.on = self.off = float("inf")

    def __call__(self, t: float) -> float:
        return LOAD_W if self.on <= t < self.off else IDLE_W


class VirtualClock:
    """time.monotonic / sleep for the sampler and the fake GPU: a counter read takes READ_S, nothing else
    takes time, so the test does not depend on how busy this machine is."""

    READ_S = 0.003

    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)

    thread_time = staticmethod(time.thread_time)


class SlowCounter(FakePynvml):
    """FakePynvml whose energy-counter read takes VirtualClock.READ_S, as on the H100 (about 3 ms)."""

    def __init__(self, gpus, clock: VirtualClock) -> None:
        super().__init__(gpus)
        self.clock = clock

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        self.clock.t += self.clock.READ_S / 2
        value = super().nvmlDeviceGetTotalEnergyConsumption(h)
        self.clock.t += self.clock.READ_S / 2
        return value


@pytest.mark.parametrize("phase_s,length_s", [(0.0, 0.33), (0.013, 0.5), (0.031, 0.27), (0.07, 1.0)])
def test_stepped_counter_edges_in_virtual_time(monkeypatch, phase_s, length_s):
    import power_helpers

    from benchbench.power import nvml

    clock = VirtualClock()
    monkeypatch.setattr(nvml, "time", clock)
    monkeypatch.setattr(power_helpers, "time", clock)
    load = Load()
    gpu = FakeGpu(load, step_s=STEP_S, phase_s=phase_s)
    monkeypatch.setattr(FakeNvml, "library", SlowCounter([gpu], clock))
    sampler = FakeNvml(0.5)
    sampler.channels = sampler.open()
    sampler.series = {ch.name: Series() for ch in sampler.channels}
    sampler._started = True
    for _ in range(4):
        clock.sleep(0.2)
        sampler.sample_edge("start")
        t0 = clock.monotonic()
        load.on = t0 - gpu.t0
        clock.sleep(length_s)
        t1 = clock.monotonic()
        load.off = t1 - gpu.t0
        sampler.sample_edge("end")
        got = en.window(sampler.series["gpu0"], t0, t1, 1.25, True, 0.001)
        assert got["source"] == "counter"
        # the law: exactly LOAD_W over [t0, t1]; steps are placed within ±1.5 ms (half a read)
        assert got["joules"] == pytest.approx(LOAD_W * length_s, abs=2 * (LOAD_W - IDLE_W) * 0.0016)
    clock_state = sampler.ticks[0]
    assert clock_state.period_s == pytest.approx(STEP_S, abs=0.002)
    assert clock_state.reads < 4 * 2 * 40   # sleeps between the two steps of an edge, not 50 ms of polling


def test_stepped_counter_edges_in_real_time(monkeypatch):
    """The same through the real PowerMonitor, its thread and the real clock (a loaded machine may stall
    the poller; one stale read per edge would be up to 15 J off)."""
    load = Load()
    gpu = FakeGpu(load, step_s=STEP_S, phase_s=0.013)
    monkeypatch.setattr(FakeNvml, "library", FakePynvml([gpu]))
    with PowerMonitor([([FakeNvml(0.5)], False)], 0.5, None, ["nvml"]) as mon:
        for _ in range(2):
            mon.mark()
            t0 = time.monotonic()
            load.on = t0 - gpu.t0
            time.sleep(0.4)
            t1 = time.monotonic()
            load.off = t1 - gpu.t0
            energy = mon.energy(t0, t1)["gpu0"]
            assert energy["source"] == "counter"
            assert energy["joules"] == pytest.approx(LOAD_W * (t1 - t0), rel=0.06)


def test_stepped_at_bridges_from_the_nearest_precise_step():
    # steps every 0.1 s at 0.05, 0.15, 0.25 ... of a 100 W then (from t=1.0) 500 W load, read 3 ms and 1 ms
    # before each step and 1 ms after it
    def energy(t: float) -> float:
        return 100 * min(t, 1.0) + 500 * max(t - 1.0, 0.0)

    te, es = [], []
    for k in range(20):
        tick = 0.05 + 0.1 * k
        for t in (tick - 0.003, tick - 0.001, tick + 0.001):
            te.append(t)
            es.append(energy(0.05 + 0.1 * (k - (t < tick))))
    assert stepped_at(te, es, 0.999) == pytest.approx(energy(0.999), abs=1e-6)  # forward, pre-edge rate
    assert stepped_at(te, es, 1.001) == pytest.approx(energy(1.001), abs=1e-6)  # backward, post-edge rate
    # a counter that moves at every read (RAPL, amdsmi) has no steps to bridge from: linear between reads
    moving = [0.0, 0.01, 0.02, 0.03]
    assert stepped_at(moving, [0.0, 1.0, 2.0, 3.0], 0.015) is None
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


def test_a_fine_counter_read_in_close_pairs_is_bridged_at_its_true_rate():
    """A counter in whole mJ of a steady 80 W (a fake GPU's, or a fine-grained real one) read in pairs
    10 µs apart every 3 ms: the pairs often repeat a value, so it looks stepped; a rate taken across a few µs
    would be quantized to ±1 mJ ÷ span (p14 saw 98 W for 80 W on 60 ms windows). Each edge must be within
    a couple of mJ of the truth, and a 60 ms window within 2% of 4.8 J."""
    def counter_j(t: float) -> float:
        return int(80.0 * t * 1000) / 1000

    te, es = [], []
    for k in range(400):
        for t in (0.0031 * k, 0.0031 * k + 1e-5):
            te.append(t)
            es.append(counter_j(t))
    for edge in (0.2004, 0.3333, 0.5017, 0.7001):
        got = stepped_at(te, es, edge)
        assert got is None or got == pytest.approx(80.0 * edge, abs=0.003)
    t0, t1 = 0.5017, 0.5617
    delta = counter_at(te, es, t1, 0.01) - counter_at(te, es, t0, 0.01)
    assert delta == pytest.approx(80.0 * (t1 - t0), rel=0.02)
