"""The local catalog cache and the one entry point, :func:`load_catalog`.

Layout under ``state_dir()/catalog`` (``VECPATCH_STATE`` moves it)::

    cache.json      merged knowledge from live feeds (catalog document format)
    previous.json   the cache as it was before the last update, for ``catalog diff``
    http.json       ETag / Last-Modified per URL, for conditional requests
    responses/      last good body per URL (reused on 304)
    .lock           file lock serialising writers

Every write goes to a temporary file in the same folder and is moved into place
with ``os.replace`` while holding the lock, so readers never see half a file.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from filelock import FileLock

from vecpatch import paths
from vecpatch.atomic import atomic_write
from vecpatch.catalog.document import (
    CatalogFormatError,
    Document,
    catalog_from_document,
    merge_documents,
)
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.snapshot import load_snapshot

CACHE_FILE = "cache.json"
PREVIOUS_FILE = "previous.json"
HTTP_FILE = "http.json"


def cache_root(root: Path | None = None) -> Path:
    return root if root is not None else paths.state_dir() / "catalog"


def lock(root: Path | None = None, timeout: float = 30.0) -> AbstractContextManager[Any]:
    base = cache_root(root)
    base.mkdir(parents=True, exist_ok=True)
    return FileLock(str(base / ".lock"), timeout=timeout)


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def read_json(path: Path) -> Any:
    """A JSON file's value, or None when it is absent."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CatalogFormatError(
            f"catalog cache file {path} is unreadable: {exc}",
            hint=f"delete {path} and run `vecpatch catalog update`",
        ) from exc


def read_cache(root: Path | None = None) -> Document | None:
    value = read_json(cache_root(root) / CACHE_FILE)
    return value if isinstance(value, dict) else None


def merged_document(root: Path | None = None, snapshot: Path | None = None) -> Document:
    """Snapshot with the cache merged over it (the cache can only add or update)."""
    snap = load_snapshot(snapshot)
    cached = read_cache(root)
    if cached is None:
        return snap.document
    doc, _ = merge_documents(snap.document, cached, today=snap.generated_at.date())
    return doc


def load_catalog(
    offline: bool = True, *, root: Path | None = None, snapshot: Path | None = None
) -> Catalog:
    """The catalog every other module uses: verified snapshot + local cache.

    Loading never touches the network; ``offline`` is accepted for symmetry with
    the CLI (live data arrives only through ``vecpatch catalog update``, which
    fills the cache this reads).
    """
    del offline
    snap = load_snapshot(snapshot)
    cached = read_cache(root)
    doc = snap.document
    if cached is not None:
        doc, _ = merge_documents(doc, cached, today=snap.generated_at.date())
    return catalog_from_document(doc, snapshot_generated_at=snap.generated_at)
