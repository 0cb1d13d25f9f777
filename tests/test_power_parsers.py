"""Parsers on recorded real outputs (tests/fixtures/power, an H200) and documented formats."""

from __future__ import annotations

import json
import plistlib

import pytest
from power_helpers import FIXTURES

from benchbench.errors import PowerError
from benchbench.power import amdsmi_sampler, macmon, powermetrics, rocm_smi, shelly, tasmota
from benchbench.power.energy import trapezoid
from benchbench.power.nvidia_smi import fields_from_header, parse_line, parse_value


def test_nvidia_smi_full_query_with_header_and_units():
    header, line = (FIXTURES / "nvidia-smi-h200-query-full.csv").read_text().splitlines()
    fields = fields_from_header(header)
    assert fields[:5] == ("index", "name", "pci.bus_id", "driver_version", "power.draw")
    assert parse_line(header, fields, 0.0) is None
    r = parse_line(line, fields, 0.0)
    assert r.channel == "gpu0" and r.power_w == pytest.approx(128.93)
    assert r.extra == {"util_pct": 0.0, "mem_used_gb": 0.0, "sm_clock_mhz": 1980.0, "mem_clock_mhz": 3201.0,
                       "temp_c": 38.0, "throttle": 0}


def test_nvidia_smi_values():
    assert parse_value("85.75 W") == 85.75 and parse_value("85.75") == 85.75
    assert parse_value("0x0000000000000004") == 4 and parse_value("98 %") == 98
    assert parse_value("[N/A]") is None and parse_value("[Not Supported]") is None


def test_nvidia_smi_stream_timestamps_and_integral():
    fields = ("timestamp", "power.draw", "power.draw.instant", "utilization.gpu", "clocks.sm")
    lines = (FIXTURES / "nvidia-smi-lms500-idle-burst-idle.csv").read_text().splitlines()
    readings = [parse_line(x, fields, 0.0) for x in lines]
    assert len(readings) == 25
    first, burst = readings[0], readings[7]
    assert (first.power_w, first.extra["sm_clock_mhz"]) == (85.75, 810.0)
    assert (burst.power_w, burst.extra["util_pct"]) == (218.63, 98.0)
    steps = [b.t_s - a.t_s for a, b in zip(readings, readings[1:], strict=False)]
    assert min(steps) == pytest.approx(0.5, abs=0.01) and max(steps) == pytest.approx(0.606, abs=0.001)
    ts, ps = [r.t_s for r in readings], [r.power_w for r in readings]
    # the 1 s-averaged power.draw over the same idle-burst-idle pattern: ~3.93 kJ in 12.1 s
    assert trapezoid(ts, ps, ts[0], ts[-1], 1.0) == pytest.approx(3933.46, abs=0.01)


def test_nvidia_smi_lms500_idle():
    lines = (FIXTURES / "nvidia-smi-h200-lms500.csv").read_text().splitlines()
    readings = [parse_line(x, ("timestamp", "power.draw"), 0.0) for x in lines]
    assert [r.power_w for r in readings] == [123.31, 123.24, 102.19, 79.16, 77.18, 77.18]


def test_rocm_smi_json_documented_formats():
    text = ("WARNING: AMD GPU device(s) is/are in a low-power state. Check power control/runtime_status\n"
            + json.dumps({
                "card0": {"Average Graphics Package Power (W)": "35.0", "Energy counter": "3436801806",
                          "Accumulated Energy (uJ)": "52583068287.32", "GPU use (%)": "99"},
                "card1": {"Current Socket Graphics Package Power (W)": "133.0", "GPU use (%)": "0"},
                "system": {"Driver version": "6.2.4"}}))
    cards = rocm_smi.parse_json(text)
    assert cards[0] == {"power_w": 35.0, "energy_j": pytest.approx(52583.06828732), "util_pct": 99.0,
                        "extra": {"util_pct": 99.0}}
    assert cards[1] == {"power_w": 133.0, "energy_j": None, "util_pct": 0.0, "extra": {"util_pct": 0.0}}
    with pytest.raises(PowerError, match="no JSON"):
        rocm_smi.parse_json("ERROR: no GPU")


def test_amdsmi_dicts_across_rocm_versions():
    assert amdsmi_sampler.power_from_info({"socket_power": 41, "current_socket_power": "N/A"}) == 41.0
    assert amdsmi_sampler.power_from_info({"current_socket_power": "N/A", "average_socket_power": 28}) == 28.0
    assert amdsmi_sampler.power_from_info({"average_socket_power": "N/A"}) is None
    j, res = amdsmi_sampler.energy_from_count({"power": 1_000_000, "counter_resolution": 15.259})
    assert (j, res) == (pytest.approx(15.259), pytest.approx(15.259e-6))
    j2, _ = amdsmi_sampler.energy_from_count({"energy_accumulator": 2_000_000, "counter_resolution": 15.259})
    assert j2 == pytest.approx(30.518)
    assert amdsmi_sampler.is_apu("AMD RYZEN AI MAX+ 395 w/ Radeon 8060S")
    assert not amdsmi_sampler.is_apu("AMD EPYC 7763 64-Core Processor")


MACMON_README_LINE = json.dumps({
    "timestamp": "2025-02-24T20:38:15.427569+00:00",
    "temp": {"cpu_temp_avg": 43.73614, "gpu_temp_avg": 36.95167},
    "memory": {"ram_total": 25769803776, "ram_usage": 20985479168, "swap_total": 4294967296,
               "swap_usage": 2602434560},
    "ecpu_usage": [1181, 0.082656614], "pcpu_usage": [1974, 0.015181795], "gpu_usage": [461, 0.021497859],
    "cpu_power": 0.20486385, "gpu_power": 0.017451683, "ane_power": 0.0, "all_power": 0.22231553,
    "sys_power": 5.876533, "ram_power": 0.11635789, "gpu_ram_power": 0.0009615385})


def test_macmon_pipe_line():
    out = macmon.parse_line(MACMON_README_LINE)
    assert out["cpu-package0"][0] == pytest.approx(0.20486385)
    assert out["board"][0] == pytest.approx(5.876533) and out["dram0"][0] == pytest.approx(0.11635789)
    watts, extra = out["gpu0"]
    assert watts == pytest.approx(0.017451683)
    assert extra == {"sm_clock_mhz": 461, "util_pct": 2.15, "temp_c": 36.95}


def test_macmon_sampler_places_readings_mid_interval():
    sampler = macmon.MacmonSampler(0.5)
    readings = sampler.parse(MACMON_README_LINE.encode(), received_s=100.0)
    assert {r.channel for r in readings} == {"cpu-package0", "gpu0", "ane0", "dram0", "board"}
    assert all(r.t_s == pytest.approx(99.75) for r in readings)


def _plist(cpu_mj: float, gpu_mj: float, elapsed_ns: int = 500_000_000) -> bytes:
    return plistlib.dumps({"elapsed_ns": elapsed_ns, "thermal_pressure": "Nominal",
                           "processor": {"cpu_energy": cpu_mj, "gpu_energy": gpu_mj, "ane_energy": 0,
                                         "cpu_power": cpu_mj * 2, "gpu_power": gpu_mj * 2,
                                         "combined_power": (cpu_mj + gpu_mj) * 2, "clusters": []},
                           "gpu": {"freq_hz": 1398.0, "idle_ratio": 0.25}})


def test_powermetrics_plist_stream_builds_a_counter():
    stream = _plist(1500, 4000) + b"\0" + _plist(1000, 6000)
    chunks = [c for c in stream.split(b"\0") if c.strip()]
    elapsed, joules, extra = powermetrics.parse_plist(chunks[0])
    assert elapsed == 0.5 and joules == {"cpu-package0": 1.5, "gpu0": 4.0, "ane0": 0.0}
    assert extra == {"util_pct": 75.0, "sm_clock_mhz": 1398.0}
    sampler = powermetrics.PowermetricsSampler(0.5)
    first = sampler.parse(chunks[0], received_s=10.0)
    second = sampler.parse(chunks[1], received_s=10.5)
    gpu = [r for r in first + second if r.channel == "gpu0"]
    assert [(r.t_s, r.energy_j) for r in gpu] == [(9.5, 0.0), (10.0, 4.0), (10.5, 10.0)]
    assert gpu[-1].power_w == pytest.approx(12.0)


def test_shelly_gen2_switch_status():
    doc = {"id": 0, "source": "init", "output": True, "apower": 8.9, "voltage": 237.5, "current": 0.068,
           "aenergy": {"total": 6.532, "by_minute": [45.199, 47.141, 88.397], "minute_ts": 1654511972},
           "temperature": {"tC": 23.5, "tF": 74.4}}
    watts, joules = shelly.parse_status(doc)
    assert watts == 8.9 and joules == pytest.approx(6.532 * 3600)
    s = shelly.ShellySampler(0.5, {"url": "http://plug", "component": "PM1", "switch_id": 1})
    assert s.status_url("http://plug") == "http://plug/rpc/PM1.GetStatus?id=1"


def test_tasmota_status_10(monkeypatch):
    doc = {"StatusSNS": {"Time": "2024-01-01T12:00:00", "ENERGY": {
        "TotalStartTime": "2023-12-01T00:00:00", "Total": 1.234, "Yesterday": 0.5, "Today": 0.1,
        "Power": 45, "ApparentPower": 50, "ReactivePower": 22, "Factor": 0.9, "Voltage": 230,
        "Current": 0.217}}}
    assert tasmota.parse_status(doc) == (45.0, pytest.approx(1.234 * 3.6e6))
    doc["StatusSNS"]["ENERGY"].update(Power=[10, 20], Total=[0.5, 0.25])
    assert tasmota.parse_status(doc) == (30.0, pytest.approx(0.75 * 3.6e6))
    monkeypatch.setenv("PLUG_PW", "s e/cret")
    s = tasmota.TasmotaSampler(0.5, {"url": "http://p", "user": "admin", "password_env": "PLUG_PW"})
    assert s.status_url("http://p") == "http://p/cm?cmnd=Status%2010&user=admin&password=s%20e%2Fcret"
