"""YAML loading that remembers the line of every mapping key, for one-line error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import UserError


class LineDict(dict):
    """A dict that knows the 1-based line of each key (and of itself) in its source file."""

    lines: dict[str, int]
    line: int

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class LineList(list):
    """A list that knows its line."""

    line: int


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.lines = {}
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[str(key)] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def plain(value: Any) -> Any:
    """LineDicts and LineLists as plain dicts and lists, all the way down (for records)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def load_yaml(path: Path | str, *, what: str = "file") -> Any:
    """Parse a YAML file into LineDict/LineList; every failure is a one-line UserError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{what} not found", file=str(path), hint="check the path") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {what}: {exc.__class__.__name__}", file=str(path)) from None
    return loads_yaml(text, str(path))


def loads_yaml(text: str, filename: str) -> Any:
    """Parse YAML text; `filename` is used in error messages."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise UserError(f"invalid YAML: {problem}", file=filename, line=line,
                        hint="check indentation and quoting") from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {exc}", file=filename) from None
