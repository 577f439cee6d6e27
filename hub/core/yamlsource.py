"""YAML read with its line numbers kept, so a configuration error names its line.

``parse(text)`` gives the data and the node tree it was built from in one pass; the
tree answers ``line_at(root, keys)`` for any path of mapping keys and list indexes (a
pydantic error location, for instance). Duplicate keys are refused (PyYAML would keep
the last one silently); ``dates_as_text`` keeps ``2026-10-09`` a string so a model can
check how the date is written.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import yaml

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in


class _Loader(_Base):  # type: ignore[misc]  # CSafeLoader or SafeLoader, chosen at import
    """Safe YAML that refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base class refuses it with its own message
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        mapping: dict[Hashable, Any] = super().construct_mapping(node, deep)
        return mapping


class _TextDatesLoader(_Loader):
    """As ``_Loader``, with dates left as text."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(text: str, dates_as_text: bool = False) -> tuple[Any, yaml.Node | None]:
    """The data of a YAML document and its root node; raises ``yaml.YAMLError``."""
    loader = (_TextDatesLoader if dates_as_text else _Loader)(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    finally:
        loader.dispose()


def error_line(exc: yaml.YAMLError) -> int | None:
    """1-based line a YAML syntax error points at, or None."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def error_text(exc: yaml.YAMLError) -> str:
    """The problem a YAML syntax error describes, without PyYAML's position lines."""
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if not problem:
        return str(exc)
    return f"{context}: {problem}" if context else problem


def line_at(root: yaml.Node | None, keys: Iterable[Any], aliases: dict[str, str] | None = None) -> int | None:
    """1-based line of the node at ``keys`` (mapping keys, list indexes), or of the
    deepest node on that path (a missing key is reported at the mapping that lacks it).
    A key may be spelled differently in the file (``aliases``: ``from_`` → ``from``)."""
    aliases = aliases or {}
    node = root
    for part in keys:
        if isinstance(node, yaml.MappingNode):
            wanted = {str(part), aliases.get(str(part), str(part))}
            match = [v for k, v in node.value if str(k.value) in wanted]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1 if node is not None else None


def line_of(text: str, keys: list[str], aliases: dict[str, str] | None = None) -> int | None:
    """Line number (1-based) of the node at the path ``keys`` in ``text``, or None."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return None
    return line_at(root, keys, aliases)
