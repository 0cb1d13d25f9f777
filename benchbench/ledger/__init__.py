"""The usage ledger: what a machine actually served and drew, interval by interval.

`benchbench watch` (recorder.py) writes one SQLite database per machine (store.py); `benchbench proxy`
(proxy.py) counts what an Ollama or OpenAI-compatible server serves; usage.py reads ledgers back into
utilization, real token mix and realized cost (the report and part 13's verdict use `machine_usage`).
"""

from __future__ import annotations

from .store import find_ledgers
from .usage import machine_usage

__all__ = ["machine_usage", "find_ledgers"]
