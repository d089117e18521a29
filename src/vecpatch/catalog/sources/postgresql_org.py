"""postgresql.org: ``versions.json`` (latest minor and EOL per major)."""

from __future__ import annotations

from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.sanitize import clean_text
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.sources.interface import Source, SourceResult
from vecpatch.catalog.versions import PgVersion


class PostgresVersions(Source):
    name = "postgresql-versions"
    default_base_url = "https://www.postgresql.org"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        rows = client.get_json(f"{self.base_url}/versions.json")
        if not isinstance(rows, list):
            raise ValueError("versions.json is not a list")
        releases: list[dict[str, Any]] = []
        majors: dict[str, dict[str, Any]] = {}
        for row in rows:
            major = clean_text(row["major"], 8)
            version = str(PgVersion.parse(f"{major}.{clean_text(row['latestMinor'], 6)}"))
            releases.append(
                {
                    "product": "postgresql",
                    "version": version,
                    "date": clean_text(row.get("relDate"), 10) or None,
                    "notes": [],
                    "required_actions": [],
                    "security_fixes": [],
                }
            )
            majors[major] = {
                "eol": clean_text(row.get("eolDate"), 10) or None,
                "first_release": clean_text(row.get("firstRelDate"), 10) or None,
            }
        return SourceResult(self.name, releases=releases, majors=majors)
