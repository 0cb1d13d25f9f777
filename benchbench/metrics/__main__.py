"""`python -m benchbench.metrics [--write [PATH] | --check [PATH]]`: print, write or check docs/metrics.md."""

from __future__ import annotations

import sys
from pathlib import Path

from .doc import markdown

DEFAULT = Path("docs/metrics.md")


def main(argv: list[str]) -> int:
    text = markdown()
    if not argv:
        sys.stdout.write(text)
        return 0
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    if argv[0] == "--write":
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
        return 0
    if argv[0] == "--check":
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run python -m benchbench.metrics --write {path}", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
