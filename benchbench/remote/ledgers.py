"""`benchbench gather HOST --ledger`: bring a host's usage ledger home.

The host makes a consistent copy of its ledger while `watch` keeps writing it (`benchbench ledger
snapshot`, SQLite's online backup), the copy comes over SFTP and is removed there, and it is merged
into ledgers/<host>.db here: only what is new is added, so gathering every day grows one file.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from ..ledger.copy import merge
from ..record import slug
from . import ssh
from .hosts import HostSpec, remote_command
from .shell import command_line


async def pull_ledger(conn: Any, spec: HostSpec, remote_path: str | None, folder: Path) -> dict[str, Any]:
    """Snapshot the host's ledger (its default one when `remote_path` is None), copy it, merge it
    into folder/<host>.db; returns {ledger, added: {table: rows}}. Raises HostError."""
    remote_copy = f".benchbench-ledger-{secrets.token_hex(6)}.db"
    argv = [*remote_command(spec), "ledger", "snapshot", remote_copy]
    if remote_path:
        argv += ["--ledger", remote_path]
    status, _, err = await ssh.run(conn, command_line(argv), timeout_s=300)
    if status != 0:
        raise ssh.HostError(f"ledger snapshot failed on the host: {ssh.last_line(err) or f'exit {status}'}")
    folder.mkdir(parents=True, exist_ok=True)
    fd, local = tempfile.mkstemp(prefix=".ledger-", suffix=".part", dir=folder)
    os.close(fd)
    asyncssh = ssh.require_asyncssh()
    try:
        async with conn.start_sftp_client() as sftp:
            try:
                await sftp.get(remote_copy, local)
            finally:
                try:
                    await sftp.remove(remote_copy)
                except (OSError, asyncssh.Error):
                    pass
        dest = folder / f"{slug(spec.name)}.db"
        added = merge(local, dest)
    except (OSError, asyncssh.Error) as exc:
        raise ssh.HostError(f"cannot copy the ledger: {ssh.describe(exc)}") from None
    finally:
        Path(local).unlink(missing_ok=True)
    return {"ledger": str(dest), "added": added}
