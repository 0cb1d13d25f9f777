"""`benchbench gather HOST[:PATH] ... [--ledger]`: copy records (and usage ledgers) from other hosts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..remote.gather import LedgerWanted, exit_code, gather
from ..remote.session import Printer


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", nargs="+", metavar="HOST[:PATH]",
                   help="an ssh alias or user@host; PATH is a results folder there "
                        "(default: benchbench/results, where remote runs write)")
    p.add_argument("--results", type=Path, default=Path("results"), help="local results folder (default: results/)")
    p.add_argument("--ledger", nargs="?", const="", metavar="REMOTE_LEDGER",
                   help="also bring each host's usage ledger home (default: its default ledger), merged into "
                        "ledgers/<host>.db")
    p.add_argument("--ledgers", type=Path, default=Path("ledgers"), help="local ledgers folder (default: ledgers/)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--quiet", action="store_true", help="only problems on stderr")


def main(args: argparse.Namespace) -> int:
    ledger = LedgerWanted(args.ledger or None, args.ledgers) if args.ledger is not None else None
    quiet = args.quiet or args.json
    rows = gather(args.targets, results=args.results, quiet=quiet, ledger=ledger)
    code = exit_code(rows)
    printer = Printer(quiet=quiet)
    for r in rows:
        if r.get("ledger"):
            added = r["ledger"]["added"]
            printer.progress(r["host"], f"ledger: {added.get('intervals', 0)} new interval(s), "
                             f"{added.get('sessions', 0)} new session(s) into {r['ledger']['ledger']}")
    if args.json:
        json.dump({"hosts": rows, "exit_code": code}, sys.stdout, indent=1)
        print()
    else:
        for r in rows:
            for path in r["copied"]:
                print(path)
    return code
