"""Sampler names → classes (imported lazily), option checks, and what `auto` picks."""

from __future__ import annotations

import importlib
from typing import Any

from ..schema import suggest

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
# every name a suite, a profile or `benchbench idle --samplers` may give: the one list
SAMPLER_NAMES = ("auto", *SAMPLERS, "none")
INTERVAL_MS = (1, 60_000)
# `auto`: the first available of each group, counters preferred; plugs when configured
AUTO_GROUPS: tuple[tuple[str, ...], ...] = (("nvml", "nvidia-smi"), ("amdsmi", "rocm-smi"), ("rapl",),
                                            ("macmon", "powermetrics"))
PLUGS = ("shelly", "tasmota")


def check_interval_ms(value: Any) -> str | None:
    """None, or why an `interval_ms` is wrong (the one check, for suites, sampler options and the CLI)."""
    low, high = INTERVAL_MS
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        return f"must be between {low} and {high} ms, found {value!r}"
    return None


def check_samplers(names: list[Any]) -> tuple[int, str, str] | None:
    """None, or (index, message, hint) for the first name that is not a sampler."""
    for i, name in enumerate(names):
        if name not in SAMPLER_NAMES:
            hint = suggest(str(name), list(SAMPLER_NAMES)) or "one of: " + ", ".join(SAMPLER_NAMES)
            return i, f"unknown sampler {name!r}", hint
    return None


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
            hint = suggest(str(key), list(allowed)) or "allowed: " + ", ".join(allowed)
            return f"unknown option `{key}` for sampler {name} ({hint})"
    if options.get("interval_ms") is not None and check_interval_ms(options["interval_ms"]):
        return f"{name}.interval_ms {check_interval_ms(options['interval_ms'])}"
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
