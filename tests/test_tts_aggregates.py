"""TTS aggregates, per-run metrics, WAV files and dtype/attention choices: pure functions."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
import yaml

from benchbench.workloads import tts_common as tc

PUBLISHED = Path(__file__).resolve().parents[1] / "benchbench" / "reference" / "published-figures.yaml"


def runs(rtfs: list[float], warmups: int = 0, chars: int = 2411, audio_s: float = 190.0) -> list[dict]:
    return [{"index": i, "warmup": i < warmups,
             "metrics": {"chars": chars, "gen_s": r * audio_s, "audio_s": audio_s, "rtf": r}}
            for i, r in enumerate(rtfs)]


def published_runs(machine: str) -> list[dict]:
    data = yaml.safe_load(PUBLISHED.read_text())["qwen3_tts"]
    return [{"index": i, "warmup": False, "metrics": {"chars": 2411, **r}}
            for i, r in enumerate(data["runs"][machine])], data["summary"][machine]


@pytest.mark.skipif(not PUBLISHED.is_file(), reason="shared/reference not beside the checkout")
@pytest.mark.parametrize("machine", ["m3-max-mps", "radeon-8060s-rocm", "tesla-p40-cuda"])
def test_published_convention_reproduces_the_article(machine):
    its, summary = published_runs(machine)
    assert tc.mean_rtf(its) == pytest.approx(summary["avg_rtf"], abs=0.006)
    assert tc.best_rtf(its) == summary["best_rtf"]
    s = tc.tts_summary(its)
    assert s["mean_gen_s"] == pytest.approx(summary["avg_gen_s"], abs=0.06)
    assert s["mean_audio_s"] == pytest.approx(summary["avg_audio_s"], abs=0.06)
    # no warmups configured (as published): the steady state is runs 2 and 3
    rtfs = [it["metrics"]["rtf"] for it in its]
    assert s["steady_runs"] == 2 and s["steady_state_rtf"] == pytest.approx((rtfs[1] + rtfs[2]) / 2)
    assert s["warmup_penalty"] == pytest.approx(rtfs[0] / s["steady_state_rtf"])


def test_radeon_warmup_penalty_is_large_and_p40_small():
    radeon, _ = published_runs("radeon-8060s-rocm")
    p40, _ = published_runs("tesla-p40-cuda")
    assert tc.warmup_penalty(radeon) == pytest.approx(4.20 / 2.405, rel=1e-9)   # 1.75x
    assert tc.warmup_penalty(p40) == pytest.approx(7.41 / 7.29, rel=1e-9)       # 1.02x


def test_warmups_are_excluded_and_errors_ignored():
    its = runs([9.0, 3.0, 2.0, 4.0], warmups=1)
    its.append({"index": 4, "warmup": False, "metrics": {"rtf": 0.1}, "error": "boom"})
    assert tc.mean_rtf(its) == pytest.approx(3.0)            # the warmup's 9.0 and the error are out
    assert tc.best_rtf(its) == 2.0
    assert tc.steady_state_rtf(its) == pytest.approx(3.0)    # with a warmup, every measured run is steady
    assert tc.first_run_rtf(its) == 9.0 and tc.warmup_penalty(its) == pytest.approx(3.0)
    assert tc.total_rtf(its) == pytest.approx(3.0)


def test_total_rtf_weighs_long_runs_and_chars_per_second():
    its = [{"index": 0, "warmup": False, "metrics": {"chars": 100, "gen_s": 10.0, "audio_s": 10.0, "rtf": 1.0}},
           {"index": 1, "warmup": False, "metrics": {"chars": 300, "gen_s": 90.0, "audio_s": 30.0, "rtf": 3.0}}]
    assert tc.mean_rtf(its) == 2.0
    assert tc.total_rtf(its) == pytest.approx(100 / 40)
    assert tc.chars_per_audio_s(its) == pytest.approx(400 / 40)


def test_empty_and_single_runs_give_none_not_nonsense():
    assert tc.tts_summary([])["mean_rtf"] is None
    one = runs([2.0])
    assert tc.mean_rtf(one) == 2.0 and tc.steady_state_rtf(one) is None and tc.warmup_penalty(one) is None


@pytest.mark.parametrize("chars,audio_s,warn", [(2411, 190.0, False), (276, 20.0, True),
                                                (999, 120.0, True), (2400, 59.0, True)])
def test_short_benchmark_warning_thresholds(chars, audio_s, warn):
    w = tc.short_benchmark_warning(runs([1.0, 1.0], chars=chars, audio_s=audio_s))
    assert (w is not None) == warn
    if warn:
        assert w.code == "short_benchmark" and f"{chars} characters" in w.message and "9.20" in w.message


def test_metrics_rtf_is_gen_over_audio():
    m = tc.tts_metrics(chars=2411, gen_s=559.8, samples=187 * 24000, sample_rate=24000)
    assert m["audio_s"] == 187.0 and m["rtf"] == pytest.approx(559.8 / 187.0) and m["sample_rate"] == 24000
    assert tc.tts_metrics(10, 1.0, 0, 24000)["rtf"] is None


def test_wav_roundtrip(tmp_path):
    import numpy as np

    path = tmp_path / "a.wav"
    frames = tc.write_wav(path, np.linspace(-2, 2, 48000, dtype=np.float32), 24000)
    assert frames == 48000 and tc.wav_info(path) == (48000, 24000)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        data = np.frombuffer(w.readframes(3), dtype="<i2")
    assert data[0] == -32767  # clipped to [-1, 1]


@pytest.mark.parametrize("device,cap,expected", [
    ("cuda", (6, 1), "float32"),   # Tesla P40: no native bf16; fp32, not fp16
    ("cuda", (7, 5), "float32"),   # T4
    ("cuda", (8, 0), "bfloat16"),  # A100
    ("cuda", (9, 0), "bfloat16"),  # H100
    ("mps", None, "float32"),
    ("cpu", None, "float32"),
])
def test_tts_dtype_auto(device, cap, expected):
    name, why = tc.tts_dtype("auto", device, cap)
    assert name == expected and why
    if cap and cap < (8, 0):
        assert f"{cap[0]}.{cap[1]} has no native bf16" in why


def test_tts_dtype_requested_is_kept():
    assert tc.tts_dtype("float16", "cuda", (6, 1)) == ("float16", "requested")


@pytest.mark.parametrize("device,cap,dtype,flash,expected", [
    ("cuda", (8, 0), "bfloat16", True, "flash_attention_2"),
    ("cuda", (8, 0), "bfloat16", False, "sdpa"),
    ("cuda", (6, 1), "float32", True, "sdpa"),
    ("cuda", (9, 0), "float32", True, "sdpa"),
    ("mps", None, "float32", True, "sdpa"),
])
def test_attention_choice(device, cap, dtype, flash, expected):
    assert tc.choose_attention("auto", device, cap, dtype, flash)[0] == expected
    assert tc.choose_attention("eager", device, cap, dtype, flash) == ("eager", "requested")
