"""Charts with matplotlib's object API (no pyplot, no global backend): SVG or PNG bytes.

Each section describes a chart as a `model.Chart` whose `draw(fig)` calls one of the helpers below;
`render` turns it into bytes. Text is drawn as paths, so the SVG needs no font; published data is
hatched or dashed and says so in its label.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import Chart

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd")
STAGE_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#bab0ac")
_RC = {"svg.fonttype": "path", "svg.hashsalt": "benchbench", "font.size": 9, "axes.titlesize": 10,
       "axes.spines.top": False, "axes.spines.right": False, "legend.fontsize": 8, "legend.frameon": False,
       "path.simplify": True}


def render(chart: Chart, fmt: str = "svg", dpi: int = 110) -> bytes:
    """The chart as SVG or PNG bytes (deterministic: no date, fixed ids)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=chart.size, layout="constrained")
        chart.draw(fig)
        buf = io.BytesIO()
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


def colors(labels: Iterable[str]) -> dict[str, str]:
    """A stable color per label (sorted, cycling through the palette)."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(sorted(set(labels)))}


def _short(text: str, limit: int = 48) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- horizontal bars ------------------------------------------------------------------------------

@dataclass
class Bar:
    """One bar: `label` on the axis, `series` picks the color, `back` an optional wider value drawn
    lighter behind it (e.g. all-in cost behind electricity)."""

    label: str
    series: str
    value: float
    published: bool = False
    back: float | None = None


def hbars(fig: Any, bars: Sequence[Bar], xlabel: str, palette: dict[str, str], *, log: bool | None = None,
          back_label: str = "", front_label: str = "") -> None:
    """Horizontal bars, top to bottom in the given order, colored by series, published hatched."""
    ax = fig.subplots()
    ys = list(range(len(bars)))[::-1]
    values = [b.value for b in bars] + [b.back for b in bars if b.back is not None]
    positive = [v for v in values if v and v > 0]
    if log is None:
        log = bool(positive) and max(positive) / min(positive) > 200
    for y, b in zip(ys, bars):
        color = palette.get(b.series, PALETTE[0])
        hatch = "//" if b.published else None
        if b.back is not None:
            ax.barh(y, b.back, color=color, alpha=0.3, hatch=hatch, edgecolor=color, linewidth=0)
        ax.barh(y, b.value, color=color, hatch=hatch, edgecolor="white" if b.published else color, linewidth=0)
        shown = b.back if b.back is not None else b.value
        ax.text(shown, y, " " + _fmt(shown), va="center", fontsize=7)
    ax.set_yticks(ys, [_short(b.label) for b in bars])
    ax.set_xlabel(xlabel)
    if log:
        ax.set_xscale("log")
    ax.margins(x=0.12)
    _series_legend(ax, bars, palette, back_label, front_label)


def _series_legend(ax: Any, bars: Sequence[Bar], palette: dict[str, str], back_label: str,
                   front_label: str) -> None:
    from matplotlib.patches import Patch

    seen: dict[str, Patch] = {}
    for b in bars:
        if b.series not in seen:
            seen[b.series] = Patch(facecolor=palette.get(b.series, PALETTE[0]), hatch="//" if b.published else None,
                                   edgecolor="white", label=_short(b.series, 40))
    handles = list(seen.values())
    if back_label:
        handles += [Patch(facecolor="#555", label=front_label), Patch(facecolor="#555", alpha=0.3, label=back_label)]
    ax.legend(handles=handles, loc="lower right", fontsize=7)


def _fmt(value: float) -> str:
    from .fmt import number

    return number(value)


# --- lines ----------------------------------------------------------------------------------------

@dataclass
class Line:
    label: str
    xs: list[float]
    ys: list[float]
    color: str = PALETTE[0]
    dashed: bool = False
    hollow: list[bool] = field(default_factory=list)   # per point: drawn hollow (warmups)


def lines(ax: Any, series: Sequence[Line], xlabel: str, ylabel: str, *, logx: bool | None = None,
          logy: bool = False, integer_x: bool = False) -> None:
    """One line per series; hollow markers where `hollow` says so."""
    xs_all = [x for s in series for x in s.xs if x is not None]
    for s in series:
        style = "--" if s.dashed else "-"
        ax.plot(s.xs, s.ys, style, color=s.color, label=_short(s.label, 40), marker="o", markersize=4)
        if s.hollow:
            hx = [x for x, h in zip(s.xs, s.hollow) if h]
            hy = [y for y, h in zip(s.ys, s.hollow) if h]
            ax.plot(hx, hy, "o", markersize=7, markerfacecolor="white", markeredgecolor=s.color)
    if logx is None:
        pos = [x for x in xs_all if x and x > 0]
        logx = bool(pos) and max(pos) / min(pos) >= 8
    if logx:
        ax.set_xscale("log", base=2)
        ticks = sorted(set(xs_all))
        ax.set_xticks(ticks, [_fmt(t) for t in ticks])
    elif integer_x:
        ax.xaxis.get_major_locator().set_params(integer=True)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


# --- stacked bars -----------------------------------------------------------------------------------

def stacked_hbars(fig: Any, labels: Sequence[str], parts: Sequence[dict[str, float]], xlabel: str) -> None:
    """One horizontal bar per label, stacked from the ordered `parts` mapping of each."""
    ax = fig.subplots()
    names = list(dict.fromkeys(k for p in parts for k in p))
    ys = list(range(len(labels)))[::-1]
    left = [0.0] * len(labels)
    for i, name in enumerate(names):
        widths = [p.get(name) or 0.0 for p in parts]
        ax.barh(ys, widths, left=left, color=STAGE_COLORS[i % len(STAGE_COLORS)], label=name)
        left = [a + b for a, b in zip(left, widths)]
    for y, total in zip(ys, left):
        ax.text(total, y, " " + _fmt(total), va="center", fontsize=7)
    ax.set_yticks(ys, [_short(x) for x in labels])
    ax.set_xlabel(xlabel)
    ax.margins(x=0.1)
    ax.legend(loc="lower right", fontsize=7)


# --- power over time ---------------------------------------------------------------------------------

def timeline(ax: Any, channels: dict[str, tuple[Any, Any]], windows: Sequence[tuple[float, float, str]],
             t0: float) -> None:
    """Power per channel over time (seconds from t0); iteration windows shaded by kind
    (`warmup`, `measured`, `failed`)."""
    shade = {"warmup": ("#f2c14e", 0.25), "measured": ("#4e79a7", 0.15), "failed": ("#e15759", 0.25)}
    labelled: set[str] = set()
    for start, end, kind in windows:
        color, alpha = shade.get(kind, shade["measured"])
        ax.axvspan(start - t0, end - t0, color=color, alpha=alpha, linewidth=0,
                   label=None if kind in labelled else f"{kind} iteration")
        labelled.add(kind)
    for i, (name, (t, p)) in enumerate(channels.items()):
        ax.plot(t - t0, p, color=PALETTE[i % len(PALETTE)], linewidth=1, label=_short(name, 30))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("power (W)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncols=2)
