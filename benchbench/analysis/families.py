"""Model families and size classes: which measured runs are the same model, and which APIs compare with it.

A family key is the model name without its organisation, file extension, quantization and variant words
(`meta-llama/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf` and `llama3.1:8b` are both `llama3.1-8b`): a heuristic, shown
beside the names it joined. The size is the parameter count in the name (`8b`, `70B`, `e4b`), else the model file's
size at about 4.8 bits per weight (Q4_K_M, estimated), and picks the default API comparison set.
"""

from __future__ import annotations

import re

# Default comparison set by size class (billions of parameters, upper bound). The rule: an open-weights model of
# about that size hosted on Groq, and the small models of two large vendors at that tier.
SIZE_CLASSES = (("tiny", 4.0), ("small", 15.0), ("medium", 40.0), ("large", float("inf")))
DEFAULT_APIS = {
    "tiny": ("groq:llama-3.1-8b-instant", "gpt-5-nano", "gemini-2.5-flash-lite"),
    "small": ("groq:llama-3.1-8b-instant", "gpt-4o-mini", "gemini-2.5-flash-lite"),
    "medium": ("groq:qwen/qwen3-32b", "gpt-4.1-mini", "gemini-2.5-flash"),
    "large": ("groq:llama-3.3-70b-versatile", "gpt-4.1", "gemini-2.5-pro"),
    "unknown": ("groq:llama-3.1-8b-instant", "gpt-4o-mini", "gemini-2.5-flash"),
}
BITS_PER_WEIGHT = 4.8      # Q4_K_M, the common home-lab quantization: bytes → parameters (estimated)

_QUANT = re.compile(r"[-_.:](i?q\d\w*|f16|bf16|fp16|fp8|fp32|int4|int8|gguf|awq|gptq|mlx|\d+bit|latest)$")
_VARIANT = {"instruct", "chat", "it", "hf", "meta", "base"}
_SIZE = re.compile(r"(?:^|[-_:/\s])e?(\d+(?:\.\d+)?)b(?:$|[-_:/\s])")


def family(model: str) -> str:
    """The family key of a model name (lower case, no organisation, quantization or variant words)."""
    name = str(model).strip().lower().rsplit("/", 1)[-1]
    name = name.removesuffix(".gguf")
    while True:
        shorter = _QUANT.sub("", name)
        if shorter == name:
            break
        name = shorter
    parts = [p for p in re.split(r"[-_:\s]+", name) if p and p not in _VARIANT]
    key = "-".join(parts)
    return re.sub(r"([a-z])-(\d)", r"\1\2", key) or str(model)


def params_b(model: str, size_bytes: float | None = None) -> tuple[float | None, str]:
    """(billions of parameters, how known): from the name (`8b`), else the file size (estimated)."""
    found = _SIZE.search(f" {str(model).lower()} ")
    if found:
        return float(found.group(1)), "name"
    if size_bytes:
        return size_bytes * 8 / BITS_PER_WEIGHT / 1e9, "file size at 4.8 bits per weight (estimated)"
    return None, "unknown"


def size_class(billions: float | None) -> str:
    if billions is None:
        return "unknown"
    return next(name for name, top in SIZE_CLASSES if billions <= top)


def default_apis(billions: float | None) -> tuple[str, tuple[str, ...]]:
    """(size class, its default API comparison set)."""
    cls = size_class(billions)
    return cls, DEFAULT_APIS[cls]
