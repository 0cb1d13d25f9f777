"""The monitor over fake NVML/amdsmi libraries behind the real samplers, and hand-fed channels."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from power_helpers import FakeAmdSmi, FakeAmdsmiLib, FakeGpu, FakeNvml, FakePynvml, HandSampler

from benchbench.errors import UserError
from benchbench.power.base import Channel
from benchbench.power.checks import physical
from benchbench.power.monitor import PowerMonitor, build_monitor
from benchbench.profile import MachineProfile
from benchbench.suite import PowerConfig


def _nvml(monkeypatch, gpus, interval_s=0.01, options=None):
    monkeypatch.setattr(FakeNvml, "library", FakePynvml(gpus))
    return FakeNvml(interval_s, options)


def _run(monitor: PowerMonitor, seconds: float = 0.25) -> tuple[float, float]:
    time.sleep(0.05)
    t0 = time.monotonic()
    time.sleep(seconds)
    return t0, time.monotonic()


def test_counter_energy_and_estimated_system(monkeypatch):
    sampler = _nvml(monkeypatch, [FakeGpu(100.0)])
    profile = MachineProfile(name="box", non_gpu_overhead_w=50.0)
    with PowerMonitor([([sampler], False)], 0.01, profile, ["nvml"]) as mon:
        t0, t1 = _run(mon)
        e = mon.energy(t0, t1)
        section = mon.record_section()
    dt = t1 - t0
    assert e["gpu0"]["source"] == "counter"
    assert e["gpu0"]["joules"] == pytest.approx(100 * dt, rel=0.03)
    assert e["gpu0"]["avg_w"] == pytest.approx(100, rel=0.03)
    assert e["system"] == {"joules": pytest.approx(150 * dt, rel=0.03), "avg_w": pytest.approx(150, rel=0.03),
                           "source": "estimated", "basis": "gpu+cpu+overhead", "overhead_w": 50.0}
    assert section["samplers"] == ["nvml"] and section["system_basis"] == "gpu+cpu+overhead"
    assert section["channels"][0]["counter"] is True
    check = section["counter_check"]["gpu0"]
    assert abs(check["integrated_vs_counter_pct"]) < 3
    stats = section["sampler_stats"][0]
    assert stats["polls"] > 10 and stats["cpu_s"] >= 0
    assert not sampler.alive and FakeNvml.library.inits == 0  # NVML shut down


def test_counterless_gpu_polls_fast_and_integrates(monkeypatch):
    sampler = _nvml(monkeypatch, [FakeGpu(50.0, counter=False, name="Tesla P40")], interval_s=0.5)
    with PowerMonitor([([sampler], False)], 0.5) as mon:
        assert sampler.interval_s == 0.05
        t0, t1 = _run(mon, 0.3)
        e = mon.energy(t0, t1)
        channels = mon.record_section()["channels"]
    assert e["gpu0"]["source"] == "integrated"
    assert e["gpu0"]["joules"] == pytest.approx(50 * (t1 - t0), rel=0.02)
    assert "no energy counter" in channels[0]["note"]


def test_amdsmi_apu_socket_covers_the_cpu_package(monkeypatch):
    monkeypatch.setattr(FakeAmdSmi, "library", FakeAmdsmiLib([FakeGpu(80.0, name="Radeon 8060S")],
                                                             old_keys=True))
    amd = FakeAmdSmi(0.01, {"apu": True})
    cpu = HandSampler([Channel("cpu-package0", "cpu", "hand", counter=True)])
    with PowerMonitor([([amd], False), ([cpu], False)], 0.01) as mon:
        t0, t1 = _run(mon)
        cpu.push("cpu-package0", t0 - 0.01, 20.0, 0.0)
        cpu.push("cpu-package0", t1 + 0.01, 20.0, 20.0 * (t1 - t0 + 0.02))
        e = mon.energy(t0, t1)
    assert e["gpu0"]["source"] == "counter"
    assert e["gpu0"]["joules"] == pytest.approx(80 * (t1 - t0), rel=0.03)
    assert e["cpu-package0"]["joules"] == pytest.approx(20 * (t1 - t0), rel=0.01)
    assert e["system"]["joules"] == pytest.approx(e["gpu0"]["joules"])   # cpu is inside the socket


def test_wall_plug_is_the_system_and_counter_cross_check(monkeypatch):
    wall = HandSampler([Channel("wall", "wall", "hand", counter=True, counter_resolution_j=3.6)])
    with PowerMonitor([([wall], False)], 0.5) as mon:
        for k in range(11):  # 300 W for 10 s, counter in 3.6 J steps
            wall.push("wall", 100.0 + k, 300.0, round(300.0 * k / 3.6) * 3.6)
        e = mon.energy(100.0, 110.0)
        short = mon.energy(100.0, 100.1)
        wall.push("wall", 111.0, 300.0, 0.0)   # a counter reset: negative delta
        reset = mon.energy(109.5, 111.0)
    assert e["wall"]["source"] == "counter" and e["wall"]["avg_w"] == pytest.approx(300, abs=0.4)
    assert e["wall"]["joules"] == pytest.approx(3000.0, abs=3.6)
    assert e["system"]["basis"] == "wall" and e["system"]["source"] == "counter"
    assert short["wall"]["source"] == "integrated"  # 30 J is under 20 counter steps
    assert reset["wall"]["source"] == "integrated" and reset["wall"]["joules"] == pytest.approx(450.0)


def test_same_device_from_two_samplers_is_kept_once_in_the_sum(monkeypatch):
    a = HandSampler([Channel("gpu0", "gpu", "hand")])
    b = HandSampler([Channel("gpu0", "gpu", "hand")])
    with PowerMonitor([([a], False), ([b], False)], 0.5) as mon:
        for s, w in ((a, 100.0), (b, 110.0)):
            s.push("gpu0", 0.0, w)
            s.push("gpu0", 1.0, w)
        e = mon.energy(0.0, 1.0)
    assert e["gpu0"]["joules"] == 100.0 and e["gpu0@hand"]["joules"] == 110.0
    assert e["system"]["joules"] == 100.0


def test_samples_csv_long_format(monkeypatch, tmp_path):
    sampler = _nvml(monkeypatch, [FakeGpu(100.0), FakeGpu(9.0, util=0.0)], interval_s=0.02)
    with PowerMonitor([([sampler], False)], 0.02) as mon:
        _run(mon, 0.2)
        name = mon.save_samples(tmp_path / "run.power.csv")
    df = pd.read_csv(tmp_path / name)
    assert list(df.columns) == ["t_s", "channel", "power_w", "energy_j", "util_pct", "mem_used_gb",
                                "sm_clock_mhz", "mem_clock_mhz", "temp_c", "throttle"]
    assert set(df["channel"]) == {"gpu0", "gpu1"}
    assert df["t_s"].is_monotonic_increasing
    gpu1 = df[df["channel"] == "gpu1"]
    assert gpu1["power_w"].eq(9.0).all()
    assert gpu1["energy_j"].notna().sum() >= 1   # the counter: first poll, every 10 s, iteration edges
    assert gpu1["util_pct"].dropna().eq(0).all() and gpu1["util_pct"].notna().sum() >= 1


def _iterations(t0: float, t1: float) -> list[dict]:
    return [{"index": 0, "warmup": False, "mono_start_s": t0, "mono_end_s": t1}]


def test_warnings_idle_gpu_idle_cards_and_throttling(monkeypatch):
    gpus = [FakeGpu(60.0, util=0.0, throttle=0x4 | 0x1), FakeGpu(9.0, util=0.0), FakeGpu(9.5, util=0.0)]
    sampler = _nvml(monkeypatch, gpus, interval_s=0.02)
    with PowerMonitor([([sampler], False)], 0.02, None, ["nvml"]) as mon:
        t0, t1 = _run(mon, 0.6)
        mon.energy(t0, t1)   # as the runner does after each iteration (reads the edge)
        warnings = {w.code: w.message for w in mon.run_warnings(_iterations(t0, t1), ["gpu0"])}
    assert "gpu0 stayed near idle" in warnings["gpu_idle_during_run"]
    assert warnings["idle_gpus_drawing_power"].startswith("gpu1, gpu2 did no work but drew 9.0 W, 9.5 W")
    assert "18.5 W together" in warnings["idle_gpus_drawing_power"]
    assert "sw_power_cap" in warnings["throttled"] and "100%" in warnings["throttled"]
    assert "nothing for the rest of the machine" in warnings["power_estimated"]


def test_busy_gpu_gives_no_idle_warning(monkeypatch):
    sampler = _nvml(monkeypatch, [FakeGpu(300.0, util=97.0)], interval_s=0.02)
    with PowerMonitor([([sampler], False)], 0.02, MachineProfile(name="x", non_gpu_overhead_w=100.0)) as mon:
        t0, t1 = _run(mon, 0.6)
        mon.energy(t0, t1)
        codes = [w.code for w in mon.run_warnings(_iterations(t0, t1), ["gpu0"])]
    assert codes == ["power_estimated"]


def test_unavailable_sampler_is_recorded_and_the_run_goes_on(monkeypatch):
    monkeypatch.setattr(FakeNvml, "library", FakePynvml([], fail_init=True))
    mon = PowerMonitor([([FakeNvml(0.5)], False)], 0.5, None, ["nvml"])
    with mon:
        assert mon.energy(0.0, 1.0) == {}
        section = mon.record_section()
        warnings = mon.run_warnings([], [])
    reason = "NVML could not start (no NVIDIA driver?): NVML Shared Library Not Found"
    assert section["unavailable"] == [{"sampler": "nvml", "reason": reason}]
    assert [w.code for w in warnings] == ["power_unavailable"]


def test_build_monitor_declared_and_errors():
    profile = MachineProfile(name="p40", load_w=500.0)
    mon = build_monitor(PowerConfig(samplers=["declared"]), profile)
    with mon:
        e = mon.energy(10.0, 12.0)
        codes = [w.code for w in mon.run_warnings([], [])]
    assert e == {"system": {"joules": 1000.0, "avg_w": 500.0, "source": "declared", "basis": "declared"}}
    assert codes == ["power_estimated"]
    with pytest.raises(UserError, match="unknown option `urll`.*url"):
        build_monitor(PowerConfig(samplers=["shelly"], options={"shelly": {"urll": "x"}}))
    none = build_monitor(PowerConfig(samplers=["none"]))
    with none:
        assert none.energy(0, 1) == {} and none.run_warnings([], []) == []


def test_cuda_visible_devices_maps_to_physical_gpus():
    assert physical("gpu0", "nvml", {"CUDA_VISIBLE_DEVICES": "2,3"}) == "gpu2"
    assert physical("gpu1", "nvml", {"CUDA_VISIBLE_DEVICES": "2,3"}) == "gpu3"
    assert physical("gpu0", "nvml", {"CUDA_VISIBLE_DEVICES": "GPU-abc"}) == "gpu0"
    assert physical("gpu0", "amdsmi", {"HIP_VISIBLE_DEVICES": "1"}) == "gpu1"


def test_counter_read_sparsely_but_always_at_iteration_edges(monkeypatch):
    sampler = _nvml(monkeypatch, [FakeGpu(100.0)])   # default: the counter every 10 s and at edges
    with PowerMonitor([([sampler], False)], 0.01) as mon:
        t0, _ = _run(mon, 0.0)
        mon.energy(t0 - 0.01, t0)          # an iteration edge: the counter is read
        time.sleep(0.2)
        t1 = time.monotonic()
        e = mon.energy(t0, t1)
    _, _, te, _ = sampler.series["gpu0"].snapshot()
    # first poll + two edges (a read, then reads until two steps: this fake's counter moves at nearly every
    # read), not one per 10 ms poll
    assert 1 + 2 * 3 <= len(te) <= 1 + 2 * 5
    assert e["gpu0"]["source"] == "counter"
    assert e["gpu0"]["joules"] == pytest.approx(100 * (t1 - t0), rel=0.03)


def test_failed_open_releases_nvml(monkeypatch):
    lib = FakePynvml([])   # NVML starts but lists no GPU
    monkeypatch.setattr(FakeNvml, "library", lib)
    with PowerMonitor([([FakeNvml(0.5)], False)], 0.5, None, ["nvml"]) as mon:
        assert "sees 0 GPU(s)" in mon.unavailable[0]["reason"]
    assert lib.inits == 0
