"""The one line that says why pip (or uv) could not install an environment's requirements."""

from __future__ import annotations

import re
from collections.abc import Sequence

# pip 23-26
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (\S+)"
                         r"(?: \(from versions: ([^)]*)\))?")
_NO_DIST = re.compile(r"No matching distribution found for (\S+)")
_CONFLICT = re.compile(r"(?:Cannot install|ResolutionImpossible)")
_CAUSE = re.compile(r"^\s+(The user requested .+|\S+ \S+ depends on .+)$")
_COLLECTING = re.compile(r"^(?:Collecting|Processing) (\S+)")
_BUILD = re.compile(r"(subprocess-exited-with-error|Failed to build|Failed building wheel for (\S+))")
_OSERROR = re.compile(r"^ERROR: Could not install packages due to an OSError: (.+)")
# uv 0.13
_UV_MISSING = re.compile(r"Because (\S+) was not found in the package registry")
_UV_NO_VERSION = re.compile(r"Because there is no version of (\S+)")
_UV_FAILED_BUILD = re.compile(r"Failed to (?:build|download) `([^`]+)`")
_UV_NO_SOLUTION = re.compile(r"No solution found when resolving dependencies")


def failed_requirement(lines: Sequence[str], requirements: Sequence[str] = ()) -> str | None:
    """`<requirement>: <why>` from an installer's output, or its last error line, or None."""
    text = "\n".join(lines)
    found = _uv_reason(lines, text)
    if found:
        return found
    found = _NO_VERSION.search(text)
    if found:
        versions = (found.group(2) or "").strip()
        if not versions or versions == "none":
            return f"{found.group(1)}: not on the package index"
        return f"{found.group(1)}: no such version on the package index (versions there: {_last(versions)})"
    found = _NO_DIST.search(text)
    if found:
        return f"{found.group(1)}: no matching distribution on the package index"
    if _CONFLICT.search(text):
        causes = [m.group(1).strip() for m in map(_CAUSE.match, lines) if m]
        return "conflicting requirements: " + ("; ".join(dict.fromkeys(causes)) or "see the log")
    found = _BUILD.search(text)
    if found:
        wheel = found.group(2) or _last_collected(lines)
        said = _subprocess_output(lines)
        return f"{wheel or 'a package'}: building it from source failed" + (f": {said}" if said else "")
    found = next((m for m in map(_OSERROR.match, lines) if m), None)
    if found:
        return f"{_last_collected(lines) or 'a package'}: {found.group(1)}"
    errors = [ln.strip() for ln in lines if ln.strip().lower().startswith(("error:", "× ", "error "))]
    return errors[-1][:300] if errors else None


def _uv_reason(lines: Sequence[str], text: str) -> str | None:
    for pattern, why in ((_UV_MISSING, "not on the package index"),
                         (_UV_NO_VERSION, "no such version on the package index")):
        found = pattern.search(text)
        if found:
            return f"{found.group(1)}: {why}"
    found = _UV_FAILED_BUILD.search(text)
    if found:
        start = next((i for i, ln in enumerate(lines) if "[stderr]" in ln), len(lines))
        said = [ln.strip() for ln in lines[start + 1:] if ln.strip() and not ln.strip().startswith("hint:")]
        return f"{found.group(1)}: building it from source failed" + (f": {said[-1][:200]}" if said else "")
    if _UV_NO_SOLUTION.search(text):
        start = next((i for i, ln in enumerate(lines) if ln.strip().startswith("cause:")), None)
        if start is not None:
            cause = " ".join(ln.strip() for ln in lines[start:]).removeprefix("cause:").strip()
            cause = re.sub(r"^Because ", "", cause)
            cause = re.sub(r",? we can conclude that your requirements are unsatisfiable\.?$", "", cause)
            return "conflicting requirements: " + cause[:300]
    return None


def _last_collected(lines: Sequence[str]) -> str | None:
    names = [m.group(1) for m in map(_COLLECTING.match, lines) if m]
    return names[-1] if names else None


def _subprocess_output(lines: Sequence[str]) -> str | None:
    """The last line a failed build printed (between `╰─> [N lines of output]` and `[end of output]`)."""
    inside, said = False, None
    for line in lines:
        text = line.strip()
        if re.match(r"╰─> \[\d+ lines? of output\]", text):
            inside = True
        elif text == "[end of output]":
            inside = False
        elif inside and text:
            said = text[:200]
    return said


def _last(versions: str, n: int = 6) -> str:
    items = [v.strip() for v in versions.split(",") if v.strip()]
    return ", ".join(items[-n:]) if len(items) <= n else "..., " + ", ".join(items[-n:])
