"""Load tests against LLM servers (docs/load.md): closed and open loops and sweeps, latency percentiles
across requests with vLLM's definitions, goodput under SLOs, energy over each load point's window.

The server backends (ollama, openai) use it through `hook.LoadCapable`; the pieces stand alone too:
`config.load_config(params)`, `engine.Engine(api, url, source).run(plan, first_index)`,
`stats.point_metrics(rows, w0, w1, slo)`.
"""

from .config import SLO, LoadConfig, load_config
from .engine import Engine, PointPlan, PointRun
from .stats import percentile, point_metrics

__all__ = ["SLO", "Engine", "LoadConfig", "PointPlan", "PointRun", "load_config", "percentile", "point_metrics"]
