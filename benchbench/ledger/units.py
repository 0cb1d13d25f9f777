"""`benchbench watch --unit systemd|launchd`: the service definition that runs this very command.

systemd: benchbench/data/benchbench-watch.service filled in (ExecStart in systemd's quoting, `%`
doubled). launchd: a property list written by plistlib (KeepAlive restarts it; SIGTERM stops it
cleanly). Both keep the ledger where the command said, else the service's default place.
"""

from __future__ import annotations

import plistlib
import shutil
import sys
from importlib import resources
from pathlib import Path

LABEL = "org.benchbench.watch"
SYSTEM_LEDGER = "/var/lib/benchbench/ledger.db"


def program() -> list[str]:
    """How to start this benchbench from a service: the installed script, else this Python -m benchbench."""
    found = shutil.which("benchbench")
    return [str(Path(found).resolve())] if found else [sys.executable, "-m", "benchbench"]


def _systemd_word(word: str) -> str:
    word = word.replace("%", "%%")
    if word and not any(c in word for c in ' \t"\'\\;$'):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(argv: list[str], ledger: str | None) -> str:
    """The unit file text for `benchbench watch ARGV...`."""
    template = resources.files("benchbench").joinpath("data/benchbench-watch.service").read_text(encoding="utf-8")
    exec_start = " ".join(_systemd_word(w) for w in [*program(), "watch", *argv])
    return template.replace("{exec_start}", exec_start).replace("{ledger}", (ledger or SYSTEM_LEDGER).replace("%",
                                                                                                             "%%"))


def launchd_plist(argv: list[str], ledger: str | None) -> str:
    """The launchd property list for `benchbench watch ARGV...` (~/Library/LaunchAgents, or
    /Library/LaunchDaemons when power needs root: powermetrics)."""
    home = Path.home()
    log = str(home / "Library" / "Logs" / "benchbench-watch.log")
    plist = {
        "Label": LABEL,
        "ProgramArguments": [*program(), "watch", *argv],
        "EnvironmentVariables": {"BENCHBENCH_LEDGER": ledger or str(home / "Library" / "Application Support"
                                                                    / "benchbench" / "ledger.db")},
        "RunAtLoad": True, "KeepAlive": True, "ThrottleInterval": 10, "ProcessType": "Background",
        "Nice": 10, "LowPriorityIO": True, "ExitTimeOut": 30,
        "StandardOutPath": log, "StandardErrorPath": log,
    }
    return plistlib.dumps(plist).decode()
