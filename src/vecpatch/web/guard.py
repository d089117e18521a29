"""The only two rules applied before any route: read-only methods, and the bearer token.

Pure ASGI middleware so it also covers unknown paths. With a token configured every
request must carry ``Authorization: Bearer <token>``; the comparison is constant-time
(``hmac.compare_digest``) so response timing leaks nothing about the token.
"""

from __future__ import annotations

import hmac

from jinja2 import Environment
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from vecpatch.web.errors import error_response

READ_METHODS = frozenset({"GET", "HEAD"})


def token_ok(header: str, token: str) -> bool:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


class Guard:
    def __init__(self, app: ASGIApp, templates: Environment, token: str | None) -> None:
        self.app = app
        self.templates = templates
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = str(scope.get("path", "/"))
        if self.token is not None and not token_ok(headers.get("authorization", ""), self.token):
            response = error_response(
                self.templates, path, headers, 401, "a bearer token is required",
                {"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        elif scope["method"] not in READ_METHODS:
            response = error_response(
                self.templates, path, headers, 405, "read-only: only GET and HEAD are allowed",
                {"Allow": "GET, HEAD"},
            )  # fmt: skip
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
