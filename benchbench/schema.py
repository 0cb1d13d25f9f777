"""Declarative field checks for YAML mappings, with file:line messages and "did you mean" hints."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UserError

Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Field:
    """One allowed key: its type(s), whether it is required, its default and an extra check."""

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    check: Check | None = None
    choices: tuple | None = None
    doc: str = ""
    path: bool = False  # a file path, resolved relative to the suite file
    nested: Mapping[str, Field] | None = None   # a mapping value is checked key by key (no defaults filled)


@dataclass(frozen=True)
class Where:
    """Where a mapping came from, for messages."""

    file: str
    prefix: str = ""

    def field(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def nested(self, key: str) -> Where:
        return Where(self.file, f"{self.prefix}{key}.")


TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
              list: "a list", dict: "a mapping"}


def line_of(data: Any, key: str | None = None) -> int | None:
    """The source line of `key` in a LineDict (or of the container itself)."""
    if key is not None and hasattr(data, "line_of"):
        return data.line_of(key)
    return getattr(data, "line", None)


def type_ok(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance with YAML's quirks: bools are not ints, ints are floats."""
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def describe_types(types: tuple[type, ...]) -> str:
    return " or ".join(TYPE_NAMES.get(t, t.__name__) for t in types)


def suggest(key: str, allowed: list[str]) -> str | None:
    match = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    return f"did you mean `{match[0]}`?" if match else None


def unknown_key(data: Mapping, key: str, allowed: list[str], where: Where) -> UserError:
    hint = suggest(key, allowed) or "allowed: " + ", ".join(sorted(allowed))
    return UserError(f"unknown key `{key}`", file=where.file, line=line_of(data, key),
                     field=where.field(key), hint=hint)


def require_mapping(data: Any, where: Where, what: str) -> Mapping:
    if not isinstance(data, Mapping):
        found = "nothing" if data is None else next(
            (name for t, name in TYPE_NAMES.items() if type_ok(data, (t,))), type(data).__name__)
        raise UserError(f"{what} must be a mapping, found {found}", file=where.file,
                        line=line_of(data), field=where.prefix.rstrip(".") or None)
    return data


def check_value(data: Mapping, key: str, value: Any, spec: Field, where: Where) -> Any:
    """Type, choices and the custom check of one value; returns it (ints promoted where floats)."""
    line = line_of(data, key)
    if spec.nested is not None and isinstance(value, Mapping):
        return validate_nested(value, spec.nested, where.nested(key), f"`{where.field(key)}`")
    if not type_ok(value, spec.types):
        raise UserError(f"must be {describe_types(spec.types)}, found {value!r}", file=where.file,
                        line=line, field=where.field(key), hint=_number_hint(value, spec.types))
    if spec.choices is not None and value not in spec.choices:
        hint = suggest(str(value), [str(c) for c in spec.choices]) or (
            "one of: " + ", ".join(map(str, spec.choices)))
        raise UserError(f"unknown value {value!r}", file=where.file, line=line,
                        field=where.field(key), hint=hint)
    if spec.check is not None:
        problem = spec.check(value)
        if problem:
            raise UserError(problem, file=where.file, line=line, field=where.field(key))
    return value


def _number_hint(value: Any, types: tuple[type, ...]) -> str | None:
    """For text that is a number (quoted, or YAML 1.1's `1e3`, which needs `1.0e+3`): how to write it."""
    if not isinstance(value, str) or float not in types:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return f"write it unquoted, as {number:g}" if math.isfinite(number) else None


def validate(data: Any, fields: Mapping[str, Field], where: Where, what: str,
             extra_ok: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Check a mapping against `fields`; returns a plain dict with defaults filled in."""
    data = require_mapping(data, where, what)
    allowed = list(fields)
    for key in data:
        if key not in fields and not (extra_ok and extra_ok(str(key))):
            raise unknown_key(data, key, allowed, where)
    out: dict[str, Any] = {}
    for key, spec in fields.items():
        if key in data and data[key] is not None:
            out[key] = check_value(data, key, data[key], spec, where)
        elif spec.required:
            raise UserError(f"missing required key `{key}`", file=where.file, line=line_of(data),
                            field=where.field(key), hint=spec.doc or None)
        else:
            out[key] = spec.default
    for key in data:
        if key not in fields:
            out[key] = data[key]
    return out


def validate_nested(data: Mapping, fields: Mapping[str, Field], where: Where, what: str,
                    check: Check | None = None) -> dict[str, Any]:
    """A nested mapping (e.g. `load:`): known keys, each value checked; only the keys given are kept
    (their defaults belong to whoever reads them). `check` sees the whole mapping afterwards."""
    for key in data:
        if key not in fields:
            raise unknown_key(data, key, list(fields), where)
    out = {str(k): check_value(data, k, v, fields[k], where) for k, v in data.items() if v is not None}
    problem = check(out) if check is not None else None
    if problem:
        raise UserError(problem, file=where.file, line=line_of(data), field=where.prefix.rstrip(".") or None)
    return out


def positive(value: Any) -> str | None:
    if not math.isfinite(value):
        return f"must be a finite number, found {value!r}"
    return None if value > 0 else f"must be greater than 0, found {value!r}"


def non_negative(value: Any) -> str | None:
    if not math.isfinite(value):
        return f"must be a finite number, found {value!r}"
    return None if value >= 0 else f"must be 0 or more, found {value!r}"


def fraction(value: Any) -> str | None:
    return None if 0 < value <= 1 else f"must be in (0, 1], found {value!r}"
