"""Match a server's facts against the catalog: affected, exposed, and why.

Pure: the same catalog, facts and clock always give the same answer. Each result
separates *affected* (the version is in a range) from *exposed* (every condition
holds on this server), so a 32-bit-only bug on a 64-bit server is reported as
"affected, not exposed" instead of vanishing or alarming.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from vecpatch.catalog.facts import ServerFacts
from vecpatch.catalog.model import Advisory, AffectedRange, Catalog, Product
from vecpatch.catalog.versions import PgvectorVersion, PgVersion, pg_major_key


@dataclass(frozen=True)
class AdvisoryMatch:
    """One advisory evaluated for one product on one server.

    ``fixed_version`` is the first fixed release on the server's branch (None when
    that branch gets no fix); ``fix_date`` is when it became available.
    """

    advisory: Advisory
    product: Product
    installed: str
    affected: bool
    exposed: bool
    reasons: tuple[str, ...]
    mitigations: tuple[str, ...] = ()
    mitigated: bool = False
    fixed_version: str | None = None
    fix_date: date | None = None

    @property
    def id(self) -> str:
        return self.advisory.id


def _release_date(catalog: Catalog, product: Product, version: str | None) -> date | None:
    if version is None:
        return None
    for rel in catalog.releases:
        if rel.product is product and rel.version == version:
            return rel.date
    return None


def _oldest_supported(catalog: Catalog, when: date) -> str | None:
    live = [m for m, info in catalog.majors.items() if info.eol and info.eol > when]
    return min(live, key=pg_major_key) if live else None


def _pg_affected(
    catalog: Catalog, adv: Advisory, version: PgVersion
) -> tuple[bool, str | None, list[str]]:
    """Is this PostgreSQL version in a range; the branch's fix; and why."""
    ranges = [a for a in adv.affected if a.product is Product.POSTGRESQL]
    if not ranges:
        return False, None, []
    branch = [a for a in ranges if a.pg_major == version.major]
    spanning = [a for a in ranges if a.pg_major is None]
    for rng in branch or spanning:
        if version in rng.range:
            fixed = (
                rng.fixed
                if rng.fixed and PgVersion.parse(rng.fixed).major == version.major
                else None
            )
            why = f"PostgreSQL {version} is in {rng.range.describe()}"
            if fixed is None:
                why += f"; no fixed release on the {version.major} branch"
            return True, fixed, [why]
    if branch or spanning:
        rng = (branch or spanning)[0]
        return False, rng.fixed, [f"PostgreSQL {version} is outside {rng.range.describe()}"]
    return _pg_unlisted_major(catalog, adv, version, ranges)


def _pg_unlisted_major(
    catalog: Catalog, adv: Advisory, version: PgVersion, ranges: list[AffectedRange]
) -> tuple[bool, str | None, list[str]]:
    """A branch the advisory does not name.

    PGDG only evaluates supported branches. When the advisory names every branch
    that was supported at publication and this older branch was already EOL, it was
    simply not looked at: assume affected (no fix will come). Otherwise the branch
    predates the bug or is newer than the fix, and is not affected.
    """
    listed = sorted({a.pg_major for a in ranges if a.pg_major}, key=pg_major_key)
    published = adv.published.date() if adv.published else None
    info = catalog.majors.get(version.major)
    eol = info.eol if info else None
    if (
        info is None
        and catalog.majors
        and pg_major_key(version.major) < min(pg_major_key(m) for m in catalog.majors)
    ):
        eol = date.min  # older than every branch we track: long end-of-life
    if listed and published and eol and eol <= published:
        oldest = _oldest_supported(catalog, published)
        if oldest == listed[0] and pg_major_key(version.major) < pg_major_key(listed[0]):
            return (
                True,
                None,
                [
                    f"PostgreSQL {version.major} was end-of-life when this was "
                    f"published and was not evaluated; assumed affected, no fix on this branch"
                ],
            )
    names = ", ".join(listed) or "none"
    return False, None, [f"PostgreSQL {version.major} is not an affected branch ({names})"]


def _vector_affected(adv: Advisory, version: PgvectorVersion) -> tuple[bool, str | None, list[str]]:
    ranges = [a for a in adv.affected if a.product is Product.PGVECTOR]
    for rng in ranges:
        if version in rng.range:
            return True, rng.fixed, [f"pgvector {version} is in {rng.range.describe()}"]
    listed = {PgvectorVersion.parse(v) for v in adv.affected_versions if v}
    if not ranges and version in listed:
        return True, None, [f"pgvector {version} is listed as affected"]
    fixed = next((r.fixed for r in ranges if r.fixed), None)
    shown = "; ".join(r.range.describe() for r in ranges) or "listed versions"
    return False, fixed, [f"pgvector {version} is outside {shown}"]


def evaluate(catalog: Catalog, adv: Advisory, facts: ServerFacts) -> list[AdvisoryMatch]:
    """Evaluate one advisory for every product the facts know a version of."""
    results: list[AdvisoryMatch] = []
    checks: list[tuple[Product, Any]] = []
    if facts.pg_version is not None and Product.POSTGRESQL in adv.products:
        checks.append((Product.POSTGRESQL, facts.pg_version))
    if facts.pgvector_version is not None and Product.PGVECTOR in adv.products | (
        {Product.PGVECTOR} if adv.affected_versions else set()
    ):
        checks.append((Product.PGVECTOR, facts.pgvector_version))
    for product, version in checks:
        if product is Product.POSTGRESQL:
            affected, fixed, reasons = _pg_affected(catalog, adv, version)
        else:
            affected, fixed, reasons = _vector_affected(adv, version)
        exposed, mitigated = affected, False
        if affected:
            for cond in adv.conditions:
                verdict = cond.evaluate(facts)
                reasons.append(verdict.reason)
                exposed = exposed and verdict.holds
                mitigated = mitigated or verdict.mitigated
            if adv.withdrawn is not None:
                exposed = False
                reasons.append(f"advisory withdrawn on {adv.withdrawn.date()}")
        fix_date = _release_date(catalog, product, fixed) or (adv.fix_date if fixed else None)
        results.append(
            AdvisoryMatch(
                adv,
                product,
                str(version),
                affected,
                exposed,
                tuple(reasons),
                adv.mitigations if affected else (),
                mitigated,
                fixed,
                fix_date,
            )
        )
    return results


def match(catalog: Catalog, facts: ServerFacts, *, now: datetime) -> list[AdvisoryMatch]:
    """Every advisory whose range contains the server's versions, exposed or not.

    Advisories published after ``now`` are left out, so a past ``now`` reproduces
    what was knowable then. Sorted exposed first, then by severity, then id.
    """
    found: list[AdvisoryMatch] = []
    for adv in catalog.advisories:
        if adv.published is not None and adv.published > now:
            continue
        found += [m for m in evaluate(catalog, adv, facts) if m.affected]
    return sorted(found, key=lambda m: (not m.exposed, -m.advisory.severity.rank, m.id))
