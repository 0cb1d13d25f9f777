"""`benchbench ledger info|snapshot|merge`: look into usage ledgers, copy one safely, merge them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UserError
from ..ledger.copy import merge, require_ledger, snapshot
from ..ledger.setup import default_ledger
from ..ledger.usage import ledger_info


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    info = sub.add_parser("info", help="sessions, coverage and events of a ledger")
    info.add_argument("ledger", nargs="?", type=Path, help="default: the default ledger")
    info.add_argument("--events", type=int, default=20, metavar="N", help="show the last N events (default 20)")
    info.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    snap = sub.add_parser("snapshot", help="a consistent copy of a ledger being written")
    snap.add_argument("output", type=Path, help="the copy (must not exist)")
    snap.add_argument("--ledger", type=Path, help="the ledger to copy (default: the default ledger)")
    merge = sub.add_parser("merge", help="add what ledgers hold into another (never removes or rewrites)")
    merge.add_argument("sources", nargs="+", type=Path)
    merge.add_argument("--into", type=Path, required=True, help="the ledger to add to (created if missing)")


def main(args: argparse.Namespace) -> int:
    if args.action == "snapshot":
        print(snapshot(args.ledger or default_ledger(), args.output))
        return 0
    if args.action == "merge":
        for src in args.sources:
            added = merge(src, args.into)
            print(f"{src}: {added.get('intervals', 0)} interval(s), {added.get('sessions', 0)} session(s) added "
                  f"to {args.into}", file=sys.stderr)
        return 0
    if args.action == "info":
        return _info(args)
    raise UserError("which action?", hint="benchbench ledger info|snapshot|merge")


def _info(args: argparse.Namespace) -> int:
    path = args.ledger or default_ledger()
    require_ledger(path)
    info = ledger_info(path, events=args.events)
    if args.json:
        json.dump(info, sys.stdout, indent=1)
        print()
        return 0
    print(f"{path}: schema {info['schema_version']}, {info['size_bytes'] / 1e6:.2f} MB")
    for s in info["sessions"]:
        print(f"  session {s['uuid'][:8]} {s['machine']} ({s['host']}): {s['started']} → "
              f"{s['stopped'] or 'running or killed'} {s['stop_reason'] or ''}; {s['intervals']} interval(s) "
              f"of {s['interval_s']:g} s, roles: {', '.join(s['roles'])}")
    for e in info["events"]:
        print(f"  {e['time']} {e['kind']}: {e['message']}")
    return 0
