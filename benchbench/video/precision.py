"""Precision choice for the LTX-2 pipeline (pure, testable without a GPU) and how it is applied to a model.

`fp16-storage-fp32-compute` keeps weights in fp16 (half the memory of fp32) and computes in fp32, for GPUs
without native bf16 (compute capability < 8, e.g. Pascal P40 6.1, Volta V100 7.0), where bf16 is emulated and
fp16 activations overflow. It uses diffusers' layerwise casting: each Linear/Conv is cast to fp32 just for its
own forward; the layers diffusers skips (norms, patch projections) and loose parameters are kept in fp32.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PRECISIONS = ("auto", "bf16", "fp16", "fp32", "fp16-storage-fp32-compute")
TORCH_NAMES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


@dataclass(frozen=True)
class PrecisionChoice:
    """What `precision:` resolved to: storage and compute dtypes of the video models and the text encoder's."""

    name: str                 # one of PRECISIONS but auto
    storage: str              # bf16 | fp16 | fp32
    compute: str              # bf16 | fp16 | fp32
    text_encoder: str         # dtype the text encoder runs in
    reason: str

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def _cc(capability: tuple[int, int]) -> str:
    return f"{capability[0]}.{capability[1]}"


def choose_precision(requested: str, capabilities: list[tuple[int, int]] | None) -> PrecisionChoice:
    """Resolve `precision:`. `capabilities` are the CUDA compute capabilities of the listed GPUs, None on CPU.

    auto: bf16 where every listed GPU has CC >= 8 (native bf16); fp16 storage + fp32 compute on older GPUs,
    with the text encoder in fp32 there (Gemma's attention overflows fp16); fp32 on CPU.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}")
    old = [c for c in capabilities or [] if tuple(c) < (8, 0)]
    if requested == "auto":
        if capabilities is None:
            return PrecisionChoice("fp32", "fp32", "fp32", "fp32", "CPU: fp32")
        if not old:
            ccs = ", ".join(sorted({_cc(c) for c in capabilities}))
            return PrecisionChoice("bf16", "bf16", "bf16", "bf16",
                                   f"every listed GPU has native bf16 (compute capability {ccs})")
        ccs = ", ".join(sorted({_cc(c) for c in old}))
        return PrecisionChoice("fp16-storage-fp32-compute", "fp16", "fp32", "fp32",
                               f"compute capability {ccs} < 8.0 has no native bf16 and fp16 activations overflow: "
                               "weights stored in fp16, computed in fp32, text encoder in fp32")
    if requested == "fp16-storage-fp32-compute":
        return PrecisionChoice(requested, "fp16", "fp32", "fp32", "requested")
    text = "fp32" if old or capabilities is None else requested
    if requested == "bf16" and old:
        return PrecisionChoice(requested, "bf16", "bf16", "fp32",
                               f"requested; compute capability {_cc(old[0])} emulates bf16 (slow)")
    return PrecisionChoice(requested, requested, requested, text, "requested")


def torch_dtype(name: str) -> Any:
    """bf16/fp16/fp32 → the torch dtype."""
    import torch

    return getattr(torch, TORCH_NAMES[name])


def apply_precision(model: Any, choice: PrecisionChoice) -> Any:
    """Cast a diffusers model in place for `choice` (on any device, meta included); returns it."""
    import torch

    storage, compute = torch_dtype(choice.storage), torch_dtype(choice.compute)
    if storage == compute:
        # nn.Module.to: ModelMixin.to warns about fp32-kept modules, and LTX-2 models keep none
        return torch.nn.Module.to(model, dtype=storage)
    model.enable_layerwise_casting(storage_dtype=storage, compute_dtype=compute)
    _upcast_unhooked(model, compute)
    return model


def _upcast_unhooked(model: Any, dtype: Any) -> None:
    """Parameters and buffers outside layerwise-cast layers (norms, tables, skipped projections) → compute dtype."""
    import torch

    for module in model.modules():
        registry = getattr(module, "_diffusers_hook", None)
        if registry is not None and registry.get_hook("layerwise_casting") is not None:
            continue
        for param in module.parameters(recurse=False):
            if param.is_floating_point() and param.dtype != dtype:
                param.data = param.data.to(dtype)
        for name, buf in list(module.named_buffers(recurse=False)):
            if buf.is_floating_point() and buf.dtype not in (dtype, torch.float64):
                module._buffers[name] = buf.to(dtype)
