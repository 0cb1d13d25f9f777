"""One module per CLI command: `add_arguments(parser)` and `main(args) -> int`. Keep imports lazy."""

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..power.registry import check_interval_ms, check_samplers


def ensure_folder(path: Path, flag: str = "--results") -> Path:
    """Create the folder records go to; one line naming the flag when the file system says no."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        what = f"{exc.filename} is a file, not a folder" if isinstance(
            exc, (FileExistsError, NotADirectoryError)) else exc.strerror or str(exc)
        raise UserError(f"cannot create the folder: {what}", file=str(path), field=flag,
                        hint="give a folder you can write to") from None
    return path


def check_power_flags(interval_ms: float, samplers: list[str], interval_flag: str = "--interval-ms") -> None:
    """The sampling interval and sampler names given on a command line: one line naming the flag when wrong."""
    problem = check_interval_ms(interval_ms)
    if problem:
        raise UserError(problem, field=interval_flag)
    bad = check_samplers(samplers)
    if bad:
        raise UserError(bad[1], field="--samplers", hint=bad[2])


def plug_options(urls: list[str] | None, samplers: list[str]) -> dict[str, dict[str, Any]]:
    """`--url [SAMPLER=]URL` flags as sampler options: {"shelly": {"url": [...]}}; a bare URL goes to the one
    plug sampler named in `samplers`."""
    options: dict[str, dict[str, Any]] = {}
    for item in urls or []:
        name, sep, url = item.partition("=")
        if not sep or name not in ("shelly", "tasmota"):
            plugs = [s for s in samplers if s in ("shelly", "tasmota")]
            if len(plugs) != 1:
                raise UserError(f"which plug is {item!r}?", field="--url", hint="write shelly=URL or tasmota=URL")
            name, url = plugs[0], item
        options.setdefault(name, {}).setdefault("url", []).append(url)
    return options
