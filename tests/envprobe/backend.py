"""`version-probe`: a TTS-shaped backend that reports which version of a package it imports, with
knobs to misbehave (crash, fail, print to stdout, sleep, emit a name it should not). Its law: each run
"speaks" `chars` × 10 ms of silence at 8 kHz after sleeping `sleep_s`, so gen_s ≥ sleep_s and audio_s =
chars / 100; with `tokens: N` it also counts N output tokens (so the runner derives output_tok_s)."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import time
import warnings
import wave
from pathlib import Path
from typing import Any

from benchbench.errors import WorkloadError
from benchbench.schema import Field
from benchbench.workloads.base import IterationContext, IterationResult
from benchbench.workloads.tts_common import Synthesis, TTSWorkload

SAMPLE_RATE = 8000


class ProbeWarning(UserWarning):
    """A library's own warning class (the parent has no such class: it must keep the name)."""


class VersionProbe(TTSWorkload):
    backend = "version-probe"
    emits = (*TTSWorkload.emits, "output_tokens")
    keys = {**TTSWorkload.keys,
            "package": Field((str,), default="iniconfig", doc="the distribution whose version to report"),
            "sleep_s": Field((float,), default=0.0),
            "crash_at": Field((int,), doc="os._exit(7) in this iteration"),
            "fail_at": Field((int,), doc="raise WorkloadError in this iteration"),
            "hang_at": Field((int,), doc="sleep 10 minutes in this iteration"),
            "chatter": Field((bool,), default=False, doc="print to stdout, from Python and from fd 1"),
            "pid_file": Field((str,), doc="write the process id there at setup"),
            "raw_floats": Field((int,), default=0, doc="a list of this many floats in raw (payload size)"),
            "tokens": Field((int,), doc="report this many output_tokens per run"),
            "extra_metric": Field((str,), doc="also report this metric name (1.0): strict checks must fail"),
            "warn": Field((str,), doc="raise a ProbeWarning with this text in every run, as a library would"),
            "device": Field((str,), doc="the PyTorch device it says it computes on (compute_device)")}

    @classmethod
    def doctor(cls, specs: list[Any]) -> dict[str, Any]:
        return {"probes": [f"{s.name}: reads {s.params.get('package', 'iniconfig')}" for s in specs]}

    def setup(self) -> dict[str, Any]:
        package = self.params["package"]
        module = importlib.import_module(package)
        if self.params["chatter"]:
            print("library chatter on stdout during setup")
            os.write(1, b"raw bytes on fd 1 {not json}\n")
        if self.params.get("device"):
            self.device = self.params["device"]
        if self.params.get("pid_file"):
            Path(self.params["pid_file"]).write_text(str(os.getpid()))
        return {"package": package, "version_seen": _version(package), "module_file": module.__file__,
                "executable": sys.executable, "pid": os.getpid(), "third_party_modules": third_party(),
                "sees_tests_folder": importlib.util.find_spec("env_helpers") is not None}

    def run_once(self, ctx: IterationContext) -> IterationResult:
        result = super().run_once(ctx)
        extra: dict[str, Any] = {}
        if self.params.get("tokens") is not None:
            extra["output_tokens"] = self.params["tokens"]
        if self.params.get("extra_metric"):
            extra[self.params["extra_metric"]] = 1.0
        if not extra:
            return result
        return IterationResult({**result.metrics, **extra}, raw=result.raw, warnings=result.warnings,
                               artifacts=result.artifacts)

    def synthesize(self, text: str, wav_path: Path, ctx: IterationContext) -> Synthesis:
        if self.params.get("crash_at") == ctx.index:
            print(f"fatal: probe crashed on purpose in iteration {ctx.index}", file=sys.stderr, flush=True)
            os._exit(7)
        if self.params.get("fail_at") == ctx.index:
            raise WorkloadError(f"probe failed on purpose in iteration {ctx.index}")
        if self.params["chatter"]:
            print("chatter during run_once", flush=True)
            os.write(1, b"\n{\"ok\": false}\n")
        if self.params.get("warn"):
            warnings.warn(self.params["warn"], ProbeWarning, stacklevel=1)
        t0 = time.perf_counter()
        time.sleep(600 if self.params.get("hang_at") == ctx.index else self.params["sleep_s"])
        samples = len(text) * SAMPLE_RATE // 100
        with wave.open(str(wav_path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(b"\0\0" * samples)
        gen_s = time.perf_counter() - t0
        return Synthesis(gen_s=gen_s, samples=samples, sample_rate=SAMPLE_RATE,
                         raw={"pid": os.getpid(), "version_seen": _version(self.params["package"]),
                              **({"floats": [i / 7 for i in range(self.params["raw_floats"])]}
                                 if self.params["raw_floats"] else {})})


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def third_party() -> list[str]:
    """Top-level modules loaded that are neither the standard library nor benchbench or this probe."""
    ours = {"benchbench", "envprobe", "__main__", "__mp_main__"}
    return sorted({name.split(".")[0] for name in sys.modules} - set(sys.stdlib_module_names) - ours
                  - {n for n in sys.builtin_module_names})
