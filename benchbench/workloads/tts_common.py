"""Shared by the TTS backends: suite keys, the text, WAV files, metrics, aggregates and the
`short_benchmark` warning. The aggregate functions are pure (record dicts in, numbers out) so the
analyzer can import them; nothing heavy is imported at module level."""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .. import torch_util as tu
from ..errors import UserError, WorkloadError
from ..limits import check_text_file
from ..schema import Field
from .base import IterationContext, IterationResult, RunWarning, Workload
from .placement_check import model_on_cpu

TTS_METRICS = ("chars", "gen_s", "audio_s", "rtf", "sample_rate")
SHORT_TEXT_CHARS = 1000      # below this a benchmark is dominated by first-run compilation
SHORT_AUDIO_S = 60.0

TEXT_KEYS: dict[str, Field] = {
    "text": Field((str,), doc="the text to speak"),
    "text_file": Field((str,), path=True, doc="a UTF-8 file holding the text to speak"),
}


def voice_keys(speaker: str | None = None, language: str | None = None) -> dict[str, Field]:
    """The shared `speaker` and `language` keys, with a backend's defaults."""
    return {"speaker": Field((str,), default=speaker, doc="the voice"),
            "language": Field((str,), default=language, doc="the language of the text")}


def check_text(params: dict[str, Any]) -> tuple[str, ...] | None:
    """Exactly one of `text` / `text_file`, and not empty."""
    given = [k for k in ("text", "text_file") if params.get(k) is not None]
    if not given:
        return ("text", "needs `text` or `text_file`", "e.g. text_file: texts/jevons-paradox.txt")
    if len(given) > 1:
        return ("text_file", "`text` and `text_file` both given", "use one")
    if given == ["text"] and not params["text"].strip():
        return ("text", "is empty")
    if given == ["text_file"]:
        problem = check_text_file(params["text_file"])
        if problem:
            return ("text_file", f"{Path(params['text_file']).name} {problem}")
    return None


def load_text(params: dict[str, Any]) -> str:
    """The text to speak, surrounding whitespace stripped."""
    if params.get("text_file"):
        text = Path(params["text_file"]).read_text(encoding="utf-8").strip()
        if not text:
            raise UserError(f"{params['text_file']} is empty", field="text_file")
        return text
    return str(params["text"]).strip()


# --- dtype and attention ----------------------------------------------------------------------

def tts_dtype(requested: str, device_type: str, capability: tuple[int, int] | None) -> tuple[str, str]:
    """(dtype, why) for a TTS model: bf16 only where the GPU computes it natively (CUDA CC >= 8, via
    torch_util.choose_dtype), else fp32 -- never fp16 by default, since the models are trained in bf16
    and fp16's narrower range can overflow over thousands of autoregressive steps."""

    name, why = tu.choose_dtype(requested, device_type, capability)
    if requested != "auto" or name != "float16":
        return name, why
    if device_type == "mps":
        return "float32", "Apple GPU (MPS): bf16 is not reliable there; fp32 rather than fp16 for TTS"
    return "float32", f"{why}; fp32 rather than fp16 for TTS"


def choose_attention(requested: str, device_type: str, capability: tuple[int, int] | None,
                     dtype: str, flash_attn_installed: bool) -> tuple[str, str]:
    """(attn_implementation, why): FlashAttention 2 where it is installed and can run (CUDA CC >= 8,
    half precision), else PyTorch's `sdpa`."""
    if requested != "auto":
        return requested, "requested"
    if not flash_attn_installed:
        return "sdpa", "flash-attn is not installed"
    if device_type != "cuda" or capability is None or capability < (8, 0):
        return "sdpa", "FlashAttention 2 needs an NVIDIA GPU of compute capability 8.0 or newer"
    if dtype not in ("bfloat16", "float16"):
        return "sdpa", "FlashAttention 2 needs bf16 or fp16"
    return "flash_attention_2", "flash-attn installed, compute capability >= 8.0"


# --- WAV files --------------------------------------------------------------------------------

def write_wav(path: Path, samples: Any, sample_rate: int) -> int:
    """Write mono float samples in [-1, 1] as 16-bit PCM; returns the number of frames written."""
    import numpy as np

    data = np.asarray(samples, dtype=np.float32).reshape(-1)
    pcm = (np.clip(np.nan_to_num(data), -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.tobytes())
    return int(pcm.shape[0])


def wav_info(path: Path) -> tuple[int, int]:
    """(frames, sample rate) of a WAV file."""
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes(), wav.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise WorkloadError(f"cannot read the WAV file {path.name}: {exc}") from None


# --- per-run metrics --------------------------------------------------------------------------

def tts_metrics(chars: int, gen_s: float, samples: int, sample_rate: int) -> dict[str, Any]:
    """The per-run metrics: audio_s = samples / sample rate, rtf = gen_s / audio_s (None if no audio)."""
    audio_s = samples / sample_rate if sample_rate > 0 else 0.0
    return {"chars": chars, "gen_s": gen_s, "audio_s": audio_s,
            "rtf": gen_s / audio_s if audio_s > 0 else None, "sample_rate": sample_rate}


# --- aggregates (pure; the analyzer imports these) --------------------------------------------

def _ok(iterations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((it for it in iterations if not it.get("error") and it.get("metrics")),
                  key=lambda it: it["index"])


def _values(iterations: Sequence[dict[str, Any]], key: str) -> list[float]:
    out = []
    for it in iterations:
        v = it["metrics"].get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
    return out


def measured_runs(iterations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs that count: not warmups, no error."""
    return [it for it in _ok(iterations) if not it.get("warmup")]


def steady_runs(iterations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Measured runs after the first run of the loaded model: warmups are excluded, and so is
    run 0 when no warmup was configured (it carries the kernel compilation)."""
    ok = _ok(iterations)
    if not ok:
        return []
    first = ok[0]
    return [it for it in ok if not it.get("warmup") and it is not first]


def mean_rtf(iterations: Sequence[dict[str, Any]]) -> float | None:
    """Mean of the per-run RTFs over measured runs: the published convention ("Avg RTF")."""
    xs = _values(measured_runs(iterations), "rtf")
    return statistics.fmean(xs) if xs else None


def total_rtf(iterations: Sequence[dict[str, Any]]) -> float | None:
    """Total generation time / total audio over measured runs (long runs weigh more)."""
    runs = [it for it in measured_runs(iterations) if it["metrics"].get("audio_s")]
    gen, audio = sum(_values(runs, "gen_s")), sum(_values(runs, "audio_s"))
    return gen / audio if runs and audio > 0 else None


def best_rtf(iterations: Sequence[dict[str, Any]]) -> float | None:
    """The lowest per-run RTF over measured runs ("Best RTF")."""
    xs = _values(measured_runs(iterations), "rtf")
    return min(xs) if xs else None


def steady_state_rtf(iterations: Sequence[dict[str, Any]]) -> float | None:
    """Mean per-run RTF over the steady runs (see steady_runs)."""
    xs = _values(steady_runs(iterations), "rtf")
    return statistics.fmean(xs) if xs else None


def first_run_rtf(iterations: Sequence[dict[str, Any]]) -> float | None:
    """RTF of the first run of the loaded model, warmup or not."""
    ok = _ok(iterations)
    xs = _values(ok[:1], "rtf")
    return xs[0] if xs else None


def warmup_penalty(iterations: Sequence[dict[str, Any]]) -> float | None:
    """First run's RTF / steady-state RTF (1.0: no warmup effect)."""
    first, steady = first_run_rtf(iterations), steady_state_rtf(iterations)
    return first / steady if first is not None and steady else None


def chars_per_audio_s(iterations: Sequence[dict[str, Any]]) -> float | None:
    """Characters spoken per second of audio over measured runs (to price cloud TTS per character)."""
    runs = [it for it in measured_runs(iterations) if it["metrics"].get("audio_s")]
    chars, audio = sum(_values(runs, "chars")), sum(_values(runs, "audio_s"))
    return chars / audio if runs and audio > 0 else None


def tts_summary(iterations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every TTS aggregate of one run record's iterations, by stable name."""
    measured = measured_runs(iterations)
    gens, audios = _values(measured, "gen_s"), _values(measured, "audio_s")
    return {"runs": len(measured), "steady_runs": len(steady_runs(iterations)),
            "mean_rtf": mean_rtf(iterations), "total_rtf": total_rtf(iterations),
            "best_rtf": best_rtf(iterations), "steady_state_rtf": steady_state_rtf(iterations),
            "first_run_rtf": first_run_rtf(iterations), "warmup_penalty": warmup_penalty(iterations),
            "chars_per_audio_s": chars_per_audio_s(iterations),
            "mean_gen_s": statistics.fmean(gens) if gens else None,
            "mean_audio_s": statistics.fmean(audios) if audios else None}


def short_benchmark_warning(iterations: Sequence[dict[str, Any]]) -> RunWarning | None:
    """`short_benchmark` when the text is under 1,000 characters or the audio under 60 s, saying why."""
    runs = measured_runs(iterations) or _ok(iterations)
    chars, audios = _values(runs, "chars"), _values(runs, "audio_s")
    if not chars or not audios:
        return None
    n_chars, audio = int(max(chars)), statistics.fmean(audios)
    if n_chars >= SHORT_TEXT_CHARS and audio >= SHORT_AUDIO_S:
        return None
    return RunWarning("short_benchmark",
                      f"{n_chars} characters, {audio:.0f} s of audio per run (under {SHORT_TEXT_CHARS} "
                      f"characters or {SHORT_AUDIO_S:.0f} s): first-run kernel compilation (MPS, ROCm) "
                      "dominates short tests -- a 276-character test put a Radeon 8060S at RTF 9.20, "
                      "level with a Tesla P40, while the 2,411-character passage gave it 3.00; use a "
                      "passage of about 2,400 characters")


# --- model files --------------------------------------------------------------------------------

def hf_cache_dir() -> str:
    """Where the Hugging Face cache lives on this machine (for messages)."""
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:
        return "~/.cache/huggingface/hub"


def missing_model(ref: str, what: str = "model", hint: str | None = None) -> UserError:
    """The one-line error for model files that are not here."""
    return UserError(f"`{ref}` is neither a local path nor in the Hugging Face cache", field=what,
                     hint=hint or f"download it first with `hf download {ref}`; the cache is {hf_cache_dir()}")


def resolve_snapshot(ref: str, required: Sequence[str] = ("config.json",), what: str = "model") -> Path:
    """A local folder holding `required` files, from a path or a Hugging Face id already in the cache.
    Never downloads."""
    path = Path(ref).expanduser()
    if path.is_dir():
        folder = path
    elif path.exists() or ref.startswith((".", "/", "~")) or ref.count("/") != 1:
        raise missing_model(ref, what)
    else:
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(ref, local_files_only=True))
        except ImportError:
            raise missing_model(ref, what, "give a local folder, or pip install huggingface_hub") from None
        except Exception:  # noqa: BLE001 - LocalEntryNotFoundError and friends: not in the cache
            raise missing_model(ref, what) from None
    absent = [name for name in required if not (folder / name).exists()]
    if absent:
        raise UserError(f"`{ref}` lacks {', '.join(absent)} in {folder}", field=what,
                        hint=f"download it whole: hf download {ref}")
    return folder


def cached_file(repo: str, filename: str, what: str = "model") -> Path:
    """One file of a Hugging Face repo, from the cache only."""
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo, filename, local_files_only=True))
    except ImportError:
        raise missing_model(repo, what, "give a local path, or pip install huggingface_hub") from None
    except Exception:  # noqa: BLE001 - not in the cache
        raise missing_model(repo, what, f"download it first with `hf download {repo} {filename}`; "
                                        f"the cache is {hf_cache_dir()}") from None


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Vendor libraries print progress to stdout; keep stdout for benchbench (--json)."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


# --- the shared workload shape ------------------------------------------------------------------

@dataclass
class Synthesis:
    """What a backend's synthesize() measured: generation seconds and the audio it wrote."""

    gen_s: float
    samples: int
    sample_rate: int
    raw: dict[str, Any] = field(default_factory=dict)


class TTSWorkload(Workload):
    """Base of the TTS backends: one text, one WAV per run, RTF metrics, `short_benchmark`."""

    kind = "tts"
    primary_metrics = ("rtf",)
    summary_metrics = ("rtf", "audio_s", "gen_s")
    emits = ("chars", "gen_s", "audio_s", "rtf", "sample_rate")
    keys: ClassVar[dict[str, Field]] = dict(TEXT_KEYS)

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        return check_text(params)

    @property
    def text(self) -> str:
        if not hasattr(self, "_text"):
            self._text = load_text(self.params)
        return self._text

    def synthesize(self, text: str, wav_path: Path, ctx: IterationContext) -> Synthesis:
        """Generate `text`, write `wav_path`, and time the generation alone."""
        raise NotImplementedError

    def run_once(self, ctx: IterationContext) -> IterationResult:
        wav_path = ctx.artifact_path(".wav")
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.synthesize(self.text, wav_path, ctx)
        metrics = tts_metrics(len(self.text), out.gen_s, out.samples, out.sample_rate)
        warnings = [] if out.samples else [RunWarning("no_audio", "the backend returned no audio")]
        return IterationResult(metrics, raw=out.raw, warnings=warnings, artifacts=[wav_path.name])

    def check_run(self, iterations: list[dict[str, Any]]) -> list[RunWarning]:
        found = [short_benchmark_warning(iterations)]
        device = self.compute_device()
        if device is not None:   # in-process PyTorch backends (espeak-ng is a program: no device)
            found.append(model_on_cpu(device))
        return [w for w in found if w]

    def compute_device(self) -> str | None:
        return getattr(self, "device", None)

    def devices(self) -> list[str]:
        return tu.gpu_channels([getattr(self, "device", "cpu")])

    def teardown(self) -> None:
        """Drop the loaded model (attribute `engine`) and return cached GPU memory."""
        self.engine = None
        if getattr(self, "device", "cpu").startswith("cuda"):
            import torch

            torch.cuda.empty_cache()


def timed(fn: Any, *args: Any, sync: Any = None, **kwargs: Any) -> tuple[Any, float]:
    """(fn(*args, **kwargs), seconds), with `sync()` (device synchronize) before each clock read."""
    if sync:
        sync()
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    if sync:
        sync()
    return result, time.perf_counter() - t0
