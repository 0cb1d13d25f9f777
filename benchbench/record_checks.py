"""The shape of a loaded record, checked before anything uses it: a record with a wrong type in a
field the analysis, the reports or `--resume` read is skipped with one line naming the file and the
field (`iterations[2].index: expected an integer, found a string`) instead of crashing them.

Interim: part 10's typed record (pydantic models) will take this job over at merge time.
"""

from __future__ import annotations

import math
from typing import Any

NUMBER = "a number"
TYPE_WORDS = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", bool: "true or false",
              NUMBER: "a number"}

# field → (expected type, required) for run records; nested lists are described below
RUN = {"run_id": (str, True), "session_id": (str, False), "status": (str, True), "machine": (dict, True),
       "workload": (dict, True), "iterations": (list, True), "warnings": (list, False), "errors": (list, False),
       "suite": (dict, False), "power": (dict, False), "idle": (dict, False), "resumes": (list, False),
       "started_at": (str, False), "finished_at": (str, False)}
WORKLOAD = {"name": (str, False), "kind": (str, False), "backend": (str, False), "params": (dict, False),
            "matrix": (dict, False), "facts": (dict, False), "base_name": (str, False),
            "warmups": (int, False), "repetitions": (int, False)}
ITERATION = {"index": (int, True), "warmup": (bool, False), "duration_s": (NUMBER, False),
             "metrics": (dict, False), "energy": (dict, False), "warnings": (list, False),
             "artifacts": (list, False), "started_at": (str, False)}
WARNING = {"code": (str, True), "message": (str, False), "iteration": (int, False)}
MACHINE = {"name": (str, False), "profile": (dict, False), "fingerprint": (dict, False)}
IDLE = {"run_id": (str, True), "machine": (dict, True), "idle": (dict, False)}


def _type_ok(value: Any, expected: Any) -> bool:
    if expected is NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _found(value: Any) -> str:
    if value is None:
        return "null"
    for t, word in ((bool, "true or false"), (int, "an integer"), (float, "a number"), (str, "a string"),
                    (list, "a list"), (dict, "a mapping")):
        if isinstance(value, t):
            return word
    return type(value).__name__


def _fields(data: dict[str, Any], spec: dict[str, tuple[Any, bool]], prefix: str) -> str | None:
    for key, (expected, required) in spec.items():
        if key not in data or (data[key] is None and not required and key != "index"):
            if required:
                return f"{prefix}{key}: missing"
            continue
        if not _type_ok(data[key], expected):
            return f"{prefix}{key}: expected {TYPE_WORDS[expected]}, found {_found(data[key])}"
    return None


def _items(items: list[Any], spec: dict[str, tuple[Any, bool]], prefix: str) -> str | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"{prefix}[{i}]: expected a mapping, found {_found(item)}"
        problem = _fields(item, spec, f"{prefix}[{i}].")
        if problem:
            return problem
    return None


def version_problem(record: Any) -> str | None:
    """schema_version must be a whole number ≥ 0 (checked before migrating)."""
    if not isinstance(record, dict):
        return f"expected a JSON object, found {_found(record)}"
    version = record.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        return f"schema_version: expected a whole number from 0, found {version!r:.40}"
    return None


def shape_problem(record: dict[str, Any]) -> str | None:
    """None, or `field: what is wrong` for the first field of the wrong shape."""
    if record.get("type", "run") != "run":
        return _fields(record, IDLE, "") or _numbers(record.get("idle") or {}, "idle.")
    problem = _fields(record, RUN, "") or _fields(record["machine"], MACHINE, "machine.") \
        or _fields(record["workload"], WORKLOAD, "workload.") \
        or _items(record["iterations"], ITERATION, "iterations") \
        or _items(record.get("warnings") or [], WARNING, "warnings")
    if problem:
        return problem
    for i, it in enumerate(record["iterations"]):
        for channel, entry in (it.get("energy") or {}).items():
            if not isinstance(entry, dict):
                return f"iterations[{i}].energy.{channel}: expected a mapping, found {_found(entry)}"
        for j, w in enumerate(it.get("warnings") or []):
            if not isinstance(w, dict) or not isinstance(w.get("code"), str):
                return f"iterations[{i}].warnings[{j}].code: missing"
    return None


def _numbers(data: dict[str, Any], prefix: str) -> str | None:
    for key, value in data.items():
        if value is not None and not _type_ok(value, NUMBER):
            return f"{prefix}{key}: expected a number, found {_found(value)}"
    return None
