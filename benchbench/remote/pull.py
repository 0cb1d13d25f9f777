"""Copy records (and the files beside them) from a host into the local results folder.

A local file is never overwritten: each copy goes to a temporary name and is then hard-linked
into place, which fails when the name exists. A record whose local copy exists is skipped with
its side files. Where a record lands comes from its content: results/<machine>/<suite>/.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..record import RecordError, slug, validate_record
from ..redact import redact
from .ssh import HostError, describe, require_asyncssh

SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.=,+-]*")


@dataclass
class PullResult:
    copied: list[Path] = field(default_factory=list)     # records new here
    present: list[Path] = field(default_factory=list)    # records already here: skipped
    extras: int = 0                                       # side files copied (power CSVs, audio...)
    problems: list[str] = field(default_factory=list)
    by_name: dict[str, Path] = field(default_factory=dict)  # remote record file name → local path

    def merge(self, other: PullResult) -> None:
        self.copied += other.copied
        self.present += other.present
        self.extras += other.extras
        self.problems += other.problems
        self.by_name.update(other.by_name)


async def pull_tree(sftp: Any, root: str, results: Path, depth: int = 3,
                    missing_ok: bool = False) -> PullResult:
    """Every record under `root` down to `depth` folders (results/<machine>/<suite>/ is 2 deep)."""
    out = PullResult()
    try:
        files, folders = await _list(sftp, root)
    except FileNotFoundError:
        if missing_ok:
            return out
        raise HostError(f"no folder {root!r} on the host") from None
    out.merge(await _pull_folder(sftp, root, files, results))
    if depth > 0:
        for name in folders:
            out.merge(await pull_tree(sftp, posixpath.join(root, name), results, depth - 1, True))
    return out


async def _list(sftp: Any, folder: str) -> tuple[list[str], list[str]]:
    """Regular files and folders with safe names; links and odd names are left alone."""
    asyncssh = require_asyncssh()
    files, folders = [], []
    try:
        async for entry in sftp.scandir(folder):
            name, mode = entry.filename, entry.attrs.permissions or 0
            if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
                continue
            if stat.S_ISDIR(mode):
                folders.append(name)
            elif stat.S_ISREG(mode):
                files.append(name)
    except asyncssh.SFTPNoSuchFile:
        raise FileNotFoundError(folder) from None
    except asyncssh.SFTPError as exc:
        raise HostError(f"cannot list {folder!r}: {exc.reason}") from None
    return sorted(files), sorted(folders)


def records_and_sidecars(files: list[str]) -> dict[str, list[str]]:
    """`<run_id>.json` → the files named `<run_id>.*` beside it (power CSVs, WAV/MP4 artifacts)."""
    jsons = [f for f in files if f.endswith(".json")]
    stems = {f[:-5] for f in jsons}
    records = [f for f in jsons if not any(f.startswith(s + ".") for s in stems if s != f[:-5])]
    out = {}
    for rec in records:
        stem = rec[:-5]
        out[rec] = [f for f in files if f != rec and f.startswith(stem + ".") and f not in records]
    return out


def destination(record: dict[str, Any], name: str, results: Path, folder: str) -> Path:
    """results/<machine>/<suite>/<name> (idle and other record types: <machine>/<type>/)."""
    machine = (record.get("machine") or {}).get("name") or posixpath.basename(posixpath.dirname(folder))
    if record.get("type", "run") == "run":
        group = (record.get("suite") or {}).get("name") or posixpath.basename(folder)
    else:
        group = str(record.get("type"))
    return Path(results) / slug(str(machine)) / slug(str(group)) / name


async def _pull_folder(sftp: Any, folder: str, files: list[str], results: Path) -> PullResult:
    out = PullResult()
    for name, sidecars in records_and_sidecars(files).items():
        remote = posixpath.join(folder, name)
        try:
            raw = json.loads(await _read(sftp, remote))
            record = validate_record(raw)
        except (RecordError, ValueError, RecursionError) as exc:
            out.problems.append(f"{remote}: not a record ({exc}); skipped")
            continue
        # a record written by an older benchbench there may hold secrets: it arrives here redacted
        data = (json.dumps(redact(raw), indent=1) + "\n").encode("utf-8")
        dest = destination(record, name, results, folder)
        out.by_name[name] = dest
        if dest.exists():
            out.present.append(dest)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        for extra in sidecars:   # side files first: a record present here means complete
            if await _fetch(sftp, posixpath.join(folder, extra), dest.parent / extra):
                out.extras += 1
        if _place_bytes(data, dest):
            out.copied.append(dest)
        else:
            out.present.append(dest)
    return out


async def _read(sftp: Any, remote: str) -> bytes:
    asyncssh = require_asyncssh()
    try:
        async with sftp.open(remote, "rb") as fh:
            return await fh.read()
    except (OSError, asyncssh.Error) as exc:
        raise HostError(f"cannot read {remote!r}: {describe(exc)}") from None


async def _fetch(sftp: Any, remote: str, dest: Path) -> bool:
    """Download to a temporary name, then link into place unless `dest` exists."""
    asyncssh = require_asyncssh()
    if dest.exists():
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        await sftp.get(remote, tmp)
        return _link(Path(tmp), dest)
    except (OSError, asyncssh.Error) as exc:
        raise HostError(f"cannot copy {remote!r}: {describe(exc)}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _place_bytes(data: bytes, dest: Path) -> bool:
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return _link(Path(tmp), dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _link(tmp: Path, dest: Path) -> bool:
    """Put `tmp` at `dest` unless something is there already (never overwrites)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        os.link(tmp, dest)
        return True
    except FileExistsError:
        return False
    except OSError:   # a file system without hard links: exclusive create instead
        try:
            with open(dest, "xb") as out, open(tmp, "rb") as src:
                out.write(src.read())
            return True
        except FileExistsError:
            return False
