"""Best-effort line numbers for places in a targets file.

Neither ``tomllib`` nor ``yaml.safe_load`` keeps positions, so validation errors
would otherwise say only "targets[3].wave". These helpers map such a path back
to a line: exactly for YAML (via the composed node tree) and by a simple scan of
table headers and keys for TOML. When the answer is unknown they return None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import yaml

Path = Sequence[str | int]
Locator = Callable[[Path], int | None]

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")


def toml_locator(text: str) -> Locator:
    """Locate ``(table,)``, ``(table, key)``, ``("targets", i)`` or ``("targets", i, key)``."""
    lines = text.splitlines()
    headers: list[tuple[int, str, bool]] = []  # (index, name, is_array)
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            headers.append((index, match.group(1).strip('"'), line.lstrip().startswith("[[")))

    def span_from(start: int) -> tuple[int, int]:
        following = [i for i, _, _ in headers if i > start]
        return start, following[0] if following else len(lines)

    def block(path: Path) -> tuple[tuple[int, int], Path] | None:
        """The line span of the table *path* points into, and the rest of the path."""
        if len(path) > 1 and isinstance(path[1], int):
            starts = [i for i, name, arr in headers if arr and name == path[0]]
            return (span_from(starts[path[1]]), path[2:]) if path[1] < len(starts) else None
        for k in range(len(path), 0, -1):
            name = ".".join(str(p) for p in path[:k])
            found = [i for i, head, arr in headers if not arr and head == name]
            if found:
                return span_from(found[0]), path[k:]
        return None

    def locate(path: Path) -> int | None:
        found = block(path)
        if found is None:
            return None
        (start, end), rest = found
        if not rest:
            return start + 1
        key = re.compile(rf'^\s*"?{re.escape(str(rest[0]))}"?\s*=')
        for index in range(start + 1, end):
            if key.match(lines[index]):
                return index + 1
        return start + 1

    return locate


def yaml_locator(text: str) -> Locator:
    """Locate any mapping/sequence path exactly, using PyYAML's node marks."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None

    def locate(path: Path) -> int | None:
        node = root
        line = None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == part:
                        line, node = key.start_mark.line + 1, value
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    return locate
