"""The distro feed: recorded Debian/Ubuntu files, served by a real local HTTP server.

The fixtures under ``data/distro`` are the archive's own files, trimmed: each suite's
``Packages`` index reduced to the PostgreSQL stanzas, and each package's
``changelog.Debian.gz`` reduced to its newest uploads (``pool/`` holds ``.deb`` files
rebuilt around those changelogs with ``dpkg-deb``; the indexes carry their sizes and
hashes). The bundled snapshot is built from the same files.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vecpatch.assess import assess_target
from vecpatch.catalog.aptsources import Archive, default_archives
from vecpatch.catalog.debformat import changelog_from_deb, parse_changelog, upstream_version
from vecpatch.catalog.model import Catalog, Product
from vecpatch.catalog.queries import latest_minor, newer_than_catalog
from vecpatch.catalog.snapshot import load_snapshot, write_snapshot
from vecpatch.catalog.sources.debian import DistroArchives
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.staleness import catalog_age
from vecpatch.catalog.store import load_catalog
from vecpatch.catalog.update import run_update
from vecpatch.cli.main import app
from vecpatch.findings import FindingKind

from ..builders import database, server, target
from .conftest import NOW

DATA = Path(__file__).parent / "data" / "distro"
CHANGELOGS = DATA / "changelogs"
SUITES = ("bookworm", "bookworm-security", "trixie", "trixie-security")
CVES_15_20 = 42
CVES_17_12 = 47
runner = CliRunner()


def _text(name: str) -> str:
    return gzip.decompress((CHANGELOGS / name).read_bytes()).decode()


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recorded files laid out as an archive: dists/SUITE/main/binary-amd64, pool/."""
    root = tmp_path_factory.mktemp("archive")
    for suite in SUITES:
        where = root / "dists" / suite / "main" / "binary-amd64"
        where.mkdir(parents=True)
        shutil.copy(DATA / "debian" / suite / "Packages.xz", where / "Packages.xz")
    shutil.copytree(DATA / "pool", root / "pool")
    return root


@pytest.fixture(scope="module")
def archive(archive_root: Path) -> Iterator[str]:
    handler = partial(_Quiet, directory=str(archive_root))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def old_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The snapshot as it was before the distro feed: the shared data alone (15.19, 17.11)."""
    doc = load_snapshot().document
    curated = [
        a for a in doc["advisories"] if "known_from" not in (a.get("database_specific") or {})
    ]
    releases = [r for r in doc["releases"] if r["version"] not in ("15.20", "17.12")]
    old = {**doc, "advisories": curated, "releases": releases, "distro_packages": []}
    return write_snapshot(tmp_path_factory.mktemp("old-snapshot"), old)


def test_changelogs_list_the_cves_each_upload_fixes() -> None:
    pg15 = parse_changelog(_text("postgresql-15_15.20-0+deb12u1.changelog.Debian.gz"))
    pg17 = parse_changelog(_text("postgresql-17_17.12-0+deb13u1.changelog.Debian.gz"))
    assert [u.version for u in pg15] == ["15.20-0+deb12u1", "15.19-0+deb12u1", "15.18-0+deb12u1"]
    assert pg15[0].distributions == ("bookworm-security",)
    assert pg15[0].date is not None and pg15[0].date.date().isoformat() == "2026-11-13"
    assert pg17[0].date is not None and pg17[0].date.date().isoformat() == "2026-11-09"
    assert (len(pg15[0].cves), len(pg17[0].cves)) == (CVES_15_20, CVES_17_12)
    assert "CVE-2026-116303" in pg15[0].cves  # seven-digit sequence numbers are kept
    # 15.19's prose names CVE-2025-8714 ("the fix for ...") without fixing it again
    assert "CVE-2025-8714" not in pg15[1].cves and len(pg15[1].cves) == 28
    assert upstream_version("16.15-0ubuntu0.24.04.1") == "16.15"
    assert upstream_version("1:0.8.0-1") == "0.8.0"


def test_bundled_snapshot_knows_the_november_minors(catalog: Catalog) -> None:
    r15, r17 = latest_minor(catalog, "15"), latest_minor(catalog, "17")
    assert r15 is not None and (r15.version, str(r15.date)) == ("15.20", "2026-11-13")
    assert r17 is not None and (r17.version, str(r17.date)) == ("17.12", "2026-11-09")
    assert len(r15.security_fixes) == CVES_15_20 and len(r17.security_fixes) == CVES_17_12
    assert any("bookworm-security" in n for n in r15.notes)
    adv = catalog.advisory("CVE-2026-116303")
    assert adv is not None and adv.severity.value == "unknown" and adv.score is None
    assert "changelog" in adv.summary and adv.record["database_specific"]["sources"]
    ships = {(p.suite, p.package): p.upstream for p in catalog.distro_packages}
    assert ships[("trixie", "postgresql-17-pgvector")] == "0.8.0"
    assert ships[("bookworm", "postgresql-15")] == "15.18"
    assert ships[("bookworm-security", "postgresql-15")] == "15.20"


def test_age_is_the_newest_release_not_the_build_date(catalog: Catalog) -> None:
    assert catalog.built_at is not None and catalog.built_at.date().isoformat() == "2026-12-02"
    assert catalog.generated_at.date().isoformat() == "2026-11-13"
    assert catalog_age(catalog, NOW).days == 12


def _check(*args: str) -> dict:  # type: ignore[type-arg]
    res = runner.invoke(
        app, ["catalog", "check", *args, "--format", "json", "--now", NOW.isoformat()]
    )
    return json.loads(res.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("pg", "fixed", "count"), [("15.18", "15.20", 42), ("17.11", "17.12", 47)])
def test_check_lists_what_the_debian_changelog_says_the_minor_fixed(
    pg: str, fixed: str, count: int
) -> None:
    data = _check("--pg", pg)
    from_changelog = [f for f in data["findings"] if f["fixed_version"] == fixed]
    assert len(from_changelog) == count
    assert all(f["severity"] == "unknown" and f["exposed"] for f in from_changelog)
    assert data["latest"]["postgresql"]["version"] == fixed
    assert data["newer_than_catalog"] == []
    # other branches are not told about CVEs only 15/17 changelogs name
    assert not any(f["fixed_version"] == fixed for f in _check("--pg", "16.10")["findings"])


def test_check_says_newer_than_catalog() -> None:
    data = _check("--pg", "15.21", "--pgvector", "0.9.0")
    got = {(b["product"], b["version"], b["newest_known"]) for b in data["newer_than_catalog"]}
    assert got == {("postgresql", "15.21", "15.20"), ("pgvector", "0.9.0", "0.8.6")}
    assert all("catalog update" in b["next_action"] for b in data["newer_than_catalog"])
    res = runner.invoke(app, ["catalog", "check", "--pg", "15.21", "--now", NOW.isoformat()])
    assert "NEWER_THAN_CATALOG" in res.stderr


def test_assess_reports_newer_than_catalog(catalog: Catalog) -> None:
    report = assess_target(target(server("17.13"), database("0.9.1", "0.9.1")), catalog, NOW)
    found = [f for f in report.all_findings() if f.kind is FindingKind.NEWER_THAN_CATALOG]
    assert {(f.product, f.database is None) for f in found} == {
        ("postgresql", True),
        ("pgvector", False),
    }
    assert all("catalog update" in f.next_action for f in found)
    assert FindingKind.PG_MINOR_BEHIND not in {f.kind for f in report.all_findings()}
    plain = assess_target(target(server("17.12"), database("0.8.6", "0.8.6")), catalog, NOW)
    assert FindingKind.NEWER_THAN_CATALOG not in {f.kind for f in plain.all_findings()}
    assert newer_than_catalog(catalog, Product.POSTGRESQL, "19.1") is not None
    assert newer_than_catalog(catalog, Product.POSTGRESQL, "9.4.26") is None


def _archives(url: str) -> list[Archive]:
    return [Archive("debian", url, SUITES)]


def test_feed_over_http_teaches_an_old_catalog(
    archive: str, old_snapshot: Path, tmp_path: Path
) -> None:
    before = load_catalog(root=tmp_path, snapshot=old_snapshot)
    assert latest_minor(before, "15").version == "15.19"  # type: ignore[union-attr]
    with FeedClient(timeout=5, retries=0) as client:
        report = run_update(
            [DistroArchives(archives=_archives(archive))],
            client,
            now=NOW,
            root=tmp_path,
            snapshot=old_snapshot,
        )
    assert report.fetched == ["distro"], report
    after = load_catalog(root=tmp_path, snapshot=old_snapshot)
    assert latest_minor(after, "15").version == "15.20"  # type: ignore[union-attr]
    assert latest_minor(after, "17").version == "17.12"  # type: ignore[union-attr]
    assert "postgresql:15.20" in report.changes.new_releases
    assert len([a for a in report.changes.new_advisories if a.startswith("CVE-")]) == 47
    suites = {p.suite for p in after.distro_packages if p.package == "postgresql-17"}
    assert suites == {"trixie", "trixie-security"}


def test_a_deb_that_does_not_match_its_index_is_not_read(
    archive_root: Path, archive: str, old_snapshot: Path, tmp_path: Path
) -> None:
    deb = archive_root / "pool" / "postgresql-17-pgvector_0.8.0-1_amd64.deb"
    good = deb.read_bytes()
    try:
        deb.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
        with FeedClient(timeout=5, retries=0) as client:
            report = run_update(
                [DistroArchives(archives=_archives(archive))],
                client,
                now=NOW,
                root=tmp_path,
                snapshot=old_snapshot,
            )
    finally:
        deb.write_bytes(good)
    assert any("SHA-256 does not match" in n for n in report.notes), report.notes
    after = load_catalog(root=tmp_path, snapshot=old_snapshot)
    assert latest_minor(after, "15").version == "15.20"  # type: ignore[union-attr]


def test_offline_from_a_downloaded_deb(old_snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECPATCH_CATALOG_SNAPSHOT_DIR", str(old_snapshot))
    deb = DATA / "pool" / "postgresql-15_15.20-0+deb12u1_amd64.deb"
    assert changelog_from_deb(deb.read_bytes()).package == "postgresql-15"
    res = runner.invoke(
        app, ["catalog", "update", "--offline", "--distro-file", str(deb), "--now", NOW.isoformat()]
    )
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "ok       distro-files" in res.stdout
    data = _check("--pg", "15.18")
    assert len([f for f in data["findings"] if f["fixed_version"] == "15.20"]) == CVES_15_20


def test_apt_sources_are_read_in_both_formats(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://mirror.invalid/debian bookworm main\n"
    )
    (tmp_path / "sources.list.d" / "sec.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n"
        "Components: main\n"
    )
    got = {a.url: a.suites for a in default_archives(tmp_path)}
    assert got["http://mirror.invalid/debian"] == ("bookworm", "trixie")
    assert got["http://mirror.invalid/debian-security"] == ("bookworm-security", "trixie-security")


@pytest.mark.slow
@pytest.mark.skipif(
    not __import__("os").environ.get("VECPATCH_TEST_REAL_ARCHIVE"),
    reason="opt-in: set VECPATCH_TEST_REAL_ARCHIVE=1 to read the real archive of the apt sources",
)
def test_real_archive(old_snapshot: Path, tmp_path: Path) -> None:
    """The host's apt mirror (no host name in vecpatch): bookworm and trixie as they are now."""
    with FeedClient(timeout=60, retries=1) as client:
        report = run_update(
            [DistroArchives()], client, now=NOW, root=tmp_path, snapshot=old_snapshot
        )
    assert report.fetched == ["distro"], report
    after = load_catalog(root=tmp_path, snapshot=old_snapshot)
    for major, at_least in (("15", "15.20"), ("17", "17.12")):
        rel = latest_minor(after, major)
        assert rel is not None and rel.pg_version >= rel.pg_version.parse(at_least)
    r15 = next(
        r for r in after.releases if r.product is Product.POSTGRESQL and r.version == "15.20"
    )
    assert len(r15.security_fixes) >= CVES_15_20


def test_cli_reads_a_named_archive(
    archive: str, old_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECPATCH_OFFLINE", "")
    monkeypatch.setenv("VECPATCH_CATALOG_SNAPSHOT_DIR", str(old_snapshot))
    line = f"deb {archive} trixie-security main"
    args = ["catalog", "update", "--source", "distro", "--distro-archive", line]
    res = runner.invoke(app, [*args, "--now", NOW.isoformat()])
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "ok       distro" in res.stdout
    data = _check("--pg", "17.11")
    assert len([f for f in data["findings"] if f["fixed_version"] == "17.12"]) == CVES_17_12
    shown = json.loads(runner.invoke(app, ["catalog", "show", "--json"]).stdout)
    assert {(p["suite"], p["package"]) for p in shown["distro_packages"]} >= {
        ("trixie-security", "postgresql-17")
    }
    bad = runner.invoke(app, ["catalog", "update", "--distro-archive", "nonsense"])
    assert bad.exit_code == 2
