"""``serve`` answers only Host names it serves (issue 15 item 9), over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from vecpatch.history import HistoryStore
from vecpatch.web.app import WebSettings, create_app
from vecpatch.web.hosts import LOOPBACK_NAMES, host_allowed, host_name, served_names
from vecpatch.web.source import HistorySource


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real uvicorn server on loopback, bound the way ``vecpatch serve`` binds it."""
    db = Path(tmp_path_factory.mktemp("hosts")) / "h.db"
    with HistoryStore.open(f"sqlite:///{db}") as store:
        allowed = served_names("127.0.0.1", ["dash.example.internal"])
        web = create_app(WebSettings(HistorySource(store, since="all"), None, allowed))
        config = uvicorn.Config(web, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:  # readiness wait, not a timed assertion
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "LOCALHOST.", "[::1]:8473", "dash.example.internal:80"]
)
def test_served_names_are_answered(base_url: str, host: str) -> None:
    response = httpx.get(f"{base_url}/api/runs", headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8473", "127.0.0.1.evil.example"])
def test_other_names_get_421(base_url: str, host: str) -> None:
    response = httpx.get(f"{base_url}/api/runs", headers={"Host": host})
    assert response.status_code == 421
    assert response.json()["ok"] is False and "--allowed-host" in response.json()["error"]


def test_names_from_the_bind_address() -> None:
    assert served_names("127.0.0.1") == LOOPBACK_NAMES
    assert served_names("10.0.0.5") == {"10.0.0.5"}
    assert served_names("10.0.0.5", ["Dash.Example."]) == {"10.0.0.5", "dash.example"}
    assert served_names("0.0.0.0") >= LOOPBACK_NAMES
    assert host_name("[::1]:80") == "::1" and host_name("::1") == "::1"
    assert not host_allowed(None, LOOPBACK_NAMES)
    assert host_allowed("anything", frozenset({"*"}))
