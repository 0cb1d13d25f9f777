"""`model_on_cpu` for in-process backends (transformers, TTS, video): weights on the CPU while a GPU
is there to use, or a PyTorch that cannot use the GPU the machine has."""

from __future__ import annotations

from typing import Any

from .. import fingerprint
from ..torch_util import gpu_access_problem, usable_accelerator
from .base import RunWarning


def model_on_cpu(device: str, gpus: list[dict[str, Any]] | None = None) -> RunWarning | None:
    """A warning when an in-process model computes on the CPU (`device`) although a GPU is usable,
    or is present but out of this PyTorch's reach; None otherwise (a GPU device, or no GPU at all)."""
    if not device.startswith("cpu"):
        return None
    present = fingerprint.gpus() if gpus is None else gpus
    problem = gpu_access_problem(present)
    if problem:
        return RunWarning("model_on_cpu", f"the model ran on the CPU: {problem}; these are CPU figures")
    usable = usable_accelerator()
    if usable is None:
        return None
    names = ", ".join(sorted({str(g.get("name")) for g in present})) or usable
    return RunWarning("model_on_cpu", f"the model ran on the CPU (device: {device}) while {names} is usable "
                      f"by this PyTorch ({usable}): these are CPU figures; use device: auto to run on the GPU")
