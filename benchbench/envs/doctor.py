"""`benchbench doctor`'s environments section: each environment in the cache (its Python and the
versions it holds), and where each backend that declares its own environment will run."""

from __future__ import annotations

from typing import Any

from ..workloads import backends, get_backend
from . import backend_env
from .spec import satisfied_here
from .store import envs_root, human_bytes, list_envs, read_marker


def doctor_section(suite_ref: str | None = None) -> dict[str, Any]:
    envs = list_envs(packages=True)
    rows: list[Any] = [f"cache {envs_root()}" + ("" if envs else ": no environment built yet")]
    for info in envs:
        s = info.summary()
        holds = ", ".join(f"{k} {v or 'MISSING'}" for k, v in s["holds"].items()) or "-"
        rows.append({"env": f"{s['name']}-{s['key']}", "status": s["status"], "python": s["python"],
                     "size": human_bytes(s["size_bytes"]), "holds": holds})
    for kind, name in backends():
        spec = backend_env(get_backend(kind, name))
        if spec is None:
            continue
        if satisfied_here(spec.requirements):
            where = "in this process (this environment satisfies " + ", ".join(spec.requirements) + ")"
        else:
            folder = envs_root() / spec.dirname
            state = "ready" if read_marker(folder) else f"built on first run, or now: benchbench env create {name}"
            where = f"in its own environment {spec.dirname} ({state})"
        rows.append({"backend": name, "runs": where})
    return {"environments": rows}
