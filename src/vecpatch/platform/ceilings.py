"""Which pgvector versions a managed provider offers, from public sources (catalog data).

On a managed service only the provider's engine upgrades change the files on disk, so the
highest pgvector a server can reach is what its engine version ships. The server itself
says what that is today (``default_version``); this table adds what public release notes
say about other engine versions, each with its source. Anything not listed is unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from vecpatch.platform.model import PlatformKind


@dataclass(frozen=True)
class Ceiling:
    """One sourced fact: engine versions from ``since`` of ``pg_major`` offer ``pgvector``."""

    provider: str
    pg_major: int | None
    since: str | None
    pgvector: str | None
    source: str
    note: str = ""

    def describe(self) -> str:
        engine = f"PostgreSQL {self.since or self.pg_major or 'any'}" + ("+" if self.since else "")
        offers = f"pgvector {self.pgvector}" if self.pgvector else "pgvector (version not given)"
        note = f" — {self.note}" if self.note else ""
        return f"{self.provider} {engine}: {offers}{note} ({self.source})"


@cache
def _document() -> dict[str, object]:
    text = resources.files("vecpatch.data").joinpath("platform_ceilings.json").read_text("utf-8")
    doc: dict[str, object] = json.loads(text)
    return doc


def ceilings(kind: PlatformKind, pg_major: int) -> tuple[Ceiling, ...]:
    """The sourced facts that apply to this provider and major (empty: unknown)."""
    providers = _document()["providers"]
    assert isinstance(providers, dict)
    rows = providers.get(kind.value) or []
    return tuple(
        Ceiling(
            kind.value, r["pg_major"], r["since"], r["pgvector"], r["source"], r.get("note", "")
        )
        for r in rows
        if r["pg_major"] in (None, pg_major)
    )


def upgrade_command(kind: PlatformKind) -> str | None:
    """How this provider's engine (and so its pgvector) is upgraded."""
    how = _document()["how_to_upgrade"]
    assert isinstance(how, dict)
    value = how.get(kind.value)
    return str(value) if value else None
