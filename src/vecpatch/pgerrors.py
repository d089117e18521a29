"""Database and connection errors as vecpatch shows them and sorts them.

One line per error, with its SQLSTATE when the server sent one, is what every report,
check and log line shows. Sorting uses ``psycopg.errors`` classes (one per SQLSTATE);
libpq reports a refused login only as text (no SQLSTATE), so :func:`login_refused` is
the one place that reads phrases, and only of connection errors.
"""

from __future__ import annotations

import psycopg
from psycopg import errors

MAX_LINE = 500
AUTH_ERRORS = (errors.InvalidPassword, errors.InvalidAuthorizationSpecification)
"""28P01 and 28000: wrong password, unknown role or no matching pg_hba.conf entry."""
_LOGIN_PHRASES = (
    "password authentication failed",
    "no password supplied",
    "no pg_hba.conf entry",
    "authentication failed",
    'role "',
)


def first_line(exc: BaseException, *, sqlstate: bool = True) -> str:
    """The useful first line of *exc* (with ``(SQLSTATE x)`` if known); callers redact it.

    libpq's "connection to server at … failed: FATAL: …" keeps only the cause.
    """
    if isinstance(exc, TimeoutError) and not str(exc):
        return "timed out connecting"
    message = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.lower().startswith("multiple connection attempts")]
    head = useful[0] if useful else message
    if isinstance(exc, psycopg.OperationalError) and "FATAL:" in head:
        head = head.split("FATAL:", 1)[-1].strip()
    state = getattr(exc, "sqlstate", None) if sqlstate else None
    head = head[:MAX_LINE]
    return f"{head} (SQLSTATE {state})" if state else head


def login_refused(exc: BaseException) -> bool:
    """The server refused the login: a 28xxx error, or libpq's text for one at connect."""
    if isinstance(exc, AUTH_ERRORS):
        return True
    if isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None:
        text = str(exc).lower()
        return any(phrase in text for phrase in _LOGIN_PHRASES)
    return False


def privilege_refused(exc: BaseException) -> bool:
    """42501, or libpq's "permission denied" where no SQLSTATE came with it."""
    if isinstance(exc, errors.InsufficientPrivilege):
        return True
    no_state = isinstance(exc, psycopg.Error) and getattr(exc, "sqlstate", None) is None
    return no_state and "permission denied" in str(exc).lower()
