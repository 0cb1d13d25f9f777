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

from ..fmt import number
from ..textsafe import one_line
from .model import Chart

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd")
STAGE_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#bab0ac")
_RC = {"svg.fonttype": "path", "svg.hashsalt": "benchbench", "font.size": 9, "axes.titlesize": 10,
       "axes.spines.top": False, "axes.spines.right": False, "legend.fontsize": 8, "legend.frameon": False,
       "path.simplify": True, "text.parse_math": False}   # a `$` in a model name is text, never mathtext


def render(chart: Chart, fmt: str = "svg", dpi: int = 110) -> bytes:
    """The chart as SVG or PNG bytes (deterministic: no date, fixed ids)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=chart.size)
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.13, top=0.95, wspace=0.25)
        chart.draw(fig)
        _escape_controls(fig)
        buf = io.BytesIO()
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


def _escape_controls(fig: Any) -> None:
    """Every text on the chart with control characters shown escaped, as in tables (no font has them)."""
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    for text in fig.findobj(Text):
        shown = one_line(text.get_text())
        if shown != text.get_text():
            text.set_text(shown)
    for ax in fig.axes:        # tick labels are made again from the formatter at drawing time
        for axis in (ax.xaxis, ax.yaxis):
            made = axis.get_major_formatter()
            if isinstance(made, FixedFormatter):
                made.seq = [one_line(label) for label in made.seq]
            elif isinstance(made, (FuncFormatter, StrCategoryFormatter)):   # set_yticks(ys, labels) makes a Func...
                axis.set_major_formatter(FuncFormatter(lambda v, pos, made=made: one_line(made(v, pos))))


def colors(labels: Iterable[str]) -> dict[str, str]:
    """A stable color per label (sorted, cycling through the palette)."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(sorted(set(labels)))}


def plain_log(axis: Any) -> None:
    """A log axis with plain number tick labels (no mathtext: it is slow and reads worse)."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


def left_margin(fig: Any, labels: Sequence[str], fontsize: float = 9, right_labels: Sequence[str] = ()) -> None:
    """Room for horizontal bar labels on the left (and a legend on the right) without a layout engine:
    about 0.55 em a character."""
    width = fig.get_size_inches()[0]
    left = 0.25 + 0.6 * fontsize / 72 * max((len(x) for x in labels), default=4)
    right = 0.45 + 0.55 * 7 / 72 * max((len(x) for x in right_labels), default=0) if right_labels else 0.15
    fig.subplots_adjust(left=min(0.45, left / width), right=max(0.5, 1 - right / width))


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


def hbars(fig: Any, bars: Sequence[Bar], xlabel: str, palette: dict[str, str], *, log: bool = False,
          back_label: str = "", front_label: str = "") -> None:
    """Horizontal bars, top to bottom in the given order, colored by series, published hatched;
    the legend sits to the right of the axes."""
    ax = fig.subplots()
    ys = list(range(len(bars)))[::-1]
    for y, b in zip(ys, bars):
        color = palette.get(b.series, PALETTE[0])
        hatch = "//" if b.published else None
        if b.back is not None:
            ax.barh(y, b.back, color=color, alpha=0.3, hatch=hatch, edgecolor=color, linewidth=0)
        ax.barh(y, b.value, color=color, hatch=hatch, edgecolor="white" if b.published else color, linewidth=0)
        shown = b.back if b.back is not None else b.value
        ax.text(shown, y, " " + _fmt(shown), va="center", fontsize=7)
    labels = [_short(b.label, 40) for b in bars]
    ax.set_yticks(ys, labels)
    ax.set_ylim(-0.6, len(bars) - 0.4)
    _vertical_margins(fig, len(bars))
    ax.set_xlabel(xlabel)
    if log:
        ax.set_xscale("log")
        plain_log(ax.xaxis)
    ax.margins(x=0.12)
    ax.grid(axis="x", alpha=0.3)
    legend = _series_legend(ax, bars, palette, back_label, front_label)
    left_margin(fig, labels, right_labels=legend)


def wide_range(values: Iterable[float | None], ratio: float = 1000) -> bool:
    """True when the positive values span more than `ratio` (then a log axis reads better)."""
    pos = [v for v in values if v is not None and v > 0]
    return bool(pos) and max(pos) / min(pos) > ratio


def _vertical_margins(fig: Any, n: int) -> None:
    """Fixed room (in inches) for the x label below and a little above, whatever the height."""
    height = fig.get_size_inches()[1]
    fig.subplots_adjust(bottom=min(0.4, 0.55 / height), top=1 - min(0.2, 0.15 / height))


def _series_legend(ax: Any, bars: Sequence[Bar], palette: dict[str, str], back_label: str,
                   front_label: str) -> list[str]:
    """A legend of the series to the right of the axes; returns its labels (for the margin)."""
    from matplotlib.patches import Patch

    seen: dict[str, Patch] = {}
    for b in bars:
        if b.series not in seen:
            seen[b.series] = Patch(facecolor=palette.get(b.series, PALETTE[0]), hatch="//" if b.published else None,
                                   edgecolor="white", label=_short(b.series, 44))
    handles = list(seen.values())
    if back_label:
        handles += [Patch(facecolor="#555", label=front_label), Patch(facecolor="#555", alpha=0.3, label=back_label)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    return [str(h.get_label()) for h in handles]


def _fmt(value: float) -> str:
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
    variant: int = 0                                    # another line of the same color: other marker/style


def lines(ax: Any, series: Sequence[Line], xlabel: str, ylabel: str, *, logx: bool | None = None,
          logy: bool = False, integer_x: bool = False, legend: bool = True) -> None:
    """One line per series; hollow markers where `hollow` says so; the legend to the right."""
    xs_all = [x for s in series for x in s.xs if x is not None]
    for s in series:
        style = "--" if s.dashed else ("-", "-.", ":", (0, (5, 1)))[s.variant % 4]
        ax.plot(s.xs, s.ys, linestyle=style, color=s.color, label=_short(s.label, 50),
                marker="osD^v<>"[s.variant % 7], markersize=4)
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
        plain_log(ax.xaxis)
        ax.set_xticks(ticks, [_fmt(t) for t in ticks])
    elif integer_x:
        ax.xaxis.get_major_locator().set_params(integer=True)
    if logy:
        ax.set_yscale("log")
        plain_log(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if legend:
        legend_right(ax)


def legend_right(ax: Any, handles: Any = None) -> None:
    """The legend outside the axes on the right, with the figure's right margin made to fit it."""
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7) if handles \
        else ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    labels = [t.get_text() for t in legend.get_texts()]
    fig = ax.figure
    right = 0.45 + 0.55 * 7 / 72 * max((len(x) for x in labels), default=0)
    fig.subplots_adjust(right=max(0.5, 1 - right / fig.get_size_inches()[0]))


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
    ax.set_yticks(ys, [_short(x, 40) for x in labels])
    left_margin(fig, [_short(x, 40) for x in labels])
    _vertical_margins(fig, len(labels))
    ax.set_xlabel(xlabel)
    ax.margins(x=0.1)
    legend_right(ax)


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
    legend_right(ax)
