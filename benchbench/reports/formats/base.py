"""The base of every report format: write to a path, or render to text for stdout."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from ...errors import UserError
from ...redact import redact_text
from ..model import Report


class ReportFormat(ABC):
    """One output format. `write` returns the files written (a format may write several)."""

    name: str = ""
    extensions: tuple[str, ...] = ()

    @abstractmethod
    def write(self, report: Report, output: Path) -> list[Path]:
        """Write the report to `output` (and files beside it where the format needs them)."""

    def render(self, report: Report) -> str:
        """The report as text for stdout."""
        raise UserError(f"the {self.name} format writes several files", field="--format",
                        hint=f"give -o FILE.{self.extensions[0] if self.extensions else self.name} or -o FOLDER")


def write_text(path: Path, text: str) -> Path:
    """Write through a temporary file and rename, so a reader never sees half a report; secrets redacted."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(redact_text(text), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:   # a full disk or a Ctrl-C: no half-written temporary file is left
        tmp.unlink(missing_ok=True)
        raise
    return path
