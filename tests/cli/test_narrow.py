"""At 80 columns nothing an operator must copy is cut: stage case ids stay whole, and an
apply's commands (next steps, the install command of a refusal) are printed whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from vecpatch.apply.model import ApplyResult, DatabaseRun, Outcome
from vecpatch.cli import console
from vecpatch.cli.apply import render_apply
from vecpatch.cli.stage import render_table
from vecpatch.stage.model import CaseResult, Category, StageReport, Verdict

INSTALL = "apt-get install postgresql-16-pgvector=0.8.5-1.pgdg120+1"


@pytest.fixture
def narrow() -> Iterator[None]:
    saved = console.out.width
    console.out.width = 80
    try:
        yield
    finally:
        console.out.width = saved


@pytest.mark.usefixtures("narrow")
def test_stage_case_ids_are_never_cut(capsys: pytest.CaptureFixture[str]) -> None:
    ids = [f"performance.recall.published_{n}_embeddings_hnsw" for n in range(3)]
    report = StageReport(run_id="r", started_at=datetime.now(UTC), staging={},
                         installed="0.7.4", target="0.8.5")  # fmt: skip
    report.cases = [
        CaseResult(i, Category("performance"), True, Verdict.PASS, "recall 0.991 >= 0.95 " * 4)
        for i in ids
    ]
    render_table(report)
    shown = capsys.readouterr().out
    assert "…" not in shown
    assert all(i in shown for i in ids), shown


@pytest.mark.usefixtures("narrow")
def test_an_apply_refusal_prints_its_commands_whole(capsys: pytest.CaptureFixture[str]) -> None:
    step = f"{INSTALL} && vecpatch apply production-eu-west --to 0.8.5"
    reason = f"pgvector 0.8.5 is not on disk: install it first ({INSTALL})"
    run = DatabaseRun("production-eu-west", "embeddings_store", "0.7.4", "0.8.5",
                      outcome=Outcome.REFUSED, next_steps=[step], reasons=[reason])  # fmt: skip
    render_apply(ApplyResult("r-1", Outcome.REFUSED, (run,), None), "table", ())
    shown = capsys.readouterr().out
    assert "…" not in shown
    assert step in shown
