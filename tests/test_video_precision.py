"""Precision choice for the LTX-2 workload (pure) and fp16-storage/fp32-compute applied to a real model."""

from __future__ import annotations

import pytest

from benchbench.video.precision import choose_precision


@pytest.mark.parametrize("cc, name, storage, compute, text", [
    ((6, 1), "fp16-storage-fp32-compute", "fp16", "fp32", "fp32"),   # Tesla P40 (Pascal)
    ((7, 0), "fp16-storage-fp32-compute", "fp16", "fp32", "fp32"),   # V100 (Volta): fp16 but no bf16
    ((9, 0), "bf16", "bf16", "bf16", "bf16"),                        # H100/H200 (Hopper)
])
def test_auto_by_compute_capability(cc, name, storage, compute, text):
    c = choose_precision("auto", [cc, cc])
    assert (c.name, c.storage, c.compute, c.text_encoder) == (name, storage, compute, text)
    assert f"{cc[0]}.{cc[1]}" in c.reason


def test_auto_needs_every_listed_gpu_to_have_bf16():
    c = choose_precision("auto", [(9, 0), (6, 1), (8, 6)])
    assert c.name == "fp16-storage-fp32-compute" and "6.1" in c.reason and "9.0" not in c.reason


def test_auto_on_cpu_and_explicit_requests():
    assert choose_precision("auto", None).name == "fp32"
    fp16 = choose_precision("fp16", [(7, 0)])
    assert (fp16.storage, fp16.compute, fp16.text_encoder, fp16.reason) == ("fp16", "fp16", "fp32", "requested")
    bf16_old = choose_precision("bf16", [(6, 1)])
    assert bf16_old.compute == "bf16" and "emulates bf16" in bf16_old.reason
    assert choose_precision("fp16-storage-fp32-compute", [(9, 0)]).storage == "fp16"
    with pytest.raises(ValueError):
        choose_precision("int8", None)


def test_fp16_storage_fp32_compute_on_a_transformer():
    """Linear weights sit in fp16 between forwards, norms and tables in fp32, and the block computes in fp32:
    the output is fp32 and within fp16 weight-rounding error of the all-fp32 model."""
    import torch

    from benchbench.video import tiny
    from benchbench.video.precision import apply_precision

    cfg = tiny.resolve({"transformer": {"num_layers": 2}})
    ref = tiny.build(cfg, seed=3)["transformer"]
    low = tiny.build(cfg, seed=3)["transformer"]
    apply_precision(low, choose_precision("fp16-storage-fp32-compute", [(6, 1)]))
    block = low.transformer_blocks[0]
    assert block.attn1.to_q.weight.dtype == torch.float16
    assert block.scale_shift_table.dtype == torch.float32 and low.proj_in.weight.dtype == torch.float32
    assert low.dtype == torch.float32  # diffusers reports the compute dtype
    gen = torch.Generator().manual_seed(0)
    kw = dict(hidden_states=torch.randn(1, 16, 4, generator=gen),
              audio_hidden_states=torch.randn(1, 5, 4, generator=gen),
              encoder_hidden_states=torch.randn(1, 8, 32, generator=gen),
              audio_encoder_hidden_states=torch.randn(1, 8, 32, generator=gen), timestep=torch.tensor([500.0]),
              num_frames=1, height=4, width=4, audio_num_frames=5, return_dict=False)
    with torch.inference_mode():
        a, b = ref(**kw)[0], low(**kw)[0]
    assert b.dtype == torch.float32 and block.attn1.to_q.weight.dtype == torch.float16  # cast back after use
    err = float((a - b).norm() / a.norm())
    assert 0 < err < 5e-3
