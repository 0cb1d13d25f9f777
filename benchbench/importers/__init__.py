"""`benchbench import`: results of other benchmark tools → run records labelled `imported`.

One module per family: llama.cpp's tools (llama-bench json/jsonl/csv, llama-sweep-bench jsonl) in
`llamacpp.py`, serving benchmarks (`vllm bench serve` result JSON, GuideLLM benchmarks JSON) in
`serving.py`. Each reader returns `Imported` runs; `records.py` turns them into records, with power
matched by time from a `benchbench sample` file when given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UserError
from .llamacpp import read_llama_bench_file, read_sweep_bench_file
from .records import Imported, to_records
from .serving import read_guidellm, read_vllm

TOOLS = ("llama-bench", "sweep-bench", "vllm", "guidellm")


def detect(text: str) -> str | None:
    """Which tool wrote this text, from its shape; None when unknown."""
    head = text.lstrip()
    if head.startswith("{") or head.startswith("["):
        try:
            data: Any = json.loads(head)
        except ValueError:
            data = None
        if isinstance(data, dict):
            if isinstance(data.get("benchmarks"), list):
                return "guidellm"
            if "output_throughput" in data or ("duration" in data and "completed" in data):
                return "vllm"
            if "avg_ts" in data:
                return "llama-bench"
            if "n_kv" in data and "speed_tg" in data:
                return "sweep-bench"
        if isinstance(data, list) and data and isinstance(data[0], dict) and "avg_ts" in data[0]:
            return "llama-bench"
    for line in head.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if "avg_ts" in row:
                return "llama-bench"
            if "n_kv" in row and "speed_tg" in row:
                return "sweep-bench"
            if "output_throughput" in row:
                return "vllm"
    first = head.splitlines()[0] if head else ""
    if "avg_ts" in first and "," in first:
        return "llama-bench"
    return None


def read_file(path: Path, tool: str | None = None) -> list[Imported]:
    """The runs in one file (its tool detected unless given)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    tool = tool or detect(text)
    if tool is None:
        raise UserError("not a result file benchbench can import", file=str(path),
                        hint="llama-bench -o json|jsonl|csv, llama-sweep-bench --output-format jsonl, "
                             "vllm bench serve --save-result, guidellm benchmark --output-path x.json")
    readers = {"llama-bench": read_llama_bench_file, "sweep-bench": read_sweep_bench_file,
               "vllm": read_vllm, "guidellm": read_guidellm}
    try:
        runs = readers[tool](text, path)
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"not a valid {tool} result: {exc}", file=str(path)) from None
    if not runs:
        raise UserError(f"no {tool} results in the file", file=str(path))
    return runs


__all__ = ["TOOLS", "Imported", "detect", "read_file", "to_records"]
