"""The bundled snapshot: package data checked against a sha256 manifest on every load.

The snapshot is the floor of vecpatch's knowledge when offline, so a silently edited
file would silently change findings; any mismatch is a hard, named error instead.
``VECPATCH_CATALOG_SNAPSHOT_DIR`` (or the ``directory`` argument) points elsewhere,
for tests and for air-gapped sites that ship their own snapshot.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vecpatch.catalog.document import CatalogFormatError, Document
from vecpatch.catalog.osv import parse_datetime
from vecpatch.errors import VecpatchError

CATALOG_FILE = "catalog.json"
MANIFEST_FILE = "manifest.json"
ENV_DIR = "VECPATCH_CATALOG_SNAPSHOT_DIR"


class SnapshotIntegrityError(VecpatchError):
    """The snapshot does not match its manifest (tampered, truncated or missing)."""


@dataclass(frozen=True)
class Snapshot:
    directory: Path
    generated_at: datetime
    document: Document
    sha256: dict[str, str]


def snapshot_dir(directory: Path | None = None) -> Path:
    """Where the snapshot is read from: argument, then env, then package data."""
    if directory is not None:
        return directory
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "data" / "catalog"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_snapshot(directory: Path | None = None) -> dict[str, str]:
    """Check every file named in the manifest; return ``{file: sha256}`` or raise."""
    base = snapshot_dir(directory)
    manifest_path = base / MANIFEST_FILE
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        files: dict[str, str] = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SnapshotIntegrityError(
            f"catalog snapshot manifest {manifest_path} is missing or unreadable: {exc}",
            hint="reinstall vecpatch, or rebuild with scripts/build_snapshot.py",
        ) from exc
    if CATALOG_FILE not in files:
        raise SnapshotIntegrityError(f"{manifest_path} does not list {CATALOG_FILE}")
    for name, expected in files.items():
        path = base / name
        if Path(name).name != name:
            raise SnapshotIntegrityError(
                f"{manifest_path} names a path outside the snapshot: {name}"
            )
        try:
            actual = _sha256(path)
        except OSError as exc:
            raise SnapshotIntegrityError(f"catalog snapshot file {path} is missing") from exc
        if actual != expected:
            raise SnapshotIntegrityError(
                f"catalog snapshot file {path} does not match its manifest "
                f"(sha256 {actual[:12]}…, expected {str(expected)[:12]}…): it was modified",
                hint="reinstall vecpatch, or rebuild with scripts/build_snapshot.py",
            )
    return files


def load_snapshot(directory: Path | None = None) -> Snapshot:
    """Verify, then read the snapshot document."""
    base = snapshot_dir(directory)
    sums = verify_snapshot(base)
    try:
        doc: Document = json.loads((base / CATALOG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogFormatError(f"cannot read {base / CATALOG_FILE}: {exc}") from exc
    generated = parse_datetime(doc.get("generated_at"))
    if generated is None:
        raise CatalogFormatError(f"{base / CATALOG_FILE} has no generated_at date")
    return Snapshot(base, generated, doc, sums)


def write_snapshot(directory: Path, doc: Document) -> Path:
    """Write the document and its manifest (used by the build script)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    (directory / CATALOG_FILE).write_text(data, encoding="utf-8")
    manifest = {
        "format": 1,
        "generated_at": doc["generated_at"],
        "files": {CATALOG_FILE: _sha256(directory / CATALOG_FILE)},
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return directory
