"""LLM metrics: per request (a stream as its user feels it), per iteration, and the machine's throughput.

Definitions follow vLLM's benchmark (TTFT, TPOT excluding the first token, ITL per chunk gap) and
llama-bench / llama-server for prefill and decode speed.
"""

from __future__ import annotations

from .model import Metric, register

LLM = ("llm",)

register(
    Metric("prompt_tokens", "tokens", "request", "prompt",
           "Prompt tokens of one request, as the server counts them (Ollama: prompt_eval_count, the tokens it "
           "evaluated, 0 or absent when its cache held the prompt; OpenAI-compatible: usage.prompt_tokens; "
           "in-process: the prompt's length).",
           fmt="int", kinds=LLM, title="prompt tokens per request",
           peers={"vllm": "total_input_tokens ÷ requests", "guidellm": "prompt_token_count",
                  "aiperf": "input_sequence_length", "llama-bench": "n_prompt",
                  "llama-server": "prompt_n + cache_n", "ollama": "prompt_eval_count"}),
    Metric("prompt_s", "s", "request", "prefill time",
           "Time one request spent on its prompt (prefill): Ollama prompt_eval_duration, llama.cpp "
           "timings.prompt_ms, in-process the prompt's forward pass.",
           direction="lower", kinds=LLM,
           peers={"llama-server": "prompt_ms ÷ 1000", "ollama": "prompt_eval_duration ÷ 1e9"}),
    Metric("pp_tok_s", "tok/s", "request", "prefill",
           "Prefill speed of one request: prompt tokens evaluated ÷ prompt_s (llama-bench's pp test).",
           direction="higher", kinds=LLM, title="prefill speed",
           peers={"llama-bench": "avg_ts of a ppN test", "llama-server": "prompt_per_second",
                  "aiperf": "prefill_throughput_per_user", "ollama": "prompt_eval_count ÷ prompt_eval_duration"}),
    Metric("gen_tokens", "tokens", "request", "generated",
           "Tokens one request generated, the first included (Ollama eval_count, usage.completion_tokens, "
           "the in-process loop's count; stream chunks only when a server sends no usage, with a warning).",
           fmt="int", kinds=LLM, title="output tokens per request",
           peers={"guidellm": "output_token_count", "aiperf": "output_token_count", "llama-bench": "n_gen",
                  "llama-server": "predicted_n", "ollama": "eval_count"}),
    Metric("gen_s", "s", "request", "generation",
           "Time one generation took. LLM: from the first output token to the last (the decode phase of one "
           "request); TTS: the synthesis call; video: the pipeline call for one clip.",
           direction="lower", kinds=("llm", "tts", "video"),
           peers={"llama-server": "predicted_ms ÷ 1000", "ollama": "eval_duration ÷ 1e9"}),
    Metric("tg_tok_s", "tok/s", "request", "generation",
           "Decode speed of one stream: (gen_tokens − 1) ÷ gen_s, the tokens after the first over the time "
           "from the first to the last (1 ÷ TPOT). One stream's speed, not the machine's: at concurrency N "
           "the machine makes about N times as many tokens a second (output_tok_s).",
           direction="higher", kinds=LLM, title="decode speed of one stream",
           peers={"vllm": "1000 ÷ mean_tpot_ms", "aiperf": "output_token_throughput_per_user",
                  "llama-bench": "avg_ts of a tgN test", "llama-server": "predicted_per_second",
                  "ollama": "(eval_count − 1) ÷ eval_duration"}),
    Metric("tpot_s", "s", "request", "TPOT",
           "Time per output token after the first: (e2e_s − ttft_s) ÷ (gen_tokens − 1), vLLM's TPOT.",
           direction="lower", kinds=LLM, title="time per output token",
           peers={"vllm": "tpot_ms ÷ 1000", "guidellm": "inter_token_latency_ms ÷ 1000 (its "
                  "time_per_output_token_ms counts the first token)", "aiperf": "inter_token_latency",
                  "llama-server": "predicted_per_token_ms ÷ 1000"}),
    Metric("ttft_s", "s", "request", "TTFT",
           "Time to first token: from sending the request to the first chunk carrying text, on the client's "
           "clock (in-process: the prompt's forward pass, which yields the first token).",
           direction="lower", kinds=LLM, title="time to first token",
           peers={"vllm": "ttft_ms ÷ 1000", "guidellm": "time_to_first_token_ms ÷ 1000",
                  "aiperf": "time_to_first_token"}),
    Metric("e2e_s", "s", "request", "end to end",
           "One request from sending it to its last byte (LLM streams; ltx-jobs: submitting a job to having "
           "its clip downloaded).",
           direction="lower", kinds=("llm", "video"), title="request latency",
           peers={"vllm": "e2el_ms ÷ 1000", "guidellm": "request_latency", "aiperf": "request_latency"}),
    Metric("total_s", "s", "request", "server total",
           "The whole request as the server timed it (Ollama total_duration, model load included); the "
           "client's e2e_s for OpenAI-compatible servers.",
           direction="lower", kinds=LLM, peers={"ollama": "total_duration ÷ 1e9"}),
    Metric("load_s", "s", "request", "load",
           "Model load time inside the request (Ollama load_duration: near 0 when the model was loaded).",
           direction="lower", kinds=LLM, peers={"ollama": "load_duration ÷ 1e9"}),
    Metric("done_reason", "", "request", "stopped by",
           "Why generation stopped: stop (the model ended), length (max_tokens reached), ... The most common "
           "reason among the iteration's requests.",
           requests="mode", iterations=None, fmt="text", kinds=LLM,
           peers={"vllm": "finish_reason", "ollama": "done_reason", "llama-server": "finish_reason"}),
    section="LLM: one request (a stream)")

register(*(
    Metric(f"itl_{stat}_s", "s", "request", f"ITL {stat}",
           f"Inter-token latency, {what} of the gaps between consecutive chunks that carry text (vLLM's ITL: "
           "per chunk, so a chunk of several tokens is one gap). A fixed set of concurrent requests: each "
           "request's own, averaged over the iteration's requests; a load point: over every gap of its "
           "measured requests pooled, as vLLM computes it.",
           direction="lower", kinds=LLM,
           peers={"vllm": f"{vstat}_itl_ms ÷ 1000" if vstat else "itl_ms (max)",
                  "aiperf": "inter_chunk_latency" + (f" ({vstat})" if vstat else " (max)")})
    for stat, what, vstat in (("mean", "the mean", "mean"), ("median", "the median", "median"),
                              ("p90", "the 90th percentile", "p90"), ("p95", "the 95th percentile", "p95"),
                              ("p99", "the 99th percentile", "p99"), ("max", "the largest", None))),
    section="LLM: one request (a stream)")

register(
    Metric("server_tg_tok_s", "tok/s", "request", "server decode",
           "Decode speed as llama.cpp's llama-server reports it: timings.predicted_per_second, taken as sent "
           "((predicted_n − 1) ÷ predicted_ms in current llama-server: the first token comes with the prompt).",
           direction="higher", kinds=LLM, peers={"llama-server": "predicted_per_second"}),
    Metric("input_tokens", "tokens", "iteration", "input",
           "Prompt tokens of all the iteration's requests together (usage.prompt_tokens, Ollama "
           "prompt_eval_count, in-process prompt length); in a load point, of the requests whose first token "
           "arrived inside the measured window.",
           requests="sum", fmt="int", kinds=LLM,
           peers={"vllm": "total_input_tokens", "guidellm": "prompt_token_count (sum)"}),
    Metric("output_tokens", "tokens", "iteration", "output",
           "Output tokens of all the iteration's requests together; in a load point, those that arrived inside "
           "its measured window (a chunk's tokens count when it arrives). The count output_tok_s divides by "
           "the iteration's window.",
           requests="sum", fmt="int", kinds=LLM,
           peers={"vllm": "total_output_tokens", "guidellm": "output_token_count (sum)"}),
    Metric("total_tokens", "tokens", "iteration", "tokens in and out",
           "input_tokens + output_tokens of the iteration.", requests="sum", fmt="int", kinds=LLM),
    Metric("cache_read_tokens", "tokens", "iteration", "cached prompt",
           "Prompt tokens the server took from its cache, all requests together (usage.prompt_tokens_details."
           "cached_tokens, llama.cpp timings.cache_n).",
           requests="sum", fmt="int", kinds=LLM, peers={"llama-server": "cache_n"}),
    Metric("output_chars", "chars", "request", "output chars", "Characters of one request's output text.",
           fmt="int", kinds=LLM),
    Metric("retries", "", "iteration", "retries",
           "Retries after connection errors, all the iteration's requests together.",
           direction="lower", requests="sum", fmt="int", kinds=LLM),
    Metric("concurrency", "requests", "iteration", "concurrency",
           "Requests in flight together in the iteration (closed loop: all started at once).",
           iterations="last", fmt="int", kinds=LLM, peers={"vllm": "max_concurrency",
                                                           "guidellm": "request_concurrency"}),
    Metric("window_s", "s", "iteration", "request window",
           "The requests' window on the client's clock: with a fixed set of concurrent requests, from the first "
           "sent to the last finished (inside the iteration's duration_s); in a load point, the measured "
           "steady-state window W (after ramp_up_s, before cool_down_s), the one its energy and throughput use.",
           iterations="mean", kinds=LLM, peers={"vllm": "duration", "aiperf": "benchmark_duration"}),
    Metric("gpu_fraction", "", "iteration", "on GPU",
           "Share of the loaded model in GPU memory (Ollama /api/ps size_vram ÷ size) after the iteration.",
           direction="higher", iterations="min", fmt="num", kinds=LLM, peers={"ollama": "size_vram ÷ size"}),
    Metric("output_tok_s", "tok/s", "throughput", "throughput",
           "The machine's output throughput: output tokens of all the iteration's requests ÷ the iteration's "
           "duration_s, the window its energy is measured over (so J/token = energy ÷ tokens); where a backend "
           "measures a narrower window, that one (llama-bench: the decode test's n_gen × repetitions ÷ its "
           "window; llama-sweep-bench: Σ tg ÷ the sweep; a load point: the tokens that arrived in its "
           "steady-state window ÷ that window). Across "
           "iterations Σ tokens ÷ Σ seconds. At concurrency 1 close to tg_tok_s (below it by the prompt's "
           "share of the time). Every energy-per-token and money figure uses this.",
           direction="higher", requests=None, iterations="ratio", count="output_tokens", kinds=LLM,
           title="output throughput",
           peers={"vllm": "output_throughput", "guidellm": "output_tokens_per_second",
                  "aiperf": "output_token_throughput"}),
    Metric("total_tok_s", "tok/s", "throughput", "tokens in and out",
           "Input and output tokens of all the iteration's requests ÷ the iteration's duration_s (or the "
           "backend's narrower energy window, as for output_tok_s).",
           direction="higher", requests=None, iterations="ratio", count="total_tokens", kinds=LLM,
           peers={"vllm": "total_token_throughput", "guidellm": "tokens_per_second"}),
    Metric("agg_output_tok_s", "tok/s", "throughput", "aggregate output",
           "Output tokens of all requests ÷ window_s (first request sent to last finished): the requests' own "
           "window, without the iteration's bookkeeping. Kept beside output_tok_s; costs use output_tok_s.",
           direction="higher", requests=None, kinds=LLM),
    section="LLM: the iteration and the machine's throughput")
