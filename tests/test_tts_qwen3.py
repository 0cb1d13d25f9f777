"""qwen3-tts through a fake `qwen_tts` that follows qwen-tts 0.1.1's interface: the arguments the backend
passes (dtype per GPU generation, attention, local folder only), metrics, WAVs and the missing-model error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tts_helpers import FRAME_SAMPLES, cache_repo, empty_hf_cache, install_fake_qwen, suite

from benchbench import torch_util
from benchbench.errors import BackendUnavailable
from benchbench.record import load_records
from benchbench.workloads import qwen3_tts

MODEL_ID = "Qwen/Qwen3-TTS-12Hz-1.7B-CustomVoice"
TEXT = "Every generation of chips does more arithmetic per watt, and every year the data centres draw more."


def _record(results: Path) -> dict:
    (rec,) = [r for r in load_records([results]) if r.get("type", "run") == "run"]
    return rec


def _entry(model: str, extra: str = "") -> str:
    """In this process (`env: none`): the fake qwen_tts lives here, not in the backend's environment."""
    return (f"    backend: qwen3-tts\n    env: none\n    model: {model}\n    text: \"{TEXT}\"\n"
            f"    language: English\n{extra}")


@pytest.fixture
def fake(monkeypatch):
    return install_fake_qwen(monkeypatch)


@pytest.fixture
def cached_model(monkeypatch, tmp_path):
    cache = empty_hf_cache(monkeypatch, tmp_path)
    return cache_repo(cache, MODEL_ID, list(qwen3_tts.REQUIRED_FILES))


def _gpu(monkeypatch, device: str, cap: tuple[int, int] | None) -> None:
    """Pretend `device` is there with compute capability `cap` (the fake model needs no GPU)."""
    monkeypatch.setattr(torch_util, "pick_device", lambda requested="auto": device)
    monkeypatch.setattr(torch_util, "capability", lambda dev: cap)
    monkeypatch.setattr(torch_util, "synchronize", lambda dev: None)
    monkeypatch.setattr(torch_util, "device_facts", lambda dev: {"device": dev})


def test_cached_id_runs_and_records_rtf_from_the_waveform(fake, cached_model, write, cli, tmp_path):
    entry = _entry(MODEL_ID, "    device: cpu\n    seed: 7\n")
    code, out, err = cli("run", suite(write, entry, warmups=1, repetitions=2), "--results", tmp_path / "r")
    assert code == 0, err
    assert "flash-attn" not in out   # the package's stdout chatter goes to stderr
    rec = _record(tmp_path / "r")
    (load,) = fake.loads
    assert load["path"] == str(cached_model)   # a local snapshot folder, never the hub id
    assert load["device_map"] == "cpu" and load["dtype"] is torch.float32 and load["attn_implementation"] == "sdpa"
    assert len(fake.calls) == 3
    assert all(c["text"] == TEXT and c["speaker"] == "Eric" and c["language"] == "English" for c in fake.calls)
    facts = rec["workload"]["facts"]
    assert facts["dtype"] == "float32" and facts["dtype_reason"] == "CPU: fp32" and facts["load_s"] >= 0
    assert facts["parameters"] == 24 and facts["model_size_bytes"] == 96
    folder = next((tmp_path / "r").rglob(rec["run_id"] + ".json")).parent
    for it in rec["iterations"]:
        m = it["metrics"]
        frames = round(len(TEXT) * 12.5 / 14)
        assert m["sample_rate"] == 24000 and m["audio_s"] == pytest.approx(frames * FRAME_SAMPLES / 24000)
        assert m["rtf"] == pytest.approx(m["gen_s"] / m["audio_s"], rel=1e-12) and m["chars"] == len(TEXT)
        assert it["raw"]["codec_frames"] == frames
        assert (folder / it["artifacts"][0]).stat().st_size == 44 + 2 * frames * FRAME_SAMPLES
    assert any(w["code"] == "short_benchmark" for w in rec["warnings"])


@pytest.mark.parametrize("device,cap,dtype,device_map", [
    ("cuda", (6, 1), torch.float32, "cuda:0"),    # Tesla P40
    ("cuda", (7, 5), torch.float32, "cuda:0"),    # T4
    ("cuda", (8, 0), torch.bfloat16, "cuda:0"),   # A100
    ("mps", None, torch.float32, "mps"),          # Apple
])
def test_dtype_and_device_map_passed_to_from_pretrained(fake, cached_model, monkeypatch, write, cli,
                                                        tmp_path, device, cap, dtype, device_map):
    _gpu(monkeypatch, device, cap)
    monkeypatch.setattr(qwen3_tts, "_installed", lambda module: False)   # no flash-attn
    code, _, err = cli("run", suite(write, _entry(MODEL_ID), warmups=0, repetitions=1),
                       "--results", tmp_path / "r")
    assert code == 0, err
    (load,) = fake.loads
    assert load["dtype"] is dtype and load["device_map"] == device_map
    assert load["attn_implementation"] == "sdpa"
    facts = _record(tmp_path / "r")["workload"]["facts"]
    assert facts["dtype"] == str(dtype).removeprefix("torch.")
    assert _record(tmp_path / "r")["workload"]["facts"]["attn_reason"] == "flash-attn is not installed"


def test_flash_attention_when_installed_on_ampere(fake, cached_model, monkeypatch, write, cli, tmp_path):
    _gpu(monkeypatch, "cuda", (8, 6))
    monkeypatch.setattr(qwen3_tts, "_installed", lambda module: module == "flash_attn")
    code, _, err = cli("run", suite(write, _entry(MODEL_ID), warmups=0, repetitions=1), "--results", tmp_path / "r")
    assert code == 0, err
    assert fake.loads[0]["attn_implementation"] == "flash_attention_2"


def test_missing_model_is_one_line_exit_2_and_loads_nothing(fake, monkeypatch, write, cli, tmp_path):
    cache = empty_hf_cache(monkeypatch, tmp_path)
    code, _, err = cli("run", suite(write, _entry(MODEL_ID)), "--results", tmp_path / "r")
    assert code == 2 and not fake.loads
    (line,) = [ln for ln in err.splitlines() if "failed:" in ln]
    assert f"model: `{MODEL_ID}` is neither a local path nor in the Hugging Face cache" in line
    assert f"`hf download {MODEL_ID}`; the cache is {cache}" in line and "Traceback" not in err


def test_partial_snapshot_names_the_missing_files(fake, monkeypatch, write, cli, tmp_path):
    cache = empty_hf_cache(monkeypatch, tmp_path)
    cache_repo(cache, MODEL_ID, ["config.json"])
    code, _, err = cli("run", suite(write, _entry(MODEL_ID)), "--results", tmp_path / "r")
    assert code == 2 and "lacks generation_config.json, speech_tokenizer/config.json" in err


def test_local_folder_and_unknown_speaker(fake, write, cli, tmp_path):
    folder = tmp_path / "Qwen3-TTS"
    for name in qwen3_tts.REQUIRED_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    code, _, err = cli("run", suite(write, _entry(str(folder), "    device: cpu\n    speaker: Nobody\n")),
                       "--results", tmp_path / "r")
    assert code == 2 and "speaker 'Nobody' is not in this model" in err and "eric" in err
    assert fake.loads[0]["path"] == str(folder) and not fake.calls
    code, _, err = cli("run", suite(write, _entry(str(folder), "    device: cpu\n").replace("English", "Elvish")),
                       "--results", tmp_path / "r2")
    assert code == 2 and "language 'Elvish' is not in this model" in err and "english" in err


def test_suite_validation(fake, write, cli, tmp_path):
    code, _, err = cli("run", suite(write, "    backend: qwen3-tts\n    text: hi\n"), "--dry-run")
    assert code == 2 and "needs `model`" in err
    code, _, err = cli("run", suite(write, "    backend: qwen3-tts\n    weights: dummy\n    text: hi\n"), "--dry-run")
    assert code == 2 and "needs `max_new_tokens`" in err
    code, _, err = cli("run", suite(write, _entry(MODEL_ID, "    dtype: fp16\n")), "--dry-run")
    assert code == 2 and "dtype" in err


def test_dummy_config_matches_the_released_checkpoints():
    cfg = qwen3_tts.dummy_config("1.7b")
    talker = cfg["talker_config"]
    assert (talker["hidden_size"], talker["num_hidden_layers"], talker["head_dim"]) == (2048, 28, 128)
    assert talker["spk_id"]["eric"] == 2875 and talker["spk_is_dialect"]["eric"] == "sichuan_dialect"
    assert talker["codec_eos_token_id"] == talker["vocab_size"]   # never sampled: fixed frame counts
    assert cfg["tts_model_type"] == "custom_voice" and cfg["tts_model_size"] == "1b7"


def test_import_failure_is_explained(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "qwen_tts":
            raise TypeError("check_model_inputs() missing 1 required positional argument: 'func'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(BackendUnavailable, match="qwen_tts does not import .TypeError: check_model_inputs"):
        qwen3_tts._import_qwen_tts()


def test_pin_conflict_reads_the_package_metadata(monkeypatch):
    import importlib.metadata as md

    monkeypatch.setattr(md, "requires", lambda dist: ["transformers==4.57.3", "gradio"])
    monkeypatch.setattr(md, "version", lambda dist: {"qwen-tts": "0.1.1", "transformers": "5.23.0"}[dist])
    why = qwen3_tts.pin_conflict("qwen-tts", "transformers")
    assert why.startswith("qwen-tts 0.1.1 requires transformers==4.57.3, found 5.23.0")
    monkeypatch.setattr(md, "version", lambda dist: {"qwen-tts": "0.1.1", "transformers": "4.57.3"}[dist])
    assert qwen3_tts.pin_conflict("qwen-tts", "transformers") is None
