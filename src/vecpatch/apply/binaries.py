"""Finding ``pg_dump``/``pg_restore`` that can read the server.

pg_dump refuses servers of a newer major than itself, and a dump must be restored with
the same tools, so we look next to the server's version: ``--pg-bin DIR`` first, else the
``pg_dump`` on ``PATH`` if its major is at least the server's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from vecpatch.errors import VecpatchError


class BinariesNotFound(VecpatchError):
    """No usable pg_dump/pg_restore; the message says what was tried."""


def _major(tool: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(tool), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except OSError:
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


def find_tool(name: str, server_major: int, pg_bin: Path | None) -> Path:
    """The path of ``name`` (pg_dump or pg_restore) for a server of ``server_major``."""
    if pg_bin is not None:
        candidate = pg_bin / name
        if not candidate.exists():
            raise BinariesNotFound(f"{name} not found in --pg-bin {pg_bin}")
        return candidate
    on_path = shutil.which(name)
    if on_path is None:
        raise BinariesNotFound(f"{name} is not on PATH; pass --pg-bin DIR")
    major = _major(Path(on_path))
    if major is None or major < server_major:
        raise BinariesNotFound(
            f"{on_path} is PostgreSQL {major}, older than the server ({server_major}); "
            "pass --pg-bin DIR with the server's client binaries"
        )
    return Path(on_path)
