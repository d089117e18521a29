"""Map connection and query errors to a failure kind, without leaking secrets.

Sorting is :mod:`vecpatch.pgerrors`' (``psycopg.errors`` classes, and libpq's text only
where a failed login has no SQLSTATE).
"""

from __future__ import annotations

from collections.abc import Iterable

from vecpatch.pgerrors import first_line, login_refused, privilege_refused
from vecpatch.probe.facts import Failure, FailureKind
from vecpatch.redact import redact_text


def classify(exc: BaseException, secrets: Iterable[str] = ()) -> Failure:
    """A :class:`Failure` for ``exc`` whose reason carries no secret."""
    text = first_line(exc, sqlstate=False)
    if privilege_refused(exc):
        kind = FailureKind.INSUFFICIENT_PRIVILEGE
    elif login_refused(exc):
        kind = FailureKind.AUTH_FAILED
    else:
        kind = FailureKind.UNREACHABLE
    return Failure(kind, redact_text(text, secrets))
