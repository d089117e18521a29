"""The web app's rules, in process: read-only, bearer token, one error shape, the JSON API.

A real SQLite history with hand-recorded runs (the metric values themselves are tested
on a sandbox-recorded history in ``tests/metrics``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from vecpatch.cli.main import app as cli_app
from vecpatch.errors import UsageError
from vecpatch.history import FindingRecord, HistoryStore, ScanRecord
from vecpatch.web.app import WebSettings, create_app
from vecpatch.web.source import HistorySource

TOKEN = "t0ken-for-tests-0123456789"
T0 = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}") as opened:
        run = opened.start_run("scan", environment="prod", started_at=T0)
        opened.record_scan_result(
            ScanRecord(run_id=run, target="db1", database="app", reachable=True,
                       environment="prod", pg_version="16.4", pgvector_installed="0.7.4",
                       pgvector_default="0.8.5")
        )  # fmt: skip
        opened.record_findings(
            [FindingRecord(run_id=run, target="db1", database="app", kind="VULNERABLE",
                           advisory_id="CVE-2026-3172", severity="high", affected=True,
                           exposed=True, fix_version="0.8.2",
                           fix_available_at=datetime(2026, 2, 25, tzinfo=UTC),
                           installed_version="0.7.4",
                           payload={"next_action": "update pgvector to 0.8.2 or later"})]
        )  # fmt: skip
        opened.finish_run(run, "ok", {"databases": 1}, finished_at=T0 + timedelta(seconds=3))
        yield opened


def _client(store: HistoryStore, token: str | None = None) -> TestClient:
    source = HistorySource(store, since="all", clock=lambda: T0 + timedelta(days=10))
    return TestClient(create_app(WebSettings(source, token)), base_url="http://localhost")


def test_pages_and_api(store: HistoryStore) -> None:
    client = _client(store)
    page = client.get("/", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'id="fleet"' in page.text
    assert "update pgvector to 0.8.2 or later" in page.text
    fleet = client.get("/api/fleet").json()
    assert fleet["fleet"][0]["installed"] == "0.7.4" and fleet["fleet"][0]["on_disk"] == "0.8.5"
    runs = client.get("/api/runs").json()["runs"]
    assert [r["kind"] for r in runs] == ["scan"]
    detail = client.get(f"/api/runs/{runs[0]['id']}").json()
    assert detail["run"]["summary"] == {"databases": 1}
    assert detail["findings"][0]["advisory_id"] == "CVE-2026-3172"
    assert client.get(f"/runs/{runs[0]['id']}").status_code == 200
    metrics = client.get("/api/metrics").json()
    window = metrics["vulnerability_window"]["windows"][0]
    assert window["open"] is True
    assert (
        window["seconds"]
        == (T0 + timedelta(days=10) - datetime(2026, 2, 25, tzinfo=UTC)).total_seconds()
    )
    assert client.head("/").status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/api/fleet", "/metrics", "/api/runs/x", "/nowhere"])
def test_only_reads_are_allowed(store: HistoryStore, method: str, path: str) -> None:
    response = _client(store).request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_error_shape_json_and_html(store: HistoryStore) -> None:
    client = _client(store)
    for path, status in [("/api/runs/missing", 404), ("/nowhere", 404), ("/api/runs?limit=x", 400)]:
        response = client.get(path)
        assert response.status_code == status
        body = response.json()
        assert body["ok"] is False and body["status"] == status and body["error"]
    page = client.get("/runs/missing", headers={"accept": "text/html"})
    assert page.status_code == 404 and 'id="error"' in page.text and "no run missing" in page.text


def test_token_required_on_every_request(store: HistoryStore) -> None:
    client = _client(store, TOKEN)
    for path in ("/", "/metrics", "/api/fleet"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"authorization": "Bearer wrong"}).status_code == 401
        ok = client.get(path, headers={"authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
    assert client.get("/api/fleet").headers["www-authenticate"] == "Bearer"


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    args = ["serve", "--host", "0.0.0.0", "--history", f"sqlite:///{tmp_path / 'h.db'}"]
    result = CliRunner().invoke(cli_app, args)
    assert isinstance(result.exception, UsageError)
    assert int(result.exception.exit_code) == 2
    assert "without a token" in result.exception.message
    short = tmp_path / "short"
    short.write_text("abc")
    result = CliRunner().invoke(cli_app, [*args, "--token-file", str(short)])
    assert isinstance(result.exception, UsageError) and "too short" in result.exception.message


def test_secrets_never_shown(tmp_path: Path) -> None:
    with HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}", secrets=["S3cret-Value-77"]) as store:
        run = store.start_run("apply")
        store.finish_run(run, "failed", {"error": "password S3cret-Value-77 rejected"})
        client = _client(store)
        for path in ("/", f"/runs/{run}", f"/api/runs/{run}", "/api/runs", "/metrics"):
            assert "S3cret-Value-77" not in client.get(path).text


def test_history_is_read_again_only_when_it_changed(store: HistoryStore) -> None:
    """Scrapes between two writes reuse what was read; a write is seen by the next request."""
    source = HistorySource(store, since="all", clock=lambda: T0 + timedelta(days=10))
    first, second = source.snapshot(), source.snapshot()
    assert second.data is first.data and second.metrics is first.metrics
    run = store.start_run("scan", environment="prod", started_at=T0 + timedelta(days=1))
    store.record_scan_result(
        ScanRecord(run_id=run, target="db1", database="app", reachable=True,
                   environment="prod", pg_version="16.4", pgvector_installed="0.8.5",
                   pgvector_default="0.8.5")
    )  # fmt: skip
    store.finish_run(run, "ok", {"databases": 1}, finished_at=T0 + timedelta(days=1, seconds=2))
    third = source.snapshot()
    assert third.data is not first.data and len(third.data.scan_results) == 2
    window = third.metrics.vulnerability_window.windows[0]
    assert window.closed_at == T0 + timedelta(days=1) and window.closed_by == "fixed"
