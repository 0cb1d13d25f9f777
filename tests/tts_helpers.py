"""Fakes for the TTS tests: `qwen_tts` and `f5_tts` modules that follow the packages' interfaces
exactly (qwen-tts 0.1.1, f5-tts 1.1.22: argument names, return types, 24 kHz), a fake Hugging Face
cache, and suite writers. Neither package is installed in CI (qwen-tts pins transformers 4.57.3)."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 24000
FRAME_SAMPLES = 1920          # the 12 Hz codec: 24000 / 12.5
FRAMES_PER_CHAR = 12.5 / 14   # about 14 characters per audio second


def _speech(n_samples: int) -> np.ndarray:
    t = np.arange(n_samples, dtype=np.float32) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)


def _module(name: str, **attrs: Any) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    mod.__dict__.update(attrs)
    return mod


# --- qwen-tts -------------------------------------------------------------------------------

class FakeQwenInner:
    """Stands for Qwen3TTSForConditionalGeneration: speakers, languages and parameters."""

    def __init__(self, dtype: Any) -> None:
        import torch

        self.params = [torch.zeros(4, 4, dtype=dtype), torch.zeros(8, dtype=dtype)]
        self.tts_model_type = "custom_voice"

    def get_supported_speakers(self) -> list[str]:
        return ["aiden", "dylan", "eric", "ono_anna", "ryan", "serena", "sohee", "uncle_fu", "vivian"]

    def get_supported_languages(self) -> list[str]:
        return ["auto", "chinese", "english", "german", "italian", "portuguese", "spanish", "japanese",
                "korean", "french", "russian"]

    def parameters(self) -> Any:
        return iter(self.params)


class FakeQwen3TTSModel:
    """qwen_tts.Qwen3TTSModel: from_pretrained(path, **kwargs) forwards kwargs to
    AutoModel.from_pretrained; generate_custom_voice(...) -> (list of float32 waveforms, sample_rate)."""

    loads: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []

    def __init__(self, model: Any, processor: Any, generate_defaults: dict | None = None) -> None:
        self.model = model
        self.processor = processor
        self.generate_defaults = generate_defaults or {}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, **kwargs: Any) -> FakeQwen3TTSModel:
        folder = Path(pretrained_model_name_or_path)
        assert (folder / "config.json").is_file(), "the fake loads local folders only (no downloads)"
        cls.loads.append({"path": str(folder), **kwargs})
        print("Warning: flash-attn is not installed.")   # the real package prints to stdout too
        return cls(FakeQwenInner(kwargs.get("dtype")), processor=object())

    def generate_custom_voice(self, text: str | list[str], speaker: str | list[str],
                              language: str | list[str] | None = None,
                              instruct: str | list[str] | None = None, non_streaming_mode: bool = True,
                              **kwargs: Any) -> tuple[list[np.ndarray], int]:
        texts = text if isinstance(text, list) else [text]
        if str(speaker).lower() not in self.model.get_supported_speakers():
            raise ValueError(f"Unsupported speakers: [{speaker!r}]")
        self.calls.append({"text": text, "speaker": speaker, "language": language, "instruct": instruct,
                           "non_streaming_mode": non_streaming_mode, **kwargs})
        frames = [kwargs.get("max_new_tokens") or max(1, round(len(t) * FRAMES_PER_CHAR)) for t in texts]
        return [_speech(n * FRAME_SAMPLES) for n in frames], SAMPLE_RATE


def install_fake_qwen(monkeypatch: Any) -> type[FakeQwen3TTSModel]:
    FakeQwen3TTSModel.loads, FakeQwen3TTSModel.calls = [], []
    monkeypatch.setitem(sys.modules, "qwen_tts", _module("qwen_tts", Qwen3TTSModel=FakeQwen3TTSModel))
    return FakeQwen3TTSModel


# --- f5-tts ---------------------------------------------------------------------------------

class FakeEMA:
    def __init__(self, dtype: Any) -> None:
        import torch

        self.weight = torch.zeros(4, dtype=dtype)

    def parameters(self) -> Any:
        return iter([self.weight])


class FakeF5TTS:
    """f5_tts.api.F5TTS(model, ckpt_file, vocab_file, ode_method, use_ema, vocoder_local_path, device,
    hf_cache_dir); infer(...) -> (waveform, sample rate, spectrogram)."""

    inits: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []

    def __init__(self, model: str = "F5TTS_v1_Base", ckpt_file: str = "", vocab_file: str = "",
                 ode_method: str = "euler", use_ema: bool = True, vocoder_local_path: str | None = None,
                 device: str | None = None, hf_cache_dir: str | None = None) -> None:
        import torch

        assert ckpt_file, "an empty ckpt_file makes f5-tts download the checkpoint"
        assert vocoder_local_path, "no vocoder_local_path makes f5-tts download the vocoder"
        self.inits.append({"model": model, "ckpt_file": ckpt_file, "vocoder_local_path": vocoder_local_path,
                           "device": device})
        self.device = device
        self.target_sample_rate = SAMPLE_RATE
        self.ema_model = FakeEMA(torch.float32)

    def infer(self, ref_file: str, ref_text: str, gen_text: str, show_info: Any = print, progress: Any = None,
              target_rms: float = 0.1, cross_fade_duration: float = 0.15, sway_sampling_coef: float = -1,
              cfg_strength: float = 2, nfe_step: int = 32, speed: float = 1.0, fix_duration: Any = None,
              remove_silence: bool = False, file_wave: str | None = None, file_spec: str | None = None,
              seed: int | None = None) -> tuple[np.ndarray, int, np.ndarray]:
        assert ref_text.strip(), "an empty ref_text makes f5-tts download a speech recognizer"
        assert Path(ref_file).is_file()
        print(f"gen_text 0 {gen_text[:20]}")   # the real infer_process prints batches to stdout
        show_info("Generating audio in 1 batches...")
        self.calls.append({"ref_file": ref_file, "ref_text": ref_text, "gen_text": gen_text,
                           "nfe_step": nfe_step, "seed": seed})
        n = round(len(gen_text) / 14 * SAMPLE_RATE)
        return _speech(n), SAMPLE_RATE, np.zeros((100, 8), dtype=np.float32)


def install_fake_f5(monkeypatch: Any) -> type[FakeF5TTS]:
    FakeF5TTS.inits, FakeF5TTS.calls = [], []
    pkg = _module("f5_tts")
    api = _module("f5_tts.api", F5TTS=FakeF5TTS)
    pkg.api = api
    monkeypatch.setitem(sys.modules, "f5_tts", pkg)
    monkeypatch.setitem(sys.modules, "f5_tts.api", api)
    return FakeF5TTS


# --- a Hugging Face cache with nothing, or with one repo -------------------------------------------

def empty_hf_cache(monkeypatch: Any, tmp_path: Path) -> Path:
    import huggingface_hub.constants as constants

    cache = tmp_path / "hf-cache"
    cache.mkdir(exist_ok=True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def cache_repo(cache: Path, repo: str, files: list[str]) -> Path:
    """Lay out `repo` in the cache as huggingface_hub does (refs/main -> snapshots/<commit>/...)."""
    root = cache / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / "0123abcd"
    for name in files:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_text("{}")
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text("0123abcd")
    return snapshot


def suite(write: Any, entry: str, warmups: int = 1, repetitions: int = 2, name: str = "suite.yaml") -> Path:
    """A TTS suite with one workload entry (YAML lines indented by four spaces)."""
    body = f"name: tts-test\nwarmups: {warmups}\nrepetitions: {repetitions}\npower: {{samplers: [none]}}\n" \
           f"workloads:\n  - name: tts\n    kind: tts\n{entry}"
    return write(name, body)
