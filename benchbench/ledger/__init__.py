"""The usage ledger: what a machine actually served and drew, interval by interval.

`benchbench watch` (recorder.py) writes one SQLite database per machine (store.py); `benchbench proxy`
(proxy.py) counts what an Ollama or OpenAI-compatible server serves; usage.py reads ledgers back into
utilization, real token mix and realized cost (the report and part 13's verdict use `machine_usage`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["machine_usage", "find_ledgers"]


def machine_usage(*args: Any, **kwargs: Any) -> Any:
    """See benchbench.ledger.usage.machine_usage."""
    from .usage import machine_usage as impl

    return impl(*args, **kwargs)


def find_ledgers(*args: Any, **kwargs: Any) -> Any:
    """See benchbench.ledger.store.find_ledgers."""
    from .store import find_ledgers as impl

    return impl(*args, **kwargs)
