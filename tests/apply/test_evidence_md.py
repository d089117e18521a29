"""``evidence.md`` opens with the summary a change review asks for and uses tables: no JSON
blobs, no ``None``, no section for a database the run did not touch."""

from __future__ import annotations

from pathlib import Path

from vecpatch.apply.evidence import write_bundle

DOC = {
    "run_id": "r-1", "kind": "apply", "outcome": "applied", "exit_code": 0,
    "started_at": "2026-12-01T10:00:00+00:00", "finished_at": "2026-12-01T10:00:42.5+00:00",
    "options": {"to": "0.8.5", "soak": 15, "yes": True, "backup": "schema"},
    "notes": [],
    "databases": [
        {"target": "prod", "database": "app", "from": "0.7.4", "to": "0.8.5",
         "outcome": "applied", "reasons": [], "warnings": ["2 sessions predate the package"],
         "next_steps": [], "committed_at": "2026-12-01T10:00:20+00:00",
         "steps": [{"name": "update", "outcome": "ok", "duration_seconds": 0.31,
                    "detail": {"statements": 1}}],
         "checks": [{"name": "extversion", "ok": True, "detail": "0.8.5", "skipped": False}],
         "sql": ["ALTER EXTENSION vector UPDATE TO '0.8.5'"],
         "backup": {"kind": "schema", "path": "/var/backups/r-1/app.dump"},
         "stale_sessions": [], "soak": {"seconds": 15, "errors": 0}},
        {"target": "prod", "database": "template1", "from": None, "to": None,
         "outcome": "nothing", "reasons": [], "warnings": [], "next_steps": [], "steps": [],
         "checks": [], "sql": [], "backup": None, "stale_sessions": [], "soak": None},
    ],
}  # fmt: skip


def test_evidence_opens_with_a_summary_and_uses_tables(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "ev", DOC, ())
    text = (folder / "evidence.md").read_text()
    head = text.split("## Databases")[0]
    assert text.startswith("# vecpatch apply r-1")
    for expected in ("| Outcome | **applied** |", "2026-12-01 10:00:00 UTC", "42.5 s",
                     "| Operator |", "| Targets | prod |", "0.7.4 → 0.8.5",
                     "`vecpatch rollback r-1 --targets FILE`"):  # fmt: skip
        assert expected in head, expected
    assert "| prod/template1 | not changed | nothing |" in text
    assert "## prod/template1" not in text and "None" not in text
    assert "| update | ok | 0.3 s | statements: 1 |" in text
    assert "| soak | 15 |" in text and "{" not in text.split("```sql")[0]


def test_a_refusal_names_its_reason_and_offers_no_rollback(tmp_path: Path) -> None:
    refused = {**DOC, "outcome": "refused", "databases": [
        {**DOC["databases"][0], "outcome": "refused", "committed_at": None, "steps": [],
         "reasons": ["pgvector 0.8.5 is not on disk"]}]}  # fmt: skip
    text = (write_bundle(tmp_path / "ev", refused, ()) / "evidence.md").read_text()
    assert "| prod/app | 0.7.4 → 0.8.5 | refused | pgvector 0.8.5 is not on disk |" in text
    assert "vecpatch rollback" not in text
