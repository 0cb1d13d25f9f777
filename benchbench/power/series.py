"""Per-channel sample storage: power and counter readings on the time.monotonic() clock."""

from __future__ import annotations

import bisect
import threading
from typing import Any


class Series:
    """Append-only readings of one channel. Power and counter readings are kept apart so each
    can be interpolated on its own; `extra` holds optional columns (util_pct, temp_c...)."""

    def __init__(self) -> None:
        self.t: list[float] = []               # every reading, for the samples file
        self.power: list[float | None] = []
        self.energy: list[float | None] = []
        self.extra: list[dict[str, Any]] = []
        self.tp: list[float] = []               # readings with power
        self.p: list[float] = []
        self.te: list[float] = []               # readings with a counter
        self.e: list[float] = []
        self._lock = threading.Lock()

    def add(self, t_s: float, power_w: float | None, energy_j: float | None,
            extra: dict[str, Any] | None = None) -> None:
        with self._lock:
            self.t.append(t_s)
            self.power.append(power_w)
            self.energy.append(energy_j)
            self.extra.append(extra or {})
            if power_w is not None:
                _insert(self.tp, self.p, t_s, power_w)
            if energy_j is not None:
                _insert(self.te, self.e, t_s, energy_j)

    def snapshot(self) -> tuple[list[float], list[float], list[float], list[float]]:
        """(tp, p, te, e) copies, safe to use while sampling goes on."""
        with self._lock:
            return list(self.tp), list(self.p), list(self.te), list(self.e)

    def rows(self) -> list[tuple[float, float | None, float | None, dict[str, Any]]]:
        with self._lock:
            return list(zip(self.t, self.power, self.energy, self.extra, strict=True))

    def extras_between(self, t0: float, t1: float) -> list[dict[str, Any]]:
        """The extra columns of readings taken in [t0, t1]."""
        with self._lock:
            return [x for t, x in zip(self.t, self.extra, strict=True) if t0 <= t <= t1 and x]

    def drop_before(self, t_s: float) -> None:
        """Forget readings older than t_s but the last power and counter readings before it (a window
        starting at t_s can still be placed): keeps a long-running recorder's memory flat."""
        with self._lock:
            k = bisect.bisect_left(self.t, t_s)
            del self.t[:k], self.power[:k], self.energy[:k], self.extra[:k]
            for ts, ys in ((self.tp, self.p), (self.te, self.e)):
                k = max(0, bisect.bisect_right(ts, t_s) - 1)
                del ts[:k], ys[:k]

    def __len__(self) -> int:
        return len(self.t)


def _insert(ts: list[float], ys: list[float], t: float, y: float) -> None:
    """Keep (ts, ys) sorted by time; readings almost always arrive in order."""
    if not ts or t >= ts[-1]:
        ts.append(t)
        ys.append(y)
    else:
        i = bisect.bisect_right(ts, t)
        ts.insert(i, t)
        ys.insert(i, y)
