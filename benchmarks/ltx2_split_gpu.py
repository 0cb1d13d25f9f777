"""LTX-2 transformer at its real width with random weights, on one device and split across two.

Checks what the `ltx2` workload relies on, on real GPUs: (a) the split output equals the single-device output
within the precision's tolerance, (b) each device's allocated memory after placement matches the placement
plan (computed on the meta device from the config alone) within 10%, (c) seconds per denoising step (one
transformer forward, as in the distilled schedule) split and unsplit, at the token counts of the published
10 s 512x768 clip: stage 1 at 256x384 and stage 2 at 512x768, 241 frames (31 latent frames), 10 s of audio.

    python benchmarks/ltx2_split_gpu.py --devices cuda:0 cuda:1 --precision bf16 --out split.json
    python benchmarks/ltx2_split_gpu.py --devices cpu:0 cpu:1 --scale 32 --blocks 4 --frames 9   # CPU smoke

Prints one JSON document (and writes it to --out).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchbench.video.hooks import BlockSplit  # noqa: E402
from benchbench.video.placement import Placement, place, plan_bytes  # noqa: E402
from benchbench.video.precision import apply_precision, choose_precision  # noqa: E402

# LTX-2.3 as diffusers builds it: gated attention, cross-attention AdaLN, split RoPE, prompt states already
# projected by the text connectors (4096 video, 2048 audio). Widths are the real ones unless --scale.
TOLERANCE = {"bf16": 2e-2, "fp16": 2e-2, "fp32": 1e-4}   # relative L2 error allowed, by compute dtype


def config(blocks: int, scale: int) -> dict:
    return {"num_layers": blocks, "num_attention_heads": 32 // scale, "attention_head_dim": 128,
            "cross_attention_dim": 4096 // scale, "audio_num_attention_heads": 32 // scale,
            "audio_attention_head_dim": 64, "audio_cross_attention_dim": 2048 // scale, "gated_attn": True,
            "cross_attn_mod": True, "audio_gated_attn": True, "audio_cross_attn_mod": True,
            "rope_type": "split", "use_prompt_embeddings": False}


def build(cfg: dict, choice, device: str):
    """The transformer with `choice` applied, materialized on `device` with seeded random weights."""
    from diffusers import LTX2VideoTransformer3DModel

    with torch.device("meta"):
        model = LTX2VideoTransformer3DModel(**cfg)
    apply_precision(model, choice)
    model.to_empty(device=device)
    for name, p in model.named_parameters():
        gen = torch.Generator(device=torch.device(device)).manual_seed(zlib.crc32(name.encode()))
        with torch.no_grad():
            if p.ndim >= 2 and "table" not in name:
                p.copy_((torch.randn(p.shape, generator=gen, device=device) * p.shape[-1] ** -0.5).to(p.dtype))
            elif "table" in name:
                p.copy_((torch.randn(p.shape, generator=gen, device=device) * p.shape[-1] ** -0.5).to(p.dtype))
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.fill_(1.0)
    return model.eval()


def meta_plan(cfg: dict, choice, placement: Placement) -> dict[str, int]:
    from diffusers import LTX2VideoTransformer3DModel

    with torch.device("meta"):
        model = LTX2VideoTransformer3DModel(**cfg)
    apply_precision(model, choice)
    return {d: sum(parts.values()) for d, parts in plan_bytes(model, placement, {}).items()}


def inputs(cfg: dict, device: str, latent_frames: int, h: int, w: int, audio_tokens: int, dtype, seed: int):
    """Stage inputs as the pipeline passes them (prompt states after the text connectors)."""
    gen = torch.Generator().manual_seed(seed)
    inner = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    audio_inner = cfg["audio_num_attention_heads"] * cfg["audio_attention_head_dim"]
    r = lambda *s: torch.randn(*s, generator=gen).to(device=device, dtype=dtype)
    sigma = torch.tensor([0.909375], device=device)
    return dict(hidden_states=r(1, latent_frames * h * w, 128), audio_hidden_states=r(1, audio_tokens, 128),
                encoder_hidden_states=r(1, 1024, inner), audio_encoder_hidden_states=r(1, 1024, audio_inner),
                timestep=sigma * 1000, sigma=sigma, encoder_attention_mask=torch.ones(1, 1024, device=device),
                audio_encoder_attention_mask=torch.ones(1, 1024, device=device), num_frames=latent_frames,
                height=h, width=w, fps=24.0, audio_num_frames=audio_tokens, use_cross_timestep=True,
                return_dict=False)


def sync(devices: list[str]) -> None:
    for d in devices:
        if d.startswith("cuda"):
            torch.cuda.synchronize(torch.device(d))


def allocated(devices: list[str]) -> dict[str, int]:
    return {d: torch.cuda.memory_allocated(torch.device(d)) for d in devices if d.startswith("cuda")}


def timed_steps(model, kwargs: dict, devices: list[str], warmup: int, reps: int) -> tuple[list[float], tuple]:
    out = None
    times = []
    for i in range(warmup + reps):
        sync(devices)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model(**kwargs)
        sync(devices)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times, tuple(o.float().cpu() for o in out)


def compare(a: tuple, b: tuple) -> dict:
    rel = max(float((x - y).norm() / x.norm().clamp_min(1e-30)) for x, y in zip(a, b))
    return {"max_abs_diff": max(float((x - y).abs().max()) for x, y in zip(a, b)), "rel_l2": rel,
            "bitwise_equal": all(torch.equal(x, y) for x, y in zip(a, b)),
            "finite": all(bool(torch.isfinite(x).all()) for x in a)}


def run(args) -> dict:
    devices = args.devices
    gpus = [d for d in devices if d.startswith("cuda")]
    caps = [tuple(torch.cuda.get_device_capability(torch.device(d))) for d in gpus] or None
    choice = choose_precision(args.precision, caps)
    cfg = config(args.blocks, args.scale)
    latent_frames = (args.frames - 1) // 8 + 1
    audio_tokens = round(args.frames / 24 * 25)
    shapes = {"stage1": (args.height // 64, args.width // 64), "stage2": (args.height // 32, args.width // 32)}
    dtype = getattr(torch, {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[choice.compute])
    result = {"config": cfg, "precision": choice.to_record(), "devices": devices, "frames": args.frames,
              "latent_frames": latent_frames, "audio_tokens": audio_tokens, "torch": torch.__version__,
              "gpus": [torch.cuda.get_device_name(torch.device(d)) for d in gpus]}
    single = Placement.even(args.blocks, devices[:1])
    split = Placement.even(args.blocks, devices)
    t0 = time.perf_counter()
    model = build(cfg, choice, devices[0])
    sync(devices)
    result["build_s"] = time.perf_counter() - t0
    result["parameters"] = sum(p.numel() for p in model.parameters())
    result["memory"] = {"single": {"planned": meta_plan(cfg, choice, single), "allocated": allocated(devices)}}
    outs, steps = {}, {}
    for stage, (h, w) in shapes.items():
        kw = inputs(cfg, devices[0], latent_frames, h, w, audio_tokens, dtype, seed=1)
        times, outs[("single", stage)] = timed_steps(model, kw, devices, args.warmup, args.reps[stage])
        steps[("single", stage)] = {"tokens": latent_frames * h * w, "step_s": times}
        del kw
    peak_single = {d: torch.cuda.max_memory_allocated(torch.device(d)) for d in gpus}
    place(model, split, {})
    hooks = BlockSplit(model, list(model.transformer_blocks), split.block_devices, split.home)
    if gpus:
        torch.cuda.empty_cache()
        for d in gpus:
            torch.cuda.reset_peak_memory_stats(torch.device(d))
    result["memory"]["split"] = {"planned": meta_plan(cfg, choice, split), "allocated": allocated(devices)}
    for stage, (h, w) in shapes.items():
        kw = inputs(cfg, devices[0], latent_frames, h, w, audio_tokens, dtype, seed=1)
        times, outs[("split", stage)] = timed_steps(model, kw, devices, args.warmup, args.reps[stage])
        steps[("split", stage)] = {"tokens": latent_frames * h * w, "step_s": times}
        del kw
    peak_split = {d: torch.cuda.max_memory_allocated(torch.device(d)) for d in gpus}
    hooks.remove()
    result["steps"] = {f"{p}/{s}": {**v, "mean_step_s": sum(v["step_s"]) / len(v["step_s"])}
                       for (p, s), v in steps.items()}
    result["peak_bytes"] = {"single": peak_single, "split": peak_split}
    result["hook_calls"] = hooks.calls
    tol = TOLERANCE[choice.compute]
    result["match"] = {s: {**compare(outs[("single", s)], outs[("split", s)]), "tolerance_rel_l2": tol}
                       for s in shapes}
    for s in shapes:
        m = result["match"][s]
        m["ok"] = m["finite"] and m["rel_l2"] <= tol
    for name in ("single", "split"):
        mem = result["memory"][name]
        if mem["allocated"]:
            mem["ratio"] = {d: mem["allocated"].get(d, 0) / b for d, b in mem["planned"].items() if b}
            mem["ok"] = all(abs(r - 1) <= 0.10 for r in mem["ratio"].values())
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", nargs="+", default=["cuda:0", "cuda:1"])
    p.add_argument("--precision", default="auto")
    p.add_argument("--blocks", type=int, default=48)
    p.add_argument("--scale", type=int, default=1, help="divide the widths (CPU smoke tests)")
    p.add_argument("--frames", type=int, default=241)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--reps1", type=int, default=3, help="timed stage-1 steps")
    p.add_argument("--reps2", type=int, default=2, help="timed stage-2 steps")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    args.reps = {"stage1": args.reps1, "stage2": args.reps2}
    result = run(args)
    text = json.dumps(result, indent=1, default=str)
    if args.out:
        args.out.write_text(text)
    print(text)
    ok = all(m["ok"] for m in result["match"].values()) and all(
        m.get("ok", True) for m in result["memory"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
