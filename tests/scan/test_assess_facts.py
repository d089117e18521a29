"""The assessment as a pure function: constructed facts + the bundled catalog + a chosen time.

Covers the kinds that sandboxes cannot produce cheaply (end of life, missing update paths,
unsupported majors) and how muted findings weigh on ``--fail-on``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from vecpatch.assess import AssessOptions, assess_target
from vecpatch.catalog import queries as cq
from vecpatch.catalog.ignores import IgnoreEntry
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.store import load_catalog
from vecpatch.findings import Finding, FindingKind
from vecpatch.probe.facts import (
    DatabaseFailure,
    Failure,
    FailureKind,
    UpdatePath,
)
from vecpatch.report.model import SCHEMA_VERSION, TargetReport, failing
from vecpatch.scan import ScanOptions, assess, ignore_muter

from ..builders import NOW, database, server, target


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The verified snapshot alone (an empty cache root: no live data)."""
    return load_catalog(root=tmp_path_factory.mktemp("no-cache"))


def kinds(report: TargetReport) -> list[FindingKind]:
    return [f.kind for f in report.all_findings()]


def only(report: TargetReport, kind: FindingKind) -> Finding:
    found = [f for f in report.all_findings() if f.kind is kind]
    assert len(found) == 1, kinds(report)
    return found[0]


def test_eol_and_eol_soon_follow_the_clock(catalog: Catalog) -> None:
    eol = cq.eol_status(catalog, "16", NOW.date()).eol_date
    assert isinstance(eol, date)
    at = target(server("16.14"), database())
    before = datetime.combine(eol - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
    after = datetime.combine(eol + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert FindingKind.PG_EOL not in kinds(assess_target(at, catalog, NOW))
    soon = only(assess_target(at, catalog, before), FindingKind.PG_EOL_SOON)
    assert soon.severity == "medium" and soon.database is None and not soon.fixable
    gone = only(assess_target(at, catalog, after), FindingKind.PG_EOL)
    assert gone.severity == "high" and "major upgrade" in gone.next_action
    wider = assess_target(at, catalog, NOW, AssessOptions(eol_soon_days=100 * 365))
    assert FindingKind.PG_EOL_SOON in kinds(wider)


def test_a_major_past_its_end_of_life(catalog: Catalog) -> None:
    report = assess_target(target(server("13.22"), database("0.8.5")), catalog, NOW)
    assert only(report, FindingKind.PG_EOL).installed_version == "13.22"


def test_no_update_path_when_files_are_older_than_the_catalog(catalog: Catalog) -> None:
    report = assess_target(target(server(), database("0.8.5", "0.8.1")), catalog, NOW)
    finding = only(report, FindingKind.NO_UPDATE_PATH)
    assert finding.severity == "high" and finding.fix_version is None and not finding.fixable
    assert FindingKind.CATALOG_BEHIND_BINARY not in kinds(report)


def test_no_update_path_when_no_script_chain(catalog: Catalog) -> None:
    report = assess_target(target(server(), database("0.7.4", "0.8.5")), catalog, NOW)
    assert only(report, FindingKind.NO_UPDATE_PATH).severity == "medium"
    with_path = database("0.7.4", "0.8.5", (UpdatePath("0.8.5", ("0.7.4", "0.8.0", "0.8.5")),))
    behind = only(
        assess_target(target(server(), with_path), catalog, NOW),
        FindingKind.CATALOG_BEHIND_BINARY,
    )
    assert behind.fix_version == "0.8.5" and "0.7.4 -> 0.8.0 -> 0.8.5" in behind.reasons[0]


def test_unsupported_combination(catalog: Catalog) -> None:
    newer = assess_target(target(server("18.4"), database("0.6.2", "0.6.2")), catalog, NOW)
    finding = only(newer, FindingKind.UNSUPPORTED_COMBINATION)
    assert finding.severity == "medium" and "18" in finding.title
    older = assess_target(target(server("11.22"), database("0.8.5", "0.8.5")), catalog, NOW)
    assert only(older, FindingKind.UNSUPPORTED_COMBINATION).severity == "high"
    fine = assess_target(target(server("16.14"), database("0.8.5", "0.8.5")), catalog, NOW)
    assert FindingKind.UNSUPPORTED_COMBINATION not in kinds(fine)


def test_replica_not_installed_and_failures(catalog: Catalog) -> None:
    base = target(server(replica=True), database(None, "0.8.5", name="plain"))
    failed = DatabaseFailure("locked", Failure(FailureKind.INSUFFICIENT_PRIVILEGE, "denied"))
    report = assess_target(replace(base, failed_databases=(failed,)), catalog, NOW)
    assert only(report, FindingKind.ON_REPLICA).database is None
    assert only(report, FindingKind.NOT_INSTALLED).database == "plain"
    assert only(report, FindingKind.INSUFFICIENT_PRIVILEGE).database == "locked"
    down = replace(base, server=None, databases=(), failure=Failure(FailureKind.CONFIG, "x"))
    assert kinds(assess_target(down, catalog, NOW)) == [FindingKind.UNREACHABLE]


def test_minor_behind_names_a_real_severity(catalog: Catalog) -> None:
    report = assess_target(target(server("16.2"), database("0.6.2", "0.6.2")), catalog, NOW)
    minor = only(report, FindingKind.PG_MINOR_BEHIND)
    assert minor.severity in {"low", "medium", "high", "critical"}
    assert minor.fix_version is not None and minor.reasons


def test_unreadable_settings_are_unknown_not_empty(catalog: Catalog) -> None:
    hidden = replace(server("16.2"), shared_preload_libraries=None)
    report = assess_target(target(hidden, database("0.6.2", "0.6.2")), catalog, NOW)
    assert FindingKind.VULNERABLE in kinds(report)


def test_muted_findings_do_not_fail(catalog: Catalog) -> None:
    probed = target(server("16.2"), database("0.6.2", "0.6.2"))
    plain = assess([probed], catalog, NOW, ScanOptions())
    assert failing(plain, "high")
    entries = [
        IgnoreEntry(id=f.id or f.kind.value, reason="accepted", expires=date(2099, 1, 1))
        for f in plain.findings()
    ]
    mute, _reopened = ignore_muter(entries, NOW)
    muted = assess([probed], catalog, NOW, ScanOptions(), mute=mute)
    assert all(f.muted for f in muted.findings(include_muted=True))
    assert list(muted.findings()) == []
    assert failing(muted, "low") == []


def test_fixable_only_keeps_fixable(catalog: Catalog) -> None:
    report = assess(
        [target(server("11.22"), database("0.8.5", "0.8.5"))], catalog, NOW, ScanOptions()
    )
    unfixable = [f for f in failing(report, "medium") if not f.fixable]
    assert unfixable  # PG_EOL and UNSUPPORTED_COMBINATION have no fix version
    assert all(f.fixable for f in failing(report, "medium", fixable_only=True))


def test_json_doc_names_every_finding_field_and_kind() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "scan-json.md").read_text()
    fields = [f.name for f in dataclasses.fields(Finding)]
    assert all(f"| `{name}` |" in doc for name in fields), fields
    assert all(f"`{kind.value}`" in doc for kind in FindingKind)
    assert f'"schema_version": "{SCHEMA_VERSION}"' in doc
