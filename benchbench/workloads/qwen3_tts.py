"""`kind: tts, backend: qwen3-tts`: Qwen3-TTS CustomVoice through the `qwen-tts` package
(`Qwen3TTSModel.from_pretrained(...)`, then `generate_custom_voice(text=, speaker=, language=)` ->
(waveforms, sample rate)). `weights: dummy` builds the architecture from its config shape with random
weights and generates a fixed number of codec frames: a speed measurement needing no download."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from .. import torch_util as tu
from ..errors import BackendUnavailable, UserError, WorkloadError
from ..schema import Field, positive
from ..torch_util import DTYPES
from .base import IterationContext
from .tts_common import (
    Synthesis,
    TTSWorkload,
    check_text,
    choose_attention,
    resolve_snapshot,
    stdout_to_stderr,
    timed,
    tts_dtype,
    voice_keys,
    write_wav,
)

ATTENTION = ("auto", "sdpa", "flash_attention_2", "eager")
REQUIRED_FILES = ("config.json", "generation_config.json", "speech_tokenizer/config.json")

# Shapes of the released checkpoints' config.json (talker; the code predictor and the 12 Hz codec
# decoder are the same for both sizes), and `tiny` for tests on a CPU (about 14 M parameters, 9.7 M of
# them the text embedding). Used only with `weights: dummy`.
SHAPES: dict[str, dict[str, Any]] = {
    "1.7b": {"size_tag": "1b7", "talker": {"hidden_size": 2048, "intermediate_size": 6144}},
    "0.6b": {"size_tag": "0b6", "talker": {"hidden_size": 1024, "intermediate_size": 3072}},
    "tiny": {"size_tag": "0b6",
             "talker": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "text_hidden_size": 64,
                        "rope_scaling": {"interleaved": True, "mrope_section": [4, 2, 2], "rope_type": "default"}},
             "code_predictor": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                                "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16},
             "codec": {"hidden_size": 64, "intermediate_size": 128, "latent_dim": 64, "decoder_dim": 64,
                       "codebook_dim": 64, "head_dim": 16, "num_attention_heads": 4, "num_key_value_heads": 4,
                       "num_hidden_layers": 1}},
}
SPEAKERS = {"vivian": 3065, "serena": 3066, "uncle_fu": 3010, "dylan": 2878, "eric": 2875,
            "ryan": 3061, "aiden": 2861, "ono_anna": 2873, "sohee": 2864}
DIALECTS = {"eric": "sichuan_dialect", "dylan": "beijing_dialect"}
LANGUAGES = {"chinese": 2055, "english": 2050, "german": 2053, "italian": 2070, "portuguese": 2071,
             "spanish": 2054, "japanese": 2058, "korean": 2064, "french": 2061, "russian": 2069,
             "beijing_dialect": 2074, "sichuan_dialect": 2062}
CODEC_DECODER = {"hidden_size": 512, "intermediate_size": 1024, "latent_dim": 1024, "decoder_dim": 1536,
                 "codebook_dim": 512, "codebook_size": 2048, "head_dim": 64, "num_attention_heads": 16,
                 "num_key_value_heads": 16, "num_hidden_layers": 8, "num_quantizers": 16,
                 "sliding_window": 72, "upsample_rates": [8, 5, 4, 3], "upsampling_ratios": [2, 2]}
CHARS_PER_TEXT_TOKEN = 4.0   # English with Qwen's BPE, for the dummy prompt length (estimated)
PROMPT_IDS = ([151644, 77091, 198], [151645, 198, 151644, 77091, 198])  # chat template around the text


def dummy_config(architecture: str) -> dict[str, Any]:
    """Qwen3TTSConfig kwargs for a CustomVoice model of `architecture` with random weights. The codec
    end-of-speech id is moved past the vocabulary so every run emits exactly max_new_tokens frames."""
    shape = SHAPES[architecture]
    talker = {"hidden_size": 2048, "intermediate_size": 6144,
              "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8,
              "head_dim": 128, "vocab_size": 3072, "text_vocab_size": 151936, "text_hidden_size": 2048,
              "num_code_groups": 16, "max_position_embeddings": 32768, "rope_theta": 1e6,
              "rope_scaling": {"interleaved": True, "mrope_section": [24, 20, 20], "rope_type": "default"},
              "codec_eos_token_id": 3072, "codec_pad_id": 2148, "codec_bos_id": 2149,
              "codec_think_id": 2154, "codec_nothink_id": 2155, "codec_think_bos_id": 2156,
              "codec_think_eos_id": 2157, "codec_language_id": dict(LANGUAGES), "spk_id": dict(SPEAKERS),
              "spk_is_dialect": {s: DIALECTS.get(s, False) for s in SPEAKERS},
              **shape["talker"]}
    talker["code_predictor_config"] = {"hidden_size": 1024, "intermediate_size": 3072,
                                       "num_hidden_layers": 5, "num_attention_heads": 16,
                                       "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 2048,
                                       "num_code_groups": 16, "max_position_embeddings": 65536,
                                       "rope_theta": 1e6, **shape.get("code_predictor", {})}
    return {"talker_config": talker, "tts_model_type": "custom_voice", "tts_model_size": shape["size_tag"],
            "tokenizer_type": "qwen3_tts_tokenizer_12hz", "im_start_token_id": 151644,
            "im_end_token_id": 151645, "tts_pad_token_id": 151671, "tts_bos_token_id": 151672,
            "tts_eos_token_id": 151673, "assistant_token_id": 77091}


def codec_config(architecture: str) -> dict[str, Any]:
    """The 12 Hz codec decoder's config for `architecture` (1,920 samples per frame in every shape)."""
    return {**CODEC_DECODER, **SHAPES[architecture].get("codec", {})}


def pin_conflict(dist: str, dep: str) -> str | None:
    """One line when `dist` declares an exact requirement on `dep` that the installed `dep` misses."""
    try:
        from packaging.requirements import Requirement

        for line in importlib.metadata.requires(dist) or []:
            req = Requirement(line)
            if req.name.lower() == dep and not req.marker:
                have = importlib.metadata.version(dep)
                if req.specifier and have not in req.specifier:
                    return (f"{dist} {importlib.metadata.version(dist)} requires {dep}{req.specifier}, "
                            f"found {have}: leave `env` at `auto` to run it in its own environment")
    except (ImportError, importlib.metadata.PackageNotFoundError, ValueError):
        return None
    return None


class Qwen3TTS(TTSWorkload):
    """One generate_custom_voice() call per run, timed between device synchronizations."""

    backend = "qwen3-tts"
    requires = ("torch", "qwen_tts")
    env_requirements = ("qwen-tts==0.1.1", "transformers==4.57.3", "accelerate==1.12.0")
    keys = {
        **TTSWorkload.keys,
        **voice_keys(speaker="Eric", language="Auto"),
        "instruct": Field((str,), doc="optional style instruction (CustomVoice)"),
        "weights": Field((str,), default="pretrained", choices=("pretrained", "dummy")),
        "architecture": Field((str,), default="1.7b", choices=tuple(SHAPES),
                              doc="with weights: dummy"),
        "device": Field((str,), default="auto"),
        "dtype": Field((str,), default="auto", choices=DTYPES),
        "attn_implementation": Field((str,), default="auto", choices=ATTENTION),
        "max_new_tokens": Field((int,), check=positive, doc="codec frames (12.5 per audio second)"),
    }

    @classmethod
    def extra(cls) -> str:
        return "qwen-tts"

    @classmethod
    def availability(cls) -> str | None:
        return super().availability() or pin_conflict("qwen-tts", "transformers")

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        if params.get("weights") == "dummy":
            if not params.get("max_new_tokens"):
                return ("max_new_tokens", "`weights: dummy` needs `max_new_tokens` (codec frames per run)",
                        "random weights never stop by themselves; 12.5 frames make one audio second")
        elif not params.get("model"):
            return ("model", "needs `model` (a local folder or a cached Hugging Face id)",
                    "e.g. Qwen/Qwen3-TTS-12Hz-1.7B-CustomVoice, or `weights: dummy`")
        return check_text(params)

    def plan(self) -> dict[str, Any]:
        p = self.params
        source = f"random weights, {p['architecture']} shape" if p["weights"] == "dummy" else p.get("model")
        return {"model": source, "speaker": p["speaker"], "language": p["language"],
                "device": p["device"], "dtype": p["dtype"], "attn_implementation": p["attn_implementation"]}

    # --- setup ------------------------------------------------------------------------------
    def setup(self) -> dict[str, Any]:

        folder = None if self.params["weights"] == "dummy" else resolve_snapshot(
            self.params["model"], REQUIRED_FILES)
        self.device = tu.pick_device(self.params["device"])
        kind, cap = self.device.split(":")[0], tu.capability(self.device)
        dtype, dtype_why = tts_dtype(self.params["dtype"], kind, cap)
        attn, attn_why = choose_attention(self.params["attn_implementation"], kind, cap, dtype,
                                          _installed("flash_attn"))
        with stdout_to_stderr():
            torchaudio_why = torchaudio_stand_in()
            qwen_tts = _import_qwen_tts()
            self.engine, load_s = timed(self._load, qwen_tts, folder, tu.torch_dtype(dtype), attn,
                                     sync=lambda: tu.synchronize(self.device))
        model = self.engine.model
        for key, known in (("speaker", model.get_supported_speakers()),
                           ("language", model.get_supported_languages())):
            names = sorted(str(s).lower() for s in (known or []))
            if names and str(self.params[key]).lower() not in names:
                raise UserError(f"{key} {self.params[key]!r} is not in this model", field=key,
                                hint="one of: " + ", ".join(names))
        n_params = sum(p.numel() for p in model.parameters())
        return {"load_s": load_s, "dtype": dtype, "dtype_reason": dtype_why, "attn_implementation": attn,
                "attn_reason": attn_why, "weights_source": str(folder) if folder else
                f"random initialization ({self.params['architecture']} shape, weights: dummy)",
                "parameters": n_params,
                "model_size_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
                "qwen_tts": _version("qwen-tts"), "transformers": _version("transformers"),
                "torchaudio": f"stand-in ({torchaudio_why})" if torchaudio_why else _version("torchaudio"),
                **tu.device_facts(self.device)}

    def _load(self, qwen_tts: Any, folder: Path | None, dtype: Any, attn: str) -> Any:
        device_map = "cuda:0" if self.device == "cuda" else self.device
        try:
            if folder is not None:
                return qwen_tts.Qwen3TTSModel.from_pretrained(str(folder), device_map=device_map,
                                                              dtype=dtype, attn_implementation=attn)
            return _build_dummy(qwen_tts, self.params["architecture"], self.device, dtype, attn)
        except (OSError, ValueError, TypeError) as exc:
            raise WorkloadError(f"loading Qwen3-TTS failed: {exc}".splitlines()[0]) from None

    # --- one run ------------------------------------------------------------------------------
    def synthesize(self, text: str, wav_path: Path, ctx: IterationContext) -> Synthesis:
        import torch


        torch.manual_seed(int(self.params.get("seed") or 0))
        kwargs: dict[str, Any] = {"text": text, "speaker": self.params["speaker"],
                                  "language": self.params["language"]}
        if self.params.get("instruct"):
            kwargs["instruct"] = self.params["instruct"]
        if self.params.get("max_new_tokens"):
            kwargs["max_new_tokens"] = int(self.params["max_new_tokens"])
        try:
            with torch.inference_mode(), stdout_to_stderr():
                (wavs, sr), gen_s = timed(self.engine.generate_custom_voice, **kwargs,
                                          sync=lambda: tu.synchronize(self.device))
        except (RuntimeError, ValueError, NotImplementedError) as exc:  # OOM, device errors
            raise WorkloadError(f"generation failed: {exc}".splitlines()[0]) from None
        samples = write_wav(wav_path, wavs[0], int(sr))
        return Synthesis(gen_s=gen_s, samples=samples, sample_rate=int(sr),
                         raw={"codec_frames": samples / 1920 if int(sr) == 24000 else None})


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def torchaudio_stand_in() -> str | None:
    """qwen-tts imports `torchaudio.compliance.kaldi` when it is imported, for its 25 Hz tokenizer only
    (never used by CustomVoice generation with the 12 Hz codec). PyPI's torchaudio (2.11, its last
    release) is built against one torch release with CUDA, and its compiled extension does not load
    beside another torch (e.g. the 2.13 CPU build). Then a stand-in that fails when used is put in its
    place; returns why, or None when the real torchaudio imports."""
    import importlib.machinery
    import importlib.util
    import sys
    import types

    if importlib.util.find_spec("torchaudio") is None:   # not installed: qwen_tts's import says so
        return None
    try:
        import torchaudio.compliance.kaldi  # noqa: F401
        return None
    except (OSError, ImportError) as exc:
        why = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
        del sys.modules[name]

    def unavailable(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise BackendUnavailable(f"torchaudio.{attr} is unavailable here ({why}); the 25 Hz tokenizer needs it")

    names = ("torchaudio", "torchaudio.compliance", "torchaudio.compliance.kaldi")
    for name in names:
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=name != names[-1])
        module.__getattr__ = unavailable  # type: ignore[method-assign]
        sys.modules[name] = module
    sys.modules["torchaudio"].compliance = sys.modules["torchaudio.compliance"]  # type: ignore[attr-defined]
    sys.modules["torchaudio.compliance"].kaldi = sys.modules["torchaudio.compliance.kaldi"]  # type: ignore[attr-defined]
    return why


def _import_qwen_tts() -> Any:
    """The qwen_tts package, or BackendUnavailable saying why it does not import."""
    try:
        import qwen_tts
    except Exception as exc:  # noqa: BLE001 - e.g. TypeError under transformers 5 (qwen-tts pins 4.57.3)
        why = pin_conflict("qwen-tts", "transformers") or "check its dependencies"
        raise BackendUnavailable(f"qwen_tts does not import ({type(exc).__name__}: {exc}); {why}") from None
    return qwen_tts


def _build_dummy(qwen_tts: Any, architecture: str, device: str, dtype: Any, attn: str) -> Any:
    """A Qwen3TTSModel with random weights: the real classes, built from dummy_config() on `device`."""
    import torch
    from qwen_tts.core import Qwen3TTSTokenizerV2Config, Qwen3TTSTokenizerV2Model
    from qwen_tts.core.models import Qwen3TTSConfig, Qwen3TTSForConditionalGeneration
    from qwen_tts.inference.qwen3_tts_tokenizer import Qwen3TTSTokenizer

    class DummyTextModel(qwen_tts.Qwen3TTSModel):
        """No tokenizer ships without the weights: about one text token per 4 characters (estimated)."""

        def _tokenize_texts(self, texts: list[str]) -> list[Any]:
            out = []
            for i, text in enumerate(texts):
                n = max(1, round((len(text) - 49) / CHARS_PER_TEXT_TOKEN))  # 49: the template's chars
                body = torch.randint(1000, 150000, (n,), generator=torch.Generator().manual_seed(i))
                ids = PROMPT_IDS[0] + body.tolist() + PROMPT_IDS[1]
                out.append(torch.tensor([ids], device=self.device))
            return out

    with torch.device(device):
        model = Qwen3TTSForConditionalGeneration._from_config(
            Qwen3TTSConfig(**dummy_config(architecture)), dtype=dtype, attn_implementation=attn)
        codec = Qwen3TTSTokenizer()
        codec.model = Qwen3TTSTokenizerV2Model._from_config(
            Qwen3TTSTokenizerV2Config(decoder_config=codec_config(architecture)), dtype=dtype)
    codec.model.eval()
    codec.config, codec.device = codec.model.config, torch.device(device)
    model.eval().load_speech_tokenizer(codec)
    model.load_generate_config({})
    return DummyTextModel(model=model, processor=None, generate_defaults={})
