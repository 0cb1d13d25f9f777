"""`kind: video, backend: ltx2`: the LTX-2 distilled two-stage pipeline in-process (diffusers), transformer
blocks split across the listed devices, with stage timings and per-device memory. See docs/video.md."""

from __future__ import annotations

import time
from typing import Any

from .. import torch_util as tu
from ..errors import UserError, WorkloadError
from ..schema import Field, positive
from ..video import loading, tiny
from ..video.export import write_mp4
from ..video.loading import build_meta
from ..video.pipeline import Request, TwoStageLTX2
from ..video.placement import Placement, describe, device_name, place, plan_bytes, resident_bytes
from ..video.precision import PRECISIONS, apply_precision, choose_precision, torch_dtype
from ..video.tiny import check_architecture
from .base import IterationContext, IterationResult, RunWarning, Workload

DEFAULT_PROMPT = "A cat sitting on a windowsill, sunlight streaming in"
REAL_SIZE = (768, 512)        # width, height of the published runs
TINY_SIZE = (64, 64)
TINY_FRAMES = 9


def _frames_ok(value: Any) -> str | None:
    return None if value >= 1 and (value - 1) % 8 == 0 else f"must be 8k+1 (9, 17, 25, ...), found {value!r}"


def _size_ok(value: Any) -> str | None:
    return None if value > 0 and value % 64 == 0 else f"must be a multiple of 64, found {value!r}"


def _steps_ok(value: Any) -> str | None:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        return f"must be [stage1, stage2] step counts, found {value!r}"
    if not (1 <= value[0] <= 8 and 1 <= value[1] <= 3):
        return f"the distilled schedules have 8 and 3 steps: stage1 1..8, stage2 1..3, found {value!r}"
    return None


def _devices_ok(value: Any) -> str | None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)) or (isinstance(item, int) and item < 0):
            return f"devices are GPU indices (0, 1, ...) or names (cpu, cuda:1), found {item!r}"
    if isinstance(value, list) and not value:
        return "must list at least one device"
    return None


def _missing_gpus(gpus: list[str]) -> list[str]:
    """The listed CUDA devices this machine does not have."""
    if not gpus:
        return []
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [d for d in gpus if (torch.device(d).index or 0) >= count]


def frames_for(params: dict[str, Any]) -> int:
    """`frames`, or `seconds` at `fps` rounded to the nearest 8k+1 (1 s → 25, 4 s → 97, 10 s → 241 at 24 fps)."""
    if params.get("frames"):
        return int(params["frames"])
    if params.get("seconds") is not None:
        return 8 * max(0, round(float(params["seconds"]) * float(params["fps"]) / 8)) + 1
    return TINY_FRAMES if _tiny(params) else 8 * round(float(params["fps"]) / 8) + 1


def _tiny(params: dict[str, Any]) -> bool:
    return params.get("weights") == "dummy"


def device_list(value: Any) -> list[str]:
    """Suite `devices` → torch device names; `auto` is every visible GPU (else cpu); a name listed twice
    becomes two placements (cpu, cpu → cpu:0, cpu:1) so a split can be exercised on one device."""

    if value in (None, "auto"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [f"cuda:{i}" for i in range(count)] or ["cpu"]
    names = [device_name(v) for v in (value if isinstance(value, list) else [value])]
    if len(set(names)) < len(names):
        names = [n if ":" in n else f"{n}:{i}" for i, n in enumerate(names)]
    return names


class LTX2Video(Workload):
    """Text- or image-to-video with LTX-2: stage 1 at half resolution, 2x latent upsampling, stage 2, decode."""

    kind = "video"
    backend = "ltx2"
    requires = ("torch", "diffusers", "transformers", "imageio_ffmpeg")
    primary_metrics = ("gen_s",)
    summary_metrics = ("gen_s", "video_s", "frames")
    emits = ("gen_s", "stages_s", "step_s", "mean_step_s", "peak_mem_gb", "weights_gb", "frames", "fps", "video_s",
             "width", "height", "audio", "text_encoder_load_s")
    keys = {
        "prompt": Field((str,), default=DEFAULT_PROMPT),
        "image": Field((str,), path=True, doc="first frame for image-to-video"),
        "seconds": Field((float,), check=positive, doc="clip length; frames = nearest 8k+1"),
        "frames": Field((int,), check=_frames_ok),
        "fps": Field((float,), default=24.0, check=positive),
        "width": Field((int,), check=_size_ok),
        "height": Field((int,), check=_size_ok),
        "steps": Field((list,), default=[8, 3], check=_steps_ok, doc="[stage1, stage2] denoising steps"),
        "audio": Field((bool,), default=True),
        "devices": Field((list, int, str), default="auto", check=_devices_ok),
        "device": Field((str, int), check=_devices_ok, doc="shorthand for a single-device `devices`"),
        "precision": Field((str,), default="auto", choices=PRECISIONS),
        "weights": Field((str,), default="pretrained", choices=("pretrained", "dummy")),
        "architecture": Field((str, dict), check=check_architecture, doc="tiny, or per-component overrides"),
        "upsampler": Field((str,), doc="folder or cached id with the latent upsampler (default: in `model`)"),
        "vae_tiling": Field((bool,), default=True, doc="decode in tiles (real weights only)"),
    }

    @classmethod
    def extra(cls) -> str:
        return "video"

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        if params.get("weights") == "dummy" and not params.get("architecture"):
            return ("weights", "`weights: dummy` needs `architecture`", "architecture: tiny")
        if params.get("weights") != "dummy" and not params.get("model"):
            return ("model", "needs `model` (a local diffusers-format LTX-2 folder or a cached Hugging Face id)",
                    "or `weights: dummy` with `architecture: tiny`")
        if params.get("frames") is not None and params.get("seconds") is not None:
            return ("frames", "`frames` and `seconds` both given", "use one")
        if params.get("device") is not None and params.get("devices") not in (None, "auto"):
            return ("device", "`device` and `devices` both given", "use `devices`")
        return None

    # --- configuration -------------------------------------------------------------------------
    def _size(self) -> tuple[int, int]:
        default = TINY_SIZE if _tiny(self.params) else REAL_SIZE
        return int(self.params.get("width") or default[0]), int(self.params.get("height") or default[1])

    def _devices(self) -> list[str]:
        p = self.params
        return device_list(p["device"] if p.get("device") is not None else p.get("devices"))

    def _precision(self, devices: list[str]) -> Any:

        gpus = [d for d in devices if d.startswith("cuda")]
        missing = _missing_gpus(gpus)
        if missing:
            raise UserError(f"{', '.join(missing)} not available here", field="devices",
                            hint="list GPUs this machine has (nvidia-smi), or cpu")
        caps = [tu.capability(d) for d in gpus] if gpus else None
        return choose_precision(self.params["precision"], caps)

    def _configs(self) -> tuple[dict[str, dict[str, Any]], Any, Any]:
        """(component configs, model folder or None, upsampler folder or None): from config files only."""

        if _tiny(self.params):
            return tiny.resolve(self.params["architecture"]), None, None
        model = loading.resolve_model(self.params["model"])
        upsampler = loading.upsampler_folder(model, self.params.get("upsampler"))
        return loading.read_configs(model, upsampler), model, upsampler

    def plan(self) -> dict[str, Any]:
        """The placement from the configs alone (models built on the meta device), with estimated weights."""

        width, height = self._size()
        frames = frames_for(self.params)
        out: dict[str, Any] = {
            "clip": f"{frames} frames at {self.params['fps']:g} fps ({frames / self.params['fps']:.2f} s), "
                    f"{width}x{height}",
            "schedule": f"stage1 {self.params['steps'][0]} steps at {width // 2}x{height // 2}, 2x upsample, "
                        f"stage2 {self.params['steps'][1]} steps at {width}x{height}, decode",
        }
        devices = self._devices()
        try:
            choice = self._precision(devices)
            out["precision"] = f"{choice.name} ({choice.reason})"
        except UserError as exc:   # planning on another machine than the one that will run it

            choice = choose_precision("bf16", [(9, 0)])
            out["precision"] = f"{self.params['precision']}: decided where it runs ({exc.message}); " \
                               "the sizes below assume 2-byte weights (bf16 or fp16)"
        try:
            configs, _, _ = self._configs()
        except UserError as exc:
            out["placement"] = f"unknown: {exc.message}"
            return out
        meta = build_meta(configs, choice)
        placement = Placement.even(meta["transformer"].config.num_layers, devices)
        by_device = plan_bytes(meta["transformer"], placement, {k: v for k, v in meta.items() if k != "transformer"})
        for line in describe(placement, by_device):
            device, text = line.split(": ", 1)
            out[f"placement[{device}]"] = text
        out["weights_bytes_by_device"] = {d: sum(parts.values()) for d, parts in by_device.items()}
        out["text_encoder"] = ("none: seeded random prompt embeddings (weights: dummy)" if _tiny(self.params)
                               else f"{choice.text_encoder}, loaded per clip across {', '.join(devices)} "
                                    "and freed before stage 1")
        return out

    # --- running -------------------------------------------------------------------------------
    def setup(self) -> dict[str, Any]:
        import torch


        self.device_names = self._devices()
        choice = self._precision(self.device_names)
        configs, model, upsampler = self._configs()
        t0 = time.perf_counter()
        if model is None:
            comps, scheduler, encode, max_len = self._load_dummy(configs, choice)
        else:
            comps, scheduler, encode, max_len = self._load_real(model, upsampler, choice)
        transformer = comps["transformer"]
        others = {k: v for k, v in comps.items() if k != "transformer"}
        self.placement = Placement.even(transformer.config.num_layers, self.device_names)
        planned = plan_bytes(transformer, self.placement, others)
        try:
            place(transformer, self.placement, others)
        except (RuntimeError, torch.OutOfMemoryError) as exc:
            raise WorkloadError(f"placing the model failed: {exc}".splitlines()[0]) from None
        self.runner = TwoStageLTX2(comps, scheduler, self.placement, encode, max_len)
        self.load_s = time.perf_counter() - t0
        self.weights_gb = {d: b / 1e9 for d, b in resident_bytes(comps.values()).items()}
        facts: dict[str, Any] = {
            "load_s": self.load_s, "weights_source": str(model) if model else "random initialization "
            f"(weights: dummy, architecture: {self.params['architecture']})",
            "precision": choice.to_record(), "placement": describe(self.placement, planned),
            "devices": self.device_names, "blocks": transformer.config.num_layers,
            "planned_weights_bytes": {d: sum(p.values()) for d, p in planned.items()},
            "resident_weights_gb": self.weights_gb,
            "parameters": sum(p.numel() for m in comps.values() for p in m.parameters()),
            "model_size_bytes": sum(p.numel() * p.element_size() for m in comps.values() for p in m.parameters()),
            "use_cross_timestep": self.runner.use_cross_timestep,
        }
        gpus = [d for d in self.device_names if d.startswith("cuda")]
        if gpus:
            facts["allocated_after_load_gb"] = {d: torch.cuda.memory_allocated(torch.device(d)) / 1e9 for d in gpus}
        facts["device_facts"] = [tu.device_facts(d if d.startswith("cuda") else "cpu") for d in self.device_names]
        import diffusers

        facts["diffusers"] = diffusers.__version__
        return facts

    def _load_dummy(self, configs: dict[str, Any], choice: Any) -> tuple[dict[str, Any], Any, Any, int]:
        """Tiny random components; seeded random prompt embeddings stand in for the text encoder."""
        from diffusers import FlowMatchEulerDiscreteScheduler


        comps = {k: apply_precision(v, choice) for k, v in tiny.build(configs, seed=self.params["seed"]).items()}
        text, dtype = configs["text"], torch_dtype(choice.compute)

        def encode(prompt: str) -> tuple[Any, Any, dict[str, Any]]:
            return (*tiny.prompt_embeddings(prompt, text, dtype), {"text_encoder": "none (weights: dummy)"})
        return comps, FlowMatchEulerDiscreteScheduler(), encode, int(text["max_sequence_length"])

    def _load_real(self, model: Any, upsampler: Any, choice: Any) -> tuple[dict[str, Any], Any, Any, int]:
        """The checkpoint's components (CPU, storage dtype); the text encoder is loaded per clip."""

        comps = loading.load_components(model, upsampler, choice)
        if self.params["vae_tiling"]:
            comps["vae"].enable_tiling()
        devices = list(self.device_names)

        def encode(prompt: str) -> tuple[Any, Any, dict[str, Any]]:
            return loading.encode_prompt(model, prompt, choice, devices)
        return comps, loading.load_scheduler(model), encode, 1024

    def _request(self) -> Any:

        width, height = self._size()
        p = self.params
        return Request(prompt=p["prompt"], frames=frames_for(p), fps=float(p["fps"]), width=width, height=height,
                       seed=int(p["seed"]), steps=(int(p["steps"][0]), int(p["steps"][1])), audio=bool(p["audio"]),
                       image=p.get("image"))

    def run_once(self, ctx: IterationContext) -> IterationResult:
        import torch


        req = self._request()
        t0 = time.perf_counter()
        try:
            out = self.runner.generate(req)
        except (RuntimeError, torch.OutOfMemoryError, ValueError) as exc:
            raise WorkloadError(f"generation failed: {exc}".splitlines()[0]) from None
        gen_s = time.perf_counter() - t0
        metrics = self._metrics(req, out, gen_s)
        artifacts, warnings = [], []
        path = ctx.artifact_path(".mp4")
        try:
            write_mp4(path, out.video, req.fps, out.audio, out.sample_rate)
            artifacts.append(path.name)
        except (OSError, RuntimeError) as exc:
            warnings.append(RunWarning("artifact_not_saved", f"the MP4 could not be written: {exc}"[:300]))
        raw = {"stage_peak_mem_gb": out.peak_mem_gb, **out.facts}
        if not out.peak_mem_gb:
            raw["peak_mem"] = "not measured: peak memory is read on CUDA devices only"
        return IterationResult(metrics, raw=raw, warnings=warnings, artifacts=artifacts)

    def _metrics(self, req: Any, out: Any, gen_s: float) -> dict[str, Any]:
        peak: dict[str, float] = {}
        for per_device in out.peak_mem_gb.values():
            for device, gb in per_device.items():
                peak[device] = max(peak.get(device, 0.0), gb)
        steps = {k: v for k, v in out.step_s.items()}
        return {
            "gen_s": gen_s, "stages_s": dict(out.stages_s), "step_s": steps,
            "mean_step_s": {k: sum(v) / len(v) for k, v in steps.items() if v},
            "peak_mem_gb": peak, "weights_gb": dict(self.weights_gb),
            "frames": req.frames, "fps": req.fps, "video_s": req.frames / req.fps,
            "width": req.width, "height": req.height, "audio": out.audio is not None,
            **({"text_encoder_load_s": out.facts["text_encoder_load_s"]}
               if "text_encoder_load_s" in out.facts else {}),
        }

    def devices(self) -> list[str]:

        return tu.gpu_channels(getattr(self, "device_names", None) or [])

    def teardown(self) -> None:
        runner = getattr(self, "runner", None)
        if runner is not None:
            runner.close()
        self.runner = None
        if any(d.startswith("cuda") for d in getattr(self, "device_names", [])):
            import gc

            import torch

            gc.collect()
            torch.cuda.empty_cache()
