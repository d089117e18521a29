"""Turn the shared research data files into a catalog document.

Used by ``scripts/build_snapshot.py``; kept in the package so the conversion is
typed, linted and testable like the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from vecpatch.catalog.document import FORMAT, Document
from vecpatch.catalog.osv import parse_datetime

_ACTION = re.compile(r"UPGRADE NOTE|recreate|REINDEX|remove the line|remove '", re.IGNORECASE)
_POST_UPDATE = re.compile(r"post-update|manual steps|existing clusters", re.IGNORECASE)
_CVE = re.compile(r"CVE-\d{4}-\d{4,7}")


def _pgvector_release(raw: Mapping[str, Any]) -> dict[str, Any]:
    notes = [n for n in raw.get("notes") or [] if isinstance(n, str)]
    fixes = [f["id"] for f in raw.get("security_fixes") or [] if isinstance(f, Mapping)]
    return {
        "product": "pgvector",
        "version": raw["version"],
        "date": raw.get("date"),
        "notes": [*raw.get("changelog", []), *notes],
        "required_actions": [n for n in notes if _ACTION.search(n)],
        "security_fixes": fixes,
        "pg_min": raw.get("pg_min"),
        "pg_max": raw.get("pg_max"),
    }


def _post_update_actions(advisories: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Map each fixed PostgreSQL minor to the manual steps its advisories require."""
    actions: dict[str, list[str]] = {}
    for adv in advisories:
        text = (adv.get("database_specific") or {}).get("platform_or_config_conditions")
        if not isinstance(text, str) or not _POST_UPDATE.search(text):
            continue
        for aff in adv.get("affected") or []:
            fixed = ((aff.get("database_specific") or {}).get("fixed_versions") or {}).values()
            for version in fixed:
                actions.setdefault(version, []).append(f"{adv['id']}: {text}")
    return actions


def document_from_shared(
    pgvector_releases: Sequence[Mapping[str, Any]],
    postgres_minors: Mapping[str, Any],
    advisories: Sequence[Mapping[str, Any]],
    *,
    generated_at: datetime | None = None,
) -> Document:
    """Build a catalog document; ``generated_at`` defaults to the newest date in the data."""
    releases = [_pgvector_release(r) for r in pgvector_releases]
    post = _post_update_actions(advisories)
    fixes_by_minor: dict[str, list[str]] = {}
    for adv in advisories:
        for aff in adv.get("affected") or []:
            for v in ((aff.get("database_specific") or {}).get("fixed_versions") or {}).values():
                fixes_by_minor.setdefault(v, []).append(adv["id"])
    majors: dict[str, dict[str, Any]] = {}
    eol = postgres_minors.get("eol") or {}
    for major, minors in postgres_minors.items():
        if major == "eol" or not isinstance(minors, list):
            continue
        majors[major] = {"eol": eol.get(major), "first_release": None}
        for m in minors:
            releases.append(
                {
                    "product": "postgresql",
                    "version": m["version"],
                    "date": m.get("date"),
                    "notes": [],
                    "required_actions": post.get(m["version"], []),
                    "security_fixes": sorted(set(fixes_by_minor.get(m["version"], []))),
                    "out_of_cycle": bool(m.get("out_of_cycle", False)),
                }
            )
            if m["version"].endswith(".0"):
                majors[major]["first_release"] = m.get("date")
    for major, date_ in eol.items():
        majors.setdefault(major, {"eol": date_, "first_release": None})
    stamps = [d for a in advisories if (d := parse_datetime(a.get("modified")))]
    generated = generated_at or (max(stamps) if stamps else datetime.now(UTC))
    first_seen: dict[str, str] = {}
    for adv in advisories:
        if published := parse_datetime(adv.get("published")):
            first_seen[adv["id"]] = published.date().isoformat()
    for rel in releases:
        if rel.get("date"):
            first_seen[f"{rel['product']}:{rel['version']}"] = rel["date"]
    return {
        "format": FORMAT,
        "generated_at": generated.isoformat(),
        "releases": releases,
        "majors": majors,
        "advisories": list(advisories),
        "first_seen": first_seen,
        "sources": {"snapshot": generated.isoformat()},
    }
