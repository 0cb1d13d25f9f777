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
