"""Read OSV 1.7 records into :class:`Advisory` values.

Every feed that carries advisories is first turned into an OSV-shaped record, so
there is one parser, one sanitizer and one place to decide which product a range
belongs to. Records vecpatch cannot use (no pgvector or PostgreSQL range) are
rejected with :class:`OsvError` rather than half-loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from vecpatch.catalog.conditions import FeatureCondition, derive_conditions
from vecpatch.catalog.cvss import Cvss, CvssError, Severity, parse_cvss
from vecpatch.catalog.model import Advisory, AffectedRange, Product, Reference
from vecpatch.catalog.sanitize import DETAILS_MAX, SUMMARY_MAX, clean_id, clean_text
from vecpatch.catalog.versions import PgvectorVersion, PgVersion, VersionError, VersionRange
from vecpatch.errors import UsageError


class OsvError(UsageError):
    """An OSV record that is malformed or concerns neither pgvector nor PostgreSQL."""


_CWE = re.compile(r"^CWE-\d{1,6}$")


def parse_datetime(value: object) -> datetime | None:
    """ISO-8601 to an aware UTC datetime; zone-less values (NVD) are taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def product_of(entry: Mapping[str, Any]) -> Product | None:
    """Which product an ``affected[]`` entry is about, from its package or specifics."""
    names: list[str] = []
    for holder in (entry.get("package"), (entry.get("database_specific") or {}).get("package")):
        if isinstance(holder, Mapping):
            names += [str(holder.get(k, "")) for k in ("name", "purl", "ecosystem")]
    spec = entry.get("database_specific") or {}
    if isinstance(spec, Mapping):
        names.append(str(spec.get("extension_name", "")))
    for rng in entry.get("ranges") or []:
        if isinstance(rng, Mapping):
            names.append(str(rng.get("repo", "")))
    joined = " ".join(n.lower() for n in names)
    if "pgvector" in joined or re.search(r"(^|[\s/])vector($|\s)", joined):
        return Product.PGVECTOR
    if "postgresql" in joined or "postgres" in joined:
        return Product.POSTGRESQL
    return None


def _parse_version(product: Product, text: str) -> PgVersion | PgvectorVersion | None:
    if text in ("0", ""):
        return None
    if product is Product.PGVECTOR:
        return PgvectorVersion.parse(text)
    return PgVersion.parse(text)


def _ranges(product: Product, entry: Mapping[str, Any]) -> list[AffectedRange]:
    out: list[AffectedRange] = []
    for rng in entry.get("ranges") or []:
        if not isinstance(rng, Mapping) or rng.get("type") not in ("SEMVER", "ECOSYSTEM"):
            continue  # GIT ranges name commits; versions come from the other ranges
        introduced: Any = None
        for event in rng.get("events") or []:
            if not isinstance(event, Mapping):
                raise OsvError("range event is not an object")
            if "introduced" in event:
                introduced = _parse_version(product, clean_text(event["introduced"], 40))
            elif "fixed" in event or "last_affected" in event or "limit" in event:
                key = next(k for k in ("fixed", "last_affected", "limit") if k in event)
                bound = _parse_version(product, clean_text(event[key], 40))
                vr: VersionRange[Any]
                if key == "last_affected":
                    vr = VersionRange(introduced=introduced, last_affected=bound)
                else:
                    vr = VersionRange(introduced=introduced, fixed=bound)
                out.append(_branch(product, vr))
                introduced = None
        if introduced is not None:
            out.append(_branch(product, VersionRange(introduced=introduced)))
    return out


def _branch(product: Product, vr: VersionRange[Any]) -> AffectedRange:
    major = None
    if product is Product.POSTGRESQL and isinstance(vr.introduced, PgVersion):
        major = vr.introduced.major
    return AffectedRange(product, vr, major)


def _severity(record: Mapping[str, Any]) -> tuple[tuple[Cvss, ...], float | None, Severity]:
    parsed: list[Cvss] = []
    for sev in record.get("severity") or []:
        if isinstance(sev, Mapping) and isinstance(sev.get("score"), str):
            try:
                parsed.append(parse_cvss(clean_text(sev["score"], 200)))
            except CvssError:
                continue
    v3 = [c for c in parsed if c.version.startswith("3")]
    if v3:
        return tuple(parsed), v3[0].score, v3[0].severity
    spec = record.get("database_specific") or {}
    score = spec.get("cvss_v3_base_score") if isinstance(spec, Mapping) else None
    if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 10:
        return tuple(parsed), float(score), Severity.from_score(float(score))
    if parsed:
        return tuple(parsed), parsed[0].score, parsed[0].severity
    return tuple(parsed), None, Severity.UNKNOWN


def _sanitize(value: Any, depth: int = 0) -> Any:
    """A cleaned deep copy of a JSON value, bounded in depth and size."""
    if depth > 12:
        return None
    if isinstance(value, str):
        return clean_text(value, DETAILS_MAX, multiline=True)
    if isinstance(value, Mapping):
        return {clean_text(k, 80): _sanitize(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, list):
        return [_sanitize(v, depth + 1) for v in value[:500]]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return None


def advisory_from_osv(raw: Mapping[str, Any]) -> Advisory:
    """Build an :class:`Advisory` from one OSV record (sanitized on the way in)."""
    if not isinstance(raw, Mapping):
        raise OsvError("OSV record is not an object")
    record: dict[str, Any] = _sanitize(raw)
    ident = clean_id(record.get("id"))
    if not ident:
        raise OsvError(f"OSV record has no usable id: {clean_text(raw.get('id'), 40)!r}")
    affected: list[AffectedRange] = []
    versions: list[str] = []
    try:
        for entry in record.get("affected") or []:
            if not isinstance(entry, Mapping):
                continue
            product = product_of(entry)
            if product is None:
                continue
            affected += _ranges(product, entry)
            if product is Product.PGVECTOR:
                versions += [clean_text(v, 40) for v in entry.get("versions") or []]
    except VersionError as exc:
        raise OsvError(f"{ident}: {exc.message}") from exc
    if not affected and not versions:
        raise OsvError(f"{ident}: no pgvector or PostgreSQL version range")
    cvss, score, severity = _severity(record)
    spec = record.get("database_specific") or {}
    conditions = derive_conditions(record)
    mitigations = tuple(
        m for c in conditions if isinstance(c, FeatureCondition) and (m := c.mitigation())
    )
    aliases = tuple(a for a in (clean_id(x) for x in record.get("aliases") or []) if a)
    refs = tuple(
        Reference(clean_text(r.get("type", "WEB"), 20), clean_text(r.get("url"), 500))
        for r in record.get("references") or []
        if isinstance(r, Mapping) and str(r.get("url", "")).startswith(("https://", "http://"))
    )
    cwes = tuple(c for c in spec.get("cwe_ids") or [] if isinstance(c, str) and _CWE.match(c))
    component = spec.get("component")
    return Advisory(
        id=ident,
        summary=clean_text(record.get("summary") or record.get("details") or ident, SUMMARY_MAX),
        details=clean_text(record.get("details"), DETAILS_MAX, multiline=True),
        published=parse_datetime(record.get("published")),
        modified=parse_datetime(record.get("modified")),
        withdrawn=parse_datetime(record.get("withdrawn")),
        aliases=tuple(a for a in aliases if a != ident),
        cvss=cvss,
        score=score,
        severity=severity,
        affected=tuple(affected),
        affected_versions=tuple(versions),
        references=refs,
        conditions=conditions,
        mitigations=mitigations,
        component=clean_text(component) if isinstance(component, str) else None,
        fix_date=parse_date(spec.get("fix_release_date")),
        cwe_ids=cwes,
        record=MappingProxyType(record),
    )
