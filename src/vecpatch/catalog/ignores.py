"""Risk acceptance: findings muted on purpose, with a reason and an end date.

An acceptance without a reason cannot be reviewed and one without an expiry never
gets reviewed, so both are rejected. Expired entries stop muting and are reported,
so accepted risk resurfaces instead of being forgotten.

File shape (TOML ``[[ignore]]`` tables, or YAML: a list or ``{ignore: [...]}``)::

    [[ignore]]
    id = "CVE-2026-3172"          # id or any alias, or a finding kind such as OUTDATED
    target = "prod-*"             # optional fnmatch pattern on "target" or "target/database"
    reason = "parallel builds disabled; upgrade in Q1"
    expires = 2027-01-31

This module holds the one matching rule (:meth:`IgnoreEntry.applies`, :func:`judge`);
``scan``, ``watch``, the workers and ``catalog check`` all go through it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from vecpatch.catalog.match import AdvisoryMatch
from vecpatch.catalog.sanitize import clean_text
from vecpatch.errors import UsageError


class IgnoreFileError(UsageError):
    """An ignore file that cannot be read or has an invalid entry."""


@dataclass(frozen=True)
class IgnoreEntry:
    id: str
    reason: str
    expires: date
    target: str | None = None
    source: str = ""

    def applies(self, ids: Collection[str], target: str, database: str | None = None) -> bool:
        """*ids* (advisory id, aliases, finding kind) holds ours, and the pattern (if any)
        matches ``target`` or ``target/database``."""
        if self.id not in ids:
            return False
        if self.target is None:
            return True
        places = [target] if database is None else [target, f"{target}/{database}"]
        return any(fnmatchcase(place, self.target) for place in places)


@dataclass(frozen=True)
class Judgement:
    """``muted_by``: the live acceptance lasting longest; else ``expired``: the last lapsed."""

    muted_by: IgnoreEntry | None = None
    expired: IgnoreEntry | None = None


def judge(
    entries: Iterable[IgnoreEntry],
    ids: Collection[str],
    target: str,
    database: str | None,
    today: date,
) -> Judgement:
    """Whether one finding is accepted on *today*, or was and the acceptance lapsed."""
    hits = [e for e in entries if e.applies(ids, target, database)]
    live = [e for e in hits if e.expires >= today]
    if live:
        return Judgement(muted_by=max(live, key=lambda e: e.expires))
    if hits:
        return Judgement(expired=max(hits, key=lambda e: e.expires))
    return Judgement()


@dataclass(frozen=True)
class IgnoreOutcome:
    """``active`` still count; ``muted`` are accepted; ``reopened`` matched an expired entry."""

    active: tuple[AdvisoryMatch, ...]
    muted: tuple[tuple[AdvisoryMatch, IgnoreEntry], ...]
    reopened: tuple[tuple[AdvisoryMatch, IgnoreEntry], ...]


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse_ignores(raw: object, source: str) -> list[IgnoreEntry]:
    """Validate entries, reporting every problem with the file and entry index."""
    items = raw.get("ignore", []) if isinstance(raw, Mapping) else raw
    if items is None:
        items = []
    if not isinstance(items, list):
        raise IgnoreFileError(f"{source}: expected a list of ignore entries")
    entries: list[IgnoreEntry] = []
    problems: list[str] = []
    for index, item in enumerate(items, start=1):
        where = f"{source}: entry {index}"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: not a table/mapping")
            continue
        ident = clean_text(item.get("id"), 64)
        reason = clean_text(item.get("reason"), 500)
        expires = _date(item.get("expires"))
        target = item.get("target")
        missing = [
            name for name, ok in (("id", ident), ("reason", reason), ("expires", expires)) if not ok
        ]
        if missing:
            label = f" ({ident})" if ident else ""
            problems.append(f"{where}{label}: missing or invalid {', '.join(missing)}")
            continue
        assert expires is not None
        entries.append(
            IgnoreEntry(ident, reason, expires, clean_text(target, 200) if target else None, where)
        )
    if problems:
        raise IgnoreFileError("\n".join(problems))
    return entries


def load_ignores(path: Path) -> list[IgnoreEntry]:
    """Read a TOML (``.toml``) or YAML ignore file."""
    try:
        text = path.read_text(encoding="utf-8")
        raw: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise IgnoreFileError(f"cannot read ignore file {path}: {exc}") from exc
    return parse_ignores(raw, str(path))


def apply_ignores(
    matches: Iterable[AdvisoryMatch],
    ignores: Sequence[IgnoreEntry],
    target: str,
    now: datetime,
) -> IgnoreOutcome:
    """Split findings into active, muted (live acceptance) and reopened (expired)."""
    today = now.date()
    active: list[AdvisoryMatch] = []
    muted: list[tuple[AdvisoryMatch, IgnoreEntry]] = []
    reopened: list[tuple[AdvisoryMatch, IgnoreEntry]] = []
    for m in matches:
        verdict = judge(ignores, m.advisory.ids, target, None, today)
        if verdict.muted_by is not None:
            muted.append((m, verdict.muted_by))
            continue
        active.append(m)
        if verdict.expired is not None:
            reopened.append((m, verdict.expired))
    return IgnoreOutcome(tuple(active), tuple(muted), tuple(reopened))
