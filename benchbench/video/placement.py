"""Where each part of the LTX-2 pipeline lives: transformer blocks split evenly across the listed devices,
everything else (patchify/output projections, timestep and RoPE modules, connectors, VAEs, vocoder,
upsampler) on the first. The plan is computed from the model config alone, by building the models on
PyTorch's meta device (no memory, no weights) with the chosen precision applied and counting bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GB = 1e9


def device_name(device: int | str) -> str:
    """0 → cuda:0; "cpu", "cuda:1", "mps" stay as given."""
    return f"cuda:{device}" if isinstance(device, int) else str(device)


def split_evenly(n_blocks: int, devices: list[str]) -> list[str]:
    """Device of each block: contiguous runs of equal length; when the split is uneven the extra blocks go to
    the last devices, since the first also holds the shared parts."""
    if not devices:
        raise ValueError("no devices to place blocks on")
    base, extra = divmod(n_blocks, len(devices))
    out: list[str] = []
    for i, device in enumerate(devices):
        out += [device] * (base + (1 if i >= len(devices) - extra else 0))
    return out


@dataclass
class Placement:
    """The device of each transformer block; the first device is home to everything else."""

    devices: list[str]
    block_devices: list[str]

    @classmethod
    def even(cls, n_blocks: int, devices: Iterable[int | str]) -> Placement:
        names = [device_name(d) for d in devices]
        return cls(names, split_evenly(n_blocks, names))

    @property
    def home(self) -> str:
        return self.devices[0]

    def segments(self) -> list[tuple[str, int, int]]:
        """(device, first block, last block) for each device that holds blocks."""
        out: list[tuple[str, int, int]] = []
        for i, device in enumerate(self.block_devices):
            if out and out[-1][0] == device:
                out[-1] = (device, out[-1][1], i)
            else:
                out.append((device, i, i))
        return out


def tensor_bytes(module: Any) -> int:
    """Bytes of a module's parameters and buffers (each tensor counted once)."""
    seen: dict[int, int] = {}
    for t in list(module.parameters()) + list(module.buffers()):
        seen[id(t)] = t.numel() * t.element_size()
    return sum(seen.values())


def plan_bytes(transformer: Any, placement: Placement, others: dict[str, Any]) -> dict[str, dict[str, int]]:
    """device → {part: bytes} for a transformer (real or on meta) and the other components, all on home."""
    blocks = transformer.transformer_blocks
    out: dict[str, dict[str, int]] = {d: {} for d in placement.devices}
    block_total = 0
    for block, device in zip(blocks, placement.block_devices):
        size = tensor_bytes(block)
        block_total += size
        out[device]["transformer_blocks"] = out[device].get("transformer_blocks", 0) + size
    out[placement.home]["transformer_shared"] = tensor_bytes(transformer) - block_total
    for name, module in others.items():
        if module is not None:
            out[placement.home][name] = tensor_bytes(module)
    return out


def place(transformer: Any, placement: Placement, others: dict[str, Any]) -> None:
    """Move the modules to their devices (module by module, so no device ever holds the whole model)."""
    import torch

    home = torch.device(placement.home)
    for name, child in transformer.named_children():
        if name != "transformer_blocks":
            child.to(home)
    for param in transformer.parameters(recurse=False):
        param.data = param.data.to(home)
    for name, buf in list(transformer.named_buffers(recurse=False)):
        transformer._buffers[name] = buf.to(home)
    for block, device in zip(transformer.transformer_blocks, placement.block_devices):
        block.to(torch.device(device))
    for module in others.values():
        if module is not None:
            module.to(home)


def resident_bytes(modules: Iterable[Any]) -> dict[str, int]:
    """Measured: bytes of parameters and buffers by the device they are on."""
    out: dict[str, int] = {}
    seen: set[int] = set()
    for module in modules:
        if module is None:
            continue
        for t in list(module.parameters()) + list(module.buffers()):
            if id(t) in seen:
                continue
            seen.add(id(t))
            dev = str(t.device)
            out[dev] = out.get(dev, 0) + t.numel() * t.element_size()
    return out


def describe(placement: Placement, by_device: dict[str, dict[str, int]]) -> list[str]:
    """One line per device: the blocks it holds, what else, and the estimated weight GB."""
    lines = []
    segments = {d: (a, b) for d, a, b in placement.segments()}
    for device in placement.devices:
        parts = by_device.get(device, {})
        what = []
        if device in segments:
            a, b = segments[device]
            what.append(f"blocks {a}-{b} ({b - a + 1})")
        what += [name for name in parts if name != "transformer_blocks"]
        lines.append(f"{device}: {', '.join(what) or 'nothing'}; ~{human_bytes(sum(parts.values()))} of weights")
    return lines


def human_bytes(n: float) -> str:
    """1.23 GB, 45.6 MB, 7.8 kB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}" if unit == "GB" else f"{n / size:.1f} {unit}"
    return f"{int(n)} B"
