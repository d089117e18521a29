"""CVE JSON 5 records (CVE.org API and postgresql.org's pgweb files) to OSV.

The CNA record is the most reliable source of pgvector's affected ranges:
``affected[].versions[] {version, lessThan, status}``, where ``version: "0"`` means
"from the beginning".
"""

from __future__ import annotations

from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.sanitize import clean_text
from vecpatch.catalog.sources.http import FeedClient, FetchError
from vecpatch.catalog.sources.interface import Source, SourceResult


def osv_from_cve5(rec: dict[str, Any]) -> dict[str, Any]:
    """Convert one CVE 5 record; raise ValueError when it has no usable range."""
    cve_id = rec["cveMetadata"]["cveId"]
    cna = rec["containers"]["cna"]
    affected: list[dict[str, Any]] = []
    for aff in cna.get("affected") or []:
        product = clean_text(aff.get("product"), 60).lower()
        name = (
            "vector" if "pgvector" in product else "postgresql" if "postgres" in product else None
        )
        if name is None:
            continue
        events_by_range: list[dict[str, Any]] = []
        for v in aff.get("versions") or []:
            if v.get("status") != "affected" or not v.get("lessThan"):
                continue
            start = clean_text(v.get("version"), 20) or "0"
            if name == "postgresql" and start != "0" and "." not in start:
                start += ".0"
            events_by_range.append(
                {
                    "type": "ECOSYSTEM",
                    "events": [{"introduced": start}, {"fixed": clean_text(v["lessThan"], 20)}],
                }
            )
        if events_by_range:
            affected.append(
                {
                    "package": {
                        "ecosystem": "PGXN" if name == "vector" else "PostgreSQL",
                        "name": name,
                    },
                    "ranges": events_by_range,
                }
            )
    if not affected:
        raise ValueError(f"{cve_id}: no pgvector/PostgreSQL range")
    severity = []
    for metric in cna.get("metrics") or []:
        for key in ("cvssV3_1", "cvssV3_0", "cvssV4_0"):
            if key in metric and metric[key].get("vectorString"):
                kind = "CVSS_V4" if key == "cvssV4_0" else "CVSS_V3"
                severity.append({"type": kind, "score": metric[key]["vectorString"]})
    desc = next(
        (d.get("value") for d in cna.get("descriptions") or [] if d.get("lang") == "en"), ""
    )
    meta = rec["cveMetadata"]
    component = (cna.get("x_postgresql") or {}).get("component")
    return {
        "schema_version": "1.7.0",
        "id": cve_id,
        "published": meta.get("datePublished"),
        "modified": meta.get("dateUpdated"),
        "summary": cna.get("title") or desc,
        "details": desc,
        "aliases": [],
        "severity": severity,
        "affected": affected,
        "references": [
            {"type": "WEB", "url": r["url"]}
            for r in cna.get("references") or []
            if isinstance(r, dict) and "url" in r
        ],
        "database_specific": {"component": component} if component else {},
    }


class CveRecords(Source):
    """Re-read each known advisory's CVE record (``{base}/{id}``) for range updates."""

    name = "cve-org"
    default_base_url = "https://cveawg.mitre.org/api/cve"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        out: list[dict[str, Any]] = []
        notes: list[str] = []
        for adv in known.advisories:
            if not adv.id.startswith("CVE-") or (adv.fix_date is None and adv.published is None):
                continue
            if "pgvector" not in {p.value for p in adv.products}:
                continue
            try:
                rec = client.get_json(f"{self.base_url}/{adv.id}")
                out.append(osv_from_cve5(rec))
            except FetchError as exc:
                notes.append(f"{adv.id}: {exc.reason}")
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                notes.append(
                    f"{self.name}: skipped {adv.id}: unexpected record shape ({exc!r:.80})"
                )
        if notes and not out:
            raise FetchError("; ".join(notes))
        return SourceResult(self.name, advisories=out, notes=notes)


class PgwebCveRecords(CveRecords):
    """postgresql.org's own CVE 5 files (PostgreSQL CVEs from 2025 on)."""

    name = "postgresql-cve"
    default_base_url = "https://raw.githubusercontent.com/postgres/pgweb/master/data/security/cve"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        """Every known PostgreSQL CVE (no year filter: a missing file is a note, not a skip)."""
        out: list[dict[str, Any]] = []
        notes: list[str] = []
        for adv in known.advisories:
            if "postgresql" not in {p.value for p in adv.products} or not adv.id.startswith("CVE-"):
                continue
            try:
                out.append(osv_from_cve5(client.get_json(f"{self.base_url}/{adv.id}.json")))
            except FetchError as exc:
                notes.append(f"{self.name}: {adv.id}: {exc.reason}")
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                notes.append(
                    f"{self.name}: skipped {adv.id}: unexpected record shape ({exc!r:.80})"
                )
        if notes and not out:
            raise FetchError(
                notes[0] if len(notes) == 1 else f"{notes[0]} (+{len(notes) - 1} more)"
            )
        return SourceResult(self.name, advisories=out, notes=notes)
