"""`benchbench run SUITE --host NAME[=PROFILE] ...`: every host in parallel, one summary at the end."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from .. import signals
from ..errors import UserError
from ..suite import Suite
from .bundle import build_bundle, profile_upload
from .hosts import SshSettings, parse_hosts, remote_dir
from .session import HostOutcome, HostRun, Printer, RemoteOptions
from .ssh import require_asyncssh


def exit_code(outcomes: Sequence[HostOutcome]) -> int:
    """130 interrupted, else 2 bad input (unknown host key, incompatible version...), else 1 any
    failure, else 0."""
    codes = {o.exit_code for o in outcomes}
    for code in (130, 2, 1):
        if code in codes:
            return code
    return 0


def run_remote(suite: Suite, args: argparse.Namespace) -> list[HostOutcome]:
    """Run `suite` on the hosts of `--host` (or the suite's `hosts:`) and gather the records here; returns
    each host's outcome (the command prints them: benchbench/commands/run.py)."""
    if args.host:
        specs = parse_hosts(args.host, "--host")
    else:
        try:
            specs = parse_hosts(suite.hosts, "hosts")
        except UserError as exc:
            raise UserError(exc.message, file=str(suite.path), field="hosts", hint=exc.hint) from None
    if getattr(args, "machine", None):
        raise UserError("--machine names one machine; with hosts give each its profile as NAME=PROFILE",
                        field="--machine", hint="e.g. --host p40=p40-server")
    require_asyncssh()
    options = RemoteOptions(settings=SshSettings.from_env(), workdir=remote_dir(),
                            results=Path(args.results), only=args.only, resume=args.resume,
                            dry_run=args.dry_run, stop_grace_s=_grace_s(), yes=bool(getattr(args, "yes", False)))
    if args.only:
        suite.select(args.only)          # a one-line error here, before connecting anywhere
    bundle = build_bundle(suite)
    printer = Printer(quiet=args.quiet or args.json)
    runs = [HostRun(spec, suite, bundle, profile_upload(spec.profile, suite), options, printer)
            for spec in specs]
    outcomes = asyncio.run(run_all(runs, printer))
    signals.reinstall()                  # asyncio put the default handlers back: the summary is covered too
    return outcomes


def _grace_s() -> float:
    text = os.environ.get("BENCHBENCH_REMOTE_STOP_S")
    try:
        return float(text) if text else 60.0
    except ValueError:
        raise UserError(f"BENCHBENCH_REMOTE_STOP_S: not a number: {text!r}") from None


async def run_all(runs: list[HostRun], printer: Printer) -> list[HostOutcome]:
    """Hosts in parallel. Ctrl-C (or SIGTERM) once: stop every remote run, still gather; twice: abandon."""
    loop = asyncio.get_running_loop()
    for run in runs:
        run.task = asyncio.ensure_future(run.main())
    presses = 0

    def on_signal() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            printer.problem("", "interrupted: stopping the remote runs, then gathering what finished "
                            "(press Ctrl-C again to abandon)")
            for run in runs:
                run.interrupt()
        else:
            for run in runs:
                run.abandon()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        return list(await asyncio.gather(*(run.task for run in runs)))
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def host_line(o: HostOutcome, dry_run: bool = False) -> str:
    """One host's outcome in words."""
    line = f"{o.host}: {o.status}"
    if o.machine:
        line += f" (machine {o.machine})"
    if not dry_run and o.status != "error":
        line += f"; {len(o.pulled.copied)} record(s) gathered, {len(o.pulled.present)} already here"
    if o.error:
        line += f"; {o.error}"
    return line


def record_paths(outcomes: Sequence[HostOutcome]) -> list[Path]:
    """The records the hosts' runs left here."""
    return [p for o in outcomes for p in o.records if p.exists()]
