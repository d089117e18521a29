"""``catalog update``: run the feeds and merge what they found into the local cache.

Knowledge never goes backwards: a failing source is reported as skipped and the
previous data stays; a bad record is skipped, not the feed; implausible changes wait
for a second source; the merged result must load as a valid catalog before it is
written; writes are atomic, carry a sha256 manifest, and are serialised by a file
lock that a second update waits for with a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vecpatch.atomic import atomic_write
from vecpatch.catalog.document import (
    CatalogFormatError,
    Changes,
    Document,
    catalog_from_document,
    distro_package_from_dict,
    empty_document,
    merge_documents,
    release_from_dict,
)
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.osv import OsvError, advisory_from_osv
from vecpatch.catalog.sanitize import clean_id, clean_text
from vecpatch.catalog.sanity import Held, confirmed, screen
from vecpatch.catalog.sources.cve5 import CveRecords, PgwebCveRecords
from vecpatch.catalog.sources.debian import DistroArchives, DistroFiles
from vecpatch.catalog.sources.github import GitHubAdvisories, GitHubTags
from vecpatch.catalog.sources.http import FeedClient, HttpCache
from vecpatch.catalog.sources.interface import SkippedSource, Source, SourceResult
from vecpatch.catalog.sources.nvd import NvdKeyword
from vecpatch.catalog.sources.osv_api import OsvById
from vecpatch.catalog.sources.osv_files import OsvFiles
from vecpatch.catalog.sources.pgxn import PgxnDist
from vecpatch.catalog.sources.postgresql_org import PostgresVersions
from vecpatch.catalog.store import (
    HTTP_FILE,
    LOCK_WAIT,
    PREVIOUS_FILE,
    QUARANTINE_FILE,
    cache_root,
    merged_document,
    read_cache,
    read_json,
    waiting_lock,
    write_cache,
    write_json,
)
from vecpatch.catalog.versions import VersionError

SOURCE_TYPES: dict[str, type[Source]] = {
    s.name: s
    for s in (
        GitHubTags,
        GitHubAdvisories,
        PgxnDist,
        PostgresVersions,
        CveRecords,
        PgwebCveRecords,
        OsvById,
        NvdKeyword,
        DistroArchives,
    )
}


@dataclass
class UpdateReport:
    fetched: list[str] = field(default_factory=list)
    skipped: list[SkippedSource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)
    held: list[Held] = field(default_factory=list)
    """Implausible changes kept out until confirmed (see :mod:`vecpatch.catalog.sanity`)."""
    released: list[str] = field(default_factory=list)


def default_sources(
    base_urls: Mapping[str, str] | None = None,
    osv_locations: Sequence[str] = (),
    distro_files: Sequence[str] = (),
) -> list[Source]:
    """Every built-in feed, with per-source base URL overrides (mirrors).

    The distro feed reads the archives of the host's apt sources unless
    ``distro=URL`` names a mirror; local files come on top of the live feeds.
    """
    urls = base_urls or {}
    sources: list[Source] = [cls(urls.get(name)) for name, cls in SOURCE_TYPES.items()]
    if osv_locations:
        sources.append(OsvFiles(list(osv_locations)))
    if distro_files:
        sources.append(DistroFiles(list(distro_files)))
    return sources


def _release_note(source: str, rel: object, exc: Exception) -> str:
    raw = rel if isinstance(rel, dict) else {}
    if isinstance(exc, KeyError):
        what = f"field {exc.args[0]!r} missing"
    else:
        name = "version" if isinstance(exc, VersionError) else "product/date"
        what = f"field '{name}': {getattr(exc, 'message', exc)}"
    label = clean_text(raw.get("version"), 40) or "?"
    return f"{source}: skipped release {label!r} ({what})"


def fragment_from_result(result: SourceResult, now: datetime) -> tuple[Document, list[str]]:
    """Keep only entries that parse; say what was dropped, naming the feed and the field."""
    doc = empty_document()
    notes: list[str] = []
    for rel in result.releases:
        try:
            release_from_dict(rel)
            doc["releases"].append(rel)
        except (KeyError, TypeError, ValueError, VersionError) as exc:
            notes.append(_release_note(result.source, rel, exc))
    for adv in result.advisories:
        try:
            advisory_from_osv(adv)
            doc["advisories"].append(adv)
        except OsvError as exc:
            notes.append(f"{result.source}: skipped advisory: {exc.message}")
    for pkg in result.distro_packages:
        try:
            distro_package_from_dict(pkg)
            doc["distro_packages"].append(pkg)
        except (KeyError, TypeError, ValueError) as exc:
            notes.append(f"{result.source}: skipped a distro package ({exc})")
    doc["majors"] = {
        str(k): v for k, v in result.majors.items() if isinstance(v, dict) and clean_id(k)
    }
    doc["sources"] = {result.source: now.isoformat()}
    return doc, notes


@dataclass(frozen=True)
class Limits:
    """Time budgets: each feed, and the whole update (seconds; None is unbounded)."""

    feed_deadline: float | None = 120.0
    update_deadline: float | None = 600.0
    lock_wait: float = LOCK_WAIT


def _feed_deadline(limits: Limits, update_end: float | None) -> float | None:
    ends = [e for e in (update_end,) if e is not None]
    if limits.feed_deadline is not None:
        ends.append(time.monotonic() + limits.feed_deadline)
    return min(ends) if ends else None


def _merge(
    merged: Document, fragment: Document, now: datetime, report: UpdateReport
) -> Document | None:
    """Merge one fragment, or None when the result would not load (it is then left out)."""
    candidate, changes = merge_documents(merged, fragment, today=now.date())
    try:
        catalog_from_document(candidate)
    except CatalogFormatError as exc:
        report.notes.append(f"left out a change that would not load: {exc.message}")
        return None
    for name in ("new_releases", "changed_releases", "new_advisories", "changed_advisories"):
        getattr(report.changes, name).extend(getattr(changes, name))
    return candidate


def _run_source(
    source: Source,
    client: FeedClient,
    known: Catalog,
    merged: Document,
    now: datetime,
    report: UpdateReport,
) -> Document:
    result = source.fetch(client, known)
    if isinstance(result, SkippedSource):
        report.skipped.append(result)
        return merged
    fragment, notes = fragment_from_result(result, now)
    screened = screen(fragment, known, now, source.name)
    report.notes += [*result.notes, *result.rejected, *notes, *screened.notes]
    report.held += screened.held
    candidate = _merge(merged, screened.fragment, now, report)
    if candidate is None:
        report.skipped.append(SkippedSource(source.name, "its data would not load"))
        return merged
    report.fetched.append(source.name)
    suspect = bool(result.rejected or notes or screened.notes or screened.held)
    if (screened.records or screened.fragment["majors"]) and not suspect:
        # only a feed that returned data, all of it sound, vouches for the catalog's currency
        candidate["checked_at"] = {
            **(candidate.get("checked_at") or {}),
            source.name: now.isoformat(),
        }
    else:
        why = "returned records that were skipped or held" if suspect else "returned nothing"
        report.notes.append(f"{source.name}: {why}; the catalog's age is unchanged")
    return candidate


def _release_held(
    merged: Document, pending: list[Held], now: datetime, report: UpdateReport, accept: bool
) -> tuple[Document, list[Held]]:
    ok, still = confirmed(pending)
    if accept:
        ok, still = pending, []
    for item in ok:
        doc = {**empty_document(), **item.fragment}
        candidate = _merge(merged, doc, now, report)
        if candidate is not None:
            merged = candidate
            how = "accepted" if accept else "confirmed by a second source"
            report.released.append(f"{item.key} ({how}: {item.reason})")
    return merged, still


def run_update(
    sources: Sequence[Source],
    client: FeedClient,
    *,
    now: datetime,
    root: Path | None = None,
    snapshot: Path | None = None,
    limits: Limits | None = None,
    accept: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Run the feeds and merge what passes the checks; a feed can never abort the update.

    Per record: bad records are skipped with a note. Per feed: a deadline, and
    implausible changes are held (:mod:`.sanity`) until a second source confirms them
    or ``accept``. The catalog's age moves only for feeds that returned data.
    """
    limits = limits or Limits()
    report = UpdateReport()
    base = cache_root(root)
    update_end = (
        time.monotonic() + limits.update_deadline if limits.update_deadline is not None else None
    )
    with waiting_lock(root, on_wait, limits.lock_wait):
        known = catalog_from_document(merged_document(root, snapshot))
        cache: Document = read_cache(root) or empty_document()
        validators = read_json(base / HTTP_FILE) or {}
        client.cache = HttpCache(base / "responses", dict(validators))
        merged = cache
        for source in sources:
            client.deadline = _feed_deadline(limits, update_end)
            merged = _run_source(source, client, known, merged, now, report)
        client.deadline = None
        previous = [Held(**h) for h in read_json(base / QUARANTINE_FILE) or [] if _held_ok(h)]
        fresh = {(h.fingerprint, h.source) for h in report.held}
        pending = [*report.held, *(h for h in previous if (h.fingerprint, h.source) not in fresh)]
        merged, still = _release_held(merged, pending, now, report, accept)
        report.held = still
        write_json(base / QUARANTINE_FILE, [h.as_dict() for h in still])
        if report.fetched or report.released:
            merged["generated_at"] = now.isoformat()
            write_json(base / PREVIOUS_FILE, cache)
            write_cache(root, merged)
        for url, body in client.fresh_bodies.items():
            path = client.cache.body_path(url)
            if path is not None:
                atomic_write(path, body)
        write_json(base / HTTP_FILE, client.cache.validators)
    return report


def _held_ok(raw: object) -> bool:
    return isinstance(raw, dict) and set(raw) == {"source", "key", "reason", "fragment", "claim"}


def diff_since_update(root: Path | None = None) -> Changes:
    """What the last update added or changed (cache vs the cache before it)."""
    current: Any = read_cache(root) or empty_document()
    previous: Any = read_json(cache_root(root) / PREVIOUS_FILE) or empty_document()
    _, changes = merge_documents(previous, current, today=datetime.now().date())
    return changes
