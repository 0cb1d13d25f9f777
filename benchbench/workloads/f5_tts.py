"""`kind: tts, backend: f5-tts`: the flow-matching F5-TTS through its package
(`F5TTS(model=, ckpt_file=, vocoder_local_path=, device=).infer(ref_file=, ref_text=, gen_text=, seed=)`
-> (waveform, sample rate, spectrogram)). The voice is a reference clip and its transcript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import torch_util as tu
from ..errors import BackendUnavailable, WorkloadError
from ..schema import Field, positive
from .base import IterationContext
from .tts_common import (
    Synthesis,
    TTSWorkload,
    cached_file,
    check_text,
    missing_model,
    resolve_snapshot,
    stdout_to_stderr,
    timed,
    write_wav,
)

# architecture -> (Hugging Face repo, checkpoint file in it), as the f5-tts package names them
CHECKPOINTS = {
    "F5TTS_v1_Base": ("SWivid/F5-TTS", "F5TTS_v1_Base/model_1250000.safetensors"),
    "F5TTS_Base": ("SWivid/F5-TTS", "F5TTS_Base/model_1200000.safetensors"),
    "E2TTS_Base": ("SWivid/E2-TTS", "E2TTS_Base/model_1200000.safetensors"),
}
VOCODER = "charactr/vocos-mel-24khz"
CHECKPOINT_SUFFIXES = (".safetensors", ".pt")


def _not_blank(value: Any) -> str | None:
    return None if str(value).strip() else "must not be empty (F5-TTS would download a speech recognizer)"


class F5TTS(TTSWorkload):
    """One infer() call per run; F5-TTS picks its own precision (fp16 on CUDA CC >= 7, else fp32)."""

    backend = "f5-tts"
    requires = ("torch", "f5_tts")
    keys = {
        **TTSWorkload.keys,
        "architecture": Field((str,), default="F5TTS_v1_Base", doc="an f5-tts config name"),
        "ref_audio": Field((str,), path=True, required=True, doc="reference clip of the voice (< 12 s)"),
        "ref_text": Field((str,), required=True, check=_not_blank, doc="exact transcript of ref_audio"),
        "vocoder": Field((str,), default=VOCODER, doc="vocos folder or cached Hugging Face id"),
        "nfe_step": Field((int,), default=32, check=positive, doc="flow-matching steps"),
        "device": Field((str,), default="auto"),
    }

    @classmethod
    def extra(cls) -> str:
        return "f5-tts"

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        if not params.get("model") and params.get("architecture") not in CHECKPOINTS:
            return ("model", f"architecture {params.get('architecture')!r} needs `model` (a checkpoint file)",
                    "known without one: " + ", ".join(CHECKPOINTS))
        return check_text(params)

    def plan(self) -> dict[str, Any]:
        p = self.params
        return {"model": p.get("model") or CHECKPOINTS[p["architecture"]][0], "vocoder": p["vocoder"],
                "ref_audio": p["ref_audio"], "nfe_step": p["nfe_step"], "device": p["device"]}

    def checkpoint(self) -> Path:
        """The checkpoint file: `model` as a file, a folder holding one, or a cached repo id."""
        ref = self.params.get("model")
        if not ref:
            return cached_file(*CHECKPOINTS[self.params["architecture"]])
        path = Path(ref).expanduser()
        if path.is_file():
            return path
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in CHECKPOINT_SUFFIXES)
            if len(found) == 1:
                return found[0]
            raise WorkloadError(f"{path} holds {len(found)} checkpoint files; name one in `model`")
        if ref.count("/") == 1 and self.params["architecture"] in CHECKPOINTS:
            return cached_file(ref, CHECKPOINTS[self.params["architecture"]][1])
        raise missing_model(ref)

    def setup(self) -> dict[str, Any]:

        ckpt = self.checkpoint()
        vocoder = resolve_snapshot(self.params["vocoder"], ("config.yaml", "pytorch_model.bin"), what="vocoder")
        self.device = tu.pick_device(self.params["device"])
        with stdout_to_stderr():
            try:
                from f5_tts.api import F5TTS as Engine
            except Exception as exc:  # noqa: BLE001 - a broken install: say why
                raise BackendUnavailable(f"f5_tts does not import ({type(exc).__name__}: {exc})") from None
            self.engine, load_s = timed(Engine, model=self.params["architecture"], ckpt_file=str(ckpt),
                                        vocoder_local_path=str(vocoder), device=self.device,
                                        sync=lambda: tu.synchronize(self.device))
        param = next(self.engine.ema_model.parameters(), None)
        return {"load_s": load_s, "checkpoint": str(ckpt), "vocoder": str(vocoder),
                "dtype": str(param.dtype).removeprefix("torch.") if param is not None else None,
                "dtype_reason": "chosen by f5-tts (fp16 on CUDA compute capability >= 7, else fp32)",
                **tu.device_facts(self.device)}

    def synthesize(self, text: str, wav_path: Path, ctx: IterationContext) -> Synthesis:

        try:
            with stdout_to_stderr():
                (wav, sr, _spec), gen_s = timed(
                    self.engine.infer, ref_file=self.params["ref_audio"], ref_text=self.params["ref_text"],
                    gen_text=text, show_info=lambda *a, **k: None, progress=None,
                    nfe_step=int(self.params["nfe_step"]), seed=int(self.params.get("seed") or 0),
                    sync=lambda: tu.synchronize(self.device))
        except (RuntimeError, ValueError) as exc:
            raise WorkloadError(f"generation failed: {exc}".splitlines()[0]) from None
        if wav is None:
            raise WorkloadError("F5-TTS returned no audio (no text batches)")
        samples = write_wav(wav_path, wav, int(sr))
        return Synthesis(gen_s=gen_s, samples=samples, sample_rate=int(sr))
