"""CLI: check (32/64-bit, component extensions, exit codes), verify on a tampered copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app

runner = CliRunner()
NOW = ["--now", "2026-11-25T12:00:00+00:00"]


def _check(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    res = runner.invoke(app, ["catalog", "check", *args, "--format", "json", *NOW])
    return res.exit_code, json.loads(res.stdout)


def _finding(data: dict, ident: str) -> dict:  # type: ignore[type-arg]
    return next(f for f in data["findings"] if f["id"] == ident)


def test_check_32_vs_64_bit() -> None:
    _, d64 = _check("--pgvector", "0.8.5", "--bits", "64", "--fail-on", "critical")
    _, d32 = _check("--pgvector", "0.8.5", "--bits", "32", "--fail-on", "critical")
    assert _finding(d64, "CVE-2026-18022")["affected"] is True
    assert _finding(d64, "CVE-2026-18022")["exposed"] is False
    assert "64-bit" in " ".join(_finding(d64, "CVE-2026-18022")["reasons"])
    assert _finding(d32, "CVE-2026-18022")["exposed"] is True


def test_check_component_extension() -> None:
    _, without = _check("--pg", "16.2", "--bits", "64")
    _, with_ext = _check("--pg", "16.2", "--bits", "64", "--extension", "pg_trgm")
    assert _finding(without, "CVE-2026-14678")["exposed"] is False
    assert _finding(with_ext, "CVE-2026-14678")["exposed"] is True
    assert with_ext["latest"]["postgresql"]["version"] == "16.15"
    assert with_ext["latest"]["pgvector"]["version"] == "0.8.6"
    assert with_ext["eol"]["status"] == "supported"


def test_exit_codes_follow_fail_on() -> None:
    # pgvector 0.8.6 on 64-bit: nothing exposed
    code, data = _check("--pgvector", "0.8.6", "--bits", "64", "--fail-on", "low")
    assert code == 0 and not data["failed"]
    # 0.8.5 32-bit: high exposed -> fails at high, passes at critical
    assert _check("--pgvector", "0.8.5", "--bits", "32")[0] == 1
    assert _check("--pgvector", "0.8.5", "--bits", "32", "--fail-on", "critical")[0] == 0


def test_check_table_output() -> None:
    res = runner.invoke(app, ["catalog", "check", "--pg", "16.2", "--pgvector", "0.7.4", *NOW])
    assert res.exit_code == 1
    assert "CVE-2026-3172" in res.stdout and "latest pgvector: 0.8.6" in res.stdout


def test_check_ignore_file(tmp_path: Path) -> None:
    f = tmp_path / "ignore.toml"
    f.write_text('[[ignore]]\nid = "CVE-2026-18022"\nreason = "accepted"\nexpires = 2027-01-01\n')
    code, data = _check("--pgvector", "0.8.5", "--bits", "32", "--ignore-file", str(f))
    assert code == 0 and _finding(data, "CVE-2026-18022")["ignored"]["reason"] == "accepted"
    f.write_text('[[ignore]]\nid = "CVE-2026-18022"\nreason = "old"\nexpires = 2026-01-01\n')
    code, data = _check("--pgvector", "0.8.5", "--bits", "32", "--ignore-file", str(f))
    assert code == 1 and data["reopened"] == ["CVE-2026-18022"]


def test_show_json_and_age_line() -> None:
    res = runner.invoke(app, ["catalog", "show", "--json", *NOW])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["schema"] == "vecpatch.catalog.show/1"
    assert data["pgvector"]["latest"]["version"] == "0.8.6"
    assert len(data["advisories"]) == 107  # 60 curated + 47 known only from Debian changelogs


def test_verify_ok_and_tampered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vecpatch.catalog.snapshot as snap

    assert runner.invoke(app, ["catalog", "verify", *NOW]).exit_code == 0
    copy = tmp_path / "snap"
    shutil.copytree(snap.snapshot_dir(), copy)
    monkeypatch.setenv("VECPATCH_CATALOG_SNAPSHOT_DIR", str(copy))
    assert runner.invoke(app, ["catalog", "verify", *NOW]).exit_code == 0
    data = (copy / "catalog.json").read_text()
    (copy / "catalog.json").write_text(data.replace('"0.8.6"', '"0.9.9"', 1))
    res = runner.invoke(app, ["catalog", "verify", *NOW])
    assert res.exit_code != 0
    assert "does not match its manifest" in res.stderr
    res = runner.invoke(app, ["catalog", "check", "--pg", "16.2", *NOW])
    assert res.exit_code != 0  # every load verifies


def test_stale_warning(capsys: pytest.CaptureFixture[str]) -> None:
    res = runner.invoke(app, ["catalog", "show", "--now", "2027-03-01T00:00:00+00:00"])
    assert "days old" in res.stderr and "warning" in res.stderr
