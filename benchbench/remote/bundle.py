"""What a remote run needs: a copy of the suite whose file references point at uploaded copies,
the files themselves, and the host's machine profile."""

from __future__ import annotations

import hashlib
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from ..profile import resolve_profile
from ..record import slug
from ..suite import Suite
from ..workloads import get_backend

UPLOADS = "_uploaded"                # copies of files from outside the suite folder
DROPPED_KEYS = ("hosts", "machine")   # a remote run is one machine: its profile comes from --host


@dataclass
class Bundle:
    """Files to upload, as (local path, remote path relative to the bundle folder)."""

    folder: str                                  # remote, relative to the remote working folder
    suite_name: str                              # file name of the suite copy
    suite_text: str
    files: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def suite_path(self) -> str:
        return posixpath.join(self.folder, self.suite_name)


def build_bundle(suite: Suite) -> Bundle:
    """The suite copy and the files its path-valued keys name (prompt_file, text_file, ..., matrix
    values too). A relative path inside the suite's folder keeps its text and its place beside the
    copy (so expanded workload names stay the same); any other path is rewritten to `_uploaded/...`."""

    data = yaml.safe_load(Path(suite.path).read_text(encoding="utf-8"))
    suite_dir = Path(suite.path).resolve().parent
    bundle = Bundle(folder=posixpath.join("suites", slug(suite.name)),
                    suite_name=f"{slug(suite.name)}.yaml", suite_text="")
    uploads: dict[str, Path] = {}        # remote path (relative to the copy) → local file

    def remote_name(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        local = (suite_dir / value).resolve()
        if not local.exists():
            return value      # not a file here: leave it for the remote to judge
        inside = Path(os.path.normpath(suite_dir / value))
        if not Path(value).is_absolute() and inside.is_relative_to(suite_dir):
            uploads[inside.relative_to(suite_dir).as_posix()] = local
            return value
        rel = f"{UPLOADS}/{hashlib.sha256(str(local).encode()).hexdigest()[:8]}-{slug(local.name)}"
        uploads[rel] = local
        return rel

    for entry in data.get("workloads") or []:
        if not isinstance(entry, dict):
            continue
        cls = get_backend(entry["kind"], entry["backend"])
        path_keys = [k for k, spec in cls.keys.items() if spec.path]
        for key in path_keys:
            if key in entry:
                entry[key] = remote_name(entry[key])
            matrix = entry.get("matrix") or {}
            if isinstance(matrix.get(key), list):
                matrix[key] = [remote_name(v) for v in matrix[key]]
    for key in DROPPED_KEYS:
        data.pop(key, None)
    header = (f"# Copy of {suite.path} (sha256 {suite.sha256}) uploaded by benchbench for a remote run;\n"
              f"# paths from outside the suite's folder point at copies in {UPLOADS}/.\n")
    bundle.suite_text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    bundle.files = sorted((local, rel) for rel, local in uploads.items())
    return bundle


def profile_upload(ref: str | None, suite: Suite) -> tuple[Path, str] | None:
    """A profile found here is uploaded (as machines/<name>.yaml); None: pass the name through."""
    if not ref:
        return None

    try:
        profile = resolve_profile(ref, Path(suite.path))
    except UserError:
        if Path(ref).suffix in (".yaml", ".yml"):
            raise
        return None           # maybe only the remote knows this name; it will say if not
    return Path(str(profile.path)), f"machines/{slug(profile.name)}.yaml"


async def upload(sftp: Any, bundle: Bundle, workdir: str,
                 profile: tuple[Path, str] | None) -> str | None:
    """Upload the bundle (each file written to a temporary name, then renamed: readers never see
    half a file). Returns the remote profile path relative to `workdir`, if one was uploaded."""
    import tempfile

    base = posixpath.join(workdir, bundle.folder)
    await sftp.makedirs(base, exist_ok=True)
    for local, rel in bundle.files:
        await sftp.makedirs(posixpath.dirname(posixpath.join(base, rel)), exist_ok=True)
        await _put(sftp, local, posixpath.join(base, rel))
    with tempfile.TemporaryDirectory(prefix="benchbench-suite-") as tmp:
        copy = Path(tmp) / bundle.suite_name
        copy.write_text(bundle.suite_text, encoding="utf-8")
        await _put(sftp, copy, posixpath.join(base, bundle.suite_name))
    if profile is None:
        return None
    local, rel = profile
    await sftp.makedirs(posixpath.join(workdir, "machines"), exist_ok=True)
    await _put(sftp, local, posixpath.join(workdir, rel))
    return rel


async def _put(sftp: Any, local: Path, remote: str) -> None:
    import secrets

    if local.is_dir():
        if await sftp.exists(remote):
            await sftp.rmtree(remote)
        await sftp.put(str(local), remote, recurse=True)
        return
    tmp = f"{remote}.{secrets.token_hex(4)}.part"
    await sftp.put(str(local), tmp)
    await sftp.posix_rename(tmp, remote)
