"""Verdicts on index measurements: recall, latency, build time (thresholds from the plan)."""

from __future__ import annotations

from vecpatch import recall
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
    """Fail on a paired drop in recall@k that the interval confirms and that matters.

    The same sampled queries run before and after, so each query is its own control;
    ``max_recall_drop`` is the minimum effect (the index's own baseline less it is the
    floor), ``confidence`` the interval's level.
    """
    result = _result(spec, index, before, after)
    if _errored(result, before, after):
        return result
    if len(before.recalls) != len(after.recalls):
        result.verdict = Verdict.ERROR
        result.why = f"not paired: {len(before.recalls)} queries before, {len(after.recalls)} after"
        return result
    change = recall.paired(
        before.recalls,
        after.recalls,
        spec.expect("max_recall_drop", recall.MIN_EFFECT),
        spec.expect("confidence", recall.CONFIDENCE),
    )
    result.after = {**(result.after or {}), "recall_change": change.to_dict()}
    settings = ", ".join(f"{k}={v}" for k, v in after.settings.items() if v is not None)
    result.why = f"{change.describe(int(spec.expect('k', 10)))} at {settings}"
    if change.regressed:
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
    load = stats.load_factor(before.control_ms, after.control_ms)
    adjusted = [v / load for v in after.latencies_ms]
    change = stats.p95_change(before.latencies_ms, adjusted, int(spec.expect("bootstrap", 2000)))
    pb = stats.percentiles(before.latencies_ms)["p95"]
    pa = stats.percentiles(adjusted)["p95"]
    raw = stats.percentiles(after.latencies_ms)["p95"]
    result.after = {**(result.after or {}), "p95_change": change.to_dict(),
                    "load_factor": round(load, 3)}  # fmt: skip
    result.why = (
        f"p95 {pb:.2f} -> {pa:.2f} ms ({change.point:+.0%}, 95% CI [{change.low:+.0%}, "
        f"{change.high:+.0%}]); QPS {before.qps:.0f} -> {after.qps:.0f}"
    )
    if abs(load - 1.0) >= 0.05:
        result.why += f"; machine load x{load:.2f} during after (raw p95 {raw:.2f} ms)"
    if change.point > limit and change.low > 0.0 and pa - pb > floor:
        result.verdict = Verdict.FAIL
        result.why += f"; more than +{limit:.0%} and above the {floor:g} ms noise floor"
    elif change.point > limit / 2:
        result.warning = (
            f"{index}: p95 latency {change.point:+.0%} ({pb:.2f} -> {pa:.2f} ms) is below the "
            f"failing threshold (+{limit:.0%}, confirmed by the interval, over {floor:g} ms) "
            "but large: look before production"
        )
        result.why += "; warning: large but below the failing threshold"
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
