"""Electricity beyond one number, and other currencies: the profile keys `electricity_tou`, `work_hours` and
`exchange_rates`, parsed and validated here (configuration; the averages are formulas.weighted_mean).

    electricity_tou:                    # price per kWh by weekday and hour; later rules win; hours no rule covers
      - {days: weekdays, hours: "7-23", per_kwh: 0.32}      #   take electricity_per_kwh
      - {days: [sat, sun], per_kwh: 0.20}
      - {hours: "23-7", per_kwh: 0.12}  # "23-7" wraps past midnight; hours are [start, end)
    work_hours:                         # when the work runs (default: around the clock)
      - {days: weekdays, hours: "8-18"}
    exchange_rates: {USD: 0.92}         # 1 USD = 0.92 of the profile's currency (declared)

A week is 168 hours, Monday 00:00 first. `days`: a day (`mon` ... `sun`), a range (`mon-fri`), `weekdays`,
`weekend`, `all`, or a list of these; default all. `hours`: `"H-H"`, a list of hours, or `all` (default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UserError
from .schema import line_of, suggest

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GROUPS = {"weekdays": DAYS[:5], "weekend": DAYS[5:], "all": DAYS}
HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class Schedule:
    """168 hourly prices (None: no time-of-use, the flat price applies) and the 168 hours the work may run."""

    prices: tuple[float, ...] | None
    work: tuple[bool, ...]

    @property
    def work_share(self) -> float:
        """The share of the week the work runs."""
        return sum(self.work) / HOURS_PER_WEEK


def schedule(profile: Mapping[str, Any], file: str | None = None) -> Schedule:
    """The schedule of a profile (a mapping as loaded or as stored in a record); UserError if malformed."""
    flat = profile.get("electricity_per_kwh")
    tou = profile.get("electricity_tou")
    prices = _prices(tou, flat, file) if tou else None
    hours = profile.get("work_hours")
    work = _hours_set(hours, file, "work_hours") if hours else [True] * HOURS_PER_WEEK
    if not any(work):
        raise UserError("covers no hour of the week", file=file, line=line_of(hours), field="work_hours")
    return Schedule(tuple(prices) if prices else None, tuple(work))


def exchange_rates(data: Any, file: str | None = None, field: str = "exchange_rates") -> dict[str, float]:
    """`{CUR: rate}`: 1 CUR = rate units of the profile's currency."""
    if data in (None, {}):
        return {}
    if not isinstance(data, Mapping):
        raise UserError("must be a mapping of currency: rate, e.g. {USD: 0.92}", file=file, line=line_of(data),
                        field=field)
    out = {}
    for cur, rate in data.items():
        if not isinstance(cur, str) or not cur.isalpha() or len(cur) != 3:
            raise UserError(f"`{cur}` is not a currency code such as USD", file=file, line=line_of(data, cur),
                            field=f"{field}.{cur}")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise UserError(f"must be a number > 0, found {rate!r}", file=file, line=line_of(data, cur),
                            field=f"{field}.{cur}", hint=f"1 {cur} in the profile's currency")
        out[cur.upper()] = float(rate)
    return out


def check_profile(profile: Mapping[str, Any], file: str | None = None) -> None:
    """Validate the three keys of a profile being loaded (one-line errors)."""
    schedule(profile, file)
    exchange_rates(profile.get("exchange_rates"), file)


# --- parsing ------------------------------------------------------------------------------------------

def _prices(rules: Any, flat: Any, file: str | None) -> list[float]:
    if not isinstance(rules, list):
        raise UserError("must be a list of {days, hours, per_kwh}", file=file, line=line_of(rules),
                        field="electricity_tou")
    grid: list[float | None] = [flat if isinstance(flat, (int, float)) else None] * HOURS_PER_WEEK
    for i, rule in enumerate(rules):
        field = f"electricity_tou[{i}]"
        if not isinstance(rule, Mapping):
            raise UserError("must be a mapping {days, hours, per_kwh}", file=file, line=line_of(rules), field=field)
        _known_keys(rule, ("days", "hours", "per_kwh"), file, field)
        price = rule.get("per_kwh")
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price < 0:
            raise UserError(f"must be a number ≥ 0, found {price!r}", file=file, line=line_of(rule, "per_kwh")
                            or line_of(rule), field=f"{field}.per_kwh")
        for h, on in enumerate(_rule_hours(rule, file, field)):
            if on:
                grid[h] = float(price)
    gap = next((h for h, p in enumerate(grid) if p is None), None)
    if gap is not None:
        raise UserError(f"{DAY_NAMES[gap // 24]} {gap % 24:02d}:00 has no price", file=file, line=line_of(rules),
                        field="electricity_tou", hint="add a rule for it or give electricity_per_kwh for the rest")
    return [float(p) for p in grid]   # type: ignore[arg-type]


def _hours_set(rules: Any, file: str | None, name: str) -> list[bool]:
    if not isinstance(rules, list):
        raise UserError("must be a list of {days, hours}", file=file, line=line_of(rules), field=name)
    out = [False] * HOURS_PER_WEEK
    for i, rule in enumerate(rules):
        field = f"{name}[{i}]"
        if not isinstance(rule, Mapping):
            raise UserError("must be a mapping {days, hours}", file=file, line=line_of(rules), field=field)
        _known_keys(rule, ("days", "hours"), file, field)
        out = [a or b for a, b in zip(out, _rule_hours(rule, file, field))]
    return out


def _known_keys(rule: Mapping, allowed: tuple[str, ...], file: str | None, field: str) -> None:
    for key in rule:
        if key not in allowed:
            raise UserError(f"unknown key `{key}`", file=file, line=line_of(rule, key), field=f"{field}.{key}",
                            hint=suggest(str(key), list(allowed)) or "one of: " + ", ".join(allowed))


def _rule_hours(rule: Mapping, file: str | None, field: str) -> list[bool]:
    days = _days(rule.get("days", "all"), rule, file, f"{field}.days")
    hours = _hours(rule.get("hours", "all"), rule, file, f"{field}.hours")
    return [(h // 24) in days and (h % 24) in hours for h in range(HOURS_PER_WEEK)]


def _days(value: Any, rule: Mapping, file: str | None, field: str) -> set[int]:
    items = value if isinstance(value, list) else [value]
    out: set[int] = set()
    for item in items:
        text = str(item).strip().lower()
        if text in GROUPS:
            out |= {DAYS.index(d) for d in GROUPS[text]}
        elif "-" in text:
            first, _, last = text.partition("-")
            a, b = _day(first, rule, file, field), _day(last, rule, file, field)
            out |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
        else:
            out.add(_day(text, rule, file, field))
    return out


def _day(text: str, rule: Mapping, file: str | None, field: str) -> int:
    """`mon`, `monday`, `Mon` ... (a day's name or its first three letters)."""
    key = text.strip().lower()
    match = next((i for i, name in enumerate(DAY_NAMES) if len(key) >= 3 and name.lower().startswith(key)), None)
    if match is None:
        raise UserError(f"unknown day `{text}`", file=file, line=line_of(rule, "days") or line_of(rule), field=field,
                        hint="mon ... sun, a range such as mon-fri, weekdays, weekend or all")
    return match


def _hours(value: Any, rule: Mapping, file: str | None, field: str) -> set[int]:
    line = line_of(rule, "hours") or line_of(rule)
    if value == "all":
        return set(range(24))
    if isinstance(value, list) and all(isinstance(h, int) and not isinstance(h, bool) and 0 <= h < 24 for h in value):
        return set(value)
    first, sep, last = str(value).partition("-")
    try:
        a, b = int(first), int(last)
    except ValueError:
        a = b = -1
    if not sep or not (0 <= a <= 24 and 0 <= b <= 24) or a == b:
        raise UserError(f"cannot read hours {value!r}", file=file, line=line, field=field,
                        hint='"7-23" (7:00 to 23:00), "23-7" (across midnight), a list of hours or all')
    return set(range(a, b)) if a < b else set(range(a, 24)) | set(range(0, b))
