"""`benchbench doctor`: what this machine has and what looks wrong."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable
from typing import Any

from .. import __version__, fingerprint
from .. import torch_util as tu
from ..envs.doctor import doctor_section as envs_doctor
from ..power.doctor import doctor_section as power_doctor
from ..remote.doctor import section as remote_doctor
from ..suite import find_suite, load_suite, suite_of
from ..workloads import backends, get_backend


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--suite", help="also check the servers and samplers this suite uses")


def collect(suite_ref: Any = None) -> dict[str, Any]:
    """Every check as data: each backend and each sampler answers for itself (`Workload.doctor`,
    `Sampler.doctor`), then the backends' own environments and the remote settings. With a suite, its
    servers, samplers and hosts."""
    fp = fingerprint.collect()
    suite = suite_of(suite_ref)
    report: dict[str, Any] = {"benchbench": __version__, "machine": fp, "backends": [], "problems": []}
    _merge(report, "power", lambda: power_doctor(suite))
    for kind, name in backends():
        try:
            cls = get_backend(kind, name)
            why = None if cls.env_requirements else cls.availability()   # else: see `environments`
        except Exception as exc:  # noqa: BLE001 - doctor reports, never crashes
            cls, why = None, f"not loadable: {exc}"
        report["backends"].append({"kind": kind, "backend": name, "available": why is None, "why": why})
        if cls is not None:
            # None without a suite (a backend's default checks); with one, only its entries ([] when none)
            specs = [s for s in suite.workloads if (s.kind, s.backend) == (kind, name)] if suite else None
            _merge(report, name, lambda cls=cls, specs=specs: cls.doctor(specs))
    _merge(report, "environments", lambda: envs_doctor(suite))
    _merge(report, "remote", lambda: remote_doctor(suite))
    report["problems"] += _problems(fp)
    return report


def _merge(report: dict[str, Any], who: str, section: Callable[[], dict[str, Any]]) -> None:
    """Add a section's entries; lists under the same key (servers of several backends) are joined."""
    try:
        found = section()
    except Exception as exc:  # noqa: BLE001 - doctor reports, never crashes
        report["problems"].append(f"{who}: {exc}")
        return
    for key, value in found.items():
        if isinstance(value, list) and isinstance(report.get(key), list):
            report[key] = report[key] + value
        else:
            report[key] = value


def _problems(fp: dict[str, Any]) -> list[str]:
    out = []
    gfx = [g for g in fp["gpus"] if g.get("vendor") == "amd" and str(g.get("gfx", "")).startswith("gfx115")]
    if gfx and "HSA_OVERRIDE_GFX_VERSION" not in fp["env"]:
        out.append("AMD gfx115x GPU without HSA_OVERRIDE_GFX_VERSION: Ollama/ROCm may silently run on CPU")
    if not fp["gpus"]:
        out.append("no GPU found (NVML, amdsmi, system_profiler): GPU workloads will run on the CPU")
    problem = _torch_problem(fp["gpus"])
    if problem:
        out.append(problem)
    return out


def _torch_problem(gpus: list[dict[str, Any]]) -> str | None:
    """A PyTorch that cannot use this machine's GPU (a CPU build, above all), where PyTorch is installed."""
    if not gpus or importlib.util.find_spec("torch") is None:
        return None
    try:
        return tu.gpu_access_problem(gpus)
    except Exception as exc:  # noqa: BLE001 - doctor reports, never crashes
        return f"PyTorch could not be checked: {exc}"


def main(args: argparse.Namespace) -> int:
    suite = load_suite(find_suite(args.suite)) if args.suite else None   # bad input: one line, exit 2
    report = collect(suite)
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
