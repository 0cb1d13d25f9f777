"""RAPL through a powercap tree in a temp dir: nesting, wraparound, the root-only message."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchbench.power import rapl
from benchbench.power.base import SamplerUnavailable

MAX_UJ = 262_143_328_850


def _zone(root: Path, name: str, label: str, energy_uj: int) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "name").write_text(f"{label}\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{MAX_UJ}\n")
    return zone


@pytest.fixture
def powercap(tmp_path):
    root = tmp_path / "powercap"
    pkg = _zone(root, "intel-rapl:0", "package-0", MAX_UJ - 1_000_000)   # 1 J before wrapping
    _zone(pkg, "intel-rapl:0:0", "core", 5)
    _zone(pkg, "intel-rapl:0:1", "dram", 7_000_000)
    _zone(root, "intel-rapl:1", "psys", 9)
    return root


def test_nested_domains_are_never_double_counted(powercap):
    domains, skipped = rapl.discover(powercap)
    assert [(d.channel, d.kind) for d in domains] == [("cpu-package0", "cpu"), ("cpu-dram0", "dram")]
    assert any("core" in s for s in skipped) and any("psys" in s for s in skipped)


def test_wraparound_through_max_energy_range(powercap):
    sampler = rapl.RaplSampler(0.5, {"root": str(powercap)})
    channels = sampler.open()
    assert [c.name for c in channels] == ["cpu-package0", "cpu-dram0"]
    assert all(c.counter for c in channels) and "core" in channels[0].note
    first = {r.channel: r.energy_j for r in sampler.read()}
    assert first["cpu-package0"] == 0.0
    (powercap / "intel-rapl:0" / "energy_uj").write_text("2500000\n")     # wrapped: +1 J +2.5 J
    (powercap / "intel-rapl:0" / "intel-rapl:0:1" / "energy_uj").write_text("7400000\n")
    second = {r.channel: r for r in sampler.read()}
    assert second["cpu-package0"].energy_j == pytest.approx(3.5)
    assert second["cpu-dram0"].energy_j == pytest.approx(0.4)
    assert second["cpu-package0"].power_w > 0


def test_root_only_counters_say_how_to_fix(powercap, monkeypatch):
    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rapl.Domain, "read_uj", denied)
    with pytest.raises(SamplerUnavailable, match="root only.*chmod a\\+r"):
        rapl.RaplSampler(0.5, {"root": str(powercap)}).open()


def test_no_domains(tmp_path):
    with pytest.raises(SamplerUnavailable, match="no RAPL package domain"):
        rapl.RaplSampler(0.5, {"root": str(tmp_path)}).open()
