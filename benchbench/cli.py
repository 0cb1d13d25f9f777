"""Command line: `benchbench run|report|cost|idle|doctor|...`. Each command lives in benchbench/commands/."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from . import __version__, signals
from .errors import BenchError, Interrupted, UserError
from .redact import redacted_streams
from .textsafe import one_line

# command name → (module in benchbench.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run a suite and write result records"),
    "report": ("report", "build a report from stored records"),
    "cost": ("cost", "what-if cost calculator (electricity, amortization, break-even)"),
    "idle": ("idle", "measure this machine's idle power and store it"),
    "doctor": ("doctor", "what this machine has and what looks wrong"),
    "serve-video": ("serve_video", "serve a queue of video generation jobs over HTTP"),
    "gather": ("gather", "copy records (and usage ledgers) from other hosts over SSH"),
    "watch": ("watch", "record what this machine serves and draws, interval by interval (the usage ledger)"),
    "proxy": ("proxy", "count the tokens an Ollama or OpenAI-compatible server serves (for the ledger)"),
    "ledger": ("ledger", "inspect, copy and merge usage ledgers"),
    "env": ("env", "environments for backends whose libraries conflict: list, create, remove"),
    "import": ("import_", "import results of llama-bench, llama-sweep-bench, vllm bench serve, GuideLLM"),
    "sample": ("sample", "record power to a file until stopped (for results of other tools)"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise UserError(message, hint=f"see `{self.prog} --help`")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only` (a command's name), that command's module alone is imported
    and given its arguments: the others are listed by name and help (a long-running `watch` then holds
    no report, runner or remote code)."""
    parser = _Parser(prog="benchbench", description="Benchmark local LLM, TTS and video inference "
                     "and turn the measurements into money.")
    parser.add_argument("--version", action="version", version=f"benchbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=text, description=text)
        if only is not None and name != only:
            continue
        try:
            mod = importlib.import_module(f"benchbench.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"benchbench.commands.{module}":
                raise
            sub._name_parser_map.pop(name, None)
            sub._choices_actions = [a for a in sub._choices_actions if a.dest != name]
            continue
        mod.add_arguments(cmd)
        cmd.set_defaults(_module=mod)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code. Everything printed goes through the redaction layer;
    SIGINT and SIGTERM end any command with one line and exit code 128 + the signal."""
    with redacted_streams(), signals.handled():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=next((a for a in argv if not a.startswith("-")), ""))
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "_module", None):
            parser.print_help()
            return 2
        return int(args._module.main(args) or 0)
    except UserError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except BenchError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except Interrupted as exc:
        print(f"interrupted by {exc.signal_name}" + (f": {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted by SIGINT", file=sys.stderr)
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def entry() -> None:
    """The console script: signals are handled from its first line, and only noted once it returns
    (a late signal must not raise into atexit callbacks)."""
    try:
        with signals.handled(final=True):
            code = main()
    except Interrupted as exc:   # between these handlers and main's own
        code = exc.exit_code
    sys.exit(code)


if __name__ == "__main__":
    entry()
