"""The FastAPI app behind ``vecpatch serve``: dashboard, read-only JSON API, ``/metrics``.

Routes only read; the :class:`~vecpatch.web.guard.Guard` refuses every other method
and, when a token is configured, every request without it. Errors from any route end
in :func:`~vecpatch.web.errors.error_response`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response

from vecpatch.history.records import RunRecord
from vecpatch.metrics.prometheus import CONTENT_TYPE, exposition
from vecpatch.web.errors import NotFound, WebError, error_response
from vecpatch.web.guard import Guard
from vecpatch.web.hosts import LOOPBACK_NAMES, HostCheck
from vecpatch.web.runs import run_detail
from vecpatch.web.source import HistorySource
from vecpatch.web.views import dashboard_context, run_row

READ = ["GET", "HEAD"]


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("vecpatch.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["days"] = lambda s: "–" if s is None else f"{float(s) / 86400:.1f}"
    return env


@dataclass
class WebSettings:
    source: HistorySource
    token: str | None = None
    allowed_hosts: frozenset[str] = LOOPBACK_NAMES
    """Host header names answered (see :mod:`vecpatch.web.hosts`); others get 421."""


def _handlers(app: FastAPI, env: Environment) -> None:
    async def web_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, WebError):
            status, message = exc.status, exc.message
        elif isinstance(exc, HTTPException):
            status, message = exc.status_code, str(exc.detail)
        elif isinstance(exc, RequestValidationError):
            status, message = 400, "invalid request parameters"
        else:
            status, message = 500, "internal error (see the server log)"
        return error_response(env, request.url.path, request.headers, status, message)

    for kind in (WebError, HTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, web_error)


def _run_or_404(source: HistorySource, run_id: str) -> RunRecord:
    run = source.store.get_run(run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    return run


def create_app(settings: WebSettings) -> FastAPI:
    """The app; ``settings.source`` is read on every request."""
    env = templates()
    source = settings.source
    app = FastAPI(
        title="vecpatch", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False
    )
    _handlers(app, env)

    @app.api_route("/", methods=READ, response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        context = dashboard_context(source.snapshot())
        return HTMLResponse(env.get_template("dashboard.html").render(**context))

    @app.api_route("/runs/{run_id}", methods=READ, response_class=HTMLResponse)
    def run_page(run_id: str) -> HTMLResponse:
        detail = run_detail(source.store, _run_or_404(source, run_id))
        return HTMLResponse(env.get_template("run.html").render(**detail))

    @app.api_route("/metrics", methods=READ)
    def prometheus() -> Response:
        snap = source.snapshot()
        body = exposition(snap.data, snap.metrics, source.catalog)
        return Response(body, media_type=CONTENT_TYPE)

    @app.api_route("/api/fleet", methods=READ)
    def api_fleet() -> JSONResponse:
        snap = source.snapshot()
        rows = [r.to_dict() for r in snap.metrics.exposure.rows]
        return JSONResponse({"ok": True, "generated_at": snap.now.isoformat(), "fleet": rows})

    @app.api_route("/api/metrics", methods=READ)
    def api_metrics() -> JSONResponse:
        return JSONResponse({"ok": True, **source.snapshot().metrics.to_dict()})

    @app.api_route("/api/runs", methods=READ)
    def api_runs(kind: str | None = None, limit: int = 100) -> JSONResponse:
        runs = sorted(source.store.runs(), key=lambda r: r.started_at, reverse=True)
        chosen = [run_row(r) for r in runs if kind is None or r.kind == kind][: max(0, limit)]
        return JSONResponse({"ok": True, "runs": chosen})

    @app.api_route("/api/runs/{run_id}", methods=READ)
    def api_run(run_id: str) -> JSONResponse:
        detail: dict[str, Any] = run_detail(source.store, _run_or_404(source, run_id))
        return JSONResponse({"ok": True, **detail})

    app.add_middleware(Guard, templates=env, token=settings.token)
    app.add_middleware(HostCheck, templates=env, allowed=settings.allowed_hosts)
    return app
