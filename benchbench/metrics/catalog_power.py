"""Power, energy and the machine's declared figures (profile inputs the cost formulas use)."""

from __future__ import annotations

from .model import Metric, register

ITER = dict(requests=None)
RUN = dict(requests=None, iterations=None)

register(
    Metric("duration_s", "s", "iteration", "iteration",
           "Wall time of one iteration (time.monotonic around run_once; for a backend in its own environment, "
           "taken in the worker around the backend's run_once with the device synchronized): the window energy "
           "is integrated over and throughput is counted over, unless the backend names a narrower one "
           "(energy_window: llama-bench's decode test, a load point's steady state).", direction="lower", **ITER),
    Metric("wall_s", "s", "iteration", "wall time",
           "For a backend in its own environment (docs/envs.md) only: the runner's time around the worker's "
           "run_once, protocol included; wall_s − duration_s is the worker protocol's overhead.",
           direction="lower", **ITER),
    Metric("gpu_w", "W", "iteration", "GPU",
           "Mean power of the GPUs over the measured iterations (Σ J ÷ Σ s), the cards the run loaded summed.",
           direction="lower", inputs=("=gpu",), **ITER),
    Metric("gpu_j", "J", "iteration", "GPU energy", "Energy of the GPUs over one iteration.",
           direction="lower", **ITER),
    Metric("system_w", "W", "iteration", "system",
           "Mean power of the whole machine under load (Σ J ÷ Σ s of the `system` channel): measured at the "
           "wall, estimated as GPU + CPU + the profile's non_gpu_overhead_w, or the profile's declared load_w.",
           direction="lower", inputs=("=system",), title="system power under load", **ITER),
    Metric("system_j", "J", "iteration", "system energy", "Energy of the whole machine over one iteration.",
           direction="lower", **ITER),
    Metric("joules", "J", "iteration", "energy per iteration", "Energy of one power channel over one iteration.",
           direction="lower", **ITER),
    Metric("avg_w", "W", "iteration", "mean power", "Mean power of one channel over the iteration.",
           direction="lower", **ITER),
    Metric("idle_w", "W", "run", "idle",
           "Idle power of the whole machine: a measured idle record, else the profile's declared idle_w.",
           direction="lower", inputs=("=idle",), title="idle system power", **RUN),
    Metric("load_w", "W", "run", "declared load", "The profile's declared system power under load.",
           **RUN),
    Metric("non_gpu_overhead_w", "W", "run", "non-GPU overhead",
           "The profile's power of the machine beyond its GPUs (CPU, board, fans, PSU loss), added to measured "
           "GPU power when no wall meter measures the whole machine.", **RUN),
    Metric("memory_bandwidth_gbs", "GB/s", "run", "memory bandwidth",
           "The profile's memory bandwidth, for the decode roofline.", **RUN),
    Metric("model_size_bytes", "bytes", "run", "model size", "Bytes of the model's weights.", fmt="int", **RUN),
    Metric("roofline_tok_s", "tok/s", "run", "roofline",
           "Decode upper bound of one stream: memory_bandwidth_gbs × 1e9 ÷ model_size_bytes (every token reads "
           "the weights once).", direction="higher", inputs=(), **RUN),
    Metric("roofline_pct", "%", "run", "of roofline",
           "tg_tok_s as a share of roofline_tok_s (one stream's decode against the bound; far below it "
           "suggests CPU fallback or offload).", direction="higher", fmt="pct", inputs=("speed",), **RUN),
    Metric("electricity_per_kwh", "{cur}/kWh", "run", "electricity", "The profile's electricity price.", **RUN),
    Metric("hardware_cost", "{cur}", "run", "hardware", "The profile's hardware cost.", **RUN),
    Metric("amortization_years", "years", "run", "amortized over", "The profile's amortization period.", **RUN),
    Metric("utilization", "", "run", "utilization",
           "Share of hours spent generating (0 < u ≤ 1) for the all-in cost: the caller's, else the profile's, "
           "else full use.", **RUN),
    Metric("utilization_pct", "%", "run", "at utilization", "utilization × 100, as shown beside all-in costs.",
           fmt="pct", **RUN),
    Metric("hours_per_day", "h/day", "run", "used", "Hours a day the work runs, for payback against a cloud.",
           **RUN),
    Metric("cloud_hourly", "{cur}/h", "run", "cloud instance price",
           "A cloud instance's price per hour (profile or prices.cloud_hourly).", **RUN),
    section="Power, energy and the machine")
