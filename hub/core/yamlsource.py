"""Where a key sits in a YAML file, so a configuration error names its line."""

from __future__ import annotations

import yaml


def line_of(text: str, keys: list[str], aliases: dict[str, str] | None = None) -> int | None:
    """Line number (1-based) of the node at the path ``keys`` (mapping keys; a key may be
    spelled differently in the file, e.g. ``from_`` → ``from``), or None."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    aliases = aliases or {}
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        wanted = {str(key), aliases.get(str(key), str(key))}
        match = next(((k, v) for k, v in node.value if str(k.value) in wanted), None)
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line
