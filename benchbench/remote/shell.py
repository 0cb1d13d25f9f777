"""Remote command lines, built only from quoted words: no name, path or option can inject shell."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

PID_MARKER = "benchbench-remote-pid"


def quote(word: str) -> str:
    """shlex.quote, except that a leading `~/` still means the remote home."""
    word = str(word)
    if word == "~":
        return '"$HOME"'
    if word.startswith("~/"):
        return '"$HOME"/' + shlex.quote(word[2:]) if word[2:] else '"$HOME"/'
    return shlex.quote(word)


def command_line(argv: Sequence[str], cwd: str | None = None, announce_pid: bool = False) -> str:
    """`cd CWD && exec ARGV...`; with announce_pid the shell first prints its pid to stderr.

    `exec` keeps that pid for benchbench, so an interrupt can later be sent to it (and to its
    process group: sshd starts every session in a new one).
    """
    parts = []
    if cwd:
        parts.append(f"cd {quote(cwd)} &&")
    if announce_pid:
        parts.append(f'echo "{PID_MARKER} $$" >&2 &&')
    parts.append("exec " + " ".join(quote(w) for w in argv))
    return " ".join(parts)


def signal_command(pid: int, signal: str) -> str:
    """Signal the process group of `pid` (as Ctrl-C in a terminal would), else the process."""
    if signal not in ("INT", "TERM", "KILL"):
        raise ValueError(f"unexpected signal {signal!r}")
    pid = int(pid)
    if pid <= 1:
        raise ValueError(f"refusing to signal pid {pid}")
    return f"kill -{signal} -- -{pid} 2>/dev/null || kill -{signal} {pid}"


def parse_pid(line: str) -> int | None:
    """The pid from the marker line, or None when `line` is not it."""
    head, _, rest = line.strip().partition(" ")
    if head != PID_MARKER or not rest.strip().isdigit():
        return None
    return int(rest.strip())
