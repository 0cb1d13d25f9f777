"""`kind: llm, backend: transformers`: in-process PyTorch + transformers, real or dummy weights."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import torch_util as tu
from ..errors import UserError, WorkloadError
from ..schema import Field
from ..torch_util import DTYPES
from .architectures import ARCHITECTURES, resolve
from .base import IterationContext, IterationResult, RunWarning, Workload
from .dummy_weights import build_on_device, dtype_kwargs
from .llm_common import (
    ITERATION_METRICS,
    LLM_METRICS,
    PROMPT_KEYS,
    check_context,
    check_prompt,
    decode_rate,
    prompt_text,
    rate,
)
from .placement_check import model_on_cpu

# inline architectures: sizes that must be positive integers, and their caps (a 1T-parameter shape is a typo)
ARCH_SIZES = {"hidden_size": 65_536, "intermediate_size": 262_144, "num_hidden_layers": 1_024,
              "num_attention_heads": 1_024, "num_key_value_heads": 1_024, "vocab_size": 2**21,
              "max_position_embeddings": 2**24, "head_dim": 4_096}


def _arch_ok(value: Any) -> str | None:
    if isinstance(value, str) and value not in ARCHITECTURES:
        return f"unknown architecture {value!r} (known: {', '.join(ARCHITECTURES)})"
    if isinstance(value, dict):
        return _inline_arch_problem(value)
    return None


def _inline_arch_problem(cfg: dict[str, Any]) -> str | None:
    """What is wrong with an inline config, before transformers sees it (None: nothing)."""
    model_type = cfg.get("model_type")
    if not isinstance(model_type, str) or not model_type.strip():
        return "an inline architecture needs `model_type` (e.g. llama, qwen2)"
    for key, value in cfg.items():
        if not isinstance(key, str) or not key.isidentifier():
            return f"inline architecture key {str(key)[:40]!r} is not a config name"
        if key in ARCH_SIZES and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 < value <= ARCH_SIZES[key]):
            return f"inline architecture `{key}` must be a whole number from 1 to {ARCH_SIZES[key]}, found {value!r}"
    heads, hidden = cfg.get("num_attention_heads"), cfg.get("hidden_size")
    if isinstance(heads, int) and isinstance(hidden, int) and "head_dim" not in cfg and hidden % heads:
        return f"inline architecture: hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
    kv = cfg.get("num_key_value_heads")
    if isinstance(heads, int) and isinstance(kv, int) and heads % kv:
        return f"inline architecture: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}"
    return None


def context_of(arch: Any) -> int | None:
    """The context window of a known or inline architecture (max_position_embeddings)."""
    cfg = ARCHITECTURES.get(arch) if isinstance(arch, str) else arch if isinstance(arch, dict) else None
    return (cfg or {}).get("max_position_embeddings")


def _cache_of(out: Any) -> Any:
    """The KV cache a forward returned (`cache` on transformers ≥ 5.2x, `past_key_values` before)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def looks_like_hub_id(ref: str) -> bool:
    """`org/name` (one slash, no leading dot or slash) rather than a filesystem path."""
    return ref.count("/") == 1 and not ref.startswith((".", "/", "~"))


class TransformersLLM(Workload):
    """Fixed-length greedy generation with an explicit prefill/decode split."""

    kind = "llm"
    backend = "transformers"
    requires = ("torch", "transformers")
    primary_metrics = ("tg_tok_s", "pp_tok_s")
    emits = (*(m for m in LLM_METRICS if m != "load_s"), *ITERATION_METRICS)
    keys = {
        **PROMPT_KEYS,
        "architecture": Field((str, dict), check=_arch_ok, doc="known name or inline config"),
        "weights": Field((str,), default="pretrained", choices=("pretrained", "dummy")),
        "device": Field((str,), default="auto"),
        "dtype": Field((str,), default="auto", choices=DTYPES),
    }

    @classmethod
    def extra(cls) -> str:
        return "torch"

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> tuple[str, ...] | None:
        if params.get("weights") == "dummy" and not params.get("architecture"):
            return ("weights", "`weights: dummy` needs `architecture`",
                    "a known name like smollm2-135m, or an inline config")
        if params.get("weights") != "dummy" and not params.get("model"):
            return ("model", "needs `model` (a local path or cached Hugging Face id)",
                    "or `architecture` with `weights: dummy`")
        if params.get("max_tokens", 2) < 2:
            return ("max_tokens", "must be at least 2 (one prefill token, then decode)")
        arch = params.get("architecture")
        what = f"architecture {arch if isinstance(arch, str) else '(inline)'}"
        return check_context(params, context_of(arch), what) or check_prompt(params)

    def plan(self) -> dict[str, Any]:
        p = self.params
        arch = p.get("architecture")
        name = arch if isinstance(arch, str) else "inline config"
        source = f"dummy weights for {name}" if p.get("weights") == "dummy" else f"weights from {p.get('model')}"
        return {"model": source, "device": p["device"], "dtype": p["dtype"],
                "new_tokens": p["max_tokens"]}

    def setup(self) -> dict[str, Any]:
        import torch


        self.device = tu.pick_device(self.params["device"])
        dtype_name, why = tu.choose_dtype(self.params["dtype"], self.device.split(":")[0],
                                       tu.capability(self.device))
        torch.manual_seed(self.params.get("seed") or 0)
        self._import_model_code()
        t0 = time.perf_counter()
        self.model, self.tokenizer, source = self._load(tu.torch_dtype(dtype_name))
        self.model.to(self.device).eval()
        tu.synchronize(self.device)
        load_s = time.perf_counter() - t0
        n_params = sum(p.numel() for p in self.model.parameters())
        n_bytes = sum(p.numel() * p.element_size() for p in self.model.parameters())
        cfg = self.model.config
        return {"load_s": load_s, "dtype": dtype_name, "dtype_reason": why, "weights_source": source,
                "parameters": n_params, "model_size_bytes": n_bytes,
                "architecture": getattr(cfg, "model_type", None), "vocab_size": cfg.vocab_size,
                "tokenizer": "model tokenizer" if self.tokenizer else "byte ids (no tokenizer with dummy weights)",
                **tu.device_facts(self.device)}

    def _import_model_code(self) -> None:
        """Import transformers (and, with dummy weights, the architecture's modeling code) before the clock
        starts: `load_s` is the model's load, not the library's first import in this process (seconds)."""
        from transformers import AutoConfig, AutoModelForCausalLM  # noqa: F401
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

        if self.params.get("weights") == "dummy":
            cfg = resolve(self.params["architecture"])
            try:
                MODEL_FOR_CAUSAL_LM_MAPPING.get(type(AutoConfig.for_model(cfg.pop("model_type"), **cfg)), None)
            except (ValueError, TypeError, KeyError):
                pass   # _load says what is wrong

    def _load(self, dtype: Any) -> tuple[Any, Any, str]:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        if self.params.get("weights") == "dummy":
            cfg = resolve(self.params["architecture"])
            try:
                config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
                model = build_on_device(config, dtype, self.device, int(self.params.get("seed") or 0))
            except (ValueError, TypeError, KeyError) as exc:
                raise UserError(f"transformers cannot build this architecture: {str(exc).splitlines()[0][:200]}",
                                field="architecture", hint="check model_type and the sizes") from None
            return model, None, f"random weights built on {self.device} (weights: dummy)"
        ref = self.params["model"]
        try:
            model = AutoModelForCausalLM.from_pretrained(ref, **dtype_kwargs(dtype), local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(ref, local_files_only=True)
        except OSError:
            if Path(ref).exists():
                hint = "the folder needs config.json, the weights and the tokenizer"
            elif looks_like_hub_id(ref):
                hint = f"download it first: huggingface-cli download {ref}"
            else:
                hint = "no such folder"
            raise UserError(f"`{ref}` is not a local folder nor in the Hugging Face cache",
                            field="model", hint=hint) from None
        return model, tokenizer, str(ref)

    def _prompt_ids(self, index: int) -> Any:
        import torch

        vocab = self.model.config.vocab_size
        if self.params.get("prompt_tokens"):
            gen = torch.Generator().manual_seed(((self.params.get("seed") or 0) * 1000 + index) % 2**63)
            ids = torch.randint(3, vocab, (1, int(self.params["prompt_tokens"])), generator=gen)
        elif self.tokenizer is not None:
            ids = self.tokenizer(prompt_text(self.params, index), return_tensors="pt").input_ids
        else:
            data = prompt_text(self.params, index).encode("utf-8")
            ids = torch.tensor([[3 + (b % (vocab - 3)) for b in data]])
        return ids.to(self.device)

    def run_once(self, ctx: IterationContext) -> IterationResult:
        import torch


        ids = self._prompt_ids(ctx.index)
        n_new = int(self.params["max_tokens"])
        try:
            with torch.inference_mode():
                tu.synchronize(self.device)
                t0 = time.perf_counter()
                out = self.model(input_ids=ids, use_cache=True)
                token = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
                tu.synchronize(self.device)
                t1 = time.perf_counter()
                for _ in range(n_new - 1):
                    out = self.model(input_ids=token, use_cache=True, **{self._cache_kw: _cache_of(out)})
                    token = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
                tu.synchronize(self.device)
                t2 = time.perf_counter()
        except RuntimeError as exc:  # out of memory, device errors
            raise WorkloadError(f"generation failed: {exc}".splitlines()[0]) from None
        prompt_tokens = int(ids.shape[1])
        prompt_s, gen_s = t1 - t0, t2 - t1
        metrics = {"prompt_tokens": prompt_tokens, "prompt_s": prompt_s,
                   "pp_tok_s": rate(prompt_tokens, prompt_s), "gen_tokens": n_new,
                   "gen_s": gen_s, "tg_tok_s": decode_rate(n_new, gen_s), "ttft_s": prompt_s,
                   "e2e_s": t2 - t0, "input_tokens": prompt_tokens, "output_tokens": n_new,
                   "total_tokens": prompt_tokens + n_new, "done_reason": "length"}
        return IterationResult(metrics)

    @property
    def _cache_kw(self) -> str:
        """The KV-cache argument of this model's forward: `cache` (transformers ≥ 5.2x), else
        `past_key_values` (passing the old name to a new version warns on every step)."""
        kw = getattr(self, "_cache_kw_name", None)
        if kw is None:
            import inspect

            params = inspect.signature(self.model.forward).parameters
            kw = self._cache_kw_name = "cache" if "cache" in params else "past_key_values"
        return kw

    def compute_device(self) -> str | None:
        return getattr(self, "device", None)

    def check_run(self, iterations: list[dict[str, Any]]) -> list[RunWarning]:
        found = model_on_cpu(self.device) if hasattr(self, "device") else None
        return [found] if found else []

    def devices(self) -> list[str]:
        return tu.gpu_channels([getattr(self, "device", "cpu")])

    def teardown(self) -> None:
        self.model = None
        self.tokenizer = None
        if getattr(self, "device", "cpu").startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
