"""Work sources: what a server served in an interval, from its own cumulative counters.

A `CounterSource` scrapes a Prometheus `/metrics` page (parsed by prometheus_client's parser), sums
the counters it knows per model, and turns two readings into the work of the interval between
them. Counters only grow while the server lives: a counter that went back (or a new process start
time) means the server restarted; the interval then counts what the new process served and says
that what the old one served after the last reading was lost. A page that can't be read is a
`down` row; counters being cumulative, the next reading catches up with nothing lost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..redact import read_env, redact_text
from .store import CATCH_UP, COUNTER_RESET, SOURCE_DOWN, WorkRow

KEYS = ("requests", "input_tokens", "cached_tokens", "output_tokens", "busy_s")
SCRAPE_TIMEOUT_S = 5.0
MAX_PAGE_BYTES = 16 * 1024 * 1024


@dataclass
class Reading:
    """One scrape: counter totals per model (None: the server has no such counter), and the
    process start time when the server exposes it."""

    totals: dict[str, dict[str, float | None]]
    started_s: float | None = None


@dataclass
class Collected:
    """What collect() hands the recorder for one interval."""

    rows: list[WorkRow] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)   # kind, message


class Source(ABC):
    """One server (or the proxy) whose served work goes into the ledger."""

    kind: ClassVar[str]
    busy_basis: ClassVar[str] = ""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    @property
    def name(self) -> str:
        """`kind@url`, credentials in the URL redacted: the name is stored in the ledger and shown."""
        return redact_text(f"{self.kind}@{self.url}")

    def info(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": redact_text(self.url), "busy_basis": self.busy_basis}

    def open(self) -> list[tuple[str, str]]:
        """Start (a first reading as the baseline); returns events to record."""
        return []

    @abstractmethod
    def collect(self) -> Collected:
        """The work since the previous collect()."""

    def state(self) -> dict[str, Any]:
        """What a later recorder needs to count the work served while none was running."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Take a previous recorder's last reading as the baseline (same boot only)."""

    def close(self) -> None:
        pass


class CounterSource(Source):
    """A server with a Prometheus /metrics page; subclasses map its metric names."""

    metrics_path: ClassVar[str] = "/metrics"
    hint: ClassVar[str] = ""
    families: ClassVar[tuple[str, ...]] = ()   # metric name prefixes read; other lines are not parsed

    def __init__(self, url: str, api_key_env: str | None = None) -> None:
        super().__init__(url)
        self.api_key_env = api_key_env
        self.client: Any = None
        self.last: Reading | None = None
        self.down_since: str | None = None

    # --- to implement ---------------------------------------------------------------------
    @abstractmethod
    def totals(self, samples: dict[str, list[tuple[dict[str, str], float]]]) -> Reading:
        """Counter totals per model from the page's samples (sample name → [(labels, value)])."""

    # --- reading --------------------------------------------------------------------------
    def _client(self) -> Any:
        if self.client is None:
            import httpx

            headers = {}
            key = read_env(self.api_key_env)      # its value is a secret from now on
            if key:
                headers["Authorization"] = f"Bearer {key}"
            self.client = httpx.Client(timeout=SCRAPE_TIMEOUT_S, headers=headers)
        return self.client

    def scrape(self) -> Reading:
        """One reading; raises OSError-like errors as `ScrapeError` with a one-line reason."""
        import httpx
        from prometheus_client.parser import text_string_to_metric_families

        try:
            response = self._client().get(self.url + self.metrics_path)
        except httpx.HTTPError as exc:
            raise ScrapeError(f"cannot read {self.url}{self.metrics_path}: {exc or type(exc).__name__}") from None
        if response.status_code != 200:
            hint = f" ({self.hint})" if self.hint and response.status_code in (404, 501) else ""
            raise ScrapeError(f"{self.url}{self.metrics_path} answered HTTP {response.status_code}{hint}")
        if len(response.content) > MAX_PAGE_BYTES:
            raise ScrapeError(f"{self.url}{self.metrics_path}: page over {MAX_PAGE_BYTES} bytes")
        samples: dict[str, list[tuple[dict[str, str], float]]] = {}
        try:
            for family in text_string_to_metric_families(self.select(response.text)):
                for s in family.samples:
                    samples.setdefault(s.name, []).append((s.labels, float(s.value)))
        except ValueError as exc:
            raise ScrapeError(f"{self.url}{self.metrics_path}: not Prometheus text ({exc})") from None
        return self.totals(samples)

    def select(self, text: str) -> str:
        """The page's lines of the families this source reads (their samples, HELP and TYPE lines),
        histogram buckets and `_created` stamps left out: a vLLM page is hundreds of lines, of which a
        dozen matter, and the parser's time is the recorder's main cost."""
        if not self.families:
            return text
        keep = []
        for line in text.splitlines():
            name = line[7:] if line.startswith(("# HELP ", "# TYPE ")) else line
            head = name.split(" ", 1)[0].split("{", 1)[0]
            if head.startswith(self.families) and not head.endswith(("_bucket", "_created")):
                keep.append(line)
        return "\n".join(keep) + "\n"

    def open(self) -> list[tuple[str, str]]:
        try:
            self.last = self.scrape()
        except ScrapeError as exc:
            self.down_since = str(exc)
            return [("source_down", f"{self.name}: {exc}")]
        return []

    def collect(self) -> Collected:
        out = Collected()
        try:
            now = self.scrape()
        except ScrapeError as exc:
            if self.down_since is None:
                out.events.append(("source_down", f"{self.name}: {exc}; its counters will be read again"))
            self.down_since = str(exc)
            out.rows.append(WorkRow(self.name, "", flags=SOURCE_DOWN))
            return out
        flags = 0
        if self.down_since is not None:
            out.events.append(("source_up", f"{self.name}: readable again"))
            self.down_since = None
            flags |= CATCH_UP
        prev = self.last
        self.last = now
        if prev is None:           # the first reading: a baseline, no work yet
            return out
        reset = self._reset(prev, now)
        if reset:
            flags |= COUNTER_RESET
            out.events.append(("counter_reset", f"{self.name}: {reset}; counted from the restart on, what it "
                                                "served between the last reading and the restart is lost "
                                                "(at most one interval)"))
        for model, cur in now.totals.items():
            before = {} if reset else prev.totals.get(model, {})
            row = WorkRow(self.name, model, flags=flags)
            for key in KEYS:
                value = cur.get(key)
                if value is None:
                    continue
                delta = value - (before.get(key) or 0.0)
                setattr(row, key, round(delta, 6) if key == "busy_s" else int(round(delta)))
            if any(getattr(row, k) for k in KEYS) or flags:
                out.rows.append(row)
        return out

    @staticmethod
    def _reset(prev: Reading, now: Reading) -> str | None:
        if prev.started_s is not None and now.started_s is not None and now.started_s != prev.started_s:
            return "the server restarted (new process start time)"
        gone = sorted(set(prev.totals) - set(now.totals))
        if gone:
            return f"the server restarted (no longer serves {', '.join(m or '?' for m in gone)})"
        for model, before in prev.totals.items():
            after = now.totals.get(model, {})
            for key, value in before.items():
                if value is not None and after.get(key) is not None and after[key] < value - 1e-9:
                    return f"the server restarted ({key} went back from {value:g} to {after[key]:g})"
        return None

    def state(self) -> dict[str, Any]:
        if self.last is None:
            return {}
        return {"totals": self.last.totals, "started_s": self.last.started_s}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("totals") and self.last is None:
            self.last = Reading(state["totals"], state.get("started_s"))

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class ScrapeError(Exception):
    """A /metrics page that could not be read or parsed."""


def total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, by: str | None = None,
          ) -> dict[str, float]:
    """Sum a sample over its label sets, grouped by the label `by` ("" when not grouped)."""
    out: dict[str, float] = {}
    for labels, value in samples.get(name, []):
        key = labels.get(by, "") if by else ""
        out[key] = out.get(key, 0.0) + value
    return out
