"""The `remote` section of `benchbench doctor`: which ssh settings a remote run would use, and
whether the suite's hosts have known host keys. It never opens a connection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..suite import Suite, suite_of
from .hosts import SshSettings, parse_hosts, remote_command, remote_dir


def section(suite_ref: Suite | str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"ssh_client": _asyncssh_version()}
    try:
        settings = SshSettings.from_env()
    except Exception as exc:  # noqa: BLE001 - doctor reports
        return {"remote": [{**info, "problem": str(exc)}]}
    config = settings.config or Path("~/.ssh/config").expanduser()
    info["ssh_config"] = f"{config}" + ("" if config.is_file() else " (none)")
    info["known_hosts"] = str(settings.known_hosts or "from the ssh config, else ~/.ssh/known_hosts")
    info["remote_dir"] = remote_dir()
    info["ssh_agent"] = "yes" if os.environ.get("SSH_AUTH_SOCK") else "no"
    rows: list[dict[str, Any]] = [info]
    hosts = _suite_hosts(suite_ref)
    if hosts and info["ssh_client"].startswith("asyncssh"):
        rows += [_host_row(spec, settings) for spec in parse_hosts(hosts, "hosts")]
    return {"remote": rows}


def _asyncssh_version() -> str:
    try:
        import asyncssh
    except ImportError:
        return "missing: pip install 'benchbench[remote]'"
    return f"asyncssh {asyncssh.__version__}"


def _suite_hosts(suite_ref: Suite | str | None) -> list[str]:
    suite = suite_of(suite_ref)
    return suite.hosts if suite else []


def _host_row(spec: Any, settings: SshSettings) -> dict[str, Any]:
    """Where the alias leads and whether known_hosts has a key for it."""
    import asyncio

    import asyncssh

    async def options() -> Any:
        kwargs: dict[str, Any] = {"host": spec.host}
        if settings.config:
            kwargs["config"] = [str(settings.config)]
        if settings.known_hosts:
            kwargs["known_hosts"] = str(settings.known_hosts)
        if spec.user:
            kwargs["username"] = spec.user
        return await asyncssh.SSHClientConnectionOptions.construct(None, **kwargs)

    row: dict[str, Any] = {"host": spec.name, "profile": spec.profile, "command": " ".join(remote_command(spec))}
    try:
        opts = asyncio.run(options())
    except (ValueError, OSError) as exc:
        return {**row, "problem": f"ssh configuration: {exc}"}
    row["target"] = f"{opts.username}@{opts.host}:{opts.port}"
    row["host_key_known"] = _known(opts)
    return row


def _known(opts: Any) -> bool | str:
    import asyncssh

    if opts.known_hosts is None:
        return "host key checking is off (UserKnownHostsFile none): benchbench will refuse"
    files = opts.known_hosts or [str(Path("~/.ssh/known_hosts").expanduser())]
    files = [f for f in (files if isinstance(files, list) else [files]) if Path(str(f)).is_file()]
    port = opts.port if opts.port != 22 else None
    for path in files:
        try:
            trusted = asyncssh.match_known_hosts(str(path), opts.host, opts.host, port)
        except ValueError:
            continue
        if trusted[0] or trusted[1]:
            return True
    return False
