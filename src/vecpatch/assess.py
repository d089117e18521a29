"""Assessment: facts + catalog + time -> findings. Pure; no I/O, no clock of its own.

PostgreSQL findings (minor behind, EOL, its CVEs) belong to the server and are
reported once per target; pgvector findings belong to each database, because each
database has its own extension catalog entry even when they share one library.

Which pgvector version is vulnerable? The C code that runs is the library on disk
(new sessions load it), so advisories are matched against the on-disk version when
the files are there, and the gap to the catalog version is its own finding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from types import MappingProxyType

from vecpatch.catalog import queries as cq
from vecpatch.catalog.cvss import Severity
from vecpatch.catalog.facts import ServerFacts as MatchFacts
from vecpatch.catalog.match import AdvisoryMatch, match
from vecpatch.catalog.model import Catalog, Product
from vecpatch.catalog.versions import PgvectorVersion, PgVersion, pg_major_key
from vecpatch.findings import Finding, FindingKind
from vecpatch.platform.hostfindings import host_findings
from vecpatch.probe.facts import DatabaseFacts, Failure, FailureKind, ServerFacts, TargetFacts
from vecpatch.report.model import DatabaseReport, TargetReport
from vecpatch.stale_catalog import newer_than_catalog_findings


@dataclass(frozen=True)
class AssessOptions:
    """Policy knobs of an assessment."""

    eol_soon_days: int = 180


def assess_target(
    facts: TargetFacts, catalog: Catalog, now: datetime, options: AssessOptions | None = None
) -> TargetReport:
    """Every finding for one target (server-level and per database)."""
    opts = options or AssessOptions()
    base = TargetReport(
        target=facts.target,
        environment=facts.environment,
        host=facts.host,
        port=facts.port,
        server=facts.server,
        findings=(),
        databases=(),
        failure=facts.failure,
        tags=facts.tags,
    )
    if facts.failure is not None or facts.server is None:
        failure = facts.failure or Failure(FailureKind.UNREACHABLE, "no server facts")
        return replace(base, findings=(_failure_finding(facts.target, None, failure),))
    ctx = _Context(facts, facts.server, catalog, now, opts)
    databases = [
        DatabaseReport(db.name, db, tuple(ctx.database_findings(db))) for db in facts.databases
    ]
    databases += [
        DatabaseReport(
            f.name, None, (_failure_finding(facts.target, f.name, f.failure),), f.failure
        )
        for f in facts.failed_databases
    ]
    return replace(base, findings=tuple(ctx.server_findings()), databases=tuple(databases))


def _failure_finding(target: str, database: str | None, failure: Failure) -> Finding:
    kind = (
        FindingKind(failure.kind.value)
        if failure.kind.value in FindingKind.__members__
        else FindingKind.UNREACHABLE
    )
    return Finding(
        kind=kind,
        severity="info",
        target=target,
        database=database,
        title=f"could not be scanned: {failure.reason}",
        next_action=_failure_action(failure.kind.value),
        reasons=(failure.reason,),
        fixable=False,
    )


def _failure_action(kind: str) -> str:
    return {
        "AUTH_FAILED": "check the user and the password reference (env:/file:/pgpass)",
        "INSUFFICIENT_PRIVILEGE": "grant CONNECT on the database (and pg_read_all_stats) to the "
        "scanning role",
        "CONFIG": "fix the target's configuration (see the reason)",
    }.get(kind, "check that the server is running and reachable from here (host, port, firewall)")


class _Context:
    """One target's facts with the catalog, so the finding rules stay short."""

    def __init__(
        self,
        facts: TargetFacts,
        server: ServerFacts,
        catalog: Catalog,
        now: datetime,
        opts: AssessOptions,
    ) -> None:
        self.facts = facts
        self.server = server
        self.catalog = catalog
        self.now = now
        self.opts = opts
        self.pg = PgVersion.parse(server.version)
        self.extensions = facts.server_extensions()
        self.languages = facts.server_languages()
        self._matches: dict[str | None, list[AdvisoryMatch]] = {}

    def pgvector_matches(self, library: str | None) -> list[AdvisoryMatch]:
        """pgvector advisories for one library version; one server's databases share few."""
        if library not in self._matches:
            self._matches[library] = [
                m
                for m in match(self.catalog, self.match_facts(library), now=self.now)
                if m.product is Product.PGVECTOR
            ]
        return self._matches[library]

    def match_facts(self, pgvector: str | None) -> MatchFacts:
        return MatchFacts(
            pg_version=self.pg,
            pgvector_version=PgvectorVersion.parse(pgvector) if pgvector else None,
            pointer_bits=self.server.pointer_bits,
            extensions=self.extensions,
            languages=self.languages,
            settings=MappingProxyType(self.settings()),
        )

    def settings(self) -> dict[str, str]:
        """Server settings for advisory conditions; unreadable ones are left out (unknown)."""
        found = {
            "max_parallel_maintenance_workers": str(self.server.max_parallel_maintenance_workers)
        }
        if self.server.shared_preload_libraries is not None:
            found["shared_preload_libraries"] = self.server.shared_preload_libraries
        return found

    # -- server level -------------------------------------------------------------------

    def server_findings(self) -> list[Finding]:
        found: list[Finding] = []
        matches = [
            m
            for m in match(self.catalog, self.match_facts(None), now=self.now)
            if m.product is Product.POSTGRESQL
        ]
        found += [self.vulnerable(m, None) for m in matches]
        found += self.minor_behind(matches)
        found += self.eol()
        found += newer_than_catalog_findings(
            self.catalog, self.facts.target, None, Product.POSTGRESQL, str(self.pg)
        )
        if self.server.in_recovery:
            found.append(self.on_replica())
        found += host_findings(self.facts)
        return found

    def minor_behind(self, matches: list[AdvisoryMatch]) -> list[Finding]:
        latest = cq.latest_minor(self.catalog, self.pg.major)
        if latest is None or latest.pg_version <= self.pg:
            return []
        fixed = cq.fixed_since(self.catalog, str(self.pg))
        exposed = {m.id for m in matches if m.exposed}
        ids = [adv.id for adv, _ in fixed]
        ranks = [adv.severity for adv, _ in fixed if adv.id in exposed]
        # On a rank tie prefer a known severity: UNKNOWN ranks as HIGH but says less.
        worst = max(ranks, key=lambda s: (s.rank, s is not Severity.UNKNOWN), default=None)
        severity = worst.value if worst is not None else "low"
        first_fix = min((PgVersion.parse(v) for _, v in fixed), default=None)
        fix_date = None
        if first_fix is not None:
            rel = next(
                (
                    r
                    for r in cq.pg_releases(self.catalog, self.pg.major)
                    if r.pg_version == first_fix
                ),
                None,
            )
            fix_date = rel.date if rel else None
        return [
            Finding(
                kind=FindingKind.PG_MINOR_BEHIND,
                severity=severity,
                target=self.facts.target,
                database=None,
                product="postgresql",
                title=f"PostgreSQL {self.pg} is behind {latest.version} "
                f"({len(ids)} CVEs fixed since)",
                next_action=f"update PostgreSQL to {latest.version} (binaries + restart), "
                "before any extension update",
                reasons=tuple(f"fixed since: {i}" for i in ids),
                installed_version=str(self.pg),
                fix_version=latest.version,
                fix_available_at=fix_date or latest.date,
            )
        ]

    def eol(self) -> list[Finding]:
        status = cq.eol_status(
            self.catalog, self.pg.major, self.now.date(), soon_days=self.opts.eol_soon_days
        )
        if status.state is cq.EolState.EOL:
            kind, severity = FindingKind.PG_EOL, "high"
            title = f"PostgreSQL {self.pg.major} reached end of life on {status.eol_date}"
        elif status.state is cq.EolState.EOL_SOON:
            kind, severity = FindingKind.PG_EOL_SOON, "medium"
            title = (
                f"PostgreSQL {self.pg.major} reaches end of life on {status.eol_date} "
                f"({status.days_left} days)"
            )
        else:
            return []
        return [
            Finding(
                kind=kind,
                severity=severity,
                target=self.facts.target,
                database=None,
                product="postgresql",
                title=title,
                next_action="plan a major upgrade (pg_upgrade or logical replication) "
                "to a supported PostgreSQL major",
                installed_version=str(self.pg),
                fixable=False,
            )
        ]

    def on_replica(self) -> Finding:
        lag = self.server.replay_lag_seconds
        return Finding(
            kind=FindingKind.ON_REPLICA,
            severity="info",
            target=self.facts.target,
            database=None,
            title="streaming replica: the extension catalog follows the primary",
            next_action="install the same pgvector package here before the primary is updated; "
            "run ALTER EXTENSION on the primary only",
            reasons=(f"replay lag {lag:.1f} s",) if lag is not None else (),
            fixable=False,
        )

    # -- database level -----------------------------------------------------------------

    def database_findings(self, db: DatabaseFacts) -> list[Finding]:
        pv = db.pgvector
        if not pv.installed:
            return [self.not_installed(db)]
        found: list[Finding] = []
        library = pv.default_version or pv.installed_version
        found += [self.vulnerable(m, db) for m in self.pgvector_matches(library)]
        found += self.catalog_behind(db)
        found += self.outdated(db)
        found += newer_than_catalog_findings(
            self.catalog, self.facts.target, db.name, Product.PGVECTOR, library
        )
        found += self.unsupported(db)
        return found

    def vulnerable(self, m: AdvisoryMatch, db: DatabaseFacts | None) -> Finding:
        adv = m.advisory
        product = m.product.value
        fix = m.fixed_version
        if m.product is Product.PGVECTOR:
            action = (
                f"update pgvector to {fix} or later (package, then ALTER EXTENSION vector UPDATE)"
                if fix
                else "no fixed pgvector release yet; apply the mitigations"
            )
        else:
            action = (
                f"update PostgreSQL to {fix} or later" if fix else "upgrade to a supported major"
            )
        if not m.exposed:
            action = f"not exposed here ({m.reasons[-1]}); still plan: {action}"
        return Finding(
            kind=FindingKind.VULNERABLE,
            severity=adv.severity.value if m.exposed else "info",
            target=self.facts.target,
            database=db.name if db else None,
            product=product,
            id=adv.id,
            aliases=adv.aliases,
            advisory_severity=adv.severity.value,
            cvss_score=adv.score,
            title=f"{adv.id}: {adv.summary}",
            next_action=action,
            affected=m.affected,
            exposed=m.exposed,
            reasons=m.reasons,
            mitigations=m.mitigations,
            installed_version=m.installed,
            fix_version=fix,
            fix_available_at=m.fix_date,
            fixable=fix is not None,
        )

    def not_installed(self, db: DatabaseFacts) -> Finding:
        on_disk = db.pgvector.default_version
        return Finding(
            kind=FindingKind.NOT_INSTALLED,
            severity="info",
            target=self.facts.target,
            database=db.name,
            product="pgvector",
            title="pgvector is not installed in this database"
            + (f" ({on_disk} is available on disk)" if on_disk else ""),
            next_action="nothing to do (CREATE EXTENSION vector when the database needs it)",
            fixable=False,
        )

    def catalog_behind(self, db: DatabaseFacts) -> list[Finding]:
        pv = db.pgvector
        installed, on_disk = pv.installed_version, pv.default_version
        if installed is None or on_disk is None or on_disk == installed:
            return []
        ahead = PgvectorVersion.parse(on_disk) > PgvectorVersion.parse(installed)
        path = next((p for p in pv.update_paths if p.target == on_disk), None)
        if ahead and path is not None:
            return [
                Finding(
                    kind=FindingKind.CATALOG_BEHIND_BINARY,
                    severity="medium",
                    target=self.facts.target,
                    database=db.name,
                    product="pgvector",
                    title=f"library on disk is {on_disk} but the catalog is still {installed}",
                    next_action=f"run ALTER EXTENSION vector UPDATE TO '{on_disk}' in {db.name} "
                    "from a fresh session (vecpatch apply)",
                    reasons=(f"update path: {' -> '.join(path.path)}",),
                    installed_version=installed,
                    fix_version=on_disk,
                    fix_available_at=self.release_date(on_disk),
                )
            ]
        why = (
            f"no update script chain from {installed} to {on_disk} on disk"
            if ahead
            else f"the package on disk ({on_disk}) is older than the catalog ({installed})"
        )
        return [
            Finding(
                kind=FindingKind.NO_UPDATE_PATH,
                severity="medium" if ahead else "high",
                target=self.facts.target,
                database=db.name,
                product="pgvector",
                title=why,
                next_action="install a pgvector package that ships the update scripts from "
                f"{installed}" + ("" if ahead else f" (>= {installed})"),
                installed_version=installed,
                fix_version=None,
                fixable=False,
            )
        ]

    def outdated(self, db: DatabaseFacts) -> list[Finding]:
        installed = db.pgvector.installed_version
        latest = cq.latest_pgvector(self.catalog)
        if installed is None or latest is None:
            return []
        current = max(
            PgvectorVersion.parse(v) for v in (installed, db.pgvector.default_version or installed)
        )
        if current >= latest.pgvector_version:
            return []
        supported = cq.supports(latest, self.pg.major)
        return [
            Finding(
                kind=FindingKind.OUTDATED,
                severity="low",
                target=self.facts.target,
                database=db.name,
                product="pgvector",
                title=f"pgvector {current} is behind the latest release {latest.version}",
                next_action=(
                    f"install pgvector {latest.version} for PostgreSQL {self.pg.major}, then "
                    f"ALTER EXTENSION vector UPDATE in {db.name} (vecpatch plan shows the steps)"
                )
                if supported
                else f"pgvector {latest.version} does not support PostgreSQL {self.pg.major}; "
                "upgrade PostgreSQL first",
                installed_version=installed,
                fix_version=latest.version,
                fix_available_at=latest.date,
                fixable=supported,
            )
        ]

    def unsupported(self, db: DatabaseFacts) -> list[Finding]:
        version = db.pgvector.default_version or db.pgvector.installed_version
        rel = next((r for r in cq.pgvector_releases(self.catalog) if r.version == version), None)
        if rel is None or cq.supports(rel, self.pg.major):
            return []
        too_old = rel.pg_min is not None and pg_major_key(self.pg.major) < pg_major_key(rel.pg_min)
        newer = "" if too_old else " (newer than upstream tested)"
        return [
            Finding(
                kind=FindingKind.UNSUPPORTED_COMBINATION,
                severity="high" if too_old else "medium",
                target=self.facts.target,
                database=db.name,
                product="pgvector",
                title=f"pgvector {version} supports PostgreSQL {rel.pg_min}-{rel.pg_max}; "
                f"this server is {self.pg.major}{newer}",
                next_action="install a pgvector release built and tested for PostgreSQL "
                f"{self.pg.major}",
                installed_version=version,
                fixable=False,
            )
        ]

    def release_date(self, version: str) -> date | None:
        rel = next((r for r in cq.pgvector_releases(self.catalog) if r.version == version), None)
        return rel.date if rel is not None else None
