"""PGXN: the ``vector`` distribution's release list, a second opinion on "latest"."""

from __future__ import annotations

from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.sanitize import clean_text
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.sources.interface import Source, SourceResult


class PgxnDist(Source):
    name = "pgxn"
    default_base_url = "https://api.pgxn.org"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        dist = client.get_json(f"{self.base_url}/dist/vector.json")
        releases: list[dict[str, Any]] = []
        for rel in (dist.get("releases") or {}).get("stable") or []:
            if not isinstance(rel, dict):
                continue
            version = clean_text(rel.get("version"), 20)  # checked per record by the updater
            releases.append(
                {
                    "product": "pgvector",
                    "version": version,
                    "date": clean_text(rel.get("date"), 30)[:10] or None,
                    "notes": [],
                    "required_actions": [],
                    "security_fixes": [],
                }
            )
        return SourceResult(self.name, releases=releases)
