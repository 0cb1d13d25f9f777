"""`declared`: no measurement: the system draws the machine profile's `load_w` (or
`power: {declared: {watts: N}}`) while a workload runs. Everything derived is labelled declared."""

from __future__ import annotations

from typing import Any

from .base import Channel, Sampler, SamplerLine, SamplerUnavailable


class DeclaredSampler(Sampler):
    """A constant, declared system power; reads nothing and runs no thread."""

    name = "declared"
    option_keys = ("watts",)
    estimated = True

    @classmethod
    def doctor(cls, options: dict[str, Any] | None = None, profile: Any = None) -> SamplerLine:
        return SamplerLine(sampler=cls.name, available=True,
                           detail="uses the machine profile's load_w (labelled declared)")

    def open(self) -> list[Channel]:
        watts = self.options.get("watts")
        if watts is None:
            watts = getattr(self.profile, "load_w", None)
        if watts is None:
            raise SamplerUnavailable("`declared` needs `load_w` in the machine profile "
                                     "(or power: {declared: {watts: N}})")
        self.declared_system_w = float(watts)
        return []

    def start(self) -> None:
        if not self._started:
            self.channels = self.open()
            self._started = True

    def _loop(self) -> None:  # never started: nothing to poll
        return None

    def info(self) -> dict[str, Any]:
        return {"watts": self.declared_system_w}
