"""Real local HTTP servers for automation tests: a feed that can publish, a webhook sink."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]


def send(h: BaseHTTPRequestHandler, body: Any, status: int = 200) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


class Site:
    """Routes by first path segment; records every POST body it receives."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.url = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                prefix = "/" + self.path.split("?")[0].split("/")[1]
                route = site.routes.get(prefix)
                if route is None:
                    send(self, b"not found", 404)
                else:
                    route(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                site.posts.append((self.path, body))
                send(self, {"ok": True})

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def serve() -> Iterator[Site]:
    site = Site()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), site.handler())
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    site.url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield site
    finally:
        srv.shutdown()
        srv.server_close()
