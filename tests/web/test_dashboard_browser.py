"""Headless Chromium (Debian's, driven by Playwright) against a real ``vecpatch serve``
subprocess on a history recorded by real sandbox scans, stage runs and applies.

Checks the fleet table and the charts show the history's numbers, follows a run to its
evidence, and keeps a screenshot under ``test-artifacts/`` (git-ignored). Skips when
Chromium or Playwright is missing, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.metrics.scenario import Fresh, Scenario, _apply, _scan, record_scenario
from vecpatch.catalog.store import load_catalog
from vecpatch.history import HistoryStore
from vecpatch.metrics import Period, compute_metrics, load_history
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

CHROMIUM = Path(os.environ.get("VECPATCH_TEST_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _need_browser() -> Any:
    why = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "playwright is not installed (pip install -e '.[dev]')"
    if why is None and not CHROMIUM.exists():
        why = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


EXTRA_DATABASES = (16, 16, 17)
"""Added to alpha, bravo and charlie before a last scan of every database (postgres and
template1 included): 3 servers, 55 databases."""


@pytest.fixture(scope="module")
def recorded(
    sandbox_factory: SandboxFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    """The metrics scenario (real scans, stage runs, applies), then a refused apply (no
    0.8.5 package on charlie) and a scan of every database after 49 more were created
    (a third of them with pgvector)."""
    folder = tmp_path_factory.mktemp("browser")
    fresh = Fresh(sandbox_factory)
    try:
        scenario = record_scenario(f"sqlite:///{folder / 'history.db'}", folder, fresh)
        alpha, bravo, charlie = fresh.made
        refused = _apply(scenario.history, scenario.targets, scenario.env, "charlie", charlie)
        assert refused.outcome.value == "refused", refused.outcome
        for sb, extra in zip((alpha, bravo, charlie), EXTRA_DATABASES, strict=True):
            for n in range(extra):
                sb.run_sql(f"CREATE DATABASE app{n:02d}")
                if n % 3 == 0:
                    sb.run_sql("CREATE EXTENSION vector", dbname=f"app{n:02d}")
        every = scenario.targets.read_text().replace(
            'password = "env:', 'databases = "all"\npassword = "env:'
        )
        scenario.targets.write_text(every)
        _scan(scenario.history, scenario.targets, scenario.env)
        yield scenario
    finally:
        fresh.close()


@pytest.fixture(scope="module")
def server(recorded: Scenario) -> Iterator[str]:
    """``vecpatch serve`` in a subprocess on a free port; stopped (by its pid) afterwards."""
    port = _free_port()
    env = {**os.environ, "VECPATCH_HISTORY": "", "VECPATCH_TARGETS": ""}
    cmd = [sys.executable, "-m", "vecpatch", "serve", "--port", str(port),
           "--history", recorded.history, "--since", "all"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/runs", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"vecpatch serve did not start: {output}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
"""Refreshed by ``VECPATCH_SCREENSHOTS=1 pytest tests/web/test_dashboard_browser.py``."""


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if os.environ.get("VECPATCH_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))  # the first screen: small files


def _no_overflow(page: Any, path: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800, f"{path} is {width} px wide at an 800 px viewport"


def test_every_page_in_chromium(recorded: Scenario, server: str) -> None:
    sync_playwright = _need_browser()
    with HistoryStore.open(recorded.history) as store:
        data = load_history(store, load_catalog(offline=True))
        refused = next(r for r in store.runs("apply") if r.status == "refused")
    expected = compute_metrics(data, Period(until=datetime.now(UTC)))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            for path, name in [("/", "overview"), ("/advisories", "advisories"),
                               ("/servers", "servers"), ("/databases", "databases"),
                               ("/runs", "runs"), (f"/runs/{refused.id}", "run-refused"),
                               (f"/runs/{recorded.bad.run_id}", "run-failed"),
                               ("/advisories/CVE-2026-3172", "advisory")]:  # fmt: skip
                page.goto(server + path)
                text = page.locator("main").inner_text()
                assert "True" not in text and "None" not in text and "'pass'" not in text, path
                _no_overflow(page, path)
                _shot(page, name)
            _overview(page, server, expected)
            _advisories(page, server)
            _servers_and_databases(page, server)
            _runs(page, server, recorded, refused.id)
        finally:
            browser.close()


def _overview(page: Any, server: str, expected: Any) -> None:
    page.goto(server + "/")
    first = page.locator("#todo .actions li").first
    assert first.get_attribute("data-product") == "pgvector"
    assert "pgvector" in first.inner_text()
    top = page.locator("#advisories tbody tr").first
    assert top.get_attribute("data-product") == "pgvector"
    card = page.locator("#card-production_update_success_rate")
    assert "50.0 %" in card.inner_text() and card.get_attribute("data-met") == "missed"
    assert "75.0 %" in page.locator("#card-staging_test_coverage").inner_text()
    # one point per scan, each the state of the whole fleet at that scan
    points = page.locator('#chart-exposure circle.point[data-series="databases exposed"]')
    assert points.count() == 3
    servers = page.locator('#chart-exposure circle.point[data-series="servers exposed"]')
    assert [servers.nth(i).get_attribute("data-value") for i in range(3)] == ["3.000"] * 3
    assert page.locator("#chart-exposure .axis-label").count() == 2
    assert page.locator("#chart-windows line.limit").get_attribute("data-value") == "7.000"
    labels = page.locator("#chart-windows rect.bar")
    ids = [labels.nth(i).get_attribute("data-label") for i in range(labels.count())]
    assert len(ids) == len(set(ids))  # one bar per advisory, never one per database
    [event] = expected.update_cadence.events
    bar = page.locator("#chart-cadence rect.bar")
    assert float(bar.first.get_attribute("data-value") or "nan") == pytest.approx(
        event.seconds / 86_400, abs=1e-2
    )
    fresh = page.locator("#freshness").inner_text()
    assert "UTC" in fresh and ("just now" in fresh or "ago" in fresh)


def _advisories(page: Any, server: str) -> None:
    page.goto(server + "/advisories")
    rows = page.locator("#advisories tbody tr")
    products = [rows.nth(i).get_attribute("data-product") for i in range(rows.count())]
    assert products[0] == "pgvector" and "postgresql" in products
    assert products == sorted(products, key=lambda p: p != "pgvector")  # pgvector first
    postgres = page.locator('#advisories tr[data-product="postgresql"]').first
    assert postgres.locator("td.exposed").inner_text().endswith(("1 server", "2 servers",
                                                                 "3 servers"))  # fmt: skip
    page.goto(server + "/advisories?product=postgresql&severity=high")
    shown = page.locator("#advisories tbody tr[data-advisory]")
    assert all(
        shown.nth(i).get_attribute("data-product") == "postgresql" for i in range(shown.count())
    )
    page.goto(server + "/advisories/CVE-2026-3172")
    assert page.locator("#advisory-id").inner_text() == "CVE-2026-3172"
    assert "charlie" in page.locator("#where-exposed").inner_text()


def _servers_and_databases(page: Any, server: str) -> None:
    page.goto(server + "/servers")
    assert page.locator("#servers tbody tr[data-server]").count() == 3
    page.goto(server + "/databases")
    assert "55 of 55 shown" in page.locator("#count").inner_text()
    assert page.locator("#databases tbody tr[data-database]").count() == 50
    page.click("a[rel=next]")
    assert page.locator("#databases tbody tr[data-database]").count() == 5
    page.goto(server + "/databases?target=charlie&q=app0")
    names = page.locator("#databases tbody tr[data-database]")
    assert names.count() == 10 and all(
        names.nth(i).get_attribute("data-target") == "charlie" for i in range(10)
    )


def _runs(page: Any, server: str, recorded: Scenario, refused: str) -> None:
    page.goto(server + f"/runs/{refused}")
    assert page.locator("#run-status").inner_text() == "refused"
    why = page.locator("#why").inner_text()
    assert "charlie/postgres" in why and "0.8.5" in why
    page.goto(server + f"/runs/{recorded.bad.run_id}")
    assert page.locator("#run-status").inner_text() == "failed"
    assert "made to fail" in page.locator("#apply-steps").inner_text()
    assert "made to fail" in page.locator("#incidents").inner_text()
    assert page.locator("#rollback").inner_text().startswith("vecpatch rollback ")
    assert page.locator("code.evidence").count() == 2
    stage = recorded.stage_runs[1]
    page.goto(server + f"/runs/{stage}")
    assert page.locator("#stage-cases tr[data-case]").count() == 4
    assert "critical case c3 fail" in page.locator("#why").inner_text()
