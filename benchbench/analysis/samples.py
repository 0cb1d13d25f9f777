"""Power samples (`<run_id>.power*.csv` beside each record), loaded on demand, and the energy of
every iteration recomputed from them as a cross-check of the record's figures.

Samples are long format: `t_s` (time.monotonic, the clock of the iterations' mono_start_s/mono_end_s),
`channel`, `power_w`, `energy_j` (cumulative counter, empty when none), then optional columns.
Files with the same header are parsed together in one pass (a thousand small files cost one parse).
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from ..errors import InputSkipped

SAMPLE_COLUMNS = ["run_id", "file", "t_s", "channel", "power_w", "energy_j", "index"]
SAMPLE_ENERGY_COLUMNS = ["run_id", "index", "channel", "n_samples", "joules_integrated", "joules_counter",
                         "joules", "source", "avg_w", "joules_record", "diff_pct"]
_REQUIRED = ("t_s", "channel", "power_w")


def load_samples(runs: Any, iterations: Any) -> Any:
    """Every sample of every run, with the iteration each falls in (`index`, -1 outside iterations)."""
    import numpy as np
    import pandas as pd

    files = [(run_id, path) for run_id, paths in zip(runs["run_id"], runs["power_files"]) for path in paths]
    frames = [frame for frame in _parse(files) if len(frame)]
    if not frames:
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["index"] = -1
    windows = _windows(iterations)
    file_codes = out["file"].cat.codes.to_numpy()
    order = np.argsort(file_codes, kind="stable")
    bounds = np.flatnonzero(np.diff(file_codes[order])) + 1
    t = out["t_s"].to_numpy(float)
    index = np.full(len(out), -1, dtype=int)
    for rows in np.split(order, bounds):
        run_id = out["run_id"].iat[rows[0]]
        if run_id in windows:
            index[rows] = _assign(t[rows], *windows[run_id])
    out["index"] = index
    extra = [c for c in out.columns if c not in SAMPLE_COLUMNS]
    return out[SAMPLE_COLUMNS + extra]


def _parse(files: list[tuple[str, str]]) -> list[Any]:
    """Read the files, group them by header line, parse each group as one CSV."""
    import numpy as np
    import pandas as pd

    groups: dict[bytes, list[tuple[str, str, bytes, int]]] = {}
    for run_id, path in files:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            warnings.warn(f"{path}: power samples skipped ({exc})", InputSkipped, stacklevel=3)
            continue
        header, _, body = data.partition(b"\n")
        body = body.rstrip(b"\r\n")
        if not body:
            continue
        groups.setdefault(header.strip(), []).append((run_id, path, body + b"\n", body.count(b"\n") + 1))
    frames = []
    for header, items in groups.items():
        columns = header.decode("utf-8", "replace").split(",")
        missing = [c for c in _REQUIRED if c not in columns]
        if missing:
            for _, path, _, _ in items:
                why = f"no {', '.join(missing)} column"
                warnings.warn(f"{path}: power samples skipped ({why})", InputSkipped, stacklevel=3)
            continue
        frame = _read_csv(header + b"\n" + b"".join(body for _, _, body, _ in items))
        counts = [n for _, _, _, n in items]
        if frame is None or len(frame) != sum(counts):   # blank or broken lines: one file at a time
            frames += [f for f in (_one(run_id, path, header + b"\n" + body) for run_id, path, body, _ in items)
                       if f is not None]
            continue
        runs = [r for r, _, _, _ in items]
        paths = [p for _, p, _, _ in items]
        codes = np.repeat(np.arange(len(items)), counts)
        names, run_codes = np.unique(np.asarray(runs, dtype=object), return_inverse=True)
        frame.insert(0, "run_id", pd.Categorical.from_codes(run_codes[codes], categories=names))
        frame.insert(1, "file", pd.Categorical.from_codes(codes, categories=paths))
        frames.append(frame)
    return _unify(frames)


def _read_csv(data: bytes) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(data), dtype={"channel": "category"}, engine="c")
    except (ValueError, pd.errors.ParserError):
        return None
    if "energy_j" not in frame.columns:
        frame["energy_j"] = float("nan")
    for col in ("t_s", "power_w", "energy_j"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def _one(run_id: str, path: str, data: bytes) -> Any:
    import pandas as pd

    frame = _read_csv(data)
    if frame is None:
        warnings.warn(f"{path}: power samples skipped (not a CSV of samples)", InputSkipped, stacklevel=4)
        return None
    frame.insert(0, "run_id", pd.Categorical([run_id] * len(frame)))
    frame.insert(1, "file", pd.Categorical([path] * len(frame)))
    return frame


def _unify(frames: list[Any]) -> list[Any]:
    """Same categorical columns everywhere, so that concat keeps them categorical."""
    from pandas.api.types import union_categoricals

    if len(frames) < 2:
        return frames
    for col in ("run_id", "file", "channel"):
        cats = union_categoricals([f[col] for f in frames]).categories
        for f in frames:
            f[col] = f[col].cat.set_categories(cats)
    return frames


def _windows(iterations: Any, prefix: str = "mono") -> dict[str, tuple[Any, Any, Any]]:
    """run_id → (starts, ends, indexes) of its iterations, sorted by start; prefix `energy`: the windows their
    energy covers (narrower for llama-bench: its decode test)."""
    start, end = f"{prefix}_start_s", f"{prefix}_end_s"
    ok = iterations[iterations[start].notna() & iterations[end].notna()]
    ok = ok.sort_values(["run_id", start])
    run_ids = ok["run_id"].to_numpy()
    starts, ends = ok[start].to_numpy(float), ok[end].to_numpy(float)
    idx = ok["index"].to_numpy().astype(int)
    out = {}
    import numpy as np

    bounds = np.flatnonzero(run_ids[1:] != run_ids[:-1]) + 1 if len(run_ids) else []
    for rows in np.split(np.arange(len(run_ids)), bounds):
        if len(rows):
            out[run_ids[rows[0]]] = (starts[rows], ends[rows], idx[rows])
    return out


def _assign(t: Any, starts: Any, ends: Any, idx: Any) -> Any:
    import numpy as np

    out = np.full(len(t), -1, dtype=int)
    if len(starts) == 0:
        return out
    pos = np.searchsorted(starts, t, side="right") - 1
    inside = (pos >= 0) & (t <= ends[np.clip(pos, 0, None)])
    out[inside] = idx[pos[inside]]
    return out


def sample_energy(samples: Any, iterations: Any, energy: Any) -> Any:
    """Per iteration and channel: the counter delta (when the channel has one) and the trapezoid
    integral of power (interpolated at the edges), against the joules in the record."""
    import numpy as np
    import pandas as pd

    windows = _windows(iterations, "energy")
    rows: list[dict[str, Any]] = []
    if len(samples):
        files = samples["file"].cat.codes.to_numpy() if hasattr(samples["file"], "cat") else \
            pd.factorize(samples["file"])[0]
        chans, chan_names = pd.factorize(samples["channel"])
        t = samples["t_s"].to_numpy(float)
        order = np.lexsort((t, chans, files))
        key = files[order] * (len(chan_names) + 1) + chans[order]
        bounds = np.flatnonzero(np.diff(key)) + 1
        p, e, run_ids = samples["power_w"].to_numpy(float), samples["energy_j"].to_numpy(float), samples["run_id"]
        for seg in np.split(order, bounds):
            run_id = run_ids.iat[seg[0]]
            if run_id in windows:
                rows.extend(_channel_rows(run_id, chan_names[chans[seg[0]]], t[seg], p[seg], e[seg],
                                          *windows[run_id]))
    out = pd.DataFrame(rows, columns=SAMPLE_ENERGY_COLUMNS[:-2])
    # a resumed run has one file per session (each its own clock): keep the file covering the window
    out = out.assign(_missing=out["joules"].isna()).sort_values("_missing", kind="stable").drop_duplicates(
        ["run_id", "index", "channel"]).drop(columns="_missing").sort_values(["run_id", "index", "channel"])
    record = energy[["run_id", "index", "channel", "joules"]].rename(columns={"joules": "joules_record"})
    out = out.merge(record, on=["run_id", "index", "channel"], how="left")
    out["diff_pct"] = (out["joules"] - out["joules_record"]) / out["joules_record"] * 100
    return out[SAMPLE_ENERGY_COLUMNS]


def _channel_rows(run_id: str, channel: str, t_all: Any, p_all: Any, e_all: Any, starts: Any, ends: Any,
                  idx: Any) -> list[dict[str, Any]]:
    import numpy as np

    has_p, has_e = ~np.isnan(p_all), ~np.isnan(e_all)
    integrated = _integral(t_all[has_p], p_all[has_p], starts, ends)
    counter = _counter(t_all[has_e], e_all[has_e], starts, ends)
    n = np.searchsorted(t_all, ends, side="right") - np.searchsorted(t_all, starts, side="left")
    rows = []
    for k in range(len(starts)):
        c, i = counter[k], integrated[k]
        joules, source = (c, "counter") if c == c else ((i, "integrated") if i == i else (None, None))
        span = ends[k] - starts[k]
        rows.append({"run_id": run_id, "index": int(idx[k]), "channel": channel, "n_samples": int(n[k]),
                     "joules_integrated": _f(i), "joules_counter": _f(c), "joules": _f(joules),
                     "source": source, "avg_w": joules / span if joules is not None and span > 0 else None})
    return rows


def _integral(t: Any, p: Any, starts: Any, ends: Any) -> Any:
    """∫ p dt over each [start, end] (trapezoid, linear at the edges); NaN outside the samples."""
    import numpy as np

    if len(t) < 2:
        return np.full(len(starts), np.nan)
    cum = np.concatenate(([0.0], np.cumsum(np.diff(t) * (p[1:] + p[:-1]) / 2)))

    def at(x: Any) -> Any:
        k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, len(t) - 2)
        px = np.interp(x, t, p)
        value = cum[k] + (x - t[k]) * (p[k] + px) / 2
        return np.where((x < t[0]) | (x > t[-1]), np.nan, value)

    return at(ends) - at(starts)


def _counter(t: Any, e: Any, starts: Any, ends: Any) -> Any:
    """Counter advance over each window (linear between readings); NaN where not bracketed."""
    import numpy as np

    if len(t) < 2:
        return np.full(len(starts), np.nan)
    inside = (starts >= t[0]) & (ends <= t[-1])
    delta = np.interp(ends, t, e) - np.interp(starts, t, e)
    return np.where(inside & (delta >= 0), delta, np.nan)


def _f(x: Any) -> float | None:
    return None if x is None or x != x else float(x)
