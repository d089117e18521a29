"""Routing, deduplication, maintenance announcements and the daily digest, delivered
through Apprise to a real local webhook receiver and remembered in a real history store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from vecpatch.automation.events import maintenance_events
from vecpatch.automation.notify import Event, Notifier, channel_id
from vecpatch.automation.schedule import next_window_start
from vecpatch.history.store import HistoryStore
from vecpatch.plan import DatabasePlan, Plan, PlanPolicy, Status, TargetPlan
from vecpatch.targets.model import Target

from .servers import serve

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # a Friday


def _plan() -> Plan:
    db = DatabasePlan("app", Status.PLANNED, "0.7.4", "0.8.5", path=("0.7.4", "0.8.5"))
    tp = TargetPlan("orders", "production", "h", "5432", "16.4", None, None, (db,))
    return Plan(NOW, PlanPolicy(), (tp,))


def test_next_window_start_in_the_targets_zone() -> None:
    start = next_window_start("sat 02:00-04:00", "Europe/Paris", NOW)
    assert start is not None and start.isoformat() == "2026-11-28T02:00:00+01:00"
    assert next_window_start("fri 21:00-22:00", "UTC", NOW) == NOW + timedelta(hours=1)


def test_maintenance_goes_to_stakeholders_once_and_digest_batches(tmp_path: Path) -> None:
    with serve() as hook, HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        team = hook.url.replace("http://", "json://") + "/team"
        ops = hook.url.replace("http://", "json://") + "/ops"
        target = Target(
            name="orders", dsn="host=h dbname=app", window="sat 02:00-04:00",
            timezone="Europe/Paris", stakeholders=(team,),
        )  # fmt: skip
        notifier = Notifier(store, (ops,), {"orders": (team,)})
        far = maintenance_events(_plan(), {"orders": target}, NOW, timedelta(hours=1))
        assert far == []  # opens in 5 hours: not yet
        events = maintenance_events(_plan(), {"orders": target}, NOW, timedelta(hours=24))
        [event] = events
        assert "0.7.4 -> 0.8.5" in event.body and event.stakeholders_only
        assert notifier.dispatch(events).messages == 1
        assert [p for p, _ in hook.posts] == ["/team"]  # the team, not the ops channel
        assert notifier.dispatch(events).messages == 0  # told once
        assert store.notification_seen(f"{event.key}|{channel_id(team)}")

        hook.posts.clear()
        notifier.digest = True
        news = [Event("release:pgvector:0.9.0", "release", "pgvector 0.9.0"),
                Event("advisory:CVE-X", "advisory", "new advisory CVE-X")]  # fmt: skip
        queued = notifier.dispatch(news)
        assert queued.queued == 2 and queued.messages == 0 and hook.posts == []
        sent = notifier.send_digest(news, "2026-11-27")
        assert sent.messages == 1 and len(hook.posts) == 1
        path, body = hook.posts[0]
        assert path == "/ops" and "digest" in body["title"] and "CVE-X" in body["message"]
        assert notifier.send_digest(news, "2026-11-27").messages == 0  # one digest a day


def test_an_undeliverable_message_is_retried_next_time(tmp_path: Path) -> None:
    with HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        notifier = Notifier(store, ("json://127.0.0.1:9/nobody",))
        event = Event("release:pgvector:0.9.0", "release", "pgvector 0.9.0")
        assert notifier.dispatch([event]).failed == 1
        assert notifier.route([event])  # still new: not marked as told
