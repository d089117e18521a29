"""Benchmark: A/A staging, the demo's data and version pair staged N times in a row (not a test).

An update that changes nothing a user can see must pass every time: a verdict that
fails now and then on the same data is noise, and a gate built on it would be ignored.
This creates the demo's sandbox once (PostgreSQL 16.4 + pgvector 0.7.4, the sample
data, 10,000 rows), then N times: clone it as the demo does, stage 0.7.4 -> 0.8.5 with
the default plan (rollback drill included) and the demo's queries, destroy the clone.
It prints every run's verdict, the false failures (goal: 0 of 20), and the widest
recall and latency intervals seen (the paired recall change and the p95 change).

    .venv/bin/python bench/stage_aa.py [--runs 20] [--rows 10000] [--no-rollback-drill]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any


def _interval(case: Any, key: str) -> tuple[float, float] | None:
    doc = (case.after or {}).get(key)
    if not doc:
        return None
    low = doc.get("ci_low", doc.get("ci95_low"))
    high = doc.get("ci_high", doc.get("ci95_high"))
    return (float(low), float(high)) if low is not None and high is not None else None


def _widest(found: list[tuple[str, tuple[float, float]]]) -> str:
    if not found:
        return "none measured"
    name, (low, high) = max(found, key=lambda f: f[1][1] - f[1][0])
    return f"[{low:+.3f}, {high:+.3f}] (width {high - low:.3f}, {name})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--no-rollback-drill", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vecpatch-bench-stage-aa-"))
    work.chmod(0o711)
    os.environ.setdefault("VECPATCH_STATE", str(work / "state"))
    folder = work / "sandboxes"
    folder.mkdir()
    folder.chmod(0o711)  # the unprivileged server user must traverse it when we are root
    os.environ["VECPATCH_SANDBOX_DIR"] = str(folder)

    from vecpatch.catalog.store import load_catalog
    from vecpatch.cli.demo import DEMO_QUERIES
    from vecpatch.plan import PlanPolicy, Policy
    from vecpatch.sandbox import Sandbox
    from vecpatch.stage.clone import clone_from
    from vecpatch.stage.runner import StageOptions
    from vecpatch.targets import Target
    from vecpatch.usecases.stage import run_stage

    source = Sandbox.create("bench-aa-source", "16.4", "0.7.4", sample=True, rows=args.rows)
    queries = work / "queries.sql"
    queries.write_text(DEMO_QUERIES)
    target = Target(name="bench-aa", environment="demo", dsn=source.dsn(), databases="all")
    opts = StageOptions(policy=PlanPolicy(Policy.PINNED, "0.8.5"), queries_file=queries,
                        rollback_drill=not args.no_rollback_drill)  # fmt: skip
    catalog = load_catalog(offline=True)
    history = f"sqlite:///{work / 'history.db'}"
    failures: list[str] = []
    recall: list[tuple[str, tuple[float, float]]] = []
    latency: list[tuple[str, tuple[float, float]]] = []
    try:
        for n in range(1, args.runs + 1):
            run_id = uuid.uuid4().hex[:8]
            staging = clone_from(target, run_id, f"bench-aa-{run_id}", args.rows)
            report = run_stage(staging, opts, history, catalog=catalog)
            bad = [f"{c.id}: {c.why}" for c in report.critical_failures + report.not_run]
            print(f"run {n:>2}: {report.verdict.value:<10} {report.duration:5.1f} s"
                  + (f"  {'; '.join(bad)}" if bad else ""), flush=True)  # fmt: skip
            if report.verdict.value != "pass":
                failures.append(f"run {n}: " + "; ".join(bad))
            for case in report.cases:
                found = _interval(case, "recall_change")
                if found:
                    recall.append((case.id, found))
                found = _interval(case, "p95_change")
                if found:
                    latency.append((case.id, found))
            print(f"        widest so far: recall {_widest(recall)}; p95 {_widest(latency)}",
                  flush=True)  # fmt: skip
    finally:
        source.destroy()
        shutil.rmtree(work, ignore_errors=True)
    print(f"false failures: {len(failures)} of {args.runs}")
    print(f"widest recall@10 interval (paired change): {_widest(recall)}")
    print(f"widest p95 latency interval (relative change): {_widest(latency)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
