"""``catalog update``: run the feeds and merge what they found into the local cache.

Knowledge never goes backwards: a failing source is reported as skipped and the
previous data stays; the merged result must load as a valid catalog before it is
written; writes are atomic and serialised by a file lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vecpatch.atomic import atomic_write
from vecpatch.catalog.document import (
    Changes,
    Document,
    catalog_from_document,
    distro_package_from_dict,
    empty_document,
    merge_documents,
    release_from_dict,
)
from vecpatch.catalog.osv import OsvError, advisory_from_osv
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
    CACHE_FILE,
    HTTP_FILE,
    PREVIOUS_FILE,
    cache_root,
    lock,
    merged_document,
    read_cache,
    read_json,
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


def fragment_from_result(result: SourceResult, now: datetime) -> tuple[Document, list[str]]:
    """Keep only entries that parse; say what was dropped."""
    doc = empty_document()
    notes: list[str] = []
    for rel in result.releases:
        try:
            release_from_dict(rel)
            doc["releases"].append(rel)
        except (KeyError, ValueError, VersionError) as exc:
            notes.append(f"{result.source}: dropped a release ({exc})")
    for adv in result.advisories:
        try:
            advisory_from_osv(adv)
            doc["advisories"].append(adv)
        except OsvError as exc:
            notes.append(f"{result.source}: dropped {exc.message}")
    for pkg in result.distro_packages:
        try:
            distro_package_from_dict(pkg)
            doc["distro_packages"].append(pkg)
        except (KeyError, TypeError, ValueError) as exc:
            notes.append(f"{result.source}: dropped a distro package ({exc})")
    doc["majors"] = result.majors
    doc["sources"] = {result.source: now.isoformat()}
    return doc, notes


def run_update(
    sources: Sequence[Source],
    client: FeedClient,
    *,
    now: datetime,
    root: Path | None = None,
    snapshot: Path | None = None,
) -> UpdateReport:
    report = UpdateReport()
    base = cache_root(root)
    with lock(root):
        known = catalog_from_document(merged_document(root, snapshot))
        cache: Document = read_cache(root) or empty_document()
        validators = read_json(base / HTTP_FILE) or {}
        client.cache = HttpCache(base / "responses", dict(validators))
        merged = cache
        for source in sources:
            result = source.fetch(client, known)
            if isinstance(result, SkippedSource):
                report.skipped.append(result)
                continue
            fragment, notes = fragment_from_result(result, now)
            report.notes += [*result.notes, *notes]
            candidate, changes = merge_documents(merged, fragment, today=now.date())
            catalog_from_document(candidate)  # never keep a cache that will not load
            merged = candidate
            report.fetched.append(source.name)
            for name in (
                "new_releases",
                "changed_releases",
                "new_advisories",
                "changed_advisories",
            ):
                getattr(report.changes, name).extend(getattr(changes, name))
        if report.fetched:
            merged["generated_at"] = now.isoformat()
            write_json(base / PREVIOUS_FILE, cache)
            write_json(base / CACHE_FILE, merged)
        for url, body in client.fresh_bodies.items():
            path = client.cache.body_path(url)
            if path is not None:
                atomic_write(path, body)
        write_json(base / HTTP_FILE, client.cache.validators)
    return report


def diff_since_update(root: Path | None = None) -> Changes:
    """What the last update added or changed (cache vs the cache before it)."""
    current: Any = read_cache(root) or empty_document()
    previous: Any = read_json(cache_root(root) / PREVIOUS_FILE) or empty_document()
    _, changes = merge_documents(previous, current, today=datetime.now().date())
    return changes
