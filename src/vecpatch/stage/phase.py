"""One measurement phase (baseline before the update, or after it).

The same code runs both times, so a difference between the phases is the update's
doing (or the post-update step's), never the harness's. Each category's time is
recorded for the report and for ``bench/stage.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from vecpatch.apply.session import Endpoint
from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.pgerrors import first_line
from vecpatch.probe.facts import VectorIndex
from vecpatch.stage import behaviours, functional, indexes, perf, regression
from vecpatch.stage.db import scratch
from vecpatch.stage.model import CaseSpec, Category, Check
from vecpatch.stage.queries import UserQuery, query_of


@dataclass
class Phase:
    """What one phase measured, keyed by case id / query name / index label."""

    version: str
    functional: dict[str, list[Check]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    sql_cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    indexes: dict[str, perf.IndexMeasure] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def timed(self, category: Category, started: float) -> None:
        key = category.value
        self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - started


@dataclass(frozen=True)
class Workload:
    """What both phases measure: the plan, the user's queries, the indexes and their samples."""

    specs: Sequence[CaseSpec]
    queries: Sequence[UserQuery]
    indexes: Sequence[VectorIndex]
    samples: dict[str, list[str]]

    def spec(self, check: str) -> CaseSpec | None:
        return next((s for s in self.specs if s.check == check), None)


def supported(spec: CaseSpec, version: str) -> bool:
    return spec.min_version is None or PgvectorVersion.parse(version) >= PgvectorVersion.parse(
        spec.min_version
    )


def _tol(spec: CaseSpec) -> tuple[float, float]:
    return spec.expect("rtol", 1e-5), spec.expect("atol", 1e-5)


Runner = Callable[[psycopg.Connection[Any], str, CaseSpec], list[Check]]
RUNNERS: dict[str, Runner] = {
    "type-suite": lambda c, v, s: functional.run_type_suite(
        c, str(s.expectations.get("type", "vector")), v, _tol(s)
    ),
    "aggregates": lambda c, v, s: functional.run_aggregates(c, v, _tol(s)),
    "behaviours": lambda c, v, s: behaviours.run_behaviours(c, v, _tol(s)),
    "index-builds": lambda c, v, s: indexes.run_index_builds(c, v, s.expect("min_recall", 0.9)),
    "iterative-scan": lambda c, v, s: indexes.run_iterative_scan(c, v, s.expect("min_recall", 0.9)),
}


def run_functionality(endpoint: Endpoint, work: Workload, phase: Phase) -> None:
    started = time.perf_counter()
    specs = [s for s in work.specs if s.check in RUNNERS]
    try:
        with scratch(endpoint) as conn:
            for spec in specs:
                if not supported(spec, phase.version):
                    phase.skipped[spec.id] = (
                        f"pgvector {phase.version} predates this feature ({spec.min_version})"
                    )
                    continue
                phase.functional[spec.id] = RUNNERS[spec.check](conn, phase.version, spec)
    except psycopg.Error as exc:
        failure = Check("session", False, endpoint.clean(first_line(exc)))
        for spec in specs:
            phase.functional.setdefault(spec.id, [failure])
    phase.timed(Category.FUNCTIONALITY, started)


def run_regression(endpoint: Endpoint, work: Workload, phase: Phase) -> None:
    started = time.perf_counter()
    for query in work.queries:
        phase.queries[query.name] = regression.measure(endpoint, query)
    for spec in work.specs:
        if spec.check == "sql" and spec.sql:
            phase.sql_cases[spec.id] = regression.measure(
                endpoint, query_of(spec.id, spec.sql)
            )
    phase.timed(Category.REGRESSION, started)


def run_performance(endpoint: Endpoint, work: Workload, phase: Phase) -> None:
    started = time.perf_counter()
    recall = work.spec("index-recall")
    latency = work.spec("index-latency")
    build = work.spec("index-build")
    if recall is None and latency is None and build is None:
        return
    k = int((recall or latency or build or work.specs[0]).expect("k", 10))
    rows = int(build.expect("rows", 10_000)) if build is not None else 0
    for idx in work.indexes:
        name = perf.label(idx)
        phase.indexes[name] = perf.measure(endpoint, idx, work.samples.get(name, []), k, rows)
    phase.timed(Category.PERFORMANCE, started)


def measure_phase(endpoint: Endpoint, work: Workload, version: str) -> Phase:
    """Functionality, regression and performance measurements at ``version``."""
    phase = Phase(version)
    run_functionality(endpoint, work, phase)
    run_regression(endpoint, work, phase)
    run_performance(endpoint, work, phase)
    return phase
