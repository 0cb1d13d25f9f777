"""f5-tts through a fake `f5_tts.api.F5TTS` that follows f5-tts 1.1.22's interface: local checkpoint and
vocoder only (an empty ckpt_file or vocoder path would download), reference clip + transcript, seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from tts_helpers import cache_repo, empty_hf_cache, install_fake_f5, suite

from benchbench.record import load_records
from benchbench.workloads import tts_common as tc
from benchbench.workloads.f5_tts import CHECKPOINTS

TEXT = "F5-TTS generates audio in parallel through an iterative refinement process."


def _record(results: Path) -> dict:
    (rec,) = [r for r in load_records([results]) if r.get("type", "run") == "run"]
    return rec


@pytest.fixture
def fake(monkeypatch):
    return install_fake_f5(monkeypatch)


@pytest.fixture
def ref_clip(tmp_path):
    import numpy as np

    path = tmp_path / "ref.wav"
    tc.write_wav(path, np.zeros(24000 * 3, dtype=np.float32), 24000)
    return path


def _entry(ref: Path, extra: str = "") -> str:
    return (f"    backend: f5-tts\n    text: \"{TEXT}\"\n    ref_audio: {ref}\n"
            f"    ref_text: \"Some call me nature.\"\n    device: cpu\n{extra}")


def test_cached_checkpoint_and_vocoder_run(fake, ref_clip, monkeypatch, write, cli, tmp_path):
    cache = empty_hf_cache(monkeypatch, tmp_path)
    repo, filename = CHECKPOINTS["F5TTS_v1_Base"]
    ckpt = cache_repo(cache, repo, [filename]) / filename
    vocoder = cache_repo(cache, "charactr/vocos-mel-24khz", ["config.yaml", "pytorch_model.bin"])
    code, out, err = cli("run", suite(write, _entry(ref_clip, "    nfe_step: 16\n    seed: 5\n")),
                         "--results", tmp_path / "r")
    assert code == 0, err
    assert "gen_text 0" not in out   # f5-tts prints its batches; stdout stays benchbench's
    (init,) = fake.inits
    assert init == {"model": "F5TTS_v1_Base", "ckpt_file": str(ckpt), "vocoder_local_path": str(vocoder),
                    "device": "cpu"}
    assert [c["nfe_step"] for c in fake.calls] == [16, 16, 16] and {c["seed"] for c in fake.calls} == {5}
    assert all(c["gen_text"] == TEXT and c["ref_file"] == str(ref_clip) for c in fake.calls)
    rec = _record(tmp_path / "r")
    assert rec["workload"]["facts"]["dtype"] == "float32"
    for it in rec["iterations"]:
        m = it["metrics"]
        assert m["sample_rate"] == 24000 and m["audio_s"] == pytest.approx(round(len(TEXT) / 14 * 24000) / 24000)
        assert m["rtf"] == pytest.approx(m["gen_s"] / m["audio_s"], rel=1e-12)


def test_local_checkpoint_file(fake, ref_clip, monkeypatch, write, cli, tmp_path):
    ckpt = tmp_path / "model_1250000.safetensors"
    ckpt.write_bytes(b"x")
    vocoder = tmp_path / "vocos"
    vocoder.mkdir()
    (vocoder / "config.yaml").write_text("{}")
    (vocoder / "pytorch_model.bin").write_bytes(b"x")
    entry = _entry(ref_clip, f"    model: {ckpt}\n    vocoder: {vocoder}\n")
    code, _, err = cli("run", suite(write, entry, warmups=0, repetitions=1), "--results", tmp_path / "r")
    assert code == 0, err
    assert fake.inits[0]["ckpt_file"] == str(ckpt) and fake.inits[0]["vocoder_local_path"] == str(vocoder)


def test_missing_checkpoint_is_one_line_exit_2(fake, ref_clip, monkeypatch, write, cli, tmp_path):
    empty_hf_cache(monkeypatch, tmp_path)
    code, _, err = cli("run", suite(write, _entry(ref_clip)), "--results", tmp_path / "r")
    assert code == 2 and not fake.inits
    assert "model: `SWivid/F5-TTS` is neither a local path nor in the Hugging Face cache" in err
    assert "`hf download SWivid/F5-TTS F5TTS_v1_Base/model_1250000.safetensors`" in err


def test_missing_vocoder_is_one_line_exit_2(fake, ref_clip, monkeypatch, write, cli, tmp_path):
    cache = empty_hf_cache(monkeypatch, tmp_path)
    repo, filename = CHECKPOINTS["F5TTS_v1_Base"]
    cache_repo(cache, repo, [filename])
    code, _, err = cli("run", suite(write, _entry(ref_clip)), "--results", tmp_path / "r")
    assert code == 2 and "vocoder: `charactr/vocos-mel-24khz` is neither" in err and not fake.inits


def test_reference_transcript_is_required_and_not_blank(fake, ref_clip, write, cli):
    entry = f"    backend: f5-tts\n    text: hi\n    ref_audio: {ref_clip}\n    ref_text: \"  \"\n"
    code, _, err = cli("run", suite(write, entry), "--dry-run")
    assert code == 2 and "speech recognizer" in err
    entry = f"    backend: f5-tts\n    text: hi\n    ref_audio: {ref_clip}\n"
    code, _, err = cli("run", suite(write, entry), "--dry-run")
    assert code == 2 and "ref_text" in err
    entry = "    backend: f5-tts\n    text: hi\n    ref_audio: nowhere.wav\n    ref_text: hi\n"
    code, _, err = cli("run", suite(write, entry), "--dry-run")
    assert code == 2 and "file not found: nowhere.wav" in err
