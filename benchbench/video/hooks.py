"""Block-wise pipeline parallelism: forward hooks that move a block's arguments to the block's device.

Each transformer block gets a pre-hook that moves every tensor in its positional and keyword arguments
(nested in tuples, lists, dicts and dataclass-like containers, e.g. the RoPE (cos, sin) tuples) to the
block's device; the last block's output is moved back to the home device, where the shared output layers
live. Arguments that are the same object for every block (the timestep embeddings, prompt states, RoPE) are
copied once per device and forward pass, not once per block.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any


def move(obj: Any, device: Any, cache: dict[int, tuple[Any, Any]] | None = None) -> Any:
    """`obj` with every tensor inside moved to `device`; containers are rebuilt, other values kept as they are.

    With `cache` (id → (source, copy)), a tensor already copied to this device is reused; the source is kept
    in the cache so its id cannot be recycled while the cache lives.
    """
    import torch

    if isinstance(obj, torch.Tensor):
        target = torch.device(device)
        if obj.device == target:
            return obj
        if cache is not None:
            hit = cache.get(id(obj))
            if hit is not None and hit[0] is obj:
                return hit[1]
        # GPU to GPU: stream-ordered, no host wait (the host keeps queueing kernels); to or from the CPU: blocking
        moved = obj.to(target, non_blocking=obj.is_cuda and target.type == "cuda")
        if cache is not None:
            cache[id(obj)] = (obj, moved)
        return moved
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):          # namedtuple
        return type(obj)(*(move(x, device, cache) for x in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(move(x, device, cache) for x in obj)
    if isinstance(obj, Mapping):
        items = {k: move(v, device, cache) for k, v in obj.items()}
        try:
            return type(obj)(**items) if dataclasses.is_dataclass(obj) else type(obj)(items)
        except TypeError:
            return items
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: move(getattr(obj, f.name), device, cache)
                   for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    return obj


class BlockSplit:
    """Hooks that run `blocks[i]` on `block_devices[i]` inside `root`'s forward; `remove()` undoes them.

    `stream_keys` name the keyword arguments that change from block to block (the hidden states): they and
    all positional arguments are moved without caching, so no activation outlives its block.
    """

    def __init__(self, root: Any, blocks: Sequence[Any], block_devices: Sequence[str], home: str,
                 stream_keys: tuple[str, ...] = ("hidden_states", "audio_hidden_states")) -> None:
        self.home = home
        self.stream_keys = stream_keys
        self._caches: dict[str, dict[int, tuple[Any, Any]]] = {}
        self._handles: list[Any] = []
        self.calls = 0          # block pre-hook invocations, for tests and facts
        self._handles.append(root.register_forward_pre_hook(self._reset))
        self._handles.append(root.register_forward_hook(self._clear))
        for block, device in zip(blocks, block_devices):
            if device != home:
                self._handles.append(block.register_forward_pre_hook(self._pre(device), with_kwargs=True))
        if blocks and block_devices[-1] != home:
            self._handles.append(blocks[-1].register_forward_hook(self._home))

    def _reset(self, module: Any, args: Any) -> None:
        self._caches.clear()

    def _clear(self, module: Any, args: Any, output: Any) -> None:
        self._caches.clear()

    def _pre(self, device: str) -> Any:
        def hook(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
            self.calls += 1
            cache = self._caches.setdefault(device, {})
            args = move(args, device)
            kwargs = {k: move(v, device, None if k in self.stream_keys else cache) for k, v in kwargs.items()}
            return args, kwargs
        return hook

    def _home(self, module: Any, args: Any, output: Any) -> Any:
        return move(output, self.home)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._caches.clear()
