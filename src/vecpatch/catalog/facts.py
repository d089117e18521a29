"""What the matcher needs to know about one server.

The scan code builds this from a database probe; ``catalog check`` builds it from
command-line flags. Keeping it a small frozen value makes matching a pure function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from vecpatch.catalog.versions import PgvectorVersion, PgVersion


def _empty_settings() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ServerFacts:
    """Facts about one PostgreSQL server (all databases of it together).

    ``extensions`` and ``languages`` are the union over every database of the server
    (``pg_extension.extname``, ``pg_language.lanname``). ``pointer_bits`` is 32 or 64
    (from ``SELECT version()``), None when unknown. ``settings`` holds GUC values as
    text, e.g. ``{"max_parallel_maintenance_workers": "0"}``.
    """

    pg_version: PgVersion | None = None
    pgvector_version: PgvectorVersion | None = None
    pointer_bits: int | None = None
    extensions: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    settings: Mapping[str, str] = field(default_factory=_empty_settings)

    def has_component(self, name: str) -> bool:
        """True when an extension or procedural language of that name is installed."""
        lowered = name.lower()
        return lowered in {e.lower() for e in self.extensions} or lowered in {
            lang.lower() for lang in self.languages
        }
