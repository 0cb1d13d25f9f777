"""`benchbench doctor`'s power section: each sampler, available or not, and why."""

from __future__ import annotations

from typing import Any

from .base import SamplerUnavailable


class SamplerLine(dict):
    """A dict for --json that prints as one readable line."""

    def __str__(self) -> str:
        state = "ok" if self["available"] else "unavailable"
        detail = self.get("detail") or self.get("why") or ""
        return f"{self['sampler']:13} {state}{': ' + detail if detail else ''}"


def probe(name: str, options: dict[str, Any] | None = None, profile: Any = None) -> SamplerLine:
    """Open the sampler briefly (no thread) and report what it would measure."""
    from .registry import sampler_class

    cls = sampler_class(name)
    why = cls.availability()
    if why:
        return SamplerLine(sampler=name, available=False, why=why)
    sampler = cls(0.5, options, profile)
    try:
        channels = sampler.open()
    except (SamplerUnavailable, Exception) as exc:  # noqa: BLE001 - doctor reports, never crashes
        return SamplerLine(sampler=name, available=False, why=str(exc).splitlines()[0] if str(exc) else
                           type(exc).__name__)
    finally:
        try:
            sampler._halt()
            sampler.close()
        except Exception:  # noqa: BLE001
            pass
    if sampler.declared_system_w is not None:
        detail = f"declared {sampler.declared_system_w:g} W (not a measurement)"
    else:
        detail = ", ".join(f"{c.name} {c.device}" + (" [counter]" if c.counter else "") +
                           (" [estimate]" if c.estimated else "") for c in channels)
    return SamplerLine(sampler=name, available=True, detail=detail,
                       channels=[c.to_record() for c in channels])


def doctor_section(suite_ref: str | None = None) -> dict[str, Any]:
    """{"power samplers": [...]} for every registered sampler; with a suite, its plug options too."""
    from .registry import PLUGS, SAMPLERS

    options: dict[str, dict[str, Any]] = {}
    if suite_ref:
        from ..commands.run import find_suite
        from ..suite import load_suite

        options = load_suite(find_suite(suite_ref)).power.options
    lines = []
    for name in SAMPLERS:
        if name in PLUGS and not (options.get(name) or {}).get("url"):
            lines.append(SamplerLine(sampler=name, available=False,
                                     why=f"no plug address: set power.{name}.url in a suite (then doctor --suite)"))
        elif name == "declared":
            lines.append(SamplerLine(sampler=name, available=True,
                                     detail="uses the machine profile's load_w (labelled declared)"))
        else:
            lines.append(probe(name, options.get(name)))
    return {"power samplers": lines}
