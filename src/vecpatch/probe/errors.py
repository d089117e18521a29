"""Map connection and query errors to a failure kind, without leaking secrets.

SQLSTATE is used where the server sent one; libpq reports authentication and
connection failures only as text, so those few messages are recognised by phrase.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from vecpatch.probe.facts import Failure, FailureKind
from vecpatch.redact import redact_text

_AUTH_STATES = {"28P01", "28000"}
_PRIVILEGE_STATES = {"42501"}
_AUTH_PHRASES = (
    "password authentication failed",
    "no password supplied",
    "no pg_hba.conf entry",
    "authentication failed",
    'role "',
)
_PRIVILEGE_PHRASES = ("permission denied",)


def classify(exc: BaseException, secrets: Iterable[str] = ()) -> Failure:
    """A :class:`Failure` for ``exc`` whose reason carries no secret."""
    text = _first_line(exc)
    state = getattr(exc, "sqlstate", None)
    lowered = text.lower()
    if state in _PRIVILEGE_STATES or any(p in lowered for p in _PRIVILEGE_PHRASES):
        kind = FailureKind.INSUFFICIENT_PRIVILEGE
    elif state in _AUTH_STATES or any(p in lowered for p in _AUTH_PHRASES):
        kind = FailureKind.AUTH_FAILED
    else:
        kind = FailureKind.UNREACHABLE
    return Failure(kind, redact_text(text, secrets))


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out connecting"
    message = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    # libpq prefixes "connection failed: connection to server at ... failed:"; keep the cause.
    useful = [ln for ln in lines if not ln.lower().startswith(("multiple connection attempts",))]
    head = useful[0] if useful else message
    if isinstance(exc, psycopg.OperationalError) and ": " in head and "FATAL" in head:
        head = head.split("FATAL:", 1)[-1].strip()
    return head[:500]
