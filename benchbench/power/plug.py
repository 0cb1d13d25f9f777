"""Shared part of the LAN smart-plug samplers (`shelly`, `tasmota`): HTTP polling of one or
more plugs, each a `wall` channel (several plugs: `wall0`, `wall1`, ... summed as the system)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from ..errors import PowerError, UserError
from .base import Channel, PollingSampler, Reading, SamplerLine, SamplerUnavailable

DEFAULT_TIMEOUT_S = 2.0


class HttpPlugSampler(PollingSampler):
    """Polls plugs over HTTP; subclasses build the URL and parse the JSON."""

    option_keys = ("interval_ms", "url", "timeout_s")
    resolution_j: float = 0.0

    @classmethod
    def doctor(cls, options: dict[str, Any] | None = None, profile: Any = None) -> SamplerLine:
        if not (options or {}).get("url"):
            return SamplerLine(sampler=cls.name, available=False,
                               why=f"no plug address: set power.{cls.name}.url in a suite (then doctor --suite)")
        return super().doctor(options, profile)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.options.get("url")
        self.urls = [url] if isinstance(url, str) else list(url or [])
        self.timeout_s = float(self.options.get("timeout_s") or DEFAULT_TIMEOUT_S)
        self.session: Any = None

    @abstractmethod
    def status_url(self, base: str) -> str:
        """The status endpoint of a plug at `base` (http://host)."""

    @abstractmethod
    def parse(self, data: Any) -> tuple[float | None, float | None]:
        """(watts, cumulative joules) from the endpoint's JSON."""

    def channel_names(self) -> list[str]:
        return ["wall"] if len(self.urls) == 1 else [f"wall{i}" for i in range(len(self.urls))]

    def fetch(self, base: str) -> tuple[float | None, float | None]:
        import requests

        url = self.status_url(base.rstrip("/"))
        try:
            response = self.session.get(url, timeout=self.timeout_s)
            response.raise_for_status()
            return self.parse(response.json())
        except requests.RequestException as exc:
            raise PowerError(f"{self.name} plug {base}: {exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise PowerError(f"{self.name} plug {base}: unexpected answer ({exc})") from None

    def open(self) -> list[Channel]:
        import requests

        if not self.urls:
            raise UserError(f"the {self.name} sampler needs the plug's address", field=f"power.{self.name}.url",
                            hint=f"power: {{{self.name}: {{url: http://192.168.1.50}}}}")
        self.session = requests.Session()
        channels = []
        for name, base in zip(self.channel_names(), self.urls, strict=True):
            try:
                _, energy = self.fetch(base)
            except PowerError as exc:
                raise SamplerUnavailable(str(exc)) from None
            channels.append(Channel(name, "wall", self.name, f"{self.name} plug at {base}",
                                    counter=energy is not None, counter_resolution_j=self.resolution_j))
        return channels

    def close(self) -> None:
        if self.session is not None:
            self.session.close()

    def read(self) -> list[Reading]:
        out = []
        for name, base in zip(self.channel_names(), self.urls, strict=True):
            watts, joules = self.fetch(base)
            out.append(Reading(name, watts, joules))
        return out
