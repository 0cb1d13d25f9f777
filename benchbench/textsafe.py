"""Text from records and suites made safe for a terminal, one line, or a file name.

A workload or model name may hold ANSI/OSC escape sequences (which retitle a terminal, rewrite
what is on screen or hide text), bidirectional overrides, or newlines that break a table: they are
shown escaped (`\\x1b`, `\\n`, `\\u202e`) instead. File names keep letters, digits, `_`, `.`, `-`
and get a short hash of the full name when anything was changed, so two names never collide.
"""

from __future__ import annotations

import hashlib
import re

# C0 controls and DEL, C1 controls, bidirectional embeddings/overrides/isolates, line/paragraph separators
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# what a stream of our own output may carry: newlines, carriage returns (progress bars), tabs
_STREAM_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def one_line(text: object) -> str:
    """The text on one line with every control character shown escaped (terminal cells, messages)."""
    return _CONTROL.sub(_escape, str(text))


def stream_safe(text: str) -> str:
    """Text about to be written to a terminal: newlines, tabs and carriage returns kept, every other
    control character (ESC, BEL, bidi overrides...) shown escaped."""
    return _STREAM_CONTROL.sub(_escape, text)


def file_stem(name: object, limit: int = 80) -> str:
    """A file-name-safe stem for `name`: unique (a hash of the full name is added when anything had
    to change), never empty, never `.`/`..`, at most `limit` characters."""
    text = str(name)
    safe = _FILE_UNSAFE.sub("_", text).strip("._") or "x"
    if safe == text and len(safe) <= limit:
        return safe
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[: limit - 9]}-{digest}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#!~])")


def markdown_cell(text: object) -> str:
    """Literal text in a GFM table cell or paragraph: markup characters escaped, HTML as entities,
    one line, control characters (terminal escape sequences) shown as `\\x1b`."""
    flat = one_line(re.sub(r"[\r\n\t]+", " ", str(text)))
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
