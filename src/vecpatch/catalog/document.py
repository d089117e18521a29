"""The on-disk catalog document (snapshot and cache share it) and its merge rule.

Format (JSON object, ``format`` = 1)::

    generated_at   ISO datetime the data was produced
    releases       [{product, version, date, notes[], required_actions[],
                     security_fixes[], pg_min?, pg_max?, out_of_cycle?}]
    majors         {"16": {"eol": "YYYY-MM-DD", "first_release": "YYYY-MM-DD"|null}}
    advisories     [OSV 1.7 records]
    first_seen     {"CVE-…" | "pgvector:0.8.6": "YYYY-MM-DD"}
    sources        {source name: last success ISO datetime}
    checked_at     {source name: last time it returned valid data} (the age's clock)
    distro_packages [{distro, suite, package, version, upstream, date?, cves[], source}]

Merging never removes what is known: a release or advisory missing from a newer
document stays; a record with a newer ``modified`` replaces the older one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from vecpatch.catalog.model import (
    Advisory,
    Catalog,
    DistroPackage,
    MajorInfo,
    Product,
    Release,
)
from vecpatch.catalog.osv import OsvError, advisory_from_osv, parse_date, parse_datetime
from vecpatch.catalog.sanitize import clean_text
from vecpatch.catalog.versions import PgvectorVersion, PgVersion, VersionError
from vecpatch.errors import VecpatchError

FORMAT = 1
Document = dict[str, Any]


class CatalogFormatError(VecpatchError):
    """A snapshot or cache document that cannot be read."""


def empty_document(generated_at: datetime | None = None) -> Document:
    stamp = (generated_at or datetime(1970, 1, 1, tzinfo=UTC)).isoformat()
    return {
        "format": FORMAT,
        "generated_at": stamp,
        "releases": [],
        "majors": {},
        "advisories": [],
        "first_seen": {},
        "sources": {},
        "checked_at": {},
        "distro_packages": [],
    }


def _strs(value: object, limit: int = 1000) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(clean_text(v, limit) for v in value if isinstance(v, str))


def release_from_dict(raw: Mapping[str, Any]) -> Release:
    """One release entry of a document; the version is validated for its product."""
    product = Product(raw["product"])
    version = clean_text(raw["version"], 40)
    if product is Product.PGVECTOR:
        version = str(PgvectorVersion.parse(version))
    else:
        PgVersion.parse(version)
    return Release(
        product=product,
        version=version,
        date=parse_date(raw.get("date")),
        notes=_strs(raw.get("notes")),
        required_actions=_strs(raw.get("required_actions")),
        security_fixes=_strs(raw.get("security_fixes"), 40),
        pg_min=clean_text(raw["pg_min"], 8) if raw.get("pg_min") else None,
        pg_max=clean_text(raw["pg_max"], 8) if raw.get("pg_max") else None,
        out_of_cycle=bool(raw.get("out_of_cycle", False)),
    )


def release_to_dict(rel: Release) -> dict[str, Any]:
    out: dict[str, Any] = {
        "product": rel.product.value,
        "version": rel.version,
        "date": rel.date.isoformat() if rel.date else None,
        "notes": list(rel.notes),
        "required_actions": list(rel.required_actions),
        "security_fixes": list(rel.security_fixes),
    }
    if rel.product is Product.PGVECTOR:
        out |= {"pg_min": rel.pg_min, "pg_max": rel.pg_max}
    else:
        out["out_of_cycle"] = rel.out_of_cycle
    return out


def distro_package_from_dict(raw: Mapping[str, Any]) -> DistroPackage:
    """One ``distro_packages`` entry; raises KeyError/ValueError on a bad one."""
    return DistroPackage(
        distro=clean_text(raw["distro"], 40),
        suite=clean_text(raw["suite"], 60),
        package=clean_text(raw["package"], 80),
        version=clean_text(raw["version"], 80),
        upstream=clean_text(raw["upstream"], 40),
        date=parse_date(raw.get("date")),
        cves=_strs(raw.get("cves"), 40),
        source=clean_text(raw.get("source"), 300),
    )


def knowledge_date(doc: Mapping[str, Any]) -> datetime | None:
    """How current a document is: its newest release date or feed check, not its file date."""
    stamps: list[datetime] = []
    for rel in doc.get("releases") or []:
        day = parse_date(rel.get("date")) if isinstance(rel, Mapping) else None
        if day is not None:
            stamps.append(datetime(day.year, day.month, day.day, tzinfo=UTC))
    for value in (doc.get("checked_at") or {}).values():
        if (moment := parse_datetime(value)) is not None:
            stamps.append(moment)
    return max(stamps) if stamps else None


def _release_sort(rel: Release) -> tuple[str, Any]:
    if rel.product is Product.PGVECTOR:
        return (rel.product.value, rel.pgvector_version)
    v = rel.pg_version
    return (rel.product.value, (v.major_parts, v.minor, v.stage_rank, v.pre))


def catalog_from_document(
    doc: Mapping[str, Any], *, snapshot_generated_at: datetime | None = None
) -> Catalog:
    """Build the immutable :class:`Catalog`; raise :class:`CatalogFormatError` on bad data."""
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        raise CatalogFormatError("catalog document has an unknown format")
    try:
        releases = sorted(
            (release_from_dict(r) for r in doc.get("releases", [])), key=_release_sort
        )
        advisories: list[Advisory] = [advisory_from_osv(a) for a in doc.get("advisories", [])]
        majors = {
            str(m): MajorInfo(str(m), parse_date(v.get("eol")), parse_date(v.get("first_release")))
            for m, v in (doc.get("majors") or {}).items()
        }
        distro = tuple(distro_package_from_dict(p) for p in doc.get("distro_packages") or [])
    except (KeyError, TypeError, ValueError, AttributeError, OsvError, VersionError) as exc:
        raise CatalogFormatError(f"catalog document is invalid: {exc}") from exc
    built = parse_datetime(doc.get("generated_at"))
    generated = knowledge_date(doc) or built or datetime(1970, 1, 1, tzinfo=UTC)
    first_seen = {k: d for k, v in (doc.get("first_seen") or {}).items() if (d := parse_date(v))}
    return Catalog(
        releases=tuple(releases),
        advisories=tuple(sorted(advisories, key=lambda a: a.id)),
        majors=MappingProxyType(majors),
        generated_at=generated,
        snapshot_generated_at=snapshot_generated_at or generated,
        first_seen=MappingProxyType(first_seen),
        sources=MappingProxyType({str(k): str(v) for k, v in (doc.get("sources") or {}).items()}),
        distro_packages=distro,
        built_at=built,
    )


@dataclass
class Changes:
    """What a merge added or changed, for ``catalog diff`` and update reports."""

    new_releases: list[str] = field(default_factory=list)
    changed_releases: list[str] = field(default_factory=list)
    new_advisories: list[str] = field(default_factory=list)
    changed_advisories: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.new_releases
            or self.changed_releases
            or self.new_advisories
            or self.changed_advisories
        )

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "new_releases": self.new_releases,
            "changed_releases": self.changed_releases,
            "new_advisories": self.new_advisories,
            "changed_advisories": self.changed_advisories,
        }


def _dkey(pkg: Mapping[str, Any]) -> str:
    return f"{pkg.get('distro')}/{pkg.get('suite')}/{pkg.get('package')}"


def _rkey(rel: Mapping[str, Any]) -> str:
    return f"{rel['product']}:{rel['version']}"


def _merge_release(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Fill gaps and add notes; an already-known date or support range is kept."""
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, list):
            merged[key] = list(dict.fromkeys([*(old.get(key) or []), *value]))
        elif merged.get(key) in (None, "") and value not in (None, ""):
            merged[key] = value
    return merged


def merge_documents(
    base: Mapping[str, Any], incoming: Mapping[str, Any], *, today: date
) -> tuple[Document, Changes]:
    """Merge ``incoming`` into ``base``; nothing known is ever dropped."""
    changes = Changes()
    out: Document = {k: v for k, v in base.items()}
    releases = {_rkey(r): r for r in base.get("releases", [])}
    first_seen = dict(base.get("first_seen") or {})
    for rel in incoming.get("releases", []):
        key = _rkey(rel)
        if key not in releases:
            releases[key] = dict(rel)
            changes.new_releases.append(key)
            first_seen.setdefault(key, today.isoformat())
        else:
            merged = _merge_release(releases[key], rel)
            if merged != releases[key]:
                releases[key] = merged
                changes.changed_releases.append(key)
    advisories = {a["id"]: a for a in base.get("advisories", [])}
    for adv in incoming.get("advisories", []):
        ident = adv["id"]
        old = advisories.get(ident)
        if old is None:
            advisories[ident] = adv
            changes.new_advisories.append(ident)
            first_seen.setdefault(ident, today.isoformat())
            continue
        new_mod = parse_datetime(adv.get("modified"))
        old_mod = parse_datetime(old.get("modified"))
        if new_mod and (old_mod is None or new_mod > old_mod) and adv != old:
            merged = {**old, **adv}
            merged["aliases"] = sorted(set(old.get("aliases", [])) | set(adv.get("aliases", [])))
            merged["database_specific"] = {
                **(old.get("database_specific") or {}),
                **(adv.get("database_specific") or {}),
            }
            refs = {
                r.get("url"): r for r in [*old.get("references", []), *adv.get("references", [])]
            }
            merged["references"] = list(refs.values())
            advisories[ident] = merged
            changes.changed_advisories.append(ident)
    majors = dict(base.get("majors") or {})
    for major, info in (incoming.get("majors") or {}).items():
        majors[major] = {
            **majors.get(major, {}),
            **{k: v for k, v in info.items() if v is not None},
        }
    out["releases"] = list(releases.values())
    out["advisories"] = sorted(advisories.values(), key=lambda a: str(a["id"]))
    out["majors"] = majors
    out["first_seen"] = first_seen
    out["sources"] = {**(base.get("sources") or {}), **(incoming.get("sources") or {})}
    out["checked_at"] = {**(base.get("checked_at") or {}), **(incoming.get("checked_at") or {})}
    distro = {_dkey(p): p for p in base.get("distro_packages") or []}
    for pkg in incoming.get("distro_packages") or []:
        old = distro.get(_dkey(pkg))
        if old is not None and old.get("version") != pkg.get("version"):
            changes.changed_releases.append(f"{_dkey(pkg)} {pkg.get('version')}")
        distro[_dkey(pkg)] = dict(pkg)
    out["distro_packages"] = sorted(distro.values(), key=_dkey)
    new_gen = parse_datetime(incoming.get("generated_at"))
    old_gen = parse_datetime(base.get("generated_at"))
    if new_gen and (old_gen is None or new_gen > old_gen):
        out["generated_at"] = new_gen.isoformat()
    out["format"] = FORMAT
    return out, changes
