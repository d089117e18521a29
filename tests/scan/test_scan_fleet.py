"""`vecpatch scan` over a real fleet: every finding kind and failure reason, outputs,
exit codes, the history record, secrets, and read-only manners."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from vecpatch.cli.main import app
from vecpatch.history.store import HistoryStore
from vecpatch.probe.collect import ProbeRequest, session_conninfo

from .fleet import DSN_SENTINEL, ENV_SENTINEL, WRONG_SENTINEL, Fleet

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

runner = CliRunner()
FORMATS = ("table", "json", "sarif", "markdown", "csv", "junit")
SARIF_LEVELS = {"error", "warning", "note", "none"}


def scan(fleet: Fleet, *args: str) -> Result:
    """Run ``vecpatch scan`` in process with the fleet's password variables."""
    env = {**fleet.env, "VECPATCH_TARGETS": "", "VECPATCH_HISTORY": ""}
    return runner.invoke(app, ["scan", *args], env=env, catch_exceptions=False)


def scan_json(fleet: Fleet, *args: str) -> dict[str, Any]:
    result = scan(fleet, *args, "--format", "json", "--no-history")
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


@pytest.fixture(scope="module")
def recorded(
    fleet: Fleet, targets_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path, Result]:
    """One fleet scan, in JSON, recorded in a fresh SQLite history store."""
    db = tmp_path_factory.mktemp("history") / "h.db"
    result = scan(
        fleet, "--targets", str(targets_file), "--format", "json", "--history", f"sqlite:///{db}"
    )
    return json.loads(result.stdout), db, result


def _target(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for t in doc["targets"] if t["name"] == name]
    assert len(found) == 1, [t["name"] for t in doc["targets"]]
    return found[0]


def _kinds(findings: list[dict[str, Any]]) -> set[str]:
    return {f["kind"] for f in findings}


def _advisory(findings: list[dict[str, Any]], adv_id: str) -> dict[str, Any]:
    found = [f for f in findings if f.get("id") == adv_id]
    assert len(found) == 1, [f.get("id") for f in findings]
    return found[0]


# ----- one fleet scan: every kind and reason, the others still scanned ------------------------


def test_fleet_scan_reports_every_target(recorded: tuple[dict[str, Any], Path, Result]) -> None:
    doc, _db, result = recorded
    assert result.exit_code == 1  # high findings at the default --fail-on high
    assert doc["schema_version"] == "1.0"
    names = [t["name"] for t in doc["targets"]]
    assert names == [
        "old",
        "behind",
        "current",
        "replica",
        "wrong-password",
        "closed-port",
        "no-privilege",
    ]
    assert doc["summary"]["unscanned"] == 3
    for target in doc["targets"]:
        for name, db in target["databases"].items():
            for f in db["findings"]:
                assert f["kind"] and f["database"] == name and f["target"] == target["name"]
                if f["kind"] == "VULNERABLE":
                    assert f["id"] and isinstance(f["aliases"], list)
                    assert isinstance(f["affected"], bool) and isinstance(f["exposed"], bool)


def test_old_pgvector_on_old_postgres(recorded: tuple[dict[str, Any], Path, Result]) -> None:
    old = _target(recorded[0], "old")
    assert old["server"]["version"] == "16.2" and old["server"]["pointer_bits"] == 64
    cve = _advisory(old["databases"]["postgres"]["findings"], "CVE-2026-3172")
    assert cve["kind"] == "VULNERABLE" and cve["affected"] and cve["exposed"]
    assert "GHSA-789c-mgqf-5hwx" in cve["aliases"]
    assert cve["installed_version"] == "0.6.2" and cve["fix_version"]
    assert cve["severity"] in {"high", "critical"} and cve["fix_available_at"]
    minor = [f for f in old["findings"] if f["kind"] == "PG_MINOR_BEHIND"]
    assert len(minor) == 1 and minor[0]["installed_version"] == "16.2"
    fixed = {r.removeprefix("fixed since: ") for r in minor[0]["reasons"]}
    pg_vulns = [f for f in old["findings"] if f["kind"] == "VULNERABLE"]
    assert pg_vulns and all(f["product"] == "postgresql" and f["id"] for f in pg_vulns)
    assert {f["id"] for f in pg_vulns} <= fixed
    assert "CVE-2024-7348" in fixed  # fixed in 16.4
    assert minor[0]["severity"] != "unknown"  # the rollup names a real severity
    assert old["databases"]["postgres"]["indexes"][0]["method"] == "hnsw"


def test_database_without_pgvector(recorded: tuple[dict[str, Any], Path, Result]) -> None:
    old = _target(recorded[0], "old")
    noext = old["databases"]["noext"]
    assert _kinds(noext["findings"]) == {"NOT_INSTALLED"}
    assert noext["pgvector"]["installed"] is False
    assert noext["pgvector"]["default_version"] == "0.6.2"


def test_catalog_behind_binary(recorded: tuple[dict[str, Any], Path, Result]) -> None:
    behind = _target(recorded[0], "behind")
    db = behind["databases"]["postgres"]
    assert db["pgvector"]["installed_version"] == "0.7.4"
    assert db["pgvector"]["default_version"] == "0.8.5"
    found = [f for f in db["findings"] if f["kind"] == "CATALOG_BEHIND_BINARY"]
    assert len(found) == 1
    assert found[0]["fix_version"] == "0.8.5" and found[0]["installed_version"] == "0.7.4"
    assert "ALTER EXTENSION vector UPDATE TO '0.8.5'" in found[0]["next_action"]
    # the library that runs is 0.8.5: 0.7.4-only advisories must not be reported
    assert "CVE-2026-3172" not in {f.get("id") for f in db["findings"]}


def test_current_pgvector_affected_not_exposed(
    recorded: tuple[dict[str, Any], Path, Result],
) -> None:
    current = _target(recorded[0], "current")
    assert current["server"]["version"] == "16.14"
    cve = _advisory(current["databases"]["postgres"]["findings"], "CVE-2026-18022")
    assert cve["affected"] is True and cve["exposed"] is False
    assert cve["severity"] == "info"


def test_schema_other_than_public(recorded: tuple[dict[str, Any], Path, Result]) -> None:
    current = _target(recorded[0], "current")
    assert current["databases"]["vecschema"]["pgvector"]["schema"] == "vec"
    assert current["databases"]["postgres"]["pgvector"]["schema"] == "public"


def test_replica(recorded: tuple[dict[str, Any], Path, Result]) -> None:
    replica = _target(recorded[0], "replica")
    assert replica["server"]["in_recovery"] is True
    assert "ON_REPLICA" in _kinds(replica["findings"])
    assert replica["databases"]["postgres"]["pgvector"]["installed_version"] == "0.8.5"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("wrong-password", "AUTH_FAILED"),
        ("closed-port", "UNREACHABLE"),
        ("no-privilege", "INSUFFICIENT_PRIVILEGE"),
    ],
)
def test_unscannable_targets(
    recorded: tuple[dict[str, Any], Path, Result], name: str, kind: str
) -> None:
    target = _target(recorded[0], name)
    assert target["reachable"] is False
    assert target["failure"]["kind"] == kind and target["failure"]["reason"]
    assert [f["kind"] for f in target["findings"]] == [kind]
    assert target["databases"] == {}


def test_history_has_the_run(recorded: tuple[dict[str, Any], Path, Result]) -> None:
    doc, db, _result = recorded
    assert doc["run_id"]
    with HistoryStore.open(f"sqlite:///{db}") as store:
        run = store.get_run(doc["run_id"])
        assert run is not None and run.kind == "scan" and run.status == "partial"
        rows = store.scan_results(doc["run_id"])
        findings = store.findings_for_run(doc["run_id"])
    scanned = {(r.target, r.database) for r in rows if r.reachable}
    assert {("old", "postgres"), ("old", "noext"), ("behind", "postgres")} <= scanned
    assert ("current", "vecschema") in scanned and ("replica", "postgres") in scanned
    unreachable = {r.target for r in rows if not r.reachable}
    assert unreachable == {"wrong-password", "closed-port", "no-privilege"}
    kinds = {(f.target, f.kind, f.advisory_id) for f in findings}
    assert ("old", "VULNERABLE", "CVE-2026-3172") in kinds
    assert ("behind", "CATALOG_BEHIND_BINARY", None) in kinds
    total = sum(
        len(t["findings"]) + sum(len(d["findings"]) for d in t["databases"].values())
        for t in doc["targets"]
    )
    assert len(findings) == total


# ----- the minimal targets file ----------------------------------------------------

MINIMAL = """\
[[targets]]
name = "orders"
environment = "production"
dsn = "postgresql://vecpatch@{host}:{port}/postgres"
password = "env:ORDERS_DB_PASSWORD"   # or "file:/run/secrets/orders", or omit to use .pgpass
databases = "all"
tags = ["eu"]
wave = 1
"""


def test_minimal_targets_file_discovers_databases(fleet: Fleet, tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(MINIMAL.format(host="127.0.0.1", port=fleet.current.port))
    doc = scan_json(fleet, "--targets", str(path))
    orders = _target(doc, "orders")
    assert orders["reachable"], orders["failure"]
    assert orders["environment"] == "production" and orders["tags"] == ["eu"]
    allowed = fleet.current.run_sql("SELECT datname FROM pg_database WHERE datallowconn")
    assert set(orders["databases"]) == {r[0] for r in allowed}
    assert "template1" in orders["databases"] and "template0" not in orders["databases"]
    assert orders["databases"]["postgres"]["privileges"]["role"] == "vecpatch"
    assert orders["databases"]["postgres"]["privileges"]["superuser"] is False


# ----- secrets ------------------------------------------------------------------------------


def test_passwords_never_leak(fleet: Fleet, targets_file: Path, tmp_path: Path) -> None:
    dsn = f"postgresql://sentinel:{DSN_SENTINEL}@127.0.0.1:{fleet.old.port}/postgres"
    bad_dsn = f"postgresql://postgres:{WRONG_SENTINEL}x@127.0.0.1:{fleet.old.port}/postgres"
    history = tmp_path / "h.db"
    args = [dsn, bad_dsn, "--targets", str(targets_file), "--history", f"sqlite:///{history}"]
    outputs = []
    for fmt in FORMATS:
        result = runner.invoke(
            app,
            ["-vv", "scan", *args, "--format", fmt],
            env={**fleet.env, "VECPATCH_TARGETS": ""},
            catch_exceptions=False,
        )
        assert result.exit_code == 1, result.output
        outputs.append(result.stdout + result.stderr)
    report = tmp_path / "r.json"
    runner.invoke(app, ["scan", *args, "-f", "json", "-o", str(report)], env=fleet.env)
    outputs.append(report.read_text())
    assert any("sentinel" in o for o in outputs)  # the sentinel role was scanned
    assert any("AUTH_FAILED" in o for o in outputs)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("h.db*"))
    for secret in (DSN_SENTINEL, ENV_SENTINEL, WRONG_SENTINEL):
        for text in outputs:
            assert secret not in text
        assert secret.encode() not in raw
    with sqlite3.connect(history) as conn:
        dump = "\n".join(conn.iterdump())
    assert DSN_SENTINEL not in dump and WRONG_SENTINEL not in dump


# ----- exit codes ---------------------------------------------------------------------------


def test_exit_codes_follow_thresholds(fleet: Fleet) -> None:
    current = f"{fleet.tcp(fleet.current)}?password={fleet.env['SBX_CURRENT_PW']}"
    base = [current, "--format", "json", "--no-history"]
    doc = json.loads(scan(fleet, *base, "--fail-on", "low").stdout)
    severities = {
        f["severity"]
        for t in doc["targets"]
        for f in t["findings"] + [g for d in t["databases"].values() for g in d["findings"]]
    }
    assert "critical" not in severities and "low" in severities
    assert scan(fleet, *base, "--fail-on", "low").exit_code == 1
    assert scan(fleet, *base, "--fail-on", "critical").exit_code == 0
    # NOT_INSTALLED (info, unfixable) never fails; neither do unfixable findings with --fixable-only
    noext = f"{fleet.tcp(fleet.old, 'noext')}?password={fleet.env['SBX_OLD_PW']}"
    assert scan(fleet, noext, "--no-history", "-f", "json").exit_code == 1  # PostgreSQL CVEs
    unfixable = [
        f
        for t in doc["targets"]
        for f in t["findings"] + [g for d in t["databases"].values() for g in d["findings"]]
        if not f["fixable"] and f["severity"] in {"low", "medium", "high", "critical"}
    ]
    fixable = [
        f
        for t in doc["targets"]
        for f in t["findings"] + [g for d in t["databases"].values() for g in d["findings"]]
        if f["fixable"] and f["severity"] in {"low", "medium", "high", "critical"}
    ]
    expected = 1 if fixable else 0
    assert scan(fleet, *base, "--fail-on", "low", "--fixable-only").exit_code == expected
    assert unfixable or fixable


def test_fixable_only_ignores_unfixable(fleet: Fleet) -> None:
    # the replica of 16.14/0.8.5: findings at >= low that have no fix make no failure
    replica = f"{fleet.tcp(fleet.replica)}?password={fleet.env['SBX_CURRENT_PW']}"
    doc = scan_json(fleet, replica)
    all_findings = [f for t in doc["targets"] for f in t["findings"]] + [
        f for t in doc["targets"] for d in t["databases"].values() for f in d["findings"]
    ]
    fixable_low = [f for f in all_findings if f["fixable"] and f["severity"] != "info"]
    code = scan(fleet, replica, "--no-history", "-f", "json", "--fail-on", "low", "--fixable-only")
    assert code.exit_code == (1 if fixable_low else 0)


def test_strict_exits_3_when_a_target_is_unreachable(fleet: Fleet) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{fleet.closed_port}/postgres?connect_timeout=2"
    current = f"{fleet.tcp(fleet.current)}?password={fleet.env['SBX_CURRENT_PW']}"
    args = [closed, current, "--no-history", "-f", "json", "--fail-on", "critical"]
    assert scan(fleet, *args).exit_code == 0
    assert scan(fleet, *args, "--strict").exit_code == 3


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point (error mapping to exit codes happens there)."""
    return subprocess.run(
        [sys.executable, "-m", "vecpatch", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    none = _cli("scan", "--no-history", env=env)
    assert none.returncode == 2 and "no targets" in none.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[[targets]]\nname = 'x'\nwave = 'soon'\n")
    broken = _cli("scan", "--targets", str(bad), "--no-history", env=env)
    assert broken.returncode == 2 and "wave" in broken.stderr


# ----- output formats -----------------------------------------------------------------------


def test_sarif_structure(fleet: Fleet, targets_file: Path) -> None:
    doc = json.loads(
        scan(fleet, "--targets", str(targets_file), "-f", "sarif", "--no-history").stdout
    )
    assert doc["version"] == "2.1.0" and doc["$schema"]
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "vecpatch"
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    assert run["results"]
    for result in run["results"]:
        assert result["ruleId"] in ids and ids[result["ruleIndex"]] == result["ruleId"]
        assert result["message"]["text"]
        assert result["level"] in SARIF_LEVELS
        loc = result["locations"][0]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "fleet.toml"
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
    for rule in rules:
        assert rule["defaultConfiguration"]["level"] in SARIF_LEVELS
        float(rule["properties"]["security-severity"])
    assert "CVE-2026-3172" in ids and "vecpatch/CATALOG_BEHIND_BINARY" in ids
    prints = [r["partialFingerprints"]["vecpatchFinding/v1"] for r in run["results"]]
    assert len(prints) == len(set(prints))


def test_junit_csv_markdown(fleet: Fleet, targets_file: Path) -> None:
    args = ["--targets", str(targets_file), "--no-history"]
    junit = ET.fromstring(scan(fleet, *args, "-f", "junit").stdout)
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    assert set(suites) == {
        "old",
        "behind",
        "current",
        "replica",
        "wrong-password",
        "closed-port",
        "no-privilege",
    }
    old_cases = {c.get("name"): c for c in suites["old"].iter("testcase")}
    assert old_cases["postgres"].find("failure") is not None
    assert old_cases["noext"].find("failure") is None
    assert suites["closed-port"].get("errors") == "1"

    rows = list(csv.DictReader(io.StringIO(scan(fleet, *args, "-f", "csv").stdout)))
    assert rows and {"target", "database", "kind", "severity"} <= set(rows[0])
    assert any(r["kind"] == "CATALOG_BEHIND_BINARY" and r["target"] == "behind" for r in rows)

    markdown = scan(fleet, *args, "-f", "markdown").stdout
    for name in ("postgres", "noext", "template1", "vecschema", "locked"):
        assert f"| {name} |" in markdown


def test_output_file_is_written_atomically(fleet: Fleet, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "scan.sarif"
    current = f"{fleet.tcp(fleet.current)}?password={fleet.env['SBX_CURRENT_PW']}"
    result = scan(fleet, current, "-f", "sarif", "-o", str(out), "--no-history")
    assert result.stdout == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert [p.name for p in out.parent.iterdir()] == ["scan.sarif"]


# ----- read-only manners --------------------------------------------------------------------


def test_probe_sessions_are_read_only(fleet: Fleet) -> None:
    req = ProbeRequest(target="t", conninfo=fleet.current.dsn())
    with psycopg.connect(session_conninfo(req, "postgres")) as conn:
        row = conn.execute(
            "SELECT current_setting('default_transaction_read_only'), "
            "current_setting('application_name')"
        ).fetchone()
        assert row == ("on", "vecpatch")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE t (x int)")


def test_scan_sends_only_reads(fleet: Fleet) -> None:
    sb = fleet.behind
    sb.run_sql("ALTER SYSTEM SET log_statement = 'all'")
    sb.run_sql("ALTER SYSTEM SET log_line_prefix = '%a|'")
    sb.run_sql("SELECT pg_reload_conf()")
    log = Path(sb.meta.log_file)
    start = log.stat().st_size
    try:
        result = scan(
            fleet,
            f"{fleet.tcp(sb)}?password={fleet.env['SBX_BEHIND_PW']}",
            "--no-history",
            "-f",
            "json",
        )
        assert result.exit_code in (0, 1)
    finally:
        sb.run_sql("ALTER SYSTEM RESET log_statement")
        sb.run_sql("ALTER SYSTEM RESET log_line_prefix")
        sb.run_sql("SELECT pg_reload_conf()")
    with log.open() as fh:
        fh.seek(start)
        text = fh.read()
    # entries start with "<application_name>|LEVEL:"; a statement may span several lines
    entries = re.split(r"^(?=[\w. -]*\|[A-Z]+:)", text, flags=re.MULTILINE)
    mine = [e for e in entries if e.startswith("vecpatch|LOG:  statement:")]
    ours = [e.split("statement:", 1)[1] for e in mine]
    assert ours
    for statement in ours:
        assert statement.strip().upper().startswith(("SELECT", "WITH", "SHOW")), statement
