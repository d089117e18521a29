"""Debian's file formats, read without dpkg: changelogs, ``Packages`` indexes, ``.deb`` files.

A distro's archive is a second, independent witness of which PostgreSQL minors
exist and which CVEs each upload fixes. Everything here is pure (bytes in, values
out) so the same code reads a live archive, a recorded fixture or a ``.deb`` an
operator downloaded by hand on an air-gapped host.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from posixpath import basename, dirname, join, normpath

import zstandard

from vecpatch.errors import UsageError

CVE_RE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b")
# Where a changelog states a fix, rather than mentioning a CVE in passing ("the fix for
# CVE-X", "the same problem as CVE-Y"): a parenthesised list, a "Fixes ..." sentence,
# or a bullet that starts with the id (Debian security uploads).
_FIX_SPANS = (
    re.compile(r"\((?:\s*CVE-\d{4}-\d{4,7}\s*[,;]?)+\)"),
    re.compile(r"\b(?:Fixes|Fixed|Closes)\b[^.]*?CVE-\d{4}-\d{4,7}[^.]*", re.I),
    re.compile(r"(?m)^\s*[*+-]\s+CVE-\d{4}-\d{4,7}(?:[,\s]+CVE-\d{4}-\d{4,7})*"),
)
_HEADER = re.compile(
    r"^(?P<source>[a-z0-9][a-z0-9+.-]+) \((?P<version>[^()\s]+)\) (?P<dists>[^;]+);", re.M
)
_TRAILER = re.compile(r"^ -- (?P<who>.*?)  (?P<date>\w{3}, .+)$", re.M)
_DEBIAN_VERSION = re.compile(r"^(?:\d+:)?(?P<upstream>[0-9][A-Za-z0-9.+~]*?)(?:-[A-Za-z0-9.+~]+)?$")
MAX_MEMBER = 8_000_000  # a changelog is kilobytes; refuse to inflate anything near this


class DebFormatError(UsageError):
    """A file that is not the Debian format it claims to be; the message names what."""


@dataclass(frozen=True)
class Upload:
    """One changelog entry: a package version uploaded to a suite on a date.

    ``cves`` are the ids the entry says it fixes; ids only mentioned in passing
    are left out.
    """

    source: str
    version: str
    distributions: tuple[str, ...]
    date: datetime | None
    cves: tuple[str, ...]

    @property
    def upstream(self) -> str | None:
        return upstream_version(self.version)


@dataclass(frozen=True)
class IndexEntry:
    """One stanza of a ``Packages`` index, reduced to what the catalog needs."""

    package: str
    version: str
    source: str
    filename: str | None
    size: int | None
    sha256: str | None


def upstream_version(debian_version: str) -> str | None:
    """``1:15.20-0+deb12u1`` → ``15.20``; None when the string is not a Debian version."""
    m = _DEBIAN_VERSION.match(debian_version.strip())
    return m.group("upstream") if m else None


def _date(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text.strip()).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        return None


def parse_changelog(text: str) -> tuple[Upload, ...]:
    """Every upload in a ``debian/changelog``, newest first, with the CVE ids it names."""
    heads = list(_HEADER.finditer(text))
    uploads: list[Upload] = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[head.end() : end]
        trailer = _TRAILER.search(body)
        fixed = [c for rx in _FIX_SPANS for span in rx.findall(body) for c in CVE_RE.findall(span)]
        order = {c: i for i, c in enumerate(dict.fromkeys(CVE_RE.findall(body)))}
        cves = sorted(set(fixed), key=order.__getitem__)
        uploads.append(
            Upload(
                source=head.group("source"),
                version=head.group("version"),
                distributions=tuple(head.group("dists").split()),
                date=_date(trailer.group("date")) if trailer else None,
                cves=tuple(cves),
            )
        )
    if not uploads and text.strip():
        raise DebFormatError("not a Debian changelog (no 'package (version) suite;' line)")
    return tuple(uploads)


def parse_packages(text: str) -> tuple[IndexEntry, ...]:
    """The stanzas of a ``Packages`` (or ``Sources``) index."""
    out: list[IndexEntry] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "package" not in fields or "version" not in fields:
            continue
        size = fields.get("size", "")
        out.append(
            IndexEntry(
                package=fields["package"],
                version=fields["version"],
                source=fields.get("source", fields["package"]).split(" ")[0],
                filename=fields.get("filename"),
                size=int(size) if size.isdigit() else None,
                sha256=fields.get("sha256"),
            )
        )
    return tuple(out)


def decompress(name: str, data: bytes, limit: int = 200_000_000) -> bytes:
    """Inflate by file name (``.gz``/``.xz``/``.bz2``/``.zst`` or plain), bounded by ``limit``."""
    try:
        if name.endswith(".gz"):
            return _bounded(gzip.GzipFile(fileobj=io.BytesIO(data)), limit)
        if name.endswith(".xz") or name.endswith(".lzma"):
            return _bounded(lzma.LZMAFile(io.BytesIO(data)), limit)
        if name.endswith(".bz2"):
            return _bounded(bz2.BZ2File(io.BytesIO(data)), limit)
        if name.endswith(".zst"):
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data))
            return _bounded(reader, limit)
    except (OSError, EOFError, lzma.LZMAError, zstandard.ZstdError) as exc:
        raise DebFormatError(f"{name}: cannot decompress ({type(exc).__name__})") from None
    return data


def _bounded(stream: io.BufferedIOBase | zstandard.ZstdDecompressionReader, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise DebFormatError(f"decompressed size over {limit} bytes")
    return data


def _ar_members(data: bytes) -> dict[str, bytes]:
    if not data.startswith(b"!<arch>\n"):
        raise DebFormatError("not a .deb (no ar header)")
    members: dict[str, bytes] = {}
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size_text = header[48:58].decode("ascii", "replace").strip()
        if not size_text.isdigit():
            raise DebFormatError("corrupt .deb member header")
        size = int(size_text)
        members[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
    return members


@dataclass(frozen=True)
class DebChangelog:
    """What a ``.deb`` says about its changelog: the text, or a link to another package's."""

    package: str
    text: str | None
    linked_package: str | None = None


def changelog_from_deb(data: bytes, package: str | None = None) -> DebChangelog:
    """Read ``usr/share/doc/PKG/changelog.Debian.gz`` out of a ``.deb``.

    Ubuntu links a server package's changelog to its client or libpq5 package's;
    that is returned as ``linked_package`` so the caller can fetch that one.
    """
    members = _ar_members(data)
    control = next((k for k in members if k.startswith("control.tar")), None)
    payload = next((k for k in members if k.startswith("data.tar")), None)
    if payload is None:
        raise DebFormatError("not a .deb (no data.tar member)")
    if package is None and control is not None:
        package = _control_package(decompress(control, members[control]))
    if package is None:
        raise DebFormatError("cannot tell the package name of this .deb")
    want = f"usr/share/doc/{package}/changelog.Debian.gz"
    raw = decompress(payload, members[payload])
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        for member in tar:
            if normpath(member.name.lstrip("./")) != want:
                continue
            if member.issym():
                target = normpath(join(dirname(want), member.linkname))
                return DebChangelog(package, None, basename(dirname(target)))
            handle = tar.extractfile(member)
            if handle is None or member.size > MAX_MEMBER:
                raise DebFormatError(f"{want} is not a readable file")
            text = decompress(want, handle.read(), MAX_MEMBER).decode("utf-8", "replace")
            return DebChangelog(package, text)
    raise DebFormatError(f"the .deb has no {want}")


def _control_package(control_tar: bytes) -> str | None:
    with tarfile.open(fileobj=io.BytesIO(control_tar), mode="r:") as tar:
        for member in tar:
            if basename(member.name) == "control" and member.isfile():
                handle = tar.extractfile(member)
                if handle is None:
                    return None
                entries = parse_packages(handle.read(65536).decode("utf-8", "replace"))
                return entries[0].package if entries else None
    return None
