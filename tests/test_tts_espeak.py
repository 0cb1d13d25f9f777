"""espeak-ng for real (CI installs it): records, RTF from the recorded values, WAV durations, warmups."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest
from tts_helpers import suite

from benchbench.record import load_records
from benchbench.workloads import tts_common as tc

ROOT = Path(__file__).resolve().parent.parent
PASSAGE = ROOT / "suites" / "texts" / "jevons-paradox.txt"

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def _records(results: Path) -> list[dict]:
    return [r for r in load_records([results]) if r.get("type", "run") == "run"]


def test_espeak_run_records_rtf_wavs_and_steady_state(write, cli, tmp_path):
    entry = f"    backend: espeak-ng\n    text_file: {PASSAGE}\n    speed_wpm: 180\n"
    code, out, err = cli("run", suite(write, entry, warmups=1, repetitions=2), "--results", tmp_path / "r")
    assert code == 0, err
    (rec,) = _records(tmp_path / "r")
    assert rec["status"] == "complete" and rec["workload"]["facts"]["voice"] == "en-us"
    assert rec["workload"]["facts"]["espeak_ng"].startswith("eSpeak NG")
    folder = next((tmp_path / "r").rglob(rec["run_id"] + ".json")).parent
    assert [it["warmup"] for it in rec["iterations"]] == [True, False, False]
    for it in rec["iterations"]:
        m = it["metrics"]
        assert m["chars"] == len(PASSAGE.read_text().strip()) == 2413
        assert m["rtf"] == pytest.approx(m["gen_s"] / m["audio_s"], rel=1e-12)
        assert 0 < m["gen_s"] <= it["duration_s"]
        (name,) = it["artifacts"]
        with wave.open(str(folder / name)) as wav:
            assert wav.getframerate() == m["sample_rate"] == 22050
            assert wav.getnframes() / wav.getframerate() == pytest.approx(m["audio_s"], rel=1e-12)
        soxi = subprocess.run(["soxi", "-D", str(folder / name)], capture_output=True, text=True) \
            if shutil.which("soxi") else None
        if soxi and soxi.returncode == 0:
            assert float(soxi.stdout) == pytest.approx(m["audio_s"], abs=1e-4)
        assert 100 < m["audio_s"] < 200   # about 400 words at 180 words per minute
    summary = tc.tts_summary(rec["iterations"])
    measured = [it["metrics"]["rtf"] for it in rec["iterations"] if not it["warmup"]]
    assert summary["runs"] == 2 and summary["steady_runs"] == 2
    assert summary["steady_state_rtf"] == pytest.approx(sum(measured) / 2)
    assert summary["first_run_rtf"] == rec["iterations"][0]["metrics"]["rtf"]   # the warmup
    assert summary["mean_rtf"] == pytest.approx(sum(measured) / 2)
    assert not any(w["code"] == "short_benchmark" for w in rec["warnings"])
    assert "RTF" in out and "complete" in out   # the summary table (registry labels)


def test_short_text_warns_and_speaker_variant_is_used(write, cli, tmp_path):
    entry = "    backend: espeak-ng\n    text: \"Short benchmarks lie.\"\n    speaker: f2\n"
    code, _, err = cli("run", suite(write, entry, warmups=0, repetitions=2), "--results", tmp_path / "r")
    assert code == 0, err
    (rec,) = _records(tmp_path / "r")
    assert rec["workload"]["facts"]["voice"] == "en-us+f2"
    (w,) = [w for w in rec["warnings"] if w["code"] == "short_benchmark"]
    assert "21 characters" in w["message"] and "1000 characters" in w["message"]
    summary = tc.tts_summary(rec["iterations"])
    assert summary["steady_runs"] == 1   # no warmups: run 0 is left out of the steady state
    assert summary["steady_state_rtf"] == rec["iterations"][1]["metrics"]["rtf"]


def test_unknown_voice_fails_with_one_line(write, cli, tmp_path):
    entry = "    backend: espeak-ng\n    text: hello\n    language: xx-nowhere\n"
    code, _, err = cli("run", suite(write, entry), "--results", tmp_path / "r")
    assert code == 2
    assert "espeak-ng has no voice 'xx-nowhere'" in err and "Traceback" not in err


def test_missing_text_is_a_suite_error(write, cli, tmp_path):
    code, _, err = cli("run", suite(write, "    backend: espeak-ng\n"), "--results", tmp_path / "r")
    assert code == 2 and "needs `text` or `text_file`" in err
