"""Moving block arguments between devices: nested containers, the per-forward cache, and the block hooks."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch")

from benchbench.video.hooks import BlockSplit, move  # noqa: E402

Pair = namedtuple("Pair", "cos sin")


@dataclass
class Rope:
    freqs: object
    scale: float = 1.0


def test_move_rebuilds_every_container():
    t = torch.ones(2)
    obj = {"rope": (t, Pair(t, t * 2)), "list": [t], "dc": Rope(t, 3.0), "n": 5, "s": "x", "none": None}
    out = move(obj, "cpu:1")
    assert isinstance(out["rope"], tuple) and isinstance(out["rope"][1], Pair)
    assert isinstance(out["dc"], Rope) and out["dc"].scale == 3.0
    assert out["n"] == 5 and out["s"] == "x" and out["none"] is None
    moved = [out["rope"][0], out["rope"][1].cos, out["list"][0], out["dc"].freqs]
    assert all(m is not t and torch.equal(m, t) for m in moved)      # a copy was made for the "other" device
    assert torch.equal(out["rope"][1].sin, t * 2)


def test_move_keeps_tensors_already_there_and_caches_shared_ones():
    t = torch.ones(3)
    assert move(t, "cpu") is t
    cache = {}
    a = move((t, t), "cpu:1", cache)
    assert a[0] is a[1] and len(cache) == 1                         # one copy per device and forward
    assert move(t, "cpu:1", cache) is a[0]


def test_move_diffusers_output_mapping():
    from diffusers.models.transformers.transformer_ltx2 import AudioVisualModelOutput

    t = torch.zeros(1)
    out = move(AudioVisualModelOutput(sample=t, audio_sample=t), "cpu:1")
    assert isinstance(out, AudioVisualModelOutput) and out.sample is not t


class Block(torch.nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, hidden_states, shared, rope):
        return hidden_states * self.k + shared + rope[0] * rope[1]


class Stack(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = torch.nn.ModuleList(Block(k) for k in (1.0, 2.0, 3.0, 4.0))

    def forward(self, x):
        shared, rope = x.sum() * torch.ones_like(x), (x + 1, x - 1)
        for block in self.blocks:
            x = block(hidden_states=x, shared=shared, rope=rope)
        return x


def test_block_split_runs_blocks_on_their_devices_and_returns_home():
    model, x = Stack(), torch.arange(4.0)
    expected = model(x)
    split = BlockSplit(model, list(model.blocks), ["cpu:0", "cpu:0", "cpu:1", "cpu:1"], "cpu:0")
    assert torch.equal(model(x), expected)
    assert split.calls == 2                     # the two blocks on cpu:1
    assert split._caches == {}                  # nothing outlives the forward
    split.remove()
    model(x)
    assert split.calls == 2
