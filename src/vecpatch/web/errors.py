"""Every error the web app returns is rendered here, as HTML or as JSON.

Exceptions carry their HTTP status (:class:`WebError`); the app's handlers, the
method/token guard and unknown routes all end in :func:`error_response`, so the JSON
shape ``{"ok": false, "status": N, "error": "..."}`` is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import Environment
from starlette.responses import HTMLResponse, JSONResponse, Response

from vecpatch.errors import VecpatchError


class WebError(VecpatchError):
    """An error with the HTTP status it should be shown with."""

    status = 500


class NotFound(WebError):
    status = 404


def wants_json(path: str, accept: str) -> bool:
    """The API and ``/metrics`` always answer JSON; pages answer HTML to browsers."""
    if path.startswith("/api/") or path == "/metrics":
        return True
    return "text/html" not in accept


def error_response(
    templates: Environment,
    path: str,
    headers: Mapping[str, str],
    status: int,
    message: str,
    extra_headers: Mapping[str, str] | None = None,
) -> Response:
    if wants_json(path, headers.get("accept", "")):
        body = {"ok": False, "status": status, "error": message}
        return JSONResponse(body, status_code=status, headers=extra_headers)
    html = templates.get_template("error.html").render(status=status, message=message)
    return HTMLResponse(html, status_code=status, headers=extra_headers)
