"""Validity warnings: a stable code, a message saying what happened, and the iteration it concerns (if one).

A low module: workloads, power checks and the runner all raise them; nothing here imports the rest of
benchbench but `warning_levels` (which imports nothing). `benchbench.workloads.base.RunWarning` is the same
class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .warning_levels import level


@dataclass
class RunWarning:
    """A validity warning with a stable code; `iteration` is set when it concerns one iteration.
    Its level (`warning` or `note`, see warning_levels.py) follows from the code."""

    code: str
    message: str
    iteration: int | None = None

    @property
    def level(self) -> str:
        return level(self.code)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "level": self.level, "message": self.message}
        if self.iteration is not None:
            out["iteration"] = self.iteration
        return out
