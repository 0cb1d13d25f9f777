"""`benchbench doctor`: what this machine has and what looks wrong."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--suite", help="also check the servers and samplers this suite uses")


def collect(suite_ref: str | None = None) -> dict[str, Any]:
    """Every check as data; sections are added by the parts that own them."""
    from .. import __version__, fingerprint
    from ..workloads import backends, get_backend

    fp = fingerprint.collect()
    report: dict[str, Any] = {"benchbench": __version__, "machine": fp, "backends": [], "problems": []}
    for kind, name in backends():
        try:
            cls = get_backend(kind, name)
            why = None if cls.env_requirements else cls.availability()   # else: see `environments`
        except Exception as exc:  # noqa: BLE001 - doctor reports, never crashes
            why = f"not loadable: {exc}"
        report["backends"].append({"kind": kind, "backend": name, "available": why is None,
                                   "why": why})
    for section in _sections():
        try:
            report.update(section(suite_ref))
        except Exception as exc:  # noqa: BLE001
            report["problems"].append(f"{section.__module__}: {exc}")
    report["problems"] += _problems(fp)
    return report


def _sections() -> list:
    """Checks contributed by other parts (power samplers, servers, job servers)."""
    import importlib

    found = []
    for module, attr in (("benchbench.power.doctor", "doctor_section"),
                         ("benchbench.workloads.servers", "doctor_section"),
                         ("benchbench.remote", "doctor_section"),
                         ("benchbench.serve.doctor", "doctor_section"),
                         ("benchbench.envs.doctor", "doctor_section")):
        try:
            found.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError):
            continue
    return found


def _problems(fp: dict[str, Any]) -> list[str]:
    out = []
    gfx = [g for g in fp["gpus"] if g.get("vendor") == "amd" and str(g.get("gfx", "")).startswith("gfx115")]
    if gfx and "HSA_OVERRIDE_GFX_VERSION" not in fp["env"]:
        out.append("AMD gfx115x GPU without HSA_OVERRIDE_GFX_VERSION: Ollama/ROCm may silently run on CPU")
    if not fp["gpus"]:
        out.append("no GPU found (NVML, amdsmi, system_profiler): GPU workloads will run on the CPU")
    return out


def main(args: argparse.Namespace) -> int:
    if args.suite:  # a bad suite is bad input (one line, exit 2), not a warning from every section
        from ..suite import load_suite
        from .run import find_suite

        load_suite(find_suite(args.suite))
    report = collect(args.suite)
    if args.json:
        json.dump(report, sys.stdout, indent=1, default=str)
        print()
        return 0
    fp = report["machine"]
    print(f"benchbench {report['benchbench']} on {fp['hostname']}")
    print(f"  CPU     {fp['cpu']} ({fp['cores']} cores), RAM {fp['ram_gb']} GB")
    print(f"  OS      {fp['os']}; Python {fp['python']}")
    for gpu in fp["gpus"] or [{"name": "none found"}]:
        print(f"  GPU     {gpu.get('name')} {gpu.get('compute_capability', '')}".rstrip())
    print(f"  packages {', '.join(f'{k} {v}' for k, v in fp['packages'].items())}")
    for key, value in fp["env"].items():
        print(f"  env     {key}={value}")
    print("backends:")
    for b in report["backends"]:
        state = "ok" if b["available"] else f"unavailable: {b['why']}"
        print(f"  {b['kind']:5} {b['backend']:13} {state}")
    for key, value in report.items():
        if key in ("benchbench", "machine", "backends", "problems"):
            continue
        print(f"{key}:")
        for item in value if isinstance(value, list) else [value]:
            # a plain mapping reads as `key: value; ...` (classes with their own __str__ keep it)
            print(f"  {'; '.join(f'{k}: {v}' for k, v in item.items()) if type(item) is dict else item}")
    for problem in report["problems"]:
        print(f"warning: {problem}")
    return 0
