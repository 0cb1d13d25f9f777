"""What to do about each validity warning code (the records' messages say what happened)."""

from __future__ import annotations

HINTS: dict[str, str] = {
    "model_on_cpu": "Fix the server's GPU setup (drivers, CUDA_VISIBLE_DEVICES, HSA_OVERRIDE_GFX_VERSION for "
                    "gfx1151 in the ollama unit), check `ollama ps`, then run again; these figures are CPU figures.",
    "model_partially_on_cpu": "Lower num_ctx, pick a smaller quantization or free GPU memory so the whole model "
                              "fits, then run again.",
    "prompt_cached": "Keep vary_prompt on (the default) so every iteration evaluates its prompt; prefill speed "
                     "of this run is not a prefill measurement.",
    "hit_token_limit": "Expected for fixed-length runs; otherwise raise max_tokens.",
    "degenerate_output": "The model looped: its tok/s flatters it. Use a better prompt, a sampler setting "
                         "(repeat penalty) or another model.",
    "gen_tokens_estimated": "The server reported no token counts; prefer a server that reports usage.",
    "high_variance": "Add repetitions, close other programs, check cooling and throttling.",
    "first_run_slow": "Add warmups (suite `warmups:`) so that compilation and cache effects are not measured.",
    "short_benchmark": "Use a passage of about 2,400 characters: short tests measure start-up, not speed.",
    "gpu_idle_during_run": "Check the device setting and the model's placement; the work may have run on the CPU.",
    "idle_gpus_drawing_power": "Remove or power down unused GPUs, or accept their draw as part of the cost.",
    "throttled": "Improve cooling or power limits and run again; throttled figures may not repeat.",
    "power_estimated": "Add a smart plug (shelly/tasmota sampler) to measure wall power; derived costs are "
                       "estimates until then.",
    "power_unavailable": "Install the sampler's tool or library (see `benchbench doctor`), or declare load_w in "
                         "the machine profile.",
    "no_audio": "Check the TTS backend's output: the run produced no audio.",
    "artifact_not_saved": "Check disk space and the video encoder (ffmpeg); the timing is still valid.",
    "far_below_roofline": "Decode runs at under 25% of the memory-bandwidth bound: check for CPU offload, a "
                          "wrong memory_bandwidth_gbs in the profile, or a compute-bound backend.",
    "client_saturated": "Lower the load point, or run the load client on another machine: its latencies include "
                        "the client's own delay (docs/load.md).",
    "requests_failed": "Read the first error quoted; failed requests are left out of the latency figures and "
                       "counted in `failures`.",
    "multi_token_chunks": "The server sends several tokens per chunk: ITL is per chunk gap (as vLLM's); TPOT is "
                          "per token.",
    "empty_window": "Lengthen the load point (requests or duration_s) or shorten ramp_up_s/cool_down_s.",
    "worker_restarted": "The backend's worker process died and a new one loaded the model again: read the failed "
                        "iteration's error; the iteration after the restart ran on a freshly loaded model.",
    "run_interrupted": "Resume it with `benchbench run SUITE --resume latest`; finished iterations are kept.",
    "run_failed": "Read the errors below, fix the cause and run again.",
    "iteration_failed": "Read the error; failed iterations are left out of every figure.",
    "throughput_unknown": "Run the suite again with this benchbench: its records count every request's output "
                          "tokens, so energy per token and the costs per token can be computed.",
    "prompt_length_off": "The server offers no tokenizer endpoint (llama.cpp's /tokenize, vLLM's /tokenize), so the "
                         "prompt could not be fitted to prompt_tokens: compare prefill figures at the length the "
                         "server counted.",
    "power_window_estimated": "Use a llama.cpp build with `llama-bench --progress` (2025 on) so each test's power "
                              "window is exact; here it is the sum of its samples before its result line.",
    "analysis": "The input named was left out of the figures (the rest stand without it): fix it or move it out "
                "of the results folder.",
    "record_skipped": "The file is not a readable benchbench record: move it out of the results folder or "
                      "fix it.",
}


def hint(code: str) -> str:
    """What to do about a warning code ("" when unknown: the message says it)."""
    return HINTS.get(code, "")
