"""What this machine is: CPU, RAM, GPUs, OS, packages and the environment variables that matter."""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
from importlib import metadata
from typing import Any

from .redact import MASK, redact_text, secret_name

PACKAGES = ("benchbench", "torch", "transformers", "diffusers", "accelerate", "ollama", "openai",
            "nvidia-ml-py", "amdsmi", "qwen-tts", "f5-tts", "numpy", "pandas")
ENV_EXACT = ("CUDA_VISIBLE_DEVICES", "HSA_OVERRIDE_GFX_VERSION", "HIP_VISIBLE_DEVICES",
             "ROCR_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTORCH_CUDA_ALLOC_CONF",
             "PYTORCH_ENABLE_MPS_FALLBACK", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
             "CUDA_DEVICE_ORDER", "GGML_CUDA_FORCE_MMQ", "LLAMA_ARG_N_GPU_LAYERS")
ENV_PREFIXES = ("OLLAMA_", "BENCHBENCH_", "HSA_", "ROCM_", "VLLM_")


def collect() -> dict[str, Any]:
    """The machine fingerprint recorded into every result; never fails for a missing tool."""
    return {
        "hostname": socket.gethostname(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": ram_gb(),
        "gpus": gpus(),
        "os": platform.platform(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "packages": packages(),
        "env": environment(),
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        out = _run(["sysctl", "-n", "machdep.cpu.brand_string"])
        if out:
            return out
    return platform.processor() or platform.machine() or "unknown"


def ram_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) * 1024 / 1e9, 2)
    except OSError:
        pass
    if sys.platform == "darwin":
        out = _run(["sysctl", "-n", "hw.memsize"])
        if out and out.isdigit():
            return round(int(out) / 1e9, 2)
    return None


def packages() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Variables that change results; secrets are never recorded (a secret name hides the value,
    credentials inside a value such as OLLAMA_HOST=http://user:pass@host are redacted)."""
    env = dict(os.environ if env is None else env)
    keep = {}
    for key, value in sorted(env.items()):
        if key in ENV_EXACT or key.startswith(ENV_PREFIXES):
            keep[key] = MASK if secret_name(key) else redact_text(value)
    return keep


def gpus() -> list[dict[str, Any]]:
    """GPUs through NVML, amdsmi and system_profiler, whichever are present."""
    found: list[dict[str, Any]] = []
    for probe in (_nvml_gpus, _amd_gpus, _apple_gpus):
        try:
            found.extend(probe())
        except Exception:  # noqa: BLE001 - a broken driver must not stop a benchmark
            continue
    return found


def _nvml_gpus() -> list[dict[str, Any]]:
    import pynvml  # nvidia-ml-py

    pynvml.nvmlInit()
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            out.append({"index": i, "vendor": "nvidia", "name": _text(pynvml.nvmlDeviceGetName(handle)),
                        "memory_gb": round(mem.total / 1e9, 2), "compute_capability": f"{major}.{minor}",
                        "driver": driver, "pci_bus_id": _text(pynvml.nvmlDeviceGetPciInfo(handle).busId)})
        return out
    finally:
        pynvml.nvmlShutdown()


def _amd_gpus() -> list[dict[str, Any]]:
    import amdsmi

    amdsmi.amdsmi_init()
    try:
        out = []
        for i, handle in enumerate(amdsmi.amdsmi_get_processor_handles()):
            info = amdsmi.amdsmi_get_gpu_asic_info(handle)
            vram = amdsmi.amdsmi_get_gpu_vram_info(handle) if hasattr(amdsmi, "amdsmi_get_gpu_vram_info") else {}
            out.append({"index": i, "vendor": "amd", "name": info.get("market_name"),
                        "gfx": info.get("target_graphics_version"),
                        "memory_gb": round(vram.get("vram_size", 0) / 1024, 2) if vram else None})
        return out
    finally:
        amdsmi.amdsmi_shut_down()


def _apple_gpus() -> list[dict[str, Any]]:
    if sys.platform != "darwin":
        return []
    import json

    out = _run(["system_profiler", "SPDisplaysDataType", "-json"], timeout=15)
    if not out:
        return []
    items = json.loads(out).get("SPDisplaysDataType", [])
    return [{"index": i, "vendor": "apple", "name": item.get("sppci_model"),
             "cores": item.get("sppci_cores")} for i, item in enumerate(items)]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _run(cmd: list[str], timeout: float = 5) -> str | None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def machine_name(profile_name: str | None, fingerprint: dict[str, Any]) -> str:
    """A machine is named by its profile, else by hostname (made safe for a folder name)."""
    name = profile_name or fingerprint.get("hostname") or "unknown"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "unknown"
