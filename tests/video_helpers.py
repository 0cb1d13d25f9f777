"""Shared helpers for the video tests: the tiny LTX-2 pipeline placed on CPU "devices"."""

from __future__ import annotations

from typing import Any


def tiny_runner(devices: list[str], architecture: Any = "tiny", seed: int = 0) -> Any:
    """A TwoStageLTX2 over freshly built tiny components, blocks placed evenly on `devices`."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    from benchbench.video import tiny
    from benchbench.video.pipeline import TwoStageLTX2
    from benchbench.video.placement import Placement, place

    cfg = tiny.resolve(architecture)
    comps = tiny.build(cfg, seed=seed)
    placement = Placement.even(comps["transformer"].config.num_layers, devices)
    place(comps["transformer"], placement, {k: v for k, v in comps.items() if k != "transformer"})

    def encode(prompt: str):
        return (*tiny.prompt_embeddings(prompt, cfg["text"]), {})
    return TwoStageLTX2(comps, FlowMatchEulerDiscreteScheduler(), placement, encode,
                        cfg["text"]["max_sequence_length"])


def save_tiny_checkpoint(folder: Any) -> Any:
    """A diffusers-format LTX-2 folder (model_index.json, one subfolder per component, a tiny Gemma 3 text
    encoder and a word-level tokenizer) built from the tiny configs: the real-weight loading path, offline."""
    import json
    from pathlib import Path

    from diffusers import FlowMatchEulerDiscreteScheduler
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, PreTrainedTokenizerFast

    from benchbench.video import tiny

    folder = Path(folder)
    cfg = tiny.resolve("tiny")
    for name, module in tiny.build(cfg, seed=1).items():
        module.save_pretrained(folder / name)
    FlowMatchEulerDiscreteScheduler().save_pretrained(folder / "scheduler")
    words = "a cat on the windowsill sunlight streaming in".split()
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, "<bos>": 3, **{w: i + 4 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>",
                            bos_token="<bos>").save_pretrained(folder / "tokenizer")
    text = cfg["text"]
    config = Gemma3Config(
        text_config={"hidden_size": text["hidden_size"], "num_hidden_layers": text["num_layers"],
                     "intermediate_size": 32, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
                     "vocab_size": 64, "max_position_embeddings": 2048, "sliding_window": 64},
        vision_config={"hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "image_size": 28, "patch_size": 14},
        mm_tokens_per_image=4)
    Gemma3ForConditionalGeneration(config).save_pretrained(folder / "text_encoder")
    index = {"_class_name": "LTX2Pipeline", "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
             "text_encoder": ["transformers", "Gemma3ForConditionalGeneration"],
             "tokenizer": ["transformers", "PreTrainedTokenizerFast"]}
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder
