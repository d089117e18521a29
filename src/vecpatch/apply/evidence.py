"""The evidence bundle of one run: JSON for machines, Markdown for the change record.

Everything goes through :func:`vecpatch.redact.redact_value` with the run's resolved
secrets before it touches the disk: the bundle is meant to be attached to tickets.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from vecpatch.apply.evidence_md import markdown
from vecpatch.atomic import atomic_write
from vecpatch.redact import redact_value


def write_bundle(folder: Path, doc: dict[str, Any], secrets: tuple[str, ...]) -> Path:
    """Write ``evidence.json`` and ``evidence.md`` into ``folder``; return the folder."""
    clean: dict[str, Any] = redact_value({"operator": _operator(), **doc}, secrets)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "evidence.json", json.dumps(clean, indent=2, default=str) + "\n")
    atomic_write(folder / "evidence.md", markdown(clean))
    return folder


def _operator() -> str | None:
    """Who ran the apply: the OS user (the evidence's "who"), None when it cannot be told."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
