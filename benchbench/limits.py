"""Caps on every size an input file can blow up, in one place (docs/security.md lists them).

A value over a cap is a one-line UserError naming the file, the line and the field; nothing here
imports more than the standard library and the project's errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 4 * 1024 * 1024          # a suite or profile file
MAX_DEPTH = 32                            # nesting of mappings and lists in YAML/JSON
MAX_NODES = 100_000                       # YAML nodes once aliases are expanded
MAX_INT_DIGITS = 20                       # digits of one integer (2**64 has 20)
INT_MIN, INT_MAX = -(2**63), 2**64 - 1    # integers must fit in 64 bits
MAX_SEED = 2**63 - 1
MAX_COMBINATIONS = 256                    # matrix combinations of one suite, unless --yes
MAX_COMBINATIONS_YES = 100_000            # even with --yes
MAX_REPETITIONS = 10_000
MAX_WARMUPS = 1_000
MAX_TOKENS = 2**21                        # prompt_tokens, max_tokens: 2M, beyond any context window
MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024    # prompt_file, text_file
MAX_RECORD_BYTES = 256 * 1024 * 1024      # one result record (JSON)


def int_range(low: int, high: int, what: str = "") -> Callable[[Any], str | None]:
    """A schema check: an integer (or finite number) between low and high."""
    def check(value: Any) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, found {value!r}"
        if value < low:
            need = {0: "must be 0 or more", 1: "must be greater than 0"}.get(low, f"must be at least {low}")
            return f"{need}, found {_short(value)}"
        if value > high:
            return f"must be at most {high}{what}, found {_short(value)}"
        return None
    return check


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


def check_text_file(path: str | Path) -> str | None:
    """A text file a workload will read: readable, not too large, UTF-8. None when fine."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_FILE_BYTES:
            return f"is {size} bytes; at most {MAX_TEXT_FILE_BYTES} bytes"
        data = path.read_bytes()
    except (OSError, RuntimeError) as exc:
        return f"cannot be read: {getattr(exc, 'strerror', None) or type(exc).__name__}"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
    return None
