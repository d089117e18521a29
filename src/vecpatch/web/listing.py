"""Filter, search, sort and page a list of rows, from a page's query string.

Pure and shared by every list page (advisories, servers, databases, runs): the route
parses the query into a :class:`Query`, :func:`apply` returns the page of rows plus what
the template needs to draw the controls. Unknown sort keys fall back to the page's
default order rather than failing: a stale bookmark still opens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from vecpatch.findings import severity_rank

PAGE_SIZE = 50
FILTERS = ("environment", "target", "severity", "kind", "product", "status")


@dataclass(frozen=True)
class Query:
    """What the operator asked for: filters, free text, sort key and direction, page."""

    filters: Mapping[str, str]
    q: str = ""
    sort: str = ""
    desc: bool = False
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        chosen = {k: params[k] for k in FILTERS if params.get(k)}
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        return cls(
            filters=chosen,
            q=(params.get("q") or "").strip(),
            sort=params.get("sort") or "",
            desc=params.get("order") == "desc",
            page=page,
        )

    def link(self, **changes: Any) -> str:
        """The query string of this query with *changes* (``page=2``, ``sort="severity"``)."""
        query = replace(self, **changes)
        params = dict(query.filters)
        if query.q:
            params["q"] = query.q
        if query.sort:
            params["sort"] = query.sort
        if query.desc:
            params["order"] = "desc"
        if query.page > 1:
            params["page"] = str(query.page)
        return "?" + urlencode(params)

    def sort_link(self, key: str) -> str:
        desc = not self.desc if self.sort == key else key in ("severity", "exposed")
        return self.link(sort=key, desc=desc, page=1)


def _text(row: Mapping[str, Any]) -> str:
    return " ".join(str(v) for v in row.values() if isinstance(v, str | int | list)).lower()


def _matches(row: Mapping[str, Any], key: str, wanted: str) -> bool:
    value = row.get(key)
    if isinstance(value, list):
        return wanted in value
    if key == "target" and wanted in (row.get("aliases") or []):
        return True
    if key == "kind" and "kinds" in row:
        return wanted in row["kinds"]
    return str(value or "") == wanted


def _sort_value(row: Mapping[str, Any], key: str) -> Any:
    value = row.get(key)
    if key == "severity":
        return severity_rank(value) if isinstance(value, str) else -1
    if isinstance(value, list):
        return len(value)
    if value is None:
        return ""
    return value


@dataclass(frozen=True)
class Page:
    """One page of rows, and the facts the controls show."""

    rows: Sequence[Mapping[str, Any]]
    total: int
    matched: int
    query: Query
    pages: int
    options: Mapping[str, list[str]]
    """For each filter the page offers, the values present in the unfiltered rows."""


def apply(
    rows: Sequence[Mapping[str, Any]],
    query: Query,
    offered: Sequence[str],
    default: Callable[[Mapping[str, Any]], Any] | None = None,
    page_size: int = PAGE_SIZE,
) -> Page:
    """Filter by the *offered* filters the query sets, search, sort, and cut one page."""
    chosen = [
        r
        for r in rows
        if all(_matches(r, k, v) for k, v in query.filters.items() if k in offered)
        and (not query.q or query.q.lower() in _text(r))
    ]
    if query.sort and any(query.sort in r for r in rows):
        chosen.sort(key=lambda r: _sort_value(r, query.sort), reverse=query.desc)
    elif default is not None:
        chosen.sort(key=default)
    pages = max(1, -(-len(chosen) // page_size))
    page = min(query.page, pages)
    start = (page - 1) * page_size
    return Page(
        rows=chosen[start : start + page_size],
        total=len(rows),
        matched=len(chosen),
        query=replace(query, page=page),
        pages=pages,
        options={k: _options(rows, k) for k in offered},
    )


def _options(rows: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    values: set[str] = set()
    for row in rows:
        value = row.get(key if key != "kind" or "kind" in row else "kinds")
        if isinstance(value, list):
            values.update(str(v) for v in value)
        elif value:
            values.add(str(value))
    if key == "severity":
        return sorted(values, key=lambda s: -severity_rank(s) if s in _SEVERITIES else 0)
    return sorted(values)


_SEVERITIES = {"critical", "high", "medium", "low", "info", "unknown"}
