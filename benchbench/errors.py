"""The project's exception tree. Library code raises these; only the CLI turns them into exit codes."""

from __future__ import annotations

import signal

from .textsafe import one_line as _one_line


class InputSkipped(UserWarning):
    """A Python warning for input an analysis left out (a bad record, samples or price file). Reports list
    these among their warnings; a library's own warnings are not mistaken for them."""


class BenchError(Exception):
    """Base of every error benchbench raises on purpose."""

    exit_code = 1


class UserError(BenchError):
    """Bad input from the user: a suite, a profile, a flag. Exit code 2, one line, no traceback."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """`<file>:<line>: <field>: <what> (<hint>)`, leaving out what is unknown."""
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"{self.field}: " if self.field else ""
        hint = f" ({self.hint})" if self.hint else ""
        return _one_line(f"{where}{field}{self.message}{hint}")


class BackendUnavailable(BenchError):
    """A backend or sampler that cannot run on this host; the message says why."""

    exit_code = 2


class WorkloadError(BenchError):
    """A workload failed while running; the runner records it and goes on."""


class ServerError(WorkloadError):
    """An inference server could not be reached or answered with an error."""


class PowerError(BenchError):
    """A power sampler could not read."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; finished work is kept. A KeyboardInterrupt, so no `except Exception`
    (nor `except BenchError`) on the way up can swallow it. Exit code 128 + the signal's number."""

    def __init__(self, signum: int = 2, message: str | None = None) -> None:
        self.signum = int(signum)
        self.hint: str | None = None
        super().__init__(message or f"interrupted by {self.signal_name}")

    @property
    def signal_name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
