"""`rapl`: CPU package (and DRAM) energy from Linux powercap, /sys/class/powercap/intel-rapl:*.

`energy_uj` is a counter that wraps at `max_energy_range_uj`; wraps are unwrapped between
readings (poll faster than one wrap: minutes even at full load). Domains nest: `core`,
`uncore` (and `psys`, the whole platform) overlap the package and are never counted; a package's
`dram` subdomain is not part of the package and is its own channel. Since Linux 5.10 the
counters are readable by root only (CVE-2020-8694).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import PowerError
from .base import Channel, PollingSampler, Reading, SamplerUnavailable

ROOT = Path("/sys/class/powercap")
ROOT_HINT = ("RAPL energy counters are readable by root only (Linux >= 5.10, CVE-2020-8694): run "
             "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj "
             "/sys/class/powercap/intel-rapl:*:*/energy_uj` (until reboot), or run as root")


class Domain:
    """One counted powercap zone with its wraparound state."""

    def __init__(self, path: Path, channel: str, kind: str) -> None:
        self.path = path
        self.channel = channel
        self.kind = kind
        self.max_uj = int((path / "max_energy_range_uj").read_text().strip())
        self.last_uj: int | None = None
        self.total_j = 0.0
        self.last_t: float | None = None

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())

    def advance(self, raw_uj: int) -> float:
        """Add the delta since the last reading (unwrapping once) and return the total in J."""
        if self.last_uj is not None:
            delta = raw_uj - self.last_uj
            if delta < 0:
                delta += self.max_uj
            self.total_j += delta / 1e6
        self.last_uj = raw_uj
        return self.total_j


def discover(root: Path) -> tuple[list[Domain], list[str]]:
    """Counted domains (top-level packages and their dram subdomain) and the skipped ones."""
    domains, skipped = [], []
    for top in sorted(root.glob("intel-rapl:*")):
        if top.name.count(":") != 1 or not (top / "energy_uj").exists():
            continue
        name = _name(top)
        if not name.startswith("package-"):
            skipped.append(f"{top.name} ({name}: overlaps the packages)")
            continue
        n = name.split("-", 1)[1]
        domains.append(Domain(top, f"cpu-package{n}", "cpu"))
        for sub in sorted(top.glob(f"{top.name}:*")):
            sub_name = _name(sub)
            if sub_name == "dram" and (sub / "energy_uj").exists():
                domains.append(Domain(sub, f"cpu-dram{n}", "dram"))
            else:
                skipped.append(f"{sub.name} ({sub_name}: inside package-{n})")
    return domains, skipped


def _name(zone: Path) -> str:
    try:
        return (zone / "name").read_text().strip()
    except OSError:
        return zone.name


class RaplSampler(PollingSampler):
    """CPU packages and DRAM through powercap energy counters."""

    name = "rapl"
    option_keys = ("interval_ms", "root")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.root = Path(self.options.get("root") or ROOT)
        self.domains: list[Domain] = []
        self.skipped: list[str] = []

    @classmethod
    def availability(cls) -> str | None:
        if not any(ROOT.glob("intel-rapl:*")):
            return f"no RAPL domains in {ROOT} (not Linux, not x86, or a VM without RAPL)"
        return None

    def open(self) -> list[Channel]:
        try:
            self.domains, self.skipped = discover(self.root)
        except (OSError, ValueError) as exc:
            raise SamplerUnavailable(f"cannot read {self.root}: {exc}") from None
        if not self.domains:
            raise SamplerUnavailable(f"no RAPL package domain in {self.root}")
        try:
            for d in self.domains:
                d.advance(d.read_uj())
                d.last_t = time.monotonic()
        except PermissionError:
            raise SamplerUnavailable(ROOT_HINT) from None
        note = "skipped (nested): " + "; ".join(self.skipped) if self.skipped else ""
        return [Channel(d.channel, d.kind, self.name, f"RAPL {d.path.name} ({_name(d.path)})",
                        counter=True, counter_resolution_j=1e-6, note=note) for d in self.domains]

    def info(self) -> dict[str, Any]:
        return {"interval_s": self.interval_s, "skipped_domains": self.skipped}

    def read(self) -> list[Reading]:
        out = []
        for d in self.domains:
            try:
                raw = d.read_uj()
            except OSError as exc:
                raise PowerError(f"cannot read {d.path}/energy_uj: {exc}") from None
            now = time.monotonic()
            before, t_before = d.total_j, d.last_t
            total = d.advance(raw)
            d.last_t = now
            # power: the average over the last interval (the counter is what energy uses)
            power = (total - before) / (now - t_before) if t_before is not None and now > t_before else None
            out.append(Reading(d.channel, power, total, {}, now))
        return out
