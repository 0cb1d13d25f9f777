"""`benchbench proxy UPSTREAM`: a counting pass-through proxy in front of an Ollama or OpenAI-compatible server."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from ..ledger import setup
from ..ledger.proxy import ProxyServer, ProxySource
from ..ledger.recorder import Recorder


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("upstream", metavar="UPSTREAM", help="the server, e.g. http://127.0.0.1:11434 (Ollama)")
    p.add_argument("--listen", default="127.0.0.1:11435", metavar="[HOST:]PORT",
                   help="where clients connect (default 127.0.0.1:11435)")
    p.add_argument("--ledger", type=Path, help="the ledger file (default: $BENCHBENCH_LEDGER, else "
                                               "~/.local/share/benchbench/ledger.db)")
    p.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                   help="length of one interval (default 60)")
    p.add_argument("--machine", help="machine profile (name or path); default: the host name")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: never)")


def main(args: argparse.Namespace) -> int:
    interval = setup.check_interval(args.interval)
    host, port = setup.parse_listen(args.listen)
    source = ProxySource(setup.check_url(args.upstream, "UPSTREAM"))
    machine, profile = setup.machine_and_profile(args.machine)
    ledger = args.ledger or setup.default_ledger()
    recorder = Recorder(ledger, machine, interval, sources=[source],
                        profile=profile.to_record() if profile else None)
    try:
        server = ProxyServer(host, port, source.url, source.counter)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--listen") from None
    server.start()
    print(f"proxy: {server.address} → {source.url}, counting into {ledger} every {interval:g} s", flush=True)
    setup.run_until_signalled(recorder, args.duration, on_stop=server.stop)
    return 0
