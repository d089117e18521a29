"""The update itself: one transaction in a fresh session, checked before COMMIT.

Why a fresh session: ``ALTER EXTENSION vector UPDATE`` in a backend that already loaded
the old ``vector.so`` fails (``could not find function ...``), so the update runs in a
new connection that has run nothing touching vector types. Why one transaction with
``SET LOCAL lock_timeout``: the update needs locks that busy tables may hold; waiting
behind them would queue every other query behind us, so we give up quickly and retry
with backoff and jitter within a budget. Any failure before COMMIT rolls back: the
database is exactly as before.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
from psycopg import errors, sql

from vecpatch.apply.backup import extversion
from vecpatch.apply.blockers import BlockerWatch
from vecpatch.apply.interrupt import Interrupt
from vecpatch.apply.model import BeforeCommit, Check, ExtraCheck
from vecpatch.apply.session import Endpoint, error_text
from vecpatch.apply.smoke import Baseline, run_checks
from vecpatch.errors import VecpatchError
from vecpatch.probe.facts import DatabaseFacts

BASE_DELAY = 0.2
MAX_DELAY = 5.0


class UpdateSettings(Protocol):
    """What the checked update reads from its options: :class:`ApplyOptions` is one, and
    staging passes its own, so a new apply default never silently changes staging."""

    @property
    def lock_timeout(self) -> float: ...
    @property
    def statement_timeout(self) -> float: ...
    @property
    def retry_budget(self) -> float: ...
    @property
    def recall_threshold(self) -> float: ...
    @property
    def extra_checks(self) -> tuple[ExtraCheck, ...]: ...
    @property
    def before_commit(self) -> BeforeCommit | None: ...


class UpdateFailed(VecpatchError):
    """The update did not commit; ``unchanged`` says whether that is certain, ``interrupted``
    whether a stop request (SIGINT/SIGTERM) was the cause."""

    def __init__(
        self,
        message: str,
        *,
        unchanged: bool = True,
        checks: list[Check] | None = None,
        interrupted: bool = False,
    ) -> None:
        super().__init__(message)
        self.unchanged = unchanged
        self.checks = checks or []
        self.interrupted = interrupted


class _LockWait(VecpatchError):
    """One attempt hit 55P03 (lock_timeout) anywhere in the transaction; says who blocked."""


@dataclass
class UpdateResult:
    """What the transaction did."""

    committed_at: datetime
    attempts: int
    cutoff: datetime | None = None
    """Server clock just before COMMIT: sessions older than this may hold the old library."""
    checks: list[Check] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)


def statements(target: str, opts: UpdateSettings) -> list[sql.Composed]:
    """The exact statements of the transaction, in order."""
    return [
        sql.SQL("SET LOCAL lock_timeout = {}").format(
            sql.Literal(f"{int(opts.lock_timeout * 1000)}ms")
        ),
        sql.SQL("SET LOCAL statement_timeout = {}").format(
            sql.Literal(f"{int(opts.statement_timeout * 1000)}ms")
        ),
        sql.SQL("ALTER EXTENSION vector UPDATE TO {}").format(sql.Literal(target)),
    ]


def run_update(
    endpoint: Endpoint,
    target: str,
    db: DatabaseFacts,
    opts: UpdateSettings,
    log: list[str],
    baseline: Baseline | None = None,
    interrupt: Interrupt | None = None,
) -> UpdateResult:
    """Run the update with bounded retries on lock timeouts; raise :class:`UpdateFailed`.

    A 55P03 anywhere in the transaction (the ALTER or a check) is retried the same way.
    """
    stop = interrupt or Interrupt()
    deadline = time.monotonic() + opts.retry_budget
    attempt = 0
    while True:
        attempt += 1
        try:
            return _attempt(endpoint, target, db, opts, log, attempt, baseline, stop)
        except _LockWait as exc:
            delay = min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
            if time.monotonic() + delay > deadline:
                raise UpdateFailed(
                    f"gave up after {attempt} attempt(s) within the {opts.retry_budget:.0f} s "
                    f"retry budget: {exc}"
                ) from None
            log.append(f"-- attempt {attempt}: {exc}; retrying in {delay:.2f} s")
            if stop.wait(delay):
                raise UpdateFailed(
                    f"{stop.reason} while waiting to retry; nothing was committed",
                    interrupted=True,
                ) from None


def _attempt(
    endpoint: Endpoint,
    target: str,
    db: DatabaseFacts,
    opts: UpdateSettings,
    log: list[str],
    attempt: int,
    baseline: Baseline | None,
    stop: Interrupt,
) -> UpdateResult:
    commit_sent = False
    if stop.is_set():
        raise UpdateFailed(f"{stop.reason} before the update started", interrupted=True)
    try:
        conn = endpoint.connect(autocommit=False)
    except psycopg.OperationalError as exc:
        raise UpdateFailed(f"cannot open the update session: {error_text(exc, endpoint)}") from None
    watch = BlockerWatch(endpoint, conn.info.backend_pid)
    try:
        result = UpdateResult(datetime.now(UTC), attempt)
        with watch, stop.cancellable(conn.cancel_safe):
            _checked_transaction(conn, target, db, opts, log, baseline, result, stop)
        if stop.is_set():  # the last moment a stop request can keep the database unchanged
            raise UpdateFailed(f"{stop.reason} before COMMIT", interrupted=True)
        if opts.before_commit is not None:
            opts.before_commit(conn.info.backend_pid)
        try:  # liveness ping: a session lost here never committed
            row = conn.execute(sql.SQL("SELECT clock_timestamp()")).fetchone()
        except psycopg.Error as exc:
            raise UpdateFailed(
                f"update session lost before COMMIT: {error_text(exc, endpoint)}",
                checks=result.checks,
            ) from None
        result.cutoff = row[0] if row else datetime.now(UTC)
        commit_sent = True
        log.append("COMMIT")
        conn.commit()
        result.committed_at = datetime.now(UTC)
        return result
    except errors.LockNotAvailable as exc:
        _rollback(conn, log)
        raise _LockWait(f"{error_text(exc, endpoint)}: {watch.describe()}") from None
    except UpdateFailed:
        _rollback(conn, log)
        raise
    except psycopg.Error as exc:
        _rollback(conn, log)
        if commit_sent:
            raise UpdateFailed(
                f"connection lost during COMMIT: {error_text(exc, endpoint)}", unchanged=False
            ) from None
        if stop.is_set():
            raise UpdateFailed(
                f"{stop.reason}: the running statement was cancelled before COMMIT",
                checks=result.checks,
                interrupted=True,
            ) from None
        raise UpdateFailed(f"update failed before COMMIT: {error_text(exc, endpoint)}") from None
    finally:
        conn.close()


def _checked_transaction(
    conn: psycopg.Connection[Any],
    target: str,
    db: DatabaseFacts,
    opts: UpdateSettings,
    log: list[str],
    baseline: Baseline | None,
    result: UpdateResult,
    stop: Interrupt,
) -> None:
    """The statements and the checks, inside the open transaction (nothing committed)."""
    log.append("BEGIN")
    for stmt in statements(target, opts):
        text = stmt.as_string(conn)
        log.append(text)
        conn.execute(stmt)
    stop.phase("update")
    _stop_point(stop, "after the ALTER, before COMMIT")
    found = extversion(conn)
    result.checks.append(Check("extversion before COMMIT", found == target, f"{found}"))
    result.checks += run_checks(conn, db, opts.recall_threshold, baseline)
    result.checks += [check(conn) for check in opts.extra_checks]
    stop.phase("checks")
    _stop_point(stop, "during the checks, before COMMIT")
    failed = [c for c in result.checks if not c.ok]
    if failed:
        summary = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        raise UpdateFailed(f"checks failed before COMMIT: {summary}", checks=result.checks)


def _stop_point(stop: Interrupt, where: str) -> None:
    if stop.is_set():
        raise UpdateFailed(f"{stop.reason} {where}", interrupted=True)


def _rollback(conn: psycopg.Connection[Any], log: list[str]) -> None:
    log.append("ROLLBACK")
    try:
        if conn.closed:
            raise psycopg.OperationalError("session closed")
        conn.rollback()
    except psycopg.Error:
        log.append("-- no answer to ROLLBACK: closing the session rolls the transaction back")
