"""Power and energy measurement: samplers (one file per source) and the monitor that runs them.

`PowerMonitor` and `build_monitor` are imported on first use, so that importing a small module of this
package (power.system, for the record migration) does not import the monitor and its samplers.
"""

from __future__ import annotations

from typing import Any

from . import monitor

__all__ = ["PowerMonitor", "build_monitor"]


def __getattr__(name: str) -> Any:
    if name in __all__:

        return getattr(monitor, name)
    raise AttributeError(f"module 'benchbench.power' has no attribute {name!r}")
