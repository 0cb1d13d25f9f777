"""Per-backend environments: a backend whose libraries conflict with benchbench's own runs in a worker
process inside its own virtual environment (docs/envs.md).

The runner calls `open_workload(spec)`: an in-process Workload, or an EnvWorkload speaking to a worker
in the environment that `env:` chooses (built on first use). Only the standard library is imported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import BenchError, UserError
from ..workloads import get_backend
from ..workloads.base import Workload
from .build import ensure
from .proxy import EnvWorkload
from .spec import EnvSpec, satisfied_here, shared_pins
from .store import created_spec, env_folder, read_marker

__all__ = ["EnvSpec", "backend_env", "choose_env", "describe_choice", "open_workload"]


def backend_env(cls: type[Workload]) -> EnvSpec | None:
    """The environment a backend declares (named after it), or None."""
    if not cls.env_requirements:
        return None
    reqs = tuple(cls.env_requirements)
    return EnvSpec(name=cls.backend, requirements=reqs, constraints=shared_pins(reqs), origin="backend")


def choose_env(params: dict[str, Any], cls: type[Workload]) -> EnvSpec | None:
    """The environment `env:` asks for; None means this process.

    auto (default): the backend's declared environment, unless this one already satisfies it;
    none: this process; NAME: the backend's environment of that name, or one made by
    `benchbench env create NAME -r ...`; a mapping: {requirements, constraints, python, name}.
    """
    value = params.get("env") or "auto"
    if value == "none":
        return None
    if isinstance(value, dict):
        reqs, cons = tuple(value["requirements"]), tuple(value.get("constraints", ()))
        return EnvSpec(name=value.get("name") or cls.backend, requirements=reqs,
                       constraints=cons + shared_pins(reqs + cons), python=value.get("python"), origin="suite")
    declared = backend_env(cls)
    if value == "auto":
        return declared if declared and not satisfied_here(declared.requirements) else None
    if declared and value == declared.name:
        return declared
    made = created_spec(value)
    if made is None:
        raise UserError(f"no environment named `{value}`", field="env",
                        hint=f"create it with `benchbench env create {value} -r REQUIREMENT ...`, or use `auto`")
    return made


def open_workload(spec: Any, say: Callable[[str], None] | None = None) -> Workload:
    """The Workload the runner drives for `spec`: in-process, or a proxy to a worker (env built first)."""
    cls = get_backend(spec.kind, spec.backend)
    env = choose_env(spec.params, cls)
    if env is None:
        why = cls.availability()
        if why:
            raise BenchError(f"backend `{spec.backend}` unavailable: {why}")
        return cls(spec)
    return EnvWorkload(spec, cls, ensure(env, say))


def describe_choice(params: dict[str, Any], cls: type[Workload]) -> str | None:
    """For --dry-run: where the workload will run; None for this process."""
    env = choose_env(params, cls)
    if env is None:
        return None
    folder = env_folder(env)
    state = "ready" if read_marker(folder) else "built on first run"
    return f"in environment {folder.name} ({state}): {', '.join(env.requirements)}"
