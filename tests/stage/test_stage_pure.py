"""Pure parts of staging: the plan as data, the queries file, statistics, pair choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from vecpatch.errors import UsageError
from vecpatch.stage import stats
from vecpatch.stage.clone import nearest_pair
from vecpatch.stage.model import Category, Verdict
from vecpatch.stage.perf import IndexMeasure
from vecpatch.stage.perfjudge import judge_build
from vecpatch.stage.queries import derived_name, parse_queries
from vecpatch.stage.testplan import load_plan


def test_default_plan_has_every_category_and_unique_ids() -> None:
    plan = load_plan()
    assert {c.category for c in plan} == set(Category)
    assert len({c.id for c in plan}) == len(plan)
    assert all(c.id.startswith(c.category.value) for c in plan)


def test_user_plan_overrides_by_id_and_adds_cases(tmp_path: Path) -> None:
    user = tmp_path / "plan.yaml"
    user.write_text(
        "cases:\n"
        "  - {id: performance.latency, critical: false, expectations: {max_p95_increase: 0.5}}\n"
        "  - {id: functionality.bit, enabled: false}\n"
        "  - id: regression.orders\n"
        "    category: regression\n"
        "    sql: SELECT count(*) FROM items\n"
    )
    plan = {c.id: c for c in load_plan(user)}
    latency = plan["performance.latency"]
    assert not latency.critical
    assert latency.expect("max_p95_increase", 0) == 0.5
    assert latency.expect("noise_floor_ms", 0) == 0.5  # kept from the default
    assert "functionality.bit" not in plan
    assert plan["regression.orders"].check == "sql"


def test_invalid_plan_lists_every_problem(tmp_path: Path) -> None:
    user = tmp_path / "plan.yaml"
    user.write_text("cases:\n  - {id: a, category: nope, check: sql}\n  - {id: b, colour: red}\n")
    with pytest.raises(UsageError) as err:
        load_plan(user)
    text = err.value.message
    assert "a: category must be one of" in text
    assert "a: check 'sql' needs a 'sql' statement" in text
    assert "b: unknown key 'colour'" in text


def test_queries_file_names_and_knn_detection() -> None:
    text = (
        "-- name: top-items\n"
        "SELECT id FROM items ORDER BY embedding <-> '[1,2,3]' LIMIT 5;\n"
        "-- a comment, not a name\n"
        "SELECT ';' AS semi, count(*)\n  FROM items;\n"
        "-- name: jaccard\nSELECT id FROM items ORDER BY bits <%> '101' LIMIT 3;\n"
    )
    queries = parse_queries(text)
    assert [q.name for q in queries] == [
        "top-items",
        derived_name("-- a comment, not a name\nSELECT ';' AS semi, count(*)\n  FROM items"),
        "jaccard",
    ]
    assert [q.knn for q in queries] == [True, False, True]
    assert queries[1].sql.endswith("FROM items")


def test_duplicate_query_names_are_refused() -> None:
    with pytest.raises(UsageError, match="duplicate"):
        parse_queries("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")


def test_latency_interval_excludes_zero_only_for_a_real_shift() -> None:
    base = [1.0 + 0.01 * (i % 7) for i in range(50)]
    same = stats.p95_change(base, list(reversed(base)))
    assert not same.excludes_zero()
    slower = stats.p95_change(base, [v * 1.5 for v in base])
    assert slower.point == pytest.approx(0.5)
    assert slower.low > 0.0


def test_nearest_pair_prefers_the_same_pgvector_then_the_closest_minor() -> None:
    assert (nearest_pair("16.3", "0.7.4").pg, nearest_pair("16.3", "0.7.4").pgvector) == (
        "16.4",
        "0.7.4",
    )
    assert nearest_pair("16.9", "0.8.1").pg == "16.10"
    assert nearest_pair("16.1", "0.7.0").pgvector == "0.7.4"
    with pytest.raises(UsageError):
        nearest_pair("11.22", "0.5.1")


@pytest.mark.parametrize(
    ("before", "after", "verdict"),
    [
        (0.02, 0.05, Verdict.PASS),  # +150 %, but 30 ms is one busy moment
        (1.0, 1.2, Verdict.PASS),  # +20 %: within the allowed +50 %
        (1.0, 2.0, Verdict.FAIL),  # +100 % and a second slower
    ],
)
def test_build_time_fails_only_beyond_ratio_and_noise_floor(
    before: float, after: float, verdict: Verdict
) -> None:
    spec = next(c for c in load_plan() if c.check == "index-build")
    measure = [IndexMeasure("i", build_seconds=s, build_rows=1000) for s in (before, after)]
    assert judge_build(spec, "i", *measure).verdict is verdict
