"""The usage ledger's figures (`benchbench watch`, `benchbench report LEDGER`): realized over a period.

Scope `period`: what one machine actually served and drew over a recorded day, ISO week or month (UTC), or
over one model's share of it — sums and ratios of what the servers' counters and the power samplers recorded
interval by interval, not a benchmark's measured window. Money is computed in analysis/formulas.py
("realized" functions); docs/ledger.md gives the same definitions.
"""

from __future__ import annotations

from .model import Metric, register

PERIOD = dict(scope="period", requests=None, iterations=None)

register(
    Metric("covered_h", "h", label="recorded", title="recorded time",
           description="Summed length of the machine's recorded intervals in the period (monotonic clock).",
           **PERIOD),
    Metric("intervals", "intervals", label="intervals", fmt="int",
           description="Recorded intervals in the period (an interval belongs to the period it starts in).",
           **PERIOD),
    Metric("busy_h", "h", label="busy", title="busy time",
           description="Time the sources say they were serving, summed over sources and capped at the recorded "
                       "time: the proxy's time with a request in flight (exact), llama.cpp's slot-seconds and "
                       "vLLM's request-seconds (upper bounds when requests run together).", **PERIOD),
    Metric("realized_utilization_pct", "%", label="utilization", title="realized utilization", fmt="pct",
           description="busy_h ÷ covered_h × 100, capped at 100%: the share of the recorded time the machine "
                       "served (not the `--utilization` assumption of the all-in cost).",
           direction="higher", **PERIOD),
    Metric("energy_kwh", "kWh", label="energy", title="energy drawn",
           description="System energy of the intervals that have a `system` channel (power/system.py's rule: "
                       "wall, else GPU + CPU + overhead, else declared), counters where the channels have them.",
           **PERIOD),
    Metric("energy_coverage_pct", "%", label="with energy", fmt="pct",
           description="Share of the recorded time whose system energy is known (energy_kwh covers only that).",
           direction="higher", **PERIOD),
    Metric("serving_kwh", "kWh", label="serving", title="energy while serving",
           description="energy_kwh − idle_kwh: the energy drawn while (and because) the machine served.",
           **PERIOD),
    Metric("idle_kwh", "kWh", label="idle", title="energy while idle",
           description="observed_idle_w × (time with energy − busy time), at most energy_kwh.", **PERIOD),
    Metric("observed_idle_w", "W", label="idle power",
           description="Median system power of the ledger's quiet intervals (nothing served in them nor in the "
                       "next), when there are at least 5; else the profile's idle_w (declared; idle_w_source "
                       "says which).", direction="lower", **PERIOD),
    Metric("electricity_cost", "{cur}", label="electricity", title="electricity of the period",
           description="energy_kwh × the profile's electricity price.", direction="lower", **PERIOD),
    Metric("serving_electricity_cost", "{cur}", label="of it serving",
           description="serving_kwh × the profile's electricity price.", direction="lower", **PERIOD),
    Metric("idle_electricity_cost", "{cur}", label="of it idle",
           description="idle_kwh × the profile's electricity price.", direction="lower", **PERIOD),
    Metric("amortization_cost", "{cur}", label="amortization", title="amortization of the recorded hours",
           description="H ÷ (Y · 8760) × covered_h: the hardware's share of the recorded time.",
           direction="lower", **PERIOD),
    Metric("total_cost", "{cur}", label="total cost",
           description="electricity_cost + amortization_cost (whichever are known).", direction="lower",
           **PERIOD),
    Metric("requests", "requests", label="requests", fmt="int",
           description="Requests served in the period (per machine, or per source and model), from the "
                       "servers' counters or the proxy.", **PERIOD),
    Metric("input_mtok", "Mtok", label="input", title="input tokens",
           description="Prompt tokens served in the period, cached ones included, in millions.", **PERIOD),
    Metric("output_mtok", "Mtok", label="output", title="output tokens",
           description="Output tokens served in the period, in millions.", **PERIOD),
    Metric("cached_pct", "%", label="cached input", fmt="pct",
           description="Prompt tokens taken from the server's prefix cache ÷ all prompt tokens × 100.", **PERIOD),
    Metric("tokens_estimated", "", label="estimated", fmt="bool",
           description="Some output was counted one token per streamed chunk (an OpenAI stream without usage); "
                       "its input is unknown.", **PERIOD),
    Metric("realized_electricity_per_mtok", "{cur}/Mtok", label="realized electricity",
           title="realized electricity per M output tokens",
           description="electricity_cost ÷ output_mtok: the period's whole electricity, idle included, per "
                       "million output tokens actually served (not the at-load electricity_per_mtok).",
           direction="lower", **PERIOD),
    Metric("realized_all_in_per_mtok", "{cur}/Mtok", label="realized all-in",
           title="realized all-in per M output tokens",
           description="(electricity_cost + amortization_cost) ÷ output_mtok: what each million output tokens "
                       "actually cost at the period's real utilization; needs both costs.",
           direction="lower", **PERIOD),
    Metric("api_cost", "USD", label="at API", title="the same requests at an API",
           description="Every model's input, cached input and output tokens of the period priced at one API "
                       "model by genai-prices (or the profile's `prices: api` entry); columns `api:<model>`.",
           direction="lower", **PERIOD),
    Metric("served_input_tokens", "tokens", label="input", fmt="int",
           description="Prompt tokens one source and model served in the period, cached ones included.",
           **PERIOD),
    Metric("served_cached_tokens", "tokens", label="cached", fmt="int",
           description="Prompt tokens one source and model took from its prefix cache in the period.", **PERIOD),
    Metric("served_output_tokens", "tokens", label="output", fmt="int",
           description="Output tokens one source and model served in the period.", **PERIOD),
    Metric("input_per_request", "tokens/request", label="input / request",
           description="served_input_tokens ÷ requests: the real prompt length.", **PERIOD),
    Metric("output_per_request", "tokens/request", label="output / request",
           description="served_output_tokens ÷ requests: the real answer length.", **PERIOD),
    section="Usage ledger: realized over a period")
