"""The apply's terminal manners: the prompt names what to type; step progress and the soak
countdown read as words (the observer the apply calls)."""

from __future__ import annotations

import io

import pytest

from vecpatch.apply.progress import SILENT, StepProgress
from vecpatch.cli import apply as cli_apply


def test_the_prompt_names_what_to_type(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("prod-eu\nprod-us\n"))
    ui = cli_apply.CliUi()
    assert ui.confirm("prod-eu", "1 database 0.7.4 -> 0.8.5")
    assert not ui.confirm("prod-eu", "1 database 0.7.4 -> 0.8.5")  # typed another name
    shown = capsys.readouterr().err
    assert "Type prod-eu to go on (anything else stops):" in shown and "[]" not in shown


def test_step_progress_reads_as_words(capsys: pytest.CaptureFixture[str]) -> None:
    shown: StepProgress = cli_apply.CliProgress()
    shown.started("prod/app", "backup")
    shown.finished("prod/app", "backup", "ok", 2.04)
    shown.soaking("prod/app", 10, 15)  # not a terminal here: no countdown line
    SILENT.finished("prod/app", "soak", "ok", 15.0)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["prod/app: backup…", "prod/app: backup ok (2.0 s)"]
