"""The `system` channel: the whole machine's power, one rule in one place.

In order: the wall (a smart plug measures the machine: `measured`); else the GPU (+ CPU, DRAM, ANE)
channels plus the profile's `non_gpu_overhead_w` (`estimated`); else a declared figure (the `declared`
sampler, or the profile's `load_w`: `declared`). The power monitor writes it for every iteration; the
record migration applies the same rule to old records that lack it; `benchbench cost` estimates load power
from GPU power the same way. Nothing else estimates system power.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def basis(walls: bool, parts: bool, declared_w: float | None) -> str | None:
    """Which rule applies: wall, gpu+cpu+overhead, declared, or None (nothing known)."""
    if walls:
        return "wall"
    if parts:
        return "gpu+cpu+overhead"
    return "declared" if declared_w is not None else None


def estimated_w(parts_w: float, overhead_w: float | None) -> float:
    """GPU (+ CPU...) watts plus the profile's non-GPU overhead (none given: nothing added)."""
    return parts_w + (overhead_w or 0.0)


def entry(per: Mapping[str, Mapping[str, Any]], duration_s: float, walls: list[str], parts: list[str],
          overhead_w: float | None, declared_w: float | None) -> dict[str, Any] | None:
    """The `system` energy entry of one window from its channels' entries ({"joules", "source"}), or None
    when a channel the rule needs has no reading in the window."""
    out: dict[str, Any] | None = None
    if walls:
        if all(w in per for w in walls):
            sources = {per[w]["source"] for w in walls}
            out = {"joules": sum(per[w]["joules"] for w in walls),
                   "source": "counter" if sources == {"counter"} else "integrated", "basis": "wall"}
    elif parts:
        if all(p in per for p in parts):
            out = {"joules": sum(per[p]["joules"] for p in parts) + (overhead_w or 0.0) * duration_s,
                   "source": "estimated", "basis": "gpu+cpu+overhead", "overhead_w": overhead_w or 0.0}
    elif declared_w is not None:
        out = {"joules": declared_w * duration_s, "source": "declared", "basis": "declared"}
    if out is not None:
        out["avg_w"] = out["joules"] / duration_s if duration_s > 0 else None
    return out


def add_system_channel(energy: dict[str, Any] | None, duration_s: float | None,
                       profile: Mapping[str, Any]) -> None:
    """For a stored iteration without `system` (records before schema 2): the same rule over what it holds,
    its GPU channels + the profile's non_gpu_overhead_w, else the profile's load_w. In place."""
    if not isinstance(energy, dict) or "system" in energy:
        return
    overhead, load_w = _number(profile.get("non_gpu_overhead_w")), _number(profile.get("load_w"))
    gpus = [e for name, e in energy.items() if name.startswith("gpu") and "@" not in name and isinstance(e, dict)]
    watts = [_number(e.get("avg_w")) for e in gpus]
    if gpus and overhead is not None and None not in watts:
        avg_w = estimated_w(sum(watts), overhead)
        energy["system"] = {"joules": avg_w * duration_s if duration_s else None, "avg_w": avg_w,
                            "source": "estimated", "basis": "gpu+overhead", "overhead_w": overhead}
    elif load_w is not None:
        energy["system"] = {"joules": load_w * duration_s if duration_s else None, "avg_w": load_w,
                            "source": "declared", "basis": "declared"}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
