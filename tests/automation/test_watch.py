"""`vecpatch watch --once` against a real local feed and a real local webhook receiver.

The feed serves the NVD, GitHub and CVE.org shapes the catalog sources read (other
feeds answer 404 and are skipped); the receiver is Apprise's generic ``json://`` target.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.sandbox.testing import SandboxFactory

from .servers import Site, send, serve

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

CPE = "cpe:2.3:a:pgvector_project:pgvector:*:*:*:*:*:postgresql:*:*"
NEW_CVE = "CVE-2026-77777"


def _nvd(published: bool) -> dict[str, Any]:
    if not published:
        return {"resultsPerPage": 0, "totalResults": 0, "vulnerabilities": []}
    cve = {
        "id": NEW_CVE,
        "published": "2026-11-24T00:00:00.000",
        "lastModified": "2026-11-24T00:00:00.000",
        "descriptions": [{"lang": "en", "value": "pgvector flaw in vector parsing"}],
        "metrics": {
            "cvssMetricV31": [
                {
                    "type": "Primary",
                    "cvssData": {"vectorString": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"},
                }
            ]
        },
        "configurations": [
            {
                "nodes": [
                    {
                        "operator": "OR",
                        "cpeMatch": [
                            {"vulnerable": True, "criteria": CPE, "versionEndExcluding": "0.8.6"}
                        ],
                    }
                ]
            }
        ],
        "references": [],
    }
    return {"resultsPerPage": 1, "totalResults": 1, "vulnerabilities": [{"cve": cve}]}


def _feeds(site: Site, state: dict[str, bool]) -> list[str]:
    site.routes["/nvd"] = lambda h: send(h, _nvd(state["published"]))
    site.routes["/repos"] = lambda h: send(h, [])  # GitHub tags: nothing new
    names = ["github-tags", "github-advisories", "pgxn", "postgresql-versions", "osv", "distro"]
    args = [f"--base-url={n}={site.url}" for n in names]
    args += [f"--base-url=nvd={site.url}/nvd", f"--base-url=cve-org={site.url}/api/cve"]
    return [*args, f"--base-url=postgresql-cve={site.url}/pgweb"]


def test_new_advisory_notifies_once(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=100)
    targets = tmp_path / "targets.toml"
    targets.write_text(
        f'[[targets]]\nname = "app-db"\nenvironment = "production"\n'
        f'dsn = "postgresql://postgres@127.0.0.1:{sb.port}/postgres"\n'
        'password = "env:VP_WATCH_PW"\n'
    )
    env = {
        "VP_WATCH_PW": sb._password(),
        "VECPATCH_STATE": str(tmp_path / "state"),
        "VECPATCH_OFFLINE": "",
        "VECPATCH_TARGETS": "",
        "VECPATCH_NOTIFY": "",
    }
    state = {"published": False}
    with serve() as feed, serve() as hook:
        hook_url = hook.url.replace("http://", "json://") + "/hook"
        args = ["watch", "--once", "--targets", str(targets), "--notify", hook_url]
        args += ["--history", f"sqlite:///{tmp_path / 'h.db'}", "--timeout", "2"]
        args += _feeds(feed, state)

        def run() -> dict[str, Any]:
            res = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
            assert res.exit_code == 0, res.stdout + res.stderr
            assert sb._password() not in res.stdout + res.stderr
            assert hook.url.split("//")[1] not in res.stdout + res.stderr  # recipient never shown
            doc: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
            return doc

        baseline = run()  # what was already true before the advisory: told once, here
        assert "nvd" in baseline["fetched"]
        hook.posts.clear()
        assert run()["messages"] == 0 and hook.posts == []

        state["published"] = True
        published = run()
        assert published["messages"] == 1
        assert len(hook.posts) == 1
        path, body = hook.posts[0]
        assert path == "/hook"
        assert NEW_CVE in body["title"] + body["message"]
        assert "app-db/postgres" in body["message"]
        keys = {e["key"] for e in published["new_events"]}
        assert f"advisory:{NEW_CVE}" in keys
        assert f"finding:VULNERABLE:{NEW_CVE}:app-db/postgres" in keys

        hook.posts.clear()
        again = run()
        assert again["messages"] == 0 and again["new_events"] == []
        assert hook.posts == []
