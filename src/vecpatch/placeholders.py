"""Fill ``{name}`` placeholders of operator hook commands, safely for the shell.

Values (host names, database names, versions) can come from a server, so each is
shell-quoted, substitution happens in one pass (a value containing ``{dest}`` is not
expanded again), and a placeholder the template itself puts in quotes is refused:
quoting an already quoted value would let ``$(...)`` in a database name run.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from vecpatch.errors import UsageError

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with every known placeholder replaced by its shell-quoted value."""
    for name in values:
        for quote in ("'", '"'):
            if f"{quote}{{{name}}}" in template or f"{{{name}}}{quote}" in template:
                raise UsageError(
                    f"hook command puts {{{name}}} in quotes: leave placeholders bare, "
                    "vecpatch quotes the values itself"
                )

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        return shlex.quote(values[key]) if key in values else match.group(0)

    return _PLACEHOLDER.sub(value, template)
