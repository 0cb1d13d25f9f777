"""Sampler names → classes (imported lazily), option checks, and what `auto` picks."""

from __future__ import annotations

import importlib
from typing import Any

SAMPLERS: dict[str, str] = {
    "nvml": "benchbench.power.nvml:NvmlSampler",
    "nvidia-smi": "benchbench.power.nvidia_smi:NvidiaSmiSampler",
    "amdsmi": "benchbench.power.amdsmi_sampler:AmdSmiSampler",
    "rocm-smi": "benchbench.power.rocm_smi:RocmSmiSampler",
    "rapl": "benchbench.power.rapl:RaplSampler",
    "macmon": "benchbench.power.macmon:MacmonSampler",
    "powermetrics": "benchbench.power.powermetrics:PowermetricsSampler",
    "shelly": "benchbench.power.shelly:ShellySampler",
    "tasmota": "benchbench.power.tasmota:TasmotaSampler",
    "declared": "benchbench.power.declared:DeclaredSampler",
}
# `auto`: the first available of each group, counters preferred; plugs when configured
AUTO_GROUPS: tuple[tuple[str, ...], ...] = (("nvml", "nvidia-smi"), ("amdsmi", "rocm-smi"), ("rapl",),
                                            ("macmon", "powermetrics"))
PLUGS = ("shelly", "tasmota")


def sampler_class(name: str) -> Any:
    """The Sampler subclass registered under `name`."""
    module, attr = SAMPLERS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def check_options(name: str, options: dict[str, Any]) -> str | None:
    """None, or why these per-sampler options are wrong (unknown key, bad interval)."""
    if name not in SAMPLERS:
        return None
    allowed = sampler_class(name).option_keys
    for key in options:
        if key not in allowed:
            from ..schema import suggest

            hint = suggest(str(key), list(allowed)) or "allowed: " + ", ".join(allowed)
            return f"unknown option `{key}` for sampler {name} ({hint})"
    interval = options.get("interval_ms")
    if interval is not None and (not isinstance(interval, (int, float)) or not 1 <= interval <= 60_000):
        return f"{name}.interval_ms must be a number between 1 and 60000, found {interval!r}"
    steps = options.get("edge_steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= 5):
        return f"{name}.edge_steps must be a whole number from 0 to 5, found {steps!r}"
    urls = options.get("url")
    urls = [urls] if isinstance(urls, str) else urls
    if urls is not None and not (isinstance(urls, list) and urls and all(
            isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls)):
        return f"{name}.url must be an http:// address or a list of them, found {options['url']!r}"
    return None


def plan(requested: list[str], options: dict[str, dict[str, Any]]) -> list[tuple[tuple[str, ...], bool]]:
    """Slots to open, in order: (alternatives, from_auto). A slot takes its first alternative that
    opens; an `auto` slot that finds nothing is skipped quietly, an explicit one is reported."""
    slots: list[tuple[tuple[str, ...], bool]] = []
    taken: set[str] = set()
    for name in requested:
        if name == "auto":
            for group in AUTO_GROUPS:
                usable = tuple(n for n in group if n not in taken and sampler_class(n).availability() is None)
                if usable:
                    slots.append((usable, True))
                    taken.update(usable)
            for plug in PLUGS:
                if plug not in taken and (options.get(plug) or {}).get("url"):
                    slots.append(((plug,), True))
                    taken.add(plug)
        elif name != "none" and name not in taken:
            slots.append(((name,), False))
            taken.add(name)
    return slots
