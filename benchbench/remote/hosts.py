"""Host specs (`NAME`, `user@host`, `NAME=PROFILE`, `HOST:PATH`) and the settings that come from the environment."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

HOST_RE = re.compile(r"(?:(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@)?(?P<host>[A-Za-z0-9_][A-Za-z0-9._-]*)")
DEFAULT_REMOTE_CMD = "benchbench"
DEFAULT_REMOTE_DIR = "benchbench"          # relative to the remote home folder
REMOTE_RESULTS = "results"                 # inside the remote folder


@dataclass(frozen=True)
class HostSpec:
    """One `--host` entry: an ssh alias or `user@host`, and an optional machine profile."""

    name: str                 # as given, used as the progress prefix
    host: str                 # alias or host name, resolved through the ssh config
    user: str | None = None
    profile: str | None = None


def parse_host(text: str, field: str = "--host") -> HostSpec:
    """`NAME`, `user@host`, `NAME=PROFILE`; anything else is a one-line UserError."""
    target, _, profile = str(text).partition("=")
    match = HOST_RE.fullmatch(target.strip())
    if not match:
        raise UserError(f"not a host: {text!r}", field=field,
                        hint="an ssh alias or user@host, optionally =PROFILE (e.g. p40=p40-server)")
    if "=" in str(text) and not profile.strip():
        raise UserError(f"empty machine profile in {text!r}", field=field, hint="NAME=PROFILE")
    return HostSpec(name=target.strip(), host=match["host"], user=match["user"],
                    profile=profile.strip() or None)


def parse_hosts(items: list[str], field: str = "--host") -> list[HostSpec]:
    """Parse and de-duplicate; the same name twice with different profiles is an error."""
    specs: dict[str, HostSpec] = {}
    for item in items:
        spec = parse_host(item, field)
        if spec.name in specs and specs[spec.name] != spec:
            raise UserError(f"host `{spec.name}` given twice with different profiles", field=field)
        specs[spec.name] = spec
    return list(specs.values())


def parse_target(text: str) -> tuple[HostSpec, str | None]:
    """`HOST[:PATH]` for `benchbench gather`."""
    host, sep, path = str(text).partition(":")
    spec = parse_host(host, field="HOST")
    if spec.profile:
        raise UserError(f"not a host: {text!r}", field="HOST", hint="HOST[:PATH]")
    if sep and not path:
        raise UserError(f"empty path in {text!r}", field="HOST", hint="HOST:PATH or just HOST")
    return spec, path or None


def env_key(name: str) -> str:
    """`BENCHBENCH_REMOTE_CMD_<NAME>`: the host name upper-cased, other characters as `_`."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def remote_command(spec: HostSpec) -> list[str]:
    """The words that start benchbench on `spec` (default `benchbench`), never run through a shell."""
    text = os.environ.get(f"BENCHBENCH_REMOTE_CMD_{env_key(spec.name)}") \
        or os.environ.get("BENCHBENCH_REMOTE_CMD") or DEFAULT_REMOTE_CMD
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UserError(f"BENCHBENCH_REMOTE_CMD: {exc}", hint="e.g. ~/venv/bin/benchbench") from None
    if not words:
        raise UserError("BENCHBENCH_REMOTE_CMD is empty", hint="e.g. ~/venv/bin/benchbench")
    return words


def remote_dir() -> str:
    """The remote working folder: `BENCHBENCH_REMOTE_DIR`, default `benchbench` in the remote home."""
    text = os.environ.get("BENCHBENCH_REMOTE_DIR") or DEFAULT_REMOTE_DIR
    if text == "~":
        return "."
    return text[2:] if text.startswith("~/") else text


@dataclass(frozen=True)
class SshSettings:
    """Where the ssh client configuration comes from (injectable for tests)."""

    config: Path | None        # None: ~/.ssh/config when it exists
    known_hosts: Path | None   # None: the config's UserKnownHostsFile, else ~/.ssh/known_hosts
    connect_timeout_s: float = 15.0

    @classmethod
    def from_env(cls) -> SshSettings:
        config = os.environ.get("BENCHBENCH_SSH_CONFIG")
        known = os.environ.get("BENCHBENCH_KNOWN_HOSTS")
        timeout = os.environ.get("BENCHBENCH_SSH_TIMEOUT_S")
        try:
            timeout_s = float(timeout) if timeout else 15.0
        except ValueError:
            raise UserError(f"BENCHBENCH_SSH_TIMEOUT_S: not a number: {timeout!r}") from None
        if config and not Path(config).expanduser().is_file():
            raise UserError("ssh config not found", file=config, field="BENCHBENCH_SSH_CONFIG")
        if known and not Path(known).expanduser().is_file():
            raise UserError("known_hosts file not found", file=known, field="BENCHBENCH_KNOWN_HOSTS")
        return cls(config=Path(config).expanduser() if config else None,
                   known_hosts=Path(known).expanduser() if known else None, connect_timeout_s=timeout_s)
