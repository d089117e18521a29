"""What the watcher announces, derived as pure functions of catalogs, reports and plans.

Every event's key names the fact, not the run that saw it (``finding:VULNERABLE:CVE-…:
db1/app``), so the notifications table can tell "new" from "already told" no matter
which process or machine computes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from vecpatch.automation.notify import Event
from vecpatch.automation.schedule import next_window_start
from vecpatch.catalog.model import Catalog, Product
from vecpatch.findings import Finding, FindingKind
from vecpatch.history.records import RunRecord
from vecpatch.plan import Plan
from vecpatch.report.model import ScanReport
from vecpatch.targets.model import Target

_QUIET_KINDS = frozenset({FindingKind.NOT_INSTALLED, FindingKind.ON_REPLICA})


@dataclass(frozen=True)
class WindowPolicy:
    """Vulnerability window: a fix must be applied within ``days`` of being available."""

    days: int = 30
    warn_days: int = 7


def catalog_events(before: Catalog, after: Catalog) -> list[Event]:
    """Releases and advisories the catalog did not know before this update."""
    events: list[Event] = []
    known = {(r.product, r.version) for r in before.releases}
    for rel in after.releases:
        if (rel.product, rel.version) in known:
            continue
        name = "pgvector" if rel.product is Product.PGVECTOR else "PostgreSQL"
        when = f" ({rel.date})" if rel.date else ""
        key = f"release:{rel.product.value}:{rel.version}"
        events.append(Event(key, "release", f"{name} {rel.version}{when}"))
    seen = {a.id for a in before.advisories}
    for adv in after.advisories:
        if adv.id not in seen:
            events.append(
                Event(
                    f"advisory:{adv.id}",
                    "advisory",
                    f"new advisory {adv.id} ({adv.severity.value})",
                    adv.summary[:200],
                )
            )
    return events


def _where(f: Finding) -> str:
    return f"{f.target}/{f.database}" if f.database else f.target


def finding_events(report: ScanReport) -> list[Event]:
    """Every open, unmuted finding worth a person's attention, keyed by what and where."""
    events: list[Event] = []
    for f in report.findings():
        if f.kind in _QUIET_KINDS or f.severity in ("info", "none"):
            continue
        if f.kind is FindingKind.VULNERABLE and not f.exposed:
            continue
        label = f"{f.id} " if f.id else ""
        events.append(
            Event(
                f"finding:{f.kind.value}:{f.id or ''}:{_where(f)}",
                "finding",
                f"{_where(f)}: {f.kind.value} {label}({f.severity})".replace("  ", " "),
                f.next_action,
                targets=(f.target,),
            )
        )
    return events


def window_events(report: ScanReport, today: date, policy: WindowPolicy) -> list[Event]:
    """Exposed databases whose vulnerability window closes soon, or has closed."""
    events: list[Event] = []
    for f in report.findings():
        if f.kind is not FindingKind.VULNERABLE or not f.exposed or f.fix_available_at is None:
            continue
        deadline = f.fix_available_at + timedelta(days=policy.days)
        left = (deadline - today).days
        if left < 0:
            kind, text = "window-missed", f"missed on {deadline}"
        elif left <= policy.warn_days:
            kind, text = "window-soon", f"closes {deadline} ({left} days left)"
        else:
            continue
        events.append(
            Event(
                f"{kind}:{f.id}:{_where(f)}",
                kind,
                f"{_where(f)}: vulnerability window for {f.id} {text}",
                f"fix {f.fix_version or '?'} available since {f.fix_available_at}",
                targets=(f.target,),
            )
        )
    return events


def maintenance_events(
    plan: Plan, targets: Mapping[str, Target], now: datetime, ahead: timedelta
) -> list[Event]:
    """Announce each planned maintenance to its stakeholders once, ``ahead`` of its window."""
    events: list[Event] = []
    for tplan in plan.targets:
        target = targets.get(tplan.target)
        if target is None or not target.window or not tplan.has_work:
            continue
        start = next_window_start(target.window, target.timezone, now)
        if start is None or start - now > ahead:
            continue
        steps = [
            f"{d.database} {d.installed} -> {d.target}"
            for d in tplan.databases
            if d.target and d.installed != d.target
        ]
        if tplan.pg_minor is not None:
            steps.insert(0, f"PostgreSQL {tplan.pg_minor.current} -> {tplan.pg_minor.target}")
        events.append(
            Event(
                f"maintenance:{tplan.target}:{start.isoformat()}",
                "maintenance",
                f"{tplan.target}: maintenance {start:%Y-%m-%d %H:%M %Z} ({target.window})",
                "planned: " + ("; ".join(steps) or "package step"),
                targets=(tplan.target,),
                stakeholders_only=True,
            )
        )
    return events


def outcome_events(runs: Iterable[RunRecord]) -> list[Event]:
    """Finished apply, rollback and rollout runs (their outcome, once each)."""
    events: list[Event] = []
    for run in runs:
        if run.kind not in ("apply", "rollback", "rollout") or run.finished_at is None:
            continue
        if run.status == "running":
            continue
        summary = dict(run.summary or {})
        detail = ", ".join(f"{k}={v}" for k, v in summary.items() if isinstance(v, int | str))
        events.append(
            Event(
                f"run:{run.id}:{run.status}",
                "outcome",
                f"{run.kind} {run.id[:8]} {run.status}",
                detail[:300],
                targets=tuple(str(t) for t in summary.get("targets_list", ()) or ()),
            )
        )
    return events


def unique(events: Sequence[Event]) -> list[Event]:
    """Drop repeated keys, keeping the first."""
    return list({e.key: e for e in reversed(events)}.values())[::-1]
