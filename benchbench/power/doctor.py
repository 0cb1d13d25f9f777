"""`benchbench doctor`'s power section: every registered sampler answers for itself (`Sampler.doctor`)."""

from __future__ import annotations

from typing import Any

from ..suite import Suite, suite_of
from .base import SamplerLine
from .registry import SAMPLERS, sampler_class

__all__ = ["SamplerLine", "doctor_section"]


def doctor_section(suite: Suite | str | None = None) -> dict[str, Any]:
    """{"power samplers": [...]} for every registered sampler; with a suite, its sampler options too."""
    loaded = suite_of(suite)
    options = loaded.power.options if loaded else {}
    return {"power samplers": [sampler_class(name).doctor(options.get(name)) for name in SAMPLERS]}
