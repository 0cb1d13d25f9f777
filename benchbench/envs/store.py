"""Where environments live and what they hold: the cache folder, the marker written when one is
ready, the packages it holds (read from its `*.dist-info` folders, no process started), removal."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from .spec import EnvSpec

MARKER = "benchbench-env.json"     # written last: an environment without it is incomplete
ROOT_VARIABLE = "BENCHBENCH_ENV_DIR"


def envs_root() -> Path:
    """$BENCHBENCH_ENV_DIR, else $XDG_CACHE_HOME/benchbench/envs, else ~/.cache/benchbench/envs."""
    if os.environ.get(ROOT_VARIABLE):
        return Path(os.environ[ROOT_VARIABLE]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "benchbench" / "envs"


def env_python(folder: Path) -> Path:
    """The interpreter of a virtual environment."""
    return folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


@dataclass
class EnvInfo:
    """One folder under the root, ready or not."""

    path: Path
    marker: dict[str, Any] | None = None
    packages: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.marker is not None and env_python(self.path).exists()

    @property
    def name(self) -> str:
        return (self.marker or {}).get("name") or self.path.name.rsplit("-", 1)[0]

    @property
    def key(self) -> str:
        return (self.marker or {}).get("key") or self.path.name.rsplit("-", 1)[-1]

    def summary(self) -> dict[str, Any]:
        """What `env list --json` and doctor show."""
        m = self.marker or {}
        return {"name": self.name, "key": self.key, "status": "ready" if self.ready else "incomplete",
                "path": str(self.path), "python": (m.get("interpreter") or {}).get("version"),
                "requirements": m.get("requirements", []), "constraints": m.get("constraints", []),
                "origin": m.get("origin"), "installer": m.get("installer"), "created_at": m.get("created_at"),
                "build_s": m.get("build_s"), "size_bytes": m.get("size_bytes"),
                "holds": holds(m, self.packages)}


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(folder: Path, data: dict[str, Any]) -> None:
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def site_packages(folder: Path) -> list[Path]:
    if sys.platform == "win32":
        return [folder / "Lib" / "site-packages"]
    return sorted(folder.glob("lib/python*/site-packages"))


def installed(folder: Path) -> dict[str, str]:
    """{normalized distribution name: version} from the environment's dist-info folders."""
    out: dict[str, str] = {}
    for site in site_packages(folder):
        for entry in site.glob("*.dist-info"):
            stem = entry.name[: -len(".dist-info")]
            name, _, version = stem.partition("-")
            if version:
                out[normalize(name)] = version
    return out


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def required_versions(requirements: list[str], packages: dict[str, str]) -> dict[str, str | None]:
    """The installed version of each required distribution (None when absent)."""
    out: dict[str, str | None] = {}
    for text in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
        if match:
            out[normalize(match.group(1))] = packages.get(normalize(match.group(1)))
    return out


def holds(marker: dict[str, Any], packages: dict[str, str]) -> dict[str, str | None]:
    """Versions of what the environment was asked for: every requirement, and the constraints that
    something installed (e.g. torch)."""
    wanted = required_versions(marker.get("requirements", []), packages)
    pinned = required_versions(marker.get("constraints", []), packages)
    return {**wanted, **{k: v for k, v in pinned.items() if v is not None and k not in wanted}}


def human_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def env_folder(spec: EnvSpec, root: Path | None = None) -> Path:
    return (root or envs_root()) / spec.dirname


def list_envs(root: Path | None = None, packages: bool = False) -> list[EnvInfo]:
    """Every environment folder under the root, sorted by name then creation time."""
    root = root or envs_root()
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not folder.name.startswith(".") and re.search(r"-[0-9a-f]{12}$", folder.name):
            info = EnvInfo(folder, read_marker(folder))
            if packages and info.ready:
                info.packages = installed(folder)
            out.append(info)
    return sorted(out, key=lambda e: (e.name, (e.marker or {}).get("created_at") or ""))


def find_envs(ref: str, root: Path | None = None) -> list[EnvInfo]:
    """Environments whose name, key, or folder name is `ref`."""
    return [e for e in list_envs(root) if ref in (e.name, e.key, e.path.name)]


def created_spec(name: str, root: Path | None = None) -> EnvSpec | None:
    """The spec of the newest environment made with `benchbench env create NAME -r ...`."""
    made = [e for e in list_envs(root) if e.ready and e.name == name and e.marker.get("origin") == "created"]
    if not made:
        return None
    m = made[-1].marker
    return EnvSpec(name=name, requirements=tuple(m["requirements"]), constraints=tuple(m.get("constraints", ())),
                   python=m.get("python"), origin="created")


def remove(info: EnvInfo) -> None:
    """Delete an environment folder (its lock file stays; it is tiny and reused)."""
    root = info.path.parent.resolve()
    target = info.path.resolve()
    if target.parent != root or not re.search(r"-[0-9a-f]{12}$", target.name):
        raise UserError(f"refusing to remove {target}: not an environment folder", field="env remove")
    shutil.rmtree(target)
