"""Suite YAML: parsing, validation (file:line messages) and matrix expansion."""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import limits, redact
from .envs.spec import check_env_name, parse_env_mapping
from .errors import UserError
from .power.registry import SAMPLER_NAMES, check_interval_ms, check_options, check_samplers
from .prices import parse_prices
from .profile import check_names
from .schema import Field, Where, check_value, line_of, positive, suggest, unknown_key, validate
from .shapes import parse_mix
from .workloads import REGISTRY, get_backend
from .yamlio import load_yaml, plain

KINDS = ("llm", "tts", "video")

SUITE_FIELDS: dict[str, Field] = {
    "name": Field((str,), required=True, doc="every suite needs a name"),
    "description": Field((str,)),
    "machine": Field((str,)),
    "warmups": Field((int,), default=1, check=limits.int_range(0, limits.MAX_WARMUPS)),
    "repetitions": Field((int,), default=3, check=limits.int_range(1, limits.MAX_REPETITIONS)),
    "power": Field((dict,)),
    "workloads": Field((list,), required=True, doc="a list of workloads to run"),
    "hosts": Field((list,)),
    "prices": Field((dict,)),
    "mix": Field((dict, str), doc="the request shape of the work (docs/costs.md)"),
    "api_models": Field((list,), doc="API models to compare against (genai-prices names)"),
}

COMMON_FIELDS: dict[str, Field] = {
    "name": Field((str,), required=True, doc="each workload needs a unique name"),
    "kind": Field((str,), required=True, choices=KINDS),
    "backend": Field((str,), required=True),
    "model": Field((str,)),
    "warmups": Field((int,), check=limits.int_range(0, limits.MAX_WARMUPS)),
    "repetitions": Field((int,), check=limits.int_range(1, limits.MAX_REPETITIONS)),
    "seed": Field((int,), default=42, check=limits.int_range(0, limits.MAX_SEED, " (63 bits)")),
    "timeout_s": Field((float,), check=positive),
    "options": Field((dict,), default={}),
    "matrix": Field((dict,)),
    "env": Field((str, dict), check=check_env_name,
                 doc="auto, none, an environment name, or {requirements: [...], python: ...}"),
}


POWER_FIELDS: dict[str, Field] = {
    "samplers": Field((list,), default=["auto"]),
    "interval_ms": Field((float,), default=500, check=check_interval_ms),
}


@dataclass
class PowerConfig:
    """`power:` of a suite: which samplers, how often, and per-sampler options."""

    samplers: list[str] = field(default_factory=lambda: ["auto"])
    interval_ms: float = 500
    options: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class WorkloadSpec:
    """One runnable workload: a suite entry with one matrix combination applied."""

    name: str                    # unique: base name plus matrix values
    base_name: str
    kind: str
    backend: str
    params: dict[str, Any]       # every key but name/kind/backend/matrix, resolved
    matrix_values: dict[str, Any] = field(default_factory=dict)
    warmups: int = 1
    repetitions: int = 3
    line: int | None = None
    suite_dir: Path = Path(".")

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name, "base_name": self.base_name, "kind": self.kind,
                "backend": self.backend, "params": self.params, "matrix": self.matrix_values,
                "warmups": self.warmups, "repetitions": self.repetitions}


@dataclass
class Suite:
    """A validated suite file."""

    name: str
    path: Path
    sha256: str
    machine: str | None
    warmups: int
    repetitions: int
    power: PowerConfig
    workloads: list[WorkloadSpec]
    hosts: list[str] = field(default_factory=list)
    prices: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    mix: dict[str, Any] | str | None = None
    api_models: list[str] = field(default_factory=list)

    def select(self, only: str | None) -> list[WorkloadSpec]:
        """The workloads to run; `only` matches a base name or an expanded name."""
        if not only:
            return list(self.workloads)
        chosen = [w for w in self.workloads if only in (w.name, w.base_name)]
        if not chosen:
            names = sorted({w.base_name for w in self.workloads})
            raise UserError(f"no workload named `{only}` in the suite", file=str(self.path),
                            field="--only", hint=suggest(only, names) or "have: " + ", ".join(names))
        return chosen

    def to_record(self) -> dict[str, Any]:
        out = {"name": self.name, "path": str(self.path), "sha256": self.sha256}
        extra = {"prices": self.prices, "mix": self.mix, "api_models": self.api_models}
        return out | {k: v for k, v in extra.items() if v}   # the analyzer reads them


def find_suite(ref: str) -> Path:
    """A path, or a suite name looked up in ./suites and the project's suites/."""
    path = Path(ref)
    if path.is_file():
        return path
    if path.suffix in (".yaml", ".yml") or "/" in ref:
        raise UserError("suite not found", file=ref, hint="check the path")
    for folder in (Path.cwd() / "suites", Path(__file__).resolve().parents[1] / "suites"):
        for suffix in (".yaml", ".yml"):
            if (folder / f"{ref}{suffix}").is_file():
                return folder / f"{ref}{suffix}"
    raise UserError(f"no suite named `{ref}`", field="suite", hint="give a path to a suite YAML file")


def suite_of(ref: Suite | str | Path | None) -> Suite | None:
    """A loaded suite from a suite, a path or a name (find_suite), or None."""
    if ref is None or isinstance(ref, Suite):
        return ref
    return load_suite(find_suite(str(ref)))


def load_suite(path: Path | str, yes: bool = False) -> Suite:
    """Read and validate a suite file; every problem is a one-line UserError. More than
    MAX_COMBINATIONS matrix combinations need `yes` (the CLI's --yes)."""
    path = Path(path)
    data = load_yaml(path, what="suite")
    redact.register_env_keys(data)   # values of variables named by *_env keys are secrets
    where = Where(str(path))
    top = validate(data, SUITE_FIELDS, where, "a suite")
    suite_dir = path.resolve().parent
    power = _power(top["power"], where.nested("power"))
    entries = top["workloads"]
    if not entries:
        raise UserError("must list at least one workload", file=str(path),
                        line=line_of(data, "workloads"), field="workloads")
    specs: list[WorkloadSpec] = []
    seen: dict[str, int] = {}
    cap = limits.MAX_COMBINATIONS_YES if yes else limits.MAX_COMBINATIONS
    for i, entry in enumerate(entries):
        entry_where = Where(str(path), f"workloads[{i}].")
        specs.extend(_workload(entry, entry_where, top, suite_dir, seen, cap - len(specs), yes))
    hosts = top["hosts"] or []
    if top["prices"]:
        parse_prices(top["prices"], source="suite", file=str(path))
    if top["mix"] is not None:
        parse_mix(data["mix"], file=str(path))
    api_models = check_names(data, "api_models", str(path))
    return Suite(name=top["name"], path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                 machine=top["machine"], warmups=top["warmups"], repetitions=top["repetitions"],
                 power=power, workloads=specs, hosts=[str(h) for h in hosts],
                 prices=dict(top["prices"] or {}), description=top["description"] or "",
                 mix=plain(top["mix"]), api_models=api_models)


def _power(data: Any, where: Where) -> PowerConfig:
    if data is None:
        return PowerConfig()
    values = validate(data, POWER_FIELDS, where, "power", extra_ok=lambda k: k in SAMPLER_NAMES)
    samplers = values["samplers"]
    bad = check_samplers(samplers)
    if bad:
        raise UserError(bad[1], file=where.file, line=line_of(data, "samplers"),
                        field=f"{where.prefix}samplers[{bad[0]}]", hint=bad[2])
    options = {}
    for key in data:
        if key in SAMPLER_NAMES:
            if not isinstance(data[key], dict):
                raise UserError("sampler options must be a mapping", file=where.file,
                                line=line_of(data, key), field=where.field(key))
            options[key] = dict(data[key])
            problem = check_options(key, options[key])
            if problem:
                raise UserError(problem, file=where.file, line=line_of(data, key), field=where.field(key))
    return PowerConfig(samplers=list(samplers), interval_ms=float(values["interval_ms"]), options=options)


def _workload(entry: Any, where: Where, top: dict, suite_dir: Path,
              seen: dict[str, int], room: int = limits.MAX_COMBINATIONS, yes: bool = False) -> list[WorkloadSpec]:

    head = validate(entry, COMMON_FIELDS, where, "a workload", extra_ok=lambda k: True)
    name, kind, backend_name = head["name"], head["kind"], head["backend"]
    if name in seen:
        raise UserError(f"duplicate workload name `{name}` (first on line {seen[name]})",
                        file=where.file, line=line_of(entry, "name"), field=where.field("name"),
                        hint="workload names must be unique in a suite")
    seen[name] = line_of(entry, "name") or 0
    if backend_name not in REGISTRY[kind]:
        raise UserError(f"unknown backend `{backend_name}` for kind `{kind}`", file=where.file,
                        line=line_of(entry, "backend"), field=where.field("backend"),
                        hint=suggest(backend_name, list(REGISTRY[kind]))
                        or "one of: " + ", ".join(REGISTRY[kind]))
    try:
        cls = get_backend(kind, backend_name)
    except UserError as exc:
        raise UserError(exc.message, file=where.file, line=line_of(entry, "backend"),
                        field=where.field("backend"), hint=exc.hint) from None
    fields = {**COMMON_FIELDS, **cls.keys}
    params = validate(entry, fields, where, "a workload")
    if params.get("env") is None:
        params.pop("env", None)
    elif isinstance(params["env"], dict):
        params["env"] = parse_env_mapping(entry["env"], where.nested("env"))
    _resolve_paths(params, entry, fields, suite_dir, where)
    matrix = params.pop("matrix", None)
    for key in ("name", "kind", "backend"):
        params.pop(key)
    warmups = params.pop("warmups")
    repetitions = params.pop("repetitions")
    combos = _matrix(matrix, entry, fields, where, room, yes) if matrix else [{}]
    specs = []
    for combo in combos:
        resolved = _apply(params, combo)
        path_keys = {k: v for k, v in combo.items() if k in fields and fields[k].path}
        if path_keys:
            _resolve_paths(resolved, entry["matrix"], {k: fields[k] for k in path_keys}, suite_dir,
                           where.nested("matrix"))
        _validate_combo(cls, resolved, entry, where)
        suffix = ",".join(f"{k}={_fmt(v)}" for k, v in combo.items())
        specs.append(WorkloadSpec(
            name=f"{name}[{suffix}]" if suffix else name, base_name=name, kind=kind,
            backend=backend_name, params=resolved, matrix_values=combo,
            warmups=top["warmups"] if warmups is None else warmups,
            repetitions=top["repetitions"] if repetitions is None else repetitions,
            line=line_of(entry), suite_dir=suite_dir))
    return specs


def _fmt(value: Any) -> str:
    return re.sub(r"\s+", "_", str(value))


def _resolve_paths(params: dict, entry: Any, fields: dict[str, Field], suite_dir: Path,
                   where: Where) -> None:
    for key, spec in fields.items():
        if spec.path and params.get(key) is not None:
            try:
                resolved = (suite_dir / str(params[key])).resolve()
            except (OSError, RuntimeError):
                raise UserError(f"cannot follow the path (a symlink loop?): {params[key]}", file=where.file,
                                line=line_of(entry, key), field=where.field(key)) from None
            if not resolved.is_file():
                what = "is a folder, not a file" if resolved.is_dir() else "file not found"
                raise UserError(f"{what}: {params[key]}", file=where.file,
                                line=line_of(entry, key), field=where.field(key),
                                hint=f"paths are relative to the suite file ({suite_dir})")
            params[key] = str(resolved)


def _matrix(matrix: Any, entry: Any, fields: dict[str, Field], where: Where, room: int = limits.MAX_COMBINATIONS,
            yes: bool = False) -> list[dict[str, Any]]:
    mwhere = where.nested("matrix")
    raw = entry["matrix"]
    axes: dict[str, list] = {}
    forbidden = {"name", "kind", "backend", "matrix"}
    for key, values in matrix.items():
        key = str(key)
        top_key, _, sub = key.partition(".")
        nested = fields[top_key].nested if top_key in fields else None
        if key in forbidden or (top_key not in fields) or (sub and top_key != "options" and (
                nested is None or sub not in nested)):
            allowed = [k for k in fields if k not in forbidden] + ["options.<name>"] + [
                f"{k}.{n}" for k, f in fields.items() if f.nested for n in f.nested]
            raise unknown_key(raw, key, allowed, mwhere)
        if not isinstance(values, list) or not values:
            raise UserError("matrix values must be a non-empty list", file=where.file,
                            line=line_of(raw, key), field=mwhere.field(key),
                            hint=f"e.g. {key}: [a, b]")
        if len({repr(v) for v in values}) != len(values):
            raise UserError("matrix values repeat", file=where.file, line=line_of(raw, key),
                            field=mwhere.field(key))
        if "." not in key or nested is not None:
            spec = fields[key] if "." not in key else nested[sub]   # type: ignore[index]
            for value in values:
                check_value(raw, key, value, spec, mwhere)
        axes[key] = list(values)
    count = math.prod(len(v) for v in axes.values())
    if count > room:
        cap = limits.MAX_COMBINATIONS_YES if yes else limits.MAX_COMBINATIONS
        raise UserError(f"the matrix makes {count} runs; the suite may have at most {cap}", file=where.file,
                        line=line_of(entry, "matrix"), field=where.field("matrix"),
                        hint="trim the matrix" if yes else "trim the matrix, or pass --yes to allow up to "
                        f"{limits.MAX_COMBINATIONS_YES}")
    return [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]


def _apply(params: dict[str, Any], combo: dict[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in params.items()}
    for key, value in combo.items():
        top, dot, sub = key.partition(".")
        if dot:   # options.num_ctx, load.concurrency: set one key of a mapping
            base = out.get(top) if isinstance(out.get(top), dict) else {}
            out[top] = {**base, sub: value}
        else:
            out[key] = value
    return out


def _validate_combo(cls: Any, params: dict[str, Any], entry: Any, where: Where) -> None:
    problem = cls.validate_params(params) if hasattr(cls, "validate_params") else None
    if problem:
        key, message, *hint = problem
        raise UserError(message, file=where.file, line=line_of(entry, key), field=where.field(key),
                        hint=hint[0] if hint else None)
