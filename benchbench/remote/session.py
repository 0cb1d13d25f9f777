"""One host's part of a remote run: connect, check, upload, run, gather — and stop cleanly."""

from __future__ import annotations

import asyncio
import json
import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..errors import UserError
from ..suite import Suite
from . import shell, ssh
from .bundle import Bundle, upload
from .hosts import REMOTE_RESULTS, HostSpec, SshSettings, remote_command
from .pull import PullResult, pull_tree

EXIT_CODES = {"complete": 0, "failed": 1, "error": 2, "interrupted": 130}


class Printer:
    """Lines to stderr, prefixed with the host; progress lines can be silenced, problems cannot."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet

    def progress(self, host: str, text: str) -> None:
        if not self.quiet:
            self.problem(host, text)

    def problem(self, host: str, text: str) -> None:
        prefix = f"[{host}] " if host else ""
        print(f"{prefix}{text}", file=self.stream, flush=True)


@dataclass
class RemoteOptions:
    settings: SshSettings
    workdir: str
    results: Any                      # local results folder (Path)
    only: str | None = None
    resume: str | None = None
    dry_run: bool = False
    stop_grace_s: float = 60.0        # after Ctrl-C: time for the remote run to save and exit
    yes: bool = False                 # --yes: a matrix over the cap is intended


@dataclass
class HostOutcome:
    host: str
    status: str = "error"             # complete | failed | error | interrupted
    error: str | None = None
    remote_version: str | None = None
    machine: str | None = None
    remote_exit: int | None = None
    records: list[Path] = field(default_factory=list)    # local copies of the records this run wrote
    plan: list[dict[str, Any]] = field(default_factory=list)
    pulled: PullResult = field(default_factory=PullResult)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "status": self.status, "exit_code": self.exit_code,
                "error": self.error, "machine": self.machine, "remote_version": self.remote_version,
                "remote_exit": self.remote_exit, "records": [str(p) for p in self.records],
                "records_copied": [str(p) for p in self.pulled.copied],
                "records_present": [str(p) for p in self.pulled.present],
                "side_files_copied": self.pulled.extras, "problems": self.pulled.problems,
                **({"plan": self.plan} if self.plan else {})}


def json_output(text: str) -> Any:
    """The JSON document a `--json` command printed, after any lines a login script printed first."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("{")), None)
    if start is None:
        raise ValueError("no JSON output")
    return json.loads("\n".join(lines[start:]))


def version_ok(local: str, remote: str) -> bool:
    """Same major version (and, before 1.0, the same minor): records and flags line up."""
    lv, rv = _numbers(local), _numbers(remote)
    if len(lv) < 2 or len(rv) < 2:
        return False
    return lv[0] == rv[0] and (lv[0] != 0 or lv[1] == rv[1])


def _numbers(version: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", str(version).split("+")[0])[:3]]


class HostRun:
    """Runs the bundle on one host. `main()` never raises: every problem ends in the outcome."""

    def __init__(self, spec: HostSpec, suite: Suite, bundle: Bundle, profile: Any,
                 options: RemoteOptions, printer: Printer) -> None:
        self.spec, self.suite, self.bundle, self.profile = spec, suite, bundle, profile
        self.options, self.printer = options, printer
        self.cmd = remote_command(spec)
        self.outcome = HostOutcome(host=spec.name)
        self.stage = "waiting"
        self.task: asyncio.Task | None = None
        self.pid: int | None = None
        self.stop_requested = False
        self._conn: Any = None
        self._stopper: asyncio.Task | None = None
        self._done = asyncio.Event()
        self._last_err = ""

    # --- interruption (called from the signal handler, in the event loop) -------------------
    def interrupt(self) -> None:
        """First Ctrl-C: stop the remote run (it saves its records) but still gather; before the
        run has started, just stop."""
        self.stop_requested = True
        if self.stage == "run":
            if self.pid is not None and self._stopper is None:
                self._stopper = asyncio.ensure_future(self._stop_remote())
        elif self.stage in ("waiting", "connect", "check", "upload") and self.task:
            self.task.cancel()

    def abandon(self) -> None:
        """Second Ctrl-C: give up now, gathering nothing more."""
        self.stop_requested = True
        if self.task and not self.task.done():
            self.outcome.error = (f"abandoned (Ctrl-C twice); records left there: "
                                  f"`benchbench gather {self.spec.name}`")
            self.task.cancel()

    async def _stop_remote(self) -> None:
        assert self.pid is not None
        for signal, wait_s in (("INT", self.options.stop_grace_s), ("TERM", 10.0), ("KILL", 5.0)):
            self.printer.problem(self.spec.name, f"sending SIG{signal} to the remote run (pid {self.pid})")
            try:
                await ssh.run(self._conn, shell.signal_command(self.pid, signal), timeout_s=30)
            except ssh.HostError as exc:
                self.printer.problem(self.spec.name, f"could not signal the remote run: {exc}")
                return
            try:
                await asyncio.wait_for(self._done.wait(), wait_s)
                return
            except TimeoutError:
                continue

    # --- the stages ---------------------------------------------------------------------------
    async def main(self) -> HostOutcome:
        name = self.spec.name
        try:
            await self._main()
        except asyncio.CancelledError:
            self.outcome.status = "interrupted"
            self.outcome.error = self.outcome.error or "interrupted before the run finished"
        except UserError as exc:
            self.outcome.status, self.outcome.error = "error", exc.one_line()
        except ssh.HostError as exc:
            self.outcome.status, self.outcome.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - one host's surprise must not stop the others
            self.outcome.status, self.outcome.error = "failed", f"{type(exc).__name__}: {exc}"
        if self.outcome.error:
            self.printer.problem(name, f"{self.outcome.status}: {self.outcome.error}")
        return self.outcome

    async def _main(self) -> None:
        self.stage = "connect"
        self._conn = await ssh.connect(self.spec, self.options.settings)
        async with self._conn:
            self.stage = "check"
            await self._check_version()
            self.stage = "upload"
            async with self._conn.start_sftp_client() as sftp:
                profile = await upload(sftp, self.bundle, self.options.workdir, self.profile)
                plan = await self._dry_run(profile)
                if self.options.dry_run:
                    self.outcome.status = "complete"
                    return
                folder = posixpath.join(self.options.workdir, str(plan["results"]))
                before = await snapshot(sftp, folder)
                self.stage = "run"
                await self._run(profile)
                self.stage = "gather"
                await self._gather(sftp, folder, before)

    async def _check_version(self) -> None:
        status, out, err = await ssh.run(self._conn, shell.command_line(self.cmd + ["doctor", "--json"]))
        if status == 127:
            raise ssh.HostError(f"benchbench not found on {self.spec.name} "
                                f"({ssh.last_line(err) or 'command not found'}); install it there or "
                                f"set BENCHBENCH_REMOTE_CMD (now {' '.join(self.cmd)!r})")
        try:
            report = json_output(out)
            version = str(report["benchbench"])
        except (ValueError, KeyError, TypeError):
            raise ssh.HostError(f"`{' '.join(self.cmd)} doctor --json` failed on {self.spec.name} "
                                f"(exit {status}): {ssh.last_line(err) or ssh.last_line(out)}") from None
        self.outcome.remote_version = version
        if not version_ok(__version__, version):
            raise UserError(f"remote benchbench {version} is not compatible with this one ({__version__})",
                            hint="install the same version on both machines")
        self._backend_warnings(report.get("backends") or [])

    def _backend_warnings(self, backends: list[dict[str, Any]]) -> None:
        wanted = {(w.kind, w.backend) for w in self.suite.workloads}
        for b in backends:
            if (b.get("kind"), b.get("backend")) in wanted and not b.get("available"):
                self.printer.problem(self.spec.name, f"warning: backend {b['backend']} unavailable "
                                     f"there: {b.get('why')}")

    def _run_argv(self, profile: str | None, *extra: str) -> list[str]:
        argv = self.cmd + ["run", self.bundle.suite_path, "--results", REMOTE_RESULTS]
        if profile or self.spec.profile:
            argv += ["--machine", profile or str(self.spec.profile)]
        if self.options.only:
            argv += ["--only", self.options.only]
        if self.options.yes:
            argv.append("--yes")
        return argv + list(extra)

    async def _dry_run(self, profile: str | None) -> dict[str, Any]:
        line = shell.command_line(self._run_argv(profile, "--dry-run", "--json"), cwd=self.options.workdir)
        status, out, err = await ssh.run(self._conn, line)
        if status == 2:
            raise UserError(f"rejected there: {ssh.last_line(err)}")
        try:
            plan = json_output(out)
            self.outcome.machine = str(plan["machine"])
            self.outcome.plan = list(plan.get("workloads") or [])
        except (ValueError, KeyError, TypeError):
            raise ssh.HostError(f"remote dry run failed (exit {status}): "
                                f"{ssh.last_line(err) or ssh.last_line(out)}") from None
        where = posixpath.join(self.options.workdir, str(plan["results"]))
        self.printer.progress(self.spec.name, f"benchbench {self.outcome.remote_version}, machine "
                              f"{self.outcome.machine}, records in {where}/")
        if self.options.dry_run:
            for row in self.outcome.plan:
                self.printer.progress(self.spec.name, f"- {row.get('name')}: {row.get('kind')}/"
                                      f"{row.get('backend')}, available: {row.get('available')}")
        return plan

    async def _run(self, profile: str | None) -> None:
        asyncssh = ssh.require_asyncssh()
        extra = ["--resume", self.options.resume] if self.options.resume else []
        line = shell.command_line(self._run_argv(profile, *extra), cwd=self.options.workdir,
                                  announce_pid=True)
        try:
            proc = await self._conn.create_process(line, encoding="utf-8", errors="replace",
                                                   stdin=asyncssh.DEVNULL)
            reader = asyncio.ensure_future(self._stream(proc.stderr))
            await proc.stdout.read()          # the remote summary table: ours is printed at the end
            await reader
            result = await proc.wait(check=False)
        except (OSError, asyncssh.Error) as exc:
            raise ssh.HostError(f"connection lost during the run: {ssh.describe(exc)}") from None
        finally:
            self._done.set()
        if self._stopper is not None:
            await self._stopper
        self._finish(result.exit_status, self._last_err)

    async def _stream(self, stream: Any) -> None:
        async for raw in stream:
            line = raw.rstrip("\r\n")
            pid = shell.parse_pid(line) if self.pid is None else None
            if pid is not None:
                self.pid = pid
                if self.stop_requested and self._stopper is None:
                    self._stopper = asyncio.ensure_future(self._stop_remote())
                continue
            if line.strip():
                self._last_err = line
                self.printer.progress(self.spec.name, line)

    def _finish(self, status: int | None, err: str) -> None:
        self.outcome.remote_exit = status
        if status == 0:
            self.outcome.status = "complete"
        elif status in (130, 143) or self.stop_requested:
            self.outcome.status = "interrupted"
        elif status == 1:
            self.outcome.status = "failed"
        elif status == 2:
            self.outcome.status, self.outcome.error = "error", f"rejected there: {err}"
        else:
            self.outcome.status = "failed"
            self.outcome.error = f"remote benchbench exited with {status}: {err}"

    async def _gather(self, sftp: Any, folder: str, before: dict[str, tuple]) -> None:
        pulled = await pull_tree(sftp, folder, self.options.results, depth=0, missing_ok=True)
        after = await snapshot(sftp, folder)
        idle = posixpath.join(posixpath.dirname(folder), "idle")
        pulled.merge(await pull_tree(sftp, idle, self.options.results, depth=0, missing_ok=True))
        self.outcome.pulled = pulled
        self.outcome.records = [pulled.by_name[n] for n in sorted(after)
                                if n in pulled.by_name and after[n] != before.get(n)]
        failed = [p.name for p in self.outcome.records if _status(p) == "failed"]
        if self.outcome.status == "failed" and not self.outcome.error:
            self.outcome.error = f"failed there: {', '.join(failed) or self._last_err}"
        for problem in pulled.problems:
            self.printer.problem(self.spec.name, f"warning: {problem}")
        self.printer.progress(self.spec.name, f"gathered {len(pulled.copied)} new record(s) "
                              f"({pulled.extras} side file(s)), {len(pulled.present)} already here")


async def snapshot(sftp: Any, folder: str) -> dict[str, tuple]:
    """Record file name → (size, mtime) in a remote folder: what a run changed is this run's."""
    asyncssh = ssh.require_asyncssh()
    out: dict[str, tuple] = {}
    try:
        async for entry in sftp.scandir(folder):
            if isinstance(entry.filename, str) and entry.filename.endswith(".json"):
                out[entry.filename] = (entry.attrs.size, entry.attrs.mtime)
    except asyncssh.SFTPError:
        pass
    return out


def _status(path: Any) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError):
        return None
