"""Turn what a distro archive shows into catalog facts, each with its source.

An observation is "suite S of distro D ships package P at version V, and P's
changelog lists these uploads". From it come: the suite's package entry, the
PostgreSQL/pgvector releases the uploads name (a Debian upload date stands in for
a release date only when the catalog has none), and, for every CVE an upload
fixes that no advisory in the catalog covers, a record that says exactly that —
known from a changelog, severity unknown, affected only on the branches whose
changelogs name it. Nothing is invented: no score, no summary beyond the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vecpatch.catalog.debformat import Upload, upstream_version
from vecpatch.catalog.model import Catalog, DistroPackage

KNOWN_FROM = "distro-changelog"
_PG_PACKAGE = re.compile(r"^postgresql-(?P<major>\d+)$")
_VECTOR_PACKAGE = re.compile(r"^postgresql-(?P<major>\d+)-pgvector$")
_PG_MINOR = re.compile(r"^(?P<major>\d+)\.\d+$")
_VECTOR_RELEASE = re.compile(r"^\d+\.\d+\.\d+$")
_PG_PKG = {"ecosystem": "PostgreSQL", "name": "postgresql", "purl": "pkg:generic/postgresql"}
RECENT_UPSTREAMS = 3  # uploads of the newest N upstream versions per changelog are read


def wanted_package(name: str) -> bool:
    """Packages the distro feed follows: ``postgresql-NN`` and ``postgresql-NN-pgvector``."""
    return bool(_PG_PACKAGE.match(name) or _VECTOR_PACKAGE.match(name))


def distro_of(version: str) -> str:
    """``debian`` or ``ubuntu`` (Ubuntu marks its uploads in the version string)."""
    return "ubuntu" if "ubuntu" in version else "debian"


@dataclass(frozen=True)
class Observation:
    """One package version a suite ships (or a changelog file shows), with its changelog."""

    distro: str
    suite: str
    package: str
    version: str
    uploads: tuple[Upload, ...]
    where: str

    @property
    def product(self) -> str:
        vector = _VECTOR_PACKAGE.match(self.package) or self.package.startswith("pgvector")
        return "pgvector" if vector else "postgresql"


@dataclass
class Fragment:
    """Catalog document pieces built from observations (see :mod:`.document`)."""

    releases: list[dict[str, Any]] = field(default_factory=list)
    advisories: list[dict[str, Any]] = field(default_factory=list)
    distro_packages: list[dict[str, Any]] = field(default_factory=list)


def _label(distro: str, upload: Upload) -> str:
    day = upload.date.date().isoformat() if upload.date else "undated"
    suites = " ".join(upload.distributions)
    return f"{distro.capitalize()} {suites}: {upload.source} {upload.version} ({day})"


def _recent(uploads: Sequence[Upload]) -> list[Upload]:
    seen: list[str] = []
    out: list[Upload] = []
    for up in uploads:
        upstream = up.upstream or ""
        if upstream not in seen:
            if len(seen) == RECENT_UPSTREAMS:
                break
            seen.append(upstream)
        out.append(up)
    return out


def _release_version(obs: Observation, upstream: str | None) -> str | None:
    if upstream is None:
        return None
    if obs.product == "pgvector":
        return upstream if _VECTOR_RELEASE.match(upstream) else None
    m = _PG_MINOR.match(upstream)
    pkg = _PG_PACKAGE.match(obs.package)
    return upstream if m and pkg and m.group("major") == pkg.group("major") else None


def distro_package_to_dict(pkg: DistroPackage) -> dict[str, Any]:
    """The document form of a suite entry (see :mod:`.document`)."""
    return {
        "distro": pkg.distro,
        "suite": pkg.suite,
        "package": pkg.package,
        "version": pkg.version,
        "upstream": pkg.upstream,
        "date": pkg.date.isoformat() if pkg.date else None,
        "cves": list(pkg.cves),
        "source": pkg.source,
    }


def _package_entry(obs: Observation) -> dict[str, Any]:
    upload = next((u for u in obs.uploads if u.version == obs.version), None)
    return {
        "distro": obs.distro,
        "suite": obs.suite,
        "package": obs.package,
        "version": obs.version,
        "upstream": upstream_version(obs.version) or obs.version,
        "date": upload.date.date().isoformat() if upload and upload.date else None,
        "cves": list(upload.cves) if upload else [],
        "source": obs.where,
    }


def build_fragment(observations: Iterable[Observation], known: Catalog) -> Fragment:
    """Releases, changelog-only advisories and suite entries for these observations."""
    frag = Fragment()
    releases: dict[str, dict[str, Any]] = {}
    fixes: dict[str, dict[str, tuple[str, Upload, str]]] = {}  # cve -> major -> (fixed, up, who)
    for obs in observations:
        frag.distro_packages.append(_package_entry(obs))
        for up in reversed(_recent(obs.uploads)):  # oldest first: the first upload dates it
            version = _release_version(obs, up.upstream)
            if version is None:
                continue
            rel = releases.setdefault(
                f"{obs.product}:{version}",
                {
                    "product": obs.product,
                    "version": version,
                    "date": up.date.date().isoformat() if up.date else None,
                    "notes": [],
                    "required_actions": [],
                    "security_fixes": [],
                },
            )
            count = f"; its changelog names {len(up.cves)} CVEs" if up.cves else ""
            rel["notes"].append(f"source: {_label(obs.distro, up)}{count}")
            rel["security_fixes"] = list(dict.fromkeys([*rel["security_fixes"], *up.cves]))
            if obs.product == "postgresql":
                major = version.split(".")[0]
                for cve in up.cves:
                    fixes.setdefault(cve, {}).setdefault(
                        major, (version, up, _label(obs.distro, up))
                    )
    for rel in releases.values():
        rel["notes"] = list(dict.fromkeys(rel["notes"]))
    frag.releases = list(releases.values())
    for cve, by_major in sorted(fixes.items()):
        if known.advisory(cve) is None:
            frag.advisories.append(changelog_advisory(cve, by_major))
    return frag


def changelog_advisory(cve: str, by_major: dict[str, tuple[str, Upload, str]]) -> dict[str, Any]:
    """An OSV record for a CVE that only distro changelogs name (severity unknown)."""
    majors = sorted(by_major, key=int)
    dates = [up.date for _, up, _ in by_major.values() if up.date]
    first = min(dates).isoformat() if dates else None
    fixed = {m: by_major[m][0] for m in majors}
    sources = [by_major[m][2] for m in majors]
    shown = ", ".join(fixed[m] for m in majors)
    return {
        "schema_version": "1.7.0",
        "id": cve,
        "published": first,
        "modified": first,
        "aliases": [],
        "summary": f"Fixed in PostgreSQL {shown} according to distro package changelogs "
        "(no upstream advisory in the catalog; severity unknown)",
        "details": "Known only from package changelogs: "
        + "; ".join(sources)
        + ". Earlier minors of each named branch are taken as affected; other branches "
        "are not evaluated. Run `vecpatch catalog update` for the upstream record.",
        "severity": [],
        "affected": [
            {
                "package": {"ecosystem": "PostgreSQL", "name": "postgresql"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": f"{m}.0"}, {"fixed": fixed[m]}],
                        "database_specific": {"major": m},
                    }
                    for m in majors
                ],
                "database_specific": {"fixed_versions": fixed, "package": _PG_PKG},
            }
        ],
        "references": [],
        "database_specific": {
            "known_from": KNOWN_FROM,
            "sources": sources,
            "fix_release_date": first[:10] if first else None,
        },
    }
