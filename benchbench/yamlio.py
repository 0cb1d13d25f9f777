"""YAML loading that remembers the line of every mapping key, for one-line error messages.

Hostile files are refused with one line (limits.py has the caps): nesting deeper than MAX_DEPTH,
aliases that expand past MAX_NODES, integers over 64 bits, lists or mappings used as keys,
recursive aliases, files over MAX_FILE_BYTES or not UTF-8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from . import limits
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


class LimitError(ConstructorError):
    """A document over one of the caps in limits.py (or shaped so no program could use it)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with a depth limit while composing and a size check before constructing."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > limits.MAX_DEPTH:
                raise LimitError(None, None, f"nested more than {limits.MAX_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            expanded_size(node, {}, set())
        return node


def expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """How many nodes the document has once every alias is expanded; refuses bombs and cycles."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise LimitError(None, None, "an alias refers to the collection that contains it", node.start_mark)
    open_.add(key)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(expanded_size(child, sizes, open_) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(expanded_size(k, sizes, open_) + expanded_size(v, sizes, open_) for k, v in node.value)
    open_.discard(key)
    if size > limits.MAX_NODES:
        raise LimitError(None, None, f"expands to more than {limits.MAX_NODES} values (an alias bomb?)",
                               node.start_mark)
    sizes[key] = size
    return size


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    digits = sum(ch.isalnum() for ch in str(node.value))
    if digits > limits.MAX_INT_DIGITS + 2:   # 0x / 0o prefixes
        raise LimitError(None, None, f"an integer of {digits} digits; integers must fit in 64 bits",
                               node.start_mark)
    value = SafeConstructor.construct_yaml_int(loader, node)
    if not limits.INT_MIN <= value <= limits.INT_MAX:
        raise LimitError(None, None, "integers must fit in 64 bits", node.start_mark)
    return value


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.lines = {}
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            what = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
            raise LimitError(None, None, f"{what} used as a key; keys must be plain names",
                                   key_node.start_mark)
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
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


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
        size = path.stat().st_size
        if size > limits.MAX_FILE_BYTES:
            raise UserError(f"{what} is {size} bytes; at most {limits.MAX_FILE_BYTES}", file=str(path))
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{what} not found", file=str(path), hint="check the path") from None
    except (OSError, RuntimeError) as exc:  # a folder, no permission, a symlink loop...
        why = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise UserError(f"cannot read {what}: {why}", file=str(path)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UserError(f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x})", file=str(path), line=line,
                        hint="save it as UTF-8") from None
    return loads_yaml(text, str(path))


def loads_yaml(text: str, filename: str) -> Any:
    """Parse YAML text; `filename` is used in error messages."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except RecursionError:
        raise UserError(f"invalid YAML: nested too deep (at most {limits.MAX_DEPTH} levels)",
                        file=filename) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        hint = "see docs/security.md for the limits" if isinstance(exc, LimitError) else "check indentation and quoting"
        raise UserError(f"invalid YAML: {problem}", file=filename, line=line, hint=hint) from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {exc}", file=filename) from None
