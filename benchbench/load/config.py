"""The suite keys of a load test (`load:`, `slo:`, `prompt_lengths:`, `prompts_file:`, `prompt_set:`)
and their resolved form.

Key by key checks (types, ranges, unknown keys) happen when the suite is read, through the nested
`Field`s below, so `concurrency: 0` is reported at its own line; checks across keys run once the
matrix is applied (`check_params`) and name the block's line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..schema import Field, non_negative, positive
from .prompt_files import read_jsonl

MODES = ("closed", "open", "sweep")
ARRIVALS = ("poisson", "constant", "gamma")
DISTS = ("fixed", "uniform", "normal", "lognormal")
PROMPT_SETS = ("chat", "summary", "coding-agent")
DEFAULT_SWEEP_POINTS = 10       # GuideLLM's sweep size
DEFAULT_PERCENTILE = 90.0


def _rate_ok(value: Any) -> str | None:
    """A positive number, or inf (`.inf` or "inf"): everything at once."""
    if isinstance(value, str):
        return None if value.strip().lower() in ("inf", ".inf", "infinity") else \
            f"must be a number of requests per second or inf, found {value!r}"
    if value != value:
        return f"must be a number, found {value!r}"
    return None if value > 0 else f"must be greater than 0, found {value!r}"


def _percentile_ok(value: Any) -> str | None:
    return None if 0 < value <= 100 else f"must be in (0, 100], found {value!r}"


def _points_ok(value: Any) -> str | None:
    return None if value >= 2 else f"must be 2 or more (synchronous, throughput, then rates between), found {value}"


LOAD_FIELDS: dict[str, Field] = {
    "mode": Field((str,), choices=MODES, doc="closed (concurrency), open (request_rate) or sweep"),
    "concurrency": Field((int,), check=positive, doc="closed loop: users, each sending when the last ends"),
    "request_rate": Field((float, str), check=_rate_ok, doc="open loop: requests/s, or inf"),
    "arrival": Field((str,), choices=ARRIVALS, doc="open loop inter-arrival times"),
    "burstiness": Field((float,), check=positive, doc="gamma shape (1 = Poisson; below 1 burstier)"),
    "max_concurrency": Field((int,), check=positive, doc="open loop: at most this many in flight"),
    "requests": Field((int,), check=positive, doc="requests per load point"),
    "duration_s": Field((float,), check=positive, doc="seconds of sending per load point"),
    "ramp_up_s": Field((float,), check=non_negative, doc="not measured at the start"),
    "cool_down_s": Field((float,), check=non_negative, doc="not measured at the end"),
    "points": Field((int,), check=_points_ok, doc="sweep: load points in all"),
    "seed": Field((int,), doc="arrivals and prompt lengths; default the workload's seed"),
    "rows": Field((str,), choices=("csv", "parquet"), doc="per-request rows beside the record"),
}

SLO_FIELDS: dict[str, Field] = {
    "ttft_s": Field((float,), check=positive, doc="time to first token"),
    "tpot_s": Field((float,), check=positive, doc="time per output token after the first"),
    "e2e_s": Field((float,), check=positive, doc="request sent to last token"),
    "percentile": Field((float,), check=_percentile_ok, doc="a load point meets the SLOs at this percentile"),
}

DIST_FIELDS: dict[str, Field] = {
    "dist": Field((str,), choices=DISTS),
    "value": Field((int,), check=positive),
    "min": Field((int,), check=positive),
    "max": Field((int,), check=positive),
    "mean": Field((float,), check=positive),
    "sd": Field((float,), check=non_negative),
}

LENGTH_FIELDS: dict[str, Field] = {
    "input": Field((int, dict), check=positive, nested=DIST_FIELDS, doc="prompt tokens"),
    "output": Field((int, dict), check=positive, nested=DIST_FIELDS, doc="max_tokens of each request"),
    "seed": Field((int,)),
}

LOAD_KEYS: dict[str, Field] = {
    "load": Field((dict,), nested=LOAD_FIELDS, doc="a load test: concurrency, request_rate or mode: sweep"),
    "slo": Field((dict,), nested=SLO_FIELDS, doc="service-level objectives for goodput"),
    "prompt_lengths": Field((dict,), nested=LENGTH_FIELDS, doc="input/output token length distributions"),
    "prompts_file": Field((str,), path=True, doc="JSONL: {prompt} or {messages}, optional max_tokens"),
    "prompt_set": Field((str,), choices=PROMPT_SETS, doc="a prompt set shipped with benchbench"),
}
LOAD_ONLY = ("slo", "prompt_lengths", "prompts_file", "prompt_set")


@dataclass(frozen=True)
class Dist:
    """A token-length distribution: fixed value, uniform [min, max], normal or lognormal (mean, sd)."""

    dist: str = "fixed"
    value: int | None = None
    low: int | None = None
    high: int | None = None
    mean: float | None = None
    sd: float | None = None

    def describe(self) -> str:
        if self.dist == "fixed":
            return str(self.value)
        if self.dist == "uniform":
            return f"uniform {self.low}-{self.high}"
        return f"{self.dist} mean {self.mean:g} sd {self.sd:g}"


@dataclass(frozen=True)
class SLO:
    ttft_s: float | None = None
    tpot_s: float | None = None
    e2e_s: float | None = None
    percentile: float = DEFAULT_PERCENTILE

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.ttft_s, self.tpot_s, self.e2e_s))

    def to_dict(self) -> dict[str, Any]:
        return {"ttft_s": self.ttft_s, "tpot_s": self.tpot_s, "e2e_s": self.e2e_s, "percentile": self.percentile}


@dataclass(frozen=True)
class LoadConfig:
    """One workload's load block, resolved (mode inferred, defaults applied)."""

    mode: str
    concurrency: int | None = None
    request_rate: float | None = None        # math.inf: all at once
    arrival: str = "poisson"
    burstiness: float = 1.0
    max_concurrency: int | None = None
    requests: int | None = None
    duration_s: float | None = None
    ramp_up_s: float = 0.0
    cool_down_s: float = 0.0
    points: int = DEFAULT_SWEEP_POINTS
    seed: int = 42
    rows: str = "csv"
    slo: SLO = field(default_factory=SLO)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("mode", "concurrency", "request_rate", "arrival", "burstiness",
                                              "max_concurrency", "requests", "duration_s", "ramp_up_s",
                                              "cool_down_s", "seed")}
        if self.mode == "sweep":
            out["points"] = self.points
        if out["request_rate"] == math.inf:
            out["request_rate"] = "inf"
        return out


def rate_value(value: Any) -> float | None:
    """A request_rate as a float (inf for "inf")."""
    if value is None:
        return None
    return math.inf if isinstance(value, str) else float(value)


def has_load(params: dict[str, Any]) -> bool:
    return isinstance(params.get("load"), dict)


def check_params(params: dict[str, Any]) -> tuple[str, ...] | None:
    """Checks across keys once the matrix is applied: None or (key, message[, hint])."""
    if not has_load(params):
        given = [k for k in LOAD_ONLY if params.get(k) is not None]
        if given:
            return (given[0], f"`{given[0]}` needs a `load:` block", "e.g. load: {concurrency: 4, requests: 40}")
        return None
    problem = _check_load(params["load"])
    if problem:
        return ("load", *problem)
    lengths = params.get("prompt_lengths") or {}
    sources = [k for k in ("prompts_file", "prompt_set", "prompt", "prompt_file", "prompt_tokens")
               if params.get(k) is not None] + (["prompt_lengths"] if lengths.get("input") is not None else [])
    if len(sources) > 1:
        return (sources[1], f"`{sources[0]}` and `{sources[1]}` both given",
                "use one prompt source (prompt_lengths.output may go with any)")
    for key in ("input", "output"):
        problem = _check_dist(lengths.get(key))
        if problem:
            return ("prompt_lengths", f"{key}: {problem[0]}", *problem[1:])
    if params.get("prompts_file"):
        read_jsonl(params["prompts_file"])   # raises the file's own file:line: field: error
    if isinstance(params.get("concurrency"), int) and params["concurrency"] > 1:
        return ("concurrency", "`concurrency` runs parallel requests without a load test",
                "with a load block use load.concurrency")
    return None


def _check_load(block: dict[str, Any]) -> tuple[str, ...] | None:
    mode = block.get("mode")
    closed, rate = block.get("concurrency") is not None, block.get("request_rate") is not None
    if closed and rate:
        return ("both `concurrency` and `request_rate` given", "concurrency is a closed loop, request_rate an "
                "open loop; cap an open loop with max_concurrency")
    inferred = "closed" if closed else "open" if rate else mode
    if inferred is None:
        return ("needs `concurrency` (closed loop), `request_rate` (open loop) or `mode: sweep`",)
    if mode is not None and mode != inferred or (mode == "sweep" and (closed or rate)):
        return (f"`mode: {mode}` does not go with `{'concurrency' if closed else 'request_rate'}`",
                "leave mode out: it follows from the keys given")
    if block.get("requests") is None and block.get("duration_s") is None:
        return ("needs `requests` or `duration_s` (how long each load point runs)",)
    if inferred == "closed":
        extra = [k for k in ("arrival", "burstiness", "max_concurrency") if block.get(k) is not None]
        if extra:
            return (f"`{extra[0]}` applies to an open loop (request_rate) or a sweep",)
    if block.get("burstiness") is not None and block.get("arrival", "gamma") != "gamma":
        return ("`burstiness` needs `arrival: gamma` (leave arrival out and it is implied)",)
    if block.get("points") is not None and inferred != "sweep":
        return ("`points` applies to `mode: sweep`",)
    duration, ramp = block.get("duration_s"), (block.get("ramp_up_s") or 0) + (block.get("cool_down_s") or 0)
    if duration is not None and ramp >= duration:
        return ("ramp_up_s + cool_down_s leave no measured window inside duration_s",)
    return None


def _check_dist(spec: Any) -> tuple[str, ...] | None:
    if spec is None or isinstance(spec, int):
        return None
    dist = spec.get("dist", "fixed")
    need = {"fixed": ("value",), "uniform": ("min", "max"), "normal": ("mean", "sd"),
            "lognormal": ("mean", "sd")}[dist]
    missing = [k for k in need if spec.get(k) is None]
    if missing:
        return (f"`dist: {dist}` needs {' and '.join(need)}",)
    extra = [k for k in ("value", "min", "max", "mean", "sd") if k in spec and k not in need]
    if extra and not (dist in ("normal", "lognormal") and set(extra) <= {"min", "max"}):
        return (f"`{extra[0]}` does not apply to `dist: {dist}`",)
    if spec.get("min") is not None and spec.get("max") is not None and spec["min"] > spec["max"]:
        return ("min is above max",)
    return None


def dist_of(spec: Any, default: int | None) -> Dist | None:
    """The Dist of a `prompt_lengths` entry (an int is a fixed value); `default` when absent."""
    if spec is None:
        return Dist("fixed", value=default) if default is not None else None
    if isinstance(spec, int):
        return Dist("fixed", value=spec)
    return Dist(spec.get("dist", "fixed"), value=spec.get("value"), low=spec.get("min"), high=spec.get("max"),
                mean=spec.get("mean"), sd=spec.get("sd"))


def load_config(params: dict[str, Any]) -> LoadConfig:
    """The resolved LoadConfig of validated workload params."""
    block = params["load"]
    mode = ("closed" if block.get("concurrency") is not None else
            "open" if block.get("request_rate") is not None else "sweep")
    slo = params.get("slo") or {}
    default_arrival = "constant" if mode == "sweep" else "poisson"   # GuideLLM's sweep / vLLM's rate
    return LoadConfig(
        mode=mode, concurrency=block.get("concurrency"), request_rate=rate_value(block.get("request_rate")),
        arrival=block.get("arrival") or ("gamma" if block.get("burstiness") is not None else default_arrival),
        burstiness=float(block.get("burstiness") or 1.0),
        max_concurrency=block.get("max_concurrency"), requests=block.get("requests"),
        duration_s=block.get("duration_s"), ramp_up_s=float(block.get("ramp_up_s") or 0.0),
        cool_down_s=float(block.get("cool_down_s") or 0.0),
        points=int(block.get("points") or DEFAULT_SWEEP_POINTS),
        seed=int(block["seed"] if block.get("seed") is not None else params.get("seed") or 0),
        rows=block.get("rows") or "csv",
        slo=SLO(ttft_s=slo.get("ttft_s"), tpot_s=slo.get("tpot_s"), e2e_s=slo.get("e2e_s"),
                percentile=float(slo.get("percentile") or DEFAULT_PERCENTILE)))
