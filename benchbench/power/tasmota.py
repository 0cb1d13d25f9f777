"""`tasmota`: Tasmota energy-monitoring plugs on the LAN (`GET /cm?cmnd=Status%2010`).

`StatusSNS.ENERGY.Power` is W; `StatusSNS.ENERGY.Total` the counter in kWh (3 decimals by
default, i.e. 3.6 kJ steps: too coarse for short iterations, so power is integrated there).
Web passwords: `user` and `password_env` (the name of an environment variable).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from .plug import HttpPlugSampler


def parse_status(data: dict[str, Any]) -> tuple[float | None, float | None]:
    """Status 10 JSON → (watts, joules)."""
    energy = data["StatusSNS"]["ENERGY"]
    watts, total_kwh = energy.get("Power"), energy.get("Total")
    if isinstance(watts, list):  # multi-channel devices report one value per channel
        watts = sum(w for w in watts if isinstance(w, (int, float)))
    if isinstance(total_kwh, list):
        total_kwh = sum(t for t in total_kwh if isinstance(t, (int, float)))
    return (float(watts) if isinstance(watts, (int, float)) else None,
            float(total_kwh) * 3.6e6 if isinstance(total_kwh, (int, float)) else None)


class TasmotaSampler(HttpPlugSampler):
    """Tasmota smart plugs."""

    name = "tasmota"
    option_keys = ("interval_ms", "url", "timeout_s", "user", "password_env")
    resolution_j = 3600.0  # 0.001 kWh

    def status_url(self, base: str) -> str:
        url = f"{base}/cm?cmnd=Status%2010"
        if self.options.get("user"):
            password = os.environ.get(str(self.options.get("password_env") or ""), "")
            user = quote(str(self.options["user"]), safe="")
            url += f"&user={user}&password={quote(password, safe='')}"
        return url

    def parse(self, data: Any) -> tuple[float | None, float | None]:
        return parse_status(data)
