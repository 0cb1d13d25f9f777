"""Per-group statistics, power, energy per unit and costs (machine × workload × params): the orchestration.

The pieces: columns.py (column lists, options), aggregates.py (statistics, power, throughput), group_row.py
(one group's figures), comparisons.py (prices, API / cloud / TTS comparisons). Every figure goes through
`costs.cost_figures` / `formulas`; nothing here computes money itself.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .aggregates import aggregates, metric_columns, stats_table
from .columns import (
    API_COLUMNS,
    CLOUD_COLUMNS,
    FIGURE_COLUMNS,
    FIGURES,
    GROUP_COLUMNS,
    GROUP_KEY,
    STAT_COLUMNS,
    TTS_CLOUD_COLUMNS,
    Options,
)
from .comparisons import api_rows, cloud_rows, entries, price_requests, tts_rows
from .group_row import figures_table, group_idle, group_row
from .load import Loaded

__all__ = ["API_COLUMNS", "CLOUD_COLUMNS", "FIGURES", "FIGURE_COLUMNS", "GROUP_COLUMNS", "STAT_COLUMNS",
           "TTS_CLOUD_COLUMNS", "Options", "build_tables", "figures_table", "group_ids", "group_idle",
           "metric_columns", "stats_table"]


def build_tables(loaded: Loaded, opts: Options) -> dict[str, Any]:
    """groups, stats, figures, api, cloud, tts_cloud (and iterations with group_id and api_cost)."""
    import pandas as pd

    runs = loaded.runs.copy()
    runs["group_id"] = group_ids(runs)
    its = loaded.iterations.merge(runs[["run_id", "group_id"]], on="run_id", how="left")
    its = price_requests(its, runs, opts, loaded.requests)
    measured = its[its["measured"]]
    stats = stats_table(measured)
    agg = aggregates(stats, measured, its)
    rows, comparisons = [], {"api": [], "cloud": [], "tts_cloud": []}
    runs = runs.sort_values("started_at", na_position="first", kind="stable")
    for gid, group_runs in runs.groupby("group_id", sort=False):
        row = group_row(gid, group_runs, agg, loaded.idle, opts)
        rows.append(row)
        prices = entries(group_runs, opts)
        comparisons["api"] += api_rows(row, prices, opts)
        comparisons["cloud"] += cloud_rows(row, prices)
        comparisons["tts_cloud"] += tts_rows(row, prices)
    groups = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    return {
        "iterations": its, "groups": groups, "stats": stats, "figures": figures_table(groups),
        "api": pd.DataFrame(comparisons["api"], columns=API_COLUMNS),
        "cloud": pd.DataFrame(comparisons["cloud"], columns=CLOUD_COLUMNS),
        "tts_cloud": pd.DataFrame(comparisons["tts_cloud"], columns=TTS_CLOUD_COLUMNS),
    }


def group_ids(runs: Any) -> Any:
    """A short stable id per machine × workload × params (published and measured never pool)."""
    import pandas as pd

    keys = ["\x1f".join(map(str, values)) for values in zip(*(runs[k] for k in GROUP_KEY))]
    return pd.Series([hashlib.sha1(k.encode()).hexdigest()[:10] for k in keys], index=runs.index, dtype=object)
