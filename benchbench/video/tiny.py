"""Tiny, randomly initialized LTX-2 components built from configs (no downloads), for tests and `weights: dummy`.

`architecture: tiny` is a 4-block transformer with every LTX-2 part (video and audio streams, text connectors,
video VAE, audio VAE, vocoder, 2x latent upsampler); a mapping instead overrides parts of it, per component:
`{transformer: {num_layers: 8}}`. There is no text encoder: prompt embeddings of the shape a Gemma encoder
would give are drawn from a generator seeded by the prompt text.
"""

from __future__ import annotations

import copy
import zlib
from typing import Any

# Sizes chosen so the whole two-stage pipeline runs on a CPU in about a second.
TINY: dict[str, dict[str, Any]] = {
    "text": {"hidden_size": 32, "num_layers": 2, "max_sequence_length": 16},
    "transformer": {
        "in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 8,
        "cross_attention_dim": 16, "audio_in_channels": 4, "audio_out_channels": 4,
        "audio_num_attention_heads": 2, "audio_attention_head_dim": 4, "audio_cross_attention_dim": 8,
        "num_layers": 4, "caption_channels": 32, "rope_double_precision": False, "rope_type": "split",
    },
    "connectors": {
        "caption_channels": 32, "text_proj_in_factor": 3, "video_connector_num_attention_heads": 4,
        "video_connector_attention_head_dim": 8, "video_connector_num_layers": 1,
        "video_connector_num_learnable_registers": None, "audio_connector_num_attention_heads": 4,
        "audio_connector_attention_head_dim": 8, "audio_connector_num_layers": 1,
        "audio_connector_num_learnable_registers": None, "connector_rope_base_seq_len": 32,
        "rope_double_precision": False, "rope_type": "split",
    },
    "vae": {
        # two down/upsampling levels: 4x in space and time, so a 64x64 clip is 16x16 latent tokens per frame
        "in_channels": 3, "out_channels": 3, "latent_channels": 4, "block_out_channels": [8, 8],
        "decoder_block_out_channels": [8, 8], "layers_per_block": [1, 1], "decoder_layers_per_block": [1, 1, 1],
        "spatio_temporal_scaling": [True, True], "decoder_spatio_temporal_scaling": [True, True],
        "decoder_inject_noise": [False, False, False], "downsample_type": ["spatial", "spatial"],
        "upsample_residual": [False, False], "upsample_factor": [1, 1], "timestep_conditioning": False,
        "patch_size": 1, "patch_size_t": 1, "encoder_causal": True, "decoder_causal": False,
    },
    "audio_vae": {
        "base_channels": 4, "output_channels": 2, "ch_mult": [1], "num_res_blocks": 1, "attn_resolutions": None,
        "in_channels": 2, "resolution": 32, "latent_channels": 2, "norm_type": "pixel",
        "causality_axis": "height", "dropout": 0.0, "mid_block_add_attention": False, "sample_rate": 16000,
        "mel_hop_length": 160, "is_causal": True, "mel_bins": 8,
    },
    "vocoder": {
        "in_channels": 16, "hidden_channels": 32, "out_channels": 2, "upsample_kernel_sizes": [4, 4],
        "upsample_factors": [2, 2], "resnet_kernel_sizes": [3], "resnet_dilations": [[1, 3, 5]],
        "leaky_relu_negative_slope": 0.1, "output_sampling_rate": 16000,
    },
    "latent_upsampler": {
        "in_channels": 4, "mid_channels": 32, "num_blocks_per_stage": 1, "dims": 3, "spatial_upsample": True,
        "temporal_upsample": False, "use_rational_resampler": False,
    },
}

ARCHITECTURES = ("tiny",)
COMPONENTS = ("transformer", "connectors", "vae", "audio_vae", "vocoder", "latent_upsampler")


def check_architecture(value: Any) -> str | None:
    """Suite check for `architecture:` (a known name or a mapping of per-component overrides)."""
    if isinstance(value, str):
        return None if value in ARCHITECTURES else f"unknown architecture {value!r} (known: tiny)"
    unknown = [k for k in value if k not in TINY]
    if unknown:
        return f"unknown component {unknown[0]!r} in architecture (known: {', '.join(TINY)})"
    bad = [k for k, v in value.items() if not isinstance(v, dict)]
    return f"architecture.{bad[0]} must be a mapping of config overrides" if bad else None


def resolve(architecture: str | dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Component configs: the tiny ones with the overrides of a mapping applied."""
    configs = copy.deepcopy(TINY)
    if isinstance(architecture, dict):
        for component, overrides in architecture.items():
            configs[component].update(overrides)
    return configs


def component_classes() -> dict[str, Any]:
    """Component name → diffusers class (imported here: diffusers is heavy)."""
    from diffusers import AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video, LTX2VideoTransformer3DModel
    from diffusers.pipelines.ltx2 import LTX2LatentUpsamplerModel, LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    return {"transformer": LTX2VideoTransformer3DModel, "connectors": LTX2TextConnectors,
            "vae": AutoencoderKLLTX2Video, "audio_vae": AutoencoderKLLTX2Audio, "vocoder": LTX2Vocoder,
            "latent_upsampler": LTX2LatentUpsamplerModel}


def build(configs: dict[str, dict[str, Any]], seed: int = 0, meta: bool = False) -> dict[str, Any]:
    """Instantiate every component from its config with random weights (on the meta device if `meta`)."""
    import contextlib

    import torch

    classes = component_classes()
    out = {}
    for i, name in enumerate(COMPONENTS):
        kwargs = {k: tuple(v) if isinstance(v, list) and name == "vae" else v for k, v in configs[name].items()}
        ctx = torch.device("meta") if meta else contextlib.nullcontext()
        torch.manual_seed(seed + i)
        with ctx:
            module = classes[name](**kwargs)
        if name == "vae" and not meta:
            module.use_framewise_encoding = False
            module.use_framewise_decoding = False
        out[name] = module.eval()
    return out


def prompt_embeddings(prompt: str, text: dict[str, Any], dtype: Any = None) -> tuple[Any, Any]:
    """(embeddings [1, seq, hidden·(layers+1)], attention mask [1, seq]) drawn from a generator seeded by the
    prompt: what a Gemma encoder's stacked hidden states look like, without one."""
    import torch

    seq = int(text["max_sequence_length"])
    width = int(text["hidden_size"]) * (int(text["num_layers"]) + 1)
    gen = torch.Generator().manual_seed(zlib.crc32(prompt.encode("utf-8")))
    embeds = torch.randn(1, seq, width, generator=gen, dtype=torch.float32)
    mask = torch.ones(1, seq, dtype=torch.long)
    return (embeds if dtype is None else embeds.to(dtype)), mask
