"""Progress display: a bar per workload on a TTY, plain lines otherwise."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from .textsafe import one_line


def use_bars(stream: TextIO) -> bool:
    """Bars only on a terminal: the progress stream and stdout (the contract: none when stdout is piped)."""
    return (stream.isatty() and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
            and not os.environ.get("CI"))


class Progress:
    """Reports workload and iteration progress to a stream (stderr by default)."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.bars = use_bars(self.stream) and not quiet
        self._bar: Any = None

    def line(self, text: str) -> None:
        """One line; control characters from names (ANSI/OSC escapes, newlines) are shown escaped."""
        if self.quiet:
            return
        text = one_line(text)
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def start_workload(self, name: str, total: int, done: int = 0) -> None:
        if self.bars:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, desc=one_line(name), file=self.stream, unit="it",
                             leave=True, dynamic_ncols=True, ascii=bool(os.environ.get("NO_COLOR")))
        else:
            self.line(f"[{name}] {total - done} iteration(s) to run")

    def iteration(self, name: str, index: int, total: int, warmup: bool, seconds: float,
                  error: str | None = None) -> None:
        label = "warmup" if warmup else "measured"
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(f"{label} {seconds:.2f}s" + (" ERROR" if error else ""))
            if error:
                self._bar.write(one_line(f"[{name}] iteration {index + 1}/{total} failed: {error}"),
                                file=self.stream)
        else:
            status = f"failed: {error}" if error else f"{seconds:.3f} s"
            self.line(f"[{name}] iteration {index + 1}/{total} ({label}): {status}")

    def end_workload(self, name: str, status: str) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.line(f"[{name}] {status}")
