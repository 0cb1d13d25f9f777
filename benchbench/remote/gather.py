"""`benchbench gather`: pull the records (and, asked, the usage ledger) already on hosts; nothing is overwritten."""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from . import ssh
from .hosts import REMOTE_RESULTS, HostSpec, SshSettings, parse_target, remote_dir
from .ledgers import pull_ledger
from .pull import PullResult, pull_tree
from .session import Printer


async def gather_one(spec: HostSpec, path: str, results: Path, settings: SshSettings,
                     printer: Printer, ledger: LedgerWanted | None = None) -> dict[str, Any]:
    """One host: {host, status, error, copied, present, ...}; never raises."""
    row: dict[str, Any] = {"host": spec.name, "path": path, "status": "complete", "error": None}
    pulled = PullResult()
    try:
        conn = await ssh.connect(spec, settings)
        async with conn:
            async with conn.start_sftp_client() as sftp:
                pulled = await pull_tree(sftp, path, results, depth=3, missing_ok=ledger is not None)
            if ledger is not None:
                row["ledger"] = await pull_ledger(conn, spec, ledger.remote_path, ledger.folder)
    except UserError as exc:
        row.update(status="error", error=exc.one_line())
    except ssh.HostError as exc:
        row.update(status="failed", error=str(exc))
    except (OSError, ssh.require_asyncssh().Error) as exc:
        row.update(status="failed", error=f"connection lost: {ssh.describe(exc)}")
    if row["error"]:
        printer.problem(spec.name, f"{row['status']}: {row['error']}")
    for problem in pulled.problems:
        printer.problem(spec.name, f"warning: {problem}")
    if not row["error"]:
        printer.progress(spec.name, f"{len(pulled.copied)} new record(s) copied ({pulled.extras} side "
                         f"file(s)), {len(pulled.present)} already here")
    row.update(copied=[str(p) for p in pulled.copied], present=[str(p) for p in pulled.present],
               side_files_copied=pulled.extras, problems=pulled.problems)
    return row


@dataclass(frozen=True)
class LedgerWanted:
    """`--ledger [PATH]`: the host's ledger (None: its default) merged into folder/<host>.db."""

    remote_path: str | None
    folder: Path


def gather(targets: Sequence[str], results: Path, quiet: bool = False,
           ledger: LedgerWanted | None = None) -> list[dict[str, Any]]:
    """One row per host ({host, status, error, copied, present, ledger?, ...}); the command prints them."""
    ssh.require_asyncssh()
    settings = SshSettings.from_env()
    default = posixpath.join(remote_dir(), REMOTE_RESULTS)
    parsed = [parse_target(t) for t in targets]
    printer = Printer(quiet=quiet)

    async def run_all() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(gather_one(spec, path or default, results, settings, printer, ledger)
                                           for spec, path in parsed)))

    return asyncio.run(run_all())


def exit_code(rows: Sequence[dict[str, Any]]) -> int:
    """0 all hosts read, 1 a host failed, 2 bad input (unknown host key, bad spec)."""
    codes = {"error": 2, "failed": 1, "complete": 0}
    return max(codes[r["status"]] for r in rows)
