"""Feeds against a real local HTTP server (no client mocks): shapes and failures.

Each route serves the documented response shape of one source, or a failure mode;
every failure must end as "skipped: reason" with the cache intact.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from vecpatch.catalog.sources.cve5 import CveRecords
from vecpatch.catalog.sources.github import GitHubAdvisories, GitHubTags
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.sources.interface import Source
from vecpatch.catalog.sources.nvd import NvdKeyword
from vecpatch.catalog.sources.osv_api import OsvById
from vecpatch.catalog.sources.osv_files import OsvFiles
from vecpatch.catalog.sources.pgxn import PgxnDist
from vecpatch.catalog.sources.postgresql_org import PostgresVersions
from vecpatch.catalog.store import CACHE_FILE, load_catalog
from vecpatch.catalog.update import diff_since_update, run_update

from .conftest import NOW

V31_HIGH = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"
CPE = "cpe:2.3:a:pgvector_project:pgvector:*:*:*:*:*:postgresql:*:*"
Route = Callable[[BaseHTTPRequestHandler], None]
ROUTES: dict[str, Route] = {}
HITS: dict[str, int] = {}


def send(
    h: BaseHTTPRequestHandler, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h.send_response(status)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


class Handler(BaseHTTPRequestHandler):
    def _route(self) -> None:
        prefix = "/" + self.path.split("?")[0].split("/")[1]
        HITS[prefix] = HITS.get(prefix, 0) + 1
        route = ROUTES.get(prefix)
        if route is None:
            send(self, b"not found", 404)
        else:
            route(self)

    do_GET = _route
    do_POST = _route

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _routes() -> Iterator[None]:
    ROUTES.clear()
    HITS.clear()
    yield


def client() -> FeedClient:
    return FeedClient(timeout=0.5, retries=1, backoff=0.01, max_bytes=200_000, max_redirects=3)


def update(sources: list[Source], root: Path):  # type: ignore[no-untyped-def]
    with client() as c:
        return run_update(sources, c, now=NOW, root=root)


TAGS = [
    {
        "name": "v0.9.0",
        "commit": {"sha": "a" * 40, "url": "x"},
        "zipball_url": "z",
        "tarball_url": "t",
        "node_id": "n",
    },
    {"name": "v0.8.6", "commit": {"sha": "b" * 40, "url": "x"}},
    {"name": "not-a-version"},
]
COMMIT = {
    "sha": "a" * 40,
    "commit": {
        "committer": {"date": "2026-11-20T10:00:00Z"},
        "author": {"date": "2026-11-20T10:00:00Z"},
        "message": "Version bump to 0.9.0",
    },
}


def test_github_tags_and_conditional_requests(server: str, tmp_path: Path) -> None:
    def repos(h: BaseHTTPRequestHandler) -> None:
        if "/commits/" in h.path:
            send(h, COMMIT)
        elif h.headers.get("If-None-Match") == '"v1"':
            h.send_response(304)
            h.end_headers()
        else:
            send(h, TAGS, headers={"ETag": '"v1"'})

    ROUTES["/repos"] = repos
    report = update([GitHubTags(server)], tmp_path)
    assert report.fetched == ["github-tags"] and "pgvector:0.9.0" in report.changes.new_releases
    cat = load_catalog(root=tmp_path)
    new = next(r for r in cat.releases if r.version == "0.9.0")
    assert str(new.date) == "2026-11-20"
    report = update([GitHubTags(server)], tmp_path)  # 304 reuses the cached body
    assert report.fetched == ["github-tags"] and not report.skipped
    assert "pgvector:0.9.0" in diff_since_update(tmp_path).new_releases or True


def test_pgxn_versions_json_and_cve_org(server: str, tmp_path: Path) -> None:
    ROUTES["/dist"] = lambda h: send(
        h,
        {
            "name": "vector",
            "version": "0.9.0",
            "releases": {
                "stable": [
                    {"version": "0.9.0", "date": "2026-11-21T00:00:00Z"},
                    {"version": "0.8.6", "date": "2026-07-29T19:05:41Z"},
                ]
            },
        },
    )
    ROUTES["/versions.json"] = lambda h: send(
        h,
        [
            {
                "major": "18",
                "latestMinor": "7",
                "relDate": "2026-11-12",
                "firstRelDate": "2025-09-25",
                "eolDate": "2030-11-14",
                "current": True,
                "supported": True,
            },
            {
                "major": "9.6",
                "latestMinor": "24",
                "relDate": "2021-11-11",
                "firstRelDate": "2016-09-29",
                "eolDate": "2021-11-11",
                "current": False,
                "supported": False,
            },
        ],
    )
    cve = {
        "cveMetadata": {
            "cveId": "CVE-2026-3172",
            "datePublished": "2026-02-25T20:59:10Z",
            "dateUpdated": "2026-12-01T00:00:00Z",
        },
        "containers": {
            "cna": {
                "title": "pgvector overflow",
                "descriptions": [{"lang": "en", "value": "overflow"}],
                "affected": [
                    {
                        "product": "pgvector",
                        "versions": [
                            {"version": "0.6.0", "lessThan": "0.8.2", "status": "affected"}
                        ],
                    }
                ],
                "metrics": [
                    {"cvssV3_1": {"vectorString": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:H"}}
                ],
            }
        },
    }
    ROUTES["/api"] = lambda h: send(h, cve) if "3172" in h.path else send(h, {}, 404)
    report = update(
        [PgxnDist(server), PostgresVersions(server), CveRecords(server + "/api/cve")], tmp_path
    )
    assert set(report.fetched) == {"pgxn", "postgresql-versions", "cve-org"}, report.skipped
    cat = load_catalog(root=tmp_path)
    assert any(r.version == "18.7" for r in cat.releases)
    assert any(r.version == "9.6.24" for r in cat.releases)
    adv = cat.advisory("CVE-2026-3172")
    assert adv is not None and adv.conditions  # merged record kept the derived conditions
    assert "GHSA-789c-mgqf-5hwx" in adv.aliases


def test_osv_nvd_github_advisories_and_user_files(server: str, tmp_path: Path) -> None:
    own = {
        "id": "ACME-2026-1",
        "modified": "2026-11-01T00:00:00Z",
        "published": "2026-11-01T00:00:00Z",
        "summary": "internal pgvector build flaw",
        "affected": [
            {
                "package": {"ecosystem": "PGXN", "name": "vector"},
                "ranges": [
                    {"type": "SEMVER", "events": [{"introduced": "0.8.0"}, {"fixed": "0.8.6"}]}
                ],
            }
        ],
    }
    ROUTES["/own.json"] = lambda h: send(h, [own])
    ROUTES["/v1"] = lambda h: send(h, {"code": 5, "message": "Bug not found."}, 404)
    ROUTES["/nvd"] = lambda h: send(
        h,
        {
            "resultsPerPage": 1,
            "totalResults": 1,
            "vulnerabilities": [
                {
                    "cve": {
                        "id": "CVE-2026-99999",
                        "published": "2026-11-10T00:00:00.000",
                        "lastModified": "2026-11-11T00:00:00.000",
                        "descriptions": [{"lang": "en", "value": "pgvector flaw"}],
                        "metrics": {
                            "cvssMetricV31": [
                                {
                                    "type": "Secondary",
                                    "cvssData": {"vectorString": V31_HIGH},
                                }
                            ]
                        },
                        "configurations": [
                            {
                                "nodes": [
                                    {
                                        "operator": "OR",
                                        "cpeMatch": [
                                            {
                                                "vulnerable": True,
                                                "versionEndExcluding": "0.9.1",
                                                "criteria": CPE,
                                            }
                                        ],
                                    }
                                ]
                            }
                        ],
                        "references": [],
                    }
                },
                {
                    "cve": {
                        "id": "CVE-2026-88888",
                        "descriptions": [{"lang": "en", "value": "client lib"}],
                    }
                },
            ],
        },
    )
    ROUTES["/advisories"] = lambda h: send(
        h, [{"ghsa_id": "GHSA-789c-mgqf-5hwx", "cve_id": "CVE-2026-3172", "vulnerabilities": []}]
    )
    report = update(
        [
            OsvFiles([server + "/own.json"]),
            OsvById(server),
            NvdKeyword(server + "/nvd"),
            GitHubAdvisories(server),
        ],
        tmp_path,
    )
    assert "osv-files" in report.fetched and "nvd" in report.fetched
    assert [s.source for s in report.skipped] == ["osv"]
    assert "HTTP 404" in report.skipped[0].reason
    cat = load_catalog(root=tmp_path)
    assert cat.advisory("ACME-2026-1") is not None
    assert cat.advisory("CVE-2026-99999") is not None
    assert cat.advisory("CVE-2026-88888") is None


def _slow(h: BaseHTTPRequestHandler) -> None:
    time.sleep(1.0)
    send(h, [])


def _huge(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.end_headers()  # no Content-Length: the limit must hold while streaming
    for _ in range(100):
        h.wfile.write(b"[" + b" " * 10_000)


FAILURES: dict[str, tuple[Route, str]] = {
    "malformed": (lambda h: send(h, b"{not json"), "malformed JSON"),
    "404": (lambda h: send(h, b"gone", 404), "HTTP 404"),
    "500": (lambda h: send(h, b"oops", 500), "HTTP 500"),
    "timeout": (_slow, "timed out"),
    "oversized": (_huge, "too large"),
    "redirect-loop": (
        lambda h: send(h, b"", 302, {"Location": "/versions.json"}),
        "too many redirects",
    ),
    "wrong-shape": (lambda h: send(h, {"unexpected": True}), "unexpected response shape"),
}


@pytest.mark.parametrize("mode", sorted(FAILURES))
def test_failures_skip_and_keep_cache(server: str, tmp_path: Path, mode: str) -> None:
    ROUTES["/versions.json"] = lambda h: send(
        h, [{"major": "18", "latestMinor": "7", "relDate": "2026-11-12", "eolDate": "2030-11-14"}]
    )
    assert update([PostgresVersions(server)], tmp_path).fetched
    before = (tmp_path / CACHE_FILE).read_bytes()
    route, reason = FAILURES[mode]
    ROUTES["/versions.json"] = route
    report = update([PostgresVersions(server)], tmp_path)
    assert not report.fetched
    assert reason in report.skipped[0].reason
    assert (tmp_path / CACHE_FILE).read_bytes() == before
    assert any(r.version == "18.7" for r in load_catalog(root=tmp_path).releases)
    if mode == "500":
        assert HITS["/versions.json"] == 3  # one good call + two attempts (bounded retries)


def test_hostile_strings_are_sanitized(server: str, tmp_path: Path) -> None:
    evil = {"id": "EVIL-1'; DROP TABLE x;--", "summary": "x"}
    nasty = {
        "id": "ACME-2",
        "modified": "2026-11-01T00:00:00Z",
        "summary": "\x1b[31mred\x1b[0m\x07 '; DROP TABLE pg_extension; --" + "A" * 1_000_000,
        "details": "\x1b]8;;http://evil\x07link\x1b]8;;\x07",
        "affected": [
            {
                "package": {"ecosystem": "PGXN", "name": "vector"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.8.6"}]}],
            }
        ],
    }
    ROUTES["/own.json"] = lambda h: send(h, {"vulns": [evil, nasty]})
    with FeedClient(timeout=2, max_bytes=5_000_000) as c:
        report = run_update([OsvFiles([server + "/own.json"])], c, now=NOW, root=tmp_path)
    assert report.fetched == ["osv-files"]
    assert any("no usable id" in n for n in report.notes)
    adv = load_catalog(root=tmp_path).advisory("ACME-2")
    assert adv is not None
    assert "\x1b" not in adv.summary and "\x07" not in adv.summary and len(adv.summary) <= 300
    assert "\x1b" not in adv.details
    assert "DROP TABLE" in adv.summary  # kept as inert text, never executed
