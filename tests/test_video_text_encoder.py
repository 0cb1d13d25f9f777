"""The real-weights text-encode step's placement: which from_pretrained kwargs spread Gemma over the GPUs,
and how the devices holding it are named in the record (accelerate's device map uses bare GPU indices)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from benchbench.video import loading  # noqa: E402


class _Encoder:
    def __init__(self, device_map):
        self.hf_device_map = device_map


def test_dispatched_encoder_devices_are_named_like_the_placement():
    # the map a 2-GPU dispatch of a 6-layer gemma-3-12b produced on 2x H200 (benchmarks/ltx2_text_encoder_dispatch.py)
    placed = {"model.vision_tower": 0, "model.multi_modal_projector": 0, "model.language_model.embed_tokens": 0,
              "lm_head": 0, "model.language_model.layers": 1, "model.language_model.norm": 1}
    assert loading._placed_on(_Encoder(placed), "cuda:0") == ["cuda:0", "cuda:1"]
    assert loading._placed_on(_Encoder({"a": 0, "b": "cpu", "c": "disk"}), "cuda:0") == ["cpu", "cuda:0", "disk"]


def test_undispatched_encoder_is_on_the_first_device():
    assert loading._placed_on(_Encoder(None), "cpu:0") == ["cpu:0"]
    assert loading._placed_on(object(), "cuda:1") == ["cuda:1"]


def test_device_map_only_for_two_or_more_gpus(monkeypatch):
    import torch

    free = {0: 10_000, 1: 20_000}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (free[i], 2 * free[i]))
    assert loading._device_map(["cpu:0", "cpu:1"]) == {}
    assert loading._device_map(["cuda:0"]) == {}
    assert loading._device_map(["cuda:0", "cuda:1"]) == {"device_map": "auto", "max_memory": {0: 9000, 1: 18000}}
