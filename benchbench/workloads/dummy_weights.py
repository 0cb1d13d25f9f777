"""Random ("dummy") weights built directly on the target device, in seconds.

`AutoModelForCausalLM.from_config` alone builds every tensor on the CPU and runs the model's weight
initialization there (kaiming, then normal draws: minutes for an 8B model), before `.to(device)`
copies it all. Random weights need none of that. Here the model is constructed under a
`torch.device(...)` context (every parameter and buffer is allocated on the device: RoPE frequencies
are computed there as in any construction), with transformers' `no_init_weights` (the module-level
inits and the model's own `init_weights` skipped), then every floating parameter is filled on the
device in one pass: matrices and embeddings ~ N(0, initializer_range²), norms 1, biases 0 (the values
transformers' own initialization gives, so activations stay finite in half precision). Tied
embeddings are tied again afterwards, since skipping `init_weights` also skips the tying it does.
Works with transformers 4.4x (no_init_weights in modeling_utils, `torch_dtype=`) and 5.x
(`transformers.initialization`, `dtype=`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

DEFAULT_STD = 0.02
POOL_ELEMENTS = 1 << 22


def transformers_major() -> int:
    import transformers

    return int(transformers.__version__.split(".")[0])


def _no_init_weights() -> Any:
    """transformers' context that skips weight initialization (its home moved in 5.0)."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # transformers 4.x
        from transformers.modeling_utils import no_init_weights
    return no_init_weights()


def dtype_kwargs(dtype: Any) -> dict[str, Any]:
    """`dtype=` on transformers 5 (and late 4.x), `torch_dtype=` on older 4.x."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


@contextmanager
def _quiet_transformers() -> Any:
    """transformers logs a line per skipped init on some versions; keep the terminal clean."""
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(before)


def build_on_device(config: Any, dtype: Any, device: str, seed: int = 0) -> Any:
    """A causal LM of `config` with random weights, allocated and filled on `device`."""
    import torch
    from transformers import AutoModelForCausalLM

    with _quiet_transformers(), torch.device(device), _no_init_weights():
        model = AutoModelForCausalLM.from_config(config, **dtype_kwargs(dtype))
    fill_random(model, getattr(config, "initializer_range", None) or DEFAULT_STD, seed)
    if getattr(config, "tie_word_embeddings", False):
        model.tie_weights()
    return model


def fill_random(model: Any, std: float, seed: int = 0) -> None:
    """Fill every floating parameter in place, on its own device: 1-D `*norm*` weights 1, biases 0,
    everything else N(0, std²): drawn on accelerators (at memory speed there); on the CPU, where
    drawing is ~4x slower than copying, tiled from one block of POOL_ELEMENTS draws."""
    import torch

    generators: dict[Any, Any] = {}
    pools: dict[Any, Any] = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if not param.is_floating_point():
                continue
            leaf = name.rsplit(".", 1)[-1]
            if param.dim() == 1 and "norm" in name.lower() and leaf == "weight":
                param.fill_(1.0)
            elif leaf == "bias":
                param.zero_()
            else:
                key = (param.device, param.dtype)
                gen = generators.get(param.device)
                if gen is None:
                    gen = generators[param.device] = torch.Generator(device=param.device).manual_seed(seed)
                if param.device.type != "cpu":
                    param.normal_(0.0, std, generator=gen)
                    continue
                if key not in pools:
                    pools[key] = torch.empty(POOL_ELEMENTS, dtype=param.dtype).normal_(0.0, std, generator=gen)
                _tile(param.view(-1), pools[key])


def _tile(flat: Any, pool: Any) -> None:
    for start in range(0, flat.numel(), pool.numel()):
        n = min(pool.numel(), flat.numel() - start)
        flat[start:start + n].copy_(pool[:n])
