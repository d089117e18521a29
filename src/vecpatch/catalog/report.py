"""JSON shapes of ``catalog show --json`` and ``catalog check --format json``.

These are public, versioned by their ``schema`` field; add keys, never rename.

``vecpatch.catalog.show/1``::

    generated_at, snapshot_generated_at   ISO datetimes
    age_days                              int
    sources                               {name: last success}
    pgvector.latest                       {version, date} | null
    pgvector.releases[]                   {version, date, pg_min, pg_max,
                                           required_actions[], security_fixes[]}
    postgresql.majors[]                   {major, eol, status, latest_minor, latest_minor_date}
    advisories[]                          see advisory_dict()

``vecpatch.catalog.check/1``::

    input        {pg, pgvector, bits, extensions[], languages[]}
    findings[]   {id, aliases, product, installed, severity, score, summary,
                  affected, exposed, mitigated, reasons[], mitigations[],
                  fixed_version, fix_date, ignored: {reason, expires} | null}
    reopened[]   ids whose acceptance expired
    latest       {postgresql: {version, date} | null, pgvector: {version, date} | null}
    eol          {major, eol, status, days_left} | null
    fail_on, failed
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vecpatch.catalog.match import AdvisoryMatch
from vecpatch.catalog.model import Advisory, Catalog, Release
from vecpatch.catalog.queries import (
    EolStatus,
    eol_status,
    latest_minor,
    latest_pgvector,
    pgvector_releases,
)
from vecpatch.catalog.staleness import catalog_age
from vecpatch.catalog.versions import pg_major_key


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def release_brief(rel: Release | None) -> dict[str, Any] | None:
    return None if rel is None else {"version": rel.version, "date": _iso(rel.date)}


def advisory_dict(adv: Advisory) -> dict[str, Any]:
    fixed: dict[str, str] = {}
    for rng in adv.affected:
        if rng.fixed:
            fixed[rng.pg_major or rng.product.value] = rng.fixed
    return {
        "id": adv.id,
        "aliases": list(adv.aliases),
        "summary": adv.summary,
        "products": sorted(p.value for p in adv.products),
        "severity": adv.severity.value,
        "score": adv.score,
        "cvss_vectors": [c.vector for c in adv.cvss],
        "published": _iso(adv.published),
        "modified": _iso(adv.modified),
        "component": adv.component,
        "conditions": [c.describe() for c in adv.conditions],
        "mitigations": list(adv.mitigations),
        "fixed": fixed,
        "references": [r.url for r in adv.references],
    }


def eol_dict(status: EolStatus | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "major": status.major,
        "eol": _iso(status.eol_date),
        "status": status.state.value,
        "days_left": status.days_left,
    }


def show_dict(catalog: Catalog, now: datetime) -> dict[str, Any]:
    majors = []
    for major in sorted(catalog.majors, key=pg_major_key):
        latest = latest_minor(catalog, major)
        majors.append(
            {
                "major": major,
                "eol": _iso(catalog.majors[major].eol),
                "status": eol_status(catalog, major, now.date()).state.value,
                "latest_minor": latest.version if latest else None,
                "latest_minor_date": _iso(latest.date) if latest else None,
            }
        )
    return {
        "schema": "vecpatch.catalog.show/1",
        "generated_at": catalog.generated_at.isoformat(),
        "snapshot_generated_at": catalog.snapshot_generated_at.isoformat(),
        "age_days": catalog_age(catalog, now).days,
        "sources": dict(catalog.sources),
        "pgvector": {
            "latest": release_brief(latest_pgvector(catalog)),
            "releases": [
                {
                    "version": r.version,
                    "date": _iso(r.date),
                    "pg_min": r.pg_min,
                    "pg_max": r.pg_max,
                    "required_actions": list(r.required_actions),
                    "security_fixes": list(r.security_fixes),
                }
                for r in pgvector_releases(catalog)
            ],
        },
        "postgresql": {"majors": majors},
        "distro_packages": [
            {
                "distro": p.distro,
                "suite": p.suite,
                "package": p.package,
                "version": p.version,
                "upstream": p.upstream,
                "date": _iso(p.date),
                "cves": len(p.cves),
                "source": p.source,
            }
            for p in catalog.distro_packages
        ],
        "built_at": catalog.built_at.isoformat() if catalog.built_at else None,
        "advisories": [advisory_dict(a) for a in catalog.advisories],
    }


def finding_dict(m: AdvisoryMatch, ignored: tuple[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": m.id,
        "aliases": list(m.advisory.aliases),
        "product": m.product.value,
        "installed": m.installed,
        "severity": m.advisory.severity.value,
        "score": m.advisory.score,
        "summary": m.advisory.summary,
        "affected": m.affected,
        "exposed": m.exposed,
        "mitigated": m.mitigated,
        "reasons": list(m.reasons),
        "mitigations": list(m.mitigations),
        "fixed_version": m.fixed_version,
        "fix_date": _iso(m.fix_date),
        "ignored": None if ignored is None else {"reason": ignored[0], "expires": ignored[1]},
    }
