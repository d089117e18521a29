"""The local catalog cache and the one entry point, :func:`load_catalog`.

Layout under ``state_dir()/catalog`` (``VECPATCH_STATE`` moves it)::

    cache.json      merged knowledge from live feeds (catalog document format)
    manifest.json   sha256 of cache.json, checked on load and by ``catalog verify``
    quarantine.json changes held until a second source or ``--accept`` confirms them
    previous.json   the cache as it was before the last update, for ``catalog diff``
    http.json       ETag / Last-Modified per URL, for conditional requests
    responses/      last good body per URL (reused on 304)
    .lock           file lock serialising writers

Every write goes to a temporary file in the same folder and is moved into place
with ``os.replace`` while holding the lock, so readers never see half a file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

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
from vecpatch.errors import VecpatchError

CACHE_FILE = "cache.json"
PREVIOUS_FILE = "previous.json"
HTTP_FILE = "http.json"
MANIFEST_FILE = "manifest.json"
QUARANTINE_FILE = "quarantine.json"
LOCK_WAIT = 120.0


class CatalogBusyError(VecpatchError):
    """Another update held the catalog lock for longer than we wait."""


class CacheIntegrityError(VecpatchError):
    """The local cache does not match its manifest."""


def cache_root(root: Path | None = None) -> Path:
    return root if root is not None else paths.state_dir() / "catalog"


@contextmanager
def waiting_lock(
    root: Path | None = None,
    on_wait: Callable[[str], None] | None = None,
    timeout: float = LOCK_WAIT,
) -> Iterator[None]:
    """The writers' lock; if another update holds it, say so and wait (bounded)."""
    path = cache_root(root) / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    held = FileLock(str(path))
    try:
        held.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait(f"another catalog update is running ({path}); waiting up to {timeout:g}s")
        try:
            held.acquire(timeout=timeout)
        except Timeout:
            raise CatalogBusyError(
                f"another catalog update still holds {path} after {timeout:g}s",
                hint="let it finish, or remove the lock file if no vecpatch process is running",
            ) from None
    try:
        yield
    finally:
        held.release()


def write_cache(root: Path | None, doc: Document) -> None:
    """Write cache.json and then its manifest (a reader checks one against the other)."""
    base = cache_root(root)
    data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")
    atomic_write(base / CACHE_FILE, data)
    manifest = {"format": 1, "files": {CACHE_FILE: hashlib.sha256(data).hexdigest()}}
    write_json(base / MANIFEST_FILE, manifest)


def verify_cache(root: Path | None = None) -> dict[str, str] | None:
    """``{file: sha256}`` of a cache that matches its manifest; None when there is no cache.

    A cache without a manifest (written by an older vecpatch) is accepted as-is.
    """
    base = cache_root(root)
    try:
        data = (base / CACHE_FILE).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheIntegrityError(
            f"catalog cache {base / CACHE_FILE} is unreadable: {exc}"
        ) from exc
    manifest = read_json(base / MANIFEST_FILE)
    actual = hashlib.sha256(data).hexdigest()
    if manifest is None:
        return {CACHE_FILE: actual}
    expected = (manifest.get("files") or {}).get(CACHE_FILE) if isinstance(manifest, dict) else None
    if expected != actual:
        raise CacheIntegrityError(
            f"catalog cache {base / CACHE_FILE} does not match its manifest "
            f"(sha256 {actual[:12]}…, expected {str(expected)[:12]}…): it was modified",
            hint=f"delete {base / CACHE_FILE} and run `vecpatch catalog update`",
        )
    return {CACHE_FILE: actual}


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
    verify_cache(root)
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
