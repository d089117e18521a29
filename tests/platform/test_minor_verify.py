"""After a minor step the server's version is checked: another minor than asked is recorded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.apply.helpers import apply_cli, doc
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def test_a_hook_that_installs_another_minor_is_recorded_and_shown(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory.fresh("16.10", "0.8.1")
    try:
        sb.run_sql("CREATE EXTENSION vector")
        sb.install_extension("0.8.5")
        hook = f"{sys.executable} -m vecpatch sandbox pg-minor {sb.name} 16.11"
        result = apply_cli(sb, tmp_path, "--to", "0.8.5", "--pg-minor-hook", hook)
        out = doc(result)
        [db] = out["databases"]
        [verify] = [s for s in db["steps"] if s["name"] == "pg-minor-verify"]
        asked = verify["detail"]["asked"]
        assert asked != "16.11" and verify["detail"]["got"] == "16.11"
        assert verify["outcome"] == "warning"
        assert any(f"asked {asked}, the server runs 16.11" in n for n in out["notes"]), out["notes"]
    finally:
        sandbox_factory.discard(sb)
