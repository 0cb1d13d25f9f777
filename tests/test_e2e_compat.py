"""The end-to-end report of records written before Part 10, built again today: the same document except new
fields, the figures Part 10 corrected, each of which is checked against its definition (e2e_compat.py), and
Part 15's notes, said once per machine instead of in the Warnings table."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
from e2e_compat import FIXTURE_RECORDS, FIXTURE_REPORT, compare, report

from benchbench.analysis import formulas as f
from benchbench.record import load_records
from benchbench.warning_levels import NOTE, level

# figures that were computed from one stream's speed (tg_tok_s) and now use the machine's throughput
THROUGHPUT_FIGURES = {"j_per_token", "tok_s_per_w", "tok_s_per_gpu_w", "electricity_per_mtok",
                      "incremental_electricity_per_mtok", "amortization_per_mtok", "all_in_per_mtok",
                      "cloud_per_mtok", "capacity_mtok_per_month", "breakeven_mtok_per_month", "marginal_per_mtok"}
# one definition of tg_tok_s ((n − 1) ÷ decode time: Ollama) and of gen_tokens (every output token: transformers)
DEFINITIONS = {"tg_tok_s", "tg_tok_s_stdev", "tg_tok_s_ci95_low", "tg_tok_s_ci95_high", "roofline_pct", "gen_tokens"}
STAT_FIELDS = {"mean", "stdev", "median", "min", "max", "ci95_low", "ci95_high"}
P, C, H, Y, IDLE = 180.0, 0.25, 1800.0, 3.0, 45.0      # the fixture's profile


@pytest.fixture(scope="module")
def diff() -> dict[str, Any]:
    old = json.loads(FIXTURE_REPORT.read_text(encoding="utf-8"))
    new = report(FIXTURE_RECORDS)
    return {"old": old, "new": new, "lines": compare(old, new)}


def _field(line: str) -> tuple[str, str, str]:
    """(table, row key text, field) of a compare() line."""
    table, rest = line.split("[", 1)
    key, tail = rest.rsplit("].", 1)
    return table, key, tail.split(":", 1)[0]


def test_only_corrected_figures_changed(diff):
    changed = diff["lines"]["changed"] + diff["lines"]["filled"]
    assert changed, "the corrected figures must differ from the baseline"
    mine = {g["group_id"] for g in diff["new"]["tables"]["groups"] if g["provenance"] == "measured"}
    for line in changed:
        table, key, field = _field(line)
        assert json.loads(f"[{key}]")[0] in mine, f"a published figure changed: {line}"
        if table == "tables.figures":
            figure = json.loads(f"[{key}]")[1]
            assert figure in THROUGHPUT_FIGURES | DEFINITIONS, line
        elif table == "tables.stats":
            assert json.loads(f"[{key}]")[1] in DEFINITIONS and field in STAT_FIELDS, line
        elif field == "note":
            assert table.endswith(("api", "breakeven")), line
        elif table == "tables.iterations":
            assert field in {"gen_tokens", "tg_tok_s", "input_tokens", "output_tokens"}, line
        else:
            assert field in THROUGHPUT_FIGURES | DEFINITIONS, line


def _note_row(line: str) -> bool:
    """A Warnings-table row of a note (Part 15: notes are said once per machine, not as warnings)."""
    return line.startswith("report_tables.warnings[") and line.endswith(": row") and \
        level(json.loads(line[line.index("["):line.rindex("]") + 1])[2]) == NOTE


def test_nothing_else_is_gone(diff):
    # the sweeps table shows the machine's throughput (output_tok_s) where it showed agg_output_tok_s;
    # notes (power_estimated, hit_token_limit) left the Warnings table for the Machines table's notes
    assert all((line.startswith("report_tables.sweeps[") and line.endswith(".agg_output_tok_s")) or _note_row(line)
               for line in diff["lines"]["gone"]), diff["lines"]["gone"]
    gone_notes = {json.loads(line[line.index("["):line.rindex("]") + 1])[2]
                  for line in diff["lines"]["gone"] if _note_row(line)}
    assert gone_notes == {"power_estimated", "hit_token_limit"}
    notes = [m for m in diff["new"]["report_tables"]["machines"] if m.get("notes")]
    assert [m["machine"] for m in notes] == ["e2e-box"]
    assert {n.split(":")[0] for n in notes[0]["notes"]} == gone_notes      # each said once, on its machine
    added = {"output_tok_s", "total_tok_s", "total_tokens", "concurrency", "input_tokens", "output_tokens",
             # Part 14: the window an iteration's energy covers (here always the iteration: checked below)
             "energy_s", "energy_start_s", "energy_end_s"}
    part13 = {f"report_tables.{name}: table" for name in ("verdict", "workload_machines", "workload_apis",
                                                          "workload_breakeven", "workload_payback")}
    for line in diff["lines"]["new"]:
        if line in part13:                # Part 13's verdict and the work's economics: new tables
            continue
        if line == "notices":             # the input the analysis left out: a new key, empty here
            assert diff["new"]["notices"] == []
            continue
        if line.endswith(": row"):        # a new figure or statistic: the new metrics'
            assert json.loads(line[line.index("["):line.rindex("]") + 1])[1] in added, line
        elif line.startswith("report_tables.machines["):
            assert _field(line)[2] == "notes", line
        else:
            assert _field(line)[2] in added, line
    for it in diff["new"]["tables"]["iterations"]:   # no backend of the fixture narrows its energy window
        assert (it["energy_s"], it["energy_start_s"], it["energy_end_s"]) == (
            it["duration_s"], it["mono_start_s"], it["mono_end_s"]), it


def _groups(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["workload"]: g for g in doc["tables"]["groups"] if g["machine"] == "e2e-box" and g["kind"] == "llm"}


def _measured(rec: dict[str, Any]) -> list[dict[str, Any]]:
    return [it for it in rec["iterations"] if not it["warmup"] and not it.get("error")]


def test_costs_are_energy_over_tokens(diff):
    """J/token, tok/s per W, $/M and break-even from the records' own energy and output tokens."""
    records = {r["workload"]["name"]: r for r in load_records([FIXTURE_RECORDS]) if r["workload"]["kind"] == "llm"}
    new, old = _groups(diff["new"]), _groups(diff["old"])
    assert set(records) == set(new) == {"tiny[prompt_tokens=8]", "tiny[prompt_tokens=32]", "chat", "batch"}
    for name, rec in records.items():
        its = _measured(rec)
        joules = sum(it["energy"]["system"]["joules"] for it in its)
        seconds = sum(it["duration_s"] for it in its)
        tokens = sum(it["metrics"]["output_tokens"] for it in its)
        g = new[name]
        r = tokens / seconds
        assert g["output_tok_s"] == pytest.approx(r, rel=1e-12)
        assert g["j_per_token"] == pytest.approx(joules / tokens, rel=1e-9)
        assert g["tok_s_per_w"] == pytest.approx(tokens / joules, rel=1e-9)
        assert g["electricity_per_mtok"] == pytest.approx(joules / tokens * 1e6 / 3.6e6 * C, rel=1e-9)
        assert g["all_in_per_mtok"] == pytest.approx(f.all_in_per_mtok(H, Y, P, IDLE, C, r, 1.0), rel=1e-9)
        # before: the same formulas fed one stream's speed
        assert old[name]["j_per_token"] == pytest.approx(P / old[name]["tg_tok_s"], rel=1e-9)
    api = [a for a in diff["new"]["tables"]["api"] if a["workload"] == "batch"]
    r = new["batch"]["output_tok_s"]
    for row in api:
        volume, _ = f.breakeven(H, Y, IDLE, C, P, r, row["api_per_mtok"])
        assert row["breakeven_mtok_per_month"] == volume
        assert row["capacity_mtok_per_month"] == pytest.approx(r * 3600 * 730 / 1e6, rel=1e-12)


def test_concurrency_8_was_several_times_too_dear(diff):
    """The batch workload: 8 streams of ~50 tok/s each. Before, J/token = P ÷ one stream's speed."""
    old, new = _groups(diff["old"])["batch"], _groups(diff["new"])["batch"]
    assert new["concurrency"] == 8 and old["tg_tok_s"] == pytest.approx(50, rel=0.1)
    assert new["output_tok_s"] > 3 * old["tg_tok_s"]
    assert old["j_per_token"] / new["j_per_token"] == pytest.approx(new["output_tok_s"] / old["tg_tok_s"], rel=1e-9)


def test_one_decode_speed_definition(diff):
    """Ollama: (eval_count − 1) ÷ eval_duration per request; transformers: gen_tokens counts every token."""
    raw = {json.loads(p.read_text())["workload"]["name"]: json.loads(p.read_text())
           for p in Path(FIXTURE_RECORDS).rglob("*.json")}
    chat = [statistics.fmean((q["metrics"]["gen_tokens"] - 1) / q["metrics"]["gen_s"] for q in it["raw"]["requests"])
            for it in _measured(raw["chat"])]
    assert _groups(diff["new"])["chat"]["tg_tok_s"] == pytest.approx(statistics.fmean(chat), rel=1e-12)
    tiny = _groups(diff["new"])["tiny[prompt_tokens=8]"]
    assert tiny["gen_tokens"] == 4 and _groups(diff["old"])["tiny[prompt_tokens=8]"]["gen_tokens"] == 3
    assert tiny["tg_tok_s"] == pytest.approx(_groups(diff["old"])["tiny[prompt_tokens=8]"]["tg_tok_s"], rel=1e-12)


def test_tts_video_and_published_figures_are_unchanged(diff):
    new = {g["group_id"]: g for g in diff["new"]["tables"]["groups"]}
    for g in diff["old"]["tables"]["groups"]:
        if g["kind"] != "llm" or g["provenance"] == "published":
            for key, value in g.items():
                if isinstance(value, float):
                    assert math.isclose(new[g["group_id"]][key], value, rel_tol=1e-9), (g["workload"], key)
