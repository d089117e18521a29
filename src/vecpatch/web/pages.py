"""The list pages: which rows each shows, which filters it offers, its default order.

Pure, like :mod:`vecpatch.web.views`: a snapshot and the query string in, the template
context out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from vecpatch.findings import severity_rank
from vecpatch.history.records import RunRecord
from vecpatch.web.listing import Query, apply
from vecpatch.web.views import Snapshot, common, run_row

LABELS = {"kind": "kind", "product": "product", "status": "verdict"}


def _severity_first(row: Mapping[str, Any]) -> tuple[Any, ...]:
    severity = row.get("severity")
    rank = severity_rank(severity) if isinstance(severity, str) else -1
    return (-rank, -len(row.get("exposed") or []), str(row.get("target")), str(row.get("database")))


@dataclass(frozen=True)
class ListPage:
    title: str
    offered: tuple[str, ...]


PAGES = {
    "advisories": ListPage("Advisories", ("severity", "product", "environment", "target")),
    "servers": ListPage("Servers", ("environment", "target", "severity", "kind")),
    "databases": ListPage("Databases", ("environment", "target", "severity", "kind")),
}


def _rows(name: str, snapshot: Snapshot) -> list[dict[str, Any]]:
    t = snapshot.triage
    if name == "advisories":
        return [a.to_dict() for a in t.advisories]
    return t.servers if name == "servers" else t.databases


def list_context(name: str, snapshot: Snapshot, params: Mapping[str, str]) -> dict[str, Any]:
    """One list page: the advisory order is triage's own (pgvector first); servers and
    databases the most exposed first."""
    page = PAGES[name]
    default = None if name == "advisories" else _severity_first
    listing = apply(_rows(name, snapshot), Query.parse(params), page.offered, default)
    return {**common(snapshot), "listing": listing, "offered": page.offered, "labels": LABELS}


def run_list(
    snapshot: Snapshot, runs: Sequence[RunRecord], params: Mapping[str, str]
) -> dict[str, Any]:
    """Runs, newest first, filterable by kind, verdict and environment."""
    rows = [run_row(r) for r in runs]
    offered = ("kind", "status", "environment")
    query = Query.parse(params)
    if not query.sort:
        query = replace(query, sort="started_at", desc=True)
    listing = apply(rows, query, offered)
    return {**common(snapshot), "listing": listing, "offered": offered, "labels": LABELS}
