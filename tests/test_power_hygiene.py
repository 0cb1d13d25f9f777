"""No orphan subprocess or thread after a normal end, an exception, SIGINT, SIGTERM (or SIGKILL).

A child Python process runs a monitor with the real NVML sampler over a fake library and the real
nvidia-smi sampler streaming from a fake `nvidia-smi` executable; the test checks what is left.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from power_helpers import fake_nvidia_smi, pid_alive

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

SCRIPT = textwrap.dedent("""
    import sys, threading, time
    sys.path[:0] = [{tests!r}, {root!r}]
    from power_helpers import FakeGpu, FakeNvml, FakePynvml
    from benchbench.errors import Interrupted
    from benchbench.power.monitor import PowerMonitor
    from benchbench.power.nvidia_smi import NvidiaSmiSampler
    from benchbench.runner import interrupt_signals

    mode, smi = sys.argv[1], sys.argv[2]
    FakeNvml.library = FakePynvml([FakeGpu(100.0)])
    stream = NvidiaSmiSampler(0.05, {{"binary": smi}})
    mon = PowerMonitor([([FakeNvml(0.02)], False), ([stream], False)], 0.05)
    try:
        with interrupt_signals(), mon:
            while len(mon.channels[1][1].series["gpu0"]) < 2:
                time.sleep(0.02)
            print("ready", stream.proc.pid, flush=True)
            if mode != "hold":
                sys.stdin.readline()   # the test has seen the child alive (it closes stdin): go on
            if mode == "raise":
                raise RuntimeError("boom")
            time.sleep(0.2 if mode == "normal" else 60)
    except (Interrupted, RuntimeError) as exc:
        print("caught", type(exc).__name__, flush=True)
    left = [t.name for t in threading.enumerate() if t.name.startswith("benchbench-power")]
    print("threads", len(left), "child_running", stream.proc.poll() is None, flush=True)
""")


@pytest.fixture(scope="module")
def smi(tmp_path_factory) -> Path:
    return fake_nvidia_smi(tmp_path_factory.mktemp("bin"), watts=200.0)


def _start(tmp_path: Path, mode: str, smi: Path) -> tuple[subprocess.Popen, int]:
    script = tmp_path / "hold.py"
    script.write_text(SCRIPT.format(tests=str(TESTS), root=str(ROOT)))
    proc = subprocess.Popen([sys.executable, str(script), mode, str(smi)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("ready"), line + proc.stderr.read()
    return proc, int(line.split()[1])


@pytest.mark.parametrize("mode,sig", [("normal", None), ("raise", None), ("hold", signal.SIGINT),
                                      ("hold", signal.SIGTERM)])
def test_clean_shutdown(tmp_path, smi, mode, sig):
    proc, child = _start(tmp_path, mode, smi)
    assert pid_alive(child)
    if sig is not None:
        time.sleep(0.1)
        proc.send_signal(sig)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=15)
    assert time.monotonic() - t0 < 5, "shutdown must be bounded"
    assert proc.returncode == 0, err
    assert "threads 0 child_running False" in out, out + err
    if mode != "normal":
        assert "caught" in out
    assert not pid_alive(child)


def test_streaming_child_exits_when_benchbench_is_killed(tmp_path, smi):
    proc, child = _start(tmp_path, "hold", smi)
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:  # its next write hits the closed pipe
        time.sleep(0.05)
    assert not pid_alive(child)


def test_nvidia_smi_sampler_streams_the_documented_format(smi):
    from benchbench.power.nvidia_smi import NvidiaSmiSampler

    sampler = NvidiaSmiSampler(0.05, {"binary": str(smi)})
    sampler.start()
    try:
        t_start = time.monotonic()
        time.sleep(0.4)
        sampler.wait_past(time.monotonic())
        tp, p, _, _ = sampler.series["gpu0"].snapshot()
        extras = sampler.series["gpu0"].extras_between(t_start - 1, time.monotonic() + 1)
    finally:
        sampler.stop()
    assert [c.device for c in sampler.channels] == ["NVIDIA Fake"]
    assert len(p) >= 4 and set(p) == {200.0}
    assert all(abs(t - time.monotonic()) < 2 for t in tp)   # nvidia-smi's wall clock mapped to monotonic
    assert extras[0] == {"util_pct": 97.0, "mem_used_gb": 1.074, "sm_clock_mhz": 1410.0, "mem_clock_mhz": 2619.0,
                         "temp_c": 51.0,
                         "throttle": 0}
    assert sampler.proc.poll() is not None and not sampler.alive


def test_a_stream_that_dies_is_reported(tmp_path):
    from benchbench.power.monitor import PowerMonitor
    from benchbench.power.nvidia_smi import NvidiaSmiSampler

    smi = fake_nvidia_smi(tmp_path, watts=150.0)
    smi.write_text(smi.read_text().replace("    time.sleep(ms / 1000)",
                                           "    time.sleep(ms / 1000)\n    sys.exit(3)"))
    sampler = NvidiaSmiSampler(0.05, {"binary": str(smi)})
    with PowerMonitor([([sampler], False)], 0.05, None, ["nvidia-smi"]) as mon:
        deadline = time.monotonic() + 5
        while sampler.alive and time.monotonic() < deadline:
            time.sleep(0.02)
        warnings = [w.message for w in mon.run_warnings([], []) if w.code == "power_unavailable"]
    assert warnings and "stopped during the run" in warnings[0] and "exit 3" in warnings[0]
