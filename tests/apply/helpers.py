"""Shared helpers for apply tests: run the CLI or the library on a sandbox, read its state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from vecpatch.apply import ApplyOptions, ApplyResult, run_apply
from vecpatch.catalog.store import load_catalog
from vecpatch.cli.main import app
from vecpatch.sandbox import Sandbox
from vecpatch.targets import targets_from_args

runner = CliRunner()


class QuietUi:
    """Says nothing and confirms nothing (tests pass yes=True)."""

    def info(self, message: str) -> None:
        pass

    def confirm(self, target: str, summary: str) -> bool:
        return False


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    full = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": "", **(env or {})}
    return runner.invoke(app, list(args), env=full, catch_exceptions=False)


def apply_cli(sb: Sandbox, tmp: Path, *extra: str, target: str | None = None) -> Result:
    """``vecpatch apply`` on the sandbox with test-friendly defaults (no soak, JSON out);
    ``target=""`` passes no positional target (use ``--targets``)."""
    positional = [] if target == "" else [target or sb.dsn()]
    args = ["apply", *positional, "--yes", "--soak", "0", "--pg-bin", str(sb.bin_dir)]
    args += ["--evidence-dir", str(tmp / "evidence"), "--backup-dir", str(tmp / "backups")]
    args += ["--history", f"sqlite:///{tmp / 'history.db'}", "--format", "json", *extra]
    return cli(*args)


def doc(result: Result) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def apply_lib(sb: Sandbox, **options: Any) -> ApplyResult:
    """The library entry point with test seams (before_commit, extra_checks)."""
    opts = ApplyOptions(yes=True, soak=0, pg_bin=sb.bin_dir, **options)
    targets = list(targets_from_args([sb.dsn()]))
    return run_apply(targets, opts, load_catalog(offline=True), None, QuietUi())


def extversion(sb: Sandbox) -> str:
    rows = sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    return str(rows[0][0])


def fingerprint(sb: Sandbox) -> tuple[Any, ...]:
    """Row counts and checksums of every vector column of the sample tables."""
    items = sb.run_sql(
        "SELECT count(*), md5(string_agg(embedding::text, ',' ORDER BY id)) FROM items"
    )[0]
    docs = sb.run_sql(
        "SELECT count(*), md5(string_agg(embedding::text, ',' ORDER BY id)) FROM vault.docs"
    )[0]
    return (*items, *docs)
