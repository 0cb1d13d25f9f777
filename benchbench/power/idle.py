"""Idle baselines: the newest idle record for a machine, else the profile's declared idle_w."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def lookup(results: Path, machine: str, profile: Any = None) -> dict[str, Any] | None:
    """{channel: watts, ..., "source": ...} for the record's `idle` field, or None when unknown."""
    idle_w = getattr(profile, "idle_w", None) if profile is not None else None
    if idle_w is None:
        return None
    return {"system": idle_w, "source": "declared"}
