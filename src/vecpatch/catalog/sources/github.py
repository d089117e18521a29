"""GitHub: pgvector's tags (it publishes tags, not Releases) and GHSA aliases by CVE."""

from __future__ import annotations

import re
from typing import Any

from vecpatch.catalog.model import Catalog, Product
from vecpatch.catalog.sanitize import clean_id, clean_text
from vecpatch.catalog.sources.http import FeedClient, FetchError
from vecpatch.catalog.sources.interface import Source, SourceResult

_TAG = re.compile(r"^v(\d+\.\d+\.\d+)$")
MAX_DATE_LOOKUPS = 5  # unauthenticated budget is 60/h; only new tags need a date


class GitHubTags(Source):
    name = "github-tags"
    default_base_url = "https://api.github.com"
    repo = "pgvector/pgvector"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        tags = client.get_json(f"{self.base_url}/repos/{self.repo}/tags?per_page=100")
        if not isinstance(tags, list):
            raise ValueError("tags is not a list")
        have = {r.version for r in known.releases if r.product is Product.PGVECTOR}
        releases: list[dict[str, Any]] = []
        lookups = 0
        for tag in tags:
            m = _TAG.match(str(tag.get("name", ""))) if isinstance(tag, dict) else None
            if not m:
                continue
            version = m.group(1)
            entry: dict[str, Any] = {
                "product": "pgvector",
                "version": version,
                "date": None,
                "notes": [],
                "required_actions": [],
                "security_fixes": [],
            }
            if version not in have and lookups < MAX_DATE_LOOKUPS:
                lookups += 1
                entry["date"] = self._date(client, version)
            releases.append(entry)
        return SourceResult(self.name, releases=releases)

    def _date(self, client: FeedClient, version: str) -> str | None:
        """The tag's commit date; None (the release still counts) when it cannot be read."""
        try:
            commit = client.get_json(f"{self.base_url}/repos/{self.repo}/commits/v{version}")
            return clean_text(commit["commit"]["committer"]["date"], 30)[:10] or None
        except (FetchError, KeyError, TypeError, AttributeError):
            return None


class GitHubAdvisories(Source):
    """Adds GHSA aliases to known CVEs (the pgvector GHSA is unreviewed, no package)."""

    name = "github-advisories"
    default_base_url = "https://api.github.com"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        out: list[dict[str, Any]] = []
        for adv in known.advisories:
            if Product.PGVECTOR not in adv.products or not adv.id.startswith("CVE-"):
                continue
            items = client.get_json(
                f"{self.base_url}/advisories?cve_id={adv.id}&type=unreviewed&per_page=100"
            )
            ghsas = [g for g in (clean_id(i.get("ghsa_id")) for i in items or []) if g]
            new = sorted(set(ghsas) - set(adv.aliases))
            if new:
                record = dict(adv.record)
                record["aliases"] = sorted(set(adv.aliases) | set(new))
                out.append(record)
        return SourceResult(self.name, advisories=out)
