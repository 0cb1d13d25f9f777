"""Workload registry: backend name → class, imported lazily so `--help` stays light."""

from __future__ import annotations

import importlib

from ..errors import UserError
from .base import IterationContext, IterationResult, RunWarning, Workload

# kind → backend → "module:Class" (modules in this package; one file per backend)
REGISTRY: dict[str, dict[str, str]] = {
    "llm": {
        "transformers": "hf_transformers:TransformersLLM",
        "ollama": "ollama_llm:OllamaLLM",
        "openai": "openai_llm:OpenAILLM",
        "llama-bench": "llama_bench:LlamaBench",
        "sweep-bench": "sweep_bench:SweepBench",
    },
    "tts": {
        "qwen3-tts": "qwen3_tts:Qwen3TTS",
        "f5-tts": "f5_tts:F5TTS",
        "espeak-ng": "espeak_ng:EspeakNG",
    },
    "video": {
        "ltx2": "ltx2_video:LTX2Video",
        "ltx-jobs": "ltx_jobs:LTXJobs",
    },
}

__all__ = ["REGISTRY", "IterationContext", "IterationResult", "RunWarning", "Workload",
           "backends", "get_backend"]


def backends(kind: str | None = None) -> list[tuple[str, str]]:
    """(kind, backend) pairs known to the registry."""
    kinds = [kind] if kind else list(REGISTRY)
    return [(k, b) for k in kinds for b in REGISTRY.get(k, {})]


def get_backend(kind: str, backend: str) -> type[Workload]:
    """Import and return the class for (kind, backend)."""
    try:
        target = REGISTRY[kind][backend]
    except KeyError:
        raise UserError(f"unknown backend `{backend}` for kind `{kind}`",
                        hint="one of: " + ", ".join(REGISTRY.get(kind, {}))) from None
    module_name, class_name = target.split(":")
    try:   # a dotted module path is absolute (a plugin or a test backend); else a module of this package
        module = importlib.import_module(module_name if "." in module_name else f"{__name__}.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(__name__):
            raise UserError(f"backend `{backend}` is not built yet", hint="see the issues") from None
        raise
    return getattr(module, class_name)
