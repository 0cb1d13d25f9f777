"""benchbench's real-weights text-encode step (`video.loading.encode_prompt`) with the Gemma 3 encoder
dispatched across two GPUs, against the same step on one GPU.

Builds a randomly initialized Gemma 3 text encoder at the real LTX-2 encoder's shapes (gemma-3-12b: width 3840,
MLP 15360, 16 heads / 8 KV heads of 256, vocabulary 262208, SigLIP vision tower) with fewer layers, saves it in
bf16 with a word-level tokenizer stand-in as a diffusers-format folder (model_index.json, text_encoder/,
tokenizer/), then runs `encode_prompt` on `--single` and on `--split` and checks (a) the prompt embeddings
match, (b) the weights sat on every split device (allocated memory while encoding, read by wrapping
diffusers' LTX2Pipeline.encode_prompt), (c) after the step each device's allocated memory is back at its
baseline (the returned embeddings aside).

    python benchmarks/ltx2_text_encoder_dispatch.py --single cuda:0 --split cuda:0 cuda:1 --out te.json
    python benchmarks/ltx2_text_encoder_dispatch.py --single cpu --split cpu cpu --scale 16 --layers 2  # CPU smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchbench.video import loading  # noqa: E402
from benchbench.video.precision import PrecisionChoice  # noqa: E402

MB = 1e6
# PyTorch keeps one cuBLAS workspace per device once a matmul ran there, in its caching allocator (32 MiB on
# Hopper): measured as the whole leftover on 2x H200, not the encoder's weights.
CUBLAS_WORKSPACE_MB = 32 * 2**20 / MB
PROMPT = ("a cat on the windowsill with sunlight streaming in through the curtains while the camera slowly "
          "pushes in and dust floats in the warm light")


def gemma_config(layers: int, scale: int, vision_layers: int):
    """gemma-3-12b's shapes (every width divided by `scale`), `layers` text layers (sliding pattern 6)."""
    from transformers import Gemma3Config

    return Gemma3Config(
        text_config={"hidden_size": 3840 // scale, "intermediate_size": 15360 // scale,
                     "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256 // scale,
                     "query_pre_attn_scalar": 256 // scale, "num_hidden_layers": layers,
                     "vocab_size": 262208 // scale, "max_position_embeddings": 131072, "sliding_window": 1024,
                     "rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0,
                     "rope_scaling": {"rope_type": "linear", "factor": 8.0}},
        vision_config={"hidden_size": 1152 // scale, "intermediate_size": 4304 // scale,
                       "num_hidden_layers": vision_layers, "num_attention_heads": max(1, 16 // scale),
                       "image_size": 896, "patch_size": 14},
        mm_tokens_per_image=256)


def save_folder(folder: Path, config, build_device: str) -> dict:
    """model_index.json + text_encoder/ (random weights, bf16 on disk) + tokenizer/ (word level)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma3ForConditionalGeneration, PreTrainedTokenizerFast

    t0 = time.perf_counter()
    torch.manual_seed(0)
    with torch.device(build_device):
        encoder = Gemma3ForConditionalGeneration(config)
    params = sum(p.numel() for p in encoder.parameters())
    encoder.to(torch.bfloat16).save_pretrained(folder / "text_encoder")
    del encoder
    if build_device.startswith("cuda"):
        torch.cuda.empty_cache()
    words = sorted(set(PROMPT.split()))
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, "<bos>": 3, **{w: i + 4 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>",
                            bos_token="<bos>").save_pretrained(folder / "tokenizer")
    index = {"_class_name": "LTX2Pipeline", "text_encoder": ["transformers", "Gemma3ForConditionalGeneration"],
             "tokenizer": ["transformers", "PreTrainedTokenizerFast"]}
    (folder / "model_index.json").write_text(json.dumps(index))
    return {"params": params, "build_s": time.perf_counter() - t0}


def allocated(devices: list[str]) -> dict[str, float]:
    """torch.cuda.memory_allocated per CUDA device, MB (empty on CPU)."""
    return {d: torch.cuda.memory_allocated(torch.device(d)) / MB for d in sorted(set(devices))
            if d.startswith("cuda")}


def run_step(folder: Path, devices: list[str], choice: PrecisionChoice, seq: int) -> dict:
    """One `encode_prompt` call, with allocated memory before, while encoding (weights resident) and after."""
    from diffusers import LTX2Pipeline

    cuda = sorted({d for d in devices if d.startswith("cuda")})
    for d in cuda:
        torch.cuda.synchronize(torch.device(d))
        torch.cuda.reset_peak_memory_stats(torch.device(d))
    before = allocated(cuda)
    during: dict[str, float] = {}
    original = LTX2Pipeline.encode_prompt

    def spy(self, *args, **kwargs):
        during.update(allocated(cuda))
        return original(self, *args, **kwargs)

    LTX2Pipeline.encode_prompt = spy
    t0 = time.perf_counter()
    try:
        embeds, mask, facts = loading.encode_prompt(folder, PROMPT, choice, devices, max_sequence_length=seq)
        for d in cuda:
            torch.cuda.synchronize(torch.device(d))
        step_s = time.perf_counter() - t0
    finally:
        LTX2Pipeline.encode_prompt = original
    out_bytes = embeds.numel() * embeds.element_size() + mask.numel() * mask.element_size()
    result = {"devices": devices, "facts": facts, "step_s": step_s, "embeds_shape": list(embeds.shape),
              "embeds_device": str(embeds.device), "embeds_mb": out_bytes / MB, "allocated_before_mb": before,
              "allocated_while_encoding_mb": during,
              "weights_resident_mb": {d: during.get(d, 0.0) - before[d] for d in cuda},
              "peak_mb": {d: torch.cuda.max_memory_allocated(torch.device(d)) / MB for d in cuda},
              "allocated_after_with_embeds_mb": allocated(cuda)}
    cpu_embeds, cpu_mask = embeds.float().cpu(), mask.cpu()
    del embeds, mask
    after = allocated(cuda)
    result["allocated_after_mb"] = after
    result["leftover_mb"] = {d: after[d] - before[d] for d in cuda}
    result["reserved_after_mb"] = {d: torch.cuda.memory_reserved(torch.device(d)) / MB for d in cuda}
    return {"result": result, "embeds": cpu_embeds, "mask": cpu_mask}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--single", default="cuda:0")
    ap.add_argument("--split", nargs="+", default=["cuda:0", "cuda:1"])
    ap.add_argument("--layers", type=int, default=6, help="text layers (gemma-3-12b has 48)")
    ap.add_argument("--vision-layers", type=int, default=2, help="vision tower layers (SigLIP has 27)")
    ap.add_argument("--scale", type=int, default=1, help="divide every width by this (CPU smoke runs)")
    ap.add_argument("--seq", type=int, default=1024, help="max_sequence_length (the workload uses 1024)")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"], help="text encoder dtype")
    ap.add_argument("--folder", type=Path, default=None, help="where to save the encoder (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    choice = PrecisionChoice(args.dtype, args.dtype, args.dtype, args.dtype, "benchmark")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="gemma3-te-"))
    report: dict = {"torch": torch.__version__, "layers": args.layers, "vision_layers": args.vision_layers,
                    "scale": args.scale, "seq": args.seq, "dtype": args.dtype}
    if torch.cuda.is_available():
        report["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    report["build"] = save_folder(folder, gemma_config(args.layers, args.scale, args.vision_layers),
                                  args.single if args.single.startswith("cuda") else "cpu")
    print("built", json.dumps(report["build"]), flush=True)
    single = run_step(folder, [args.single], choice, args.seq)
    print("single", json.dumps(single["result"]), flush=True)
    split = run_step(folder, list(args.split), choice, args.seq)
    print("split", json.dumps(split["result"]), flush=True)
    a, b = single["embeds"], split["embeds"]
    rel = float((a - b).norm() / a.norm().clamp_min(1e-30))
    cuda = sorted({d for d in args.split if d.startswith("cuda")})
    report.update(single=single["result"], split=split["result"], rel_l2=rel,
                  max_abs=float((a - b).abs().max()), mask_equal=bool(torch.equal(single["mask"], split["mask"])))
    tol = 1e-5 if args.dtype == "fp32" else 2e-2
    resident = split["result"]["weights_resident_mb"]
    report["checks"] = {
        "a_embeddings_match": rel <= tol and report["mask_equal"],
        "b_weights_on_every_split_device": len(cuda) < 2 or all(resident[d] > 100 for d in cuda),
        "c_memory_freed": all(abs(v) <= CUBLAS_WORKSPACE_MB + 1 for v in split["result"]["leftover_mb"].values())
        and all(abs(v) <= CUBLAS_WORKSPACE_MB + 1 for v in single["result"]["leftover_mb"].values()),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
