"""Prompt files: JSONL lines of {"prompt": ...} or chat {"messages": [...]}, optional "max_tokens"; a bad
line is a one-line UserError naming the file, the line and the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import UserError

ROLES = ("system", "user", "assistant", "tool", "developer")

_CACHE: dict[tuple[str, float], list[dict[str, Any]]] = {}


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Entries of a prompts file: {"prompt": str} or {"messages": [{role, content}]}, optional
    "max_tokens" (int > 0); other keys are ignored. Bad lines are one-line UserErrors naming the line."""
    path = Path(path)
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        raise UserError("file not found", file=str(path), field="prompts_file") from None
    if key in _CACHE:
        return _CACHE[key]
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read: {type(exc).__name__}", file=str(path), field="prompts_file") from None
    for n, line in enumerate(lines, 1):
        if line.strip():
            out.append(_entry(line, str(path), n))
    if not out:
        raise UserError("no prompts in the file", file=str(path), field="prompts_file",
                        hint='one JSON object per line: {"prompt": "..."} or {"messages": [...]}')
    _CACHE[key] = out
    return out


def _entry(line: str, file: str, n: int) -> dict[str, Any]:
    def bad(field: str, what: str, hint: str | None = None) -> UserError:
        return UserError(what, file=file, line=n, field=field, hint=hint)

    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise bad("line", f"not valid JSON ({exc.msg} at column {exc.colno})",
                  'one JSON object per line: {"prompt": "..."}') from None
    if not isinstance(obj, dict):
        raise bad("line", f"must be a JSON object, found {type(obj).__name__}")
    has_prompt, has_messages = "prompt" in obj, "messages" in obj
    if has_prompt == has_messages:
        raise bad("prompt", "needs exactly one of `prompt` and `messages`")
    if has_prompt and (not isinstance(obj["prompt"], str) or not obj["prompt"].strip()):
        raise bad("prompt", "must be a non-empty string")
    if has_messages:
        _check_messages(obj["messages"], bad)
    mt = obj.get("max_tokens")
    if mt is not None and (isinstance(mt, bool) or not isinstance(mt, int) or mt <= 0):
        raise bad("max_tokens", f"must be a whole number above 0, found {mt!r}")
    return {"prompt": obj.get("prompt"), "messages": obj.get("messages"), "max_tokens": mt}


def _check_messages(messages: Any, bad: Callable[..., UserError]) -> None:
    if not isinstance(messages, list) or not messages:
        raise bad("messages", "must be a non-empty list of {role, content}")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise bad(f"messages[{i}]", "must be an object with role and content")
        if m.get("role") not in ROLES:
            raise bad(f"messages[{i}].role", f"unknown role {m.get('role')!r}", "one of: " + ", ".join(ROLES))
        if not isinstance(m.get("content"), str):
            raise bad(f"messages[{i}].content", "must be a string")
