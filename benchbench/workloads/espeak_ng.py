"""`kind: tts, backend: espeak-ng`: the espeak-ng program through a subprocess. A formant synthesizer:
no model files, nothing downloaded, runs anywhere -- how CI and the quickstart exercise the TTS path."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from ..errors import UserError, WorkloadError
from ..schema import Field, positive
from .base import IterationContext
from .tts_common import Synthesis, TTSWorkload, voice_keys, wav_info

PROGRAM = "espeak-ng"


class EspeakNG(TTSWorkload):
    """Speaks the text with `espeak-ng -w out.wav`; gen_s is the program's wall time."""

    backend = "espeak-ng"
    keys = {
        **TTSWorkload.keys,
        **voice_keys(speaker=None, language="en-us"),
        "speed_wpm": Field((int,), default=175, check=positive, doc="words per minute (-s)"),
    }

    @classmethod
    def availability(cls) -> str | None:
        if shutil.which(PROGRAM) is None:
            return "the espeak-ng program is not on PATH (apt-get install espeak-ng, brew install espeak-ng)"
        return None

    @property
    def voice(self) -> str:
        """espeak-ng's -v: the language, with `+speaker` (a variant such as m3 or f2) when given."""
        speaker = self.params.get("speaker")
        return f"{self.params['language']}+{speaker}" if speaker else self.params["language"]

    def plan(self) -> dict[str, Any]:
        return {"voice": self.voice, "speed_wpm": self.params["speed_wpm"], "model": "none (formant synthesis)"}

    def setup(self) -> dict[str, Any]:
        version = self._call(["--version"]).stdout.strip()
        check = self._call(["-v", self.voice, "-q", "."], check=False)
        if check.returncode != 0:
            raise UserError(f"espeak-ng has no voice {self.voice!r}", field="language",
                            hint="list them with: espeak-ng --voices")
        return {"espeak_ng": version, "voice": self.voice, "model_files": None, "device": "cpu"}

    def synthesize(self, text: str, wav_path: Path, ctx: IterationContext) -> Synthesis:
        args = ["-v", self.voice, "-s", str(self.params["speed_wpm"]), "-w", str(wav_path), "--stdin"]
        t0 = time.perf_counter()
        self._call(args, stdin=text)
        gen_s = time.perf_counter() - t0
        frames, rate = wav_info(wav_path)
        return Synthesis(gen_s=gen_s, samples=frames, sample_rate=rate)

    def _call(self, args: list[str], stdin: str | None = None, check: bool = True) -> Any:
        timeout = self.params.get("timeout_s") or 600
        try:
            done = subprocess.run([PROGRAM, *args], input=stdin, capture_output=True, text=True,
                                  timeout=timeout)
        except FileNotFoundError:
            raise WorkloadError("espeak-ng disappeared from PATH") from None
        except subprocess.TimeoutExpired:
            raise WorkloadError(f"espeak-ng ran past timeout_s={timeout}") from None
        if check and done.returncode != 0:
            raise WorkloadError(f"espeak-ng exited {done.returncode}: {done.stderr.strip()[:200]}")
        return done
