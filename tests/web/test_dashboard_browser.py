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

from tests.metrics.scenario import Fresh, Scenario, record_scenario
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


@pytest.fixture(scope="module")
def recorded(
    sandbox_factory: SandboxFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    folder = tmp_path_factory.mktemp("browser")
    fresh = Fresh(sandbox_factory)
    try:
        yield record_scenario(f"sqlite:///{folder / 'history.db'}", folder, fresh)
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


def test_dashboard_in_chromium(recorded: Scenario, server: str) -> None:
    sync_playwright = _need_browser()
    with HistoryStore.open(recorded.history) as store:
        data = load_history(store, load_catalog(offline=True))
    expected = compute_metrics(data, Period(until=datetime.now(UTC)))
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server + "/")
            rows = page.locator("#fleet tbody tr")
            assert rows.count() == 3
            cells = {
                rows.nth(i).get_attribute("data-target"): (
                    rows.nth(i).locator("td.installed").inner_text(),
                    rows.nth(i).locator("td.on-disk").inner_text(),
                    rows.nth(i).locator("td.advisories").get_attribute("title") or "",
                )
                for i in range(3)
            }
            assert cells["alpha"][:2] == ("0.8.5", "0.8.5")
            assert cells["bravo"][:2] == ("0.7.4", "0.8.5")
            assert cells["charlie"][0] == "0.6.2" and "CVE-2026-3172" in cells["charlie"][2]
            severity = {
                r["target"]: r["severity"] for r in (x.to_dict() for x in expected.exposure.rows)
            }
            for target, sev in severity.items():
                shown = page.locator(f'#fleet tr[data-target="{target}"] td.severity').inner_text()
                assert shown == (sev or "not exposed")
            card = page.locator("#card-production_update_success_rate")
            assert "50.0 %" in card.inner_text() and card.get_attribute("data-met") == "missed"
            coverage = page.locator("#card-staging_test_coverage").inner_text()
            assert "75.0 %" in coverage
            # charts: one point per scan, one bar per cadence event and per window
            points = page.locator("#chart-exposure circle.point")
            assert points.count() == 2
            values = [points.nth(i).get_attribute("data-value") for i in range(2)]
            assert values == ["3.000", "3.000"]
            [event] = expected.update_cadence.events
            bar = page.locator("#chart-cadence rect.bar")
            assert bar.count() == 1
            assert float(bar.first.get_attribute("data-value") or "nan") == pytest.approx(
                event.seconds / 86_400, abs=1e-2
            )
            windows = page.locator("#chart-windows rect.bar")
            every = sorted(w.seconds for w in expected.vulnerability_window.windows)
            assert windows.count() == min(25, len(every))
            longest = float(windows.first.get_attribute("data-value") or "nan")
            assert longest == pytest.approx(every[-1] / 86_400, abs=1e-2)
            label = page.locator(
                "#chart-windows rect.bar[data-label='alpha/postgres CVE-2026-3172']"
            )
            if label.count():  # among the longest shown: closed at the second scan
                closed = next(
                    w
                    for w in expected.vulnerability_window.windows
                    if (w.target, w.advisory_id) == ("alpha", "CVE-2026-3172")
                )
                assert float(label.get_attribute("data-value") or "nan") == pytest.approx(
                    closed.seconds / 86_400, abs=1e-2
                )
            assert page.locator("#chart-windows line.limit").get_attribute("data-value") == "7.000"
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            page.click(f'#runs tr[data-run="{recorded.bad.run_id}"] a')
            page.wait_for_selector("#apply-steps")
            assert page.locator("#run-status").inner_text() == "failed"
            steps = page.locator("#apply-steps").inner_text()
            assert "update" in steps and "made to fail" in steps
            assert "made to fail" in page.locator("#incidents").inner_text()
            page.screenshot(path=str(ARTIFACTS / "run-detail.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
