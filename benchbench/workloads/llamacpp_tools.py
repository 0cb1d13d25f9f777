"""Shared by the llama.cpp tool backends (llama-bench, sweep-bench) and `benchbench import`: finding
the binary and the model, running a tool with every output line time-stamped (so power windows are
known), reading llama-bench rows (json / jsonl / csv, fields by name) and sweep-bench rows (jsonl),
and summing energy over windows.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError, WorkloadError
from ..schema import Field

# llama-bench fields and their types (tools/llama-bench/llama-bench.cpp, `test::get_fields`); a field
# not listed here is kept as it came (its schema changes between versions).
LB_INT = ("build_number", "n_batch", "n_ubatch", "n_threads", "poll", "model_size", "model_n_params",
          "n_gpu_layers", "main_gpu", "n_prompt", "n_gen", "n_depth", "avg_ns", "stddev_ns", "no_op_offload",
          "n_cpu_moe", "fit_target", "fit_min_ctx")
LB_BOOL = ("f16_kv", "no_kv_offload", "cpu_strict", "embeddings", "no_host", "repack", "use_mmap",
           "use_direct_io")
LB_FLOAT = ("avg_ts", "stddev_ts")
LB_LISTS = ("samples_ns", "samples_ts")

TOOL_KEYS: dict[str, Field] = {
    "binary": Field((str,), doc="the tool's path, else its name on PATH"),
    "threads": Field((int,), doc="-t"),
    "n_gpu_layers": Field((int,), doc="-ngl"),
    "batch": Field((int,), doc="-b"),
    "ubatch": Field((int,), doc="-ub"),
    "cache_type_k": Field((str,), doc="-ctk (f16, q8_0, ...)"),
    "cache_type_v": Field((str,), doc="-ctv"),
    "override_tensor": Field((str,), doc="-ot, e.g. exps=CPU"),
    "args": Field((list,), default=[], doc="more arguments, passed verbatim"),
}


def find_binary(value: str | None, default: str) -> str:
    """The tool's path: `binary:` (a path or a name on PATH), else `default` on PATH."""
    name = value or default
    if os.sep in name or name.startswith("."):
        path = Path(name).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise UserError(f"{name} is not an executable file", field="binary",
                        hint=f"give the path of your {default}")
    found = shutil.which(name)
    if not found:
        raise UserError(f"`{name}` is not on PATH", field="binary",
                        hint=f"set binary: /path/to/{default} (build llama.cpp or ik_llama.cpp first)")
    return found


def find_model(value: str | None, suite_dir: Path) -> str:
    """The GGUF path: absolute, or relative to the suite file, or to the working directory."""
    if not value:
        raise UserError("needs `model`: the path of a GGUF file", field="model")
    path = Path(value).expanduser()
    for candidate in ([path] if path.is_absolute() else [suite_dir / path, path]):
        if candidate.is_file():
            return str(candidate.resolve())
    raise UserError(f"model file not found: {value}", field="model",
                    hint=f"a GGUF path, absolute or relative to the suite file ({suite_dir})")


def check_args(args: Any, reserved: tuple[str, ...]) -> tuple[str, ...] | None:
    """`args:` is a list of strings and sets none of the flags benchbench sets itself."""
    if not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in args):
        return ("args", "must be a list of strings, e.g. [\"--mmap\", \"0\"]")
    for arg in map(str, args):
        if arg in reserved:
            return ("args", f"`{arg}` is set by benchbench", "use the suite key for it instead")
    return None


class ToolBackend:
    """What the llama.cpp tool backends share: the binary is per workload (`binary:`), so availability
    is always yes, `doctor` checks each suite entry's binary, and params need a model and clean `args:`."""

    tool = ""                            # the binary's name, e.g. llama-bench
    reserved: tuple[str, ...] = ()       # flags benchbench sets itself

    @classmethod
    def availability(cls) -> str | None:
        return None   # doctor() checks the binary; setup() says when it is missing

    @classmethod
    def doctor(cls, specs: list[Any] | None) -> dict[str, Any]:
        """The binary of each suite entry (without a suite: on PATH), its version, missing models."""
        return tool_doctor(specs, cls.tool)

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        if not params.get("model"):
            return ("model", "needs `model`: the path of a GGUF file")
        return check_args(params.get("args") or [], cls.reserved)


# --- running a tool --------------------------------------------------------------------------

@dataclass
class ToolRun:
    """A finished tool run: exit code and every line with its time.monotonic() arrival."""

    argv: list[str]
    returncode: int
    stdout: list[tuple[float, str]] = field(default_factory=list)
    stderr: list[tuple[float, str]] = field(default_factory=list)
    started_s: float = 0.0
    ended_s: float = 0.0

    def tail(self, n: int = 12) -> str:
        return " | ".join(line for _, line in self.stderr[-n:] if line.strip())[-1500:]


def run_tool(argv: list[str], timeout_s: float | None = None) -> ToolRun:
    """Run argv, time-stamping each output line as it arrives; kill it on timeout or interrupt."""
    result = ToolRun(argv=list(argv), returncode=-1, started_s=time.monotonic())
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                text=True, errors="replace", bufsize=1)
    except OSError as exc:
        raise WorkloadError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None

    def read(stream: Any, into: list[tuple[float, str]]) -> None:
        for line in stream:
            into.append((time.monotonic(), line.rstrip("\n")))

    readers = [threading.Thread(target=read, args=(proc.stdout, result.stdout), daemon=True),
               threading.Thread(target=read, args=(proc.stderr, result.stderr), daemon=True)]
    for t in readers:
        t.start()
    try:
        result.returncode = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise WorkloadError(f"{Path(argv[0]).name} ran longer than timeout_s={timeout_s:g} s and was stopped") \
            from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for t in readers:
            t.join(5)
    result.ended_s = time.monotonic()
    return result


def help_text(binary: str) -> str:
    """`binary --help` (both streams), '' when it can't run."""
    try:
        done = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30, errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def version_text(binary: str) -> str | None:
    """The first line of `binary --version` that names a version, else None."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith("version"):
            return line.split(":", 1)[-1].strip()
    return None


# --- llama-bench rows ------------------------------------------------------------------------

def lb_row(raw: dict[str, Any]) -> dict[str, Any]:
    """One llama-bench result, typed by field name; unknown fields kept as they came."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        out[key] = _typed(key, value)
    return out


def _typed(key: str, value: Any) -> Any:
    if key in LB_LISTS:
        if isinstance(value, str):       # csv has no sample lists; sql neither
            value = [v for v in value.replace("[", "").replace("]", "").split(",") if v.strip()]
        return [float(v) if key == "samples_ts" else int(float(v)) for v in value or []]
    if not isinstance(value, str):
        return value
    try:
        if key in LB_INT:
            return int(float(value))
        if key in LB_FLOAT:
            return float(value)
    except ValueError:
        return value
    if key in LB_BOOL:
        return value.strip().lower() in ("1", "true")
    return value


def read_llama_bench(text: str) -> list[dict[str, Any]]:
    """llama-bench output in json (a list), jsonl (one object a line) or csv (a header line)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return [lb_row(r) for r in json.loads(stripped)]
    if stripped.startswith("{"):
        return [lb_row(json.loads(line)) for line in stripped.splitlines() if line.strip().startswith("{")]
    rows = list(csv.DictReader(io.StringIO(stripped)))
    if not rows or "avg_ts" not in rows[0]:
        raise ValueError("not llama-bench output (json, jsonl or csv with an avg_ts column)")
    return [lb_row(r) for r in rows]


def lb_test_kind(row: dict[str, Any]) -> str:
    """pp, tg or pg (both), as llama-bench names its tests."""
    n_prompt, n_gen = int(row.get("n_prompt") or 0), int(row.get("n_gen") or 0)
    return "pg" if n_prompt and n_gen else ("pp" if n_prompt else "tg")


def lb_test_name(row: dict[str, Any]) -> str:
    """llama-bench's own label: pp512, tg128, pp512+tg128, with ' @ d4096' at a depth."""
    kind = lb_test_kind(row)
    n_prompt, n_gen = row.get("n_prompt"), row.get("n_gen")
    name = {"pp": f"pp{n_prompt}", "tg": f"tg{n_gen}", "pg": f"pp{n_prompt}+tg{n_gen}"}[kind]
    depth = int(row.get("n_depth") or 0)
    return name + (f" @ d{depth}" if depth else "")


# --- sweep-bench rows ------------------------------------------------------------------------

SWEEP_FIELDS = ("n_kv_max", "n_batch", "n_ubatch", "flash_attn", "n_gpu_layers", "n_threads", "n_threads_batch",
                "pp", "tg", "n_kv", "t_pp", "speed_pp", "t_tg", "speed_tg")


def sweep_row(line: str) -> dict[str, Any] | None:
    """One llama-sweep-bench jsonl row (it has n_kv and speed_tg), else None."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) and "n_kv" in row and "speed_tg" in row else None


def read_sweep_bench(text: str) -> list[dict[str, Any]]:
    rows = [r for r in map(sweep_row, text.splitlines()) if r is not None]
    if not rows:
        raise ValueError("no llama-sweep-bench jsonl rows (objects with n_kv and speed_tg)")
    return rows


# --- energy over windows ---------------------------------------------------------------------

def window_energy(energy_fn: Any, t0_s: float, t1_s: float) -> dict[str, dict[str, Any]]:
    """The monitor's per-channel energy over [t0_s, t1_s]; {} without a monitor or window."""
    if energy_fn is None or t1_s <= t0_s:
        return {}
    return energy_fn(t0_s, t1_s) or {}


def power_figures(energy: dict[str, dict[str, Any]], tokens: float | None,
                  seconds: float | None = None) -> dict[str, Any]:
    """(W, J, J/token, basis) of a window from its `system` channel (wall, or the estimate): J/token = the
    window's energy ÷ the tokens the machine made in it. `seconds`: the time the tokens took when the window
    is only known approximately around it (imports): J = its mean power × those seconds."""
    system = energy.get("system") or {}
    watts, joules = system.get("avg_w"), system.get("joules")
    if isinstance(watts, (int, float)) and seconds:
        joules = watts * seconds
    per_tok = joules / tokens if isinstance(joules, (int, float)) and tokens else None
    return {"w": watts, "j": joules, "j_per_tok": per_tok, "basis": system.get("basis")}


# --- doctor ----------------------------------------------------------------------------------

class ToolStatus(dict):
    """One llama.cpp tool binary: a dict for --json, one line for the text report."""

    def __str__(self) -> str:
        if not self.get("found"):
            return f"{self['tool']}: not found: {self['why']}"
        version = f"version {self['version']}" if self.get("version") else "found"
        return f"{self['tool']} {self['binary']}: " + version + "".join(f"; {m}" for m in self.get("models_missing")
                                                                       or [])


def tool_doctor(specs: list[Any] | None, default: str) -> dict[str, Any]:
    """{"llama.cpp tools": [...]}: the binary each suite entry names (without a suite: `default` on PATH),
    whether it runs, and whether the entries' model files exist. Never runs a benchmark."""
    wanted: dict[str, list[Any]] = {}
    for spec in specs if specs is not None else []:
        wanted.setdefault(spec.params.get("binary") or default, []).append(spec)
    if specs is None:
        wanted[default] = []
    out = []
    for name, entries in wanted.items():
        status = ToolStatus(tool=default, wanted=name, found=False)
        try:
            status["binary"] = find_binary(name, default)
        except UserError as exc:
            status["why"] = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
            out.append(status)
            continue
        status.update(found=True, version=version_text(status["binary"]))
        missing = []
        for spec in entries:
            try:
                find_model(spec.params.get("model"), spec.suite_dir)
            except UserError:
                missing.append(f"{spec.name}: model {spec.params.get('model')} not found")
        status["models_missing"] = missing
        out.append(status)
    return {"llama.cpp tools": out} if out else {}
