"""Device and dtype choices shared by the in-process (PyTorch) backends. torch is imported lazily."""

from __future__ import annotations

from typing import Any

from .errors import UserError

DTYPES = ("auto", "float32", "float16", "bfloat16")


def choose_dtype(requested: str, device_type: str, capability: tuple[int, int] | None) -> tuple[str, str]:
    """(dtype name, why). auto: bf16 only where the GPU computes it natively (CUDA CC ≥ 8),
    fp16 on other GPUs (including MPS), fp32 on CPU. Pure, so it is testable without a GPU."""
    if requested != "auto":
        return requested, "requested"
    if device_type == "cuda":
        if capability is not None and capability >= (8, 0):
            return "bfloat16", f"compute capability {capability[0]}.{capability[1]} has native bf16"
        cc = f"{capability[0]}.{capability[1]}" if capability else "unknown"
        return "float16", f"compute capability {cc} has no native bf16"
    if device_type == "mps":
        return "float16", "Apple GPU (MPS): fp16"
    return "float32", "CPU: fp32"


def pick_device(requested: str = "auto") -> str:
    """cuda, mps or cpu for `auto` (ROCm builds of PyTorch answer as cuda)."""
    import torch

    if requested != "auto":
        return _checked_device(torch, requested)
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _checked_device(torch: Any, requested: str) -> str:
    """`requested` when torch can parse it (a misspelt device is a UserError, field `device`)."""

    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {requested!r}", field="device",
                        hint="auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            have = f"this machine has {count} CUDA device(s)" if count else "this machine has no CUDA device"
            raise UserError(f"device {requested!r} is not here: {have}", field="device",
                            hint="use auto or cpu" if not count else f"use cuda:0 .. cuda:{count - 1}")
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UserError("device 'mps' is not here (no Apple GPU)", field="device", hint="use auto or cpu")
    return requested


def capability(device: str) -> tuple[int, int] | None:
    """CUDA compute capability of `device`, or None elsewhere."""
    import torch

    if not device.startswith("cuda"):
        return None
    return tuple(torch.cuda.get_device_capability(torch.device(device)))  # type: ignore[return-value]


def synchronize(device: str) -> None:
    """Wait for queued GPU work so a clock read is honest."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))
    elif device.startswith("mps"):
        torch.mps.synchronize()


def torch_dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


def device_facts(device: str) -> dict[str, Any]:
    """What the record should know about the device used."""
    import torch

    facts: dict[str, Any] = {"device": device, "torch": torch.__version__,
                             "torch_threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        dev = torch.device(device)
        facts["device_name"] = torch.cuda.get_device_name(dev)
        facts["compute_capability"] = ".".join(map(str, torch.cuda.get_device_capability(dev)))
        facts["hip"] = getattr(torch.version, "hip", None)
    return facts


def gpu_channels(devices: list[str], env: dict[str, str] | None = None) -> list[str]:
    """Power channel names (`gpu<N>`, NVML's physical index) for torch device names like `cuda:1`.
    CUDA_VISIBLE_DEVICES renumbers what torch sees; map back when it lists plain indices."""
    import os

    visible = (os.environ if env is None else env).get("CUDA_VISIBLE_DEVICES", "")
    physical = [v.strip() for v in visible.split(",")] if visible.strip() else []
    out = []
    for name in devices:
        if not name.startswith("cuda"):
            continue
        index = int(name.split(":")[1]) if ":" in name else 0
        if physical and index < len(physical) and physical[index].isdigit():
            index = int(physical[index])
        channel = f"gpu{index}"
        if channel not in out:
            out.append(channel)
    return out


def torch_build() -> str:
    """`cuda <version>`, `rocm <version>` or `cpu` (a build without GPU support; MPS is in every macOS build)."""
    import torch

    if getattr(torch.version, "hip", None):
        return f"rocm {torch.version.hip}"
    if torch.version.cuda:
        return f"cuda {torch.version.cuda}"
    return "cpu"


def usable_accelerator() -> str | None:
    """The accelerator this PyTorch can use (`cuda` or `mps`), or None."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else None


def gpu_access_problem(gpus: list[dict[str, Any]]) -> str | None:
    """One line when this machine has NVIDIA/AMD GPUs (as NVML/amdsmi list them) that this PyTorch
    cannot use: a CPU build (the quiet trap: everything runs, on the CPU), or a GPU build that finds none."""
    discrete = [g for g in gpus if g.get("vendor") in ("nvidia", "amd")]
    if not discrete or usable_accelerator() is not None:
        return None
    import torch

    names = ", ".join(sorted({str(g.get("name")) for g in discrete}))
    build = torch_build()
    if build == "cpu":
        vendor = "ROCm" if all(g.get("vendor") == "amd" for g in discrete) else "CUDA"
        return (f"this PyTorch ({torch.__version__}) is a CPU build, but {names} is present: in-process "
                f"backends (transformers, TTS, video) run on the CPU; install a {vendor} build of PyTorch "
                "(https://pytorch.org/get-started/locally/)")
    return (f"this PyTorch ({torch.__version__}, {build}) sees no usable GPU although {names} is present: "
            "check the driver, CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES, and that the build matches the driver")
