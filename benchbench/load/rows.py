"""One row per request of a load point, and the file that keeps them beside the record.

Times in a row are time.monotonic() seconds; the file stores them relative to the load point's
start (`t0_s`, kept in the record) with ITL as the list of gaps between chunks, in seconds.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One request as the client saw it, with the server's own counts where it gave them."""

    index: int                      # unique in the run (its prompt prefix)
    position: int                   # order within the load point
    scheduled_s: float | None       # open loop: when it was due
    queued_s: float                 # ready to send (after its prompt was built)
    sent_s: float = 0.0
    end_s: float | None = None      # response complete (or failed / cancelled)
    times: list[float] = field(default_factory=list)   # arrival of each token chunk
    status: str = "ok"              # ok | error | cancelled
    http_status: int | None = None
    error: str | None = None
    max_tokens: int | None = None
    input_tokens_asked: int | None = None
    input_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    server: dict[str, Any] = field(default_factory=dict)
    in_window: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def ttft_s(self) -> float | None:
        return self.times[0] - self.sent_s if self.times else None

    @property
    def e2e_s(self) -> float | None:
        """Sent → last token chunk (vLLM's E2EL)."""
        return self.times[-1] - self.sent_s if self.times else None

    @property
    def tokens(self) -> int:
        """Output tokens: the server's count, else one per chunk."""
        return int(self.output_tokens) if self.output_tokens is not None else len(self.times)

    @property
    def tpot_s(self) -> float | None:
        """(E2E − TTFT) / (output tokens − 1): vLLM's TPOT, the first token excluded."""
        n = self.tokens
        if len(self.times) < 2 or n < 2:
            return None
        return (self.times[-1] - self.times[0]) / (n - 1)

    @property
    def gaps_s(self) -> list[float]:
        t = self.times
        return [b - a for a, b in zip(t, t[1:])]

    @property
    def tokens_per_chunk(self) -> float | None:
        return self.tokens / len(self.times) if self.times and self.output_tokens is not None else None

    @property
    def server_tpot_s(self) -> float | None:
        """The server's decode time per token after the first (llama.cpp predicted_ms / (n − 1))."""
        gen, n = self.server.get("server_gen_s"), self.server.get("server_output_tokens")
        return gen / (n - 1) if isinstance(gen, (int, float)) and isinstance(n, int) and n > 1 else None


COLUMNS = ("index", "position", "status", "http_status", "error", "in_window", "scheduled_s", "sent_s",
           "queue_s", "ttft_s", "tpot_s", "e2e_s", "end_s", "chunks", "itl_s", "input_tokens_asked",
           "input_tokens", "cached_tokens", "max_tokens", "output_tokens", "tokens_per_chunk",
           "finish_reason", "server_prompt_tokens", "server_prompt_s", "server_output_tokens",
           "server_gen_s", "server_tpot_s")


def row_values(row: Row, t0: float) -> dict[str, Any]:
    rel = lambda t: None if t is None else round(t - t0, 6)
    queue = row.sent_s - (row.scheduled_s if row.scheduled_s is not None else row.queued_s)
    return {
        "index": row.index, "position": row.position, "status": row.status, "http_status": row.http_status,
        "error": row.error, "in_window": row.in_window, "scheduled_s": rel(row.scheduled_s),
        "sent_s": rel(row.sent_s), "queue_s": round(max(0.0, queue), 6), "ttft_s": _r(row.ttft_s),
        "tpot_s": _r(row.tpot_s), "e2e_s": _r(row.e2e_s), "end_s": rel(row.end_s), "chunks": len(row.times),
        "itl_s": ";".join(f"{g:.6f}" for g in row.gaps_s), "input_tokens_asked": row.input_tokens_asked,
        "input_tokens": row.input_tokens, "cached_tokens": row.cached_tokens, "max_tokens": row.max_tokens,
        "output_tokens": row.output_tokens, "tokens_per_chunk": _r(row.tokens_per_chunk),
        "finish_reason": row.finish_reason, "server_prompt_tokens": row.server.get("server_prompt_tokens"),
        "server_prompt_s": _r(row.server.get("server_prompt_s")),
        "server_output_tokens": row.server.get("server_output_tokens"),
        "server_gen_s": _r(row.server.get("server_gen_s")), "server_tpot_s": _r(row.server_tpot_s),
    }


def _r(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def free_path(path: Path) -> Path:
    """`path`, or `<stem>.a2<suffix>`, `.a3`... when a file is there already (nothing is overwritten)."""
    if not path.exists():
        return path
    name = path.name
    head, dot, tail = name.partition(".requests")
    for n in range(2, 10_000):
        candidate = path.with_name(f"{head}.a{n}{dot}{tail}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(path)


def write_rows(rows: list[Row], t0: float, path: Path, fmt: str = "csv") -> Path:
    """Write the rows (CSV, or Parquet with pyarrow) atomically; returns the path written."""
    path = free_path(path.with_suffix(".parquet") if fmt == "parquet" else path)
    path.parent.mkdir(parents=True, exist_ok=True)
    values = [row_values(r, t0) for r in sorted(rows, key=lambda r: r.position)]
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({c: [v[c] for v in values] for c in COLUMNS})
        pq.write_table(table, tmp)
    else:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in values)
    os.replace(tmp, path)
    return path


def read_rows(path: Path | str) -> list[dict[str, Any]]:
    """The rows of a requests file as dicts (numbers parsed; `itl_s` as a list)."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        out = pq.read_table(path).to_pylist()
    else:
        with open(path, newline="", encoding="utf-8") as fh:
            out = [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    for r in out:
        itl = r.get("itl_s")
        r["itl_s"] = [float(x) for x in str(itl).split(";") if x] if itl not in (None, "") else []
    return out


def _parse(value: str) -> Any:
    if value == "":
        return None
    if value in ("True", "False"):
        return value == "True"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
