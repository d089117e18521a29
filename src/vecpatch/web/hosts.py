"""Answer only requests addressed to a name this server serves (DNS-rebinding defence).

A page on ``evil.example`` whose name an attacker re-points at 127.0.0.1 can make a
browser read the tokenless loopback dashboard: the request arrives on loopback, but
its ``Host`` header still says ``evil.example``. So the header is checked against the
names the server was bound to (loopback names when bound to loopback) plus an
explicit allow-list; anything else gets 421 before any route runs.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from jinja2 import Environment
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from vecpatch.web.errors import error_response

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_HOST = "*"
"""In the allow-list: accept every Host (behind a proxy that checks it)."""
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


def _normal(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def served_names(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host names to accept when bound to *bind*, plus the operator's *extra* names."""
    names = {_normal(n) for n in extra if n.strip()}
    bind = _normal(bind)
    if bind in WILDCARD_BINDS:
        names |= LOOPBACK_NAMES | {_normal(socket.gethostname()), _normal(socket.getfqdn())}
    else:
        names.add(bind)
        if is_loopback(bind):
            names |= LOOPBACK_NAMES
    return frozenset(names)


def host_name(header: str) -> str:
    """The name part of a Host header: port, IPv6 brackets and a trailing dot removed."""
    value = header.strip()
    if value.startswith("["):
        return _normal(value.partition("]")[0])
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return _normal(value)


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request with this Host header (None: none sent) may be answered."""
    if ANY_HOST in allowed:
        return True
    return header is not None and host_name(header) in allowed


class HostCheck:
    """Pure ASGI middleware: 421 for a Host outside *allowed*, before any other rule."""

    def __init__(self, app: ASGIApp, templates: Environment, allowed: frozenset[str]) -> None:
        self.app = app
        self.templates = templates
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        if scope["type"] != "http" or host_allowed(headers.get("host"), self.allowed):
            await self.app(scope, receive, send)
            return
        message = "this server does not answer for that Host; see `vecpatch serve --allowed-host`"
        path = str(scope.get("path", "/"))
        response = error_response(self.templates, path, headers, 421, message)
        await response(scope, receive, send)
