"""Result folders for the report tests: every section has data, built from the analysis helpers'
generator (records in the real layout, power samples beside them).

    expected = rich_results(tmp_path / "results")

Two machines: `gpu-box` (GPU counters + wall plug, measured idle, power samples) and `mini-pc`
(GPU power + the profile's overhead: estimated), LLM runs of two models, a num_ctx × concurrency
matrix, TTS with a slow warmup, video at two clip lengths, a failed iteration, an interrupted run,
warnings, and API / cloud prices in the suite. `expected` holds the numbers the tests check.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from analysis_helpers import idle_record, llm_run, run_record, tts_run, video_run, write_idle, write_run
from shape_helpers import load_run, stream_run

GPU_BOX = {"electricity_per_kwh": 0.25, "hardware_cost": 4000.0, "amortization_years": 2.0, "idle_w": 95.0,
           "memory_bandwidth_gbs": 900.0}
MINI_PC = {"electricity_per_kwh": 0.25, "hardware_cost": 2000.0, "amortization_years": 2.0, "idle_w": 30.0,
           "non_gpu_overhead_w": 40.0}
PRICES = {"api": {"fast-api-8b": 0.6, "premium-api": 10.0}, "cloud_hourly": {"rented-gpu": 1.2},
          "tts_per_million_chars": {"cloud-tts": 16}}
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def rich_results(results: Path, *, samples: bool = True) -> dict[str, Any]:
    """Write the folder; return the inputs the tests assert on."""
    interval = 0.5 if samples else None
    common = {"suite_prices": PRICES, "interval_s": interval}
    box = {"machine": "gpu-box", "profile": GPU_BOX, **common}
    write_run(results, *llm_run(tok_s=[50.0, 52.0, 51.0], warmup_tok_s=[30.0], gpu_w=250.0, wall_w=400.0,
                                idle_w=90.0, workload="llama-8b", session="20250301T000000Z-0001",
                                facts={"model_size_bytes": 4.9e9},
                                warnings=("high_variance",), started_at="2025-03-01T00:00:00.000Z", **box))
    write_run(results, *llm_run(tok_s=[120.0, 118.0, 122.0], gpu_w=200.0, wall_w=330.0, idle_w=90.0,
                                workload="llama-3b", params={"model": "llama3.2:3b"},
                                session="20250301T000100Z-0002", started_at="2025-03-01T00:01:00.000Z", **box))
    for k, (ctx, conc, speed) in enumerate([(2048, 1, 55.0), (8192, 1, 48.0), (2048, 4, 40.0), (8192, 4, 33.0)]):
        rec, frame = llm_run(tok_s=[speed, speed + 1, speed - 1], gpu_w=260.0, wall_w=410.0, idle_w=90.0,
                             workload=f"ctx[options.num_ctx={ctx},concurrency={conc}]",
                             params={"model": "llama3.1:8b", "options": {"num_ctx": ctx}, "concurrency": conc},
                             session=f"20250301T0002{k:02d}Z-01{k:02d}", **{**box, "interval_s": None})
        rec["workload"]["matrix"] = {"options.num_ctx": ctx, "concurrency": conc}
        rec["workload"]["base_name"] = "ctx"
        for it in rec["iterations"]:   # conc streams at the speed given: conc times the tokens in the window
            it["metrics"]["agg_output_tok_s"] = it["metrics"]["tg_tok_s"] * conc * 0.9
            it["metrics"]["concurrency"] = conc
            it["metrics"]["output_tokens"] = it["metrics"]["gen_tokens"] * conc
            it["metrics"]["output_tok_s"] = it["metrics"]["output_tokens"] / it["duration_s"]
        write_run(results, rec, frame)
    write_run(results, *tts_run(runs=[(40.0, 10.0), (25.0, 10.0), (24.0, 12.0), (26.0, 10.0)], chars=2400,
                                warmups=1, gpu_w=150.0, wall_w=260.0, idle_w=90.0, workload="qwen3-tts",
                                backend="qwen3-tts", params={"model": "Qwen3-TTS-1.7B"},
                                session="20250301T000300Z-0003", **box))
    write_run(results, *video_run(gen_s=(300.0, 320.0), video_s=4.0, gpu_w=240.0, n_gpus=2, wall_w=600.0,
                                  idle_w=90.0, workload="ltx 4s", params={"model": "LTX-2.3", "seconds": 4},
                                  session="20250301T000400Z-0004", **box))
    write_run(results, *video_run(gen_s=(700.0,), video_s=10.0, gpu_w=240.0, n_gpus=2, wall_w=600.0, idle_w=90.0,
                                  workload="ltx 10s", params={"model": "LTX-2.3", "seconds": 10},
                                  session="20250301T000500Z-0005", **box))
    write_idle(results, idle_record("gpu-box", {"system": 92.0, "gpu0": 20.0}))
    mini = {"machine": "mini-pc", "profile": MINI_PC, "suite_prices": PRICES}
    rec, _ = llm_run(tok_s=[40.0, 41.0, 39.0], gpu_w=80.0, overhead_w=40.0, workload="llama-8b",
                     session="20250302T000000Z-0006", errors={3: "HTTP 500: CUDA error: out of memory"},
                     warnings=("power_estimated",), **mini)
    rec["warnings"][0]["message"] = "system power is estimated: gpu0 + 40 W non_gpu_overhead_w from the profile"
    write_run(results, rec)
    rec, _ = tts_run(runs=[(30.0, 10.0), (20.0, 10.0)], chars=2400, gpu_w=60.0, overhead_w=40.0,
                     workload="qwen3-tts", backend="qwen3-tts", params={"model": "Qwen3-TTS-1.7B"},
                     session="20250302T000100Z-0007", **mini)
    rec["status"] = "interrupted"
    write_run(results, rec)
    return {"gpu_box_8b_tok_s": 51.0, "gpu_box_8b_system_w": 400.0, "mini_8b_tok_s": 40.0,
            "mini_8b_system_w": 80.0 + 40.0, "tts_rtf_measured": [2.5, 2.0, 2.6], "tts_warmup_rtf": 4.0,
            "video_10s_gen_s": 700.0}


def verdict_results(results: Path) -> None:
    """Two machines serving llama3.1:8b: `tower` load-tested at concurrency 1, 4 and 8 (4 is the highest goodput
    meeting the SLOs), `laptop` one stream at a time with estimated power; for the verdict and its chart."""
    rows = [{"input_tokens": 2000, "cached_tokens": 0, "output_tokens": 257, "server_prompt_s": 0.4,
             "server_gen_s": 6.4, "ttft_s": 0.45, "e2e_s": 6.9}] * 6
    tower = {"electricity_per_kwh": 0.25, "hardware_cost": 2500.0, "amortization_years": 3.0, "idle_w": 60.0}
    for c, req_s, good, ok, p90 in ((1, 0.14, 0.14, True, 7.0), (4, 0.5, 0.49, True, 8.5), (8, 0.8, 0.3, False, 14)):
        load_run(results, concurrency=c, req_s=req_s, goodput_req_s=good, meets_slo=ok, machine="tower",
                 power_w=180 + 30 * c, rows=rows, profile=tower, session=f"20250501T00000{c}Z-000{c}",
                 metrics={"e2e_p90_s": p90, "ttft_p90_s": 0.5 * c})
    write_run(results, stream_run(machine="laptop", input_tokens=2000, output_tokens=257, prompt_s=2.5, gen_s=12.8,
                                  window_s=15.8, power_w=65, basis="estimated", session="20250501T000100Z-0101",
                                  profile={"electricity_per_kwh": 0.25, "hardware_cost": 3200.0,
                                           "amortization_years": 3.0, "idle_w": 12.0}))


def hostile_results(results: Path) -> None:
    """Records whose model name, hostname, workload, output and error carry markup and script."""
    rec, _ = run_record("llm", [{"tg_tok_s": 10.0, "gen_tokens": 5, "gen_s": 0.5}] * 3, machine="evil" + HOSTILE,
                        workload="w" + HOSTILE, params={"model": HOSTILE, "prompt": HOSTILE},
                        gpu_w=100.0, wall_w=150.0, idle_w=50.0, errors={2: HOSTILE},
                        warnings=("high_variance",), session="20250303T000000Z-0009")
    rec["machine"]["fingerprint"]["hostname"] = HOSTILE
    rec["machine"]["fingerprint"]["cpu"] = HOSTILE
    rec["machine"]["fingerprint"]["env"] = {"OLLAMA_HOST": HOSTILE}
    rec["warnings"][0]["message"] = HOSTILE
    for it in rec["iterations"]:
        it["raw"] = {"output": HOSTILE}
    write_run(results, rec)


# --- reading reports back --------------------------------------------------------------------------

class _Tables(HTMLParser):
    """Every <table> inside <div class="table" id="table-NAME">: header → (text, data-provenance)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[dict[str, tuple[str, str | None]]]] = {}
        self.name: str | None = None
        self.headers: list[str] = []
        self.row: list[tuple[str, str | None]] | None = None
        self.cell: list[str] | None = None
        self.prov: str | None = None
        self.in_badge = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div" and (a.get("id") or "").startswith("table-"):
            self.name = a["id"].removeprefix("table-")
            self.tables[self.name] = []
            self.headers = []
        elif tag in ("th", "td"):
            self.cell, self.prov = [], a.get("data-provenance")
        elif tag == "tr":
            self.row = []
        elif tag == "span" and "prov" in (a.get("class") or "").split():
            self.in_badge = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self.in_badge = False
        elif tag == "th" and self.cell is not None:
            self.headers.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "td" and self.cell is not None and self.row is not None:
            self.row.append(("".join(self.cell).strip(), self.prov))
            self.cell = None
        elif tag == "tr" and self.row:
            self.tables[self.name].append(dict(zip(self.headers, self.row)))
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.in_badge:
            self.cell.append(data)


def html_tables(html: str) -> dict[str, list[dict[str, tuple[str, str | None]]]]:
    """The report's tables by name; each row maps a header to (shown text, provenance or None)."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def md_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """GFM tables by the `### title` above them; cells as written (escapes kept)."""
    out: dict[str, list[dict[str, str]]] = {}
    title, header = None, None
    for line in text.splitlines():
        if line.startswith("### "):
            title, header = line[4:], None
        elif line.startswith("|") and title:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if header is None:
                header = cells
            elif not all(set(c) <= set("-:") for c in cells):
                out.setdefault(title, []).append(dict(zip(header, cells)))
    return out


def find(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The one row whose cells (or their text) equal `match`."""
    def text(v: Any) -> Any:
        return v[0] if isinstance(v, tuple) else v
    hits = [r for r in rows if all(text(r.get(k)) == v for k, v in match.items())]
    assert len(hits) == 1, f"{len(hits)} rows match {match}"
    return hits[0]
