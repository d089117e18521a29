"""Automation commands: ``watch``, ``rollout``, ``init ci``, ``migration``, ``runbook``, ``worker``.

Parse, call :mod:`vecpatch.automation`, render. Recipient URLs and DSNs are secrets:
they are counted, never echoed.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from vecpatch.automation.events import WindowPolicy
from vecpatch.automation.notify import Notifier
from vecpatch.automation.schedule import parse_duration
from vecpatch.automation.watch import WatchOptions, WatchResult, watch_once
from vecpatch.cli.console import info, redacting_filter
from vecpatch.cli.plan import CooldownOpt, PolicyChoice, PolicyOpt, ToOpt, plan_policy
from vecpatch.cli.scan import TargetsArg, TargetsOpt
from vecpatch.cli.selection import gather
from vecpatch.errors import UsageError
from vecpatch.exitcodes import ExitCode
from vecpatch.history.store import HistoryStore
from vecpatch.scan import target_secrets
from vecpatch.targets.model import Target

History = Annotated[
    str | None,
    typer.Option("--history", envvar="VECPATCH_HISTORY", help="History store URL (SQLAlchemy)."),
]
EnvOpt = Annotated[str | None, typer.Option("--env", help="Only this environment.")]
TagOpt = Annotated[str | None, typer.Option("--tag", help="Only targets with this tag.")]
WaveOpt = Annotated[int | None, typer.Option("--wave", help="Only this wave.")]
NotifyOpt = Annotated[
    list[str],
    typer.Option(
        "--notify",
        help="Apprise URL to notify (repeatable; also $VECPATCH_NOTIFY, space-separated).",
        show_default=False,
    ),
]


def duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def recipients(given: list[str]) -> tuple[str, ...]:
    """``--notify`` URLs plus ``$VECPATCH_NOTIFY``; each must look like an Apprise URL."""
    env = [u for u in re.split(r"[\s,]+", os.environ.get("VECPATCH_NOTIFY", "")) if u]
    urls = tuple(dict.fromkeys([*given, *env]))
    bad = [i for i, u in enumerate(urls, 1) if "://" not in u]
    if bad:
        raise UsageError(f"--notify value #{bad[0]} is not an Apprise URL (scheme://...)")
    return urls


def stakeholders(targets: list[Target]) -> dict[str, tuple[str, ...]]:
    return {t.name: t.stakeholders for t in targets if t.stakeholders}


def _offline_default() -> bool:
    return os.environ.get("VECPATCH_OFFLINE", "") not in ("", "0", "false", "no")


def watch(
    targets: TargetsArg = None,
    targets_file: TargetsOpt = None,
    env: EnvOpt = None,
    tag: TagOpt = None,
    wave: WaveOpt = None,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron).")] = False,
    interval: Annotated[str, typer.Option("--interval", help="Time between passes.")] = "1h",
    offline: Annotated[bool, typer.Option("--offline", help="No feed update.")] = False,
    base_url: Annotated[
        list[str], typer.Option("--base-url", help="NAME=URL mirror for a feed.")
    ] = [],  # noqa: B006
    osv: Annotated[list[str], typer.Option("--osv", help="Extra OSV file or URL.")] = [],  # noqa: B006
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per feed request.")] = 10.0,
    notify: NotifyOpt = [],  # noqa: B006
    history: History = None,
    window_days: Annotated[
        int, typer.Option("--window-days", min=1, help="Days allowed to apply an available fix.")
    ] = 30,
    warn_days: Annotated[
        int, typer.Option("--warn-days", min=0, help="Warn this many days before the window ends.")
    ] = 7,
    announce_ahead: Annotated[
        str, typer.Option("--announce-ahead", help="Announce maintenance this long before.")
    ] = "24h",
    digest_hour: Annotated[
        int | None,
        typer.Option("--digest-hour", min=0, max=23, help="Daily digest at this UTC hour."),
    ] = None,
    to: ToOpt = None,
    policy: PolicyOpt = PolicyChoice.latest,
    cooldown_days: CooldownOpt = 0,
    max_passes: Annotated[int, typer.Option("--max-passes", hidden=True)] = 0,
) -> None:
    """Update the catalog, rescan, record history and notify on what is new.

    Exit codes: 0 pass(es) done; 1 a notification could not be delivered (it is retried
    on the next pass); 2 usage or configuration error.
    """
    selection = gather(targets, targets_file, env, tag, wave)
    urls = recipients(notify)
    opts = WatchOptions(
        offline=offline or _offline_default(),
        base_urls=dict(u.split("=", 1) for u in base_url if "=" in u),
        osv_locations=tuple(osv),
        timeout=timeout,
        window=WindowPolicy(window_days, warn_days),
        announce_ahead=timedelta(seconds=duration(announce_ahead)),
        policy=plan_policy(to, policy, cooldown_days),
        digest_hour=digest_hour,
    )
    secrets = target_secrets(selection.targets)
    redacting_filter.add(*secrets, *urls)
    pause = duration(interval)
    failed = False
    with HistoryStore.open(history, secrets=[*secrets, *urls]) as store:
        notifier = Notifier(store, urls, stakeholders(selection.targets))
        passes = 0
        while True:
            result = watch_once(selection.targets, store, notifier, opts, lambda: datetime.now(UTC))
            _report_pass(result)
            failed = failed or result.delivery.failed > 0
            passes += 1
            if once or (max_passes and passes >= max_passes):
                break
            time.sleep(pause)
    raise typer.Exit(int(ExitCode.FINDINGS if failed else ExitCode.OK))


def _report_pass(result: WatchResult) -> None:
    d = result.delivery
    info(
        f"watch run {result.run_id}: feeds ok {len(result.fetched)}, skipped "
        f"{len(result.skipped)}; {len(result.events)} open event(s), {len(d.new_events)} new; "
        f"{d.messages} message(s) sent, {d.queued} queued for the digest, {d.failed} failed"
    )
    doc = {
        "run_id": result.run_id,
        "scan_run_id": result.scan_run_id,
        "fetched": result.fetched,
        "skipped": result.skipped,
        "new_events": [e.to_dict() for e in d.new_events],
        "messages": d.messages,
        "failed": d.failed,
        "queued": d.queued,
    }
    typer.echo(json.dumps(doc))


def register(app: typer.Typer) -> None:
    """Attach the automation commands to the main app."""
    app.command()(watch)
