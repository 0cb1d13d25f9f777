"""Energy per unit of work and money: the analyzer's derived figures and `benchbench cost`.

Every figure here is computed in benchbench/analysis/formulas.py (DESIGN.md "Cost formulas"). Those per token
use the machine's throughput `r` = output_tok_s, never one stream's tg_tok_s. `inputs` name the figures whose
provenance a derived figure inherits (docs/analysis.md).
"""

from __future__ import annotations

from .model import Metric, register

RUN = dict(requests=None, iterations=None)
TP = dict(scope="throughput", requests=None, iterations=None)
LLM, TTS, VIDEO = ("llm",), ("tts",), ("video",)

register(
    Metric("j_per_token", "J/token", label="energy", title="energy per token",
           description="System energy per output token: P ÷ r = the iterations' energy ÷ their output tokens.",
           direction="lower", kinds=LLM, inputs=("speed", "system"), **TP),
    Metric("tok_s_per_w", "tok/s/W", label="tok/s per system W", title="tokens/s per system watt", unit_in_label=True,
           description="r ÷ P: output throughput per watt of the whole machine (tokens per joule).",
           direction="higher", kinds=LLM, inputs=("speed", "system"), **TP),
    Metric("tok_s_per_gpu_w", "tok/s/W", label="tok/s per GPU W", title="tokens/s per GPU watt", unit_in_label=True,
           description="r ÷ P_gpu: output throughput per GPU watt (the figure articles publish).",
           direction="higher", kinds=LLM, inputs=("speed", "gpu"), **TP),
    Metric("electricity_per_mtok", "{cur}/Mtok", label="electricity", title="electricity per M tokens at load",
           description="P · (1e6 ÷ r) ÷ 3.6e6 · c: electricity per million output tokens at load.",
           direction="lower", kinds=LLM, inputs=("speed", "system"), **TP),
    Metric("incremental_electricity_per_mtok", "{cur}/Mtok", label="electricity above idle",
           title="electricity per M tokens above idle",
           description="(P − I) · (1e6 ÷ r) ÷ 3.6e6 · c: what generating adds to the bill of a machine left on.",
           direction="lower", kinds=LLM, inputs=("speed", "system", "idle"), **TP),
    Metric("amortization_per_mtok", "{cur}/Mtok", label="amortization", title="amortization per M tokens (full use)",
           description="H ÷ (Y · 8760) · 1e6 ÷ r ÷ 3600: hardware per million tokens at full use.",
           direction="lower", kinds=LLM, inputs=("speed",), **TP),
    Metric("all_in_per_mtok", "{cur}/Mtok", label="all-in", title="all-in per M tokens",
           description="[H ÷ (Y · 8760) + u · P ÷ 1000 · c + (1 − u) · I ÷ 1000 · c] ÷ (u · r · 3600 ÷ 1e6): "
                       "amortization, electricity at load and idle electricity per million tokens at utilization u.",
           direction="lower", kinds=LLM, inputs=("speed", "system", "idle?"), **TP),
    Metric("cloud_per_mtok", "{cur}/Mtok", label="cloud instance", title="cloud instance per M tokens",
           description="K ÷ (r · 3600 ÷ 1e6): a cloud instance's hourly price per million tokens at this "
                       "throughput (published machines that are cloud instances).",
           direction="lower", kinds=LLM, inputs=("speed",), **TP),
    Metric("capacity_mtok_per_month", "Mtok/month", label="capacity", title="capacity per month",
           description="r · 3600 · 730 ÷ 1e6: what the machine can generate in a month.",
           direction="higher", kinds=LLM, inputs=("speed",), **TP),
    Metric("breakeven_mtok_per_month", "Mtok/month", label="break-even", title="break-even volume vs API",
           description="monthly_fixed ÷ (A − marginal): the monthly volume at which owning costs what the API "
                       "costs; none where A ≤ marginal or beyond capacity.",
           direction="lower", kinds=LLM, inputs=("speed", "system", "idle"), **TP),
    Metric("marginal_per_mtok", "{cur}/Mtok", label="local marginal", title="local marginal per M tokens",
           description="The local marginal cost per million tokens: incremental_electricity_per_mtok.",
           direction="lower", kinds=LLM, inputs=("speed", "system", "idle"), **TP),
    section="Money and energy per unit: LLM")

register(
    Metric("amortization_per_hour", "{cur}/h", "run", "amortization", "H ÷ (Y · 8760).",
           title="amortization per hour", inputs=(), **RUN),
    Metric("amortization_per_month", "{cur}/month", "run", "amortization", "H ÷ (Y · 12).",
           title="amortization per month", inputs=(), **RUN),
    Metric("idle_cost_per_month", "{cur}/month", "run", "idle cost", "I ÷ 1000 · 730 · c.",
           direction="lower", title="idle cost per month", inputs=("idle",), **RUN),
    Metric("idle_cost_per_year", "{cur}/year", "run", "idle cost", "I ÷ 1000 · 8760 · c.",
           direction="lower", title="idle cost per year", inputs=("idle",), **RUN),
    Metric("monthly_fixed", "{cur}/month", "run", "local fixed",
           "H ÷ (Y · 12) + I ÷ 1000 · 730 · c: what the machine costs a month whether it works or not.",
           direction="lower", inputs=("idle",), **RUN),
    Metric("fixed_per_month", "{cur}/month", "run", "fixed cost", "The same as monthly_fixed, per machine.",
           direction="lower", inputs=("idle",), **RUN),
    Metric("payback_months", "months", "run", "payback", title="payback vs cloud instance",
           description="H ÷ (K · h · 365/12 − (P · h + I · (24 − h)) ÷ 1000 · 365/12 · c); none where it never "
                       "pays back.", direction="lower", inputs=("system", "idle"), **RUN),
    Metric("api_per_mtok", "{cur}/Mtok", "run", "API output price", "An API's price per million output tokens.",
           **RUN),
    Metric("api_input_per_mtok", "{cur}/Mtok", "run", "API input price", "An API's price per million input tokens.",
           **RUN),
    Metric("api_cost_per_request", "{cur}/request", "iteration", "API cost",
           "What the measured requests cost at the API's prices, from their recorded usage, per request.",
           direction="lower", kinds=LLM, inputs=("speed",), **RUN),
    Metric("api_cost_per_mtok", "{cur}/Mtok", "iteration", "API cost",
           "What the measured requests cost at the API's prices per million output tokens.",
           direction="lower", kinds=LLM, inputs=("speed",), **RUN),
    section="Money: the machine, APIs and clouds")

register(
    Metric("j_per_audio_s", "J/audio s", "iteration", "energy", "P · RTF: system energy per second of audio.",
           direction="lower", kinds=TTS, inputs=("speed", "system"), **RUN),
    Metric("cost_per_audio_hour", "{cur}/audio h", "iteration", "cost",
           "P · RTF · 3600 ÷ 3.6e6 · c: electricity per hour of audio.", title="electricity per audio hour (TTS)",
           direction="lower", kinds=TTS, inputs=("speed", "system"), **RUN),
    Metric("cost_per_1k_chars", "{cur}/1k chars", "iteration", "cost",
           "P · gen_s ÷ 3.6e6 · c ÷ chars · 1000: electricity per 1,000 characters.",
           direction="lower", kinds=TTS, inputs=("speed", "system"), **RUN),
    Metric("per_million_chars", "{cur}/M chars", "run", "price", "A cloud TTS price per million characters.",
           kinds=TTS, **RUN),
    Metric("cloud_per_audio_hour", "{cur}/audio h", "run", "cloud",
           "A cloud TTS price per audio hour: per-character price × chars_per_audio_s × 3600.",
           kinds=TTS, inputs=("speed",), **RUN),
    Metric("local_per_audio_hour", "{cur}/audio h", "run", "local", "cost_per_audio_hour of this machine.",
           kinds=TTS, inputs=("speed", "system"), **RUN),
    Metric("cloud_vs_local", "", "run", "cloud ÷ local", "cloud_per_audio_hour ÷ local_per_audio_hour.",
           direction="higher", kinds=TTS, **RUN),
    Metric("j_per_clip", "J/clip", "iteration", "energy", "P · gen_s: system energy per clip.",
           direction="lower", kinds=VIDEO, inputs=("speed", "system"), **RUN),
    Metric("wh_per_clip", "Wh/clip", "iteration", "energy", "P · gen_s ÷ 3600: system energy per clip in Wh.",
           direction="lower", kinds=VIDEO, inputs=("speed", "system"), **RUN),
    Metric("cost_per_clip", "{cur}/clip", "iteration", "cost", "P · gen_s ÷ 3.6e6 · c: electricity per clip.",
           direction="lower", kinds=VIDEO, inputs=("speed", "system"), **RUN),
    Metric("cost_per_video_s", "{cur}/video s", "iteration", "cost",
           "cost_per_clip ÷ video_s: electricity per second of video.",
           direction="lower", kinds=VIDEO, inputs=("speed", "system"), **RUN),
    section="Money and energy per unit: TTS and video")
