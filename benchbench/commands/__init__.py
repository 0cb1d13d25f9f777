"""One module per CLI command: `add_arguments(parser)` and `main(args) -> int`. Keep imports lazy."""

from pathlib import Path

from ..errors import UserError


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
