"""postgresql.org: ``versions.json`` (latest minor and EOL per major)."""

from __future__ import annotations

import re
from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.sanitize import clean_text
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.sources.interface import Source, SourceResult

_MAJOR = re.compile(r"^(?:[1-9]\d{1,2}|[1-9]\.\d)$")


class PostgresVersions(Source):
    name = "postgresql-versions"
    default_base_url = "https://www.postgresql.org"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        rows = client.get_json(f"{self.base_url}/versions.json")
        if not isinstance(rows, list):
            raise ValueError("versions.json is not a list")
        releases: list[dict[str, Any]] = []
        majors: dict[str, dict[str, Any]] = {}
        rejected: list[str] = []
        for index, row in enumerate(rows, start=1):
            major = clean_text(row.get("major"), 8) if isinstance(row, dict) else ""
            minor = clean_text(row.get("latestMinor"), 6) if isinstance(row, dict) else ""
            if not _MAJOR.match(major) or not minor.isdigit():
                rejected.append(
                    f"{self.name}: skipped row {index}: field 'major'/'latestMinor' is not a "
                    f"version ({major!r}, {minor!r})"
                )
                continue
            releases.append(
                {
                    "product": "postgresql",
                    "version": f"{major}.{minor}",
                    "date": clean_text(row.get("relDate"), 10) or None,
                    "notes": [],
                    "required_actions": [],
                    "security_fixes": [],
                }
            )
            majors[major] = {
                "eol": clean_text(row.get("eolDate"), 40) or None,
                "first_release": clean_text(row.get("firstRelDate"), 40) or None,
            }
        return SourceResult(self.name, releases=releases, majors=majors, rejected=rejected)
