"""The typed record: pydantic models of a run record, its iterations, energy windows and warnings, and of an
idle record, in the on-disk shape (docs/internals.md). `from_json` migrates (benchbench/migrations.py) and
validates; `to_json` gives the dict that is written. Unknown keys are kept (a newer benchbench's fields survive
a round trip). Types are strict (a number is a number, not the text "3"; true is not an index; NaN is not
a duration), so whatever reads a record that loaded (the analysis, the reports, `--resume`) can trust its
shape. A record that does not validate raises RecordError naming the field: `iterations.3.duration_s:
expected a number, found 'slow'`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import BenchError
from .migrations import MIGRATIONS, SCHEMA_VERSION
from .warning_levels import NOTE, stored_level

STATUSES = ("complete", "interrupted", "failed")


class RecordError(BenchError):
    """A file that is not a valid benchbench record; `field` names where (`iterations.3.duration_s`)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True, allow_inf_nan=False)

    def to_json(self) -> dict[str, Any]:
        """The dict as stored on disk (fields that were never set are left out)."""
        return self.model_dump(mode="json", exclude_unset=True)


class RunWarningEntry(_Model):
    """A validity warning: a stable code, its level (`warning` | `note`, benchbench/warning_levels.py; records
    before Part 15 carry none: the code's level applies), a message, and the iteration it concerns (if one)."""

    code: str
    level: str | None = None
    message: str = ""
    iteration: int | None = None

    @property
    def is_note(self) -> bool:
        """A note (said beside the figures, once per machine), not a warning (top of reports)."""
        return stored_level(self.code, self.level) == NOTE


class LibraryWarningEntry(_Model):
    """A Python warning a library raised during a workload (kept off the terminal, runner.library_warnings):
    one entry per category and message, `where` it was first raised (file:line), how many times."""

    category: str
    message: str = ""
    where: str | None = None
    count: int = 1


class EnergyEntry(_Model):
    """One channel's energy over one iteration. source: counter | integrated | declared | estimated |
    published; the `system` channel also has `basis` (wall | gpu+cpu+overhead | gpu+overhead | declared)."""

    joules: float | None = None
    avg_w: float | None = None
    source: str | None = None
    basis: str | None = None
    overhead_w: float | None = None

    def watts(self, duration_s: float | None) -> float | None:
        """Mean power: avg_w, else joules ÷ duration."""
        if self.avg_w is not None:
            return self.avg_w
        return self.joules / duration_s if self.joules is not None and duration_s else None


class EnergyWindow(_Model):
    """The part of an iteration its `energy` (and throughput) covers when narrower than the iteration
    (llama-bench: the decode test's repetitions), or the window matched by time for an imported run."""

    name: str | None = None
    mono_start_s: float | None = None
    mono_end_s: float | None = None
    unix_start_s: float | None = None
    unix_end_s: float | None = None
    duration_s: float | None = None
    note: str | None = None


class LoadPoint(_Model):
    """One load point of a load sweep (docs/load.md): its plan, metrics, energy over its window, rows file."""

    label: str = "?"
    plan: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    energy: dict[str, EnergyEntry] = Field(default_factory=dict)
    window: dict[str, Any] = Field(default_factory=dict)
    requests_file: str | None = None
    server: dict[str, Any] | None = None
    warnings: list[RunWarningEntry] = Field(default_factory=list)
    interrupted: bool = False


class Iteration(_Model):
    """One iteration: timing, metrics (registry names), energy per channel, and what went wrong.
    `energy_window`: set when `energy` covers only part of the iteration (then `energy_iteration` holds the
    whole iteration's)."""

    index: int                     # which iteration (warmups first); --resume finds what is missing by it
    warmup: bool = False
    started_at: str | None = None
    duration_s: float | None = None
    mono_start_s: float | None = None
    mono_end_s: float | None = None
    wall_s: float | None = None     # a worker's iteration: the runner's time around it (protocol included)
    metrics: dict[str, Any] = Field(default_factory=dict)
    energy: dict[str, EnergyEntry] = Field(default_factory=dict)
    energy_window: EnergyWindow | None = None
    energy_iteration: dict[str, EnergyEntry] | None = None
    raw: dict[str, Any] | None = None
    artifacts: list[str] | None = None
    warnings: list[RunWarningEntry] | None = None
    error: str | None = None
    load_points: list[LoadPoint] | None = None   # a load sweep's points
    interrupted: bool = False                    # stopped by Ctrl-C; its metrics cover what had finished

    @property
    def measured(self) -> bool:
        """Counts in statistics: not a warmup, no error."""
        return not self.warmup and not self.error

    @property
    def energy_s(self) -> float | None:
        """The seconds `energy` and the throughput metrics cover: the energy window's, else the iteration's."""
        window = self.energy_window.duration_s if self.energy_window else None
        return window if window is not None else self.duration_s

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The per-request entries the server backends keep under raw.requests."""
        return [r for r in (self.raw or {}).get("requests") or [] if isinstance(r, dict)]


class SuiteInfo(_Model):
    name: str | None = None
    path: str | None = None
    sha256: str | None = None
    prices: dict[str, Any] | None = None
    mix: dict[str, Any] | str | None = None        # the request shape (benchbench/shapes.py)
    api_models: list[str] | None = None


class MachineInfo(_Model):
    name: str | None = None
    profile: dict[str, Any] | None = None
    fingerprint: dict[str, Any] | None = None

    def profile_value(self, key: str) -> Any:
        return (self.profile or {}).get(key)


class WorkloadInfo(_Model):
    name: str = "?"
    base_name: str | None = None
    kind: str | None = None
    backend: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    matrix: dict[str, Any] = Field(default_factory=dict)
    warmups: int | None = None
    repetitions: int | None = None
    facts: dict[str, Any] = Field(default_factory=dict)


class IdleSource(_Model):
    source: str | None = None
    record: str | None = None
    measured_at: str | None = None
    system_basis: str | None = None


class ImportedInfo(_Model):
    """Where an imported run came from (`benchbench import`): the tool, its version, the file and how power
    was matched."""

    tool: str
    version: str | None = None
    file: str | None = None
    sha256: str | None = None
    imported_at: str | None = None
    power: str | None = None

    @property
    def source(self) -> str:
        """`llama-bench b5163 (8cf427ff)`: the tool and its version."""
        return " ".join(str(x) for x in (self.tool, self.version) if x)


class RunRecord(_Model):
    """One run: one suite entry (one matrix combination) on one machine."""

    schema_version: int = SCHEMA_VERSION
    type: Literal["run"] = "run"
    run_id: str
    session_id: str | None = None
    status: Literal["complete", "interrupted", "failed"]
    started_at: str | None = None
    finished_at: str | None = None
    benchbench_version: str | None = None
    suite: SuiteInfo | None = None
    machine: MachineInfo
    workload: WorkloadInfo
    iterations: list[Iteration]
    power: dict[str, Any] | None = None          # samplers, channels, sampler_stats (nvml: counter_steps)...
    idle: dict[str, float | None] | None = None  # {channel: watts}
    idle_source: IdleSource | None = None
    warnings: list[RunWarningEntry] = Field(default_factory=list)
    library_warnings: list[LibraryWarningEntry] | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    resumes: list[dict[str, Any]] = Field(default_factory=list)
    reference: dict[str, Any] | None = None
    imported: ImportedInfo | None = None
    path: str | None = Field(default=None, alias="_path", exclude=True)

    @property
    def measured(self) -> list[Iteration]:
        return [it for it in self.iterations if it.measured]

    @property
    def warning_codes(self) -> list[str]:
        return sorted({w.code for w in self.warnings if w.code})


class IdleRecord(_Model):
    """A `benchbench idle` measurement: idle watts per channel (`system` with its basis)."""

    schema_version: int = SCHEMA_VERSION
    type: Literal["idle"] = "idle"
    run_id: str
    session_id: str | None = None
    status: str = "complete"
    started_at: str | None = None
    finished_at: str | None = None
    machine: MachineInfo
    idle: dict[str, float | None] = Field(default_factory=dict)   # {channel: watts}
    system_basis: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    warnings: list[RunWarningEntry] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)
    reference: dict[str, Any] | None = None
    path: str | None = Field(default=None, alias="_path", exclude=True)


Record = RunRecord | IdleRecord


def migrate(record: dict[str, Any]) -> dict[str, Any]:
    """Bring a record dict up to SCHEMA_VERSION through the update_to_N chain; RecordError when its
    schema_version is not a whole number this benchbench knows, or its shape stops a migration."""
    version = record.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise RecordError(f"expected a whole number from 0, found {_shown(version)}", "schema_version")
    if version > SCHEMA_VERSION:
        raise RecordError(f"{version!r} is newer than this benchbench understands (upgrade benchbench)",
                          "schema_version")
    while version < SCHEMA_VERSION:
        try:
            record = MIGRATIONS[version](record)
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            # a hostile or broken old record: the migration met a field of the wrong shape
            raise RecordError(f"cannot be brought up to schema {version + 1}: a field has the wrong shape "
                              f"({type(exc).__name__}: {str(exc)[:80]})", "schema_version") from None
        version = record["schema_version"]
    return record


def from_json(data: dict[str, Any] | str | bytes) -> Record:
    """A RunRecord or IdleRecord from its JSON (text or parsed), migrated; RecordError naming the field."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise RecordError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RecordError(f"expected a JSON object, found {_shown(data)}")
    data = migrate(data)
    model = IdleRecord if data.get("type", "run") == "idle" else RunRecord
    if model is RunRecord and data.get("type", "run") != "run":
        raise RecordError(f"unknown record type {data.get('type')!r}", "type")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc) from None


_EXPECTED = {"dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
             "list_type": "a list", "string_type": "text", "float_type": "a number", "float_parsing": "a number",
             "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
             "bool_type": "true or false", "bool_parsing": "true or false", "finite_number": "a finite number"}


def _shown(value: Any) -> str:
    """The value as the record's JSON wrote it: null, true and false by their JSON names."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    text = repr(value)
    return text[:40] + "..." if len(text) > 40 else text


def _first_error(exc: ValidationError) -> RecordError:
    """The first problem as `field: what` (one line; the file is added by whoever read it)."""
    err = exc.errors()[0]
    field = ".".join(str(part) for part in err["loc"]) or None
    message = err["msg"]
    if err["type"] in _EXPECTED:
        message = f"expected {_EXPECTED[err['type']]}, found {_shown(err.get('input'))}"
    elif err["type"] == "missing":
        message = "missing"
    elif err["type"] == "literal_error" and field == "status":
        message = f"unknown status {err.get('input')!r} (one of: {', '.join(STATUSES)})"
    return RecordError(message, field)
