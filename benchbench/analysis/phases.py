"""Load points and their phases: from the records, what the shape model needs of each measured point.

A *point* is one way a machine was driven: a run's iterations (one stream, or `concurrency` requests at once), a
load point of a load run (part 12: one record per point; a sweep's `load_points`), or a llama-bench test pair.
For each it sums, over the measured iterations, the energy window W (s), its system energy E (J), the requests
finished in it, their input / cached / output tokens, and the request-seconds each request spent in prefill and in
decode, with where those phase times come from (`phase_basis`):

- `measured separately`: llama-bench ran prefill and decode as separate tests with their own energy windows;
- `server timings` (llama.cpp `timings`, Ollama durations, a load run's `server_prompt_s`/`server_gen_s`),
  `in-process timings` (transformers: the prompt's forward pass and the decode loop), or `client TTFT` (time to the
  first token as prefill, the rest as decode; under load it includes queueing): the window's energy is apportioned
  to the phases by these times;
- none: only the whole window is known (published figures, records without phase times).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..record_model import Iteration, RunRecord

BASIS_SEPARATE = "measured separately"
BASIS_SERVER = "server timings"
BASIS_IN_PROCESS = "in-process timings"
BASIS_CLIENT = "client TTFT"
SLO_KEYS = ("ttft_s", "tpot_s", "e2e_s")


@dataclass
class Point:
    """One load point of one group, its sums over the measured iterations (None: not recorded)."""

    run_id: str
    label: str
    kind: str                                   # iterations | load | sweep | llama-bench
    concurrency: float | None = None
    window_s: float = 0.0
    energy_j: float | None = 0.0
    requests: float = 0.0
    input_tokens: float | None = 0.0
    cached_tokens: float = 0.0
    output_tokens: float | None = 0.0
    prefill_req_s: float | None = 0.0
    decode_req_s: float | None = 0.0
    phase_basis: str | None = None
    sequential: bool = False                    # one request at a time: phases do not overlap
    separate: dict[str, float] = field(default_factory=dict)   # llama-bench: pp/tg speeds and J per token
    meets_slo: list[bool] = field(default_factory=list)
    goodput_req_s: list[float] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)   # ttft_p90_s ... as measured
    e2e_samples: list[float] = field(default_factory=list)             # per request or iteration (non-load)
    iterations: int = 0
    slo: dict[str, Any] | None = None

    @property
    def power_w(self) -> float | None:
        return self.energy_j / self.window_s if self.energy_j is not None and self.window_s > 0 else None

    def p90(self, name: str) -> float | None:
        """A latency's 90th percentile across requests: the load run's own (mean over repetitions), else over
        the recorded requests or iterations (numpy's linear interpolation)."""
        values = self.latencies.get(f"{name}_p90_s")
        if values:
            return statistics.fmean(values)
        if name == "e2e" and self.e2e_samples:
            return percentile(self.e2e_samples, 90)
        return None

    @property
    def slo_met(self) -> bool | None:
        """True when most repetitions met the SLOs (a load point's `meets_slo`), None where not judged."""
        return sum(self.meets_slo) * 2 >= len(self.meets_slo) if self.meets_slo else None


def percentile(values: list[float], p: float) -> float:
    """numpy's default (linear) percentile, without numpy."""
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo = math.floor(k)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (k - lo)


def record_points(rec: RunRecord) -> list[Point]:
    """The points of one LLM run record, summed over its measured iterations."""
    if rec.workload.kind != "llm" or any(w.code == "throughput_unknown" for w in rec.warnings):
        return []         # output tokens of the windows unknown (a record from before Part 10): not guessed
    load = rec.workload.params.get("load")
    points: dict[str, Point] = {}
    for it in rec.measured:
        if it.metrics.get("prefill_j_per_tok") is not None or rec.workload.backend == "llama-bench":
            _add_separate(_get(points, rec, "llama-bench", "llama-bench"), it)
        elif isinstance(load, dict):
            for entry in [p.to_json() for p in it.load_points] if it.load_points else [None]:
                _add_load(points, rec, it, entry)
        else:
            _add_iteration(_get(points, rec, _stream_label(it), "iterations"), rec, it)
    facts = (rec.workload.facts or {}).get("load")
    facts_slo = facts.get("slo") if isinstance(facts, dict) else None
    for p in points.values():
        p.slo = facts_slo or p.slo
    return [p for p in points.values() if p.iterations]


def _get(points: dict[str, Point], rec: RunRecord, label: str, kind: str) -> Point:
    if label not in points:
        points[label] = Point(rec.run_id, label, kind)
    return points[label]


def _stream_label(it: Iteration) -> str:
    c = it.metrics.get("concurrency") or 1
    return "single stream" if c == 1 else f"concurrency {c:g}"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) else None


def _system_j(energy: Any) -> float | None:
    entry = (energy or {}).get("system")
    joules = entry.joules if hasattr(entry, "joules") else (entry or {}).get("joules")
    return _num(joules)


def _window_s(it: Iteration) -> float | None:
    return _num(it.energy_s)          # the energy window's seconds, else the iteration's


def _add_energy(p: Point, joules: float | None, window: float | None) -> bool:
    if window is None or window <= 0:
        return False
    p.window_s += window
    p.energy_j = None if joules is None or p.energy_j is None else p.energy_j + joules
    p.iterations += 1
    return True


def _add_tokens(p: Point, requests: float, inputs: float | None, cached: float | None, outputs: float | None) -> None:
    p.requests += requests
    p.input_tokens = None if inputs is None or p.input_tokens is None else p.input_tokens + inputs
    p.cached_tokens += cached or 0.0
    p.output_tokens = None if outputs is None or p.output_tokens is None else p.output_tokens + outputs


def _add_phases(p: Point, prefill: float | None, decode: float | None, basis: str | None) -> None:
    if prefill is None or decode is None or (p.phase_basis not in (None, basis) and p.iterations > 1):
        p.prefill_req_s = p.decode_req_s = None
        return
    p.prefill_req_s = None if p.prefill_req_s is None else p.prefill_req_s + prefill
    p.decode_req_s = None if p.decode_req_s is None else p.decode_req_s + decode
    p.phase_basis = basis


# --- one stream or `concurrency` requests per iteration ------------------------------------------------

def _add_iteration(p: Point, rec: RunRecord, it: Iteration) -> None:
    m = it.metrics
    if _num(m.get("output_tokens")) is None:
        return        # output tokens of the window unknown: not guessed
    if not _add_energy(p, _system_j(it.energy), _window_s(it)):
        return
    c = _num(m.get("concurrency")) or 1.0
    p.concurrency, p.sequential = c, c == 1
    prompt = _num(m.get("prompt_tokens"))
    inputs = _num(m.get("input_tokens")) if m.get("input_tokens") is not None else (
        prompt * c if prompt is not None else None)
    _add_tokens(p, c, inputs, _num(m.get("cache_read_tokens")), _num(m.get("output_tokens")))
    prompt_s, ttft, gen_s = _num(m.get("prompt_s")), _num(m.get("ttft_s")), _num(m.get("gen_s"))
    if prompt_s is not None:
        basis = BASIS_IN_PROCESS if rec.workload.backend == "transformers" else BASIS_SERVER
        _add_phases(p, prompt_s * c, gen_s * c if gen_s is not None else None, basis)
    else:
        _add_phases(p, ttft * c if ttft is not None else None, gen_s * c if gen_s is not None else None,
                    BASIS_CLIENT)
    per_request = [_num((r.get("metrics") or {}).get("e2e_s")) for r in it.requests]
    samples = [x for x in per_request if x is not None] or [x for x in [_num(m.get("e2e_s"))] if x is not None]
    p.e2e_samples += samples


# --- llama-bench: prefill and decode measured apart ----------------------------------------------------

def _add_separate(p: Point, it: Iteration) -> None:
    m = it.metrics
    keys = {"pp_tok_s": "pp_tok_s", "tg_tok_s": "tg_tok_s", "prefill_j_per_tok": "prefill_j_per_token",
            "decode_j_per_tok": "decode_j_per_token", "prefill_w": "prefill_w", "decode_w": "decode_w"}
    values = {ours: _num(m.get(theirs)) for theirs, ours in keys.items()}
    if values["tg_tok_s"] is None or values["decode_j_per_token"] is None:
        return
    p.iterations += 1
    p.concurrency, p.sequential, p.phase_basis = 1.0, True, BASIS_SEPARATE
    for key, value in values.items():
        if value is not None:   # mean over repetitions, kept as running sums
            p.separate[key] = p.separate.get(key, 0.0) + value
            p.separate[f"{key}__n"] = p.separate.get(f"{key}__n", 0.0) + 1


def separate_mean(p: Point, key: str) -> float | None:
    n = p.separate.get(f"{key}__n")
    return p.separate[key] / n if n else None


# --- load points (part 12) ------------------------------------------------------------------------------

def _add_load(points: dict[str, Point], rec: RunRecord, it: Iteration, entry: dict[str, Any] | None) -> None:
    if entry is None:     # one load point per iteration: its metrics are the iteration's
        raw = (it.raw or {}).get("load") or {}
        label, plan, m = raw.get("label") or "load", raw.get("plan") or {}, it.metrics
        joules, window, kind = _system_j(it.energy), _num(m.get("window_s")), "load"
        rows_file = raw.get("requests_file")
    else:                 # a sweep's point
        label, plan, m = entry.get("label") or "point", entry.get("plan") or {}, entry.get("metrics") or {}
        joules, window = _system_j(entry.get("energy")), _num((entry.get("window") or {}).get("duration_s"))
        rows_file, kind = entry.get("requests_file"), "sweep"
    window = window or _num(m.get("window_s"))
    p = _get(points, rec, label, kind)
    if not _add_energy(p, joules, window):
        return
    c = _num(plan.get("concurrency"))
    p.concurrency = c or _num(m.get("concurrency_mean"))
    p.sequential = c == 1
    finished = (_num(m.get("req_s")) or 0.0) * window
    rows = _rows(rec, rows_file)
    if rows:
        _load_from_rows(p, rows, finished)
    else:
        _load_from_metrics(p, m, finished)
    for key in ("ttft_p90_s", "tpot_p90_s", "e2e_p90_s"):
        if _num(m.get(key)) is not None:
            p.latencies.setdefault(key, []).append(float(m[key]))
    if isinstance(m.get("meets_slo"), bool):
        p.meets_slo.append(m["meets_slo"])
    if _num(m.get("goodput_req_s")) is not None:
        p.goodput_req_s.append(float(m["goodput_req_s"]))


def _rows(rec: RunRecord, name: Any) -> list[dict[str, Any]]:
    """The requests file's rows measured in the window (status ok), or [] when it cannot be read."""
    if not isinstance(name, str) or not rec.path or not name.endswith(".csv"):
        return []
    try:
        with open(Path(rec.path).parent / Path(name).name, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return []
    return [r for r in rows if r.get("status") == "ok" and r.get("in_window") in ("True", "true", "1")]


def _cell(row: dict[str, Any], key: str) -> float | None:
    try:
        return float(row.get(key) or "nan") if row.get(key) not in (None, "") else None
    except ValueError:
        return None


def _load_from_rows(p: Point, rows: list[dict[str, Any]], finished: float) -> None:
    """Per-request means of the measured requests, scaled to the requests finished in the window."""
    n = len(rows)
    mean = lambda key: statistics.fmean(v) if len(v := [x for r in rows if (x := _cell(r, key)) is not None]) == n \
        else None  # noqa: E731
    inputs, cached, outputs = mean("input_tokens"), mean("cached_tokens"), mean("output_tokens")
    _add_tokens(p, finished, inputs * finished if inputs is not None else None, (cached or 0.0) * finished,
                outputs * finished if outputs is not None else None)
    prefill, decode = mean("server_prompt_s"), mean("server_gen_s")
    basis = BASIS_SERVER
    if prefill is None or decode is None:
        ttft, e2e = mean("ttft_s"), mean("e2e_s")
        prefill, decode, basis = ttft, (e2e - ttft if e2e is not None and ttft is not None else None), BASIS_CLIENT
    _add_phases(p, prefill * finished if prefill is not None else None,
                decode * finished if decode is not None else None, basis)


def _load_from_metrics(p: Point, m: dict[str, Any], finished: float) -> None:
    inputs, outputs = _num(m.get("input_tokens_mean")), _num(m.get("output_tokens_mean"))
    share = _num(m.get("cached_share")) or 0.0
    _add_tokens(p, finished, inputs * finished if inputs is not None else None,
                share * inputs * finished if inputs is not None else 0.0,
                outputs * finished if outputs is not None else None)
    prefill, decode = _num(m.get("server_prompt_s_delta")), _num(m.get("server_gen_s_delta"))
    if prefill is not None and decode is not None and prefill + decode > 0:
        total = prefill + decode     # the server's own seconds: their shares of the requests' time
        ttft, e2e = _num(m.get("ttft_s")), _num(m.get("e2e_s"))
        scale = (e2e * finished / total) if e2e is not None else 1.0
        _add_phases(p, prefill * scale, decode * scale, BASIS_SERVER)
        return
    ttft, e2e = _num(m.get("ttft_s")), _num(m.get("e2e_s"))
    _add_phases(p, ttft * finished if ttft is not None else None,
                (e2e - ttft) * finished if ttft is not None and e2e is not None else None, BASIS_CLIENT)


def points_of(records: Iterable[RunRecord]) -> dict[str, list[Point]]:
    """run_id → its points."""
    return {rec.run_id: record_points(rec) for rec in records if isinstance(rec, RunRecord)}
