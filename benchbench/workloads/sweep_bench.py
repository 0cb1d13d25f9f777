"""`kind: llm, backend: sweep-bench`: ik_llama.cpp's llama-sweep-bench, with power per window.

llama-sweep-bench fills the context one ubatch at a time; at each depth `n_kv` it first generates `tg`
tokens (`speed_tg`), then processes a ubatch of `pp` prompt tokens (`speed_pp`), and prints one row
(`--output-format jsonl`: n_kv, pp, tg, t_pp, speed_pp, t_tg, speed_tg, ...; on stderr, through its
log). It also prints `tg_start for n_kv = N` / `tg_end for n_kv = N` on stderr around each generation,
so each row's decode window is [tg_start, tg_end] and its prefill window [tg_end, the row's line].
Where those markers are missing the windows are taken from t_tg and t_pp before the row's line.

Iteration metrics cover the whole sweep: speeds are tokens ÷ the tool's seconds over every row (one
sequence); the machine's throughput counts over the sweep's window, from the first decode to the last
prefill, which the iteration's energy covers too (output_tokens = Σ tg, input_tokens = Σ pp; the runner
divides). prefill_/decode_ W, J and J/token are over the prefill and the decode windows apart (Σ J ÷ Σ
tokens). The curves against depth, with W and J/token per window, are in `raw.rows` and in the report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import WorkloadError
from ..schema import Field, positive
from .base import IterationContext, IterationResult, RunWarning, Workload
from .llama_bench import WINDOW_METRICS
from .llamacpp_tools import (
    TOOL_KEYS,
    ToolBackend,
    find_binary,
    find_model,
    power_figures,
    run_tool,
    sweep_row,
    window_energy,
)
from .llm_common import ITERATION_METRICS, LLM_METRICS

RESERVED = ("-m", "--model", "-c", "--ctx-size", "--output-format")
MARKER = re.compile(r"tg_(start|end) for n_kv = (\d+)")


class SweepBench(ToolBackend, Workload):
    """llama-sweep-bench over a context size; speed and energy per depth window."""

    kind = "llm"
    backend = "sweep-bench"
    tool = "llama-sweep-bench"
    reserved = RESERVED
    primary_metrics = ("tg_tok_s", "pp_tok_s")
    summary_metrics = ("pp_tok_s", "tg_tok_s", "decode_j_per_tok")
    emits = (*LLM_METRICS, *ITERATION_METRICS, *WINDOW_METRICS, "depth_max_tokens")
    keys = {
        **TOOL_KEYS,
        "ctx_size": Field((int,), required=True, check=positive, doc="-c: the context to sweep"),
        "n_gen": Field((int,), check=positive, doc="-n: tokens generated per depth (default ubatch/4)"),
    }

    def plan(self) -> dict[str, Any]:
        return {"invocation": " ".join(self.argv("llama-sweep-bench", "MODEL"))}

    def setup(self) -> dict[str, Any]:
        self.binary = find_binary(self.params.get("binary"), "llama-sweep-bench")
        self.model_path = find_model(self.params.get("model"), self.spec.suite_dir)
        return {"binary": self.binary, "tool": "llama-sweep-bench", "model_path": self.model_path,
                "model_file_bytes": Path(self.model_path).stat().st_size}

    def argv(self, binary: str, model: str) -> list[str]:
        p = self.params
        out = [binary, "-m", model, "-c", str(p["ctx_size"]), "--output-format", "jsonl"]
        flags = {"n_gen": "-n", "threads": "-t", "n_gpu_layers": "-ngl", "batch": "-b", "ubatch": "-ub",
                 "cache_type_k": "-ctk", "cache_type_v": "-ctv", "override_tensor": "-ot"}
        for key, flag in flags.items():
            if p.get(key) is not None:
                out += [flag, str(p[key])]
        return out + [str(a) for a in p.get("args") or []]

    def run_once(self, ctx: IterationContext) -> IterationResult:
        run = run_tool(self.argv(self.binary, self.model_path), self.params.get("timeout_s"))
        lines = sorted(run.stdout + run.stderr, key=lambda x: x[0])
        rows = windowed_rows(lines)
        if run.returncode != 0 or not rows:
            what = f"exit {run.returncode}" if run.returncode != 0 else "no jsonl rows (n_kv, speed_tg)"
            raise WorkloadError(f"llama-sweep-bench failed ({what}): {run.tail()}")
        for row in rows:
            row["energy_pp"] = window_energy(ctx.energy, *row["window_pp_s"])
            row["energy_tg"] = window_energy(ctx.energy, *row["window_tg_s"])
            pp, tg = power_figures(row["energy_pp"], row.get("pp")), power_figures(row["energy_tg"], row.get("tg"))
            row.update(prefill_w=pp["w"], prefill_j_per_tok=pp["j_per_tok"], decode_w=tg["w"],
                       decode_j_per_tok=tg["j_per_tok"])
        warnings = []
        if any(r["window_source"] == "timings" for r in rows):
            warnings.append(RunWarning("power_window_estimated",
                                       "this llama-sweep-bench prints no tg_start/tg_end markers: power windows "
                                       "are taken from t_tg and t_pp before each row's line"))
        span = ("sweep", rows[0]["window_tg_s"][0], rows[-1]["window_pp_s"][1])
        return IterationResult(sweep_metrics(rows), raw={"rows": rows, "argv": run.argv[1:]}, warnings=warnings,
                               energy_window=span)


def windowed_rows(lines: list[tuple[float, str]]) -> list[dict[str, Any]]:
    """sweep-bench rows in order, each with its decode and prefill windows (time.monotonic())."""
    marks: dict[tuple[str, int], float] = {}
    rows = []
    for t, line in lines:
        m = MARKER.search(line)
        if m:
            marks[(m.group(1), int(m.group(2)))] = t
            continue
        row = sweep_row(line)
        if row is None:
            continue
        n_kv = int(row["n_kv"])
        start, end = marks.get(("start", n_kv)), marks.get(("end", n_kv))
        t_pp, t_tg = float(row.get("t_pp") or 0), float(row.get("t_tg") or 0)
        if start is not None and end is not None and start <= end <= t:
            row.update(window_tg_s=[start, end], window_pp_s=[end, t], window_source="markers")
        else:
            row.update(window_tg_s=[t - t_pp - t_tg, t - t_pp], window_pp_s=[t - t_pp, t], window_source="timings")
        rows.append(row)
    return rows


def sweep_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The sweep as one iteration: tokens ÷ seconds over every row, power over every window."""
    pp_tokens = sum(float(r.get("pp") or 0) for r in rows)
    tg_tokens = sum(float(r.get("tg") or 0) for r in rows)
    pp_s = sum(float(r.get("t_pp") or 0) for r in rows)
    tg_s = sum(float(r.get("t_tg") or 0) for r in rows)
    pp_tok_s = pp_tokens / pp_s if pp_s > 0 else None
    tg_tok_s = tg_tokens / tg_s if tg_s > 0 else None
    metrics: dict[str, Any] = {"prompt_tokens": rows[0].get("pp"), "gen_tokens": rows[0].get("tg"),
                               "prompt_s": pp_s, "gen_s": tg_s, "pp_tok_s": pp_tok_s, "tg_tok_s": tg_tok_s,
                               "input_tokens": _count(pp_tokens), "output_tokens": _count(tg_tokens),
                               "total_tokens": _count(pp_tokens + tg_tokens),
                               "depth_max_tokens": max(int(r["n_kv"]) for r in rows),
                               "ttft_s": None, "e2e_s": None, "load_s": None, "done_reason": None}
    for name, key, tokens in (("prefill", "pp", pp_tokens), ("decode", "tg", tg_tokens)):
        joules = [((r.get(f"energy_{key}") or {}).get("system") or {}).get("joules") for r in rows]
        windows = [r.get(f"window_{key}_s") for r in rows]
        seconds = sum(w[1] - w[0] if w else float(r.get(f"t_{key}") or 0) for r, w in zip(rows, windows))
        known = all(isinstance(j, (int, float)) for j in joules)
        metrics.update({f"{name}_w": sum(joules) / seconds if known and seconds > 0 else None,
                        f"{name}_j": sum(joules) if known else None,
                        f"{name}_j_per_tok": sum(joules) / tokens if known and tokens else None})
    return metrics


def _count(tokens: float) -> int | None:
    return int(tokens) if tokens else None
