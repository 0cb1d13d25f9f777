"""Column lists of the analyzer's tables (docs/analysis.md lists every column) and the caller's options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..shapes import Shape
from .prices import Price

ROOFLINE_LOW_PCT = 25.0   # below this share of the bandwidth bound: suspect CPU fallback or offload
GROUP_KEY = ("provenance", "source", "machine", "kind", "backend", "workload", "params_key")
STAT_COLUMNS = ["group_id", "metric", "n", "mean", "stdev", "median", "min", "max", "ci95_low", "ci95_high"]

@dataclass
class Options:
    """Caller choices: utilization and hours a day (else the profile's), prices, API models."""

    utilization: float | None = None
    hours_per_day: float | None = None
    prices: list[Price] = field(default_factory=list)
    api_models: tuple[str, ...] = ()
    published_prices: list[Price] = field(default_factory=list)
    mix: Shape | None = None                   # the caller's request shape (else suites', profiles', chat)
    usage: Mapping[str, Any] | None = None     # a usage ledger's machine_usage() (part 16)

# The figures of the long table, in order; unit and the inputs whose provenance each inherits come from the
# metric registry (`Metric.inputs`; a measured metric inherits the speed's label).
FIGURES = ("tg_tok_s", "output_tok_s", "pp_tok_s", "ttft_s", "e2e_s", "rtf", "rtf_best", "gen_s", "audio_s",
           "video_s", "chars_per_audio_s", "gpu_w", "system_w", "idle_w", "j_per_token", "j_per_audio_s",
           "j_per_clip", "tok_s_per_gpu_w", "tok_s_per_w", "electricity_per_mtok", "incremental_electricity_per_mtok",
           "amortization_per_hour", "amortization_per_mtok", "all_in_per_mtok", "idle_cost_per_month",
           "idle_cost_per_year", "cost_per_audio_hour", "cost_per_1k_chars", "cost_per_clip", "cost_per_video_s",
           "cloud_per_mtok", "api_cost_per_request", "api_cost_per_mtok", "roofline_tok_s", "roofline_pct")

GROUP_COLUMNS = [
    "group_id", "label", "machine", "workload", "base_name", "kind", "backend", "model", "params",
    "params_key", "matrix", "provenance", "source", "suite", "n_runs", "run_ids", "n", "n_failed", "warnings",
    "tg_tok_s", "tg_tok_s_stdev", "tg_tok_s_ci95_low", "tg_tok_s_ci95_high", "output_tok_s", "pp_tok_s",
    "ttft_s", "e2e_s", "gen_tokens", "concurrency", "rtf", "rtf_stdev", "rtf_best", "gen_s", "audio_s", "chars",
    "chars_per_audio_s", "video_s", "frames",
    "gpu_w", "gpu_provenance", "system_w", "system_basis", "system_provenance", "idle_w", "idle_provenance",
    "idle_source",
    "j_per_token", "j_per_audio_s", "j_per_clip", "tok_s_per_gpu_w", "tok_s_per_w",
    "currency", "electricity_per_kwh", "hardware_cost", "amortization_years", "utilization",
    "utilization_source", "hours_per_day",
    "electricity_per_mtok", "incremental_electricity_per_mtok", "amortization_per_hour",
    "amortization_per_mtok", "all_in_per_mtok", "idle_cost_per_month", "idle_cost_per_year",
    "cost_per_audio_hour", "cost_per_1k_chars", "cost_per_clip", "cost_per_video_s", "cloud_hourly",
    "cloud_per_mtok", "api_cost_per_request", "api_cost_per_mtok", "api_price_source",
    "memory_bandwidth_gbs", "model_size_bytes", "roofline_tok_s", "roofline_pct", "derived_provenance",
]
FIGURE_COLUMNS = ["group_id", "label", "machine", "workload", "kind", "figure", "value", "unit", "provenance"]
API_COLUMNS = ["group_id", "label", "machine", "workload", "api", "price_source", "currency", "api_per_mtok",
               "api_input_per_mtok", "marginal_per_mtok", "monthly_fixed", "capacity_mtok_per_month",
               "breakeven_mtok_per_month", "note", "provenance"]
CLOUD_COLUMNS = ["group_id", "label", "machine", "workload", "instance", "price_source", "currency",
                 "cloud_hourly", "hours_per_day", "payback_months", "note", "provenance"]
TTS_CLOUD_COLUMNS = ["group_id", "label", "machine", "workload", "service", "price_source", "currency",
                     "per_million_chars", "chars_per_audio_s", "cloud_per_audio_hour", "local_per_audio_hour",
                     "cloud_vs_local", "note", "provenance"]
