"""The articles' published figures (benchbench/reference/published-figures.yaml) as reference records.

They load like measured records but carry `reference: {source, section}`, so every figure built
from them is labelled `published`, with the article it comes from. Only what an article states is
put in a record; where a stated input is a range or missing, the record leaves it out.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..migrations import SCHEMA_VERSION
from ..record import slug, validate_record
from . import formulas as f
from .prices import Price

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "reference" / "published-figures.yaml"
_TTS_MACHINES = {"m3-max-mps": ("m3-max", "mps"), "radeon-8060s-rocm": ("strix-halo", "rocm"),
                 "tesla-p40-cuda": ("p40-server", "cuda")}


@functools.lru_cache(maxsize=1)
def published_data() -> dict[str, Any]:
    """The parsed reference file."""
    import yaml

    return yaml.safe_load(REFERENCE_FILE.read_text(encoding="utf-8"))


def reference_records() -> list[dict[str, Any]]:
    """Every published run as a record in the real layout (validated like a stored one)."""

    data = published_data()
    records = (_economics(data) + _ollama_vs_aws(data) + _tts(data) + _ltx(data) + _reasoning(data)
               + _cpu_only(data))
    return [validate_record(r) for r in records]


def published_prices() -> list[Price]:
    """API, cloud-instance and cloud-TTS prices the articles quote, labelled published."""
    data = published_data()
    econ, aws, tts = data["published_cost_per_million_tokens_usd"], data["ollama_vs_aws"], data["qwen3_tts"]
    low, high = econ["hosted_8b_class_usd_per_million"]
    src = f"published {econ['source']}"
    out = [Price("hosted 8B-class (low)", "api", float(low), "USD", src),
           Price("hosted 8B-class (high)", "api", float(high), "USD", src)]
    out += [Price(name, "cloud_hourly", float(v), "USD", f"published {aws['source']}")
            for name, v in aws["instances_usd_per_hour"].items()]
    out += [Price(name, "tts_per_million_chars", float(v), "USD", f"published {tts['source']}")
            for name, v in tts["cloud_tts_usd_per_million_chars"].items()]
    return out


# --- record building --------------------------------------------------------------------------

def _record(section: str, source: str, machine: str, profile: dict[str, Any], workload: str, kind: str,
            backend: str, params: dict[str, Any], iterations: list[dict[str, Any]],
            idle_w: float | None = None, facts: dict[str, Any] | None = None,
            note: str | None = None) -> dict[str, Any]:

    ref = {"source": source, "section": section} | ({"note": note} if note else {})
    return {
        "schema_version": SCHEMA_VERSION, "type": "run",
        "run_id": f"published--{section}--{slug(machine)}--{slug(workload)}",
        "session_id": f"published-{section}", "status": "complete", "started_at": None, "finished_at": None,
        "suite": {"name": f"published:{section}", "path": str(REFERENCE_FILE), "sha256": None},
        "machine": {"name": machine, "profile": {"name": machine, "currency": "USD", **profile},
                    "fingerprint": None},
        "workload": {"name": workload, "base_name": workload, "kind": kind, "backend": backend,
                     "params": params, "matrix": {}, "warmups": 0, "repetitions": len(iterations),
                     "facts": facts or {}},
        "iterations": [dict(it, index=i) for i, it in enumerate(iterations)],
        "power": None, "idle": {"system": idle_w} if idle_w is not None else None,
        "idle_source": {"source": "published", "record": None} if idle_w is not None else None,
        "warnings": [], "errors": [], "reference": ref, "_path": None,
    }


def _it(metrics: dict[str, Any], gpu_w: float | None = None, system_w: float | None = None) -> dict[str, Any]:
    if "tg_tok_s" in metrics:   # one stream at a time: the articles' tok/s is also the machine's rate
        metrics = {**metrics, "output_tok_s": metrics["tg_tok_s"]}
    energy: dict[str, Any] = {}
    if gpu_w is not None:
        energy["gpu"] = {"joules": None, "avg_w": float(gpu_w), "source": "published"}
    if system_w is not None:
        energy["system"] = {"joules": None, "avg_w": float(system_w), "source": "published", "basis": "published"}
    duration = metrics.get("gen_s")
    return {"warmup": False, "started_at": None, "duration_s": duration, "metrics": metrics, "energy": energy}


def _economics(data: dict[str, Any]) -> list[dict[str, Any]]:
    machines, amort = data["machines"], data["amortization"]
    price = data["electricity_usd_per_kwh"]["minnesota_residential_economics"]
    out = []
    for row in data["ollama_llm"]:
        m = machines[row["machine"]]
        profile = {"electricity_per_kwh": price, "hardware_cost": m["hardware_cost_usd"],
                   "amortization_years": amort["years"], "idle_w": m["idle_system_w"],
                   "load_w": m["load_system_w"]}
        if isinstance(m.get("non_gpu_overhead_w"), (int, float)):
            profile["non_gpu_overhead_w"] = m["non_gpu_overhead_w"]
        params = {"model": row["model"]} | ({"options": {"num_ctx": row["ctx"]}} if row.get("ctx") else {})
        out.append(_record("ollama_llm", m["source"], row["machine"], profile, row["model"], "llm", "ollama",
                           params, [_it({"tg_tok_s": row["tok_s"]}, row["gpu_w_avg"], m["load_system_w"])],
                           idle_w=m["idle_system_w"]))
    return out


def _ollama_vs_aws(data: dict[str, Any]) -> list[dict[str, Any]]:
    sec = data["ollama_vs_aws"]
    hourly = sec["instances_usd_per_hour"]
    machines = {
        "p40x4": ("p40-server", {"electricity_per_kwh": sec["electricity_usd_per_kwh"], "hardware_cost": 2500,
                                 "load_w": sec["load_w"], "hours_per_day": 4}, sec["load_w"]),
        "t4x1": ("aws-1x-t4", {"cloud_hourly": hourly["aws 1x T4"]}, None),
        "t4x4": ("aws-g4dn.12xlarge", {"cloud_hourly": hourly["aws 4x T4 g4dn.12xlarge"]}, None),
    }
    out = []
    for row in sec["results"]:
        for key, (machine, profile, system_w) in machines.items():
            if row.get(key) is None:
                continue
            facts = {"size_gb": row["size_gb"]} if row.get("size_gb") else {}
            out.append(_record("ollama_vs_aws", sec["source"], machine, profile, row["model"], "llm", "ollama",
                               {"model": row["model"], "model_params": str(row["params"])},
                               [_it({"tg_tok_s": row[key]}, None, system_w)], facts=facts))
    return out


def _tts(data: dict[str, Any]) -> list[dict[str, Any]]:
    sec = data["qwen3_tts"]
    price = data["electricity_usd_per_kwh"]["minnesota_residential_other"]
    model = "Qwen3-TTS-12Hz-1.7B-CustomVoice"
    out = []
    for key, runs in sec["runs"].items():
        machine, device = _TTS_MACHINES[key]
        watts = sec["system_w"][key]
        profile = {"electricity_per_kwh": price, "load_w": watts}
        its = [_it({"chars": sec["text_chars"], **run}, None, watts) for run in runs]
        params = {"model": model, "speaker": "Eric", "device": device}
        out.append(_record("qwen3_tts", sec["source"], machine, profile, f"qwen3-tts {sec['text_chars']} chars",
                           "tts", "qwen3-tts", params, its))
        short = [_it({"chars": 276, "rtf": sec["short_test_276_chars_rtf"][key]}, None, watts)]
        out.append(_record("qwen3_tts", sec["source"], machine, profile, "qwen3-tts 276 chars", "tts",
                           "qwen3-tts", params, short))
    f5 = sec["f5_tts_on_radeon_8060s"]
    out.append(_record("qwen3_tts", sec["source"], "strix-halo", {"electricity_per_kwh": price}, "f5-tts",
                       "tts", "f5-tts", {"device": "rocm"}, [_it(dict(f5))]))
    return out


def _ltx(data: dict[str, Any]) -> list[dict[str, Any]]:
    sec = data["ltx_video_4xp40"]
    price = data["electricity_usd_per_kwh"]["minnesota_residential_economics"]
    note = (f"the article states no electricity price (\"Minnesota residential rates\"); ${price}/kWh, the "
            "economics article's Minnesota rate, reproduces its $0.024 per 10 s clip")
    profile = {"electricity_per_kwh": price, "load_w": sec["system_w_full_load"]}
    stages = sec["stages_10s_clip"]
    out = []
    for clip in sec["clips"]:
        metrics: dict[str, Any] = {"frames": clip["frames"], "video_s": clip["seconds"],
                                   "gen_s": clip["gen_minutes"] * 60}
        if clip.get("fps"):
            metrics["fps"] = clip["fps"]
        if clip["seconds"] == 10:
            metrics["stages_s"] = {"stage1": stages["stage1_half_res_8_steps_min"] * 60,
                                   "stage2": stages["stage2_full_res_3_steps_min"] * 60,
                                   "decode": stages["vae_decode_and_audio_s"]}
            metrics["peak_mem_gb"] = {f"cuda:{k}": v for k, v in sec["vram_gb_per_gpu"].items()}
        out.append(_record("ltx_video_4xp40", sec["source"], "p40-server", profile, f"ltx-2.3 {clip['seconds']}s",
                           "video", "ltx2", {"model": "LTX-2.3 22B", "resolution": clip["resolution"],
                                             "seconds": clip["seconds"]},
                           [_it(metrics, None, sec["system_w_full_load"])], note=note))
    return out


def _reasoning(data: dict[str, Any]) -> list[dict[str, Any]]:
    sec = data["strix_halo_reasoning"]
    profile = {"electricity_per_kwh": data["electricity_usd_per_kwh"]["minnesota_residential_other"],
               "idle_w": sec["idle_w"], "load_w": sec["load_w"]}
    return [_record("strix_halo_reasoning", sec["source"], "strix-halo", profile, "qwen3.5-27b-distilled q4_k_m",
                    "llm", "ollama", {"model": "qwen3.5-27b-distilled:q4_k_m"},
                    [_it({"tg_tok_s": sec["tok_s"]}, None, sec["load_w"])], idle_w=sec["idle_w"],
                    facts={"model_size_bytes": 15.4e9})]


def _cpu_only(data: dict[str, Any]) -> list[dict[str, Any]]:
    sec = data["cpu_only_xeon"]
    metrics = {"prompt_tokens": 7, "pp_tok_s": sec["prompt_eval_tok_s"], "tg_tok_s": sec["eval_tok_s"],
               "load_s": sec["load_s"]}
    return [_record("cpu_only_xeon", sec["source"], "xeon-e5-2620v4", {}, "gemma-4-26b-a4b q8_0 + mtp", "llm",
                    "ik_llama.cpp", {"model": "gemma-4-26B-A4B Q8_0"}, [_it(metrics)])]


# --- published vs recomputed --------------------------------------------------------------------

def published_vs_recomputed() -> list[dict[str, Any]]:
    """Every derived figure the articles publish, recomputed by the formulas from the inputs the
    article states. `tolerance` is half a unit of the published rounding; `follows` says whether
    the recomputed value rounds to the published one."""
    data = published_data()
    rows = _llm_rows(data) + _tts_rows(data) + _ltx_rows(data) + _cloud_rows(data)
    for r in rows:
        r["difference"] = r["recomputed"] - r["published"]
        r["follows"] = abs(r["difference"]) <= r["tolerance"] + 1e-9
    return rows


def _row(figure: str, machine: str, item: str, published: float, recomputed: float, tolerance: float,
         source: str) -> dict[str, Any]:
    return {"figure": figure, "machine": machine, "item": item, "published": float(published),
            "recomputed": float(recomputed), "tolerance": tolerance, "source": source}


def _llm_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    econ, machines = data["published_cost_per_million_tokens_usd"], data["machines"]
    c = data["electricity_usd_per_kwh"]["minnesota_residential_economics"]
    years, src = data["amortization"]["years"], econ["source"]
    speed = {(r["machine"], r["model"]): r for r in data["ollama_llm"]}
    rows = []
    for machine, costs in ((k, v) for k, v in econ.items() if k in machines):
        m = machines[machine]
        for model, value in costs.items():
            r = speed[(machine, model)]["tok_s"]
            rows.append(_row("electricity_per_mtok", machine, model, value,
                             f.electricity_per_mtok(m["load_system_w"], r, c), 0.005, src))
    for machine, value in econ["all_in_8b_with_2y_amortization"].items():
        m, r = machines[machine], speed[(machine, "llama3.1:8b")]["tok_s"]
        rows.append(_row("all_in_per_mtok", machine, "llama3.1:8b", value, f.all_in_per_mtok(
            m["hardware_cost_usd"], years, m["load_system_w"], m["idle_system_w"], c, r, 1.0), 0.005, src))
    for machine, value in econ["tokens_per_s_per_gpu_watt_8b"].items():
        row = speed[(machine, "llama3.1:8b")]
        rows.append(_row("tok_s_per_gpu_w", machine, "llama3.1:8b", value,
                         f.tok_s_per_w(row["tok_s"], row["gpu_w_avg"]), 0.005, src))
    for machine, value in econ["idle_cost_usd_per_month"].items():   # "$38.50", "$4.20": to 10 cents
        rows.append(_row("idle_cost_per_month", machine, "", value,
                         f.idle_cost_per_month(machines[machine]["idle_system_w"], c), 0.05, src))
    for machine, value in econ["idle_cost_usd_per_year"].items():
        rows.append(_row("idle_cost_per_year", machine, "", value,
                         f.idle_cost_per_year(machines[machine]["idle_system_w"], c), 0.5, src))
    amort = data["amortization"]
    for machine, key in (("p40-server", "p40_usd_per_hour"), ("strix-halo", "strix_halo_usd_per_hour")):
        rows.append(_row("amortization_per_hour", machine, "", amort[key],
                         f.amortization_per_hour(machines[machine]["hardware_cost_usd"], years), 0.005,
                         amort["source"]))
    return rows


def _tts_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    import statistics

    sec = data["qwen3_tts"]
    rows = []
    for key, summary in sec["summary"].items():
        runs = sec["runs"][key]
        machine = _TTS_MACHINES[key][0]
        rtfs = [r["rtf"] for r in runs]
        rows.append(_row("rtf (average)", machine, key, summary["avg_rtf"], statistics.fmean(rtfs), 0.005,
                         sec["source"]))
        rows.append(_row("rtf (best)", machine, key, summary["best_rtf"], min(rtfs), 0.005, sec["source"]))
        for run in runs:
            rows.append(_row("rtf (gen_s / audio_s)", machine, f"{key} {run['gen_s']} s", run["rtf"],
                             run["gen_s"] / run["audio_s"], 0.005, sec["source"]))
    return rows


def _ltx_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    sec = data["ltx_video_4xp40"]
    c = data["electricity_usd_per_kwh"]["minnesota_residential_economics"]
    clip = next(x for x in sec["clips"] if x["seconds"] == 10)
    p, gen_s = sec["system_w_full_load"], clip["gen_minutes"] * 60
    return [_row("energy per clip (kWh)", "p40-server", "10 s clip", sec["energy_10s_clip_kwh"],
                 f.j_per_clip(p, gen_s) / f.J_PER_KWH, 0.005, sec["source"]),
            _row("cost_per_clip", "p40-server", "10 s clip", sec["cost_10s_clip_usd"],
                 f.cost_per_clip(p, gen_s, c), 0.0005, sec["source"])]


def _cloud_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    sec = data["ollama_vs_aws"]
    k, h = sec["instances_usd_per_hour"]["aws 4x T4 g4dn.12xlarge"], 4
    c, p = sec["electricity_usd_per_kwh"], sec["load_w"]
    cloud, src = sec["cloud_4h_per_day_usd"], sec["source"]
    return [
        _row("cloud cost per day", "aws-g4dn.12xlarge", "4 h/day", cloud["daily"], k * h, 0.005, src),
        _row("cloud cost per month", "aws-g4dn.12xlarge", "4 h/day", cloud["monthly"], k * h * f.DAYS_PER_MONTH,
             0.5, src),
        _row("cloud cost per year", "aws-g4dn.12xlarge", "4 h/day", cloud["yearly"], k * h * 365, 0.5, src),
        _row("electricity per month, 24x7 at load_w", "p40-server", "800 W", sec["electricity_usd_per_month_24x7"],
             f.idle_cost_per_month(p, c), 0.5, src),
        _row("payback_months", "p40-server", "vs g4dn.12xlarge 4 h/day", sec["payback_months"],
             f.payback_months(2500, k, h, p, p, c), 0.5, src),
    ]
