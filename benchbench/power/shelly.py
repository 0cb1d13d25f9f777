"""`shelly`: Shelly Gen2+ plugs and meters on the LAN (`GET /rpc/Switch.GetStatus?id=0`).

`apower` is the active power in W; `aenergy.total` the energy counter in Wh (mWh resolution).
Set `component: PM1` for Shelly PM Mini meters (`/rpc/PM1.GetStatus`). No authentication.
"""

from __future__ import annotations

from typing import Any

from .plug import HttpPlugSampler


def parse_status(data: dict[str, Any]) -> tuple[float | None, float | None]:
    """Switch/PM1.GetStatus JSON → (watts, joules)."""
    watts = data.get("apower")
    total_wh = (data.get("aenergy") or {}).get("total")
    return (float(watts) if isinstance(watts, (int, float)) else None,
            float(total_wh) * 3600 if isinstance(total_wh, (int, float)) else None)


class ShellySampler(HttpPlugSampler):
    """Shelly Gen2+ smart plugs."""

    name = "shelly"
    option_keys = ("interval_ms", "url", "timeout_s", "switch_id", "component")
    resolution_j = 3.6  # 0.001 Wh

    def status_url(self, base: str) -> str:
        component = self.options.get("component") or "Switch"
        return f"{base}/rpc/{component}.GetStatus?id={int(self.options.get('switch_id') or 0)}"

    def parse(self, data: Any) -> tuple[float | None, float | None]:
        return parse_status(data)
