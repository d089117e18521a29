"""The soak judges only server-log lines written after the update's COMMIT."""

from __future__ import annotations

from datetime import UTC, datetime

from vecpatch.apply.soak import _after

COMMIT = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def test_lines_before_the_commit_are_ignored() -> None:
    old = '2026-11-25 10:59:59.123 UTC [12] ERROR:  could not find function "halfvec_in"'
    assert not _after(old, COMMIT)
    assert _after("2026-11-25 11:00:01.5 UTC [12] ERROR:  could not find function", COMMIT)


def test_unreadable_or_local_times_are_kept() -> None:
    assert _after("ERROR:  no timestamp prefix", COMMIT)
    assert _after("2026-11-25 10:00:00 CET [12] ERROR:  x", COMMIT)
