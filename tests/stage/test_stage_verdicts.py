"""Pure verdict rules: changed results fail, annotations, paired recall, stage outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vecpatch import recall
from vecpatch.errors import UsageError
from vecpatch.exitcodes import ExitCode
from vecpatch.stage.model import CaseResult, Category, Outcome, StageReport, Verdict
from vecpatch.stage.queries import parse_queries
from vecpatch.stage.regression import judge
from vecpatch.stage.testplan import load_plan

SPEC = next(c for c in load_plan() if c.check == "user-queries")


def rows(*values: tuple[str, ...]) -> dict[str, Any]:
    return {"rows": len(values), "first_rows": [list(v) for v in values[:5]], "_all": list(values)}


def error(text: str) -> dict[str, Any]:
    return {"error": text}


def one(text: str) -> Any:
    [query] = parse_queries(text)
    return query


def test_error_to_success_is_changed_and_fails_with_both_sides() -> None:
    q = one("SELECT '[1,2]'::vector < '[1,2,3]'::vector;")
    result = judge(SPEC, q, error("different vector dimensions 2 and 3"), rows(("True",)))
    assert result.verdict is Verdict.FAIL
    assert result.why.startswith("changed: error (different vector dimensions 2 and 3) before")
    assert "success (1 rows" in result.why
    assert result.after is not None and result.after["outcome"] == "changed"


def test_success_to_error_fails_and_the_same_error_passes() -> None:
    q = one("SELECT 1;")
    assert judge(SPEC, q, rows(("1",)), error("boom")).verdict is Verdict.FAIL
    same = judge(SPEC, q, error("boom (SQLSTATE 22000)"), error("boom (SQLSTATE 22000)"))
    assert same.verdict is Verdict.PASS and "same error" in same.why


def test_order_counts_only_where_the_query_orders() -> None:
    ordered = one("SELECT id FROM t ORDER BY id;")
    unordered = one("SELECT id FROM t;")
    a, b = rows(("1",), ("2",)), rows(("2",), ("1",))
    assert judge(SPEC, ordered, a, b).verdict is Verdict.FAIL
    assert judge(SPEC, unordered, a, b).verdict is Verdict.PASS
    as_set = one("-- compare: set\nSELECT id FROM t;")
    assert judge(SPEC, as_set, rows(("1",), ("1",)), rows(("1",))).verdict is Verdict.PASS
    assert judge(SPEC, unordered, rows(("1",), ("1",)), rows(("1",))).verdict is Verdict.FAIL


def test_a_changed_row_is_shown_as_a_diff() -> None:
    q = one("SELECT id, v FROM t ORDER BY id;")
    result = judge(SPEC, q, rows(("1", "a"), ("2", "b")), rows(("1", "a"), ("2", "c")))
    assert result.why == "changed: 1 of 2 rows differ: row 2: ['2', 'b'] -> ['2', 'c']"
    loose = one("SELECT id, v FROM t;")
    result = judge(SPEC, loose, rows(("1", "a"), ("2", "b")), rows(("1", "a"), ("2", "c")))
    assert result.why == "changed: 1 of 2 rows differ: sorted row 2: ['2', 'b'] -> ['2', 'c']"
    longer = judge(SPEC, loose, rows(("1", "a")), rows(("1", "a"), ("2", "c")))
    assert longer.why == "changed: 1 rows before, 2 after: +2\tc"


def test_expect_changed_passes_a_change_and_fails_no_change() -> None:
    q = one("-- name: dims\n-- expect: changed\nSELECT '[1,2]'::vector < '[1,2,3]'::vector;")
    assert (q.name, q.expect_changed) == ("dims", True)
    assert judge(SPEC, q, error("dims"), rows(("True",))).verdict is Verdict.PASS
    assert judge(SPEC, q, rows(("True",)), rows(("True",))).verdict is Verdict.FAIL


def test_annotations_choose_the_comparison_and_bad_ones_name_the_line() -> None:
    q = one("-- compare: knn-recall\nSELECT id FROM t ORDER BY score(v) LIMIT 3;")
    assert q.knn
    assert one("SELECT id FROM t ORDER BY v <-> '[1]' LIMIT 3;").compare == "knn-recall"
    with pytest.raises(UsageError, match="line 2: -- compare: 'fuzzy' is not one of"):
        parse_queries("SELECT 1;\n-- compare: fuzzy\nSELECT 2;\n")


def test_paired_recall_fails_only_a_confirmed_drop_that_matters() -> None:
    same = recall.paired([0.6] * 50, [0.6] * 50)
    assert not same.regressed and (same.low, same.high) == (0.0, 0.0)
    few = recall.paired([0.6] * 50, [0.6] * 47 + [0.5] * 3)  # -0.006: real, too small
    assert not few.regressed
    dropped = recall.paired([0.9] * 50, [0.6] * 50)
    assert dropped.regressed and dropped.high < 0
    noisy = recall.paired([0.5, 1.0] * 25, [1.0, 0.5] * 25)  # no change on average
    assert not noisy.regressed and noisy.low < 0 < noisy.high
    assert "95% CI" in dropped.describe(10)


def report(*cases: CaseResult, nothing: bool = False) -> StageReport:
    r = StageReport("r", datetime.now(UTC), {}, cases=list(cases))
    r.nothing_to_stage = nothing
    return r


def case(verdict: Verdict, critical: bool = True, check: str = "x") -> CaseResult:
    return CaseResult(f"c.{verdict}.{check}", Category.COMPATIBILITY, critical, verdict, "why",
                      check=check)  # fmt: skip


def test_stage_outcomes_mean_what_they_say() -> None:
    passed = report(case(Verdict.PASS), case(Verdict.NOT_APPLICABLE))
    assert (passed.verdict, passed.exit_code, passed.coverage) == (Outcome.PASS, ExitCode.OK, 1.0)
    incomplete = report(case(Verdict.PASS), case(Verdict.SKIP))
    assert (incomplete.verdict, incomplete.exit_code) == (Outcome.INCOMPLETE, ExitCode.FINDINGS)
    nothing = report(case(Verdict.SKIP), nothing=True)
    assert (nothing.verdict, nothing.exit_code) == (Outcome.NOTHING_TO_STAGE, ExitCode.OK)
    assert nothing.to_dict()["verdict"] == "nothing-to-stage"
    drill = report(case(Verdict.PASS), case(Verdict.FAIL, critical=False, check="rollback-drill"))
    assert (drill.verdict, drill.exit_code) == (Outcome.FAIL, ExitCode.FINDINGS)
    skipped_drill = report(case(Verdict.PASS), case(Verdict.SKIP, False, "rollback-drill"))
    assert skipped_drill.verdict is Outcome.PASS
