"""The metric registry: what every figure benchbench records or derives *means* (see model.py).

    from benchbench import metrics
    metrics.get("tg_tok_s").header()        # 'generation (tok/s)'
    metrics.get("output_tok_s").scope       # 'throughput'

The catalogue is split by domain (LLM, load tests, TTS and video, power and energy, money, the usage ledger); importing
this package registers all of it. `python -m benchbench.metrics --write` regenerates docs/metrics.md.
"""

from . import (  # noqa: F401  (they register)
    catalog_llamacpp,
    catalog_llm,
    catalog_load,
    catalog_media,
    catalog_money,
    catalog_power,
    catalog_shape,
    catalog_usage,
)
from .model import (
    REGISTRY,
    SCOPES,
    STRICT_ENV,
    Metric,
    UnregisteredMetric,
    check_declared,
    check_names,
    combine_requests,
    derive_throughput,
    flat_names,
    get,
    header,
    label,
    lookup,
    register,
    strict,
    throughput_metrics,
    unit,
    unknown,
)

__all__ = ["REGISTRY", "SCOPES", "STRICT_ENV", "Metric", "UnregisteredMetric", "check_declared", "check_names",
           "combine_requests", "derive_throughput", "flat_names", "get", "header", "label", "lookup",
           "register", "strict", "throughput_metrics", "unit", "unknown"]
