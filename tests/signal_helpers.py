"""A benchbench process that signals itself at a chosen phase, for the signal tests.

    python tests/signal_helpers.py PHASE SIGNUM WORKDIR [run|report]

It starts a fake Ollama server in-process, writes a two-workload suite measured by a fake sampler
that starts slowly (registered as `rapl`), patches the function that begins PHASE to send SIGNUM to
this very process (so the signal lands exactly at that boundary, every time), then runs the real
console entry point (`benchbench.cli.entry`): handlers, exit codes and atexit callbacks are the
real ones. Markers on stderr (`PHASE-REACHED`, `SAMPLER-CHILD <pid>`) let the test follow it.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from benchbench.power.base import Channel, PollingSampler, Reading  # noqa: E402
from benchbench.power.stream import StreamSampler  # noqa: E402

SLOW_START_S = 0.3
PHASES = ("startup", "fingerprint", "sampler-start", "setup", "iteration", "save", "between-workloads",
          "sampler-start-2", "after-last-iteration", "summary", "double", "atexit", "report-writing",
          "report-summary", "sampler-child")
STATE: dict[str, Any] = {"phase": "", "sig": signal.SIGINT, "fired": False, "calls": {}, "nth": 1,
                         "second": False}


def fire(where: str, nth: int = 1) -> None:
    """Send the signal when `where` is reached for the nth time (once per process)."""
    calls = STATE["calls"]
    calls[where] = calls.get(where, 0) + 1
    if STATE["phase"] == where and calls[where] == nth and not STATE["fired"]:
        STATE["fired"] = True
        print("PHASE-REACHED", where, file=sys.__stderr__, flush=True)
        os.kill(os.getpid(), STATE["sig"])


class SlowSampler(PollingSampler):
    """Starts slowly (like a plug on Wi-Fi), then reads a constant 50 W package power."""

    name = "rapl"
    option_keys = ("interval_ms",)

    def open(self) -> list[Channel]:
        fire("sampler-open", nth=STATE["nth"])
        time.sleep(SLOW_START_S)
        return [Channel("cpu-package0", "cpu", "rapl", "fake slow package")]

    def read(self) -> list[Reading]:
        return [Reading("cpu-package0", 50.0, None)]


class SilentChildSampler(StreamSampler):
    """A streaming sampler whose command never writes a line (a wedged tool)."""

    name = "rapl"
    option_keys = ("interval_ms",)

    def command(self) -> list[str]:
        return ["sleep", "600"]

    def open(self) -> list[Channel]:
        self.proc = self.spawn()
        print("SAMPLER-CHILD", self.proc.pid, file=sys.__stderr__, flush=True)
        return [Channel("cpu-package0", "cpu", "rapl", "silent")]

    def parse(self, chunk: bytes, received_s: float) -> list[Reading]:
        return []


def _wrap(owner: Any, name: str, where: str, after: bool = False, nth: int = 1, also: tuple = ()) -> None:
    """Fire at `where` around owner.name; `also`: modules that imported the same function by name."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not after:
            fire(where, nth)
        result = original(*args, **kwargs)
        if after:
            fire(where, nth)
        return result

    for target in (owner, *also):
        setattr(target, name, wrapper)


def _patch(phase: str) -> None:
    import benchbench.fingerprint as fp
    import benchbench.power.registry as registry
    import benchbench.reports.summary as summary
    import benchbench.runner as runner
    import benchbench.suite as suite_mod
    from benchbench.commands import report as report_cmd
    from benchbench.commands import run as run_cmd

    registry.SAMPLERS["rapl"] = ("signal_helpers:SilentChildSampler" if phase == "sampler-child"
                                 else "signal_helpers:SlowSampler")
    _wrap(suite_mod, "load_suite", "startup", also=(run_cmd,))
    _wrap(fp, "collect", "fingerprint")
    _wrap(runner.Runner, "_setup", "setup")
    _wrap(runner.Runner, "_one", "iteration", nth=2)
    _wrap(runner.Runner, "_new_record", "between-workloads", nth=2)
    _wrap(runner.Runner, "_iterations", "after-last-iteration", after=True)
    _wrap(summary, "render_text", "summary", also=(run_cmd, report_cmd))
    _wrap(summary, "summary_rows", "report-summary", also=(run_cmd, report_cmd))
    real_save = runner.Runner._save

    def save(self: Any, record: dict, path: Path) -> None:
        fire("save", nth=2)                                # inside the (deferred) save of iteration 2
        if phase == "double" and record.get("finished_at") and not STATE["second"]:
            STATE["second"] = True
            print("PHASE-REACHED second", file=sys.__stderr__, flush=True)
            os.kill(os.getpid(), STATE["sig"])             # a second signal while saving the interrupted record
        real_save(self, record, path)

    runner.Runner._save = save
    if phase == "double":
        _wrap(runner.Runner, "_one", "double", nth=2)
    if phase == "sampler-child":   # hold the run in set-up, its sampler child running, until SIGKILLed
        def hold(self: Any, workload: Any, record: dict) -> None:
            print("HOLDING", file=sys.__stderr__, flush=True)
            time.sleep(60)

        runner.Runner._setup = hold
    if phase in ("sampler-start", "sampler-start-2"):
        STATE["phase"], STATE["nth"] = "sampler-open", 2 if phase == "sampler-start-2" else 1
    if phase == "atexit":
        import atexit

        atexit.register(lambda: (print("PHASE-REACHED atexit", file=sys.__stderr__, flush=True),
                                 os.kill(os.getpid(), STATE["sig"]), time.sleep(0.2)))
    if phase == "report-writing":
        real_replace = os.replace

        def replace(src: Any, dst: Any) -> None:
            fire("report-writing")
            real_replace(src, dst)

        os.replace = replace


def suite_text(url: str) -> str:
    entry = ("  - name: {name}\n    kind: llm\n    backend: ollama\n    model: llama3.2:3b\n    host: {url}\n"
             "    max_tokens: 4\n    retries: 0\n")
    return ("name: sig\nwarmups: 0\nrepetitions: 3\npower: {samplers: [rapl], interval_ms: 20}\nworkloads:\n"
            + entry.format(name="first", url=url) + entry.format(name="second", url=url))


def main() -> None:
    sys.modules.setdefault("signal_helpers", sys.modules[__name__])   # the registry imports it by name
    phase, signum, workdir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    command = sys.argv[4] if len(sys.argv) > 4 else "run"
    STATE["phase"], STATE["sig"] = phase, signum
    from fakes_llm_servers import FakeOllama

    fake = FakeOllama().__enter__()
    suite = workdir / "sig.yaml"
    suite.write_text(suite_text(fake.url), encoding="utf-8")
    _patch(phase)
    if command == "run":
        sys.argv = ["benchbench", "run", str(suite), "--results", str(workdir / "results")]
    else:
        sys.argv = ["benchbench", "report", str(workdir / "results"), "--no-reference",
                    *(["-o", str(workdir / "out" / "report.html")] if phase == "report-writing" else [])]
    from benchbench.cli import entry

    entry()


if __name__ == "__main__":
    main()
