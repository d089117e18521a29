from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from vecpatch.catalog.facts import ServerFacts
from vecpatch.catalog.ignores import (
    IgnoreEntry,
    IgnoreFileError,
    Judgement,
    apply_ignores,
    judge,
    load_ignores,
)
from vecpatch.catalog.match import match
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.versions import PgvectorVersion

from .conftest import NOW


def _matches(catalog: Catalog):  # type: ignore[no-untyped-def]
    return match(catalog, ServerFacts(pgvector_version=PgvectorVersion.parse("0.7.4")), now=NOW)


def test_apply_by_alias_target_and_expiry(catalog: Catalog) -> None:
    live = IgnoreEntry("GHSA-789c-mgqf-5hwx", "ok", date(2027, 1, 1), "prod-*")
    out = apply_ignores(_matches(catalog), [live], "prod-eu", NOW)
    assert [m.id for m, _ in out.muted] == ["CVE-2026-3172"]
    out = apply_ignores(_matches(catalog), [live], "staging", NOW)
    assert not out.muted
    expired = IgnoreEntry("CVE-2026-3172", "ok", date(2026, 1, 1))
    out = apply_ignores(_matches(catalog), [expired], "x", NOW)
    assert [m.id for m, _ in out.reopened] == ["CVE-2026-3172"]
    assert "CVE-2026-3172" in [m.id for m in out.active]


def test_rejects_missing_reason_or_expiry(tmp_path: Path) -> None:
    f = tmp_path / "ignores.yaml"
    f.write_text(
        "ignore:\n  - id: CVE-1\n    reason: fine\n    expires: 2027-01-01\n"
        "  - id: CVE-2\n    expires: 2027-01-01\n  - id: CVE-3\n    reason: x\n"
    )
    with pytest.raises(IgnoreFileError) as exc:
        load_ignores(f)
    assert f"{f}: entry 2 (CVE-2): missing or invalid reason" in exc.value.message
    assert f"{f}: entry 3 (CVE-3): missing or invalid expires" in exc.value.message


def test_toml(tmp_path: Path) -> None:
    f = tmp_path / "i.toml"
    f.write_text('[[ignore]]\nid = "CVE-9"\nreason = "r"\nexpires = 2027-02-03\ntarget = "db*"\n')
    [e] = load_ignores(f)
    assert (e.id, e.expires, e.target) == ("CVE-9", date(2027, 2, 3), "db*")


def test_one_rule_for_kinds_databases_and_the_longest_acceptance() -> None:
    today = date(2026, 6, 1)
    short = IgnoreEntry("OUTDATED", "later", date(2026, 7, 1), "prod-*/app")
    long = IgnoreEntry("OUTDATED", "much later", date(2026, 12, 1), "prod-eu")
    assert judge([short], {"OUTDATED"}, "prod-eu", "app", today).muted_by == short
    assert judge([short], {"OUTDATED"}, "prod-eu", "other", today) == Judgement()
    assert judge([short, long], {"OUTDATED"}, "prod-eu", "app", today).muted_by == long
    lapsed = judge([short], {"OUTDATED"}, "prod-eu", "app", date(2026, 8, 1))
    assert lapsed == Judgement(expired=short)
