"""The one atomic writer: whole files or none, and no temp file left when a write fails."""

from pathlib import Path

import pytest

from vecpatch.apply.evidence import write_bundle
from vecpatch.atomic import atomic_write


def test_writes_replaces_and_creates_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "report.json"
    atomic_write(path, "one")
    atomic_write(path, b"two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    blocker = tmp_path / "report.json"
    blocker.mkdir()  # the rename onto a directory fails, as a full disk would fail the write
    with pytest.raises(OSError):
        atomic_write(blocker, "text")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_evidence_goes_through_it(tmp_path: Path) -> None:
    (tmp_path / "evidence.json").mkdir()
    with pytest.raises(OSError):
        write_bundle(tmp_path, {"run_id": "r1", "outcome": "applied"}, ())
    assert [p.name for p in tmp_path.iterdir()] == ["evidence.json"]
