"""`benchbench report [PATH ...]`"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", type=Path, help="record files or folders (default: results/)")
    p.add_argument("-o", "--output", type=Path, help="write the report to this file")
    p.add_argument("--format", choices=("html", "md", "csv", "json", "text"),
                   help="default: from the output file's extension, else text")
    ref = p.add_mutually_exclusive_group()
    ref.add_argument("--reference", dest="reference", action="store_true", default=None,
                     help="include published reference figures (default)")
    ref.add_argument("--no-reference", dest="reference", action="store_false",
                     help="leave published reference figures out")


def main(args: argparse.Namespace) -> int:
    from ..record import load_records
    from ..reports.summary import render_markdown, render_text, summary_rows

    paths = args.paths or [Path("results")]
    skip = lambda path, why: print(f"warning: {path}: skipped ({why})", file=sys.stderr)  # noqa: E731
    records = load_records([p for p in paths if p.exists() or p != Path("results")], on_skip=skip)
    fmt = args.format or (args.output.suffix.lstrip(".") if args.output else "text")
    rows = summary_rows(records)
    text = render_markdown(rows) if fmt == "md" else render_text(rows)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
