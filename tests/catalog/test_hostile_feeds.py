"""Feeds that try to poison the catalog, served by a real local HTTP server.

Bad versions, script tags, moved or removed EOL dates, injected "latest minors",
future dates, an empty feed, a server trickling one byte at a time, a concurrent
update: the catalog keeps its good entries and its age, and says what it skipped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.queries import latest_minor, latest_pgvector
from vecpatch.catalog.sources.github import GitHubTags
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.sources.osv_api import OsvById
from vecpatch.catalog.sources.pgxn import PgxnDist
from vecpatch.catalog.sources.postgresql_org import PostgresVersions
from vecpatch.catalog.staleness import catalog_age
from vecpatch.catalog.store import CACHE_FILE, CatalogBusyError, load_catalog
from vecpatch.catalog.update import Limits, UpdateReport, run_update
from vecpatch.cli.main import app
from vecpatch.sandbox.testing import SandboxFactory

from .conftest import NOW

BODIES: dict[str, Any] = {}
HITS: list[str] = []
runner = CliRunner()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        HITS.append(path)
        if path == "/trickle/versions.json":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                return
            return
        body = BODIES.get(path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    BODIES.clear()
    HITS.clear()
    yield


FIRST = {"14": "2021-09-30", "15": "2022-10-13", "16": "2023-09-14", "17": "2024-09-26"}


def _row(major: str, minor: str, eol: Any, rel: str = "2026-08-13") -> dict[str, Any]:
    first = FIRST.get(major, "2025-09-25")
    return {
        "major": major,
        "latestMinor": minor,
        "relDate": rel,
        "eolDate": eol,
        "firstRelDate": first,
    }


def _update(sources: list[Any], root: Path, **kw: Any) -> UpdateReport:
    with FeedClient(timeout=1, retries=1, backoff=0.01) as client:
        return run_update(sources, client, now=NOW, root=root, **kw)


def _eol(cat: Catalog, major: str) -> date | None:
    return cat.majors[major].eol


def test_one_bad_version_skips_that_row_only(server: str, tmp_path: Path) -> None:
    BODIES["/versions.json"] = [
        _row("17", "x<script>", "2029-11-08"),
        {"major": None},
        _row("18", "7", "2030-11-14", "2026-11-12"),
    ]
    age = catalog_age(load_catalog(root=tmp_path), NOW)
    report = _update([PostgresVersions(server)], tmp_path)
    assert report.fetched == ["postgresql-versions"], report.skipped
    assert any("row 1" in n and "latestMinor" in n for n in report.notes), report.notes
    assert (
        catalog_age(load_catalog(root=tmp_path), NOW) == age
    )  # a feed caught lying vouches for nothing
    assert latest_minor(load_catalog(root=tmp_path), "18").version == "18.7"  # type: ignore[union-attr]


def test_script_tag_eol_and_an_injected_minor_are_kept_out(server: str, tmp_path: Path) -> None:
    before = load_catalog(root=tmp_path)
    BODIES["/versions.json"] = [
        _row("16", "99", "<script>alert(1)</script>"),
        _row("15", "20", "2026-12-31", "2026-11-13"),  # EOL moved: 2027-11-11 -> 2026-12-31
        _row("14", "24", None),  # EOL removed
    ]
    report = _update([PostgresVersions(server)], tmp_path)
    after = load_catalog(root=tmp_path)
    assert catalog_age(after, NOW) == catalog_age(before, NOW)
    assert latest_minor(after, "16").version == latest_minor(before, "16").version  # type: ignore[union-attr]
    assert _eol(after, "16") == _eol(before, "16") and _eol(after, "15") == _eol(before, "15")
    assert _eol(after, "14") == _eol(before, "14")
    held = {h.key: h.reason for h in report.held}
    assert "jumps from" in held["postgresql:16.99"]
    assert "moved from 2027-11-11 to 2026-12-31" in held["major:15:eol"]
    assert any("'eol': not a date" in n for n in report.notes), report.notes
    assert any("removed by the feed" in n for n in report.notes), report.notes
    # the held values survive a run and go in with --accept, never the script tag
    accepted = _update([], tmp_path, accept=True)
    assert {r.split(" ")[0] for r in accepted.released} == {"postgresql:16.99", "major:15:eol"}
    final = load_catalog(root=tmp_path)
    assert latest_minor(final, "16").version == "16.99"  # type: ignore[union-attr]
    assert _eol(final, "16") == _eol(before, "16")


def test_a_second_source_confirms_a_jump(server: str, tmp_path: Path) -> None:
    BODIES["/dist/vector.json"] = {
        "releases": {"stable": [{"version": "0.9.9", "date": "2026-11-20T00:00:00Z"}]}
    }
    BODIES["/repos/pgvector/pgvector/tags"] = [{"name": "v0.9.9"}]
    BODIES["/repos/pgvector/pgvector/commits/v0.9.9"] = {
        "commit": {"committer": {"date": "2026-11-20T10:00:00Z"}}
    }
    alone = _update([PgxnDist(server)], tmp_path)
    assert [h.key for h in alone.held] == ["pgvector:0.9.9"]
    assert latest_pgvector(load_catalog(root=tmp_path)).version == "0.8.6"  # type: ignore[union-attr]
    both = _update([GitHubTags(server)], tmp_path)  # the held claim was kept from the last run
    assert both.held == [] and both.released
    assert latest_pgvector(load_catalog(root=tmp_path)).version == "0.9.9"  # type: ignore[union-attr]


def test_future_dates_are_held(server: str, tmp_path: Path) -> None:
    BODIES["/versions.json"] = [_row("17", "13", "2029-11-08", "2027-05-13")]
    report = _update([PostgresVersions(server)], tmp_path)
    assert [h.key for h in report.held] == ["postgresql:17.13"]
    assert "future" in report.held[0].reason


def test_an_empty_feed_leaves_the_age_alone(server: str, tmp_path: Path) -> None:
    age = catalog_age(load_catalog(root=tmp_path), NOW)
    BODIES["/versions.json"] = []
    report = _update([PostgresVersions(server)], tmp_path)
    assert report.fetched == ["postgresql-versions"]
    assert any("age is unchanged" in n for n in report.notes)
    assert catalog_age(load_catalog(root=tmp_path), NOW) == age
    BODIES["/versions.json"] = [_row("18", "7", "2030-11-14", "2026-11-12")]
    sound = _update([PostgresVersions(server)], tmp_path)
    assert not sound.held and catalog_age(load_catalog(root=tmp_path), NOW).days == 0


def test_a_trickling_server_is_cut_at_the_timeout(server: str, tmp_path: Path) -> None:
    BODIES["/versions.json"] = [_row("18", "7", "2030-11-14", "2026-11-12")]
    age = catalog_age(load_catalog(root=tmp_path), NOW)
    report = _update(
        [PostgresVersions(server + "/trickle"), PostgresVersions(server)],
        tmp_path,
        limits=Limits(feed_deadline=30, update_deadline=60),
    )
    assert [s.reason.split(" (")[0] for s in report.skipped] == ["timed out after 1s"]
    assert report.fetched == ["postgresql-versions"]  # the next feed still ran
    after = load_catalog(root=tmp_path)
    assert latest_minor(after, "18").version == "18.7"  # type: ignore[union-attr]
    assert catalog_age(after, NOW) <= age


def test_a_feed_deadline_bounds_many_requests(server: str, tmp_path: Path) -> None:
    report = _update([OsvById(server)], tmp_path, limits=Limits(feed_deadline=0.0))
    assert "deadline" in report.skipped[0].reason


def test_osv_refreshes_every_known_advisory(server: str, tmp_path: Path) -> None:
    _update([OsvById(server)], tmp_path)
    asked = {p.rsplit("/", 1)[-1] for p in HITS if p.startswith("/v1/vulns/")}
    assert {"CVE-2024-0985", "CVE-2025-1094", "CVE-2026-3172"} <= asked


def test_a_concurrent_update_waits_with_a_message(server: str, tmp_path: Path) -> None:
    BODIES["/versions.json"] = [_row("18", "7", "2030-11-14", "2026-11-12")]
    said: list[str] = []
    holder = FileLock(str(tmp_path / ".lock"))
    tmp_path.mkdir(exist_ok=True)
    with holder:
        with pytest.raises(CatalogBusyError, match="still holds"):
            _update([PostgresVersions(server)], tmp_path, limits=Limits(lock_wait=0.2))
        waited = threading.Event()

        def note(msg: str) -> None:
            said.append(msg)
            waited.set()

        done: list[UpdateReport] = []
        worker = threading.Thread(
            target=lambda: done.append(_update([PostgresVersions(server)], tmp_path, on_wait=note))
        )
        worker.start()
        assert waited.wait(10)
    worker.join(30)
    assert "another catalog update is running" in said[0]
    assert done and done[0].fetched == ["postgresql-versions"]


def test_cli_update_survives_hostile_feeds_and_verify_checks_the_cache(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECPATCH_OFFLINE", "")
    BODIES["/versions.json"] = [_row("16", "99", "<script>x</script>"), _row("17", "zz", "")]
    args = ["catalog", "update", "--source", "postgresql-versions", "--timeout", "2"]
    res = runner.invoke(app, [*args, "--base-url", f"postgresql-versions={server}"])
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "held     postgresql:16.99" in res.stdout
    assert "skipped row 2" in res.stderr
    ok = runner.invoke(app, ["catalog", "verify"])
    assert ok.exit_code == 0 and "ok  cache cache.json" in ok.stdout, ok.stdout + ok.stderr
    cache = tmp_path / "state" / "catalog" / CACHE_FILE
    cache.write_text(cache.read_text() + " ")
    bad = runner.invoke(app, ["catalog", "verify"])
    assert bad.exit_code != 0 and "does not match its manifest" in bad.stderr


@pytest.mark.slow
@pytest.mark.sandbox
def test_watch_once_still_scans_behind_a_hostile_feed(
    server: str, tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    sb = sandbox_factory.get("16.4", "0.7.4")
    BODIES["/versions.json"] = [_row("16", "99", "<script>x</script>"), _row("16", "4.x", None)]
    targets = tmp_path / "targets.toml"
    targets.write_text(
        f'[[targets]]\nname = "db"\ndsn = "postgresql://postgres@127.0.0.1:{sb.port}/postgres"\n'
        'password = "env:VP_HOSTILE_PW"\n'
    )
    env = {"VP_HOSTILE_PW": sb._password(), "VECPATCH_OFFLINE": "", "VECPATCH_NOTIFY": ""}
    feeds = ["github-tags", "github-advisories", "pgxn", "osv", "nvd", "cve-org"]
    feeds += ["postgresql-cve", "distro", "postgresql-versions"]
    args = ["watch", "--once", "--targets", str(targets), "--timeout", "1"]
    args += ["--history", f"sqlite:///{tmp_path / 'h.db'}"]
    args += [f"--base-url={name}={server}" for name in feeds]
    res = runner.invoke(app, args, env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert doc["scan_run_id"] and "postgresql-versions" in doc["fetched"]
    assert any("held postgresql:16.99" in s for s in doc["skipped"]), doc["skipped"]
    cat = load_catalog()
    assert latest_minor(cat, "16").version != "16.99"  # type: ignore[union-attr]
    assert cat.majors["16"].eol is not None
