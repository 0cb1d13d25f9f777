"""Context and concurrency sweeps (matrix runs): tok/s against each numeric matrix axis, a line per machine."""

from __future__ import annotations

from typing import Any

from ...record import slug
from ..model import Chart, Column, Section, Table
from ..plots import Line, lines
from . import ORIGIN, provenance_caption

STAT_COLUMNS = [
    Column.of("tg_tok_s", kind="stat", prov=True),
    Column.of("pp_tok_s", prov=True),
    Column.of("ttft_s", prov=True), Column.of("output_tok_s", prov=True),
]
MAX_CHARTS = 12


def build(ctx: Any) -> Section | None:
    groups = [g for g in ctx.groups("llm") if g.get("matrix")]
    if not groups:
        return None
    axes = list(dict.fromkeys(k for g in groups for k in g["matrix"]))
    for g in groups:
        for key in axes:
            g[f"m:{key}"] = g["matrix"].get(key)
        g["tg_tok_s_n"] = g.get("n")
    groups.sort(key=lambda g: (str(g["base_name"]), str(g["series"]), *(_sortable(g[f"m:{k}"]) for k in axes)))
    cols = [Column("base_name", "workload", kind="text"), Column("machine", "machine", kind="text"), ORIGIN,
            *(Column(f"m:{k}", k.removeprefix("options."), kind="text") for k in axes), *STAT_COLUMNS]
    if all(g.get("output_tok_s") is None for g in groups):
        cols = [c for c in cols if c.key != "output_tok_s"]
    blocks: list[Any] = [Table("sweeps", "Matrix runs", cols, groups)]
    blocks += charts(ctx, groups)[:MAX_CHARTS]
    return Section("sweeps", "Context and concurrency sweeps", blocks,
                   intro="Each matrix combination is its own group; the charts put tok/s against each numeric "
                         "matrix axis, one line per machine (and per value of the other axes).")


def _sortable(value: Any) -> tuple:
    return (0, float(value), "") if isinstance(value, (int, float)) else (1, 0.0, str(value))


def _numeric(groups: list[dict[str, Any]], key: str) -> bool:
    values = [g["matrix"].get(key) for g in groups if key in g["matrix"]]
    return len(set(map(repr, values))) > 1 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                    for v in values)


def charts(ctx: Any, groups: list[dict[str, Any]]) -> list[Chart]:
    out = []
    for base in dict.fromkeys(g["base_name"] for g in groups):
        family = [g for g in groups if g["base_name"] == base]
        keys = list(dict.fromkeys(k for g in family for k in g["matrix"]))
        for axis in (k for k in keys if _numeric(family, k)):
            out.append(_chart(ctx, base, axis, [k for k in keys if k != axis], family))
    return out


def _chart(ctx: Any, base: str, axis: str, others: list[str], family: list[dict[str, Any]]) -> Chart:

    second = "output_tok_s" if axis == "concurrency" else "pp_tok_s"
    series: dict[tuple, list[dict[str, Any]]] = {}
    for g in family:
        if axis in g["matrix"]:
            key = (g["series"], *(f"{k.removeprefix('options.')}={g['matrix'].get(k)}" for k in others))
            series.setdefault(key, []).append(g)

    variants: dict[tuple, int] = {}
    for key in series:
        variants[key] = sum(1 for k in variants if k[0] == key[0])

    def line(key: tuple, rows: list[dict[str, Any]], metric: str) -> Line:
        rows = sorted((r for r in rows if r.get(metric) is not None), key=lambda r: float(r["matrix"][axis]))
        return Line(" · ".join(key), [float(r["matrix"][axis]) for r in rows], [r[metric] for r in rows],
                    color=ctx.palette.get(key[0], "#1f77b4"), dashed=rows[0]["published"] if rows else False,
                    variant=variants[key])

    first_lines = [line(k, v, "tg_tok_s") for k, v in series.items()]
    second_lines = [ln for ln in (line(k, v, second) for k, v in series.items()) if ln.xs]
    name = axis.removeprefix("options.")
    titles = {"output_tok_s": "throughput, all requests (tok/s)", "pp_tok_s": "prefill (tok/s)"}

    def draw(fig: Any) -> None:

        axes = fig.subplots(1, 2 if second_lines else 1, squeeze=False)[0]
        lines(axes[0], first_lines, name, "generation (tok/s per request)", integer_x=True,
              legend=not second_lines)
        if second_lines:
            lines(axes[1], second_lines, name, titles[second], integer_x=True)

    per = "".join(f", {o.removeprefix('options.')}" for o in others)
    return Chart(f"sweep-{_slug(base)}-{_slug(name)}", f"{base}: tok/s against {name}",
                 f"One line per machine{per}. " + provenance_caption(family, "tg_tok_s"), draw, size=(10.0, 3.8))


def _slug(text: str) -> str:

    return slug(str(text)).lower()
