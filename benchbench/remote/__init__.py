"""Part 9: run a suite on other home-lab machines over SSH and gather their records here.

asyncssh is imported only when a remote command runs (`pip install 'benchbench[remote]'`).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..suite import Suite
from .doctor import section
from .run import run_remote as _run_remote


def run_remote(suite: Suite, args: argparse.Namespace) -> list[Any]:
    """`benchbench run SUITE --host NAME[=PROFILE]...`; returns each host's outcome (HostOutcome)."""

    return _run_remote(suite, args)


def doctor_section(suite_ref: str | None = None) -> dict[str, Any]:
    """`benchbench doctor`: the ssh settings remote runs would use (connects nowhere)."""

    return section(suite_ref)


__all__ = ["doctor_section", "run_remote"]
