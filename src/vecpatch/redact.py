"""Keep secrets out of everything vecpatch prints, logs, raises or records.

Every path that turns a DSN, an error message or a payload into text goes
through here. Two complementary tools are offered because neither is enough on
its own: pattern-based redaction (``redact_dsn``) catches passwords we were
never told about, such as one typed inline in a URI, and value-based redaction
(``redact_text``) catches known secrets wherever they show up, for instance
echoed back inside a server error message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "SecretStr",
    "redact_dsn",
    "redact_text",
    "redact_value",
]

REDACTED = "***"

# ``scheme://user:password@`` — the password runs to the last '@' before the host part.
_URI_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:@/?#\s]*:)[^@\s/?#]*(?=@)")
# ``password=...`` in a query string (``?``/``&``-separated): value runs to '&', '#' or space.
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)[^&#\s]*", re.IGNORECASE)
# ``password=...`` in libpq key=value form, quoted ('..', with \\ escapes) or bare.
_KV_PASSWORD = re.compile(
    r"(?P<head>(?<![?&\w])password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s']*)", re.IGNORECASE
)
# Keys whose values are secrets whatever they look like, in structured payloads.
_SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|token|api[_-]?key|credential", re.IGNORECASE)


def redact_dsn(dsn: str) -> str:
    """Return *dsn* with any password replaced by ``***``.

    Works on URIs (``postgresql://u:pw@h/db``, ``...?password=pw``) and on libpq
    ``key=value`` strings, and on text that merely contains them, so it is safe to
    apply to whole error messages too.
    """
    text = _URI_USERINFO.sub(lambda m: m.group("head") + REDACTED, dsn)
    text = _QUERY_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    return _KV_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


def _variants(secret: str) -> set[str]:
    """A secret as it may appear in text: raw, and percent-encoded as in a URI."""
    return {secret, quote(secret, safe=""), quote_plus(secret, safe="")}


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret value (and any DSN password) in *text* by ``***``.

    Longest secrets are replaced first so that a secret containing another one is
    not left half-visible. Very short secrets (under 3 characters) are still
    replaced: leaking them is worse than over-redacting an unrelated word.
    """
    variants: set[str] = set()
    for secret in secrets:
        if secret:
            variants |= _variants(secret)
    for value in sorted(variants, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return redact_dsn(text)


def _secret_entry(key: str, value: Any) -> bool:
    """A value that may be a secret under a secret-sounding key: text only. A count, a flag
    or a structure under ``pass`` (a stage case tally) or ``token_count`` is not one, and
    its nested strings are still scrubbed of known secrets and DSN passwords."""
    if not _SECRET_KEY.search(key):
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return any(isinstance(v, str | bytes) and v != "" for v in value)
    return isinstance(value, str | bytes) and value != ""


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Deep-redact a JSON-like payload: strings, secret-named keys, nested containers.

    Used before anything is written to the history store, which outlives the
    process and may be shared.
    """
    known = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, known)
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _secret_entry(str(k), v) else redact_value(v, known)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, known) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts DSN passwords and registered secrets in records.

    Attach it to handlers (not loggers) so that records from every library logger
    that reaches the handler are covered. Secrets resolved at run time (for
    example from ``env:`` references) are registered with :meth:`add`.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, *secrets: str) -> None:
        """Register more secret values to redact from now on."""
        self._secrets.update(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage(), self._secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now so handlers use the cached (redacted) text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        # Another filter may have rendered it already, knowing fewer secrets than we do.
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, self._secrets)
        return True
