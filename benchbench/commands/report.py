"""`benchbench report [PATH ...] [-o FILE] [--format html|md|csv|json|text] [--reference|--no-reference]`"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from ..analysis.reference import reference_records
from ..errors import UserError
from ..ledger.store import find_ledgers
from ..record import load_records, skip_line
from ..reports.build import build_report
from ..reports.formats import format_for, get_format
from ..reports.sections.usage import render_text as usage_text
from ..reports.sections.usage import view
from ..reports.summary import render_text, summary_rows
from ..shapes import PRESETS, parse_mix

FORMATS = ("html", "md", "csv", "json", "text")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", type=Path, help="record files or folders (default: results/)")
    p.add_argument("-o", "--output", type=Path,
                   help="write the report here (.html, .md, .csv, .json); without it a summary goes to stdout")
    p.add_argument("--format", choices=FORMATS,
                   help="default: from the output file's extension, else the text summary")
    ref = p.add_mutually_exclusive_group()
    ref.add_argument("--reference", dest="reference", action="store_true", default=None,
                     help="include the articles' published figures, labelled (default for html/md/csv/json)")
    ref.add_argument("--no-reference", dest="reference", action="store_false",
                     help="leave published reference figures out")
    p.add_argument("--utilization", type=float, metavar="U",
                   help="share of hours spent generating (0 < U <= 1) for all-in costs; default the profile's, else 1")
    p.add_argument("--hours-per-day", type=float, metavar="H", help="hours a day the work runs, for cloud payback")
    p.add_argument("--api", action="append", default=[], metavar="MODEL",
                   help="also compute break-even against this API model's price (genai-prices name), and price "
                        "the ledgers' requests at it; repeatable")
    p.add_argument("--period", choices=("day", "week", "month"), default="day",
                   help="usage ledgers: one row per machine and day (default), ISO week or month, UTC")
    p.add_argument("--since", metavar="DATE", help="usage ledgers: from this UTC date (YYYY-MM-DD) on")
    p.add_argument("--until", metavar="DATE", help="usage ledgers: before this UTC date (YYYY-MM-DD)")
    p.add_argument("--mix", metavar="PRESET", help="the request shape the verdict prices: " + ", ".join(PRESETS)
                   + " or load (the load runs' own requests); default: a usage ledger's real mix, else the "
                   "suites' or profiles' mix:, else chat")
    p.add_argument("--requests-per-day", type=float, metavar="N", help="the volume of the work (with --mix)")


def main(args: argparse.Namespace) -> int:
    fmt = args.format or (format_for(args.output) if args.output else "text")
    if fmt is None and args.output.suffix.lower() == ".txt":
        fmt = "text"
    if fmt is None:
        raise UserError("cannot tell the report format from the file name", file=str(args.output),
                        hint="use .html, .md, .csv or .json, or give --format")
    if args.output is not None and args.output.is_dir() and fmt != "csv":
        raise UserError(f"is a folder; the {fmt} format writes one file", file=str(args.output), field="-o",
                        hint=f"give a file name, e.g. -o {args.output / ('report.' + fmt)}")
    paths = [p for p in args.paths or [Path("results")] if p.exists() or p != Path("results")]
    for p in paths:
        if not p.exists():
            raise UserError("no such file or folder", file=str(p))
    ledgers = find_ledgers(paths + ([Path("ledgers")] if not args.paths and Path("ledgers").is_dir() else []))
    paths = [p for p in paths if p not in ledgers]
    args.since_s, args.until_s = _date(args.since, "--since"), _date(args.until, "--until")
    if fmt == "text":
        return _summary(args, paths, ledgers)
    return _report(args, paths, fmt, ledgers)


def _date(text: str | None, field: str) -> float | None:
    if text is None:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise UserError(f"not a date: {text!r}", field=field, hint="YYYY-MM-DD (UTC)") from None


def _write(output: Path, write) -> list[Path]:
    """Run `write()`; a file system error (no such folder, read-only, a file in the way) is a UserError."""
    try:
        return write()
    except OSError as exc:
        what, hint = exc.strerror or str(exc), "check the path and its permissions"
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            what, hint = f"{exc.filename} is a file, not a folder", "choose another -o"
        raise UserError(f"cannot write the report: {what}", file=str(output), field="-o", hint=hint) from None


def _skip(path: Path | str, why: str) -> None:
    print(f"warning: {skip_line(path, why)}", file=sys.stderr)


def _summary(args: argparse.Namespace, paths: list[Path], ledgers: list[Path]) -> int:
    """The terminal summary table (reference records only when --reference is given), and the
    usage of the ledgers."""
    records = load_records(paths, on_skip=_skip)
    if args.reference:
        records += [{**rec, "status": "published"} for rec in reference_records()]  # labelled as such
    text = render_text(summary_rows(records)) if records or not ledgers else ""
    if ledgers:
        usage = view(ledgers, args.period, args.api, args.since_s, args.until_s)
        text += ("\n" if text else "") + (usage_text(usage) if usage else "no recorded intervals in the ledgers\n")
    if args.output:
        _write(args.output, lambda: args.output.write_text(text, encoding="utf-8"))
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _mix(args: argparse.Namespace) -> Any:
    """--mix and --requests-per-day as a `mix:` mapping (validated by parse_mix), or None."""
    if args.mix is None:
        if args.requests_per_day is not None:
            raise UserError("--requests-per-day needs --mix", field="--requests-per-day", hint="e.g. --mix rag")
        return None
    key = "from" if args.mix == "load" else "preset"
    mix = {key: args.mix} | ({"requests_per_day": args.requests_per_day} if args.requests_per_day else {})
    return parse_mix(mix, prefix="--mix ")


def _report(args: argparse.Namespace, paths: list[Path], fmt: str, ledgers: list[Path]) -> int:
    reference = True if args.reference is None else args.reference
    report = build_report(paths, reference=reference, utilization=args.utilization,
                          hours_per_day=args.hours_per_day, api_models=args.api, ledgers=ledgers,
                          period=args.period, since=args.since_s, until=args.until_s, mix=_mix(args))
    for path, why in report.skipped:
        _skip(path, why)
    for notice in report.notices:
        print(f"warning: {notice}", file=sys.stderr)
    if not report.n_records and not reference and not ledgers:
        where = ", ".join(map(str, paths)) or "results/"
        raise UserError(f"no records found in {where}", hint="run a suite first, or add --reference to render the "
                                                             "published comparison on its own")
    writer = get_format(fmt)
    if args.output is None:
        sys.stdout.write(writer.render(report))
        return 0
    for path in _write(args.output, lambda: writer.write(report, args.output)):
        print(f"wrote {path}", file=sys.stderr)
    return 0
