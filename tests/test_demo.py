"""The README's main command: `vecpatch demo` walks the whole loop on a real sandbox."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.sandbox import list_sandboxes

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def test_demo_runs_every_step_and_cleans_up() -> None:
    result = CliRunner().invoke(app, ["demo", "--rows", "1000"])
    assert result.exit_code == 0, result.stdout
    text = result.stdout
    for step in ("1. What the catalog says", "2. Scan", "3. Plan", "4. Stage", "5. Apply",
                 "6. Scan again", "7. Measure"):  # fmt: skip
        assert step in text
    assert "CVE-2026-3172" in text
    assert "ALTER EXTENSION vector UPDATE TO '0.8.5'" in text
    assert "stage PASS" in text
    assert "applied" in text and "Evidence bundle" in text
    assert "Staging test" in text and "dashboard: vecpatch serve" in text
    assert not [s for s in list_sandboxes() if s.name.startswith("vecpatch-demo")]
