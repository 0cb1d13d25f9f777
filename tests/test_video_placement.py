"""The placement plan from the config alone: blocks split evenly, shared parts on the first device."""

from __future__ import annotations

import pytest

from benchbench.video.placement import Placement, human_bytes, split_evenly


def test_split_evenly():
    assert split_evenly(48, ["a", "b", "c", "d"]) == ["a"] * 12 + ["b"] * 12 + ["c"] * 12 + ["d"] * 12
    # uneven: the extra blocks go to the last devices (the first also holds the shared parts)
    assert split_evenly(10, ["a", "b", "c", "d"]) == ["a", "a", "b", "b", "c", "c", "c", "d", "d", "d"]
    assert split_evenly(3, ["x"]) == ["x"] * 3
    with pytest.raises(ValueError):
        split_evenly(4, [])


def test_placement_names_and_segments():
    p = Placement.even(48, [0, 1, 2, 3])
    assert p.home == "cuda:0" and p.devices == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert p.segments() == [("cuda:0", 0, 11), ("cuda:1", 12, 23), ("cuda:2", 24, 35), ("cuda:3", 36, 47)]
    assert human_bytes(9.27e9) == "9.27 GB" and human_bytes(53312) == "53.3 kB"


def test_plan_bytes_match_the_built_model():
    """The plan built on the meta device equals the bytes of the real (randomly initialized) model."""
    from benchbench.video import tiny
    from benchbench.video.loading import build_meta
    from benchbench.video.placement import plan_bytes, tensor_bytes
    from benchbench.video.precision import apply_precision, choose_precision

    choice = choose_precision("fp16-storage-fp32-compute", [(6, 1)])
    cfg = tiny.resolve("tiny")
    meta = build_meta({k: v for k, v in cfg.items() if k != "text"}, choice)
    real = {k: apply_precision(v, choice) for k, v in tiny.build(cfg).items()}
    p = Placement.even(4, ["cpu:0", "cpu:1"])
    planned = plan_bytes(meta["transformer"], p, {k: v for k, v in meta.items() if k != "transformer"})
    blocks = real["transformer"].transformer_blocks
    assert planned["cpu:1"] == {"transformer_blocks": tensor_bytes(blocks[2]) + tensor_bytes(blocks[3])}
    assert set(planned["cpu:0"]) == {"transformer_blocks", "transformer_shared", "connectors", "vae",
                                     "audio_vae", "vocoder", "latent_upsampler"}
    total = sum(sum(parts.values()) for parts in planned.values())
    assert total == sum(tensor_bytes(m) for m in real.values())


def test_plan_of_the_full_size_transformer_matches_the_published_layout():
    """LTX-2's 48 blocks in fp16 over 4 GPUs: about 9.3 GB of blocks per GPU, the published P40 figure
    (9.3 GB on GPUs 1-3; GPU 0 10.8 GB with the shared parts)."""
    from benchbench.video.loading import build_meta
    from benchbench.video.placement import plan_bytes
    from benchbench.video.precision import choose_precision

    choice = choose_precision("auto", [(6, 1)] * 4)
    meta = build_meta({"transformer": {"_class_name": "LTX2VideoTransformer3DModel"}}, choice)
    p = Placement.even(meta["transformer"].config.num_layers, [0, 1, 2, 3])
    planned = plan_bytes(meta["transformer"], p, {})
    for device in ("cuda:1", "cuda:2", "cuda:3"):
        assert planned[device]["transformer_blocks"] / 1e9 == pytest.approx(9.3, rel=0.02)
    assert planned["cuda:0"]["transformer_blocks"] == planned["cuda:1"]["transformer_blocks"]
    assert 0.5e9 < planned["cuda:0"]["transformer_shared"] < 1.5e9
