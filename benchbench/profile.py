"""Machine profiles: prices, hardware cost, idle power and overheads of one machine."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import tariff
from .errors import UserError
from .prices import parse_prices
from .schema import Field, Where, fraction, line_of, non_negative, positive, suggest, validate
from .shapes import parse_mix
from .yamlio import load_yaml, plain

PROFILE_FIELDS: dict[str, Field] = {
    "name": Field((str,), required=True, doc="a short machine name, e.g. p40-server"),
    "description": Field((str,)),
    "electricity_per_kwh": Field((float,), check=non_negative),
    "currency": Field((str,), default="USD", check=lambda v: currency_problem(v)),
    "hardware_cost": Field((float,), check=non_negative),
    "amortization_years": Field((float,), check=positive),
    "idle_w": Field((float,), check=non_negative),
    "load_w": Field((float,), check=non_negative, doc="declared system power under load"),
    "non_gpu_overhead_w": Field((float,), check=non_negative),
    "memory_bandwidth_gbs": Field((float,), check=positive),
    "utilization": Field((float,), check=fraction),
    "gpus": Field((list,)),
    "prices": Field((dict,)),
    "source": Field((str,)),
    "mix": Field((dict, str), doc="the request shape of the work (docs/costs.md)"),
    "api_models": Field((list,), doc="API models to compare against (genai-prices names)"),
    "electricity_tou": Field((list,), doc="time-of-use prices: [{days, hours, per_kwh}]"),
    "work_hours": Field((list,), doc="when the work runs: [{days, hours}]"),
    "exchange_rates": Field((dict,), doc="{USD: 0.92}: 1 USD in this profile's currency"),
}


CURRENCY = re.compile(r"[A-Z]{3}")


def currency_problem(value: str) -> str | None:
    """A currency is an ISO 4217 code (it ends up in file names, tables and charts)."""
    if CURRENCY.fullmatch(value):
        return None
    return f"must be a three-letter currency code such as USD, EUR or GBP, found {value[:20]!r}"


@dataclass
class MachineProfile:
    """The contract's machine profile. Unknown figures stay None (never invented)."""

    name: str
    electricity_per_kwh: float | None = None
    currency: str = "USD"
    hardware_cost: float | None = None
    amortization_years: float | None = None
    idle_w: float | None = None
    load_w: float | None = None
    non_gpu_overhead_w: float | None = None
    memory_bandwidth_gbs: float | None = None
    utilization: float | None = None
    description: str | None = None
    gpus: list[Any] = field(default_factory=list)
    prices: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    mix: dict[str, Any] | str | None = None
    api_models: list[str] = field(default_factory=list)
    electricity_tou: list[Any] = field(default_factory=list)
    work_hours: list[Any] = field(default_factory=list)
    exchange_rates: dict[str, float] = field(default_factory=dict)
    path: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {})}


def load_profile(path: Path | str) -> MachineProfile:
    """Read and validate one profile file."""
    path = Path(path)
    data = load_yaml(path, what="machine profile")
    values = validate(data, PROFILE_FIELDS, Where(str(path)), "a machine profile")
    for key in ("electricity_per_kwh", "hardware_cost", "amortization_years", "idle_w", "load_w",
                "non_gpu_overhead_w", "memory_bandwidth_gbs", "utilization"):
        if values[key] is not None:
            values[key] = float(values[key])
    values["gpus"] = list(values["gpus"] or [])
    values["prices"] = dict(values["prices"] or {})
    if values["prices"]:
        parse_prices(data["prices"], source="profile", file=str(path))
    if values["mix"] is not None:
        parse_mix(data["mix"], file=str(path))
    values["api_models"] = check_names(data, "api_models", str(path))
    tariff.check_profile(data, str(path))
    values["electricity_tou"] = plain(values["electricity_tou"] or [])
    values["work_hours"] = plain(values["work_hours"] or [])
    values["mix"] = plain(values["mix"])
    values["exchange_rates"] = tariff.exchange_rates(values["exchange_rates"], str(path))
    return MachineProfile(path=str(path.resolve()), **values)


def check_names(data: Any, key: str, file: str | None) -> list[str]:
    """A list of API model names (strings), or a one-line error."""
    names = data.get(key) or []
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise UserError(f"must be a model name, found {name!r}", file=file,
                            line=line_of(names) or line_of(data, key), field=f"{key}[{i}]",
                            hint="a genai-prices name such as gpt-4o-mini")
    return [str(n) for n in names]


def profile_dirs(suite_path: Path | None = None) -> list[Path]:
    """Where profile names are looked up: ./machines, beside the suite, the project's machines/."""
    dirs = [Path.cwd() / "machines"]
    if suite_path is not None:
        here = Path(suite_path).resolve().parent
        dirs += [here / "machines", here.parent / "machines"]
    dirs.append(Path(__file__).resolve().parent.parent / "machines")
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def resolve_profile(ref: str, suite_path: Path | None = None) -> MachineProfile:
    """A profile by path, or by name in machines/ folders; a one-line error when none is found."""
    as_path = Path(ref)
    if as_path.suffix in (".yaml", ".yml") or as_path.exists():
        candidates = [as_path]
        if suite_path is not None and not as_path.is_absolute():
            candidates.append(Path(suite_path).resolve().parent / as_path)
        for candidate in candidates:
            if candidate.is_file():
                return load_profile(candidate)
        raise UserError("machine profile not found", file=ref, hint="give a path or a name in machines/")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", ref):
        raise UserError(f"invalid machine profile name {ref!r}", field="machine")
    for folder in profile_dirs(suite_path):
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{ref}{suffix}"
            if candidate.is_file():
                return load_profile(candidate)
    known = sorted({p.stem for d in profile_dirs(suite_path) if d.is_dir() for p in d.glob("*.y*ml")})
    fallback = "known: " + ", ".join(known) if known else "create machines/NAME.yaml"
    raise UserError(f"no machine profile named `{ref}`", field="machine",
                    hint=suggest(ref, known) or fallback)
