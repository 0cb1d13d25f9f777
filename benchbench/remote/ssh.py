"""SSH connections through asyncssh, honouring the OpenSSH config, keys and known_hosts.

Every asyncssh and socket error is translated here: configuration problems (unknown host key,
refused authentication, a broken config file) become one-line UserErrors; a host that cannot be
reached or fails is a HostError. No password is ever asked for or stored: authentication is by
key (files named in the ssh config, the default ~/.ssh/id_* keys, or the ssh agent).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from ..errors import BenchError, UserError
from .hosts import HostSpec, SshSettings


class HostError(BenchError):
    """A host that could not be reached, or a remote command that failed; the other hosts go on."""


def require_asyncssh() -> Any:
    try:
        import asyncssh
    except ImportError:
        raise UserError("running on other hosts needs asyncssh",
                        hint="pip install 'benchbench[remote]'") from None
    return asyncssh


async def connect(spec: HostSpec, settings: SshSettings) -> Any:
    """An authenticated connection whose host key was checked against known_hosts."""
    asyncssh = require_asyncssh()
    kwargs: dict[str, Any] = {"connect_timeout": settings.connect_timeout_s,
                              "login_timeout": settings.connect_timeout_s,
                              "password_auth": False, "kbdint_auth": False}
    if settings.config is not None:
        kwargs["config"] = [str(settings.config)]
    if settings.known_hosts is not None:
        kwargs["known_hosts"] = str(settings.known_hosts)
    if spec.user:
        kwargs["username"] = spec.user
    try:
        options = await asyncssh.SSHClientConnectionOptions.construct(None, host=spec.host, **kwargs)
    except (ValueError, OSError) as exc:  # ConfigParseError, unreadable key or known_hosts file
        raise UserError(f"ssh configuration: {exc}") from None
    if options.known_hosts is None:
        raise UserError("host key checking is turned off for this host (UserKnownHostsFile none)",
                        hint="benchbench only connects to hosts it can verify")
    where = f"{options.host}:{options.port}"
    try:
        return await asyncssh.connect(spec.host, options=options)
    except asyncssh.HostKeyNotVerifiable as exc:
        raise UserError(f"host key of {where} is unknown or changed ({exc.reason})",
                        hint=f"check its fingerprint and accept it once with `ssh {spec.host}`, "
                        "or fix known_hosts") from None
    except asyncssh.PermissionDenied:
        raise UserError(f"{where} refused every key of user `{options.username}`",
                        hint="check IdentityFile in ~/.ssh/config, the ssh agent and the remote "
                        "authorized_keys (passwords are never used)") from None
    except ValueError as exc:  # a malformed known_hosts entry
        raise UserError(f"known_hosts: {exc}") from None
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise HostError(f"cannot reach {where}: {describe(exc)}") from None


def describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"unknown host name ({exc.strerror})"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


async def run(conn: Any, command: str, timeout_s: float | None = 120) -> tuple[int, str, str]:
    """Run a command to completion: (exit status, stdout, stderr). A dropped connection is a HostError."""
    asyncssh = require_asyncssh()
    try:
        result = await conn.run(command, check=False, timeout=timeout_s, encoding="utf-8",
                                errors="replace", stdin=asyncssh.DEVNULL)
    except asyncssh.TimeoutError:
        raise HostError(f"remote command timed out after {timeout_s:g} s") from None
    except (OSError, asyncssh.Error) as exc:
        raise HostError(f"connection lost: {describe(exc)}") from None
    status = result.exit_status if result.exit_status is not None else 255
    return status, result.stdout or "", result.stderr or ""


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
