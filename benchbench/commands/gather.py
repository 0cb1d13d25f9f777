"""`benchbench gather HOST[:PATH] ...`: copy records already on other hosts into results/."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..remote.gather import exit_code, gather


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", nargs="+", metavar="HOST[:PATH]",
                   help="an ssh alias or user@host; PATH is a results folder there "
                        "(default: benchbench/results, where remote runs write)")
    p.add_argument("--results", type=Path, default=Path("results"), help="local results folder (default: results/)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--quiet", action="store_true", help="only problems on stderr")


def main(args: argparse.Namespace) -> int:

    rows = gather(args.targets, results=args.results, quiet=args.quiet or args.json)
    code = exit_code(rows)
    if args.json:
        json.dump({"hosts": rows, "exit_code": code}, sys.stdout, indent=1)
        print()
    else:
        for r in rows:
            for path in r["copied"]:
                print(path)
    return code
