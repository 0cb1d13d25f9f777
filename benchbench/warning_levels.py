"""Two levels of validity warnings: what can change a decision, and notes.

`warning`: the figures may not mean what they seem (a model on the CPU, an idle GPU, throttling, a
measured slow first run, failed iterations...): shown at the top of reports and printed after a run.
`note`: a fact about how a figure was made that does not change it (system power estimated, generation
stopped at the asked length...): shown beside the figures it concerns, said once per machine.
Imports nothing, so every layer can ask.
"""

from __future__ import annotations

WARNING = "warning"
NOTE = "note"

NOTES = frozenset({
    "power_estimated",          # said once per machine; every derived figure is labelled estimated anyway
    "hit_token_limit",          # expected whenever the length was fixed by max_tokens alone
    "idle_gpus_drawing_power",  # part of the running cost, not an error in any figure
    "artifact_not_saved",       # the timing is valid; only the file is missing
    "multi_token_chunks",       # a load point's ITL is per chunk gap, as vLLM's: said, not wrong
    "power_window_estimated",   # llama-bench without --progress: the window is its samples' length, placed late
})


def level(code: str) -> str:
    """`warning` or `note` for a warning code (unknown codes are warnings)."""
    return NOTE if code in NOTES else WARNING


def stored_level(code: str, stored: str | None) -> str:
    """A stored warning's level: the one it carries, else (old records carry none) its code's."""
    return stored or level(code)


def is_note(warning: dict) -> bool:
    """Whether a stored warning (a record's dict) is a note (typed records: `RunWarningEntry.is_note`)."""
    return stored_level(str(warning.get("code", "")), warning.get("level")) == NOTE
