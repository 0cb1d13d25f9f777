"""`benchbench env list|create|remove`: the environments backends with conflicting libraries run in."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..envs import backend_env, choose_env
from ..envs.build import ensure
from ..envs.spec import NAME_RE, EnvSpec, check_requirement, shared_pins
from ..envs.store import envs_root, find_envs, human_bytes, list_envs, remove
from ..errors import UserError
from ..runner import interrupt_signals
from ..suite import find_suite, load_suite
from ..workloads import backends, get_backend


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="env_command", metavar="ACTION", parser_class=type(p))
    ls = sub.add_parser("list", help="the environments in the cache, what they hold")
    ls.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    make = sub.add_parser("create", help="build environments ahead of a run",
                          description="NAME: a backend that declares its own environment (qwen3-tts), a "
                          "suite file (every environment it uses), or a new name with -r.")
    make.add_argument("targets", nargs="+", metavar="NAME|SUITE.yaml")
    make.add_argument("-r", "--requirement", action="append", default=[], help="a pip requirement (repeat)")
    make.add_argument("-c", "--constraint", action="append", default=[], help="a pip constraint (repeat)")
    make.add_argument("--python", help="a version such as 3.12 (python3.12 on PATH) or an interpreter path")
    rm = sub.add_parser("remove", help="delete environments")
    rm.add_argument("refs", nargs="*", metavar="NAME|KEY", help="a name (all its versions) or a key")
    rm.add_argument("--all", action="store_true", help="every environment in the cache")


def main(args: argparse.Namespace) -> int:
    action = getattr(args, "env_command", None)
    if action is None:
        raise UserError("say what to do: list, create or remove", field="env", hint="see `benchbench env --help`")
    return {"list": _list, "create": _create, "remove": _remove}[action](args)


# --- list ----------------------------------------------------------------------------------------

def _list(args: argparse.Namespace) -> int:
    rows = [e.summary() for e in list_envs(packages=True)]
    if args.json:
        json.dump({"root": str(envs_root()), "environments": rows}, sys.stdout, indent=1)
        print()
        return 0
    print(f"environments in {envs_root()}" + ("" if rows else ": none"))
    for r in rows:
        holds = ", ".join(f"{k} {v or 'MISSING'}" for k, v in r["holds"].items())
        size = human_bytes(r.get("size_bytes"))
        built = f"built in {r['build_s']:.0f} s with {r['installer']}" if r.get("build_s") is not None else ""
        print(f"  {r['name']}-{r['key']}  {r['status']}  Python {r['python'] or '?'}  {size}  {built}".rstrip())
        if holds:
            print(f"      holds {holds}")
    return 0


# --- create --------------------------------------------------------------------------------------

def _create(args: argparse.Namespace) -> int:
    with interrupt_signals():   # SIGTERM as Ctrl-C: the installer is stopped, nothing half-built stays
        return _create_all(args)


def _create_all(args: argparse.Namespace) -> int:
    specs = []
    for target in args.targets:
        specs += _specs_for(target, args)
    seen: set[str] = set()
    for spec in specs:
        if spec.dirname in seen:
            continue
        seen.add(spec.dirname)
        info = ensure(spec, say=lambda text: print(text, file=sys.stderr, flush=True))
        print(f"{info.name}-{info.key}  ready  {info.path}")
    return 0


def _specs_for(target: str, args: argparse.Namespace) -> list[Any]:
    if target.endswith((".yaml", ".yml")) or Path(target).is_file():
        suite = load_suite(find_suite(target))
        found = [choose_env(w.params, get_backend(w.kind, w.backend)) for w in suite.workloads]
        if not any(found):
            print(f"{suite.name}: every workload runs in this process; nothing to build", file=sys.stderr)
        return [s for s in found if s is not None]
    if args.requirement:
        if not NAME_RE.match(target):
            raise UserError(f"{target!r} is not an environment name", field="env create",
                            hint="lower-case letters, digits, `.`, `_`, `-`")
        for req in [*args.requirement, *args.constraint]:
            problem = check_requirement(req)
            if problem:
                raise UserError(problem, field="env create")
        reqs, cons = tuple(args.requirement), tuple(args.constraint)
        return [EnvSpec(name=target, requirements=reqs, constraints=cons + shared_pins(reqs + cons),
                        python=args.python, origin="created")]
    names = {b: k for k, b in backends()}
    if target in names:
        spec = backend_env(get_backend(names[target], target))
        if spec is None:
            raise UserError(f"backend `{target}` declares no environment of its own (it runs in this process)",
                            field="env create", hint=f"to make one anyway: benchbench env create {target} -r ...")
        return [spec]
    raise UserError(f"`{target}` is neither a backend with its own environment nor a suite file",
                    field="env create", hint="give -r REQUIREMENT to create an environment of that name")


# --- remove --------------------------------------------------------------------------------------

def _remove(args: argparse.Namespace) -> int:
    if not args.refs and not args.all:
        raise UserError("name the environments to remove, or --all", field="env remove")
    chosen = list_envs() if args.all else []
    for ref in args.refs:
        matches = find_envs(ref)
        if not matches:
            raise UserError(f"no environment named {ref!r}", field="env remove", hint="see `benchbench env list`")
        chosen += matches
    for info in {e.path: e for e in chosen}.values():
        remove(info)
        print(f"removed {info.path}")
    return 0
