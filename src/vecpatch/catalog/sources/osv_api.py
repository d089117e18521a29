"""OSV.dev: records by id, and by the commit of the installed pgvector tag.

OSV has no PGXN/PostgreSQL ecosystem, so name queries cannot work; an empty ``{}``
answer means "no GIT-range record", never "safe".
"""

from __future__ import annotations

from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.osv import OsvError, advisory_from_osv
from vecpatch.catalog.sources.http import FeedClient, FetchError
from vecpatch.catalog.sources.interface import Source, SourceResult


def _usable(records: list[Any]) -> list[dict[str, Any]]:
    out = []
    for rec in records:
        try:
            advisory_from_osv(rec)
        except OsvError:
            continue
        out.append(dict(rec))
    return out


class OsvById(Source):
    name = "osv"
    default_base_url = "https://api.osv.dev"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        """Re-read every known advisory by id (no year or prefix filter: OSV knows GHSA too)."""
        got: list[Any] = []
        notes: list[str] = []
        for adv in known.advisories:
            try:
                got.append(client.get_json(f"{self.base_url}/v1/vulns/{adv.id}"))
            except FetchError as exc:
                notes.append(f"{self.name}: {adv.id}: {exc.reason}")
        if notes and not got:
            raise FetchError(
                notes[0] if len(notes) == 1 else f"{notes[0]} (+{len(notes) - 1} more)"
            )
        return SourceResult(self.name, advisories=_usable(got), notes=notes)


class OsvByCommit(Source):
    name = "osv-commit"
    default_base_url = "https://api.osv.dev"

    def __init__(self, commit: str, base_url: str | None = None) -> None:
        super().__init__(base_url)
        self.commit = commit

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        res = client.get_json(
            f"{self.base_url}/v1/query", method="POST", body={"commit": self.commit}
        )
        return SourceResult(self.name, advisories=_usable(res.get("vulns") or []))
