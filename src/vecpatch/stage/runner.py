"""``run_stage``: baseline, package step, the transactional update, after, compare, drill.

Orchestration only; every check lives in its own module. The update itself is apply's
(:func:`vecpatch.apply.update.run_update`: fresh session, ``SET LOCAL lock_timeout``,
checks before COMMIT, rollback on any failure), so staging exercises the exact code
production will run. The run never raises for a failing case: failures are verdicts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.smoke import Baseline, index_recalls
from vecpatch.apply.update import UpdateFailed, run_update
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.errors import UsageError
from vecpatch.history.store import HistoryStore
from vecpatch.paths import state_dir
from vecpatch.pgerrors import first_line
from vecpatch.plan import PlanPolicy, Policy, plan_target
from vecpatch.probe.facts import DatabaseFacts, TargetFacts, VectorIndex
from vecpatch.scan import ScanOptions, probe
from vecpatch.stage import compat, drill, judge, perf, postupdate
from vecpatch.stage.db import scalar
from vecpatch.stage.model import CaseResult, CaseSpec, Category, Check, StageReport, Verdict
from vecpatch.stage.phase import Phase, Workload, measure_phase
from vecpatch.stage.queries import UserQuery, load_queries, top_statements
from vecpatch.stage.record import record_report
from vecpatch.stage.settings import UpdateSettings
from vecpatch.stage.staging import Staging, package_step
from vecpatch.stage.testplan import load_plan

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StageOptions:
    """What the operator chose for one staging run."""

    policy: PlanPolicy = field(default_factory=PlanPolicy)
    plan_file: Path | None = None
    queries_file: Path | None = None
    post_update_sql: Path | None = None
    """SQL run after the update, as the deploy would (e.g. ``ALTER DATABASE ... SET``)."""
    perf_queries: int | None = None
    rollback_drill: bool = True
    lock_timeout: float = 2.0
    after_package: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    """Test seam: runs right after the package step (e.g. swap ``vector.so``)."""
    after_update: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    """Test seam: runs right after the update commits (e.g. an old ``vector.so`` put back)."""

    def public(self) -> dict[str, Any]:
        """The options as JSON (no test seam, paths as text): a queued stage job carries them."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SEAMS:
                continue
            if f.name == "policy":
                value = {**asdict(value), "policy": str(value.policy)}
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out

    @classmethod
    def from_public(cls, doc: Mapping[str, Any]) -> StageOptions:
        """The inverse of :meth:`public`."""
        known = {f.name for f in fields(cls)} - _SEAMS
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"unknown stage option(s): {', '.join(unknown)}")
        values = dict(doc)
        for key in ("plan_file", "queries_file", "post_update_sql"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        if "policy" in values:
            policy = dict(values["policy"])
            values["policy"] = PlanPolicy(**{**policy, "policy": Policy(policy["policy"])})
        return cls(**values)


_SEAMS = frozenset({"after_package", "after_update"})


def run_stage(
    staging: Staging,
    opts: StageOptions,
    catalog: Catalog,
    store: HistoryStore | None = None,
    progress: Progress = lambda _m: None,
) -> StageReport:
    """Stage the planned update on ``staging`` and judge every case of the plan."""
    specs = load_plan(opts.plan_file)
    owned = store is None
    store = store or HistoryStore.open(secrets=staging.endpoint.secrets)
    run_id = store.start_run("stage", run_id=str(uuid.uuid4()))
    report = StageReport(run_id, datetime.now(UTC), staging.describe())
    started = time.perf_counter()
    try:
        _run(staging, opts, catalog, store, report, specs, progress)
    finally:
        report.duration = time.perf_counter() - started
        record_report(store, report)
        if owned:
            store.close()
    return report


def _facts(staging: Staging) -> tuple[TargetFacts, DatabaseFacts]:
    facts = probe([staging.target], ScanOptions(concurrency=1))[0]
    if facts.failure is not None or facts.server is None:
        reason = facts.failure.reason if facts.failure else "no facts"
        raise UsageError(f"cannot read the staging target: {staging.endpoint.clean(reason)}")
    db = next((d for d in facts.databases if d.name == staging.database), None)
    if db is None or db.pgvector.installed_version is None:
        raise UsageError(f"pgvector is not installed in the staging database {staging.database}")
    return facts, db


def choose_target(
    staging: Staging, facts: TargetFacts, opts: StageOptions, catalog: Catalog
) -> str:
    plan = plan_target(facts, catalog, opts.policy, datetime.now(UTC))
    dbplan = next(d for d in plan.databases if d.database == staging.database)
    target = dbplan.target or opts.policy.pinned
    if target is None:
        raise UsageError(f"no target version: {'; '.join(dbplan.blockers) or 'nothing planned'}")
    return target


def _run(
    staging: Staging,
    opts: StageOptions,
    catalog: Catalog,
    store: HistoryStore,
    report: StageReport,
    specs: Sequence[CaseSpec],
    progress: Progress,
) -> None:
    facts, db = _facts(staging)
    assert facts.server is not None
    installed = str(db.pgvector.installed_version)
    target = choose_target(staging, facts, opts, catalog)
    report.installed, report.target = installed, target
    major = str(facts.server.major)
    report.pg_major = major
    compat_checks: dict[str, list[Check]] = {}
    skipped: dict[str, str] = {}
    progress(
        f"staging pgvector {installed} -> {target} on {staging.target.name}/{staging.database}"
    )
    compat_checks["supports-major"] = [compat.supports_major(catalog, target, major)]
    if PgvectorVersion.parse(target) <= PgvectorVersion.parse(installed):
        _nothing_to_do(report, specs, installed, target, compat_checks)
        return
    not_old = old_code_gone(staging, installed)
    if not_old:
        report.warnings.append(not_old)
    work = _workload(staging, opts, db, specs, report)
    progress("baseline: functionality, regression, performance")
    before = measure_phase(staging.endpoint, work, installed)
    baseline = _update_baseline(staging, db, report)
    backup_info = None
    if opts.rollback_drill and any(s.check == "rollback-drill" for s in specs):
        progress("backup for the rollback drill")
        t0 = time.perf_counter()
        dest = state_dir() / "stage" / report.run_id / "backup"
        backup_info = drill.backup(staging, db, dest, facts.server.major)
        report.timings["backup"] = time.perf_counter() - t0
    else:
        skipped["rollback-drill"] = "rollback drill disabled"
    t0 = time.perf_counter()
    committed = _update(
        staging, opts, db, (installed, target, major), compat_checks, skipped, report, progress,
        baseline,
    )  # fmt: skip
    report.timings["update"] = time.perf_counter() - t0
    after = _after(
        staging, opts, work, committed, target, installed, compat_checks, skipped, before, progress
    )
    if backup_info is not None:
        if committed:
            progress("rollback drill: old package back, restore, verify")
            t0 = time.perf_counter()
            check, report.drill = drill.restore(
                staging, backup_info, installed, major, store, report.run_id
            )
            compat_checks["rollback-drill"] = [check]
            report.timings["rollback_drill"] = time.perf_counter() - t0
        else:
            skipped["rollback-drill"] = "the update did not commit: nothing to roll back"
    _timings(report, before, after)
    report.cases = judge.compat_cases(specs, compat_checks, skipped)
    if committed:
        report.cases += judge.functional_cases(specs, before, after)
        report.cases += judge.regression_cases(specs, work.queries, before, after)
        cases = judge.performance_cases(specs, work, before, after)
        report.cases += confirm_latency(staging, work, before, cases)
    else:
        report.cases += _not_measured(specs, "the update did not commit: nothing to compare")
    if not_old:
        report.cases = [_not_compared(c, not_old) for c in report.cases]
    report.warnings += [c.warning for c in report.cases if c.warning]


_COMPARED = (Category.REGRESSION, Category.PERFORMANCE)


def _not_compared(case: CaseResult, why: str) -> CaseResult:
    """A before-vs-after case whose "before" did not run the old code: skipped, never passed."""
    if case.category not in _COMPARED or case.verdict is Verdict.NOT_APPLICABLE:
        return case
    case.why = f"skipped: {why} (measured: {case.why})"
    case.verdict = Verdict.SKIP
    return case


def old_code_gone(staging: Staging, installed: str) -> str | None:
    """Why the baseline would not run the installed version's library (None: it would).

    A package upgrade replaces ``vector.so`` and ``vector.control`` together, and every new
    session loads the file on disk; so when the default version on disk is no longer the
    installed one, the "before" phase would measure the new code against itself.
    """
    with staging.endpoint.connect() as conn:
        on_disk = scalar(
            conn,
            sql.SQL("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"),
        )
    if on_disk is None or str(on_disk) == installed:
        return None
    return (
        f"pgvector {on_disk}'s library was already on disk before the baseline (the "
        f"database's catalog is {installed}): the baseline ran the new code, so before-vs-after "
        "cases cannot say what the update changed"
    )


def confirm_latency(
    staging: Staging, work: Workload, before: Phase, cases: list[CaseResult]
) -> list[CaseResult]:
    """Re-measure an index whose latency case failed; keep the failure only if it reproduces.

    Latency is the one measurement a busy machine can move on its own (another job on the
    same cores during the "after" phase). A regression the update caused shows up again in
    a whole new measurement, made the same way as the baseline; a burst of contention does
    not. Up to :data:`LATENCY_RETRIES` new measurements are made: the failure stands only
    if every one of them fails too; the first measurement is kept in the case's why.
    """
    spec = work.spec("index-latency")
    by_name = {perf.label(idx): idx for idx in work.indexes}
    out: list[CaseResult] = []
    for case in cases:
        name = case.id.removeprefix(f"{spec.id}.") if spec is not None else ""
        if spec is None or case.check != spec.check or not case.failed or name not in by_name:
            out.append(case)
            continue
        second = _remeasure(staging, work, before, spec, by_name[name])
        second.why = f"{second.why} (re-measured; first measurement: {case.why})"
        out.append(second)
    return out


LATENCY_RETRIES = 2


def _remeasure(
    staging: Staging, work: Workload, before: Phase, spec: CaseSpec, idx: VectorIndex
) -> CaseResult:
    """Up to :data:`LATENCY_RETRIES` new measurements; the first that passes ends it."""
    name = perf.label(idx)
    k = int(spec.expect("k", 10))
    for _ in range(LATENCY_RETRIES):
        again = perf.measure(staging.endpoint, idx, work.samples.get(name, []), k, 0)
        result = judge.JUDGES[spec.check](spec, name, before.indexes[name], again)
        if not result.failed:
            break
    return result


def _workload(
    staging: Staging,
    opts: StageOptions,
    db: DatabaseFacts,
    specs: Sequence[CaseSpec],
    report: StageReport,
) -> Workload:
    queries = _user_queries(staging, opts, specs, report)
    m = opts.perf_queries or int(
        next((s.expect("queries", 50) for s in specs if s.check == "index-recall"), 50)
    )
    chosen, samples = [], {}
    for idx in db.indexes:
        why = perf.measurable(idx)
        if why is not None:
            report.notes.append(f"index {perf.label(idx)} not measured: {why}")
            continue
        chosen.append(idx)
        samples[perf.label(idx)] = perf.sample_queries(staging.endpoint, idx, m)
    return Workload(specs, tuple(queries), tuple(chosen), samples)


def _user_queries(
    staging: Staging, opts: StageOptions, specs: Sequence[CaseSpec], report: StageReport
) -> list[UserQuery]:
    if opts.queries_file is not None:
        return load_queries(opts.queries_file)
    template = next((s for s in specs if s.check == "user-queries"), None)
    if template is None:
        return []
    with staging.endpoint.connect() as conn:
        found, note = top_statements(conn, int(template.expect("top_n", 10)))
    report.notes.append(note)
    return found


def _update(
    staging: Staging,
    opts: StageOptions,
    db: DatabaseFacts,
    versions: tuple[str, str, str],
    checks: dict[str, list[Check]],
    skipped: dict[str, str],
    report: StageReport,
    progress: Progress,
    baseline: Baseline,
) -> bool:
    """Package step, update path, apply's transactional update, post-update SQL."""
    installed, target, major = versions
    progress(f"package step: pgvector {target}")
    checks["package"] = [package_step(staging, target, major)]
    if opts.after_package is not None:
        opts.after_package()
    with staging.endpoint.connect() as conn:
        checks["update-path"] = [compat.update_path(conn, installed, target)]
    if not (checks["package"][0].ok and checks["update-path"][0].ok):
        skipped["update"] = "not attempted: the package step or the update path failed"
        return False
    progress(f"ALTER EXTENSION vector UPDATE TO {target} (apply's checked transaction)")
    settings = UpdateSettings(lock_timeout=opts.lock_timeout)
    try:
        result = run_update(staging.endpoint, target, db, settings, report.sql, baseline)
    except UpdateFailed as exc:
        checks["update"] = [
            Check("ALTER EXTENSION vector UPDATE", False, staging.endpoint.clean(str(exc)))
        ]
        return False
    done = Check("ALTER EXTENSION vector UPDATE", True, f"committed, attempt {result.attempts}")
    checks["update"] = [done, *result.checks]
    if opts.after_update is not None:
        opts.after_update()
    if opts.post_update_sql is not None:
        report.notes.append(postupdate.run(staging.endpoint, opts.post_update_sql, report.sql))
    return True


def _update_baseline(staging: Staging, db: DatabaseFacts, report: StageReport) -> Baseline:
    """The recall the update's in-transaction check compares with: same queries, old code.

    Measured exactly as apply does (:func:`vecpatch.apply.smoke.index_recalls`), before the
    package step, so the check judges each index against its own level, not a fixed floor.
    """
    try:
        with staging.endpoint.connect(autocommit=False) as conn:
            found = index_recalls(conn, db)
            conn.rollback()
    except psycopg.Error as exc:
        report.notes.append(
            f"no recall baseline for the update's check: {staging.endpoint.clean(first_line(exc))}"
        )
        return {}
    return found


def _after(
    staging: Staging,
    opts: StageOptions,
    work: Workload,
    committed: bool,
    target: str,
    installed: str,
    checks: dict[str, list[Check]],
    skipped: dict[str, str],
    before: Phase,
    progress: Progress,
) -> Phase:
    progress("after the update: compatibility checks")
    t0 = time.perf_counter()
    checks["extversion"] = [compat.extversion_is(staging.endpoint, target)]
    checks["library-loads"] = compat.library_loads(staging.endpoint, target, None)
    if committed:
        checks["schema-parity"] = [compat.schema_parity(staging.endpoint, target)]
    else:
        skipped["schema-parity"] = "the update did not commit"
    compat_seconds = time.perf_counter() - t0
    if not committed:
        after = Phase(installed)
    else:
        progress("after the update: functionality, regression, performance")
        after = measure_phase(staging.endpoint, work, target)
    after.timings["compatibility"] = compat_seconds
    del before, opts
    return after


def _timings(report: StageReport, before: Phase, after: Phase) -> None:
    """Per-category seconds of both phases (``update``, ``backup`` and the drill apart)."""
    for phase in (before, after):
        for key, value in phase.timings.items():
            report.timings[key] = report.timings.get(key, 0.0) + value


def _not_measured(specs: Sequence[CaseSpec], why: str) -> list[CaseResult]:
    return [
        judge.base(s, Verdict.SKIP, why)
        for s in specs
        if s.check not in judge.COMPAT_CHECKS and s.category is not Category.COMPATIBILITY
    ]


def _nothing_to_do(
    report: StageReport,
    specs: Sequence[CaseSpec],
    installed: str,
    target: str,
    checks: dict[str, list[Check]],
) -> None:
    if PgvectorVersion.parse(target) < PgvectorVersion.parse(installed):
        checks["update-path"] = [Check(f"update path {installed} -> {target}", False,
                                       "the target is older than the installed version: pgvector "
                                       "ships no downgrade scripts")]  # fmt: skip
        why = f"not run: no update path from {installed} to {target}"
    else:
        report.nothing_to_stage = True
        report.notes.append(f"already at {target}: nothing to stage")
        why = f"not run: pgvector {target} is already installed, nothing to rehearse"
        checks = {}  # nothing was rehearsed, so no case may say "pass"
    report.cases = judge.compat_cases(specs, checks, {s.check: why for s in specs})
    report.cases += [
        judge.base(s, Verdict.SKIP, why) for s in specs if s.check not in judge.COMPAT_CHECKS
    ]
