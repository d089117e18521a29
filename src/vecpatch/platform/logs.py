"""Where a platform writes the server log when the logging collector is off.

``pg_current_logfile()`` names the file only when the collector writes it. Debian's
clusters log stderr to ``/var/log/postgresql/postgresql-<major>-<cluster>.log`` (their
``cluster_name`` is ``<major>/<cluster>``); a vecpatch sandbox writes ``log/postgres.log``
next to its data directory. Pure: the caller reads (or does not) what is listed here.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath


def stderr_log_candidates(
    data_directory: str | None, cluster_name: str, major: int
) -> tuple[str, ...]:
    """Absolute paths where this server's stderr log conventionally lives, most specific first."""
    found: list[str] = []
    debian = re.fullmatch(r"(\d+)/([\w.-]+)", cluster_name)
    if debian and int(debian.group(1)) == major:
        found.append(f"/var/log/postgresql/postgresql-{major}-{debian.group(2)}.log")
    if cluster_name == "vecpatch-sandbox" and data_directory:
        found.append(str(PurePosixPath(data_directory).parent / "log" / "postgres.log"))
    return tuple(found)
