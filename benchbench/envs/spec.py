"""What a workload's own environment holds (`EnvSpec`), its key, and the suite's `env:` value.

An environment is identified by a key: the first 12 hex digits of a SHA-256 over its requirements,
constraints, interpreter (version and base executable) and FORMAT. Same inputs, same folder; any
change, a new folder, so an environment is never modified after it is built. Stdlib only at module
level (the suite parser imports this module).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..errors import UserError
from ..schema import Field, Where, validate

FORMAT = 1          # bump when the layout of an environment changes: every key changes with it
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MODES = ("auto", "none")    # `env: auto` (the default) and `env: none` (always in this process)
SHARED_PINS = ("torch",)    # pinned to this environment's release so that a worker gets the same build

ENV_FIELDS: dict[str, Field] = {
    "requirements": Field((list,), required=True, doc="pip requirements, e.g. [qwen-tts==0.1.1]"),
    "python": Field((str,), doc="a version such as \"3.12\" (python3.12 on PATH) or an interpreter path"),
    "constraints": Field((list,), default=[], doc="pip constraints, e.g. [torch==2.13.0]"),
    "name": Field((str,), doc="a short name for `benchbench env list`"),
}


@dataclass(frozen=True)
class Interpreter:
    """The Python an environment is built from."""

    path: str        # the base executable (not a venv's)
    version: str     # e.g. "3.11.7"


@dataclass(frozen=True)
class EnvSpec:
    """The requirements of one environment. `python` is None for the interpreter running benchbench."""

    name: str
    requirements: tuple[str, ...]
    constraints: tuple[str, ...] = ()
    python: str | None = None
    origin: str = "backend"          # backend | suite | created

    @cached_property
    def interp(self) -> Interpreter:
        """The interpreter it is built from (resolved once; a path or version is checked here)."""
        return find_interpreter(self.python)

    def key(self) -> str:
        """12 hex digits naming this environment's contents."""
        interp = self.interp
        data = {"format": FORMAT, "requirements": sorted(set(self.requirements)),
                "constraints": sorted(set(self.constraints)), "python": [interp.path, interp.version]}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.key()}"

    def to_dict(self) -> dict[str, Any]:
        interp = self.interp
        return {"name": self.name, "key": self.key(), "requirements": list(self.requirements),
                "constraints": list(self.constraints), "python": self.python,
                "interpreter": {"path": interp.path, "version": interp.version}, "origin": self.origin}


# --- interpreters -------------------------------------------------------------------------------

def base_executable() -> str:
    """The interpreter this process runs on, outside any virtual environment."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(base)


def find_interpreter(python: str | None) -> Interpreter:
    """`None`: this interpreter; "3.12": python3.12 on PATH; else a path to an interpreter."""
    if python is None:
        return Interpreter(base_executable(), ".".join(map(str, sys.version_info[:3])))
    candidate = python if os.sep in python or python.startswith("~") else (
        shutil.which(f"python{python}") if re.fullmatch(r"\d+\.\d+", python) else shutil.which(python))
    path = os.path.expanduser(candidate) if candidate else None
    if not path or not os.access(path, os.X_OK):
        raise UserError(f"no Python interpreter {python!r} here", field="env.python",
                        hint="install it, or give the path of an interpreter (e.g. /usr/bin/python3.12)")
    code = "import os,sys; print(os.path.realpath(getattr(sys,'_base_executable',sys.executable)));" \
           "print('.'.join(map(str,sys.version_info[:3])))"
    try:
        out = subprocess.run([path, "-c", code], capture_output=True, text=True, timeout=30, check=True).stdout
        real, version = out.split()
    except (OSError, ValueError, subprocess.SubprocessError):
        raise UserError(f"{path} does not run as a Python interpreter", field="env.python") from None
    if tuple(int(x) for x in version.split(".")[:2]) < (3, 11):
        raise UserError(f"{path} is Python {version}; the worker needs 3.11 or newer", field="env.python")
    return Interpreter(real, version)


# --- requirements -------------------------------------------------------------------------------

def check_requirement(text: Any) -> str | None:
    """None when `text` is one pip requirement (PEP 508), else what is wrong."""
    if not isinstance(text, str) or not text.strip():
        return f"a requirement must be a non-empty string, found {text!r}"
    if text.strip().startswith("-"):
        return f"{text!r}: options are not requirements (give package names with versions)"
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        return None if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*", text.strip()) else f"{text!r} is not a requirement"
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        return f"{text!r} is not a requirement: {str(exc).splitlines()[0]}"
    return None


def shared_pins(requirements: tuple[str, ...] = ()) -> tuple[str, ...]:
    """`torch==<this environment's release>` (local label such as +cpu dropped, so a package index or
    a local wheel folder of the same release satisfies it), unless the requirements name torch."""
    named = {_dist_name(r) for r in requirements}
    out = []
    for dist in SHARED_PINS:
        if dist in named:
            continue
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        out.append(f"{dist}=={version.split('+')[0]}")
    return tuple(out)


def _dist_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def satisfied_here(requirements: tuple[str, ...]) -> bool:
    """True when this environment already holds every requirement (then no worker is needed)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return False
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            have = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        if req.specifier and not req.specifier.contains(have, prereleases=True):
            return False
    return True


# --- the suite's `env:` -------------------------------------------------------------------------

def check_env_name(value: Any) -> str | None:
    """The Field check of `env:` when it is a string."""
    if not isinstance(value, str) or value in MODES or NAME_RE.match(value):
        return None
    return (f"{value!r} is neither `auto`, `none` nor an environment name "
            "(lower-case letters, digits, `.`, `_`, `-`)")


def parse_env_mapping(data: Any, where: Where) -> dict[str, Any]:
    """`env: {requirements: [...], python: ..., constraints: [...], name: ...}` as a plain dict."""
    values = validate(data, ENV_FIELDS, where, "env")
    for key in ("requirements", "constraints"):
        items = values[key] or []
        if key == "requirements" and not items:
            raise UserError("must list at least one requirement", file=where.file,
                            line=_line(data, key), field=where.field(key), hint="e.g. [qwen-tts==0.1.1]")
        for item in items:
            problem = check_requirement(item)
            if problem:
                raise UserError(problem, file=where.file, line=_line(data, key), field=where.field(key))
    if values["name"] is not None and not NAME_RE.match(values["name"]):
        raise UserError(f"{values['name']!r} is not an environment name", file=where.file,
                        line=_line(data, "name"), field=where.field("name"),
                        hint="lower-case letters, digits, `.`, `_`, `-`")
    out = {"requirements": [str(r).strip() for r in values["requirements"]]}
    if values["constraints"]:
        out["constraints"] = [str(c).strip() for c in values["constraints"]]
    for key in ("python", "name"):
        if values[key] is not None:
            out[key] = values[key]
    return out


def _line(data: Any, key: str) -> int | None:
    return data.line_of(key) if hasattr(data, "line_of") else None
