"""``vecpatch watch``: update the catalog, rescan, record, and tell people what is new.

One pass (:func:`watch_once`) is the unit: cron, systemd timers and CronJobs call it with
``--once``; the long-running mode just repeats it. A pass never raises for a feed or a
target problem (the catalog update skips broken feeds, the scan records unreachable
targets), so one bad night does not silence the watcher.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vecpatch.automation import events as ev
from vecpatch.automation.notify import Delivery, Event, Notifier, digest_due, digest_window
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.store import load_catalog
from vecpatch.catalog.update import default_sources, run_update
from vecpatch.errors import VecpatchError
from vecpatch.history.store import HistoryStore
from vecpatch.plan import PlanPolicy, build_plan
from vecpatch.scan import ScanOptions, assess, probe, target_secrets
from vecpatch.scan_record import record_scan
from vecpatch.targets.model import Target


@dataclass(frozen=True)
class WatchOptions:
    """How a pass fetches, judges and announces."""

    offline: bool = False
    base_urls: Mapping[str, str] = field(default_factory=dict)
    osv_locations: tuple[str, ...] = ()
    timeout: float = 10.0
    window: ev.WindowPolicy = field(default_factory=ev.WindowPolicy)
    announce_ahead: timedelta = timedelta(hours=24)
    policy: PlanPolicy = field(default_factory=PlanPolicy)
    digest_hour: int | None = None
    """UTC hour of the daily digest; None sends each pass's news at once."""
    concurrency: int = 32
    catalog_root: Any = None
    """Catalog cache folder (tests); None is the state directory's."""


@dataclass
class WatchResult:
    """What one pass did."""

    run_id: str
    scan_run_id: str | None
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    delivery: Delivery = field(default_factory=Delivery)
    digest: Delivery | None = None


def _update(opts: WatchOptions, now: datetime) -> tuple[list[str], list[str]]:
    if opts.offline:
        return [], []
    sources = default_sources(opts.base_urls, opts.osv_locations)
    try:
        with FeedClient(timeout=opts.timeout) as client:
            report = run_update(sources, client, now=now, root=opts.catalog_root)
    except VecpatchError as exc:  # e.g. another update holds the lock: scan with what we have
        return [], [f"catalog update: {exc.message}"]
    held = [f"{h.source}: held {h.key} ({h.reason})" for h in report.held]
    return report.fetched, [f"{s.source}: {s.reason}" for s in report.skipped] + held


def _since(store: HistoryStore, now: datetime) -> datetime:
    """Outcomes finished since the previous watch pass (or the last week on a first pass)."""
    earlier = [r for r in store.runs("watch") if r.started_at < now]
    return earlier[-1].started_at if earlier else now - timedelta(days=7)


def collect_events(
    targets: Sequence[Target],
    store: HistoryStore,
    before: Catalog,
    after: Catalog,
    opts: WatchOptions,
    now: datetime,
    environ: Mapping[str, str],
) -> tuple[list[Event], str]:
    """Scan (recording it), then derive every event of this pass; returns (events, scan run)."""
    options = ScanOptions(concurrency=opts.concurrency)
    facts = probe(targets, options, environ=environ)
    report = assess(facts, after, now, options)
    report = record_scan(store, report, facts, after, target_secrets(targets, environ))
    hooks = {t.name: t.package_hook for t in targets if t.package_hook}
    plan = build_plan(facts, after, opts.policy, now, hooks)
    by_name = {t.name: t for t in targets}
    since = _since(store, now)
    found = [
        *ev.catalog_events(before, after),
        *ev.finding_events(report),
        *ev.window_events(report, now.date(), opts.window),
        *ev.maintenance_events(plan, by_name, now, opts.announce_ahead),
        *ev.outcome_events(r for r in store.runs() if r.finished_at and r.finished_at >= since),
    ]
    return ev.unique(found), str(report.run_id)


def watch_once(
    targets: Sequence[Target],
    store: HistoryStore,
    notifier: Notifier,
    opts: WatchOptions,
    now: Callable[[], datetime],
    environ: Mapping[str, str] = os.environ,
) -> WatchResult:
    """One pass: update, scan, record, notify (or queue for the digest)."""
    started = now()
    run_id = store.start_run("watch", started_at=started)
    result = WatchResult(run_id, None)
    try:
        before = load_catalog(root=opts.catalog_root)
        result.fetched, result.skipped = _update(opts, started)
        after = load_catalog(root=opts.catalog_root)
        found, result.scan_run_id = collect_events(
            targets, store, before, after, opts, started, environ
        )
        result.events = found
        notifier.digest = opts.digest_hour is not None
        result.delivery = notifier.dispatch(found)
        if opts.digest_hour is not None and digest_due(started, opts.digest_hour):
            result.digest = notifier.send_digest(
                _queued_since(store, digest_window(started), result.delivery.new_events),
                started.date().isoformat(),
            )
    except Exception:
        store.finish_run(run_id, "failed", _summary(result))
        raise
    store.finish_run(run_id, "ok", _summary(result))
    return result


def _queued_since(store: HistoryStore, since: datetime, current: Sequence[Event]) -> list[Event]:
    """Events recorded by the watch passes of the last day (this one included)."""
    found: list[Event] = []
    for run in store.runs("watch", since=since):
        for raw in (run.summary or {}).get("events", []) or []:
            if isinstance(raw, dict):
                found.append(Event.from_dict(raw))
    return ev.unique([*found, *current])


def _summary(result: WatchResult) -> dict[str, Any]:
    d = result.delivery
    return {
        "scan_run_id": result.scan_run_id,
        "fetched": result.fetched,
        "skipped": result.skipped,
        "events_seen": len(result.events),
        "events": [e.to_dict() for e in result.delivery.new_events],
        "messages": d.messages,
        "notified_events": d.events,
        "failed_messages": d.failed,
        "queued": d.queued,
        "digest_messages": result.digest.messages if result.digest else 0,
    }
