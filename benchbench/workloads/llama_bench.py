"""`kind: llm, backend: llama-bench`: llama.cpp's own benchmark, with power beside it.

Each iteration runs one llama-bench invocation per test (`-p N -n 0` for prefill, `-p 0 -n M` for
decode, `-o jsonl`), so every test's power window is its own. With `--progress` (llama.cpp builds from
2025 on) llama-bench says on stderr when each repetition starts; a repetition ends `samples_ns` later,
so the window is exact and excludes model loading, warmup and depth prefill. Older builds: the window
ends when the test's line arrives and lasts the sum of its samples (said in the record).

Speeds are llama-bench's own (avg_ts: the mean of its repetitions' t/s; see its README): pp_tok_s and
tg_tok_s, one sequence's speed. Every repetition's samples_ns/samples_ts is kept. The iteration's energy
is the decode test's window (the prefill test's when there is no decode test), and the machine's
throughput counts over that same window: output_tokens = n_gen × repetitions, output_tok_s = output_tokens
÷ the window (the runner divides), so J/token = energy ÷ tokens. It sits a little below tg_tok_s: the
window also holds the gaps between repetitions (cache clears, a depth's state restored). Per test:
prefill_/decode_ W, J and J/token (the window's energy ÷ n × repetitions).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import WorkloadError
from ..schema import Field, non_negative, positive
from .base import IterationContext, IterationResult, RunWarning, Workload
from .llamacpp_tools import (
    TOOL_KEYS,
    ToolBackend,
    ToolRun,
    find_binary,
    find_model,
    help_text,
    lb_row,
    lb_test_name,
    power_figures,
    run_tool,
    version_text,
    window_energy,
)
from .llm_common import LLM_METRICS

RESERVED = ("-m", "--model", "-p", "--n-prompt", "-n", "--n-gen", "-d", "--n-depth", "-r", "--repetitions",
            "-o", "--output", "-oe", "--output-err", "-pg", "--progress")
PROGRESS = re.compile(r"benchmark (\d+)/(\d+): (prompt|generation) run (\d+)/(\d+)")
WINDOW_METRICS = tuple(f"{phase}_{s}" for phase in ("prefill", "decode") for s in ("w", "j", "j_per_tok"))


def _flash_attn(value: Any) -> str | None:
    if isinstance(value, bool) or str(value) in ("on", "off", "auto", "0", "1"):
        return None
    return "must be true, false, on, off or auto"


class LlamaBench(ToolBackend, Workload):
    """llama-bench, one invocation per test; speeds from its JSON, power per test window."""

    kind = "llm"
    backend = "llama-bench"
    tool = "llama-bench"
    reserved = RESERVED
    primary_metrics = ("tg_tok_s", "pp_tok_s")
    summary_metrics = ("pp_tok_s", "tg_tok_s", "decode_j_per_tok")
    emits = (*LLM_METRICS, "input_tokens", "output_tokens", "output_tok_s", *WINDOW_METRICS, "depth_tokens")
    keys = {
        **TOOL_KEYS,
        "n_prompt": Field((int,), default=512, check=non_negative, doc="-p: prompt tokens (0: no prefill test)"),
        "n_gen": Field((int,), default=128, check=non_negative, doc="-n: generated tokens (0: no decode test)"),
        "depth": Field((int,), default=0, check=non_negative, doc="-d: tokens already in the context"),
        "reps": Field((int,), default=5, check=positive, doc="-r: llama-bench's repetitions per test"),
        "flash_attn": Field((bool, str), check=_flash_attn, doc="-fa"),
        "n_cpu_moe": Field((int,), check=non_negative, doc="-ncmoe: MoE expert layers kept on the CPU"),
        "tensor_split": Field((str,), doc="-ts, e.g. 3/1"),
        "split_mode": Field((str,), choices=("none", "layer", "row", "tensor"), doc="-sm"),
        "main_gpu": Field((int,), check=non_negative, doc="-mg"),
        "no_kv_offload": Field((bool,), doc="-nkvo"),
    }

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        problem = super().validate_params(params)
        if problem or params["n_prompt"] or params["n_gen"]:
            return problem
        return ("n_prompt", "n_prompt and n_gen are both 0: nothing to measure")

    # --- set-up --------------------------------------------------------------------------------
    def plan(self) -> dict[str, Any]:
        return {"invocations": [" ".join(self.argv(kind, "llama-bench", "MODEL")) for kind in self.tests()]}

    def tests(self) -> list[str]:
        return [k for k, n in (("pp", self.params["n_prompt"]), ("tg", self.params["n_gen"])) if n]

    def setup(self) -> dict[str, Any]:
        self.binary = find_binary(self.params.get("binary"), "llama-bench")
        self.model_path = find_model(self.params.get("model"), self.spec.suite_dir)
        self.progress = "--progress" in help_text(self.binary)
        return {"binary": self.binary, "tool": "llama-bench", "tool_version": version_text(self.binary),
                "model_path": self.model_path, "model_file_bytes": Path(self.model_path).stat().st_size,
                "window_source": "progress" if self.progress else "samples"}

    def argv(self, kind: str, binary: str, model: str, progress: bool = True) -> list[str]:
        p = self.params
        n_prompt, n_gen = (p["n_prompt"], 0) if kind == "pp" else (0, p["n_gen"])
        out = [binary, "-m", model, "-p", str(n_prompt), "-n", str(n_gen), "-d", str(p["depth"]),
               "-r", str(p["reps"]), "-o", "jsonl"]
        flags = {"threads": "-t", "n_gpu_layers": "-ngl", "batch": "-b", "ubatch": "-ub", "cache_type_k": "-ctk",
                 "cache_type_v": "-ctv", "n_cpu_moe": "-ncmoe", "tensor_split": "-ts", "split_mode": "-sm",
                 "main_gpu": "-mg", "override_tensor": "-ot"}
        for key, flag in flags.items():
            if p.get(key) is not None:
                out += [flag, str(p[key])]
        if p.get("flash_attn") is not None:
            value = p["flash_attn"]
            out += ["-fa", ("1" if value else "0") if isinstance(value, bool) else str(value)]
        if p.get("no_kv_offload") is not None:
            out += ["-nkvo", "1" if p["no_kv_offload"] else "0"]
        if progress:
            out.append("--progress")
        return out + [str(a) for a in p.get("args") or []]

    # --- one iteration -------------------------------------------------------------------------
    def run_once(self, ctx: IterationContext) -> IterationResult:
        tests, warnings = [], []
        for kind in self.tests():
            run = run_tool(self.argv(kind, self.binary, self.model_path, self.progress),
                           self.params.get("timeout_s"))
            tests.extend(self._tests_of(run, kind, ctx.energy))
        metrics = llama_bench_metrics(tests)
        # the window the iteration's energy and throughput cover: the decode test, else the prefill test
        measured = next((t for t in tests if t["kind"] == "tg"), None) or next(iter(tests), None)
        window = (("decode" if measured["kind"] == "tg" else "prefill", *measured["window_s"])
                  if measured and measured["window_s"] else None)
        if any(t["window_source"] == "samples" for t in tests):
            warnings.append(RunWarning("power_window_estimated",
                                       "this llama-bench has no --progress: each test's power window is taken "
                                       "as the sum of its samples before its result line"))
        return IterationResult(metrics, raw={"tests": tests}, warnings=warnings, energy_window=window)

    def _tests_of(self, run: ToolRun, kind: str, energy_fn: Any) -> list[dict[str, Any]]:
        """llama-bench's result rows of one invocation, each with its window and energy."""
        rows = [(t, lb_row(_json(line))) for t, line in run.stdout if line.lstrip().startswith("{")]
        if run.returncode != 0 or not rows:
            what = f"exit {run.returncode}" if run.returncode != 0 else "no result line"
            raise WorkloadError(f"llama-bench ({kind}) failed ({what}): {run.tail()}")
        starts = _rep_starts(run.stderr, "prompt" if kind == "pp" else "generation")
        out = []
        for i, (arrived, row) in enumerate(rows):
            samples = [ns / 1e9 for ns in row.get("samples_ns") or []]
            reps = starts[i] if i < len(starts) and len(starts[i]) == len(samples) else None
            if reps:   # lines arrive a few ms late under load: the window never covers less than the samples
                end = min(reps[-1] + samples[-1], arrived)
                window, source = (min(reps[0], end - sum(samples)), end), "progress"
            else:
                window, source = (arrived - sum(samples), arrived), "samples"
            energy = window_energy(energy_fn, *window)
            out.append({"kind": kind, "test": lb_test_name(row), "argv": run.argv[1:], "row": row,
                        "window_s": list(window), "window_source": source, "rep_starts_s": reps,
                        "energy": energy})
        return out

    def check_run(self, iterations: list[dict[str, Any]]) -> list[RunWarning]:
        backends = {str(t["row"].get("backends")) for it in iterations for t in (it.get("raw") or {}).get("tests", [])}
        layers = self.params.get("n_gpu_layers")
        if backends == {"CPU"} and layers not in (None, 0):
            return [RunWarning("model_on_cpu", f"n_gpu_layers is {layers} but this llama-bench was built for the CPU "
                                               "only (backends: CPU): build it with CUDA, ROCm, Vulkan or Metal")]
        return []


def llama_bench_metrics(tests: list[dict[str, Any]]) -> dict[str, Any]:
    """Iteration metrics from llama-bench tests ({kind: pp|tg, row, energy[, energy_s]}): its speeds, the
    tokens of all repetitions (output_tokens: the decode test's, the count output_tok_s divides by its
    window), W, J and J/token per test. `energy_s`: the seconds the test's tokens took, when its energy comes
    from an approximate window around them (imports)."""
    pp = next((t for t in tests if t["kind"] == "pp"), None)
    tg = next((t for t in tests if t["kind"] == "tg"), None)
    metrics: dict[str, Any] = {"prompt_tokens": None, "prompt_s": None, "pp_tok_s": None, "gen_tokens": None,
                               "gen_s": None, "tg_tok_s": None, "input_tokens": None, "output_tokens": None,
                               "ttft_s": None, "e2e_s": None, "load_s": None, "done_reason": None,
                               **dict.fromkeys(WINDOW_METRICS)}
    if pp:
        row = pp["row"]
        tokens = test_tokens(row, "n_prompt")
        metrics.update(prompt_tokens=row.get("n_prompt"), prompt_s=(row.get("avg_ns") or 0) / 1e9 or None,
                       pp_tok_s=row.get("avg_ts"), input_tokens=tokens)
        figures = power_figures(pp["energy"], tokens, pp.get("energy_s"))
        metrics.update(prefill_w=figures["w"], prefill_j=figures["j"], prefill_j_per_tok=figures["j_per_tok"])
    if tg:
        row = tg["row"]
        tokens = test_tokens(row, "n_gen")
        metrics.update(gen_tokens=row.get("n_gen"), gen_s=(row.get("avg_ns") or 0) / 1e9 or None,
                       tg_tok_s=row.get("avg_ts"), output_tokens=tokens)
        figures = power_figures(tg["energy"], tokens, tg.get("energy_s"))
        metrics.update(decode_w=figures["w"], decode_j=figures["j"], decode_j_per_tok=figures["j_per_tok"])
    first = (pp or tg or {}).get("row") or {}
    metrics["depth_tokens"] = first.get("n_depth")
    return metrics


def test_tokens(row: dict[str, Any], field: str) -> int | None:
    """The tokens a llama-bench test processed over all its repetitions: n_prompt or n_gen × repetitions
    (its csv output has no samples: then one repetition's, to go with test_seconds)."""
    n = row.get(field)
    return int(n) * (len(row.get("samples_ns") or []) or 1) if isinstance(n, int) and n > 0 else None


def test_seconds(row: dict[str, Any]) -> float | None:
    """The seconds test_tokens took by llama-bench's clock: Σ samples_ns, else the mean repetition (csv)."""
    ns = sum(row.get("samples_ns") or []) or row.get("avg_ns")
    return ns / 1e9 if isinstance(ns, (int, float)) and ns > 0 else None


def _json(line: str) -> dict[str, Any]:
    import json

    try:
        value = json.loads(line)
    except ValueError:
        raise WorkloadError(f"llama-bench printed a line that is not JSON: {line[:100]!r}") from None
    if not isinstance(value, dict):
        raise WorkloadError(f"llama-bench printed JSON that is not an object: {line[:100]!r}")
    return value


def _rep_starts(stderr: list[tuple[float, str]], what: str) -> list[list[float]]:
    """Per benchmark (in order), the arrival times of its `<what> run r/R` progress lines."""
    by_bench: dict[int, list[float]] = {}
    for t, line in stderr:
        m = PROGRESS.search(line)
        if m and m.group(3) == what:
            by_bench.setdefault(int(m.group(1)), []).append(t)
    return [by_bench[k] for k in sorted(by_bench)]

