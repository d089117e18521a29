"""Plausibility rules for feed data: what a single feed may not change on its own.

A feed is one mirror away from being wrong: a replaced EOL date, an injected
"latest minor" 16.99, a release dated next year. Such a change is *held*, not
merged: the catalog keeps its last good value until a second source says the same
or an operator runs ``vecpatch catalog update --accept``. Values that are not even
well-formed (a script tag where a date belongs) are dropped with a note instead.
Pure: fragment + catalog + clock in, split fragment out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from vecpatch.catalog.document import Document
from vecpatch.catalog.model import Catalog, Product
from vecpatch.catalog.osv import parse_date, parse_datetime
from vecpatch.catalog.queries import latest_minor, latest_pgvector, pg_releases
from vecpatch.catalog.versions import PgvectorVersion, PgVersion, VersionError

MAX_MINOR_STEP = 3  # PostgreSQL minors come quarterly; a feed seeing 3 at once is already odd
MAX_PATCH_STEP = 5
FUTURE_SLACK = timedelta(days=2)  # time zones and release-day announcements
MAX_RECORDS = 5000  # more than every pgvector and PostgreSQL release and CVE together
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!]")


@dataclass(frozen=True)
class Held:
    """A change one feed proposed that needs a second source or ``--accept``."""

    source: str
    key: str
    reason: str
    fragment: Mapping[str, Any]
    claim: str = ""
    """The decisive value (a date, a version): a confirming source must say the same."""

    @property
    def fingerprint(self) -> str:
        return f"{self.key} {self.claim}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "key": self.key,
            "reason": self.reason,
            "fragment": dict(self.fragment),
            "claim": self.claim,
        }


@dataclass
class Screened:
    """A fragment split into what merges now, what is held, and what was dropped."""

    fragment: Document
    held: list[Held] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        frag = self.fragment
        return sum(len(frag.get(k) or []) for k in ("releases", "advisories", "distro_packages"))


def _future(value: object, today: date) -> bool:
    day = parse_date(value)
    return day is not None and day > today + FUTURE_SLACK


def _pg_jump(known: Catalog, version: str) -> str | None:
    new = PgVersion.parse(version)
    latest = latest_minor(known, new.major)
    if latest is not None:
        if new.minor > latest.pg_version.minor + MAX_MINOR_STEP:
            return f"jumps from {latest.version} to {version}"
        return None
    majors = [r.pg_version.major_parts for r in pg_releases(known)]
    if (
        majors
        and new.major_parts > max(majors)
        and (new.major_parts[0] > max(majors)[0] + 1 or new.minor > MAX_MINOR_STEP)
    ):
        return f"a new branch {new.major} at {version} is not the next one"
    return None


def _vector_jump(known: Catalog, version: str) -> str | None:
    new = PgvectorVersion.parse(version)
    latest = latest_pgvector(known)
    if latest is None or new <= latest.pgvector_version:
        return None
    (a, b, c), (x, y, z) = latest.pgvector_version.parts, new.parts
    plausible = (
        ((x, y) == (a, b) and z <= c + MAX_PATCH_STEP)
        or ((x, y) == (a, b + 1) and z <= MAX_PATCH_STEP)
        or ((x, y) == (a + 1, 0) and z <= MAX_PATCH_STEP)
    )
    return None if plausible else f"jumps from {latest.version} to {version}"


def _release_problem(known: Catalog, rel: Mapping[str, Any], today: date) -> str | None:
    if _future(rel.get("date"), today):
        return f"dated in the future ({rel.get('date')})"
    have = {r.key for r in known.releases}
    if (rel.get("product"), rel.get("version")) in have:
        return None
    try:
        if rel.get("product") == Product.POSTGRESQL.value:
            return _pg_jump(known, str(rel.get("version")))
        return _vector_jump(known, str(rel.get("version")))
    except VersionError:
        return None  # the per-record check drops it with its own note


def _markup_field(record: Mapping[str, Any]) -> str | None:
    for key, value in record.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and _MARKUP.search(v) for v in values):
            return key
    return None


def _screen_releases(
    out: Screened, frag: Mapping[str, Any], known: Catalog, source: str, today: date
) -> None:
    for rel in frag.get("releases") or []:
        key = f"{rel.get('product')}:{rel.get('version')}"
        bad = _markup_field(rel)
        if bad is not None:
            out.notes.append(f"{source}: skipped release {key}: markup in field '{bad}'")
            continue
        problem = _release_problem(known, rel, today)
        if problem is None:
            out.fragment["releases"].append(rel)
        else:
            claim = json.dumps([rel.get("version"), rel.get("date")])
            out.held.append(Held(source, key, problem, {"releases": [rel]}, claim))


def _screen_majors(out: Screened, frag: Mapping[str, Any], known: Catalog, source: str) -> None:
    for major, info in (frag.get("majors") or {}).items():
        kept: dict[str, Any] = {}
        before = known.majors.get(str(major))
        for name in ("eol", "first_release"):
            value = info.get(name) if isinstance(info, Mapping) else None
            if value is None:
                if before is not None and getattr(before, name) is not None and name in info:
                    out.notes.append(
                        f"{source}: PostgreSQL {major} field '{name}' removed by the feed; "
                        f"kept {getattr(before, name)}"
                    )
                continue
            day = parse_date(value) if isinstance(value, str) and len(value) == 10 else None
            if day is None:
                out.notes.append(
                    f"{source}: skipped PostgreSQL {major} field '{name}': not a date "
                    f"({str(value)[:40]!r})"
                )
                continue
            old = getattr(before, name) if before is not None else None
            if old is not None and old != day:
                out.held.append(
                    Held(
                        source,
                        f"major:{major}:{name}",
                        f"PostgreSQL {major} {name.replace('_', ' ')} moved from {old} to {day}",
                        {"majors": {str(major): {name: day.isoformat()}}},
                        day.isoformat(),
                    )
                )
                continue
            kept[name] = day.isoformat()
        if kept:
            out.fragment["majors"][str(major)] = kept


def _screen_advisories(out: Screened, frag: Mapping[str, Any], source: str, today: date) -> None:
    for adv in frag.get("advisories") or []:
        published = parse_datetime(adv.get("published"))
        if published is not None and published.date() > today + FUTURE_SLACK:
            out.held.append(
                Held(
                    source,
                    f"advisory:{adv.get('id')}",
                    f"published in the future ({published.date()})",
                    {"advisories": [adv]},
                    published.isoformat(),
                )
            )
        else:
            out.fragment["advisories"].append(adv)


def screen(frag: Document, known: Catalog, now: datetime, source: str) -> Screened:
    """Split one source's (already per-record valid) fragment by the plausibility rules."""
    base: Document = {
        **frag,
        "releases": [],
        "advisories": [],
        "majors": {},
        "distro_packages": list(frag.get("distro_packages") or []),
    }
    out = Screened(base)
    total = sum(len(frag.get(k) or []) for k in ("releases", "advisories", "distro_packages"))
    if total > MAX_RECORDS:
        out.fragment["distro_packages"] = []
        out.notes.append(f"{source}: returned {total} records (limit {MAX_RECORDS}); nothing kept")
        return out
    today = now.date()
    _screen_releases(out, frag, known, source, today)
    _screen_majors(out, frag, known, source)
    _screen_advisories(out, frag, source, today)
    return out


def confirmed(pending: list[Held]) -> tuple[list[Held], list[Held]]:
    """(confirmed by two different sources, still held)."""
    sources: dict[str, set[str]] = {}
    for item in pending:
        sources.setdefault(item.fingerprint, set()).add(item.source)
    ok = {h.fingerprint: h for h in reversed(pending) if len(sources[h.fingerprint]) > 1}
    return list(ok.values()), [h for h in pending if len(sources[h.fingerprint]) < 2]
