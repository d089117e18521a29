"""From measurements to verdicts: one :class:`CaseResult` per case (or per query, per index).

Functionality is judged on the phase after the update (the version that will run in
production); regression and performance compare after with before. A case whose
measurement could not run says why instead of passing silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vecpatch.stage import perfjudge, regression
from vecpatch.stage.model import CaseResult, CaseSpec, Check, Verdict
from vecpatch.stage.phase import Phase, Workload
from vecpatch.stage.queries import UserQuery, query_of

COMPAT_CHECKS = frozenset(
    {"update-path", "package", "update", "extversion", "library-loads", "supports-major",
     "schema-parity", "rollback-drill"}
)  # fmt: skip


def base(spec: CaseSpec, verdict: Verdict, why: str) -> CaseResult:
    return CaseResult(spec.id, spec.category, spec.critical, verdict, why, check=spec.check)


def from_checks(
    spec: CaseSpec, checks: Sequence[Check], *, before: Sequence[Check] = ()
) -> CaseResult:
    """FAIL naming every failed check; SKIP when every check was skipped; else PASS."""
    failed = [c for c in checks if not c.ok and not c.skipped]
    if failed:
        why = "; ".join(f"{c.name}: {c.detail}" for c in failed[:4])
        if len(failed) > 4:
            why += f"; and {len(failed) - 4} more"
        result = base(spec, Verdict.FAIL, why)
    elif checks and all(c.skipped for c in checks):
        result = base(spec, Verdict.SKIP, "; ".join(c.detail for c in checks))
    else:
        ran = [c for c in checks if not c.skipped]
        result = base(spec, Verdict.PASS, f"{len(ran)} checks passed" if len(ran) > 1 else
                      (ran[0].detail if ran else "passed"))  # fmt: skip
    result.checks = list(checks)
    if before:
        failed_before = [c.name for c in before if not c.ok and not c.skipped]
        result.before = {"passed": sum(c.ok for c in before), "failed": failed_before}
    return result


def compat_cases(
    specs: Sequence[CaseSpec], checks: Mapping[str, list[Check]], skipped: Mapping[str, str]
) -> list[CaseResult]:
    out = []
    for spec in specs:
        if spec.check not in COMPAT_CHECKS:
            continue
        if spec.check in checks:
            out.append(from_checks(spec, checks[spec.check]))
        else:
            out.append(base(spec, Verdict.SKIP, skipped.get(spec.check, "not run")))
    return out


def functional_cases(specs: Sequence[CaseSpec], before: Phase, after: Phase) -> list[CaseResult]:
    out = []
    for spec in specs:
        if spec.id in after.skipped:
            out.append(base(spec, Verdict.NOT_APPLICABLE, after.skipped[spec.id]))
        elif spec.id in after.functional:
            out.append(
                from_checks(
                    spec, after.functional[spec.id], before=before.functional.get(spec.id, ())
                )
            )
    return out


def regression_cases(
    specs: Sequence[CaseSpec], queries: Sequence[UserQuery], before: Phase, after: Phase
) -> list[CaseResult]:
    out = []
    template = next((s for s in specs if s.check == "user-queries"), None)
    if template is not None and not queries:
        out.append(
            base(
                template,
                Verdict.NOT_APPLICABLE,
                "no user queries (--queries FILE or pg_stat_statements)",
            )
        )
    if template is not None:
        for q in queries:
            out.append(regression.judge(template, q, before.queries[q.name], after.queries[q.name]))
    for spec in specs:
        if spec.check == "sql" and spec.id in after.sql_cases:
            q = query_of(spec.id, spec.sql or "")
            result = regression.judge(spec, q, before.sql_cases[spec.id], after.sql_cases[spec.id])
            result.id = spec.id
            out.append(result)
    return out


JUDGES = {
    "index-recall": perfjudge.judge_recall,
    "index-latency": perfjudge.judge_latency,
    "index-build": perfjudge.judge_build,
}


def performance_cases(
    specs: Sequence[CaseSpec], work: Workload, before: Phase, after: Phase
) -> list[CaseResult]:
    out = []
    for spec in specs:
        judge = JUDGES.get(spec.check)
        if judge is None:
            continue
        if not after.indexes:
            why = "no measurable vector index on the user's tables"
            out.append(base(spec, Verdict.NOT_APPLICABLE, why))
        for name in sorted(after.indexes):
            if name in before.indexes:
                out.append(judge(spec, name, before.indexes[name], after.indexes[name]))
    return out
