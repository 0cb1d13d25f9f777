"""`benchbench import FILE... --machine NAME`: results of llama-bench, llama-sweep-bench, `vllm bench
serve` and GuideLLM → run records labelled `imported` (tool and version); with `--power FILE` (from
`benchbench sample`) their energy is matched by time and labelled so."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UserError
from ..importers import read_file, to_records
from ..power.recorded import RecordedPower
from ..profile import resolve_profile
from ..record import new_session_id, run_path, save_record
from . import ensure_folder


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="result files of the other tools")
    p.add_argument("--machine", required=True, help="the machine the results come from: a profile in machines/, "
                                                    "a profile path, or just a name")
    p.add_argument("--tool", choices=("llama-bench", "sweep-bench", "vllm", "guidellm"),
                   help="which tool wrote the files (default: detected from each file)")
    p.add_argument("--power", type=Path, metavar="SAMPLES.json",
                   help="power recorded over the same time with `benchbench sample`")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def _machine(ref: str) -> tuple[str, object]:
    """(machine name, profile or None): a known profile when the name resolves to one."""
    try:
        profile = resolve_profile(ref)
    except UserError:
        if "/" in ref or ref.endswith((".yaml", ".yml")):
            raise
        return ref, None
    return profile.name, profile


def main(args: argparse.Namespace) -> int:
    machine, profile = _machine(args.machine)
    power = RecordedPower(args.power) if args.power else None
    parsed = [(path, read_file(path, args.tool)) for path in args.files]   # every file checked before writing
    ensure_folder(args.results)
    session = new_session_id()
    written = []
    for path, runs in parsed:
        for record in to_records(runs, path, machine, profile, power, session):
            target = run_path(args.results, machine, record["suite"]["name"], record["run_id"])
            save_record(record, target)
            written.append((record, target))
    _print(written, args.json)
    return 0


def _print(written: list, as_json: bool) -> None:
    if as_json:
        json.dump([{"path": str(p), "run_id": r["run_id"], "tool": r["imported"]["tool"],
                    "version": r["imported"]["version"], "workload": r["workload"]["name"],
                    "power": r["imported"]["power"]} for r, p in written], sys.stdout, indent=1)
        print()
        return
    for record, path in written:
        imp = record["imported"]
        version = f" {imp['version']}" if imp["version"] else ""
        print(f"imported {imp['tool']}{version}: {record['workload']['name']} -> {path}")
        print(f"  power: {imp['power']}")
