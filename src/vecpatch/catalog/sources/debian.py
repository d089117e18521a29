"""Distro archives (Debian, Ubuntu) as a feed: what each suite ships, when, fixing what.

Online, each suite's ``Packages`` index names the ``postgresql-NN`` and
``postgresql-NN-pgvector`` versions it ships; the package's ``.deb`` (checked
against the index's size and SHA-256) carries ``changelog.Debian.gz``, whose
uploads date each version and list the CVEs it fixes. Offline, the same facts
come from ``.deb`` files, changelog files and ``Packages`` files given by path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecpatch.catalog.aptsources import Archive, default_archives
from vecpatch.catalog.debformat import (
    DebFormatError,
    IndexEntry,
    changelog_from_deb,
    decompress,
    parse_changelog,
    parse_packages,
)
from vecpatch.catalog.distro import (
    Fragment,
    Observation,
    build_fragment,
    distro_of,
    distro_package_to_dict,
    wanted_package,
)
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.sources.http import FeedClient, FetchError
from vecpatch.catalog.sources.interface import Source, SourceResult

INDEX_LIMIT = 64_000_000  # Debian main's Packages.xz is ~10 MB
DEB_LIMIT = 64_000_000  # a postgresql-NN .deb is ~17 MB
ARCH = "amd64"
MAX_LINKS = 2  # Ubuntu: postgresql-16 -> postgresql-client-16 -> libpq5


def _result(name: str, frag: Fragment, notes: list[str]) -> SourceResult:
    return SourceResult(
        name,
        releases=frag.releases,
        advisories=frag.advisories,
        distro_packages=frag.distro_packages,
        notes=notes,
    )


class DistroArchives(Source):
    """Read the host's apt archives (or ``--base-url distro=URL``) over HTTP."""

    name = "distro"
    default_base_url = ""

    def __init__(
        self, base_url: str | None = None, archives: Sequence[Archive] | None = None
    ) -> None:
        super().__init__(base_url)
        if archives is not None:
            self.archives = list(archives)
        elif base_url:
            found = default_archives()
            suites = sorted({s for a in found if a.distro == "debian" for s in a.suites})
            self.archives = [Archive("debian", self.base_url, tuple(suites))]
        else:
            self.archives = default_archives()

    def _index(self, client: FeedClient, archive: Archive, suite: str, comp: str) -> bytes:
        base = f"{archive.url}/dists/{suite}/{comp}/binary-{ARCH}/Packages"
        last: FetchError | None = None
        for ext in (".xz", ".gz"):
            try:
                raw = client.get_bytes(base + ext, limit=INDEX_LIMIT)
                return decompress(ext, raw, INDEX_LIMIT * 8)
            except FetchError as exc:
                last = exc
        assert last is not None
        raise last

    def _deb(self, client: FeedClient, archive: Archive, entry: IndexEntry) -> bytes:
        if not entry.filename or ".." in entry.filename:
            raise FetchError(f"{entry.package} {entry.version}: no usable Filename")
        data = client.get_bytes(f"{archive.url}/{entry.filename}", limit=DEB_LIMIT, keep=False)
        if entry.size is not None and len(data) != entry.size:
            raise FetchError(f"{entry.filename}: size {len(data)}, index says {entry.size}")
        if entry.sha256 and hashlib.sha256(data).hexdigest() != entry.sha256.lower():
            raise FetchError(f"{entry.filename}: SHA-256 does not match the index")
        return data

    def _changelog(
        self,
        client: FeedClient,
        archive: Archive,
        entry: IndexEntry,
        index: Sequence[IndexEntry],
    ) -> str:
        current = entry
        for _ in range(MAX_LINKS + 1):
            found = changelog_from_deb(self._deb(client, archive, current), current.package)
            if found.text is not None:
                return found.text
            linked = next(
                (
                    e
                    for e in index
                    if e.package == found.linked_package and e.source == current.source
                ),
                None,
            )
            if linked is None:
                raise DebFormatError(
                    f"{current.package}'s changelog links to {found.linked_package}, "
                    "which this suite does not list"
                )
            current = linked
        raise DebFormatError(f"{entry.package}: changelog links go too deep")

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        run = _Run()
        for archive in self.archives:
            for suite in archive.suites:
                for comp in archive.components:
                    self._suite(client, known, archive, suite, comp, run)
        if not run.seen:
            raise FetchError("; ".join(run.notes) or "no postgresql packages in any suite")
        frag = build_fragment(run.observations, known)
        frag.distro_packages += run.unchanged
        return _result(self.name, frag, run.notes)

    def _suite(
        self,
        client: FeedClient,
        known: Catalog,
        archive: Archive,
        suite: str,
        comp: str,
        run: _Run,
    ) -> None:
        """Read one suite's index; follow each wanted package not read before."""
        where = f"{archive.distro} {suite}/{comp}"
        try:
            raw = self._index(client, archive, suite, comp)
            index = parse_packages(raw.decode("utf-8", "replace"))
        except (FetchError, DebFormatError) as exc:
            run.notes.append(f"{where}: index skipped ({_reason(exc)})")
            return
        have = {
            (p.package, p.version): p
            for p in known.distro_packages
            if p.distro == archive.distro and p.suite == suite and p.date
        }
        for entry in index:
            if not wanted_package(entry.package):
                continue
            run.seen += 1
            key = (entry.package, entry.version)
            if key in have:  # already read: confirmed, no second 17 MB download
                run.unchanged.append(distro_package_to_dict(have[key]))
                continue
            try:
                if key not in run.changelogs:
                    run.changelogs[key] = self._changelog(client, archive, entry, index)
                uploads = parse_changelog(run.changelogs[key])
            except (FetchError, DebFormatError) as exc:
                run.notes.append(f"{where} {entry.package} {entry.version}: {_reason(exc)}")
                uploads = ()
            run.observations.append(
                Observation(
                    archive.distro,
                    suite,
                    entry.package,
                    entry.version,
                    uploads,
                    f"{archive.distro} {suite} Packages index",
                )
            )


@dataclass
class _Run:
    """What one run of the distro feed has gathered so far."""

    observations: list[Observation] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changelogs: dict[tuple[str, str], str] = field(default_factory=dict)
    seen: int = 0


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, FetchError) else str(exc)


class DistroFiles(Source):
    """Offline: ``.deb`` files, ``changelog.Debian[.gz]`` files and ``[DISTRO:]SUITE=Packages``.

    A changelog's suite is its newest upload's; a ``Packages`` file says which
    versions a suite ships, dated from whichever given changelog lists that version.
    """

    name = "distro-files"
    default_base_url = ""

    def __init__(self, paths: Sequence[str]) -> None:
        super().__init__("")
        self.paths = list(paths)

    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        del client  # local files only
        notes: list[str] = []
        changelogs: list[tuple[str, tuple[Any, ...]]] = []
        indexes: list[tuple[str, str, Path]] = []
        for spec in self.paths:
            if "=" in spec and not Path(spec).exists():
                label, _, path = spec.partition("=")
                distro, _, suite = label.rpartition(":")
                indexes.append((distro or "debian", suite, Path(path)))
                continue
            try:
                changelogs.append((spec, parse_changelog(_read_changelog(Path(spec)))))
            except (OSError, DebFormatError) as exc:
                notes.append(f"{spec}: skipped ({exc})")
        indexed = self._indexed(indexes, changelogs, notes)
        covered = {(o.package, o.version) for o in indexed}
        observations = [
            Observation(
                distro_of(ups[0].version),
                ups[0].distributions[0],
                _binary(ups[0].source, spec),
                ups[0].version,
                ups,
                f"file {Path(spec).name}",
            )
            for spec, ups in changelogs
            if ups and (_binary(ups[0].source, spec), ups[0].version) not in covered
        ]
        observations += indexed
        if not observations:
            raise FetchError("; ".join(notes) or "no distro files given")
        return _result(self.name, build_fragment(observations, known), notes)

    def _indexed(
        self,
        indexes: list[tuple[str, str, Path]],
        changelogs: list[tuple[str, tuple[Any, ...]]],
        notes: list[str],
    ) -> list[Observation]:
        out: list[Observation] = []
        for distro, suite, path in indexes:
            try:
                text = decompress(path.name, path.read_bytes()).decode("utf-8", "replace")
            except (OSError, DebFormatError) as exc:
                notes.append(f"{path}: skipped ({exc})")
                continue
            for entry in parse_packages(text):
                if not wanted_package(entry.package):
                    continue
                ups = next(
                    (u for _, u in changelogs if any(x.version == entry.version for x in u)), ()
                )
                start = next((i for i, u in enumerate(ups) if u.version == entry.version), 0)
                out.append(
                    Observation(
                        distro,
                        suite,
                        entry.package,
                        entry.version,
                        tuple(ups[start:]),
                        f"{distro} {suite} Packages file {path.name}",
                    )
                )
        return out


def _read_changelog(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".deb" or data.startswith(b"!<arch>\n"):
        found = changelog_from_deb(data)
        if found.text is None:
            raise DebFormatError(
                f"its changelog is in package {found.linked_package}; give that .deb instead"
            )
        return found.text
    return decompress(path.name, data, 50_000_000).decode("utf-8", "replace")


def _binary(source: str, spec: str) -> str:
    """The binary package a changelog belongs to: from the file name when it says."""
    name = Path(spec).name.split("_", 1)[0]
    if name.startswith("ubuntu-"):
        name = name[len("ubuntu-") :]
    if wanted_package(name):
        return name
    return source if wanted_package(source) else f"{source} (source)"
