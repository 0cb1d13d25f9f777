"""`benchbench watch`: record, every interval, the energy this machine draws and the work its servers serve."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from ..ledger import setup, units
from ..ledger.power import PowerTap, build
from ..ledger.proxy import ProxyServer, ProxySource
from ..ledger.recorder import Recorder
from . import check_power_flags, plug_options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ledger", type=Path, help="the ledger file (default: $BENCHBENCH_LEDGER, else "
                                               "~/.local/share/benchbench/ledger.db)")
    p.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                   help="length of one interval (default 60)")
    p.add_argument("--machine", help="machine profile (name in machines/ or path): its name labels the "
                                     "ledger, its prices and hardware cost go with it; default: the host name")
    p.add_argument("--samplers", nargs="+", default=["auto"], metavar="NAME",
                   help="power samplers (default: auto); `none` records no energy")
    p.add_argument("--power-interval-ms", type=float, default=1000.0, metavar="MS",
                   help="power readings of channels without an energy counter (default 1000)")
    p.add_argument("--url", action="append", metavar="[SAMPLER=]URL",
                   help="a smart plug, e.g. shelly=http://192.168.1.50 (repeatable)")
    p.add_argument("--llamacpp", action="append", default=[], metavar="URL",
                   help="a llama-server started with --metrics, e.g. http://127.0.0.1:8080 (repeatable)")
    p.add_argument("--vllm", action="append", default=[], metavar="URL",
                   help="a vLLM server, e.g. http://127.0.0.1:8000 (repeatable)")
    p.add_argument("--api-key-env", metavar="NAME", help="environment variable holding the servers' API key")
    p.add_argument("--proxy", action="append", default=[], metavar="[HOST:]PORT=UPSTREAM",
                   help="also run a counting proxy, e.g. 11435=http://127.0.0.1:11434 for Ollama (repeatable)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: never)")
    p.add_argument("--unit", choices=("systemd", "launchd"),
                   help="print the service definition that runs this watch command, and exit (docs/ledger.md)")


def main(args: argparse.Namespace) -> int:
    # httpx imports its own command-line client (click, rich) when they are installed: ~6 MB that a
    # process running for months never uses. A None entry makes that one import fail, as httpx allows.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    interval = setup.check_interval(args.interval)
    check_power_flags(args.power_interval_ms, args.samplers, "--power-interval-ms")
    if args.duration is not None and not 0 < args.duration < float("inf"):
        raise UserError(f"must be more than 0, found {args.duration:g}", field="--duration")
    machine, profile = setup.machine_and_profile(args.machine)
    if args.unit:
        return _unit(args, getattr(profile, "path", None))
    sources = setup.work_sources(args.llamacpp, args.vllm, args.api_key_env)
    proxies = [_proxy(spec) for spec in args.proxy]
    sources += [source for _, source in proxies]
    power = _power(args, interval, profile)
    ledger = args.ledger or setup.default_ledger()
    recorder = Recorder(ledger, machine, interval, power=power, sources=sources,
                        profile=profile.to_record() if profile else None)
    for server, _ in proxies:
        server.start()
        print(f"watch: proxy {server.address} → {server.upstream.url}", flush=True)
    print(f"watch: recording into {ledger} every {interval:g} s", flush=True)
    setup.run_until_signalled(recorder, args.duration, on_stop=lambda: [s.stop() for s, _ in proxies])
    return 0


def _power(args: argparse.Namespace, interval: float, profile: object) -> PowerTap | None:
    if all(name == "none" for name in args.samplers):
        return None
    plugs = {name: opts["url"] for name, opts in plug_options(args.url, args.samplers).items()}
    samplers = list(args.samplers) + [p for p in plugs if p not in args.samplers and "auto" not in args.samplers]
    return PowerTap(build(samplers, interval, args.power_interval_ms / 1000, profile, plugs))


def _proxy(spec: str) -> tuple[ProxyServer, ProxySource]:
    listen, sep, upstream = spec.partition("=")
    if not sep:
        raise UserError(f"not [HOST:]PORT=UPSTREAM: {spec!r}", field="--proxy",
                        hint="e.g. 11435=http://127.0.0.1:11434")
    host, port = setup.parse_listen(listen, "--proxy")
    source = ProxySource(setup.check_url(upstream, "--proxy"))
    try:
        server = ProxyServer(host, port, source.url, source.counter)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--proxy") from None
    return server, source


def _unit(args: argparse.Namespace, profile_path: str | None) -> int:
    """Print the systemd unit or launchd plist for these options (paths made absolute: a service
    does not start in this folder)."""
    argv = ["--interval", f"{args.interval:g}"]
    if args.machine:
        argv += ["--machine", profile_path or args.machine]
    if args.samplers != ["auto"]:
        argv += ["--samplers", *args.samplers]
    if args.power_interval_ms != 1000.0:
        argv += ["--power-interval-ms", f"{args.power_interval_ms:g}"]
    for flag, values in (("--url", args.url or []), ("--llamacpp", args.llamacpp), ("--vllm", args.vllm),
                         ("--proxy", args.proxy)):
        for value in values:
            argv += [flag, value]
    if args.api_key_env:
        argv += ["--api-key-env", args.api_key_env]
    ledger = str(args.ledger.expanduser().resolve()) if args.ledger else None
    print(units.systemd_unit(argv, ledger) if args.unit == "systemd" else units.launchd_plist(argv, ledger), end="")
    return 0
