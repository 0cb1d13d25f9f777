"""Power and energy measurement: samplers (one file per source) and the monitor that runs them."""

from .monitor import PowerMonitor, build_monitor

__all__ = ["PowerMonitor", "build_monitor"]
