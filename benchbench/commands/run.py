"""`benchbench run SUITE.yaml`"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..errors import Interrupted, UserError
from ..limits import MAX_COMBINATIONS
from ..profile import resolve_profile
from ..progress import Progress
from ..record import load_records
from ..remote import run_remote
from ..remote.run import exit_code, host_line, record_paths
from ..reports.summary import render_text, summary_notes, summary_rows
from ..runner import Runner, RunOptions
from ..suite import Suite, find_suite, load_suite
from ..yamlio import load_yaml
from . import ensure_folder

DEFAULT_SUITE = "quickstart"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("suite", nargs="?", default=DEFAULT_SUITE,
                   help="suite file, or the name of one in suites/ (default: quickstart)")
    p.add_argument("--machine", help="machine profile: a name in machines/ or a path")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")
    p.add_argument("--resume", metavar="RUN_ID|latest", help="finish only what a run is missing")
    p.add_argument("--only", metavar="NAME", help="run one workload")
    p.add_argument("--dry-run", action="store_true", help="print the expanded plan and stop")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--yes", action="store_true", help="run a matrix larger than the cap of "
                   f"{MAX_COMBINATIONS} combinations (see docs/security.md)")
    p.add_argument("--host", action="append", metavar="NAME[=PROFILE]",
                   help="run on another machine over SSH (repeatable)")


RESUME_HINT = "finished iterations are kept; continue with `--resume latest`"


def main(args: argparse.Namespace) -> int:
    try:
        return _main(args)
    except Interrupted as exc:   # start-up, between workloads, the summary: one line and the hint
        exc.hint = None if args.dry_run else RESUME_HINT
        raise


def _main(args: argparse.Namespace) -> int:
    suite_path = find_suite(args.suite)
    suite = load_suite(suite_path, yes=args.yes)
    if args.host or suite.hosts:
        return _remote(suite, args)
    profile = resolve_profile(args.machine, suite_path) if args.machine else _suite_profile(suite)

    progress = Progress(quiet=args.quiet or args.json)
    # libraries' own log lines (transformers' deprecation notices...) stay off the terminal; Python
    # warnings are kept in each record's `library_warnings` by the runner
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if not progress.bars:  # nor the model libraries' own (transformers' "Loading weights", hub downloads)
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    runner = Runner(suite, profile, RunOptions(results=args.results, resume=args.resume,
                                               only=args.only), progress)
    if args.dry_run:
        return _dry_run(runner, args.json)

    ensure_folder(args.results)
    outcome = runner.run()
    _report(outcome, args.json)
    return outcome.exit_code


def _suite_profile(suite):
    """The profile the suite's `machine:` names; a bad name points at that line of the suite."""
    if not suite.machine:
        return None
    try:
        return resolve_profile(suite.machine, suite.path)
    except UserError as exc:
        if exc.file and exc.file != suite.machine:  # the profile file itself is wrong: its own file and line
            raise
        line = load_yaml(suite.path, what="suite").line_of("machine")
        what = exc.message if exc.file is None else f"{exc.message}: {suite.machine}"
        raise UserError(what, file=str(suite.path), line=line, field="machine", hint=exc.hint) from None


def _dry_run(runner, as_json: bool) -> int:
    plan = runner.plan()
    if as_json:
        json.dump({"machine": runner.machine, "results": str(runner.folder), "workloads": plan},
                  sys.stdout, indent=1, default=str)
        print()
        return 0
    suite = runner.suite
    print(f"suite {suite.name} ({suite.path}) on machine {runner.machine}")
    print(f"records to {runner.folder}/")
    print(f"power: samplers {', '.join(suite.power.samplers)} every {suite.power.interval_ms:g} ms")
    for row in plan:
        print(f"- {row['name']}: {row['kind']}/{row['backend']}, {row['warmups']} warmup(s) + "
              f"{row['repetitions']} measured; available: {row['available']}")
        for key, value in row["params"].items():
            if value not in (None, {}, []):
                print(f"    {key}: {value}")
        for key, value in row["plan"].items():
            print(f"    plan.{key}: {value}")
    return 0


def _report(outcome, as_json: bool) -> None:
    records = load_records([p for p in outcome.paths if p.exists()])
    for rec in records:  # bad input found while running (e.g. a model that is not here): one line each
        for err in rec.get("errors", []):
            if err.get("type") == "UserError":
                print(f"error: {rec['workload']['name']}: {err['message']}", file=sys.stderr)
    if as_json:
        json.dump({"session_id": outcome.session_id, "records": [str(p) for p in outcome.paths],
                   "failed": outcome.failed, "interrupted": outcome.interrupted,
                   "summary": summary_rows(records)}, sys.stdout, indent=1)
        print()
    else:
        print()
        print(render_text(summary_rows(records)), end="")
        for note in summary_notes(records):
            print(note)
        if outcome.failed:
            print(f"\n{len(outcome.failed)} workload(s) failed: {', '.join(outcome.failed)}")
    if outcome.interrupted:   # the one line, on stderr like every phase's
        print(f"interrupted by {Interrupted(outcome.signum).signal_name}: {RESUME_HINT}", file=sys.stderr)


def _remote(suite: Suite, args: argparse.Namespace) -> int:
    """Part 9: the suite on other hosts; one line per host, then the summary of the records gathered."""
    outcomes = run_remote(suite, args)
    paths = record_paths(outcomes)
    records = load_records(paths) if paths else []
    rows = summary_rows(records) if records else []
    if args.json:
        json.dump({"hosts": [o.to_dict() for o in outcomes], "summary": rows, "exit_code": exit_code(outcomes)},
                  sys.stdout, indent=1, default=str)
        print()
    else:
        for o in outcomes:
            print(host_line(o, dry_run=args.dry_run))
        if rows:
            print()
            print(render_text(rows), end="")
            for note in summary_notes(records):
                print(note)
    return exit_code(outcomes)
