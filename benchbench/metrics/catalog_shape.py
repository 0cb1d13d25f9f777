"""The economics of a request shape (part 13): one request of the shape at a measured load point, APIs priced for
the same shape, break-even and payback at a volume. Every figure is computed in benchbench/analysis/formulas.py
from the point's rates (benchbench/analysis/shape_cost.py; docs/costs.md "The shape model").

Scope `throughput`: the point's machine rates (all concurrent requests together) applied to one request of the
shape; `run`: prices, volumes and figures of a machine or an API.
"""

from __future__ import annotations

from .model import Metric, register

TP = dict(scope="throughput", requests=None, iterations=None, kinds=("llm",))
RUN = dict(scope="run", requests=None, iterations=None, kinds=("llm",))

register(
    Metric("request_s", "s/request", label="machine time", title="machine seconds per request",
           description="n_prefill · t_in + n_steps · t_step + t_rest: the machine seconds one request of the shape "
                       "takes at the load point (its share of the window when requests overlap).",
           direction="lower", inputs=("speed",), **TP),
    Metric("request_j", "J/request", label="energy", title="energy per request",
           description="n_prefill · e_in + n_steps · e_step + e_rest: system energy of one request of the shape at "
                       "the load point.", direction="lower", inputs=("speed", "system"), **TP),
    Metric("prefill_j_per_token", "J/token", label="prefill energy", title="energy per prefilled input token",
           description="System energy per uncached input token: measured apart (llama-bench) or the window's energy "
                       "apportioned to prefill by the requests' phase times (labelled estimated).",
           direction="lower", inputs=("speed", "system"), **TP),
    Metric("decode_j_per_token", "J/token", label="decode energy", title="energy per decode step",
           description="System energy per generated token after the first (a decode step); without phase times, "
                       "per generated token over the whole window (= j_per_token).",
           direction="lower", inputs=("speed", "system"), **TP),
    Metric("electricity_per_request", "{cur}/request", label="electricity", title="electricity per request",
           description="request_j ÷ 3.6e6 · c (c: the price over the work hours).", direction="lower",
           inputs=("speed", "system"), **TP),
    Metric("marginal_per_request", "{cur}/request", label="above idle", title="electricity per request above idle",
           description="(request_j − I · request_s) ÷ 3.6e6 · c: what one request adds to a machine left on.",
           direction="lower", inputs=("speed", "system", "idle"), **TP),
    Metric("capacity_requests_per_month", "requests/month", label="capacity", title="capacity per month",
           description="work hours a month · 3600 ÷ request_s: what the machine carries at the load point (730 h "
                       "unless work_hours says otherwise).", direction="higher", inputs=("speed",), **TP),
    Metric("volume_requests_per_month", "requests/month", label="volume", title="volume per month",
           description="The monthly volume priced: the shape's, else utilization × capacity (ledger or profile), "
                       "else capacity (full use).", inputs=(), **RUN),
    Metric("local_per_request", "{cur}/request", label="local all-in", title="all-in per request",
           description="(monthly_fixed + V · marginal_per_request) ÷ V at the volume V.", direction="lower",
           inputs=("speed", "system", "idle"), **TP),
    Metric("local_per_1k_requests", "{cur}/1k requests", label="local all-in", title="all-in per 1,000 requests",
           description="local_per_request × 1000.", direction="lower", inputs=("speed", "system", "idle"), **TP),
    Metric("local_per_mtok", "{cur}/Mtok", label="local all-in", title="all-in per million tokens of the shape",
           description="local_per_request ÷ (input + output + reasoning tokens) × 1e6.", direction="lower",
           inputs=("speed", "system", "idle"), **TP),
    Metric("electricity_input_per_mtok", "{cur}/Mtok", label="electricity, input", title="electricity per M input",
           description="prefill_j_per_token · 1e6 ÷ 3.6e6 · c: electricity per million prefilled input tokens.",
           direction="lower", inputs=("speed", "system"), **TP),
    Metric("electricity_output_per_mtok", "{cur}/Mtok", label="electricity, output", title="electricity per M output",
           description="decode_j_per_token · 1e6 ÷ 3.6e6 · c: electricity per million generated tokens (with a "
                       "0-input shape and no phase times: electricity_per_mtok).",
           direction="lower", inputs=("speed", "system"), **TP),
    Metric("local_input_per_mtok", "{cur}/Mtok", label="local, input", title="all-in per M prefilled input",
           description="local_per_request × the prefill's share of the request's phase time ÷ prefilled tokens "
                       "× 1e6 (cached input tokens cost nothing to prefill).", direction="lower",
           inputs=("speed", "system", "idle"), **TP),
    Metric("local_output_per_mtok", "{cur}/Mtok", label="local, output", title="all-in per M generated",
           description="local_per_request × the decode's share of the request's phase time ÷ generated tokens × 1e6.",
           direction="lower", inputs=("speed", "system", "idle"), **TP),
    Metric("price_work", "{cur}/kWh", label="price, work hours", title="electricity price over the work hours",
           description="The time-of-use price averaged over the work hours (electricity_per_kwh without a schedule).",
           inputs=(), **RUN),
    Metric("price_week", "{cur}/kWh", label="price, week", title="electricity price over the week",
           description="The time-of-use price averaged over the 168 hours of a week (idle draws it).", inputs=(),
           **RUN),
    Metric("work_hours_month", "h/month", label="work hours", title="work hours a month",
           description="730 h × the share of the week's hours in work_hours.", inputs=(), **RUN),
    section="Money of a request shape: one machine")

register(
    Metric("api_cached_per_mtok", "{cur}/Mtok", label="API cached input", title="API cached-input price",
           description="An API's price per million cached input tokens (genai-prices cache_read; none: billed as "
                       "input).", inputs=(), **RUN),
    Metric("api_output_per_mtok", "{cur}/Mtok", label="API output", title="API output price",
           description="An API's price per million output tokens (reasoning tokens are billed as output).",
           inputs=(), **RUN),
    Metric("api_per_request", "{cur}/request", label="API", title="API cost per request",
           description="((n_in − n_cached) · A_in + n_cached · A_cached + (n_out + n_reasoning) · A_out) ÷ 1e6 "
                       "(genai-prices' calc_price for one request of the shape).", direction="lower", inputs=(),
           **RUN),
    Metric("api_per_1k_requests", "{cur}/1k requests", label="API", title="API cost per 1,000 requests",
           description="api_per_request × 1000.", direction="lower", inputs=(), **RUN),
    Metric("api_shape_per_mtok", "{cur}/Mtok", label="API", title="API cost per million tokens of the shape",
           description="api_per_request ÷ (input + output + reasoning tokens) × 1e6.", direction="lower", inputs=(),
           **RUN),
    Metric("breakeven_requests_per_month", "requests/month", label="break-even", title="break-even volume",
           description="monthly_fixed ÷ (api_per_request − marginal_per_request); none where the API costs no more "
                       "than the local marginal or beyond capacity at the load point.", direction="lower",
           inputs=("speed", "system", "idle"), **RUN),
    Metric("breakeven_tokens_per_month", "tokens/month", label="break-even", title="break-even tokens a month",
           description="breakeven_requests_per_month × (input + output + reasoning tokens).", direction="lower",
           inputs=("speed", "system", "idle"), **RUN),
    Metric("cloud_hours_per_month", "h/month", label="cloud hours", title="cloud hours a month",
           description="V · the instance's seconds per request ÷ 3600: the hours a month it must run to carry the "
                       "same volume (at this machine's speed unless the instance was measured).", inputs=("speed",),
           **RUN),
    section="Money of a request shape: APIs and clouds")
