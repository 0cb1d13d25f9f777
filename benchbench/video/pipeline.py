"""The distilled two-stage LTX-2 schedule on diffusers' LTX-2 pipelines, timed stage by stage.

text_encode → stage1 (8 steps at half resolution) → upsample (2x latent upsampler) → stage2 (3 steps at full
resolution, renoised with its first sigma) → decode (video VAE, and the audio VAE + vocoder when audio is on).
Each stage is bracketed by device synchronization; peak memory is reset per stage on every CUDA device.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .hooks import BlockSplit
from .placement import GB, Placement

STAGES = ("text_encode", "stage1", "upsample", "stage2", "decode")
# The distilled checkpoints' schedules (diffusers.pipelines.ltx2.utils), repeated here so `plan` stays light.
STAGE1_STEPS, STAGE2_STEPS = 8, 3
# Classifier-free guidance, STG and modality guidance off: the distilled schedule runs one forward per step.
NO_GUIDANCE = {"guidance_scale": 1.0, "stg_scale": 0.0, "modality_scale": 1.0, "guidance_rescale": 0.0,
               "audio_guidance_scale": 1.0, "audio_stg_scale": 0.0, "audio_modality_scale": 1.0,
               "audio_guidance_rescale": 0.0, "spatio_temporal_guidance_blocks": None}

Encoder = Callable[[str], tuple[Any, Any, dict[str, Any]]]


@dataclass
class Request:
    """One clip to generate."""

    prompt: str
    frames: int
    fps: float
    width: int
    height: int
    seed: int = 42
    steps: tuple[int, int] = (STAGE1_STEPS, STAGE2_STEPS)
    audio: bool = True
    image: str | None = None


@dataclass
class Output:
    """What one generation produced and how long each part took (all measured)."""

    video: Any                       # numpy [frames, height, width, 3], floats in [0, 1]
    audio: Any                       # torch [channels, samples] or None
    sample_rate: int | None
    latents: Any                     # final video latents (CPU), for comparing placements
    stages_s: dict[str, float] = field(default_factory=dict)
    step_s: dict[str, list[float]] = field(default_factory=dict)
    peak_mem_gb: dict[str, dict[str, float]] = field(default_factory=dict)   # stage → device → GB
    facts: dict[str, Any] = field(default_factory=dict)


def stage_sigmas(values: list[float], steps: int) -> list[float]:
    """`steps` sigmas from a distilled schedule: all of them, or an evenly spaced subset keeping the first."""
    if not 1 <= steps <= len(values):
        raise ValueError(f"steps must be 1..{len(values)} for this stage, found {steps}")
    if steps == len(values):
        return list(values)
    if steps == 1:
        return [values[0]]
    return [values[round(i * (len(values) - 1) / (steps - 1))] for i in range(steps)]


class StageClock:
    """Wall time per stage and per denoising step, with CUDA synchronization and per-stage peak memory."""

    def __init__(self, devices: list[str]) -> None:
        self.cuda = sorted({d for d in devices if d.startswith("cuda")})
        self.stages_s: dict[str, float] = {}
        self.step_s: dict[str, list[float]] = {}
        self.peak_gb: dict[str, dict[str, float]] = {}
        self._mark = 0.0

    def sync(self) -> None:
        import torch

        for d in self.cuda:
            torch.cuda.synchronize(torch.device(d))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        import torch

        self.sync()
        for d in self.cuda:
            torch.cuda.reset_peak_memory_stats(torch.device(d))
        t0 = self._mark = time.perf_counter()
        yield
        self.sync()
        self.stages_s[name] = time.perf_counter() - t0
        if self.cuda:
            self.peak_gb[name] = {d: torch.cuda.max_memory_allocated(torch.device(d)) / GB for d in self.cuda}

    def step_callback(self, stage: str) -> Callable[..., dict]:
        """A diffusers callback_on_step_end that records each step's seconds."""
        steps = self.step_s.setdefault(stage, [])

        def callback(pipe: Any, i: int, t: Any, kwargs: dict) -> dict:
            self.sync()
            now = time.perf_counter()
            steps.append(now - self._mark)
            self._mark = now
            return {}
        return callback


class TwoStageLTX2:
    """diffusers' LTX-2 pipelines over components placed by a `Placement`, run as the distilled schedule."""

    def __init__(self, components: dict[str, Any], scheduler: Any, placement: Placement, encode: Encoder,
                 max_sequence_length: int = 1024) -> None:
        from diffusers import FlowMatchEulerDiscreteScheduler, LTX2LatentUpsamplePipeline, LTX2Pipeline

        c = components
        self.placement = placement
        self.encode = encode
        self.max_sequence_length = max_sequence_length
        self.pipe = LTX2Pipeline(scheduler=scheduler, vae=c["vae"], audio_vae=c["audio_vae"], text_encoder=None,
                                 tokenizer=None, connectors=c["connectors"], transformer=c["transformer"],
                                 vocoder=c["vocoder"])
        self.upsampler = LTX2LatentUpsamplePipeline(vae=c["vae"], latent_upsampler=c["latent_upsampler"])
        for p in (self.pipe, self.upsampler):
            p.set_progress_bar_config(disable=True)
        self.scheduler1 = scheduler
        self.scheduler2 = FlowMatchEulerDiscreteScheduler.from_config(
            scheduler.config, use_dynamic_shifting=False, shift_terminal=None)
        transformer = c["transformer"]
        # LTX-2.3 and later condition cross-attention on the other modality's sigma; LTX-2.0 does not.
        self.use_cross_timestep = bool(getattr(transformer.config, "cross_attn_mod", False))
        self.split = BlockSplit(transformer, list(transformer.transformer_blocks), placement.block_devices,
                                placement.home)
        self._i2v = None

    def close(self) -> None:
        self.split.remove()

    def _stage_pipe(self, image: str | None) -> Any:
        if image is None:
            return self.pipe
        if self._i2v is None:
            from diffusers import LTX2ImageToVideoPipeline

            self._i2v = LTX2ImageToVideoPipeline.from_pipe(self.pipe)
            self._i2v.set_progress_bar_config(disable=True)
        return self._i2v

    def generate(self, req: Request) -> Output:
        """Run the five stages; returns the decoded clip, its timings and peak memory."""
        import torch
        from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES, STAGE_2_DISTILLED_SIGMA_VALUES

        clock = StageClock(self.placement.devices)
        facts: dict[str, Any] = {}
        home = self.placement.home
        with torch.inference_mode():
            with clock.stage("text_encode"):
                embeds, mask, text_facts = self.encode(req.prompt)
                embeds, mask = embeds.to(home), mask.to(home)
            facts.update(text_facts)
            pipe, extra = self._conditioning(req, facts)
            gen = torch.Generator().manual_seed(req.seed)
            common = {"prompt_embeds": embeds, "prompt_attention_mask": mask, "num_frames": req.frames,
                      "frame_rate": float(req.fps), "generator": gen, "output_type": "latent",
                      "return_dict": False, "use_cross_timestep": self.use_cross_timestep,
                      "max_sequence_length": self.max_sequence_length, **NO_GUIDANCE, **extra}
            with clock.stage("stage1"):
                pipe.scheduler = self.scheduler1
                sig1 = stage_sigmas(DISTILLED_SIGMA_VALUES, req.steps[0])
                video, audio = pipe(height=req.height // 2, width=req.width // 2, num_inference_steps=len(sig1),
                                    sigmas=sig1, callback_on_step_end=clock.step_callback("stage1"), **common)
            with clock.stage("upsample"):
                video = self.upsampler(latents=video, output_type="latent", return_dict=False)[0]
            with clock.stage("stage2"):
                pipe.scheduler = self.scheduler2
                sig2 = stage_sigmas(STAGE_2_DISTILLED_SIGMA_VALUES, req.steps[1])
                video, audio = pipe(latents=video, audio_latents=audio, height=req.height, width=req.width,
                                    num_inference_steps=len(sig2), sigmas=sig2, noise_scale=sig2[0],
                                    callback_on_step_end=clock.step_callback("stage2"), **common)
            pipe.scheduler = self.scheduler1
            with clock.stage("decode"):
                frames, wave = self._decode(video, audio if req.audio else None)
        rate = int(self.pipe.vocoder.config.output_sampling_rate) if wave is not None else None
        return Output(video=frames, audio=wave, sample_rate=rate, latents=video.float().cpu(),
                      stages_s=clock.stages_s, step_s=clock.step_s, peak_mem_gb=clock.peak_gb, facts=facts)

    def _conditioning(self, req: Request, facts: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The stage pipeline and its extra arguments: the first-frame image for image-to-video."""
        if req.image is None:
            return self.pipe, {}
        import importlib.util

        from PIL import Image

        image = Image.open(req.image).convert("RGB")
        # The model was trained on H.264-recompressed conditioning images; that needs PyAV.
        crf = None if importlib.util.find_spec("av") else 0
        facts["image_crf"] = "model default" if crf is None else "0 (skipped: PyAV not installed)"
        return self._stage_pipe(req.image), {"image": image, "image_crf": crf}

    def _decode(self, latents: Any, audio_latents: Any | None) -> tuple[Any, Any]:
        """Video VAE decode (and audio VAE + vocoder), as the pipeline does for decode_timestep 0."""
        import torch

        vae = self.pipe.vae
        timestep = None
        if vae.config.timestep_conditioning:
            timestep = torch.zeros(latents.shape[0], device=latents.device, dtype=vae.dtype)
        video = vae.decode(latents.to(vae.dtype), timestep, return_dict=False)[0]
        frames = self.pipe.video_processor.postprocess_video(video.float(), output_type="np")[0]
        wave = None
        if audio_latents is not None:
            audio_vae = self.pipe.audio_vae
            mel = audio_vae.decode(audio_latents.to(audio_vae.dtype), return_dict=False)[0]
            wave = self.pipe.vocoder(mel)[0].float().cpu()
        return frames, wave
