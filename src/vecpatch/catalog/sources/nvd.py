"""NVD CVE API 2.0: discovery of new pgvector CVEs by keyword.

Client-library CVEs also match "pgvector", so a record is kept only when its CPE
names the extension (``target_sw`` postgresql) with a version bound we can use.
"""

from __future__ import annotations

from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.sources.interface import Source, SourceResult

_CPE = "cpe:2.3:a:pgvector_project:pgvector:"


def osv_from_nvd(cve: dict[str, Any]) -> dict[str, Any] | None:
    ranges = []
    for conf in cve.get("configurations") or []:
        for node in conf.get("nodes") or []:
            for cpe in node.get("cpeMatch") or []:
                crit = str(cpe.get("criteria", ""))
                if not (cpe.get("vulnerable") and crit.startswith(_CPE) and ":postgresql:" in crit):
                    continue
                end = cpe.get("versionEndExcluding")
                if end:
                    start = cpe.get("versionStartIncluding") or "0"
                    ranges.append(
                        {"type": "SEMVER", "events": [{"introduced": start}, {"fixed": end}]}
                    )
    if not ranges:
        return None
    metrics = (cve.get("metrics") or {}).get("cvssMetricV31") or []
    metrics = sorted(metrics, key=lambda m: m.get("type") != "Primary")
    desc = next((d["value"] for d in cve.get("descriptions") or [] if d.get("lang") == "en"), "")
    return {
        "schema_version": "1.7.0",
        "id": cve["id"],
        "summary": desc,
        "details": desc,
        "published": cve.get("published"),
        "modified": cve.get("lastModified"),
        "aliases": [],
        "severity": [{"type": "CVSS_V3", "score": metrics[0]["cvssData"]["vectorString"]}]
        if metrics
        else [],
        "affected": [{"package": {"ecosystem": "PGXN", "name": "vector"}, "ranges": ranges}],
        "references": [{"type": "WEB", "url": r["url"]} for r in cve.get("references") or []],
    }


class NvdKeyword(Source):
    name = "nvd"
    default_base_url = "https://services.nvd.nist.gov/rest/json/cves/2.0"

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        data = client.get_json(f"{self.base_url}?keywordSearch=pgvector&noRejected")
        out = []
        rejected: list[str] = []
        for index, item in enumerate(data.get("vulnerabilities") or [], start=1):
            try:
                rec = osv_from_nvd(item["cve"])
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                rejected.append(
                    f"{self.name}: skipped record {index}: unexpected shape ({exc!r:.80})"
                )
                continue
            if rec is not None:
                out.append(rec)
        return SourceResult(self.name, advisories=out, rejected=rejected)
