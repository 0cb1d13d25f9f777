"""Real LTX-2 weights: find the model folder (local or already in the Hugging Face cache, never downloaded),
read its configs, load its components, and run its text encoder once (load, encode, free)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UserError, WorkloadError
from .precision import PrecisionChoice, apply_precision, torch_dtype
from .tiny import COMPONENTS, component_classes


def resolve_model(ref: str, field: str = "model") -> Path:
    """A local folder, or the cached snapshot of a Hugging Face id; a one-line UserError otherwise."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(ref, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached, bad id, hub offline: all mean "not here"
        raise UserError(f"model `{ref}` is not a local folder nor in the Hugging Face cache", field=field,
                        hint=f"download it first: huggingface-cli download {ref}") from None


def upsampler_folder(model: Path, upsampler: str | None) -> Path:
    """The folder with the latent upsampler's config.json: `upsampler:` (a folder or cached id, with or
    without a latent_upsampler/ subfolder), else <model>/latent_upsampler."""
    root = resolve_model(upsampler, "upsampler") if upsampler else model
    for candidate in (root / "latent_upsampler", root):
        if (candidate / "config.json").is_file():
            return candidate
    raise UserError(f"no latent upsampler in {root}", field="upsampler",
                    hint="give `upsampler:` a folder (or cached id) holding latent_upsampler/config.json")


def read_configs(model: Path, upsampler: Path | None = None) -> dict[str, dict[str, Any]]:
    """Component → its config.json as a dict (components without a folder are left out)."""
    out = {}
    for name in COMPONENTS:
        folder = upsampler if name == "latent_upsampler" and upsampler else model / name
        config = folder / "config.json"
        if config.is_file():
            out[name] = json.loads(config.read_text())
    if "transformer" not in out:
        raise UserError(f"{model} has no transformer/config.json", field="model",
                        hint="a diffusers-format LTX-2 folder (model_index.json, transformer/, vae/, ...)")
    return out


def component_class(name: str, config: dict[str, Any]) -> Any:
    """The diffusers class for a component, honouring `_class_name` (e.g. LTX2VocoderWithBWE)."""
    import diffusers
    from diffusers.pipelines import ltx2

    cls_name = config.get("_class_name")
    for module in (diffusers, ltx2):
        if cls_name and hasattr(module, cls_name):
            return getattr(module, cls_name)
    return component_classes()[name]


def build_meta(configs: dict[str, dict[str, Any]], choice: PrecisionChoice) -> dict[str, Any]:
    """Every component on the meta device (no memory, no weights) with `choice` applied: for the plan."""
    import torch

    out = {}
    for name, config in configs.items():
        if name not in COMPONENTS:
            continue
        cls = component_class(name, config)
        with torch.device("meta"):
            module = cls.from_config(config)
        out[name] = apply_precision(module, choice)
    return out


def load_components(model: Path, upsampler: Path, choice: PrecisionChoice) -> dict[str, Any]:
    """Every component but the text encoder, in the storage dtype on the CPU, `choice` applied."""
    out = {}
    for name in COMPONENTS:
        folder, sub = (upsampler, None) if name == "latent_upsampler" else (model, name)
        config_path = (folder / sub if sub else folder) / "config.json"
        cls = component_class(name, json.loads(config_path.read_text()))
        try:
            module = cls.from_pretrained(folder, subfolder=sub, torch_dtype=torch_dtype(choice.storage))
        except (OSError, ValueError) as exc:
            raise WorkloadError(f"loading {name} from {folder} failed: {exc}".splitlines()[0]) from None
        out[name] = apply_precision(module.eval(), choice)
    return out


def load_scheduler(model: Path) -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler.from_pretrained(model, subfolder="scheduler")


def text_encoder_class(model: Path) -> Any:
    """The transformers class model_index.json names for the text encoder (Gemma 3 for LTX-2/2.3)."""
    import transformers

    index = json.loads((model / "model_index.json").read_text())
    _, cls_name = index.get("text_encoder", ["transformers", "Gemma3ForConditionalGeneration"])
    return getattr(transformers, cls_name)


def encode_prompt(model: Path, prompt: str, choice: PrecisionChoice, devices: list[str],
                  max_sequence_length: int = 1024) -> tuple[Any, Any, dict[str, Any]]:
    """Load the text encoder (spread over the listed devices when it does not fit one), encode the prompt,
    then delete it and free its memory. Returns (embeddings, mask, facts)."""
    import gc
    import time

    import torch
    from diffusers import LTX2Pipeline
    from transformers import AutoTokenizer

    t0 = time.perf_counter()
    dtype = torch_dtype(choice.text_encoder)
    kwargs = _device_map(devices)
    encoder = text_encoder_class(model).from_pretrained(model, subfolder="text_encoder", dtype=dtype, **kwargs)
    if not kwargs:
        encoder.to(devices[0])
    tokenizer = AutoTokenizer.from_pretrained(model, subfolder="tokenizer")
    load_s = time.perf_counter() - t0
    where = _placed_on(encoder, devices[0])
    pipe = LTX2Pipeline(scheduler=None, vae=None, audio_vae=None, text_encoder=encoder, tokenizer=tokenizer,
                        connectors=None, transformer=None, vocoder=None)
    with torch.inference_mode():
        embeds, mask, _, _ = pipe.encode_prompt(prompt, do_classifier_free_guidance=False, device=devices[0],
                                                dtype=dtype, max_sequence_length=max_sequence_length)
    del pipe, encoder
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return embeds, mask, {"text_encoder_load_s": load_s, "text_encoder_devices": where,
                          "text_encoder_dtype": choice.text_encoder}


def _placed_on(encoder: Any, default: str) -> list[str]:
    """The devices holding the encoder's weights; accelerate's device map names GPUs by bare index."""
    placed = getattr(encoder, "hf_device_map", None) or {"": default}
    return sorted({f"cuda:{v}" if isinstance(v, int) else str(v) for v in placed.values()})


def _device_map(devices: list[str]) -> dict[str, Any]:
    """from_pretrained kwargs that spread the text encoder over the listed GPUs (accelerate), else {}."""
    gpus = [d for d in devices if d.startswith("cuda")]
    if len(gpus) < 2:
        return {}
    import torch

    max_memory: dict[Any, int] = {}
    for d in gpus:
        index = torch.device(d).index or 0
        free, _ = torch.cuda.mem_get_info(index)
        max_memory[index] = int(free * 0.9)
    return {"device_map": "auto", "max_memory": max_memory}
