"""The end-to-end report before and after Part 10, compared.

`tests/fixtures/e2e-v1/` holds the records of the end-to-end suite (the integration test's workloads, plus an
OpenAI-compatible server at concurrency 8) written by benchbench before Part 10 (schema_version 1), and
`tests/fixtures/e2e-v1-report.json` the JSON report that code built from them. Reports are built only from
stored records, so building the report again from the same records with today's code must give the same
document except for new fields and the figures Part 10 corrected (listed in CORRECTED, each checked against
its definition in test_e2e_compat.py).

    python tests/e2e_compat.py records DIR          # run the suite (needs espeak-ng, diffusers) into DIR
    python tests/e2e_compat.py report DIR OUT.json  # the normalized JSON report of the records in DIR
    python tests/e2e_compat.py compare OLD.json NEW.json   # what differs (new fields listed apart)
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURE_RECORDS = HERE / "fixtures" / "e2e-v1"
FIXTURE_REPORT = HERE / "fixtures" / "e2e-v1-report.json"
PROFILE = {"name": "e2e-box", "electricity_per_kwh": 0.25, "currency": "USD", "hardware_cost": 1800,
           "amortization_years": 3, "idle_w": 45, "load_w": 180, "non_gpu_overhead_w": 60,
           "memory_bandwidth_gbs": 50}
STREAM_TOK_S = 50.0       # the fake OpenAI server's per-stream rate
CONCURRENCY = 8


def workloads(ollama_url: str, openai_url: str) -> list[dict[str, Any]]:
    return [
        {"name": "tiny", "kind": "llm", "backend": "transformers", "architecture": "tiny-llama",
         "weights": "dummy", "device": "cpu", "max_tokens": 4, "matrix": {"prompt_tokens": [8, 32]}},
        {"name": "speak", "kind": "tts", "backend": "espeak-ng",
         "text": "Short benchmarks lie; this one only checks that every part fits together."},
        {"name": "clip", "kind": "video", "backend": "ltx2", "weights": "dummy", "architecture": "tiny",
         "devices": "cpu", "steps": [1, 1], "warmups": 0, "repetitions": 1},
        {"name": "chat", "kind": "llm", "backend": "ollama", "host": ollama_url, "model": "llama3.2:3b",
         "max_tokens": 12, "retries": 0},
        {"name": "batch", "kind": "llm", "backend": "openai", "base_url": openai_url + "/v1",
         "model": "llama-3.2-3b-instruct", "max_tokens": 50, "concurrency": CONCURRENCY, "retries": 0},
    ]


def run_records(out: Path) -> None:
    """Run the end-to-end suite with the code installed now; records (and power CSVs) land in `out`."""
    import tempfile

    import yaml
    from fakes_llm_servers import FakeOllama, FakeOpenAI

    from benchbench.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "box.yaml").write_text(yaml.safe_dump(PROFILE), encoding="utf-8")
        with FakeOllama(tg_tok_s=400.0, gen_len=12) as ollama, \
                FakeOpenAI(tg_tok_s=STREAM_TOK_S, gen_len=50, ttft_s=0.02) as openai:
            suite = {"name": "e2e", "machine": "box.yaml", "warmups": 1, "repetitions": 2,
                     "power": {"samplers": ["declared"]}, "workloads": workloads(ollama.url, openai.url)}
            (root / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
            code = main(["run", str(root / "suite.yaml"), "--results", str(root / "results")])
        if code != 0:
            raise SystemExit(f"the suite failed (exit {code})")
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted((root / "results").rglob("*")):
            if path.is_file() and path.suffix in (".json", ".csv"):
                target = out / path.relative_to(root / "results")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)


def report(records: Path) -> dict[str, Any]:
    """The JSON report (`benchbench report --format json`, published figures included) of the records under
    `records`, with what depends on where and when it was built taken out."""
    from benchbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", str(records), "--format", "json"])
    if code != 0:
        raise RuntimeError(f"report failed: {err.getvalue()}")
    return normalize(json.loads(out.getvalue()), str(records))


def normalize(doc: dict[str, Any], root: str) -> dict[str, Any]:
    doc.pop("generated_at", None)
    doc.pop("benchbench_version", None)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and root in value:
            return value.replace(root, "<records>")
        return value

    return walk(doc)


def _key(table: str, row: dict[str, Any]) -> tuple:
    """What identifies a row of a table (rows are matched on it, not on their position)."""
    ids = ("group_id", "run_id", "index", "channel", "metric", "figure", "api", "instance", "service", "machine",
           "workload", "workloads", "label", "name", "code", "warning", "model", "run", "path", "provenance", "source")
    return tuple((k, json.dumps(row.get(k), sort_keys=True, default=str)) for k in ids if k in row)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    """{"changed": [...], "filled": [...], "new": [...], "gone": [...]}: one line per differing value, as
    `<table>[<row key>].<field>: old → new`; `filled`: a value that was unknown (None) and now is known."""
    out: dict[str, list[str]] = {"changed": [], "filled": [], "new": [], "gone": []}
    for section in ("tables", "report_tables"):
        for name in sorted(set(old.get(section, {})) | set(new.get(section, {}))):
            a_rows, b_rows = old.get(section, {}).get(name), new.get(section, {}).get(name)
            where = f"{section}.{name}"
            if a_rows is None or b_rows is None:
                out["new" if a_rows is None else "gone"].append(f"{where}: table")
                continue
            a_by = {_key(name, r): r for r in a_rows}
            b_by = {_key(name, r): r for r in b_rows}
            for key in sorted(set(a_by) | set(b_by), key=str):
                label = f"{where}[{', '.join(v for _, v in key)}]"
                if key not in b_by or key not in a_by:
                    out["gone" if key not in b_by else "new"].append(f"{label}: row")
                    continue
                a, b = a_by[key], b_by[key]
                for field in sorted(set(a) | set(b)):
                    if field not in a:
                        out["new"].append(f"{label}.{field}")
                    elif field not in b:
                        out["gone"].append(f"{label}.{field}")
                    elif not _same(a[field], b[field]):
                        kind = "filled" if a[field] is None else "changed"
                        out[kind].append(f"{label}.{field}: {a[field]!r} → {b[field]!r}")
    for field in sorted(set(old) | set(new)):
        if field in ("tables", "report_tables"):
            continue
        if field not in old:
            out["new"].append(field)
        elif field not in new:
            out["gone"].append(field)
        elif old[field] != new[field]:
            out["changed"].append(f"{field}: {old[field]!r} → {new[field]!r}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "records":
        run_records(Path(argv[1]))
    elif len(argv) == 3 and argv[0] == "report":
        Path(argv[2]).write_text(json.dumps(report(Path(argv[1])), indent=1, sort_keys=True) + "\n",
                                 encoding="utf-8")
    elif len(argv) == 3 and argv[0] == "compare":
        diff = compare(*(json.loads(Path(p).read_text(encoding="utf-8")) for p in argv[1:]))
        for kind, lines in diff.items():
            print(f"## {kind}: {len(lines)}")
            print("\n".join(lines))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main(sys.argv[1:]))
