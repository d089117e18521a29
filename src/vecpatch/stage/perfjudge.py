"""Verdicts on index measurements: recall, latency, build time (thresholds from the plan)."""

from __future__ import annotations

from vecpatch.stage import stats
from vecpatch.stage.model import CaseResult, CaseSpec, Verdict
from vecpatch.stage.perf import IndexMeasure


def _result(spec: CaseSpec, index: str, before: IndexMeasure, after: IndexMeasure) -> CaseResult:
    return CaseResult(
        id=f"{spec.id}.{index}",
        category=spec.category,
        critical=spec.critical,
        verdict=Verdict.PASS,
        why="",
        check=spec.check,
        before=before.to_dict(),
        after=after.to_dict(),
    )


def _errored(result: CaseResult, before: IndexMeasure, after: IndexMeasure) -> bool:
    if after.error or before.error:
        result.verdict = Verdict.ERROR if before.error else Verdict.FAIL
        result.why = f"measurement failed: {after.error or before.error}"
        return True
    return False


def judge_recall(
    spec: CaseSpec, index: str, before: IndexMeasure, after: IndexMeasure
) -> CaseResult:
    """Fail when mean recall@k drops by more than ``max_recall_drop``."""
    result = _result(spec, index, before, after)
    if _errored(result, before, after):
        return result
    drop_allowed = spec.expect("max_recall_drop", 0.01)
    diff = stats.mean_diff(before.recalls, after.recalls)
    rb = sum(before.recalls) / max(1, len(before.recalls))
    ra = sum(after.recalls) / max(1, len(after.recalls))
    result.after = {**(result.after or {}), "recall_change": diff.to_dict()}
    settings = ", ".join(f"{k}={v}" for k, v in after.settings.items() if v is not None)
    result.why = (
        f"recall@{int(spec.expect('k', 10))} {rb:.3f} -> {ra:.3f} "
        f"(change {diff.point:+.3f}, 95% CI "
        f"[{diff.low:+.3f}, {diff.high:+.3f}]; allowed drop {drop_allowed:g}) at {settings}"
    )
    if rb - ra > drop_allowed:
        result.verdict = Verdict.FAIL
    return result


def judge_latency(
    spec: CaseSpec, index: str, before: IndexMeasure, after: IndexMeasure
) -> CaseResult:
    """Fail when p95 grows by more than ``max_p95_increase`` and the interval excludes zero."""
    result = _result(spec, index, before, after)
    if _errored(result, before, after):
        return result
    limit = spec.expect("max_p95_increase", 0.2)
    floor = spec.expect("noise_floor_ms", 0.5)
    change = stats.p95_change(
        before.latencies_ms, after.latencies_ms, int(spec.expect("bootstrap", 2000))
    )
    pb = stats.percentiles(before.latencies_ms)["p95"]
    pa = stats.percentiles(after.latencies_ms)["p95"]
    result.after = {**(result.after or {}), "p95_change": change.to_dict()}
    result.why = (
        f"p95 {pb:.2f} -> {pa:.2f} ms ({change.point:+.0%}, 95% CI [{change.low:+.0%}, "
        f"{change.high:+.0%}]); QPS {before.qps:.0f} -> {after.qps:.0f}"
    )
    if change.point > limit and change.low > 0.0 and pa - pb > floor:
        result.verdict = Verdict.FAIL
        result.why += f"; more than +{limit:.0%} and above the {floor:g} ms noise floor"
    return result


def judge_build(
    spec: CaseSpec, index: str, before: IndexMeasure, after: IndexMeasure
) -> CaseResult:
    """Fail when building the index on a copy got slower by more than ``max_build_increase``.

    A build of a few thousand rows takes tens of milliseconds, where one busy moment on
    the machine is a +50% change; the slowdown must also exceed ``noise_floor_s``.
    """
    result = _result(spec, index, before, after)
    if _errored(result, before, after):
        return result
    if not before.build_seconds or not after.build_seconds:
        result.verdict, result.why = Verdict.SKIP, "build time not measured"
        return result
    limit = spec.expect("max_build_increase", 0.5)
    floor = spec.expect("noise_floor_s", 0.25)
    change = after.build_seconds / before.build_seconds - 1.0
    result.why = (
        f"build on a {after.build_rows}-row copy {before.build_seconds:.2f} -> "
        f"{after.build_seconds:.2f} s ({change:+.0%}, allowed +{limit:.0%})"
    )
    if change > limit and after.build_seconds - before.build_seconds > floor:
        result.verdict = Verdict.FAIL
        result.why += f"; above the {floor:g} s noise floor"
    elif change > limit:
        result.why += f"; within the {floor:g} s noise floor"
    return result
