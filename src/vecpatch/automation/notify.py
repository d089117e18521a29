"""Notifications: events -> one message per recipient per run, sent through Apprise.

Why batched: an unattended watcher that sends one message per finding floods a channel
on its first run and trains people to mute it. Every run therefore sends at most one
message per recipient, listing what is new; nothing is sent when nothing is new.

Why deduplicated in the history store: ``watch --once`` runs from cron, systemd timers
and Kubernetes CronJobs, on whatever machine is free. The ``notifications`` table (keyed
by event and recipient) is the only memory they share, so a finding is announced once,
whichever process sees it first.

Recipient URLs may embed tokens (Slack/Teams webhooks), so they are never printed or
stored: a recipient is recorded as a short hash of its URL.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vecpatch.history.store import HistoryStore

Sender = Callable[[str, str, str], bool]
"""``send(url, title, body) -> delivered``; the real one is :func:`apprise_send`."""

_KEY_LIMIT = 255


@dataclass(frozen=True)
class Event:
    """Something worth telling a person, with the key that makes it "already told"."""

    key: str
    kind: str
    title: str
    body: str = ""
    targets: tuple[str, ...] = ()
    """Whose stakeholders hear about it (besides the global recipients)."""
    stakeholders_only: bool = False
    """Maintenance announcements go to the target's people, not to every channel."""

    def line(self) -> str:
        return f"- [{self.kind}] {self.title}" + (f": {self.body}" if self.body else "")

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "targets": list(self.targets),
            "stakeholders_only": self.stakeholders_only,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> Event:
        targets = raw.get("targets") or []
        return cls(
            key=str(raw["key"]),
            kind=str(raw["kind"]),
            title=str(raw["title"]),
            body=str(raw.get("body") or ""),
            targets=tuple(str(t) for t in targets) if isinstance(targets, list) else (),
            stakeholders_only=bool(raw.get("stakeholders_only", False)),
        )


def channel_id(url: str) -> str:
    """A stable, non-secret name for a recipient (the URL may hold a token)."""
    return "apprise:" + hashlib.sha256(url.encode()).hexdigest()[:12]


def dedup_key(event_key: str, channel: str) -> str:
    """The notifications-table key of one event for one recipient (hashed when too long)."""
    key = f"{event_key}|{channel}"
    if len(key) <= _KEY_LIMIT:
        return key
    return f"{event_key[:160]}#{hashlib.sha256(key.encode()).hexdigest()}|{channel}"


def apprise_send(url: str, title: str, body: str) -> bool:
    """Deliver one message with Apprise; False (never an exception) when it did not go out."""
    import apprise

    # Apprise logs failing URLs verbatim; a webhook URL is a credential.
    logging.getLogger("apprise").setLevel(logging.CRITICAL)
    sink = apprise.Apprise()
    if not sink.add(url):
        return False
    return bool(sink.notify(body=body, title=title))


@dataclass
class Delivery:
    """What one dispatch did (counts only: recipients are secrets)."""

    messages: int = 0
    events: int = 0
    failed: int = 0
    queued: int = 0
    new_events: list[Event] = field(default_factory=list)
    """Events sent or queued by this dispatch (each once)."""


@dataclass
class Notifier:
    """Routes events to recipients, drops those already told, sends one message each."""

    store: HistoryStore
    recipients: tuple[str, ...] = ()
    stakeholders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    send: Sender = apprise_send
    digest: bool = False

    def _urls_for(self, event: Event) -> list[str]:
        urls: list[str] = []
        for target in event.targets:
            urls += self.stakeholders.get(target, ())
        if not event.stakeholders_only or not urls:
            urls += self.recipients
        return list(dict.fromkeys(urls))

    def route(self, events: Iterable[Event]) -> dict[str, list[Event]]:
        """Per recipient URL, the events it has not been told yet (in order, no repeats)."""
        routed: dict[str, list[Event]] = {}
        for event in events:
            for url in self._urls_for(event):
                key = dedup_key(event.key, channel_id(url))
                mine = routed.setdefault(url, [])
                if event not in mine and not self.store.notification_seen(key):
                    mine.append(event)
        return {url: evs for url, evs in routed.items() if evs}

    def dispatch(self, events: Sequence[Event], heading: str = "vecpatch") -> Delivery:
        """Send (or, in digest mode, queue) what is new; mark it so no run repeats it."""
        done = Delivery()
        for url, mine in self.route(events).items():
            channel = channel_id(url)
            done.new_events += [e for e in mine if e not in done.new_events]
            if self.digest:
                for event in mine:
                    self.store.mark_notified(dedup_key(event.key, channel), "digest-queued")
                done.queued += len(mine)
                continue
            title, body = compose(heading, mine)
            if not self.send(url, title, body):
                done.failed += 1  # not marked: the next run tries again
                continue
            done.messages += 1
            done.events += len(mine)
            for event in mine:
                self.store.mark_notified(dedup_key(event.key, channel), channel[:64])
        return done

    def send_digest(self, events: Sequence[Event], day: str) -> Delivery:
        """Once per day and recipient: everything queued for it (``events`` of the last day)."""
        done = Delivery()
        for url in dict.fromkeys(u for e in events for u in self._urls_for(e)):
            channel = channel_id(url)
            key = dedup_key(f"digest:{day}", channel)
            mine = [e for e in events if url in self._urls_for(e)]
            if not mine or self.store.notification_seen(key):
                continue
            title, body = compose(f"vecpatch daily digest {day}", mine)
            if self.send(url, title, body) and self.store.mark_notified(key, channel[:64]):
                done.messages += 1
                done.events += len(mine)
            else:
                done.failed += 1
        return done


def compose(heading: str, events: Sequence[Event]) -> tuple[str, str]:
    """Title and body of one message: a single event speaks for itself, several are listed."""
    if len(events) == 1:
        return f"{heading}: {events[0].title}", events[0].line()
    kinds = sorted({e.kind for e in events})
    title = f"{heading}: {len(events)} new events ({', '.join(kinds)})"
    return title, "\n".join(e.line() for e in events)


def digest_due(now: datetime, hour: int) -> bool:
    """The daily digest goes out on the first run at or after ``hour`` (UTC)."""
    return now.hour >= hour


def digest_window(now: datetime) -> datetime:
    """Events recorded since this moment belong in today's digest."""
    return now - timedelta(days=1)
