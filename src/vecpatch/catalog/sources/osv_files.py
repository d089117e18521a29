"""User-provided OSV records (files or URLs): a company's own advisories.

A file or URL may hold one record, a list of records, or ``{"vulns": [...]}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.osv import OsvError, advisory_from_osv
from vecpatch.catalog.sources.http import FeedClient, FetchError
from vecpatch.catalog.sources.interface import Source, SourceResult


class OsvFiles(Source):
    name = "osv-files"
    default_base_url = ""

    def __init__(self, locations: list[str]) -> None:
        super().__init__("")
        self.locations = locations

    def _read(self, client: FeedClient, where: str) -> Any:
        if where.startswith(("https://", "http://")):
            return client.get_json(where)
        try:
            return json.loads(Path(where).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FetchError(f"cannot read {where}: {type(exc).__name__}") from None

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        out: list[dict[str, Any]] = []
        notes: list[str] = []
        for where in self.locations:
            raw = self._read(client, where)
            items = raw.get("vulns", [raw]) if isinstance(raw, dict) else raw
            for index, rec in enumerate(items if isinstance(items, list) else [], start=1):
                try:
                    advisory_from_osv(rec)
                except OsvError as exc:
                    notes.append(f"{where} record {index}: {exc.message}")
                    continue
                out.append(dict(rec))
        if notes and not out:
            raise FetchError("; ".join(notes))
        return SourceResult(self.name, advisories=out, notes=notes)
